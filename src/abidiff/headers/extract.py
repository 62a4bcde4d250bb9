"""From libclang cursors to model values: what the build's own headers declare, and where.

Every declaration keeps its place: the header (relative to the include directory), and the
line and column of its name (the expansion location: ``PyAPI_FUNC(int) PyFoo(void);`` is at
``PyFoo``).  ``deprecated`` is libclang's availability, which ``Py_DEPRECATED(...)`` (an
``__attribute__((__deprecated__))``) sets on functions, data, typedefs, records and fields.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Any

from abidiff.errors import HeaderParseError
from abidiff.headers import clangext
from abidiff.headers.job import ParseJob, Reference, Scan, line_kept
from abidiff.headers.macros import configuration_defaults
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
)

PLACEHOLDER = Tier.PUBLIC  # tiers are set by combine, from every configuration
MAX_DECLARATIONS = 30_000  # of the build's headers in one parse; CPython 3.13's: ~3,600
MAX_CURSORS = 150_000  # at the top level of one parse (macro expansions, system headers): 3.13: ~23,000
EVAL_PREFIX = "__abidiff_m"

# "(anonymous at /abs/path/object.h:175:5)", "(unnamed struct at ...)": paths and line
# numbers must never reach a type spelling (they are not ABI, and differ between machines)
_ANON_RE = re.compile(r"\((?:unnamed|anonymous)(?: (?:struct|union|enum))? at [^()]*\)")
_ANON_OWNER_RE = re.compile(r"\b[A-Za-z_]\w*::(?=\(anonymous\))")


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


Place = tuple[str, int, int]  # header, line, column


class Extractor:
    """Walks the top level of one translation unit and keeps what the build's headers declare."""

    def __init__(self, job: ParseJob) -> None:
        self.ci = clangext.cindex()
        self.job = job
        self._roots = [(os.path.realpath(job.include_dir) + os.sep, False)] + [
            (os.path.realpath(d) + os.sep, True) for d in job.config_dirs
        ]
        self._header_by_file: dict[int | None, str | None] = {}
        self._macro_kind = self.ci.CursorKind.MACRO_DEFINITION.value
        self._deprecated = self.ci.AvailabilityKind.DEPRECATED
        self.paths: dict[str, str] = {}
        self._types: dict[str, TypeRef] = {}
        self._defaults: dict[str, frozenset[tuple[str, int]]] = {}

    def typeref(self, ctype: Any) -> TypeRef:
        return _typeref(ctype, self._types)

    def deprecated(self, cursor: Any) -> bool:
        return bool(cursor.availability == self._deprecated)

    def header_of(self, cursor: Any) -> tuple[str | None, int, int]:
        """The header a cursor is declared in (relative to the include directory, or None
        when it is not one of the build's), the line and the column."""
        if clangext.in_system_header(cursor) and not (self.job.config_dirs and cursor._kind_id == self._macro_kind):
            # the build's headers come through -I; only a pyconfig.h kept apart (Debian's
            # /usr/include/<multiarch>/python3.X) is reached through a system directory
            return None, 0, 0
        key, handle, line, column = clangext.file_of(cursor)
        return self.header_of_file(key, handle), line, column

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
            _key, _handle, line, column = clangext.file_of(member)
            result.append(
                Field(
                    name="" if anonymous_member else member.spelling,
                    type=self.typeref(member.type),
                    offset_bits=offset_bits,
                    size_bits=size_bits,
                    bitfield_width=width,
                    members=nested,
                    deprecated=self.deprecated(member),
                    line=line or None,
                    column=column or None,
                )
            )
        return tuple(result)

    def record(self, cursor: Any, place: Place) -> Record | None:
        name = clean_spelling(cursor.type.spelling)
        if "(anonymous)" in name:
            return None  # an anonymous record at file scope without a typedef: no name to track
        kind = RecordKind.UNION if cursor.kind == self.ci.CursorKind.UNION_DECL else RecordKind.STRUCT
        deprecated = self.deprecated(cursor)
        if not cursor.is_definition():
            return Record(name=name, kind=kind, complete=False, deprecated=deprecated, **_at(place))
        size, align = _known(cursor.type.get_size()), _known(cursor.type.get_align())
        fields = self.fields(cursor, 0)
        return Record(
            name=name,
            kind=kind,
            complete=size is not None,
            size=size,
            align=align,
            fields=fields,
            deprecated=deprecated,
            **_at(place),
        )

    # -- the rest ------------------------------------------------------------------------

    def function(self, cursor: Any, place: Place) -> Function:
        ftype = cursor.type
        params = tuple(Param(name=arg.spelling, type=self.typeref(arg.type)) for arg in cursor.get_arguments())
        variadic = ftype.kind == self.ci.TypeKind.FUNCTIONPROTO and ftype.is_function_variadic()
        inline = cursor.storage_class == self.ci.StorageClass.STATIC or clangext.is_function_inlined(cursor)
        returns = self.typeref(cursor.result_type)
        return Function(
            name=cursor.spelling,
            returns=returns,
            params=params,
            variadic=bool(variadic),
            inline=bool(inline),
            deprecated=self.deprecated(cursor),
            **_at(place),
        )

    def variable(self, cursor: Any, place: Place) -> Variable:
        size, vtype = _known(cursor.type.get_size()), self.typeref(cursor.type)
        return Variable(name=cursor.spelling, type=vtype, size=size, deprecated=self.deprecated(cursor), **_at(place))

    def enum(self, cursor: Any, place: Place) -> Enum:
        constants = []
        for child in cursor.get_children():
            if child.kind == self.ci.CursorKind.ENUM_CONSTANT_DECL:
                _key, _handle, child_line, child_column = clangext.file_of(child)
                value, line, column = int(child.enum_value), child_line or None, child_column or None
                constants.append(Enumerator(name=child.spelling, value=value, line=line, column=column))
        name = clean_spelling(cursor.type.spelling)
        if "(anonymous)" in name:
            name = f"enum ({constants[0].name if constants else 'empty'})"
        underlying = cursor.enum_type.get_canonical().spelling
        return Enum(name=name, underlying=underlying, enumerators=tuple(constants), **_at(place))

    def typedef(self, cursor: Any, place: Place) -> Typedef:
        target = self.typeref(cursor.underlying_typedef_type)
        return Typedef(name=cursor.spelling, type=target, deprecated=self.deprecated(cursor), **_at(place))

    def macro(self, cursor: Any, place: Place, function_like: bool) -> Macro:
        path = self.paths.get(place[0])
        if path is not None and path not in self._defaults:  # once per header and scan: a path
            self._defaults[path] = configuration_defaults(path)  # may hold another tree later
        overridable = path is not None and (cursor.spelling, place[1]) in self._defaults[path]
        return Macro(name=cursor.spelling, function_like=function_like, overridable=overridable, **_at(place))


