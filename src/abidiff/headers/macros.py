"""The macros of the tree that may be integer constants, read from the header text.

Read before parsing, so that one parse both declares the headers and evaluates the macros:
a line ``static const __typeof__((NAME)) v = (NAME);`` per candidate is evaluated with
``clang_Cursor_Evaluate``; a candidate that is not defined in a configuration, or not an
integer, only makes its own line fail.
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


def header_texts(job: ParseJob) -> Iterator[str]:
    """The text of every readable public header of the job's tree (undecodable bytes replaced)."""
    for path in job.header_paths or public_header_paths(job.include_dir, job.config_dirs):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                yield handle.read()
        except OSError:
            continue


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
