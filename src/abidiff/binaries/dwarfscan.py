"""Find the records of one DWARF unit fast: a scan of its top-level DIEs.

pyelftools parses every attribute of every DIE it walks past: the top-level DIEs of
libpython3.13 are ~170,000 (6 s).  To find the records that :mod:`abidiff.binaries.dwarf`
checks, the scan reads of each top-level DIE only its abbreviation, the name of a typedef,
struct or union, and its ``DW_AT_sibling`` (to step over its children); of a DIE that names
a wanted record, the ``DW_AT_type`` chain to the struct or union it names.  pyelftools then
reads the members of the records found.

The scan reads the sections pyelftools loaded (already checked against the limits) and
trusts nothing: every read is bounded by its section, every step moves forward.  A unit
whose encoding it does not know (a form it cannot size, a name by index) or finds malformed
raises one of :data:`SCAN_ERRORS`, and the caller lets pyelftools walk that unit as before.
Values are raw DWARF numbers (tags, attributes, forms) from the DWARF 5 standard, 7.5.
"""

from __future__ import annotations

import struct
from collections.abc import Container, Iterator
from dataclasses import dataclass
from typing import Any

_STRUCT, _TYPEDEF, _UNION = 0x13, 0x16, 0x17
KINDS = {_TYPEDEF: "typedef", _STRUCT: "struct", _UNION: "union"}
_QUALIFIERS = frozenset({0x26, 0x35, 0x37, 0x47})  # const, volatile, restrict, atomic
_AT_SIBLING, _AT_NAME, _AT_DECLARATION, _AT_TYPE = 0x01, 0x03, 0x3C, 0x49
_SCANNED = frozenset({_AT_SIBLING, _AT_NAME, _AT_DECLARATION, _AT_TYPE})
_STRING, _STRP, _REF_ADDR, _REF_UDATA, _INDIRECT, _LINE_STRP, _IMPLICIT_CONST = 0x08, 0x0E, 0x10, 0x15, 0x16, 0x1F, 0x21
_UNIT_REFS = {0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8}  # ref1..ref8: offsets from the unit's start
# sdata, udata, ref_udata, strx, addrx, loclistx, rnglistx, GNU_addr_index, GNU_str_index
_LEB_FORMS = frozenset({0x0D, 0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02})
_BLOCK_FORMS = {0x03: 2, 0x04: 4, 0x0A: 1}  # block2, block4, block1: the size of their length
_LEB_BLOCK_FORMS = frozenset({0x09, 0x18})  # block, exprloc: a ULEB128 length
# data2/4/8, data1, flag, ref1..ref8, flag_present, ref_sup4, data16, ref_sig8, implicit_const,
# ref_sup8, strx1..strx4, addrx1..addrx4: the same size in every unit
_CONSTANT_SIZES = {0x05: 2, 0x06: 4, 0x07: 8, 0x0B: 1, 0x0C: 1, 0x11: 1, 0x12: 2, 0x13: 4, 0x14: 8, 0x19: 0}
_CONSTANT_SIZES |= {0x1C: 4, 0x1E: 16, 0x20: 8, _IMPLICIT_CONST: 0, 0x24: 8, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4}
_CONSTANT_SIZES |= {0x29: 1, 0x2A: 2, 0x2B: 3, 0x2C: 4}
# strp, sec_offset, strp_sup, line_strp, GNU_ref_alt, GNU_strp_alt: the size of an offset
_OFFSET_FORMS = (_STRP, 0x17, 0x1D, _LINE_STRP, 0x1F20, 0x1F21)
MAX_DEPTH = 16  # typedefs and qualifiers followed from a name to its record
UNKNOWN = object()  # a DW_AT_type chain the scan leaves to pyelftools (into another unit, by signature)


class Unsupported(Exception):
    """A unit the scan leaves to pyelftools: a form it cannot size, a name it cannot read, a
    malformed DIE."""


SCAN_ERRORS = (Unsupported, IndexError, KeyError, ValueError, struct.error)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Abbrev:
    tag: int
    children: bool
    forms: tuple[tuple[int, int], ...]  # (attribute, form)
    size: int | None  # of the attributes, when every form has a constant size
    where: tuple[tuple[int, int, int], ...]  # (attribute, offset, form) of the scanned ones, when size is known


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