def _known(value: int) -> int | None:
    """A size or alignment from libclang, which gives a negative number for "unknown"."""
    return value if value >= 0 else None


def _at(place: Place) -> dict[str, Any]:
    """The place of a declaration as keyword arguments, with the placeholder tier."""
    header, line, column = place
    return {"header": header, "line": line, "column": column, "tier": PLACEHOLDER}


def is_include_guard(cursor: Any) -> bool:
    """``#define Py_OBJECT_H`` (empty, named ``*_H``): not API, and renamed freely."""
    name = cursor.spelling
    return name.endswith("_H") and len(list(cursor.get_tokens())) == 1


def top_level(tu: Any, wanted_kinds: frozenset[int]) -> list[Any]:
    """The top-level cursors of the wanted kinds (:class:`HeaderParseError` past
    :data:`MAX_CURSORS`: the time to read them grows with their number).

    A raw ``clang_visitChildren`` with the kind tested on the struct field: the bindings'
    ``get_children`` costs several times more on the ~16000 cursors of Python.h.
    """
    ci = clangext.cindex()
    found: list[Any] = []
    seen = 0

    def visit(cursor: Any, _parent: Any, _data: Any) -> int:
        nonlocal seen
        seen += 1
        if seen > MAX_CURSORS:
            return 0  # CXChildVisit_Break: an exception would not cross libclang
        if cursor._kind_id in wanted_kinds:
            cursor._tu = tu
            found.append(cursor)
        return 1  # CXChildVisit_Continue

    ci.conf.lib.clang_visitChildren(tu.cursor, ci.callbacks["cursor_visit"](visit), [])
    if seen > MAX_CURSORS:
        raise _too_many(f"more than {MAX_CURSORS:,} top-level declarations and macros (with the system headers')")
    return found


