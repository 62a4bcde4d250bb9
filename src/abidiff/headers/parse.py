"""One libclang parse of ``#include <Python.h>`` for one configuration, turned into model values.

A :class:`ParseJob` is plain data so that it can be sent to a worker process; the result
(:class:`Scan`) holds only model values.  Tiers and ``limited_since`` are left as
placeholders here: they need every configuration's scan and are set by
:mod:`abidiff.headers.combine`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

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
    TypeRef,
    Typedef,
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

# tokens allowed in a macro body that we try to evaluate as an integer constant expression
_EVAL_PUNCT = frozenset("( ) + - * / % < > ! ~ & | ^ ? : , << >> <= >= == != && ||".split())
_EVAL_KEYWORDS = frozenset(
    "unsigned signed long int short char sizeof _Alignof __alignof__ struct union const void "
    "_Bool __typeof__".split()
)


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
        if self.limited is not None:
            args.append(f"-DPy_LIMITED_API=0x{limited_api_hex(self.limited):08X}")
        return args


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


def clean_spelling(spelling: str) -> str:
    """A type spelling without the paths and line numbers libclang puts in anonymous types."""
    if "(anonymous" not in spelling and "(unnamed" not in spelling:
        return spelling
    cleaned = _ANON_RE.sub("(anonymous)", spelling)
    return _ANON_OWNER_RE.sub("", cleaned)


def _typeref(ctype: Any) -> TypeRef:
    return TypeRef(
        spelling=clean_spelling(ctype.spelling), canonical=clean_spelling(ctype.get_canonical().spelling)
    )


class _Extractor:
    """Walks the top level of one translation unit and keeps what the build's headers declare."""

    def __init__(self, job: ParseJob) -> None:
        self.ci = clangext.cindex()
        self.job = job
        self._roots = [(os.path.realpath(job.include_dir) + os.sep, False)] + [
            (os.path.realpath(d) + os.sep, True) for d in job.config_dirs
        ]
        self._header_by_file: dict[int | None, str | None] = {}

    def header_of(self, cursor: Any) -> str | None:
        """The header a cursor is declared in, relative to the include directory, or None."""
        key, handle = clangext.file_of(cursor)
        try:
            return self._header_by_file[key]
        except KeyError:
            pass
        header = None
        if key is not None:
            path = os.path.realpath(clangext.file_name(handle))
            for root, is_config_dir in self._roots:
                if path.startswith(root):
                    header = os.path.basename(path) if is_config_dir else path[len(root) :]
                    header = header.replace(os.sep, "/")
                    break
        self._header_by_file[key] = header
        return header

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
                    type=_typeref(member.type),
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
        params = tuple(Param(name=arg.spelling, type=_typeref(arg.type)) for arg in cursor.get_arguments())
        variadic = ftype.kind == self.ci.TypeKind.FUNCTIONPROTO and ftype.is_function_variadic()
        inline = cursor.storage_class == self.ci.StorageClass.STATIC or clangext.is_function_inlined(cursor)
        return Function(
            name=cursor.spelling,
            returns=_typeref(cursor.result_type),
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
            type=_typeref(cursor.type),
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
            name=cursor.spelling, type=_typeref(cursor.underlying_typedef_type), header=header, tier=_PLACEHOLDER
        )


def _evaluable_body(cursor: Any) -> bool:
    """Whether an object-like macro's body could be an integer constant expression."""
    tokens = list(cursor.get_tokens())[1:]
    if not tokens:
        return False
    depth = 0
    for token in tokens:
        text = token.spelling
        kind = token.kind.name
        if kind == "PUNCTUATION":
            if text not in _EVAL_PUNCT:
                return False
            depth += text == "("
            depth -= text == ")"
            if depth < 0:
                return False
        elif kind == "KEYWORD":
            if text not in _EVAL_KEYWORDS:
                return False
        elif kind == "LITERAL":
            if text.startswith(('"', 'L"', 'u"', 'U"', 'u8"')):
                return False
        elif kind != "IDENTIFIER":
            return False
    return depth == 0


def _is_include_guard(cursor: Any) -> bool:
    """``#define Py_OBJECT_H`` (empty, named ``*_H``): not API, and renamed freely."""
    name = cursor.spelling
    return name.endswith("_H") and len(list(cursor.get_tokens())) == 1