class Scan:
    """The sections of one file's DWARF as bytes, and the abbreviation tables and names read so far."""

    def __init__(self, dwarf: Any) -> None:
        def data(section: Any) -> bytes:
            return b"" if section is None else bytes(section.stream.getbuffer())

        self.info = data(dwarf.debug_info_sec)
        self.abbrev = data(dwarf.debug_abbrev_sec)
        self.strings = {_STRP: data(dwarf.debug_str_sec), _LINE_STRP: data(getattr(dwarf, "debug_line_str_sec", None))}
        self.byteorder: Any = "little" if dwarf.config.little_endian else "big"
        self.tables: dict[tuple[int, int, int, int], tuple[dict[int, _Abbrev], dict[int, int]]] = {}
        self.names: dict[tuple[int, int], str] = {}  # (form, offset) -> a name of .debug_str or .debug_line_str

    def candidates(
        self, unit: Any, by_key: dict[tuple[str, str], str], found: Container[str]
    ) -> list[tuple[str, int, object]]:
        """(record name, DIE offset, what it names) of each top-level DIE of ``unit`` that names
        a wanted record not ``found`` yet, in order.  What it names is the offset of the complete
        struct or union DIE, None when it names none (a declaration), or :data:`UNKNOWN`."""
        offset_size = 8 if unit.structs.dwarf_format == 64 else 4
        key = (unit["debug_abbrev_offset"], unit["version"], unit["address_size"], offset_size)
        if key not in self.tables:
            self.tables[key] = self._table(*key)
        table, sizes = self.tables[key]
        walk = _UnitScan(self, table, sizes, unit.cu_offset, unit.cu_die_offset, unit.cu_offset + unit.size)
        result: list[tuple[str, int, object]] = []
        for kind, name, offset in walk.top_level():
            record = by_key.get((kind, name))
            if record is not None and record not in found:
                result.append((record, offset, walk.complete_record(offset)))
        return result

    def _table(
        self, offset: int, version: int, address_size: int, offset_size: int
    ) -> tuple[dict[int, _Abbrev], dict[int, int]]:
        sizes = dict(_CONSTANT_SIZES)
        sizes.update(dict.fromkeys(_OFFSET_FORMS, offset_size))
        sizes[0x01] = address_size  # addr
        sizes[_REF_ADDR] = address_size if version <= 2 else offset_size
        data, table, pos = self.abbrev, dict[int, _Abbrev](), offset
        while True:
            code, pos = _uleb(data, pos)
            if code == 0:
                return table, sizes
            tag, pos = _uleb(data, pos)
            children = data[pos] == 1  # DW_CHILDREN_yes
            pos += 1
            forms = []
            while True:
                attribute, pos = _uleb(data, pos)
                form, pos = _uleb(data, pos)
                if attribute == 0 and form == 0:
                    break
                if form == _IMPLICIT_CONST:
                    _, pos = _uleb(data, pos)  # the constant (signed): only its bytes matter
                forms.append((attribute, form))
            table[code] = _abbreviation(tag, children, tuple(forms), sizes)


def _abbreviation(tag: int, children: bool, forms: tuple[tuple[int, int], ...], sizes: dict[int, int]) -> _Abbrev:
    size: int | None = 0
    where = []
    for attribute, form in forms:
        fixed = sizes.get(form)
        if fixed is None or size is None:
            size = None
            continue
        if attribute in _SCANNED:
            where.append((attribute, size, form))
        size += fixed
    return _Abbrev(tag=tag, children=children, forms=forms, size=size, where=tuple(where) if size is not None else ())


