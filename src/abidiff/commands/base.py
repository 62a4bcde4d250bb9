"""PEP 605's feature base of a comparison: ``--feature-base BUILD|none``, and its default in a
CPython checkout (the previous feature release's tag, ``v3.(Y-1).0``, when the repository
has it)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from abidiff.options import BuildOptions

if TYPE_CHECKING:
    from abidiff.model import Build

NONE = "none"


def add_feature_base(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feature-base",
        metavar="BUILD|none",
        help="the last feature release (PEP 605): changes to APIs added since (provisional) and "
        "removals of what it deprecated do not make NEW an alpha. Default with two git refs: the "
        "tag v3.(Y-1).0 when the repository has it; 'none' to judge without one",
    )


def _git_dir(start: str) -> str | None:
    here = os.path.abspath(start)
    while True:
        candidate = os.path.join(here, ".git")
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def has_tag(tag: str, repo: str | None) -> bool:
    """Whether the repository around ``repo`` (or the current directory) has the tag, read
    from its refs without running git (a worktree's ``.git`` file counts as no)."""
    git_dir = _git_dir(repo or os.getcwd())
    if git_dir is None:
        return False
    if os.path.isfile(os.path.join(git_dir, "refs", "tags", tag)):
        return True
    try:
        with open(os.path.join(git_dir, "packed-refs"), encoding="utf-8", errors="replace") as handle:
            return any(line.rstrip("\n").endswith(f" refs/tags/{tag}") for line in handle)
    except OSError:
        return False


def previous_feature_tag(build: Build) -> str | None:
    """``v3.12.0`` for a build of 3.13; None when the version says nothing usable."""
    parts = build.feature_version.split(".")
    if len(parts) != 2 or not all(part.isdigit() for part in parts) or int(parts[1]) == 0:
        return None
    return f"v{parts[0]}.{int(parts[1]) - 1}.0"


def uses_default(given: str | None, specs: Sequence[str]) -> bool:
    """Whether the feature base is the default one: none given (not even ``none``), and every
    compared build a git ref (the default is a tag of that repository)."""
    from abidiff.builder import names_git_ref

    return given is None and bool(specs) and all(names_git_ref(spec) for spec in specs)


def default_spec(given: str | None, specs: tuple[str, ...], new: Build, options: BuildOptions | None) -> str | None:
    """The feature base to use: ``given`` (None for ``none``), else, when every compared build
    is a git ref, the previous feature release's tag if the repository has it."""
    if given is not None:
        return None if given == NONE else given
    if not uses_default(given, specs):
        return None
    tag = previous_feature_tag(new)
    if tag is None or not has_tag(tag, options.repo if options else None):
        return None
    return tag


# -- the default feature base of a cached report (abidiff.reportcache) ---------------------------

NO_DEFAULT_BASE: dict[str, str | None] = {"base_tag": None, "base_key": None}
_FEATURE_TAG = re.compile(r"v\d+\.\d+\.0")  # what previous_feature_tag() gives


def default_base_made_from(
    base_spec: str | None, new: Build, options: BuildOptions | None
) -> dict[str, str | None] | None:
    """What a report judged with the default feature base of git refs records of it, for
    :func:`still_the_default_base`: the tag looked for (``base_spec`` when the repository had
    it) and the key of its snapshot.  None when that key is not known (keep no report)."""
    from abidiff.builder import snapshot_keys

    if base_spec is None:
        return {"base_tag": previous_feature_tag(new), "base_key": None}
    key = snapshot_keys((base_spec,), options)[0]
    return {"base_tag": base_spec, "base_key": key} if key else None


def still_the_default_base(made_from: object, options: BuildOptions | None) -> bool:
    """Whether a stored report's default feature base is still what it would be: the tag of
    the previous feature release still absent, or naming the same snapshot.  Trusted only in
    the form abidiff writes it: anything else is no."""
    from abidiff.builder import snapshot_keys

    if not isinstance(made_from, dict):
        return False
    tag, key = made_from.get("base_tag"), made_from.get("base_key")
    if tag is None:
        return key is None
    if not isinstance(tag, str) or not _FEATURE_TAG.fullmatch(tag):
        return False
    if not has_tag(tag, options.repo if options else None):
        return key is None
    return key is not None and snapshot_keys((tag,), options)[0] == key
