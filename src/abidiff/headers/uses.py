"""What an extension's own C/C++ source uses of the CPython headers: one libclang parse of
one translation unit (:func:`read_uses`, run in the parse pool), turned into plain values.

A *use* is at a place of the extension's own files (``file:line:column``, the expansion
location: a use inside a macro is at the macro's name in the source) and is one of:

- ``name``: a function or data of the headers referenced (called, or its address taken),
  or a macro of the headers expanded (``Py_INCREF``, ``Py_TPFLAGS_HEAPTYPE``);
- ``field``: a member of a header record read or written (``->``, ``.``, ``offsetof``,
  designated initializers), by record and access path, with its offset;
- ``size``: ``sizeof``/``_Alignof`` of a header record;
- ``embed``: a member of an extension struct that holds a header record by value
  (``PyObject_HEAD`` declares ``PyObject ob_base;``);
- ``value``: a variable of a header record type by value (``static PyTypeObject T = {...}``,
  an array of ``PyMethodDef``): its initializer follows the layout.

``via`` is the outermost macro expanded at the place (``Py_TYPE``, ``PyObject_HEAD``), when
the use comes from one.  The records used are described too (:class:`RecordInfo`: typedef
names, records embedded by value with their offsets), so that a caller can tell what moves
when an embedded record grows without the headers' snapshot.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from abidiff import interrupts
from abidiff.headers import clangext
from abidiff.headers.reach import Reader
from abidiff.model import StrEnum

MAX_USES = 200_000  # per translation unit; a large hand-written module: a few thousand
_MAX_ERRORS_SHOWN = 3


class UseKind(StrEnum):
    """How an extension's source uses a header entity; what a change to it reaches follows."""

    NAME = "name"  # a function, data or macro named: its signature, type or value
    FIELD = "field"  # a member accessed (``op->ob_type``): that field's type and offset
    SIZE = "size"  # ``sizeof`` a header record: its size
    EMBED = "embed"  # an own struct's field holding a header record by value: its size
    VALUE = "value"  # a variable of a header record type (a static PyTypeObject): its layout


@dataclass(frozen=True, slots=True, kw_only=True)
class UseJob:
    """One translation unit to read: plain data, sent to a worker process."""

    file: str
    args: tuple[str, ...]
    own_roots: tuple[str, ...]  # directories of the extension's own files
    python_dirs: tuple[str, ...] = ()  # include directories of CPython (never the extension's own)


@dataclass(frozen=True, slots=True, kw_only=True)
class Use:
    """One use of a header entity, where libclang saw it."""

    kind: UseKind
    name: str  # a function, data or macro name; a record's C name for the others
    field: str | None = None  # FIELD: the access path
    offset_bits: int | None = None  # FIELD: its offset in the record
    file: str  # as the compiler named it (ext_source makes it relative to the user's root)
    line: int  # 1-based, as libclang counts
    column: int  # 1-based, in bytes
    via: str | None = None  # the header macro whose expansion it comes from; None: the source wrote it


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordInfo:
    """A header record used: its typedef names, and the records it holds by value (at their
    bit offsets, through anonymous members too)."""

    name: str
    aliases: tuple[str, ...] = ()
    embeds: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitUses:
    file: str
    uses: tuple[Use, ...] = ()
    records: tuple[RecordInfo, ...] = ()
    errors: tuple[str, ...] = ()  # the first errors of the parse (the uses are read anyway)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


