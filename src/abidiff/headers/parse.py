"""One libclang parse of ``#include <Python.h>`` for one configuration, turned into model values.

A :class:`ParseJob` is plain data so that it can be sent to a worker process; the result
(:class:`Scan`) holds only model values.  Tiers and ``limited_since`` are left as
placeholders here: they need every configuration's scan and are set by
:mod:`abidiff.headers.combine`.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from abidiff import interrupts
from abidiff.errors import HeaderParseError
from abidiff.headers import clangext
from abidiff.model import (
    Enum,
    Enumerator,
    Field,
    Function,
    Macro,
    Param,
    Record,
    RecordKind,
    Tier,
    Typedef,
    TypeRef,
    Variable,
    limited_api_hex,
)

MAIN_FILE = "/__abidiff__/main.c"
_EVAL_PREFIX = "__abidiff_m"
_PLACEHOLDER = Tier.PUBLIC
_MAX_ERRORS_SHOWN = 5

# "(anonymous at /abs/path/object.h:175:5)", "(unnamed struct at ...)": paths and line
# numbers must never reach a snapshot (they are not ABI, and differ between machines)
_ANON_RE = re.compile(r"\((?:unnamed|anonymous)(?: (?:struct|union|enum))? at [^()]*\)")
_ANON_OWNER_RE = re.compile(r"\b[A-Za-z_]\w*::(?=\(anonymous\))")


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
    detail: bool = True  # False: keep only what the preprocessor kept (see scan())
    # a limited level read in detail only where the full API's preprocessor skipped
    # (see scan()): the full API's included headers and skipped ranges
    reference: Reference | None = None
    # a precompiled header of pyconfig.h and the system headers (see make_pch): parses of the
    # limited levels then skip the system headers, two thirds of their time
    pch: str | None = None

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
        every level matches the precompiled header), ``#include <Python.h>``, then
        ``extra`` lines; and the number of the first extra line."""
        lines = []
        if self.limited is not None:
            lines.append(f"#define Py_LIMITED_API 0x{limited_api_hex(self.limited):08X}")
        lines.append("#include <Python.h>")
        first_extra = len(lines) + 1
        return "\n".join([*lines, *extra]) + "\n", first_extra


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

    def shows(self, header: str, line: int) -> bool:
        """Whether this configuration's preprocessor kept ``line`` of ``header``."""
        if header not in self.included:
            return False
        ranges = self.skipped.get(header)
        return not ranges or _line_kept(ranges, line)

    def reference(self) -> Reference:
        return Reference(included=self.included, skipped=tuple(sorted(self.skipped.items())))


def _line_kept(ranges: tuple[tuple[int, int], ...], line: int) -> bool:
    # skipped ranges are sorted and disjoint (a nested #if lies inside its parent's)
    at = bisect.bisect_right(ranges, (line, _MAX_LINE)) - 1
    return at < 0 or ranges[at][1] < line


_MAX_LINE = 1 << 62


def clean_spelling(spelling: str) -> str:
    """A type spelling without the paths and line numbers libclang puts in anonymous types."""
    if "(anonymous" not in spelling and "(unnamed" not in spelling:
        return spelling
    cleaned = _ANON_RE.sub("(anonymous)", spelling)
    return _ANON_OWNER_RE.sub("", cleaned)


def _typeref(ctype: Any, known: dict[str, TypeRef] | None = None) -> TypeRef:
    """The spelled and canonical type; ``known`` caches by spelling (within one translation
    unit a spelling names one type, and ``PyObject *`` comes some thousand times)."""
    spelling = ctype.spelling
    if known is not None:
        found = known.get(spelling)
        if found is not None:
            return found
    ref = TypeRef(spelling=clean_spelling(spelling), canonical=clean_spelling(ctype.get_canonical().spelling))
    if known is not None and "(" not in spelling:  # anonymous types are not worth the risk
        known[spelling] = ref
    return ref


