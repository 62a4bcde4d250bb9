"""What kind of binary a file is, from its magic bytes (never from its name)."""

from __future__ import annotations

import struct

from abidiff.binaries._common import open_regular
from abidiff.model import BinaryFormat

ELF_MAGIC = b"\x7fELF"
PE_MAGIC = b"MZ"
MACHO_MAGICS = {
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
}
FAT_MAGICS = {b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf"}  # universal files (big-endian header)

_ET_REL = 1
_ET_EXEC = 2
_MH_OBJECT = 1
_PT_INTERP = 3
_MH_EXECUTE = 2
_IMAGE_FILE_DLL = 0x2000


def sniff(head: bytes) -> BinaryFormat | None:
    """The format whose magic bytes start ``head`` (at least 4 bytes), or None."""
    if head.startswith(ELF_MAGIC):
        return BinaryFormat.ELF
    if head[:4] in MACHO_MAGICS or head[:4] in FAT_MAGICS:
        # 0xcafebabe is also a Java class file: a fat header's count of slices is small
        if head[:4] in FAT_MAGICS and len(head) >= 8 and struct.unpack(">I", head[4:8])[0] > 32:
            return None
        return BinaryFormat.MACHO
    if head.startswith(PE_MAGIC):
        return BinaryFormat.PE
    return None


def is_object_file(head: bytes) -> bool:
    """Whether ``head`` (the first 18 bytes or more) starts an object file the linker has not
    linked yet: ELF ``ET_REL`` or Mach-O ``MH_OBJECT`` (a COFF object has no ``MZ`` magic)."""
    kind = sniff(head)
    if kind == BinaryFormat.ELF and len(head) >= 18:
        return bool(struct.unpack(("<" if head[5] == 1 else ">") + "H", head[16:18])[0] == _ET_REL)
    if kind == BinaryFormat.MACHO and head[:4] in MACHO_MAGICS and len(head) >= 16:
        endian = "<" if head[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else ">"
        return bool(struct.unpack(endian + "I", head[12:16])[0] == _MH_OBJECT)
    return False


def sniff_file(path: str) -> BinaryFormat | None:
    """The format of the regular file ``path``, or None (also for a FIFO, a device, a
    directory, a missing file: opened without blocking, never read past 8 bytes)."""
    handle = open_regular(path)
    if handle is None:
        return None
    try:
        with handle:
            return sniff(handle.read(8))
    except OSError:
        return None


def is_program(path: str) -> bool:
    """True for an executable program (an interpreter), False for a library or anything else.

    ELF: ``ET_EXEC``, or ``ET_DYN`` with a ``PT_INTERP`` segment (a PIE); Mach-O:
    ``MH_EXECUTE``; PE: no ``IMAGE_FILE_DLL`` flag.  Reads only the headers it needs, and
    answers False for anything it cannot read or that is not a regular file.
    """
    opened = open_regular(path)
    if opened is None:
        return False
    try:
        with opened as handle:
            head = handle.read(64)
            kind = sniff(head)
            if kind == BinaryFormat.ELF and len(head) >= 64:
                bits64 = head[4] == 2
                endian = "<" if head[5] == 1 else ">"
                (e_type,) = struct.unpack(endian + "H", head[16:18])
                if e_type == _ET_EXEC:
                    return True
                if bits64:
                    (phoff,) = struct.unpack(endian + "Q", head[32:40])
                    phentsize, phnum = struct.unpack(endian + "HH", head[54:58])
                else:
                    (phoff,) = struct.unpack(endian + "I", head[28:32])
                    phentsize, phnum = struct.unpack(endian + "HH", head[42:46])
                for number in range(min(phnum, 256)):
                    handle.seek(phoff + number * phentsize)
                    raw = handle.read(4)
                    if len(raw) < 4:
                        return False
                    if struct.unpack(endian + "I", raw)[0] == _PT_INTERP:
                        return True
                return False
            if kind == BinaryFormat.MACHO and head[:4] in MACHO_MAGICS:
                endian = "<" if head[:4] in (b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe") else ">"
                (filetype,) = struct.unpack(endian + "I", head[12:16])
                return bool(filetype == _MH_EXECUTE)
            if kind == BinaryFormat.PE and len(head) >= 64:
                (pe_offset,) = struct.unpack("<I", head[60:64])
                handle.seek(pe_offset)
                header = handle.read(24)
                if len(header) < 24 or header[:4] != b"PE\0\0":
                    return False
                (characteristics,) = struct.unpack("<H", header[22:24])
                return not characteristics & _IMAGE_FILE_DLL
    except (OSError, struct.error):
        return False
    return False
