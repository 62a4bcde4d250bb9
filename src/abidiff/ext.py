"""``abidiff ext EXT_OR_WHEEL``: which CPython symbols an extension module imports, and what
that means for its abi3 tag, for one build (``--against``), and for the breaks between two
(``--between OLD NEW``).

The stable-ABI truth is the manifest shipped with abidiff (:mod:`abidiff.data`), or, with
``--against B``, B's snapshot: its limited declarations (``limited_since``) and its exports.
Only imports are seen: what an extension reads of a struct through macros or static inline
functions is compiled into it and invisible here (the report says so).

Pure: files and snapshots in, :class:`~abidiff.changes.Change` values out (rules
``ABI811``-``ABI816`` of the one catalogue, :mod:`abidiff.rules`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.diff.common import exported_names, tier_of_name
from abidiff.errors import InputError, UsageError
from abidiff.model import BinaryFormat, ManifestEntry, Snapshot, Tier, version_key

if TYPE_CHECKING:
    from abidiff.binaries import ImportTable

_PYTHON_DLL = re.compile(r"^python3(\d*)(_d)?\.dll$", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class StableTruth:
    """Stable ABI functions and data by name (as manifest entries, also when they come from
    a build's limited API), and where that comes from."""

    source: str
    symbols: Mapping[str, ManifestEntry]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedSymbol:
    """One CPython symbol an extension imports; ``stable_since`` is None outside the stable
    ABI; ``library`` is the DLL it comes from (PE only)."""

    name: str
    stable_since: str | None
    abi_only: bool
    library: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtensionResult:
    """One extension module (a file, or a member of a wheel)."""

    path: str
    format: str
    arches: tuple[str, ...]
    abi3: bool
    abi3_version: str | None
    requires: str | None  # the lowest stable ABI version that holds all its stable imports
    imports: tuple[ImportedSymbol, ...]
    other_imports: int  # imports that are not CPython's (libc, KERNEL32.dll, ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class WheelTags:
    filename: str
    filename_tags: tuple[str, ...]
    metadata_tags: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Examined:
    """What the input is: the wheel's tags (None for a bare module), each module, the changes;
    ``not_modules``: the binaries that are no extension module (a library a wheel bundles),
    left unaudited, each with why."""

    wheel: WheelTags | None
    extensions: tuple[ExtensionResult, ...]
    changes: tuple[Change, ...]
    not_modules: tuple[tuple[str, str], ...] = ()


# -- the stable-ABI truth -----------------------------------------------------------------


def shipped_truth() -> StableTruth:
    from abidiff.data import stable_abi

    data = stable_abi()
    symbols = {entry.name: entry for entry in data.entries if entry.kind in ("function", "data")}
    return StableTruth(source=f"abidiff's copy of {data.source}", symbols=symbols)


def snapshot_truth(snapshot: Snapshot) -> StableTruth:
    """A build's stable ABI: its limited functions and data (not static inline) that it
    exports, and its manifest's functions and data when it carries one."""
    exports = exported_names(snapshot) if snapshot.binaries else None
    symbols: dict[str, ManifestEntry] = {}
    linked = [("function", f.name, f.limited_since) for f in snapshot.functions if not f.inline]
    linked += [("data", v.name, v.limited_since) for v in snapshot.variables]
    for kind, name, since in linked:
        if since is not None and (exports is None or name in exports):
            symbols[name] = ManifestEntry(kind=kind, name=name, added=since)
    for entry in snapshot.manifest:
        if entry.kind in ("function", "data") and entry.added:
            symbols[entry.name] = entry
    return StableTruth(source=f"the limited API and exports of {snapshot.build.origin}", symbols=symbols)


# -- reading an extension -----------------------------------------------------------------


def _is_python_name(name: str, truth: StableTruth) -> bool:
    return name in truth.symbols or (name.startswith(("Py", "_Py")) and not name.startswith("PyInit_"))


def python_imports(path: str, truth: StableTruth) -> tuple[tuple[tuple[str, str | None], ...], int, ImportTable]:
    """((name, DLL or None) of each CPython import, count of other imports, the import table).

    PE: the names imported from ``python3.dll`` / ``python3X.dll``.  ELF and Mach-O bind
    undefined symbols at load time from whatever provides them, so a CPython import is a
    name of the stable ABI or one that starts with ``Py``/``_Py`` (``PyInit_*`` excepted),
    as abi3audit decides.
    """
    from abidiff.binaries import read_import_table

    table = read_import_table(path)
    ours: list[tuple[str, str | None]]
    if table.binaries and table.binaries[0].format == BinaryFormat.PE:
        ours = [(name, library) for library, names in table.by_library if _PYTHON_DLL.match(library) for name in names]
        return tuple(sorted(ours)), len(table.names) - len({name for name, _ in ours}), table
    ours = [(name, None) for name in table.names if _is_python_name(name, truth)]
    return tuple(ours), len(table.names) - len(ours), table


def _tier(name: str, truth: StableTruth) -> Tier:
    return Tier.LIMITED if name in truth.symbols else tier_of_name(name)


def _file_abi3(path: str, fmt: BinaryFormat, imports: tuple[tuple[str, str | None], ...]) -> bool:
    """abi3 by the file alone: ``*.abi3.so``, or a PE file importing only from python3.dll."""
    if ".abi3." in os.path.basename(path):
        return True
    libraries = {library.lower() for _name, library in imports if library}
    return fmt == BinaryFormat.PE and libraries == {"python3.dll"}


def _symbol_change(
    kind: ChangeKind,
    name: str,
    module: str,
    tier: Tier,
    *,
    old: str | None = None,
    new: str | None = None,
    **facts: object,
) -> Change:
    return Change(
        kind=kind,
        entity=name,
        entity_kind=EntityKind.SYMBOL,
        tier=tier,
        old=old,
        new=new,
        facts=tuple(sorted(facts.items())),
        impacts=(module,),
    )


# what an extension module exports for the interpreter to load it (PEP 489; PEP 793's new hook)
_MODULE_HOOKS = ("PyInit_", "PyModExport_")


def _is_module(table: ImportTable, imports: tuple[tuple[str, str | None], ...]) -> bool:
    """Whether a binary is an extension module: it exports a module hook, or it imports
    CPython (a library that does is reached by the breaks as a module is)."""
    hooks = (symbol.name for binary in table.binaries for symbol in binary.symbols)
    return bool(imports) or any(name.startswith(_MODULE_HOOKS) for name in hooks)


def examine(
    path: str, shown_as: str, truth: StableTruth, *, abi3: bool | None, abi3_version: str | None
) -> tuple[ExtensionResult, list[Change]] | str:
    """The result and the abi3 changes of one extension module; or why the binary is none (it
    exports no module hook and imports nothing of CPython, or it is not linked yet)."""
    from abidiff.binaries import file_head, is_object_file

    if is_object_file(file_head(path, 20)):
        return "an object file the linker has not linked"  # a wheel that ships a compiler's .o
    imports, others, table = python_imports(path, truth)
    if not _is_module(table, imports):
        return "no PyInit_ export, no CPython import"
    fmt = table.binaries[0].format
    is_abi3 = abi3 if abi3 is not None else _file_abi3(shown_as, fmt, imports)
    symbols = tuple(
        ImportedSymbol(
            name=name,
            stable_since=truth.symbols[name].added if name in truth.symbols else None,
            abi_only=name in truth.symbols and truth.symbols[name].abi_only,
            library=library,
        )
        for name, library in imports
    )
    stable = [symbol.stable_since for symbol in symbols if symbol.stable_since]
    result = ExtensionResult(
        path=shown_as,
        format=str(fmt),
        arches=tuple(sorted({binary.arch for binary in table.binaries})),
        abi3=is_abi3,
        abi3_version=abi3_version if is_abi3 else None,
        requires=max(stable, key=version_key) if stable else None,
        imports=symbols,
        other_imports=others,
    )
    return result, (_abi3_changes(result, truth) if is_abi3 else [])


def _abi3_changes(result: ExtensionResult, truth: StableTruth) -> list[Change]:
    found = []
    for symbol in result.imports:
        tier = _tier(symbol.name, truth)
        if symbol.stable_since is None:
            found.append(_symbol_change(ChangeKind.EXT_NOT_STABLE, symbol.name, result.path, tier, truth=truth.source))
        elif result.abi3_version and version_key(symbol.stable_since) > version_key(result.abi3_version):
            found.append(
                _symbol_change(
                    ChangeKind.EXT_NEWER_THAN_TAG,
                    symbol.name,
                    result.path,
                    Tier.LIMITED,
                    old=result.abi3_version,
                    new=symbol.stable_since,
                )
            )
        if symbol.library and _PYTHON_DLL.match(symbol.library) and symbol.library.lower() != "python3.dll":
            found.append(
                _symbol_change(ChangeKind.EXT_VERSIONED_DLL, symbol.name, result.path, tier, library=symbol.library)
            )
    return found


# -- against builds -----------------------------------------------------------------------


def check_build(results: Iterable[ExtensionResult], snapshot: Snapshot, truth: StableTruth) -> list[Change]:
    """ABI813: imports that ``snapshot``'s binaries do not export."""
    from abidiff.abi3 import exporter_names

    if not snapshot.binaries:
        raise InputError(
            f"{snapshot.build.origin} has no binaries: abidiff cannot tell what it exports",
            hint="give a build with its libpython (an interpreter, a prefix, or --lib FILE)",
        )
    exports, exporters, build = exported_names(snapshot), exporter_names(snapshot), snapshot.build.version
    kind = ChangeKind.EXT_NOT_EXPORTED
    return [
        _symbol_change(kind, symbol.name, result.path, _tier(symbol.name, truth), build=build, exporters=exporters)
        for result in results
        for symbol in result.imports
        if symbol.name not in exports
    ]


def check_between(
    results: Iterable[ExtensionResult],
    breaks: Mapping[str, Sequence[tuple[str, str]]],
    old_version: str,
    new_version: str,
    truth: StableTruth,
) -> list[Change]:
    """ABI814: ``breaks`` (entity name -> (rule id, message) of each change between OLD and
    NEW that breaks binaries importing the entity) that an extension imports."""
    kind, versions = ChangeKind.EXT_BROKEN_BETWEEN, {"old": old_version, "new": new_version}
    return [
        _symbol_change(
            kind, symbol.name, result.path, _tier(symbol.name, truth), **versions, cause_rule=rule, cause=message
        )
        for result in results
        for symbol in result.imports
        for rule, message in breaks.get(symbol.name, ())
    ]


# -- the input ----------------------------------------------------------------------------


def _tag_mismatch(filename_tags: tuple[str, ...], metadata_tags: tuple[str, ...]) -> list[Change]:
    if not metadata_tags or set(filename_tags) == set(metadata_tags):
        return []
    return [
        Change(
            kind=ChangeKind.EXT_TAG_MISMATCH,
            entity="WHEEL",
            entity_kind=EntityKind.BUILD,
            tier=Tier.PUBLIC,
            facts=(("filename_tags", filename_tags), ("metadata_tags", metadata_tags)),
        )
    ]


def input_kinds(paths: Sequence[str]) -> tuple[str, ...]:
    """What each input is by its first bytes, ``"wheel"`` or ``"binary"``; anything else is
    refused here, before any file is examined or any build read: a file that is neither, an
    object file not linked yet, a wheel among several inputs."""
    from abidiff.binaries import file_head, is_binary, is_object_file
    from abidiff.wheel import is_wheel

    kinds = []
    for path in paths:
        head = file_head(path, 20)
        if is_wheel(head):
            if len(paths) > 1:
                raise UsageError(
                    f"{path} is a wheel: give a wheel alone, not with other inputs",
                    hint="run abidiff ext once per wheel; several extension modules may be given together",
                )
            kinds.append("wheel")
        elif is_object_file(head):
            raise InputError(
                f"{path} is an object file the linker has not linked: an extension module is a shared library",
                hint="audit what the build links from it (the module's .so, .pyd or .dylib)",
            )
        elif is_binary(head):
            kinds.append("binary")
        else:
            raise InputError(
                f"{path} is neither a wheel nor an ELF, PE or Mach-O file (it starts with {head[:4].hex()})",
                hint="give an extension module (.so, .pyd, .dylib) or a wheel (.whl)",
            )
    return tuple(kinds)


def _examine_wheel(path: str, truth: StableTruth, abi3: str | None) -> Examined:
    """Every extension module of the wheel ``path`` and their abi3 changes."""
    from abidiff.wheel import open_wheel

    with open_wheel(path) as (info, modules):
        tags = WheelTags(filename=info.filename, filename_tags=info.filename_tags, metadata_tags=info.metadata_tags)
        version = abi3 or info.abi3_version
        seen = {
            module.member: examine(
                module.path, module.member, truth, abi3=info.abi3 or abi3 is not None, abi3_version=version
            )
            for module in modules
        }
    if not seen:
        raise InputError(
            f"{os.path.basename(path)} holds no extension module (no ELF, PE or Mach-O member)",
            hint="a pure-Python wheel has no C ABI to audit",
        )
    if all(isinstance(found, str) for found in seen.values()):
        raise InputError(
            f"{os.path.basename(path)} holds no extension module: no binary in it exports PyInit_ or imports CPython",
            hint="its binaries are libraries it bundles, with no CPython ABI to audit",
        )
    examined = _gathered(seen, tags)
    return replace(examined, changes=(*_tag_mismatch(info.filename_tags, info.metadata_tags), *examined.changes))


def _gathered(seen: Mapping[str, tuple[ExtensionResult, list[Change]] | str], tags: WheelTags | None) -> Examined:
    examined = [found for found in seen.values() if not isinstance(found, str)]
    return Examined(
        wheel=tags,
        extensions=tuple(result for result, _ in examined),
        changes=tuple(change for _, found in examined for change in found),
        not_modules=tuple((name, found) for name, found in seen.items() if isinstance(found, str)),
    )


def examine_inputs(paths: tuple[str, ...], truth: StableTruth, abi3: str | None) -> Examined:
    """Every extension module of ``paths``: several modules, or one wheel (see
    :func:`input_kinds`).  A binary given that is no extension module is left out (the report
    says so); when none is, that is an :class:`~abidiff.errors.InputError`."""
    if input_kinds(paths) == ("wheel",):
        return _examine_wheel(paths[0], truth, abi3)  # refused there when it holds no module
    seen = {path: examine(path, path, truth, abi3=True if abi3 else None, abi3_version=abi3) for path in paths}
    return _some_module(_gathered(seen, None))


def _some_module(examined: Examined) -> Examined:
    """``examined``, when it holds an extension module."""
    if examined.extensions:
        return examined
    names = [name for name, _why in examined.not_modules]
    why = (
        f"{names[0]} is not a CPython extension module: it exports no PyInit_ function and imports nothing of CPython"
        if len(names) == 1
        else f"none of {', '.join(names)} is a CPython extension module: none exports a PyInit_ function or imports "
        "anything of CPython"
    )
    raise InputError(
        why,
        hint="give the extension modules (they export PyInit_<name>); a library they load has no CPython ABI to audit",
    )