class _Extractor:
    """Walks the top level of one translation unit and keeps what the build's headers declare."""

    def __init__(self, job: ParseJob) -> None:
        self.ci = clangext.cindex()
        self.job = job
        self._roots = [(os.path.realpath(job.include_dir) + os.sep, False)] + [
            (os.path.realpath(d) + os.sep, True) for d in job.config_dirs
        ]
        self._header_by_file: dict[int | None, str | None] = {}
        self._macro_kind = self.ci.CursorKind.MACRO_DEFINITION.value
        self.paths: dict[str, str] = {}
        self._types: dict[str, TypeRef] = {}

    def typeref(self, ctype: Any) -> TypeRef:
        return _typeref(ctype, self._types)

    def header_of(self, cursor: Any) -> tuple[str | None, int]:
        """The header a cursor is declared in (relative to the include directory, or None
        when it is not one of the build's) and the line."""
        if clangext.in_system_header(cursor) and not (self.job.config_dirs and cursor._kind_id == self._macro_kind):
            # the build's headers come through -I; only a pyconfig.h kept apart (Debian's
            # /usr/include/<multiarch>/python3.X) is reached through a system directory
            return None, 0
        key, handle, line = clangext.file_of(cursor)
        return self.header_of_file(key, handle), line

    def header_of_file(self, key: int | None, handle: Any) -> str | None:
        """The header behind a file key and its handle (a ``CXFile`` or a ``cindex.File``)."""
        try:
            return self._header_by_file[key]
        except KeyError:
            pass
        header = None
        if key is not None:
            name = handle.name if isinstance(handle, self.ci.File) else clangext.file_name(handle)
            path = os.path.realpath(name)
            for root, is_config_dir in self._roots:
                if path.startswith(root):
                    header = os.path.basename(path) if is_config_dir else path[len(root) :]
                    header = header.replace(os.sep, "/")
                    self.paths[header] = path
                    break
        self._header_by_file[key] = header
        return header

    def preprocessor_state(self, tu: Any, result: Scan) -> None:
        """Which of the build's headers this parse included, and which lines it skipped."""
        included = set()
        for inclusion in tu.get_includes():
            handle = inclusion.include
            key = clangext.ci_file_key(handle)
            header = self.header_of_file(key, handle)
            if header is not None:
                included.add(header)
        skipped: dict[str, list[tuple[int, int]]] = {}

        def ours(key: int | None, handle: Any) -> bool:
            return self.header_of_file(key, handle) is not None

        for key, handle, first, last in clangext.skipped_ranges(tu, ours):
            header = self.header_of_file(key, handle)
            assert header is not None
            skipped.setdefault(header, []).append((first, last))
        result.included = frozenset(included)
        result.skipped = {header: tuple(sorted(ranges)) for header, ranges in skipped.items()}
        result.paths = dict(self.paths)

    # -- records -------------------------------------------------------------------------

    def fields(self, record_cursor: Any, base_bits: int) -> tuple[Field, ...]:
        kinds = self.ci.CursorKind
        result = []
        for member in record_cursor.type.get_fields():
            offset = member.get_field_offsetof()
            offset_bits = base_bits + offset if offset >= 0 else None
            width = member.get_bitfield_width() if member.is_bitfield() else None
            size = member.type.get_size()
            size_bits = width if width is not None else (size * 8 if size >= 0 else None)
            decl = member.type.get_canonical().get_declaration()
            nested: tuple[Field, ...] = ()
            # an unnamed struct/union type, of an anonymous member or of a named field
            # (PyASCIIObject's "struct { ... } state;"): its layout is part of this record
            if decl.kind in (kinds.STRUCT_DECL, kinds.UNION_DECL) and decl.is_anonymous() and offset_bits is not None:
                nested = self.fields(decl, offset_bits)
            # libclang spells an anonymous member "union _object::(anonymous at ...)"
            anonymous_member = clangext.is_anonymous_record(decl) and "(" in member.spelling
            result.append(
                Field(
                    name="" if anonymous_member else member.spelling,
                    type=self.typeref(member.type),
                    offset_bits=offset_bits,
                    size_bits=size_bits,
                    bitfield_width=width,
                    members=nested,
                )
            )
        return tuple(result)

    def record(self, cursor: Any, header: str) -> Record | None:
        name = clean_spelling(cursor.type.spelling)
        if "(anonymous)" in name:
            return None  # an anonymous record at file scope without a typedef: no name to track
        kind = RecordKind.UNION if cursor.kind == self.ci.CursorKind.UNION_DECL else RecordKind.STRUCT
        if not cursor.is_definition():
            return Record(name=name, kind=kind, complete=False, header=header, tier=_PLACEHOLDER)
        size = cursor.type.get_size()
        align = cursor.type.get_align()
        return Record(
            name=name,
            kind=kind,
            complete=size >= 0,
            size=size if size >= 0 else None,
            align=align if align >= 0 else None,
            fields=self.fields(cursor, 0),
            header=header,
            tier=_PLACEHOLDER,
        )

    # -- the rest ------------------------------------------------------------------------

    def function(self, cursor: Any, header: str) -> Function:
        ftype = cursor.type
        params = tuple(Param(name=arg.spelling, type=self.typeref(arg.type)) for arg in cursor.get_arguments())
        variadic = ftype.kind == self.ci.TypeKind.FUNCTIONPROTO and ftype.is_function_variadic()
        inline = cursor.storage_class == self.ci.StorageClass.STATIC or clangext.is_function_inlined(cursor)
        return Function(
            name=cursor.spelling,
            returns=self.typeref(cursor.result_type),
            params=params,
            variadic=bool(variadic),
            inline=bool(inline),
            deprecated=cursor.availability == self.ci.AvailabilityKind.DEPRECATED,
            header=header,
            tier=_PLACEHOLDER,
        )

    def variable(self, cursor: Any, header: str) -> Variable:
        size = cursor.type.get_size()
        return Variable(
            name=cursor.spelling,
            type=self.typeref(cursor.type),
            size=size if size >= 0 else None,
            header=header,
            tier=_PLACEHOLDER,
        )

    def enum(self, cursor: Any, header: str) -> Enum:
        constants = tuple(
            Enumerator(name=child.spelling, value=int(child.enum_value))
            for child in cursor.get_children()
            if child.kind == self.ci.CursorKind.ENUM_CONSTANT_DECL
        )
        name = clean_spelling(cursor.type.spelling)
        if "(anonymous)" in name:
            name = f"enum ({constants[0].name if constants else 'empty'})"
        return Enum(
            name=name,
            underlying=cursor.enum_type.get_canonical().spelling,
            enumerators=constants,
            header=header,
            tier=_PLACEHOLDER,
        )

    def typedef(self, cursor: Any, header: str) -> Typedef:
        return Typedef(
            name=cursor.spelling, type=self.typeref(cursor.underlying_typedef_type), header=header, tier=_PLACEHOLDER
        )


