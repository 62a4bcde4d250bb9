"""What a git ref may look like: checked before anything runs or is written.

A ref can never be read as an option by git, nor as code by a shell (git is never run
through one).  Allowed: a name as ``git check-ref-format`` allows it, restricted to
``A-Z a-z 0-9 _ . + , = / -``, then the revision suffixes ``~N``, ``^N``, ``^{commit}`` and
``@{...}``.
"""

from __future__ import annotations

import re

from abidiff.errors import BuildSpecError

GIT_PREFIX = "git:"  # forces a spec to be read as a git ref: git:main

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.+,=/-]*"
_SUFFIX = r"(?:~[0-9]*|\^[0-9]*|\^\{(?:commit|tag|)\}|@\{[A-Za-z0-9_.+/-]+\})"
_REF = re.compile(rf"^(?:{_NAME}|@)?{_SUFFIX}*$")
_ALLOWED_CHAR = re.compile(r"[A-Za-z0-9_.+,=/~^@{}-]")
SHA = re.compile(r"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")  # sha1 or sha256 object names


def _name_problem(ref: str) -> str | None:
    name = re.split(r"[~^@]", ref, maxsplit=1)[0]
    for part in name.split("/") if name else ():
        if not part:
            return "it has an empty path component ('//' or a trailing '/')"
        if part.startswith(".") or part.endswith(".") or part.endswith(".lock"):
            return f"its component '{part}' starts or ends with '.' or ends with '.lock'"
    return None


def _ref_problem(ref: str) -> str | None:
    """Why ``ref`` is refused, or None when it is a well-formed revision."""
    if not ref:
        return "it is empty"
    if ref.startswith("-"):
        return "it starts with '-' (git would read it as an option)"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in ref):
        return "it contains a control character"
    if any(char.isspace() for char in ref):
        return "it contains whitespace"
    if ".." in ref:
        return "it contains '..' (a range of commits, not one commit)"
    if not _REF.match(ref):
        bad = sorted({char for char in ref if not _ALLOWED_CHAR.match(char)})
        if bad:
            return "it contains " + ", ".join(repr(char) for char in bad) + ", which git refs may not"
        return "it is not of the form NAME[~N|^N|@{...}] (a tag, branch, sha, HEAD, main~3)"
    return _name_problem(ref)


def check_ref(spec: str) -> str:
    """The ref of ``spec`` (without a ``git:`` prefix), or :class:`BuildSpecError`.

    Refused: a leading ``-``, control characters, whitespace, ``..`` (a range), and any
    character outside ``A-Z a-z 0-9 _ . + , = / -`` except the revision syntax ``~``,
    ``^``, ``^{commit}`` and ``@{...}``; also what ``git check-ref-format`` forbids in a
    name (``//``, components starting or ending with ``.``, ``.lock``).
    """
    ref = spec.removeprefix(GIT_PREFIX)
    problem = _ref_problem(ref)
    if problem is not None:
        shown = ref.encode("unicode_escape").decode("ascii")
        raise BuildSpecError(
            f"'{shown}' is not a git ref abidiff accepts: {problem}",
            hint="give a tag, branch or commit such as v3.13.0, main, main~3 or a sha; "
            "compare two refs as two arguments, not as A..B",
        )
    return ref


def is_ref_like(spec: str) -> bool:
    """Whether ``spec`` has the syntax of a git revision abidiff accepts (nothing is run)."""
    return _ref_problem(spec.removeprefix(GIT_PREFIX)) is None
