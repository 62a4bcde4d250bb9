"""Reading wheels safely: tags from the file name and ``WHEEL``, extension modules out of the zip.

A wheel is untrusted input.  Before anything is decompressed, every member is checked:
absolute paths, ``..`` components, drive letters and NUL bytes, symbolic links (the Unix mode
in the external attributes), encrypted members, more than :data:`Limits.members` members, a
declared size over the per-file or the total limit, and a compression ratio above
:data:`Limits.ratio` (a zip bomb) are refused with an :class:`~abidiff.errors.InputError`.
While decompressing, the bytes actually produced are counted too (a header can lie).
Extension modules (members whose first bytes are ELF, PE or Mach-O magic) are written to a
private temporary directory under names chosen here, never under the member's own path, and
the directory is removed when the caller is done.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from email.parser import HeaderParser

from abidiff.binaries.detect import sniff
from abidiff.errors import InputError

ZIP_MAGIC = b"PK\x03\x04"
_HINT = "this wheel is unsafe to open: get it again from a trusted source"
_CHUNK = 1 << 16
# name-version(-build)?-python-abi-platform.whl (PEP 427; names have no '-')
_FILENAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<python>[^-]+)-(?P<abi>[^-]+)-(?P<platform>[^-]+)\.whl$"
)
_CP_TAG = re.compile(r"^cp3(\d+)$")
# one expanded tag of a WHEEL file's Tag line: python-abi-platform, no part empty
_WHEEL_TAG = re.compile(r"^[^-\s]+-[^-\s]+-[^-\s]+$")
_MAX_MINOR_DIGITS = 4  # cp39, cp313, ... cp39999: anything longer is not a CPython version
_WHEEL_FILE_BYTES = 1 << 20  # a WHEEL file is a few lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What a wheel may hold before abidiff refuses it."""

    members: int = 100_000
    file_bytes: int = 512 * 1024 * 1024
    total_bytes: int = 2 * 1024 * 1024 * 1024
    ratio: int = 200  # uncompressed / compressed, checked for members over ratio_floor bytes
    ratio_floor: int = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelInfo:
    """A wheel's tags: from its file name, and the ``Tag:`` lines of its ``WHEEL`` file."""

    filename: str
    filename_tags: tuple[str, ...]
    metadata_tags: tuple[str, ...]
    abi3: bool
    abi3_version: str | None  # the lowest cp3X of the abi3 tags: "3.9"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtractedModule:
    """An extension module of a wheel: its member name, and where it was written."""

    member: str
    path: str