def _is_include_guard(cursor: Any) -> bool:
    """``#define Py_OBJECT_H`` (empty, named ``*_H``): not API, and renamed freely."""
    name = cursor.spelling
    return name.endswith("_H") and len(list(cursor.get_tokens())) == 1


def _errors(tu: Any, first_extra: int, limit: int = _MAX_ERRORS_SHOWN) -> list[str]:
    shown = []
    for diagnostic in tu.diagnostics:
        if diagnostic.severity < 3:  # below Error
            continue
        location = diagnostic.location
        where = f"{location.file.name}:{location.line}" if location.file else "<command line>"
        if location.file and location.file.name == MAIN_FILE and location.line >= first_extra:
            continue  # our own macro-evaluation lines may fail; that only means "not an integer"
        shown.append(f"{where}: {diagnostic.spelling}")
        if len(shown) >= limit:
            break
    return shown


def _parse(index: Any, job: ParseJob, source: str) -> Any:
    ci = clangext.cindex()
    options = ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD | ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES
    try:
        return index.parse(MAIN_FILE, args=job.clang_args(), unsaved_files=[(MAIN_FILE, source)], options=options)
    except ci.TranslationUnitLoadError as exc:
        if job.pch is not None:
            return _parse(index, replace(job, pch=None), source)
        raise HeaderParseError(
            f"libclang could not parse the headers in {job.include_dir}: {exc}",
            hint="check that the directory holds a complete CPython include tree",
        ) from exc


