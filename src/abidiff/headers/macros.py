"""What the header text says of macros, beyond what libclang tells.

- The macros that may be integer constants, read before parsing, so that one parse both
  declares the headers and evaluates the macros: a line ``static const __typeof__((NAME)) v =
  (NAME);`` per candidate is evaluated with ``clang_Cursor_Evaluate``; a candidate that is not
  defined in a configuration, or not an integer, only makes its own line fail.
- The configuration defaults: a ``#define NAME`` inside ``#ifndef NAME`` (or ``#if
  !defined(NAME)``) gives NAME a value only where the build's configuration did not
  (``Py_HASH_ALGORITHM``, which ``configure --with-hash-algorithm`` sets in pyconfig.h).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from abidiff.errors import HeaderParseError
from abidiff.headers.job import ParseJob
from abidiff.headers.tree import public_header_paths

_DEFINE_RE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?!\()[ \t]*((?:[^\n\\]|\\\n|\\)*)", re.MULTILINE)
_EVAL_BODY_RE = re.compile(r"^[\w\s()+\-*/%<>!~&|^?:,.']+$")
_COMMENT_RE = re.compile(r"/\*.*?\*/|//.*")
MAX_CANDIDATES = 20_000  # each is one line to evaluate; CPython's headers: ~1,500


def _text_of(path: str) -> str | None:
    """The text of the header at ``path`` (undecodable bytes replaced), None when unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def header_texts(job: ParseJob) -> Iterator[str]:
    """The text of every readable public header of the job's tree (undecodable bytes replaced)."""
    for path in job.header_paths or public_header_paths(job.include_dir, job.config_dirs):
        text = _text_of(path)
        if text is not None:
            yield text


def macro_candidates(job: ParseJob) -> list[str]:
    """Object-like macros of the tree whose body could be an integer constant expression."""
    names: set[str] = set()
    for text in header_texts(job):
        for macro, body in _DEFINE_RE.findall(text):
            body = _COMMENT_RE.sub(" ", body.replace("\\\n", " ")).strip()
            if body and _EVAL_BODY_RE.match(body):
                names.add(macro)
        if len(names) > MAX_CANDIDATES:
            raise HeaderParseError(
                f"the headers in {job.include_dir} define more than {MAX_CANDIDATES:,} macros that may be "
                "integer constants: this is no CPython include directory",
                hint="CPython's headers define some 1,500 (limits: docs/snapshot.md)",
            )
    return sorted(names)


_BLOCK_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)
_DIRECTIVE_RE = re.compile(
    r"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|elifdef|elifndef|endif|define)\b(.*)$", re.MULTILINE
)
_NOT_DEFINED_RE = re.compile(r"^!\s*defined\s*(?:\(\s*(\w+)\s*\)|\s(\w+))$")
_DEFINED_NAME_RE = re.compile(r"^[ \t]*([A-Za-z_]\w*)")


def configuration_defaults(path: str) -> frozenset[tuple[str, int]]:
    """``(name, line)`` of every ``#define NAME`` of the header at ``path`` that stands in
    the first branch of an ``#ifndef NAME`` (``#if !defined(NAME)``), however deep: a value
    the build's configuration may give instead.  Empty for a file that cannot be read."""
    text = _text_of(path)
    if text is None:
        return frozenset()
    # comments out, their lines kept (a directive's line number is what libclang says)
    text = _BLOCK_COMMENT_RE.sub(lambda found: "\n" * found.group().count("\n"), text)
    stack: list[str | None] = []  # per open conditional: the NAME its branch is "not defined" of
    found: set[tuple[str, int]] = set()
    line, counted = 1, 0
    for directive in _DIRECTIVE_RE.finditer(text):
        word, rest = directive.group(1), directive.group(2).split("//", 1)[0].rstrip("\\ \t").strip()
        if word == "ifndef":
            stack.append(rest.split()[0] if rest else None)
        elif word == "if":
            negated = _NOT_DEFINED_RE.match(rest)
            stack.append((negated.group(1) or negated.group(2)) if negated else None)
        elif word == "ifdef":
            stack.append(None)
        elif word == "endif":
            if stack:
                stack.pop()
        elif word != "define":  # another branch of the conditional
            if stack:
                stack[-1] = None
        else:
            name = _DEFINED_NAME_RE.match(rest)
            if name is not None and name.group(1) in stack:
                line += text.count("\n", counted, directive.start())
                counted = directive.start()
                found.add((name.group(1), line))
    return frozenset(found)


_LINE_COMMENT_RE = re.compile(r"//[^\n]*")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*")


def names_in(path: str) -> tuple[str, ...] | None:
    """Every identifier the header at ``path`` spells outside its comments, sorted (None when
    it cannot be read): what a header that does not parse may declare."""
    text = _text_of(path)
    if text is None:
        return None
    text = _LINE_COMMENT_RE.sub(" ", _BLOCK_COMMENT_RE.sub(" ", text))
    return tuple(sorted(set(_IDENTIFIER_RE.findall(text))))