def _errors(tu: Any, limit: int = _MAX_ERRORS_SHOWN) -> list[str]:
    shown = []
    for diagnostic in tu.diagnostics:
        if diagnostic.severity < 3:  # below Error
            continue
        location = diagnostic.location
        where = f"{location.file.name}:{location.line}" if location.file else "<command line>"
        if location.file and location.file.name == MAIN_FILE and location.line > 1:
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
        raise HeaderParseError(
            f"libclang could not parse the headers in {job.include_dir}: {exc}",
            hint="check that the directory holds a complete CPython include tree",
        ) from exc


def scan(job: ParseJob) -> Scan:
    """Parse one configuration and return what its own headers declare."""
    ci = clangext.cindex()
    kinds = ci.CursorKind
    index = ci.Index.create()
    tu = _parse(index, job, "#include <Python.h>\n")
    errors = _errors(tu)
    if errors:
        level = f"Py_LIMITED_API={job.limited}" if job.limited else "the full API"
        raise HeaderParseError(
            f"the headers in {job.include_dir} do not parse ({level}): {errors[0]}",
            details=tuple(errors),
            hint="check the include directory and its pyconfig.h (a header tree of another "
            "platform needs --target); the first libclang errors are listed above",
        )
    triple, pointer_bits = clangext.target_info(tu)
    extractor = _Extractor(job)
    result = Scan(limited=job.limited, target=triple, pointer_bits=pointer_bits)
    record_kinds = (kinds.STRUCT_DECL, kinds.UNION_DECL)
    skip = (kinds.MACRO_INSTANTIATION, kinds.INCLUSION_DIRECTIVE)
    evaluate: list[str] = []
    typedef_targets: dict[str, list[str]] = {}
    for cursor in tu.cursor.get_children():
        kind = cursor.kind
        if kind in skip:
            continue
        header = extractor.header_of(cursor)
        if header is None:
            continue
        if kind in record_kinds:
            record = extractor.record(cursor, header)
            if record is not None:
                known = result.records.get(record.name)
                if known is None or (record.complete and not known.complete):
                    result.records[record.name] = record
        elif kind == kinds.FUNCTION_DECL:
            name = cursor.spelling
            known_function = result.functions.get(name)
            if known_function is None or (cursor.is_definition() and not known_function.inline):
                result.functions[name] = extractor.function(cursor, header)
        elif kind == kinds.VAR_DECL:
            if cursor.spelling not in result.variables:
                result.variables[cursor.spelling] = extractor.variable(cursor, header)
        elif kind == kinds.ENUM_DECL:
            enum = extractor.enum(cursor, header)
            if enum.name not in result.enums or enum.enumerators:
                result.enums[enum.name] = enum
        elif kind == kinds.TYPEDEF_DECL:
            typedef = extractor.typedef(cursor, header)
            result.typedefs.setdefault(typedef.name, typedef)
            typedef_targets.setdefault(typedef.type.canonical, []).append(typedef.name)
        elif kind == kinds.MACRO_DEFINITION:
            function_like = clangext.is_macro_function_like(cursor)
            if not function_like and _is_include_guard(cursor):
                continue
            result.macros[cursor.spelling] = Macro(
                name=cursor.spelling, function_like=function_like, header=header, tier=_PLACEHOLDER
            )
            if job.evaluate_macros and not function_like and _evaluable_body(cursor):
                evaluate.append(cursor.spelling)
    _attach_aliases(result, typedef_targets)
    if evaluate:
        _evaluate_macros(index, job, result, evaluate)
    return result


def _attach_aliases(result: Scan, typedef_targets: dict[str, list[str]]) -> None:
    from dataclasses import replace

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


def _evaluate_macros(index: Any, job: ParseJob, result: Scan, names: list[str]) -> None:
    """Evaluate object-like macros as integers by parsing ``static const T v = (MACRO);``."""
    from dataclasses import replace

    ci = clangext.cindex()
    lines = ["#include <Python.h>"]
    for number, name in enumerate(names):
        lines.append(f"static const __typeof__(({name})) {_EVAL_PREFIX}{number} = ({name});")
    tu = _parse(index, job, "\n".join(lines) + "\n")
    for cursor in tu.cursor.get_children():
        if cursor.kind != ci.CursorKind.VAR_DECL or not cursor.spelling.startswith(_EVAL_PREFIX):
            continue
        value = clangext.evaluate_int(cursor)
        if value is None:
            continue
        name = names[int(cursor.spelling[len(_EVAL_PREFIX) :])]
        result.macros[name] = replace(result.macros[name], value=value)