PCH_HEADER = "/__abidiff__/system.h"


def make_pch(job: ParseJob, path: str) -> str | None:
    """Write to ``path`` a precompiled header of ``pyconfig.h`` and the system headers the
    build's own headers include directly (in the order the full API includes them), and
    return ``path``; None when it cannot be made (then every level is parsed in full).

    Included first, it leaves what the preprocessor keeps of the build's headers at every
    ``Py_LIMITED_API`` level exactly as it was (a test checks this on every real build);
    the system headers are only not parsed again.
    """
    ci = clangext.cindex()
    index = ci.Index.create()
    plain = replace(job, limited=None, detail=False, pch=None)
    source, _first = plain.source()
    try:
        tu = index.parse(MAIN_FILE, args=plain.clang_args(), unsaved_files=[(MAIN_FILE, source)])
    except ci.TranslationUnitLoadError:
        return None
    extractor = _Extractor(plain)
    names: list[str] = []
    for inclusion in tu.get_includes():
        source_file, included = inclusion.source, inclusion.include
        if extractor.header_of_file(clangext.ci_file_key(source_file), source_file) is None:
            continue
        if extractor.header_of_file(clangext.ci_file_key(included), included) is not None:
            continue
        name = _system_name(included.name, job.system_dirs)
        if name is not None and name not in names:
            names.append(name)
    text = '#include "pyconfig.h"\n' + "".join(f"#include <{name}>\n" for name in names)
    args = ["-x", "c-header", *plain.clang_args()[2:]]
    options = ci.TranslationUnit.PARSE_INCOMPLETE | ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES
    try:
        header = index.parse(PCH_HEADER, args=args, unsaved_files=[(PCH_HEADER, text)], options=options)
        if any(diagnostic.severity >= 3 for diagnostic in header.diagnostics):
            return None
        header.save(path)
    except (ci.TranslationUnitLoadError, ci.TranslationUnitSaveError):
        return None
    return path


def _system_name(path: str, system_dirs: tuple[str, ...]) -> str | None:
    """``/usr/include/stdio.h`` -> ``stdio.h`` (as ``#include <...>`` names it)."""
    real = os.path.realpath(path)
    for directory in system_dirs:
        root = os.path.realpath(directory) + os.sep
        if real.startswith(root):
            return real[len(root) :]
    return None


_DEFINE_RE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?!\()[ \t]*((?:[^\n\\]|\\\n|\\)*)", re.MULTILINE)
_EVAL_BODY_RE = re.compile(r"^[\w\s()+\-*/%<>!~&|^?:,.']+$")


def macro_candidates(job: ParseJob) -> list[str]:
    """Object-like macros of the tree whose body could be an integer constant expression.

    Read from the header text, before parsing, so that one parse both declares the headers
    and evaluates the macros.  A candidate that is not defined in this configuration, or
    not an integer, only makes its own evaluation line fail.
    """
    names: set[str] = set()
    roots = [job.include_dir, *job.config_dirs]
    for root in roots:
        for directory, subdirs, files in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if not (directory == root and d == "internal"))
            for name in sorted(files):
                if not name.endswith(".h"):
                    continue
                try:
                    with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                        text = handle.read()
                except OSError:
                    continue
                for macro, body in _DEFINE_RE.findall(text):
                    body = re.sub(r"/\*.*?\*/|//.*", " ", body.replace("\\\n", " ")).strip()
                    if body and _EVAL_BODY_RE.match(body):
                        names.add(macro)
    return sorted(names)


