"""PEP 605's feature base of a comparison: ``--feature-base BUILD|none``, and its default in a
CPython checkout (the previous feature release's tag, ``v3.(Y-1).0``, when the repository
has it)."""

from __future__ import annotations

import argparse
import os

from abidiff.model import Build
from abidiff.options import BuildOptions

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


def default_spec(given: str | None, specs: tuple[str, ...], new: Build, options: BuildOptions | None) -> str | None:
    """The feature base to use: ``given`` (None for ``none``), else, when every compared build
    is a git ref, the previous feature release's tag if the repository has it."""
    if given is not None:
        return None if given == NONE else given
    from abidiff.builder import names_git_ref

    if not specs or not all(names_git_ref(spec) for spec in specs):
        return None
    tag = previous_feature_tag(new)
    if tag is None or not has_tag(tag, options.repo if options else None):
        return None
    return tag
