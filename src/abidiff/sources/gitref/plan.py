"""A git ref as a build: planned once (ref -> commit, where pyconfig.h comes from, the cache
key when it is already known), then built (files extracted, configure or make run when
needed) into a :class:`~abidiff.sources.ResolvedBuild`.

The plan costs one git process (two with ``--target windows``, which reads
``PC/pyconfig.h``), and it is all a cached snapshot needs; building costs two more
(``ls-tree``, ``cat-file``).  The cache handle is the caller's: nothing here makes one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from abidiff import files
from abidiff.errors import BuildSpecError, ToolchainError
from abidiff.model import BinaryRole
from abidiff.options import BuildOptions
from abidiff.sources import Library, ResolvedBuild, SpecKind
from abidiff.sources.gitref.git import HEADER_PATHS, extract_tree, locate
from abidiff.sources.gitref.make import Progress, build_libpython, run_configure
from abidiff.sources.gitref.pyconfig import (
    MAX_PYCONFIG_BYTES,
    KnownPyconfig,
    configure_key,
    given_pyconfig,
    is_windows,
    libpython_key,
    snapshot_cache_key,
    target_triple,
    windows_config_dirs,
    windows_pyconfig,
    write_pyconfig,
)
from abidiff.sources.gitref.refs import check_ref

if TYPE_CHECKING:
    from abidiff.cache import SnapshotCache


@dataclass(frozen=True, slots=True, kw_only=True)
class GitRefPlan:
    """What is known of a git ref before anything is extracted or run."""

    spec: str  # as the user gave it (git:v3.13.0)
    ref: str  # checked (v3.13.0)
    root: str  # the checkout's top-level directory
    commit: str  # the full sha the ref names
    triple: str | None  # the clang target; None: the host
    build: bool  # --build: compile libpython at the commit
    dwarf: bool = False  # --dwarf with --build: the snapshot holds the DWARF cross-check's warnings
    pyconfig: KnownPyconfig | None  # None: only running ./configure will tell
    library_dir: str | None  # a libpython built earlier for this commit (cache artifact)
    cache_key: str | None  # the snapshot's key, when pyconfig.h is known

    @property
    def name(self) -> str:
        """How messages and progress name the ref: ``v3.13.0 (a1b2c3d4e5f6)``."""
        return f"{self.ref} ({self.commit[:12]})"

    @property
    def origin(self) -> str:
        return f"git {self.ref} ({self.commit[:12]})"


def _read_artifact(directory: str | None) -> KnownPyconfig | None:
    if directory is None:
        return None
    try:  # in the cache: never through a link, never without a bound
        content = files.read_regular(
            os.path.join(directory, "pyconfig.h"), limit=MAX_PYCONFIG_BYTES, follow_symlinks=False
        )
    except files.UnreadableFile:
        return None
    return KnownPyconfig(content=content, origin=f"./configure (cached in {directory})")


def plan_gitref(spec: str, options: BuildOptions, *, cache: SnapshotCache | None = None) -> GitRefPlan:
    """Resolve ``spec`` to a commit of ``options.repo`` (one git process) and decide how it
    will be built.  Nothing runs for a ref :func:`check_ref` refuses."""
    ref = check_ref(spec)
    triple = target_triple(options.target)
    if options.build_binaries and triple is not None:
        raise BuildSpecError(
            f"--build compiles libpython for this machine: it cannot be combined with --target {options.target}",
            hint="leave out --build to compare the headers for that target",
        )
    where = locate(ref, options.repo)
    pyconfig = given_pyconfig(options)
    if pyconfig is None and is_windows(triple):
        pyconfig = windows_pyconfig(where.root, where.commit, ref)
    elif pyconfig is None and triple is not None:
        raise BuildSpecError(
            f"abidiff cannot run ./configure for the target {triple}",
            hint="give the pyconfig.h of a build for that target with --pyconfig or --config-from",
        )
    library_key = libpython_key(where.commit) if options.build_binaries else None
    library_dir = cache.find_artifact("libpython", library_key) if cache and library_key else None
    if pyconfig is None and cache is not None:
        pyconfig = _read_artifact(library_dir) or _read_artifact(
            cache.find_artifact("configure", configure_key(where.commit))
        )
    dwarf = options.dwarf and options.build_binaries  # without binaries there is no DWARF to read
    key = None
    if pyconfig is not None:
        key = snapshot_cache_key(
            where.commit, triple, pyconfig.sha256, binaries=options.build_binaries, library_key=library_key, dwarf=dwarf
        )
    return GitRefPlan(
        spec=spec,
        ref=ref,
        root=where.root,
        commit=where.commit,
        triple=triple,
        build=options.build_binaries,
        dwarf=dwarf,
        pyconfig=pyconfig,
        library_dir=library_dir,
        cache_key=key,
    )


# --- building the plan ----------------------------------------------------------------------


def _kept(exc: ToolchainError, cache: SnapshotCache | None, kind: str, key: str, log: str) -> ToolchainError:
    """``exc`` naming the copy of ``log`` kept in the cache (the temporary one goes away)."""
    if cache is None or not os.path.isfile(log):
        return exc
    kept = cache.keep_log(kind, key, log)
    return ToolchainError(
        exc.message.replace(log, kept), details=tuple(line.replace(log, kept) for line in exc.details), hint=exc.hint
    )


def _configured(
    plan: GitRefPlan, tree: str, cache: SnapshotCache | None, workdir: str, progress: Progress | None
) -> str:
    """The directory of the ``pyconfig.h`` that ``./configure`` writes for the commit
    (cached per commit as the artifact ``configure/<key>``, with its log)."""
    key = configure_key(plan.commit)

    def populate(out: str) -> None:
        log = os.path.join(out, "configure.log")
        try:
            produced = run_configure(tree, log=log, name=plan.name, progress=progress)
        except ToolchainError as exc:
            raise _kept(exc, cache, "configure", key, log) from exc
        shutil.copyfile(produced, os.path.join(out, "pyconfig.h"))

    if cache is not None:
        return cache.artifact_dir("configure", key, populate)
    out = os.path.join(workdir, "configure")
    os.makedirs(out, exist_ok=True)
    populate(out)
    return out


def _built(
    plan: GitRefPlan, tree: str, cache: SnapshotCache | None, workdir: str, jobs: int, progress: Progress | None
) -> str:
    """The directory of the libpython built at the commit (cached per commit as the
    artifact ``libpython/<key>``, with its ``pyconfig.h`` and log)."""
    if plan.library_dir is not None and os.path.isdir(plan.library_dir):
        return plan.library_dir
    key = libpython_key(plan.commit)

    def populate(out: str) -> None:
        try:
            build_libpython(tree, out, jobs=jobs, name=plan.name, progress=progress)
        except ToolchainError as exc:
            raise _kept(exc, cache, "libpython", key, os.path.join(out, "build.log")) from exc

    if cache is None:
        out = os.path.join(workdir, "libpython")
        os.makedirs(out, exist_ok=True)
        populate(out)
        return out
    found = cache.artifact_dir("libpython", key, populate)

    def same_configure(out: str) -> None:  # one configure per commit serves a headers-only run too
        for name in ("pyconfig.h", "build.log"):
            shutil.copyfile(os.path.join(found, name), os.path.join(out, name))

    cache.artifact_dir("configure", configure_key(plan.commit), same_configure)
    return found


def _library_file(directory: str) -> str:
    names = sorted(name for name in os.listdir(directory) if name.startswith("libpython"))
    if not names:
        raise ToolchainError(
            f"the libpython build in {directory} holds no library", hint="run 'abidiff cache clear' and try again"
        )
    return os.path.join(directory, names[0])


def _pyconfig_of(directory: str) -> KnownPyconfig:
    found = _read_artifact(directory)
    if found is None:
        raise ToolchainError(
            f"the configure output in {directory} holds no pyconfig.h", hint="run 'abidiff cache clear' and try again"
        )
    return found


def _manifest_path(tree: str) -> str | None:
    for name in ("stable_abi.toml", "stable_abi.txt"):
        path = os.path.join(tree, "Misc", name)
        if os.path.isfile(path):
            return path
    return None


def build_plan(
    plan: GitRefPlan,
    *,
    workdir: str,
    cache: SnapshotCache | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ResolvedBuild:
    """Extract what ``plan`` needs into ``workdir`` (a private directory the caller owns and
    removes), run ``./configure`` or ``make`` when the cache does not hold their output, and
    return the files to read.  The whole tree is extracted only when one of them must run."""
    workdir = os.path.abspath(workdir)
    tree = os.path.join(workdir, "tree")
    whole = plan.pyconfig is None or (plan.build and plan.library_dir is None)
    extract_tree(plan.root, plan.commit, tree, paths=None if whole else HEADER_PATHS)
    include = os.path.join(tree, "Include")
    if not os.path.isfile(os.path.join(include, "Python.h")):
        raise BuildSpecError(
            f"the commit {plan.commit[:12]} ('{plan.ref}') of {plan.root} has no Include/Python.h: "
            "it is not a CPython source tree",
            hint="give a ref of a CPython repository, or the repository with --repo DIR",
        )
    pyconfig, library_key = plan.pyconfig, None
    libraries: tuple[Library, ...] = ()
    if plan.build:
        built = _built(plan, tree, cache, workdir, jobs or _cores(), progress)
        libraries = (Library(role=BinaryRole.LIBPYTHON, path=_library_file(built)),)
        library_key = libpython_key(plan.commit)
        pyconfig = pyconfig or _pyconfig_of(built)
    if pyconfig is None:
        pyconfig = _pyconfig_of(_configured(plan, tree, cache, workdir, progress))
    config_dir = write_pyconfig(pyconfig.content, os.path.join(workdir, "pyconfig"))
    key = plan.cache_key or snapshot_cache_key(
        plan.commit, plan.triple, pyconfig.sha256, binaries=plan.build, library_key=library_key, dwarf=plan.dwarf
    )
    return ResolvedBuild(
        kind=SpecKind.GIT,
        spec=plan.spec,
        origin=plan.origin,
        include_dir=include,
        config_dirs=windows_config_dirs(config_dir) if is_windows(plan.triple) else (config_dir,),
        manifest_path=_manifest_path(tree),
        libraries=libraries,
        target=plan.triple,
        commit=plan.commit,
        cache_key=key,
    )


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_gitref(
    spec: str, options: BuildOptions, *, workdir: str, cache: SnapshotCache | None = None
) -> ResolvedBuild:
    """Plan and build ``spec`` in one call (no progress shown)."""
    return build_plan(plan_gitref(spec, options, cache=cache), workdir=workdir, cache=cache)


def commit_of(spec: str, repo: str | None = None) -> str:
    """The full sha of the commit ``spec`` names in ``repo``: one ``git rev-parse``."""
    return locate(check_ref(spec), repo).commit