def _top_level(tu: Any, wanted_kinds: frozenset[int]) -> list[Any]:
    """The top-level cursors of the wanted kinds.

    A raw ``clang_visitChildren`` with the kind tested on the struct field: the bindings'
    ``get_children`` costs several times more on the ~16000 cursors of Python.h.
    """
    ci = clangext.cindex()
    found: list[Any] = []

    def visit(cursor: Any, _parent: Any, _data: Any) -> int:
        if cursor._kind_id in wanted_kinds:
            cursor._tu = tu
            found.append(cursor)
        return 1  # CXChildVisit_Continue

    ci.conf.lib.clang_visitChildren(tu.cursor, ci.callbacks["cursor_visit"](visit), [])
    return found


def scan(job: ParseJob) -> Scan:
    """Parse one configuration and return what its own headers declare.

    libclang calls back into Python (cursor and field visitors, the inclusion walk), where
    a KeyboardInterrupt could not propagate: SIGINT and SIGTERM wait for the end of the
    scan (a fraction of a second), see :mod:`abidiff.interrupts`.

    With ``job.detail`` false nothing is walked: the scan keeps only what the preprocessor
    included and skipped, which with the declarations' places in the detailed scans tells
    what a ``Py_LIMITED_API`` level shows (see :mod:`abidiff.headers.combine`).  With a
    ``job.reference`` (the full API's preprocessor state) only the declarations on lines the
    full API skips are read: those only ``Py_LIMITED_API`` users see.
    """
    with interrupts.deferred():
        return _scan(job)


def _scan(job: ParseJob) -> Scan:
    ci = clangext.cindex()
    index = ci.Index.create()
    candidates = macro_candidates(job) if (job.detail and job.evaluate_macros) else []
    lines = [f"static const __typeof__(({name})) {_EVAL_PREFIX}{n} = ({name});" for n, name in enumerate(candidates)]
    source, first_extra = job.source(lines)
    tu = _parse(index, job, source)
    errors = _errors(tu, first_extra)
    if errors and job.pch is not None:  # never let the shortcut decide: parse it in full
        job = replace(job, pch=None)
        tu = _parse(index, job, source)
        errors = _errors(tu, first_extra)
    if errors:
        level = f"Py_LIMITED_API={job.limited}" if job.limited else "the full API"
        raise HeaderParseError(
            f"the headers in {job.include_dir} do not parse ({level}): {errors[0]}",
            details=tuple(errors[1:]),
            hint="check the include directory and its pyconfig.h (a header tree of another "
            "platform needs --target); the first libclang errors are listed above",
        )
    triple, pointer_bits = clangext.target_info(tu)
    extractor = _Extractor(job)
    result = Scan(limited=job.limited, target=triple, pointer_bits=pointer_bits, detailed=job.detail)
    extractor.preprocessor_state(tu, result)
    if job.detail:
        _walk(tu, extractor, result, candidates, job.reference)
    return result


