"""A git ref of a CPython repository as a build spec: ``v3.13.0``, ``main~3``, ``HEAD``, a sha.

- :mod:`.refs`: what a ref may look like, checked before anything runs;
- :mod:`.git`: git's read-only plumbing, and a commit's tree copied into a private directory
  (the user's working tree, index, HEAD, stash and worktrees are never touched; no symbolic
  link is ever written);
- :mod:`.pyconfig`: where ``pyconfig.h`` comes from, targets, cache keys;
- :mod:`.make`: ``./configure`` and ``make`` of a private copy, logged, with progress;
- :mod:`.plan`: a ref planned once (ref -> commit, cache key), then built.
"""

from __future__ import annotations

from abidiff.sources.gitref.git import (
    HEADER_PATHS,
    GitMissing,
    RefNotFound,
    extract_tree,
    locate,
    read_blobs,
    repository_root,
    resolving_once,
)
from abidiff.sources.gitref.make import BuiltLibrary, Progress, build_libpython, run_configure
from abidiff.sources.gitref.plan import GitRefPlan, build_plan, commit_of, plan_gitref, resolve_gitref
from abidiff.sources.gitref.pyconfig import (
    WINDOWS_TRIPLE,
    WINSTUB_DIR,
    configure_key,
    is_windows,
    libpython_key,
    pyconfig_from_template,
    snapshot_cache_key,
    target_triple,
    windows_config_dirs,
)
from abidiff.sources.gitref.refs import GIT_PREFIX, check_ref, is_ref_like

__all__ = [
    "GIT_PREFIX",
    "HEADER_PATHS",
    "WINDOWS_TRIPLE",
    "WINSTUB_DIR",
    "BuiltLibrary",
    "GitMissing",
    "GitRefPlan",
    "Progress",
    "RefNotFound",
    "build_libpython",
    "build_plan",
    "check_ref",
    "commit_of",
    "configure_key",
    "extract_tree",
    "is_ref_like",
    "is_windows",
    "libpython_key",
    "locate",
    "plan_gitref",
    "pyconfig_from_template",
    "read_blobs",
    "repository_root",
    "resolve_gitref",
    "resolving_once",
    "run_configure",
    "snapshot_cache_key",
    "target_triple",
    "windows_config_dirs",
]