def _too_many(what: str) -> HeaderParseError:
    return HeaderParseError(
        f"the headers make {what}: this is no CPython include directory",
        hint="CPython's headers make some 4,000 (limits: docs/snapshot.md)",
    )


def walk(tu: Any, extractor: Extractor, result: Scan, candidates: list[str], reference: Reference | None) -> None:
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

    def note(bucket: str, name: str, header: str, line: int) -> None:
        where.setdefault(bucket, {}).setdefault(name, []).append((header, line))

    count = 0
    for cursor in top_level(tu, wanted):
        kind = cursor.kind
        if kind == kinds.VAR_DECL and candidates and cursor.spelling.startswith(EVAL_PREFIX):
            value = clangext.evaluate_int(cursor)
            if value is not None:
                values[candidates[int(cursor.spelling[len(EVAL_PREFIX) :])]] = value
            continue
        header, line, column = extractor.header_of(cursor)
        if header is None:
            continue
        count += 1
        if count > MAX_DECLARATIONS:
            raise _too_many(f"more than {MAX_DECLARATIONS:,} declarations and macros")
        place = (header, line, column)
        if reference is not None and header in reference.included:
            ranges = full_skipped.get(header)
            if not ranges or line_kept(ranges, line):
                # the full API reads this line too; but a struct is declared where it is
                # first named, which differs between configurations (3.8's "struct _node"
                # is first named by a limited function in pythonrun.h): keep its place
                if kind in record_kinds:
                    name = clean_spelling(cursor.type.spelling)
                    if "(anonymous)" not in name:
                        note("records", name, header, line)
                        if cursor.is_definition():
                            result.defined_at.setdefault(name, (header, line))
                continue
        if kind in record_kinds:
            record = extractor.record(cursor, place)
            if record is not None:
                note("records", record.name, header, line)
                if record.complete:
                    result.defined_at[record.name] = (header, line)
                known = result.records.get(record.name)
                if known is None or (record.complete and not known.complete):
                    result.records[record.name] = record
        elif kind == kinds.FUNCTION_DECL:
            name = cursor.spelling
            note("functions", name, header, line)
            known_function = result.functions.get(name)
            if known_function is None or (cursor.is_definition() and not known_function.inline):
                result.functions[name] = extractor.function(cursor, place)
        elif kind == kinds.VAR_DECL:
            note("variables", cursor.spelling, header, line)
            if cursor.spelling not in result.variables:
                result.variables[cursor.spelling] = extractor.variable(cursor, place)
        elif kind == kinds.ENUM_DECL:
            enum = extractor.enum(cursor, place)
            note("enums", enum.name, header, line)
            if enum.name not in result.enums or enum.enumerators:
                result.enums[enum.name] = enum
        elif kind == kinds.TYPEDEF_DECL:
            typedef = extractor.typedef(cursor, place)
            note("typedefs", typedef.name, header, line)
            result.typedefs.setdefault(typedef.name, typedef)
            typedef_targets.setdefault(typedef.type.canonical, []).append(typedef.name)
        elif kind == kinds.MACRO_DEFINITION:
            function_like = clangext.is_macro_function_like(cursor)
            if not function_like and is_include_guard(cursor):
                continue
            note("macros", cursor.spelling, header, line)
            result.macros[cursor.spelling] = extractor.macro(cursor, place, function_like)
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
