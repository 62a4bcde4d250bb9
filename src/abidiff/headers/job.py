"""What one parse is given (:class:`ParseJob`) and what it gives back (:class:`Scan`).

Both are plain data so that they cross the process boundary of the parse pool.  A scan holds
only model values and the preprocessor's state; tiers and ``limited_since`` are set later by
:mod:`abidiff.headers.combine`, from every configuration's scan.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from abidiff.model import Enum, Function, Macro, Reach, Record, Typedef, Variable, limited_api_hex

MAIN_FILE = "/__abidiff__/main.c"

# headers that use a third-party library's types without including its header: that header
# is included first when this machine has it (pyexpat.h: "you must import expat.h before")
PREREQUISITES = {"pyexpat.h": ("expat.h",)}


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseJob:
    """One configuration to parse: plain data, sent to a worker process."""

    include_dir: str
    config_dirs: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    target: str | None = None
    defines: tuple[str, ...] = ()
    limited: str | None = None  # a feature version ("3.9") to parse with Py_LIMITED_API, or None
    evaluate_macros: bool = True
    detail: bool = True  # False: keep only what the preprocessor kept (see parse.scan())
    # a limited level read in detail only where the full API's preprocessor skipped
    # (see parse.scan()): the full API's included headers and skipped ranges
    reference: Reference | None = None
    # a precompiled header of pyconfig.h and the system headers (see pch.make_pch): parses of
    # the limited levels then skip the system headers, two thirds of their time
    pch: str | None = None
    # the public headers Python.h does not include (datetime.h, structmember.h, ...), in
    # the order they are included after it (see tree.read_tree); a header among them that
    # does not parse is left out of the scan and named in Scan.dropped
    extra_headers: tuple[str, ...] = ()
    # the paths of the tree's readable public headers, for the macro candidates (see
    # macros.macro_candidates); empty: walk the include directory
    header_paths: tuple[str, ...] = ()
    # read what the static inline functions and macros use (see reach.collect): the parse
    # keeps the function bodies and holds a generated use of each macro
    reach: bool = False

    def clang_args(self) -> list[str]:
        args = ["-x", "c", "-std=gnu11", "-nostdinc", "-ferror-limit=0", "-Wno-everything"]
        if self.target:
            args += ["-target", self.target]
        for directory in self.config_dirs:
            args += ["-I", directory]
        args += ["-I", self.include_dir]
        for directory in self.system_dirs:
            args += ["-isystem", directory]
        args += [f"-D{define}" for define in self.defines]
        if self.pch is not None:
            args += ["-include-pch", self.pch]
        return args

    def source(self, extra: Sequence[str] = ()) -> tuple[str, int]:
        """The main file: Py_LIMITED_API (defined here, not on the command line, so that
        every level matches the precompiled header), ``#include <Python.h>``, the extra
        headers, then ``extra`` lines; and the number of the first ``extra`` line."""
        lines = [line for line, _owner in self._head()]
        return "\n".join([*lines, *extra]) + "\n", len(lines) + 1

    def include_lines(self) -> dict[int, str]:
        """Line of the main file -> the extra header its ``#include`` is for (the lines that
        include that header's prerequisites count as its own)."""
        return {number: owner for number, (_line, owner) in enumerate(self._head(), start=1) if owner is not None}

    def _head(self) -> list[tuple[str, str | None]]:
        """The lines before the ``extra`` ones, each with the extra header it is for."""
        lines: list[tuple[str, str | None]] = []
        if self.limited is not None:
            lines.append((f"#define Py_LIMITED_API 0x{limited_api_hex(self.limited):08X}", None))
        lines.append(("#include <Python.h>", None))
        for header in self.extra_headers:
            for needed in PREREQUISITES.get(header, ()):
                lines += [
                    (f"#if __has_include(<{needed}>)", header),
                    (f"#  include <{needed}>", header),
                    ("#endif", header),
                ]
            lines.append((f"#include <{header}>", header))
        return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    """What the full API's preprocessor kept: its headers and their skipped line ranges."""

    included: frozenset[str]
    skipped: tuple[tuple[str, tuple[tuple[int, int], ...]], ...]


@dataclass(slots=True, kw_only=True)
class Scan:
    """What one configuration declares, keyed by name within each kind."""

    limited: str | None
    target: str
    pointer_bits: int
    records: dict[str, Record] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    enums: dict[str, Enum] = field(default_factory=dict)
    typedefs: dict[str, Typedef] = field(default_factory=dict)
    macros: dict[str, Macro] = field(default_factory=dict)
    detailed: bool = True
    # every scan: what the preprocessor kept of the build's headers
    included: frozenset[str] = frozenset()  # headers (relative names) the parse included
    skipped: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)  # header -> skipped lines
    paths: dict[str, str] = field(default_factory=dict)  # header -> file path
    # detailed scans: every place each declaration is made, and where records are defined
    where: dict[str, dict[str, list[tuple[str, int]]]] = field(default_factory=dict)
    defined_at: dict[str, tuple[str, int]] = field(default_factory=dict)
    # extra headers left out because they did not parse in this configuration: header -> why
    dropped: dict[str, str] = field(default_factory=dict)
    # a job with ``reach``: what the static inline functions and macros use
    reach: tuple[Reach, ...] = ()
    # a job with ``reach`` whose function bodies did not parse here (read without them)
    reach_failed: str | None = None

    def shows(self, header: str, line: int) -> bool:
        """Whether this configuration's preprocessor kept ``line`` of ``header``."""
        if header not in self.included:
            return False
        ranges = self.skipped.get(header)
        return not ranges or line_kept(ranges, line)

    def reference(self) -> Reference:
        return Reference(included=self.included, skipped=tuple(sorted(self.skipped.items())))


_MAX_LINE = 1 << 62


def line_kept(ranges: tuple[tuple[int, int], ...], line: int) -> bool:
    """Whether ``line`` lies outside the skipped ``ranges`` (sorted and disjoint: a nested
    ``#if`` lies inside its parent's)."""
    at = bisect.bisect_right(ranges, (line, _MAX_LINE)) - 1
    return at < 0 or ranges[at][1] < line