def _walk(tu: Any, extractor: _Extractor, result: Scan, candidates: list[str], reference: Reference | None) -> None:
    """Read every top-level declaration of the build's headers into ``result`` (with a
    ``reference``: only those on lines it does not show)."""
    full_skipped = {} if reference is None else dict(reference.skipped)
    kinds = extractor.ci.CursorKind
    record_kinds = (kinds.STRUCT_DECL, kinds.UNION_DECL)
    wanted = frozenset(
        kind.value
        for kind in (
            *record_kinds,
            kinds.FUNCTION_DECL,
            kinds.VAR_DECL,
            kinds.ENUM_DECL,
            kinds.TYPEDEF_DECL,
            kinds.MACRO_DEFINITION,
        )
    )
    values: dict[str, int] = {}
    typedef_targets: dict[str, list[str]] = {}
    where: dict[str, dict[str, list[tuple[str, int]]]] = {}

    def place(bucket: str, name: str, header: str, line: int) -> None:
        where.setdefault(bucket, {}).setdefault(name, []).append((header, line))

    for cursor in _top_level(tu, wanted):
        kind = cursor.kind
        if kind == kinds.VAR_DECL and candidates and cursor.spelling.startswith(_EVAL_PREFIX):
            value = clangext.evaluate_int(cursor)
            if value is not None:
                values[candidates[int(cursor.spelling[len(_EVAL_PREFIX) :])]] = value
            continue
        header, line = extractor.header_of(cursor)
        if header is None:
            continue
        if reference is not None and header in reference.included:
            ranges = full_skipped.get(header)
            if not ranges or _line_kept(ranges, line):
                # the full API reads this line too; but a struct is declared where it is
                # first named, which differs between configurations (3.8's "struct _node"
                # is first named by a limited function in pythonrun.h): keep its place
                if kind in record_kinds:
                    name = clean_spelling(cursor.type.spelling)
                    if "(anonymous)" not in name:
                        place("records", name, header, line)
                        if cursor.is_definition():
                            result.defined_at.setdefault(name, (header, line))
                continue
        if kind in record_kinds:
            record = extractor.record(cursor, header)
            if record is not None:
                place("records", record.name, header, line)
                if record.complete:
                    result.defined_at[record.name] = (header, line)
                known = result.records.get(record.name)
                if known is None or (record.complete and not known.complete):
                    result.records[record.name] = record
        elif kind == kinds.FUNCTION_DECL:
            name = cursor.spelling
            place("functions", name, header, line)
            known_function = result.functions.get(name)
            if known_function is None or (cursor.is_definition() and not known_function.inline):
                result.functions[name] = extractor.function(cursor, header)
        elif kind == kinds.VAR_DECL:
            place("variables", cursor.spelling, header, line)
            if cursor.spelling not in result.variables:
                result.variables[cursor.spelling] = extractor.variable(cursor, header)
        elif kind == kinds.ENUM_DECL:
            enum = extractor.enum(cursor, header)
            place("enums", enum.name, header, line)
            if enum.name not in result.enums or enum.enumerators:
                result.enums[enum.name] = enum
        elif kind == kinds.TYPEDEF_DECL:
            typedef = extractor.typedef(cursor, header)
            place("typedefs", typedef.name, header, line)
            result.typedefs.setdefault(typedef.name, typedef)
            typedef_targets.setdefault(typedef.type.canonical, []).append(typedef.name)
        elif kind == kinds.MACRO_DEFINITION:
            function_like = clangext.is_macro_function_like(cursor)
            if not function_like and _is_include_guard(cursor):
                continue
            place("macros", cursor.spelling, header, line)
            result.macros[cursor.spelling] = Macro(
                name=cursor.spelling, function_like=function_like, header=header, tier=_PLACEHOLDER
            )
    result.where = where
    _attach_aliases(result, typedef_targets)
    for name, value in values.items():
        if name in result.macros and not result.macros[name].function_like:
            result.macros[name] = replace(result.macros[name], value=value)


def _attach_aliases(result: Scan, typedef_targets: dict[str, list[str]]) -> None:
    def aliases(name: str) -> tuple[str, ...]:
        names = typedef_targets.get(name, [])
        # public names first: reports call PyObject by that name, not _object
        return tuple(sorted(set(names), key=lambda n: (n.startswith("_"), n)))

    for name, record in list(result.records.items()):
        found = aliases(name)
        if found:
            result.records[name] = replace(record, aliases=found)
    for name, enum in list(result.enums.items()):
        found = aliases(name)
        if found:
            result.enums[name] = replace(enum, aliases=found)