def is_wheel(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def expand_tags(python: str, abi: str, platform: str) -> tuple[str, ...]:
    """The tags of a compressed tag set (``cp39.cp310-abi3-manylinux_x86_64``)."""
    return tuple(
        sorted(f"{p}-{a}-{plat}" for p in python.split(".") for a in abi.split(".") for plat in platform.split("."))
    )


def filename_tags(filename: str) -> tuple[str, ...]:
    match = _FILENAME.match(os.path.basename(filename))
    if match is None:
        raise InputError(
            f"{os.path.basename(filename)} is not a wheel file name (name-version-python-abi-platform.whl)",
            hint="keep the file name a wheel was published under: its tags are in it",
        )
    return expand_tags(match["python"], match["abi"], match["platform"])


def abi3_version(tags: tuple[str, ...]) -> str | None:
    """The lowest ``3.X`` of the ``cp3X-abi3-*`` tags (each ``python-abi-platform``), or
    None when no tag is abi3."""
    versions = []
    for tag in tags:
        python, abi, _platform = tag.split("-", 2)
        match = _CP_TAG.match(python)
        if abi != "abi3" or not match:
            continue
        if len(match.group(1)) > _MAX_MINOR_DIGITS:
            raise InputError(
                f"the wheel tag {_shorten(tag)} names no CPython version (cp3 and {len(match.group(1))} digits)",
                hint="an abi3 wheel is tagged cp3X-abi3-PLATFORM, X the oldest Python 3 minor version it supports",
            )
        versions.append(int(match.group(1)))
    return f"3.{min(versions)}" if versions else None


def _shorten(text: str, limit: int = 60) -> str:
    """``text`` quoted, cut to ``limit`` characters with an ellipsis (a hostile tag can be long)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _unsafe_name(name: str) -> str | None:
    """Why a member name is unsafe, or None."""
    if "\x00" in name:
        return "has a NUL byte in its name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "has an absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "has a '..' component"
    return None


def check_members(archive: zipfile.ZipFile, source: str, limits: Limits) -> None:
    """Refuse the wheel when any member is unsafe (see the module docstring)."""
    members = archive.infolist()
    if len(members) > limits.members:
        raise InputError(f"{source} holds {len(members)} members (limit {limits.members})", hint=_HINT)
    total = 0
    for info in members:
        why = _unsafe_name(info.filename)
        if why is None and stat.S_ISLNK(info.external_attr >> 16):
            why = "is a symbolic link"
        if why is None and info.flag_bits & 0x1:
            why = "is encrypted"
        if why is None and info.file_size > limits.file_bytes:
            why = f"would decompress to {info.file_size} bytes (limit {limits.file_bytes} per file)"
        if (
            why is None
            and info.file_size > limits.ratio_floor
            and info.file_size > limits.ratio * max(info.compress_size, 1)
        ):
            why = f"has a compression ratio over {limits.ratio}:1 ({info.compress_size} -> {info.file_size} bytes)"
        if why is not None:
            raise InputError(f"{source}: member {info.filename!r} {why}", hint=_HINT)
        total += info.file_size
        if total > limits.total_bytes:
            raise InputError(f"{source} would decompress to more than {limits.total_bytes} bytes in all", hint=_HINT)


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str, limits: Limits
) -> Generator[bytes, None, None]:
    """The member's bytes in chunks, stopped with InputError when it produces more than it
    declared (a lying header) or than the per-file limit."""
    produced = 0
    allowed = min(info.file_size, limits.file_bytes)
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                produced += len(chunk)
                if produced > allowed:
                    raise InputError(
                        f"{source}: member {info.filename!r} decompresses to more than the {allowed} bytes it declares",
                        hint=_HINT,
                    )
                yield chunk
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # zlib.error is an Exception too
        raise InputError(f"{source}: member {info.filename!r} cannot be read: {exc}", hint=_HINT) from exc


def _wheel_file(archive: zipfile.ZipFile, source: str, limits: Limits) -> tuple[str, ...]:
    """The ``Tag:`` lines of ``*.dist-info/WHEEL`` (sorted), or () when there is none."""
    candidates = [
        info
        for info in archive.infolist()
        if re.match(r"^[^/]+\.dist-info/WHEEL$", info.filename) and not info.is_dir()
    ]
    if not candidates:
        return ()
    info = candidates[0]
    if info.file_size > _WHEEL_FILE_BYTES:
        raise InputError(
            f"{source}: {info.filename} is {info.file_size} bytes, over the limit of {_WHEEL_FILE_BYTES}"
            " (a WHEEL file is a few lines)",
            hint=_HINT,
        )
    raw = b"".join(_read_member(archive, info, source, limits))
    message = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
    tags = tuple(sorted(str(tag).strip() for tag in message.get_all("Tag") or ()))
    for tag in tags:
        if not _WHEEL_TAG.match(tag):
            parts = tag.split("-") if tag else []
            why = f"{len(parts)} part{'s' * (len(parts) != 1)}" if len(parts) != 3 else "an empty part or a space"
            raise InputError(
                f"{source}: the Tag line {_shorten(tag)} of {info.filename} is not python-abi-platform (it has {why})",
                hint="a WHEEL file lists one tag per Tag line, e.g. 'Tag: cp39-abi3-manylinux2014_x86_64'"
                " (PEP 427): rebuild the wheel",
            )
    return tags


def _open(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(f"{path} is not a readable wheel (zip) file: {exc}", hint="download it again") from exc


@contextlib.contextmanager
def open_wheel(path: str, *, limits: Limits | None = None) -> Iterator[tuple[WheelInfo, tuple[ExtractedModule, ...]]]:
    """The wheel's tags and its extension modules, extracted to a private temporary
    directory that is removed on exit."""
    limits = limits or Limits()
    source = os.path.basename(path)
    tags = filename_tags(path)
    with _open(path) as archive:
        check_members(archive, source, limits)
        metadata = _wheel_file(archive, source, limits)
        scratch = tempfile.mkdtemp(prefix="abidiff-wheel-")  # mode 0o700
        try:
            modules = _extract_modules(archive, source, limits, scratch)
            version = abi3_version(metadata or tags)
            info = WheelInfo(
                filename=source,
                filename_tags=tags,
                metadata_tags=metadata,
                abi3=version is not None,
                abi3_version=version,
            )
            yield info, modules
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _extract_modules(
    archive: zipfile.ZipFile, source: str, limits: Limits, scratch: str
) -> tuple[ExtractedModule, ...]:
    modules = []
    for number, info in enumerate(sorted(archive.infolist(), key=lambda item: item.filename)):
        if info.is_dir() or ".dist-info/" in info.filename or info.file_size < 8:
            continue
        chunks = _read_member(archive, info, source, limits)
        first = next(chunks, b"")
        if sniff(first[:8]) is None:
            chunks.close()
            continue
        target = os.path.join(scratch, f"{number:05d}.bin")  # our name, never the member's path
        with open(target, "xb") as handle:
            handle.write(first)
            for chunk in chunks:
                handle.write(chunk)
        modules.append(ExtractedModule(member=info.filename, path=target))
    return tuple(modules)
