"""Cross-check the layouts the headers give against the DWARF of the built library.

A libpython built with a configuration its headers do not describe (``Py_TRACE_REFS``
in the build but not in ``pyconfig.h``, a hand-edited header, the headers of another
build) has struct layouts that differ from what extensions compile against.  The DWARF
of the library says what the build used: the byte size of each struct and the offset of
each member.  This module reads the layouts of the records the header snapshot has and
reports each disagreement as a one-line warning.

Only the top-level DIEs of each compile unit are looked at (C types of file scope live
there); the walk stops once every wanted record was found.  pyelftools loads the
``.debug_*`` sections it needs into memory (for libpython3.13 ~16 MB of ``.debug_info``).
Walking them, it would parse every attribute of each of the ~170,000 top-level DIEs (6 s),
so a scan of our own finds the records (:mod:`abidiff.binaries.dwarfscan`: abbreviations,
names and ``DW_AT_sibling`` only) and pyelftools reads their members: under a second, still
too slow for every run, so callers make it opt-in.  pyelftools trusts the file, so the file
is first checked with the bounded ELF reader: its section table and names, and the size of
each debug section once inflated.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from elftools.common.exceptions import DWARFError, ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

from abidiff.binaries._common import LIMITS, NameBudget, Window, corrupt, open_binary, over_limit, size_text
from abidiff.binaries.dwarfscan import MAX_DEPTH, SCAN_ERRORS, UNKNOWN, Scan
from abidiff.binaries.elf import SHF_COMPRESSED, SHT_NOBITS, BoundedElf
from abidiff.model import Field, Record, Tier

_LIBRARY_ERRORS = (
    ELFError,
    DWARFError,
    ConstructError,
    struct.error,
    ValueError,
    KeyError,
    IndexError,
    UnicodeDecodeError,
    OSError,
)
_RECORD_TAGS = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union"}
_QUALIFIERS = {"DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type", "DW_TAG_atomic_type"}
_MAX_DEPTH = MAX_DEPTH  # nesting of anonymous records within one record; typedefs to a record
_MAX_DIFFERENCES = 3  # member differences quoted per record; the rest are counted

# member path ("state.kind") -> (offset in bits from the outermost record, bit-field width)
Members = dict[str, tuple[int | None, int | None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    size: int | None
    members: tuple[tuple[str, int | None, int | None], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DwarfCheck:
    """What the cross-check found: the records compared, those the DWARF does not define
    (no compile unit used them), and one warning per disagreeing record."""

    binary: str
    compared: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def has_dwarf(path: str) -> bool:
    """True when the ELF file ``path`` carries ``.debug_info``."""
    with open_binary(path) as handle:
        return ".debug_info" in _check_for_pyelftools(handle, path)


def _check_for_pyelftools(handle: BinaryIO, path: str) -> tuple[str, ...]:
    """The section names of the ELF file open in ``handle``, once the file is known to be
    safe to give to pyelftools, which trusts it: the section table and every name within the
    limits, and no debug section that inflates (``SHF_COMPRESSED``, ``.zdebug_*``) or reads
    to more than :attr:`~abidiff.binaries._common.Limits.debug_section_bytes`."""
    size = os.fstat(handle.fileno()).st_size
    window = Window(handle, path, 0, size)
    if window.read(0, min(4, size), "the ELF magic") != b"\x7fELF":
        raise corrupt(path, "not an ELF file: DWARF is read from ELF files only")
    elf = BoundedElf(window)
    names = elf.section_names(NameBudget(path))
    for section, name in zip(elf.sections, names, strict=True):
        if not name.startswith((".debug_", ".zdebug_")) or section.type == SHT_NOBITS:
            continue
        declared = section.size
        if section.flags & SHF_COMPRESSED:
            header = window.read(section.offset, 24 if elf.header.elf_class == 2 else 12, f"section {name}")
            layout = elf.endian + ("IIQ" if elf.header.elf_class == 2 else "III")
            declared = struct.unpack_from(layout, header)[-1]  # ch_size
        elif name.startswith(".zdebug_"):
            header = window.read(section.offset, 12, f"section {name}")
            declared = struct.unpack_from(">Q", header, 4)[0] if header[:4] == b"ZLIB" else section.size
        if declared > LIMITS.debug_section_bytes:
            raise over_limit(
                path,
                f"section {name} is {size_text(declared)} once read, over the limit of "
                f"{size_text(LIMITS.debug_section_bytes)}",
            )
    return names


def wanted_records(records: Iterable[Record]) -> tuple[Record, ...]:
    """The records worth checking: complete, and part of the API (not internal)."""
    return tuple(r for r in records if r.complete and r.size is not None and r.tier != Tier.INTERNAL)


def check_layouts(path: str, records: Iterable[Record]) -> DwarfCheck:
    """Compare ``records`` (from the headers) with the DWARF of the ELF file ``path``."""
    wanted = wanted_records(records)
    with open_binary(path) as handle:
        _check_for_pyelftools(handle, path)
        handle.seek(0)
        try:
            found = _find_layouts(handle, wanted)
        except _LIBRARY_ERRORS as exc:
            raise corrupt(path, f"corrupt DWARF ({type(exc).__name__}: {exc})") from exc
    label = os.path.basename(path)
    warnings = []
    for record in wanted:
        layout = found.get(record.name)
        if layout is not None:
            warnings.extend(_compare(label, record, layout))
    return DwarfCheck(
        binary=path,
        compared=tuple(sorted(found)),
        absent=tuple(sorted(r.name for r in wanted if r.name not in found)),
        warnings=tuple(warnings),
    )


# --- reading ------------------------------------------------------------------------------


def _keys(record: Record) -> list[tuple[str, str]]:
    """How a record is named in DWARF: by its tag (``struct``, ``_object``) and by each
    typedef that names it (``typedef``, ``PyObject``)."""
    keys = [("typedef", alias) for alias in record.aliases]
    kind, _, tag = record.name.partition(" ")
    if tag and kind in ("struct", "union"):
        keys.append((kind, tag))
    elif not tag:
        keys.append(("typedef", record.name))
    return keys


def _find_layouts(handle: BinaryIO, wanted: tuple[Record, ...]) -> dict[str, Layout]:
    elf = ELFFile(handle)
    if not elf.has_dwarf_info() or elf.get_section_by_name(".debug_info") is None:
        return {}
    by_key: dict[tuple[str, str], str] = {}
    for record in wanted:
        for key in _keys(record):
            by_key.setdefault(key, record.name)
    found: dict[str, Layout] = {}
    dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
    scan = Scan(dwarf)
    for unit in dwarf.iter_CUs():
        try:
            candidates = scan.candidates(unit, by_key, found)
        except SCAN_ERRORS:  # an encoding the scan does not know, or a malformed unit
            _find_in_unit(unit, by_key, found)
        else:
            for name, offset, record_offset in candidates:
                if name in found:
                    continue
                if record_offset is UNKNOWN:  # a reference the scan does not follow
                    record_die = _record_of(unit.get_DIE_from_refaddr(offset))
                    if record_die is not None:
                        found[name] = _layout(record_die)
                elif isinstance(record_offset, int):
                    found[name] = _layout(unit.get_DIE_from_refaddr(record_offset))
        if len(found) == len(wanted):
            break
    return found


def _find_in_unit(unit: Any, by_key: dict[tuple[str, str], str], found: dict[str, Layout]) -> None:
    """What :meth:`~abidiff.binaries.dwarfscan.Scan.candidates` finds, by pyelftools' walk of
    the unit's top-level DIEs (the slow way)."""
    for die in unit.iter_DIE_children(unit.get_top_DIE()):
        die_key = _die_key(die)
        if die_key is None:
            continue
        name = by_key.get(die_key)
        if name is None or name in found:
            continue
        record_die = _record_of(die)
        if record_die is not None:
            found[name] = _layout(record_die)