class _UnitScan:
    """One unit: ``start`` its header, ``first`` its top DIE, ``end`` the byte after it."""

    def __init__(
        self, scan: Scan, table: dict[int, _Abbrev], sizes: dict[int, int], start: int, first: int, end: int
    ) -> None:
        self.scan, self.table, self.sizes = scan, table, sizes
        self.start, self.first, self.end = start, first, min(end, len(scan.info))
        self.data = scan.info

    def top_level(self) -> Iterator[tuple[str, str, int]]:
        """(kind, name, offset) of each named typedef, struct and union among the children of
        the unit's top DIE."""
        data, table, end = self.data, self.table, self.end
        code, pos = _uleb(data, self.first)
        top = table[code]
        _, pos = self._attributes(top, pos)
        if not top.children:
            return
        while True:
            if pos >= end:
                raise Unsupported("the unit's top-level DIEs run past its end")
            start = pos
            code = data[pos]
            if code < 0x80:
                pos += 1
            else:
                code, pos = _uleb(data, pos)
            if code == 0:
                return
            abbrev = table[code]
            kind = KINDS.get(abbrev.tag)
            if kind is None and not abbrev.children and abbrev.size is not None:
                pos += abbrev.size
                continue
            values, pos = self._attributes(abbrev, pos)
            if kind is not None and _AT_NAME in values:
                name = self._name(*values[_AT_NAME])
                if name:
                    yield kind, name, start
            if abbrev.children:
                pos = self._after_children(values, pos)

    def complete_record(self, offset: int) -> object:
        """What the DIE at ``offset`` names through typedefs and qualifiers, as
        :func:`abidiff.binaries.dwarf._record_of` says it (see :meth:`Scan.candidates`)."""
        for _ in range(MAX_DEPTH):
            if not self.first <= offset < self.end:
                return UNKNOWN  # in another unit: pyelftools follows it
            code, pos = _uleb(self.data, offset)
            if code == 0:
                return None
            abbrev = self.table[code]
            values, _ = self._attributes(abbrev, pos)
            if abbrev.tag in _QUALIFIERS or abbrev.tag == _TYPEDEF:
                if _AT_TYPE not in values:
                    return None
                target = self._reference(*values[_AT_TYPE])
                if target is None:
                    return UNKNOWN
                offset = target
                continue
            if abbrev.tag not in (_STRUCT, _UNION) or _AT_DECLARATION in values:
                return None
            return offset
        return None

    def _attributes(self, abbrev: _Abbrev, pos: int) -> tuple[dict[int, tuple[int, int]], int]:
        """The scanned attributes of a DIE whose attributes start at ``pos``, each as (form,
        offset of its value), and where the next DIE starts."""
        if abbrev.size is not None:
            return {attribute: (form, pos + at) for attribute, at, form in abbrev.where}, pos + abbrev.size
        values = {}
        for attribute, form in abbrev.forms:
            if form == _INDIRECT:
                form, pos = _uleb(self.data, pos)
            if attribute in _SCANNED:
                values[attribute] = (form, pos)
            pos = self._skip(form, pos)
        return values, pos

    def _skip(self, form: int, pos: int) -> int:
        fixed = self.sizes.get(form)
        if fixed is not None:
            return pos + fixed
        data = self.data
        if form in _LEB_FORMS:
            while data[pos] >= 0x80:
                pos += 1
            return pos + 1
        if form == _STRING:
            return data.index(b"\0", pos) + 1
        if form in _BLOCK_FORMS:
            width = _BLOCK_FORMS[form]
            return pos + width + self._number(pos, width)
        if form in _LEB_BLOCK_FORMS:
            length, pos = _uleb(data, pos)
            return pos + length
        raise Unsupported(f"form 0x{form:x}")

    def _number(self, pos: int, width: int) -> int:
        if pos + width > len(self.data):
            raise Unsupported("a value runs past the section")
        return int.from_bytes(self.data[pos : pos + width], self.scan.byteorder)

    def _reference(self, form: int, pos: int) -> int | None:
        """The section offset a reference points to; None for one the scan does not follow."""
        width = _UNIT_REFS.get(form)
        if width is not None:
            return self.start + self._number(pos, width)
        if form == _REF_UDATA:
            return self.start + _uleb(self.data, pos)[0]
        if form == _REF_ADDR:
            return self._number(pos, self.sizes[_REF_ADDR])
        return None

    def _after_children(self, values: dict[int, tuple[int, int]], pos: int) -> int:
        """Where the DIE after one with children starts: its DW_AT_sibling when that points
        past ``pos`` and within the unit, else past the null entry that ends its children."""
        if _AT_SIBLING in values:
            target = self._reference(*values[_AT_SIBLING])
            if target is not None and pos <= target < self.end:
                return target
        data, table, end = self.data, self.table, self.end
        depth = 1
        while depth:
            if pos >= end:
                raise Unsupported("children run past the unit's end")
            code, pos = _uleb(data, pos)
            if code == 0:
                depth -= 1
                continue
            abbrev = table[code]
            if abbrev.size is not None and not abbrev.children:
                pos += abbrev.size
                continue
            nested, pos = self._attributes(abbrev, pos)
            if abbrev.children:
                target = self._reference(*nested[_AT_SIBLING]) if _AT_SIBLING in nested else None
                if target is not None and pos <= target < end:
                    pos = target
                else:
                    depth += 1
        return pos

    def _name(self, form: int, pos: int) -> str:
        if form == _STRING:
            return self.data[pos : self.data.index(b"\0", pos)].decode("utf-8", "replace")
        if form not in (_STRP, _LINE_STRP):  # strx (through .debug_str_offsets) and others
            raise Unsupported(f"a name of form 0x{form:x}")
        offset = self._number(pos, self.sizes[form])
        name = self.scan.names.get((form, offset))
        if name is None:
            strings = self.scan.strings[form]
            name = strings[offset : strings.index(b"\0", offset)].decode("utf-8", "replace")
            self.scan.names[(form, offset)] = name
        return name
