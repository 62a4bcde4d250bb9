"""Words the report formats share: how many of a severity (``1 break``, ``147 warnings``) and a
header's path in a CPython source tree (``Include/cpython/object.h``)."""

from __future__ import annotations

from abidiff.rules import Severity

INCLUDE_DIR = "Include"  # where a CPython source tree keeps the public headers
_WORDS = {
    Severity.BREAK: ("break", "breaks"),
    Severity.WARNING: ("warning", "warnings"),
    Severity.COMPATIBLE: ("compatible change", "compatible changes"),
    Severity.INFO: ("informational finding", "informational findings"),
}


def counted(count: int, severity: Severity) -> str:
    """``1 break``, ``1,121 warnings``."""
    one, many = _WORDS[severity]
    return f"{count:,} {one if count == 1 else many}"


def source_path(header: str) -> str:
    """A header's path in a CPython source tree: ``cpython/object.h`` ->
    ``Include/cpython/object.h``; ``pyconfig.h`` (made by configure) stays at the top."""
    header = header.replace("\\", "/").lstrip("/")
    if header == "pyconfig.h" or header.startswith(f"{INCLUDE_DIR}/"):
        return header
    return f"{INCLUDE_DIR}/{header}"