def _name(die: Any) -> str | None:
    attribute = die.attributes.get("DW_AT_name")
    if attribute is None:
        return None
    value = attribute.value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _die_key(die: Any) -> tuple[str, str] | None:
    if die.tag == "DW_TAG_typedef":
        name = _name(die)
        return ("typedef", name) if name else None
    kind = _RECORD_TAGS.get(die.tag)
    if kind is None:
        return None
    name = _name(die)
    return (kind, name) if name else None


def _strip(die: Any, *, typedefs: bool) -> Any:
    """The DIE under qualifiers (and typedefs, when asked); None for ``void``."""
    for _ in range(_MAX_DEPTH):
        if die is None:
            return None
        if die.tag in _QUALIFIERS or (typedefs and die.tag == "DW_TAG_typedef"):
            if "DW_AT_type" not in die.attributes:
                return None
            die = die.get_DIE_from_attribute("DW_AT_type")
            continue
        return die
    return None


def _record_of(die: Any) -> Any:
    """The complete struct/union DIE ``die`` is or names; None for a declaration."""
    target = _strip(die, typedefs=True)
    if target is None or target.tag not in _RECORD_TAGS or "DW_AT_declaration" in target.attributes:
        return None
    return target


def _member_offset_bits(member: Any) -> int | None:
    attributes = member.attributes
    if "DW_AT_data_bit_offset" in attributes:  # DWARF 4+ bit-fields
        return int(attributes["DW_AT_data_bit_offset"].value)
    location = attributes.get("DW_AT_data_member_location")
    if location is None:
        return 0 if member.get_parent() is not None and member.get_parent().tag == "DW_TAG_union_type" else None
    value = location.value
    if isinstance(value, list):  # DWARF 2 location expression: DW_OP_plus_uconst N
        if len(value) == 2 and value[0] == 0x23:
            value = value[1]
        else:
            return None
    byte_offset = int(value)
    if "DW_AT_bit_offset" in attributes and "DW_AT_bit_size" in attributes:  # DWARF 2/3 bit-fields
        storage = int(attributes.get("DW_AT_byte_size").value) if "DW_AT_byte_size" in attributes else 0
        bit_offset, width = int(attributes["DW_AT_bit_offset"].value), int(attributes["DW_AT_bit_size"].value)
        return byte_offset * 8 + storage * 8 - bit_offset - width
    return byte_offset * 8