class _Unit:
    def __init__(self, tu: Any, job: UseJob) -> None:
        self.ci = clangext.cindex()
        self.tu = tu
        self.reader = Reader(tu)
        self.roots = tuple(os.path.realpath(root) for root in job.own_roots)
        self.python = tuple(os.path.realpath(root) for root in job.python_dirs)
        self._own: dict[int | None, str | None] = {}
        self.uses: set[Use] = set()
        self.expansions: dict[tuple[str, int], list[tuple[int, int, str]]] = {}

    def own(self, key: int | None, handle: Any) -> str | None:
        """The path of an own file by its key, or None for a header of CPython or the system."""
        if key in self._own:
            return self._own[key]
        found = None
        if key is not None:
            path = os.path.realpath(clangext.file_name(handle))
            if _under(path, self.roots) and not _under(path, self.python):
                found = path
        self._own[key] = found
        return found

    def via(self, path: str, line: int, column: int) -> str | None:
        """The outermost macro expanded at a place of an own file."""
        best: tuple[int, str] | None = None
        for first, last, name in self.expansions.get((path, line), ()):
            if first <= column <= last and (best is None or last - first > best[0]):
                best = (last - first, name)
        return best[1] if best else None

    def add(self, kind: UseKind, name: str, cursor: Any, field: str | None = None, offset: int | None = None) -> None:
        key, handle, line, column = clangext.file_of(cursor)
        path = self.own(key, handle)
        if path is None:
            return
        self.uses.add(
            Use(
                kind=kind,
                name=name,
                field=field,
                offset_bits=offset,
                file=path,
                line=line,
                column=column,
                via=self.via(path, line, column),
            )
        )

    def header_decl(self, decl: Any) -> bool:
        key, handle, _line, _column = clangext.file_of(decl)
        return key is not None and self.own(key, handle) is None

    def read(self) -> None:
        kinds = self.ci.CursorKind
        reader = self.reader
        tops: list[Any] = []
        typedefs: list[Any] = []
        tu = self.tu
        macro_instantiation = kinds.MACRO_INSTANTIATION.value
        typedef_decl = kinds.TYPEDEF_DECL.value

        def visit(cursor: Any, _parent: Any, _data: Any) -> int:
            cursor._tu = tu
            if cursor._kind_id == typedef_decl:
                typedefs.append(cursor)
            tops.append(cursor)
            return 1

        self.ci.conf.lib.clang_visitChildren(tu.cursor, self.ci.callbacks["cursor_visit"](visit), [])
        own_tops = []
        for cursor in tops:
            key, handle, line, column = clangext.file_of(cursor)
            path = self.own(key, handle)
            if path is None:
                continue
            if cursor._kind_id == macro_instantiation:
                end = cursor.extent.end
                last = end.column if end.line == line else 1 << 30
                self.expansions.setdefault((path, line), []).append((column, last, cursor.spelling))
            else:
                own_tops.append(cursor)
        for cursor in tops:
            if cursor._kind_id == macro_instantiation:
                key, handle, _line, _column = clangext.file_of(cursor)
                if self.own(key, handle) is not None:
                    self.add(UseKind.NAME, cursor.spelling, cursor)
        field_decl = kinds.FIELD_DECL.value
        for top in own_tops:
            self._declaration(top, field_decl)
            for kind, item in reader.walk(top) + self._fields_of(top, field_decl):
                self._note(kind, item, field_decl)
                if len(self.uses) > MAX_USES:
                    return
        self.typedefs = typedefs

    def _fields_of(self, top: Any, field_decl: int) -> list[tuple[int, Any]]:
        """The members of the extension's own structs (at any depth)."""
        found: list[tuple[int, Any]] = []
        tu = self.tu

        def visit(cursor: Any, _parent: Any, _data: Any) -> int:
            if cursor._kind_id == field_decl:
                cursor._tu = tu
                found.append((field_decl, cursor))
            return 2

        self.ci.conf.lib.clang_visitChildren(top, self.ci.callbacks["cursor_visit"](visit), [])
        return found

    def _declaration(self, top: Any, field_decl: int) -> None:
        if top._kind_id in (field_decl, self.reader.var_decl):
            self._note(top._kind_id, top, field_decl)

    def _note(self, kind: int, item: Any, field_decl: int) -> None:
        reader = self.reader
        if kind in reader.member_kinds:
            ref = item.referenced
            if ref is None or ref._kind_id != field_decl or not self.header_decl(ref):
                return
            found = reader.field_ref(ref)
            if found is not None:
                offset = ref.get_field_offsetof()
                self.add(UseKind.FIELD, found.record, item, found.field, offset if offset >= 0 else None)
        elif kind == reader.decl_ref:
            ref = item.referenced
            name = reader.global_name(ref)
            if name is not None and self.header_decl(ref):
                self.add(UseKind.NAME, name, item)
        elif kind == reader.size_of:
            for child in item.get_children():
                record = reader.record_of(child.type)
                if record is not None and self._header_record(record):
                    self.add(UseKind.SIZE, record, item)
                break
        elif kind in (reader.var_decl, field_decl):
            record = reader.record_of(item.type)
            if record is not None and self._header_record(record):
                self.add(UseKind.VALUE if kind == reader.var_decl else UseKind.EMBED, record, item)

    def _header_record(self, name: str) -> bool:
        decl = self.reader.decls.get(name)
        return decl is not None and self.header_decl(decl)

    def records(self) -> tuple[RecordInfo, ...]:
        """The header records the uses name, with their typedef names and embedded records
        (and theirs, transitively)."""
        reader = self.reader
        wanted = sorted({use.name for use in self.uses if use.kind != UseKind.NAME})
        aliases: dict[str, set[str]] = {}
        for typedef in getattr(self, "typedefs", []):
            record = reader.record_of(typedef.underlying_typedef_type)
            if record is not None:
                aliases.setdefault(record, set()).add(typedef.spelling)
        out: dict[str, RecordInfo] = {}
        todo = list(wanted)
        while todo:
            name = todo.pop()
            decl = reader.decls.get(name)
            if name in out or decl is None:
                continue
            embeds = tuple(sorted(self._embedded(decl)))
            out[name] = RecordInfo(name=name, aliases=tuple(sorted(aliases.get(name, ()))), embeds=embeds)
            todo += [inner for inner, _offset in embeds if inner not in out]
        return tuple(out[name] for name in sorted(out))

    def _embedded(self, decl: Any) -> set[tuple[str, int]]:
        found: set[tuple[str, int]] = set()
        for member in decl.type.get_fields():
            record = self.reader.record_of(member.type)
            offset = member.get_field_offsetof()
            if record is not None and offset >= 0:
                found.add((record, offset))
            elif offset >= 0:
                inner = member.type.get_canonical().get_declaration()
                if inner.kind in self.reader.record_decls and inner.is_anonymous():
                    found |= {(name, offset + at) for name, at in self._embedded(inner)}
        return found


def read_uses(job: UseJob) -> UnitUses:
    """Parse one translation unit and read what its own files use (SIGINT and SIGTERM wait
    for the end of the read: see :mod:`abidiff.interrupts`)."""
    with interrupts.deferred():
        return _read(job)


def _read(job: UseJob) -> UnitUses:
    ci = clangext.cindex()
    index = ci.Index.create()
    options = ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
    try:
        tu = index.parse(job.file, args=list(job.args), options=options)
    except ci.TranslationUnitLoadError as exc:
        return UnitUses(file=job.file, errors=(f"libclang could not parse it: {exc}",))
    errors: list[str] = []
    for diagnostic in tu.diagnostics:
        if diagnostic.severity >= 3 and len(errors) < _MAX_ERRORS_SHOWN:
            location = diagnostic.location
            where = f"{location.file.name}:{location.line}: " if location.file else ""
            errors.append(f"{where}{diagnostic.spelling}")
    unit = _Unit(tu, job)
    unit.read()
    uses = tuple(sorted(unit.uses, key=lambda u: (u.file, u.line, u.column, str(u.kind), u.name, u.field or "")))
    return UnitUses(file=job.file, uses=uses, records=unit.records(), errors=tuple(errors))
