"""``abidiff ext --source PATH...``: is an extension affected by the ABI breaks between two
builds?  Its own C/C++ sources are parsed against OLD's headers (:mod:`abidiff.headers.uses`,
one parse per translation unit, in the parse pool) and every place that uses a broken entity
is found: a call of a changed or removed function, a changed macro constant or data, a member
access to a moved or changed field, ``sizeof`` of a resized record, a struct that embeds one
by value (``PyObject_HEAD``), a variable of a changed record type, and a use of a static
inline function or macro of the headers that reaches a break (the comparison's
``reached_through``, :mod:`abidiff.diff.reach`).

What is broken comes from a comparison report (of ``--between OLD NEW``, or a JSON report
given with ``--report``), as :func:`source_breaks` makes it: its
findings of ABI rules that are breaks or warnings (a change to a private API breaks an
extension that uses it just the same), and the records whose size changed (``resized``).  Pure but for
:func:`read_sources`: values in, :class:`~abidiff.changes.Change` values (rule ABI817) out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from abidiff import interrupts
from abidiff.changes import Change, ChangeKind, EntityKind, Place
from abidiff.headers.uses import RecordInfo, UnitUses, Use, UseJob, UseKind
from abidiff.rules import RULE_BY_ID, Finding, Profile, Report, Severity
from abidiff.rules.reports import SourceAudit
from abidiff.sourcetree import SourceTree, include_dirs, language


@dataclass(frozen=True, slots=True, kw_only=True)
class Headers:
    """OLD's headers, to parse the sources against when no compile_commands.json says how."""

    include_dir: str
    config_dirs: tuple[str, ...] = ()


def _jobs(tree: SourceTree, headers: Headers | None, system_dirs: tuple[str, ...]) -> list[UseJob]:
    own = include_dirs(tree)
    jobs = []
    for unit in tree.units:
        args: list[str] = [*language(unit.file), "-ferror-limit=20", "-Wno-everything", "-fno-color-diagnostics"]
        python_dirs: list[str] = []
        if unit.flags is not None:
            args += unit.flags
            python_dirs += [
                value
                for flag, value in zip(unit.flags, unit.flags[1:], strict=False)
                if flag in ("-I", "-isystem") and os.path.isfile(os.path.join(value, "Python.h"))
            ]
        if headers is not None and unit.flags is None:
            python_dirs += [headers.include_dir, *headers.config_dirs]
            for directory in (*headers.config_dirs, headers.include_dir):
                args += ["-I", directory]
        if unit.flags is None:
            args += ["-I", os.path.dirname(os.path.abspath(unit.file))]
            for directory in own:
                args += ["-I", directory]
            if tree.limited_api is not None:
                args.append(f"-DPy_LIMITED_API={tree.limited_api}")
        for directory in system_dirs:
            args += ["-isystem", directory]
        python = tuple(dict.fromkeys(python_dirs))
        jobs.append(UseJob(file=unit.file, args=tuple(args), own_roots=tree.roots, python_dirs=python))
    return jobs


def read_sources(tree: SourceTree, headers: Headers | None) -> tuple[list[UnitUses], SourceAudit]:
    """Parse every unit of ``tree`` (in the parse pool when there are several) against
    ``headers`` (or its compile_commands.json flags)."""
    from abidiff.headers.pool import jobs as workers
    from abidiff.headers.pool import pool
    from abidiff.headers.toolchain import host_toolchain
    from abidiff.headers.uses import read_uses

    jobs = _jobs(tree, headers, host_toolchain().system_include_dirs)
    count = min(workers(), len(jobs))
    if count <= 1:
        results = [read_uses(job) for job in jobs]
    else:
        with pool(count) as executor:
            results = interrupts.gather(executor, read_uses, jobs)
    shown = [relative(result.file, tree.shown or tree.roots) for result in results]
    errors = tuple(f"{name}: {result.errors[0]}" for name, result in zip(shown, results, strict=True) if result.errors)
    if tree.from_compile_commands:
        flags = "compile_commands.json"
    else:
        flags = f"the headers of {headers.include_dir}" if headers is not None else "the system's include path"
    audit = SourceAudit(
        files=tuple(sorted(shown)),
        flags=flags,
        limited_api=tree.limited_api,
        limited_from=tree.limited_from,
        errors=errors,
    )
    return results, audit


Roots = Sequence[str | tuple[str, str]]  # a root, or a root with the way the user named it


def relative(path: str, roots: Roots) -> str:
    """A file of the extension as the user named it: its path under the root that holds it,
    after the name the user gave that root (``src/x.c`` for ``--source src/``)."""
    real = os.path.realpath(path)
    named = [(root, "") if isinstance(root, str) else root for root in roots]
    for root, shown in sorted(named, key=lambda item: len(item[0]), reverse=True):
        if real.startswith(root.rstrip(os.sep) + os.sep):
            rest = real[len(root.rstrip(os.sep)) + 1 :]
            return os.path.join(shown, rest).replace(os.sep, "/") if shown else rest.replace(os.sep, "/")
    return os.path.basename(path)


# -- what is broken -----------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Broken:
    """The entities a comparison says changed for code compiled against OLD, by how code
    reaches them: names (functions, data, macros), fields by (record, path), records laid
    out anew or resized, and the helpers that reach a change (made by :func:`source_breaks`)."""

    names: dict[str, list[Finding]] = field(default_factory=dict)
    fields: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)
    layout: dict[str, list[Finding]] = field(default_factory=dict)
    resized: dict[str, list[Finding]] = field(default_factory=dict)
    helpers: dict[str, list[Finding]] = field(default_factory=dict)