def _members(record: Any, base: int, prefix: str, depth: int) -> Iterator[tuple[str, int | None, int | None]]:
    if depth > _MAX_DEPTH:
        return
    for member in record.iter_children():
        if member.tag != "DW_TAG_member":
            continue
        name = _name(member) or ""
        offset = _member_offset_bits(member)
        absolute = None if offset is None else base + offset
        width_attribute = member.attributes.get("DW_AT_bit_size")
        width = int(width_attribute.value) if width_attribute is not None else None
        path = prefix + name
        if name:
            yield path, absolute, width
        member_type = (
            _strip(member.get_DIE_from_attribute("DW_AT_type"), typedefs=False)
            if "DW_AT_type" in member.attributes
            else None
        )
        anonymous_record = member_type is not None and member_type.tag in _RECORD_TAGS and _name(member_type) is None
        if anonymous_record and absolute is not None:
            yield from _members(member_type, absolute, f"{path}." if name else prefix, depth + 1)


def _layout(die: Any) -> Layout:
    size_attribute = die.attributes.get("DW_AT_byte_size")
    return Layout(
        size=int(size_attribute.value) if size_attribute is not None else None,
        members=tuple(_members(die, 0, "", 0)),
    )


# --- comparing ----------------------------------------------------------------------------


def _header_members(fields: Iterable[Field], prefix: str = "") -> Members:
    flat: Members = {}
    for item in fields:
        path = prefix + item.name
        if item.name:
            flat[path] = (item.offset_bits, item.bitfield_width)
        if item.members:
            flat.update(_header_members(item.members, f"{path}." if item.name else prefix))
    return flat


def _describe_member(path: str, where: tuple[int | None, int | None]) -> str:
    offset, width = where
    if offset is None:
        return f"{path} at an unknown offset"
    if width is not None:
        return f"{path} at bit {offset} ({width} bits)"
    if offset % 8:
        return f"{path} at bit {offset}"
    return f"{path} at byte {offset // 8}"


def _compare(label: str, record: Record, layout: Layout) -> list[str]:
    name = (
        record.name
        if not record.aliases or record.aliases[0] == record.name
        else f"{record.name} ({record.aliases[0]})"
    )
    warnings = []
    if layout.size is not None and layout.size != record.size:
        warnings.append(
            f"DWARF of {label}: {name} is {layout.size} bytes, the headers say {record.size} "
            "(a build configured differently from its headers, e.g. Py_TRACE_REFS)"
        )
    header = _header_members(record.fields)
    built: Members = {path: (offset, width) for path, offset, width in layout.members}
    differences = []
    for path in sorted(set(header) | set(built)):
        if path not in built:
            differences.append(f"{_describe_member(path, header[path])} is not in the library")
        elif path not in header:
            differences.append(f"{_describe_member(path, built[path])} is not in the headers")
        elif header[path] != built[path]:
            library, headers = _describe_member(path, built[path]), _describe_member(path, header[path])
            differences.append(f"{library} in the library, {headers} in the headers")
    if differences:
        shown = "; ".join(differences[:_MAX_DIFFERENCES])
        more = len(differences) - _MAX_DIFFERENCES
        warnings.append(
            f"DWARF of {label}: the members of {name} differ from the headers: {shown}"
            + (f" (and {more} more)" if more > 0 else "")
        )
    return warnings