_LAYOUT_RULES = frozenset({"ABI101", "ABI102", "ABI103", "ABI105", "ABI106", "ABI107", "ABI109"})


def source_breaks(report: Report) -> Broken:
    """What breaks code compiled against OLD: the findings of ABI rules (and those that break
    importers) that are breaks or warnings, by how code reaches them."""
    found = Broken()
    for item in report.changes:
        rule = RULE_BY_ID[item.rule]
        if item.severity not in (Severity.BREAK, Severity.WARNING):
            continue
        if not (rule.profile == Profile.ABI or rule.breaks_importers):
            continue
        for helper in item.reached_through:
            found.helpers.setdefault(helper, []).append(item)
        if item.rule in _LAYOUT_RULES:
            record, _, path = item.entity.partition(".")
            found.layout.setdefault(record, []).append(item)
            if item.resized:
                found.resized.setdefault(record, []).append(item)
            for moved in (path, *item.shifted):
                if moved:
                    found.fields.setdefault((record, moved), []).append(item)
        elif str(item.entity_kind) in ("function", "data", "macro", "symbol", "enumerator"):
            found.names.setdefault(item.entity, []).append(item)
    return found


# -- matching -----------------------------------------------------------------------------


class _Records:
    """The header records the sources use, by C name, with their names and what they embed."""

    def __init__(self, units: Iterable[UnitUses]) -> None:
        self.info: dict[str, RecordInfo] = {}
        for unit in units:
            for record in unit.records:
                self.info.setdefault(record.name, record)

    def names(self, record: str) -> tuple[str, ...]:
        info = self.info.get(record)
        return (record, *(info.aliases if info else ()))

    def embedded(self, record: str) -> list[tuple[str, int]]:
        """Records held by value in ``record``, transitively, at their offsets in it."""
        out: list[tuple[str, int]] = []
        todo = [(record, 0)]
        seen = {record}
        while todo:
            name, base = todo.pop()
            info = self.info.get(name)
            for inner, offset in info.embeds if info else ():
                out.append((inner, base + offset))
                if inner not in seen:
                    seen.add(inner)
                    todo.append((inner, base + offset))
        return out


def _lookup(table: dict[str, list[Finding]], names: Iterable[str]) -> list[Finding]:
    return [item for name in names for item in table.get(name, ())]


def _causes(use: Use, found: Broken, records: _Records) -> list[tuple[Finding, str | None]]:
    """The findings a use reaches, each with the helper it goes through."""
    out: list[tuple[Finding, str | None]] = []
    if use.kind == UseKind.NAME:
        out += [(item, use.via if use.via != use.name else None) for item in found.names.get(use.name, ())]
        out += [(item, use.via or use.name) for item in found.helpers.get(use.name, ())]
        return out
    names = records.names(use.name)
    if use.kind == UseKind.FIELD and use.field is not None:
        path = use.field
        for name in names:
            for (record, moved), items in found.fields.items():
                if record == name and (path == moved or path.startswith(moved + ".") or moved.startswith(path + ".")):
                    out += [(item, use.via) for item in items]
        if use.offset_bits is not None:  # a field after a record the record embeds that grew
            for inner, offset in records.embedded(use.name):
                if offset < use.offset_bits:
                    out += [(item, use.via) for item in _lookup(found.resized, records.names(inner))]
        return out
    inner_names = [name for inner, _offset in records.embedded(use.name) for name in records.names(inner)]
    if use.kind == UseKind.VALUE:  # an initializer follows every field of the layout
        out += [(item, use.via) for item in _lookup(found.layout, names)]
        out += [(item, use.via) for item in _lookup(found.layout, inner_names)]
    else:  # SIZE, EMBED: the size
        out += [(item, use.via) for item in _lookup(found.resized, names)]
        out += [(item, use.via) for item in _lookup(found.resized, inner_names)]
    return out


def source_changes(units: Sequence[UnitUses], found: Broken, roots: Roots) -> list[Change]:
    """ABI817: one change per broken entity the sources use, with every place."""
    records = _Records(units)
    places: dict[tuple[str, str], set[Place]] = {}
    causes: dict[tuple[str, str], Finding] = {}
    for unit in units:
        for use in unit.uses:
            for item, via in _causes(use, found, records):
                key = (item.entity, item.rule)
                causes.setdefault(key, item)
                place = Place(file=relative(use.file, roots), line=use.line, column=use.column, via=via)
                places.setdefault(key, set()).add(place)
    changes = []
    for key in sorted(places):
        item = causes[key]
        changes.append(
            Change(
                kind=ChangeKind.EXT_SOURCE_USES,
                entity=item.entity,
                entity_kind=EntityKind(str(item.entity_kind)),
                tier=item.tier,
                facts=(("cause", item.message), ("cause_rule", item.rule)),
                reached_through=item.reached_through,
                places=tuple(sorted(places[key], key=lambda p: (p.file, p.line, p.column, p.via or ""))),
                header=item.header,
                line=item.line,
            )
        )
    return changes


def origin_spec(origin: str) -> str | None:
    """The build spec in a report's ``origin`` (``interpreter /usr/bin/python3.12 (3.12.1)``,
    ``prefix /opt/py``, ``headers /usr/include/python3.12``), or None (a git ref, a snapshot)."""
    kind, _, rest = origin.partition(" ")
    if kind == "interpreter":
        return rest.rsplit(" (", 1)[0] or None
    if kind in ("prefix", "headers"):
        return rest or None
    return None
