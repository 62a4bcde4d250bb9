"""Which static inline functions and macros of the headers reach a layout change.

An extension compiled against the headers holds what their static inline functions and
macros read (:class:`~abidiff.model.Reach`, from :mod:`abidiff.headers.reach`): an insertion
before ``PyObject.ob_type`` breaks every extension that uses ``Py_TYPE``, though none imports
anything new.  For each layout change of a comparison this module names the helpers of
either build (OLD's, which extensions built against OLD hold, and NEW's) that read or write
a changed or moved field, or take the size of a resized record or of a record that embeds
it by value (``PyObject_HEAD``), directly or through other helpers (transitively).

Pure: snapshots and changes in, names out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.diff.common import flatten, value_type
from abidiff.model import Record, Snapshot

# the changes whose entity's layout moved for code compiled against OLD
LAYOUT_KINDS = frozenset(
    {
        ChangeKind.RECORD_SIZE_CHANGED,
        ChangeKind.FIELD_REMOVED,
        ChangeKind.FIELD_ADDED,
        ChangeKind.FIELD_TYPE_CHANGED,
        ChangeKind.FIELD_OFFSET_CHANGED,
        ChangeKind.BITFIELD_WIDTH_CHANGED,
        ChangeKind.RECORD_BECAME_OPAQUE,
    }
)
# the changes of a function, data or macro that code compiled against OLD holds: reached
# through the helpers that call, name or expand it
NAME_KINDS = frozenset(
    {
        ChangeKind.FUNCTION_REMOVED,
        ChangeKind.FUNCTION_RETURN_CHANGED,
        ChangeKind.FUNCTION_PARAM_TYPE_CHANGED,
        ChangeKind.FUNCTION_PARAM_COUNT_CHANGED,
        ChangeKind.FUNCTION_VARIADIC_CHANGED,
        ChangeKind.FUNCTION_INLINED_UNEXPORTED,
        ChangeKind.VARIABLE_TYPE_CHANGED,
        ChangeKind.VARIABLE_REMOVED,
        ChangeKind.MACRO_VALUE_CHANGED,
        ChangeKind.EXPORT_REMOVED,
        ChangeKind.EXPORT_SIZE_CHANGED,
    }
)
RESIZED_FACT = "resized"  # a Change fact: the record of a layout change changed size


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What a layout change moves, in one build's names: fields by (record C name, access
    path), and the records whose size (or embedded layout) changed."""

    fields: frozenset[tuple[str, str]] = frozenset()
    sizes: frozenset[str] = frozenset()

    def __or__(self, other: Target) -> Target:
        return Target(fields=self.fields | other.fields, sizes=self.sizes | other.sizes)

    @property
    def members(self) -> frozenset[str]:
        """The last part of each field's path: what a macro read from its tokens names."""
        return frozenset(path.rsplit(".", 1)[-1] for _record, path in self.fields)


class Graph:
    """The helpers of one snapshot by name (a macro and a static inline function of the same
    name, as ``Py_INCREF`` is both, are one), with who uses whom."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._records = {record.display_name: record for record in snapshot.records}
        self._records.update((record.name, record) for record in snapshot.records)
        self._embedded: dict[str, Target] = {}
        self.fields: dict[str, set[tuple[str, str]]] = {}
        self.members: dict[str, set[str]] = {}  # members a macro's tokens name (record unknown)
        self.sizes: dict[str, set[str]] = {}
        self.users: dict[str, set[str]] = {}
        # the same, indexed by what is touched, for direct(): who reads a field of a record
        # (by record), who takes a size (by record), who names a member (by member)
        self._by_record: dict[str, list[tuple[str, str]]] = {}
        self._by_size: dict[str, set[str]] = {}
        self._by_member: dict[str, set[str]] = {}
        for item in snapshot.reach:
            fields = self.fields.setdefault(item.name, set())
            for ref in item.fields:
                if ref.record:
                    fields.add((ref.record, ref.field))
                else:
                    self.members.setdefault(item.name, set()).add(ref.field)
            self.sizes.setdefault(item.name, set()).update(item.sizes)
            for used in item.uses:
                if used != item.name:
                    self.users.setdefault(used, set()).add(item.name)
        for name, fields in self.fields.items():
            for record, path in fields:
                self._by_record.setdefault(record, []).append((name, path))
        for name, sizes in self.sizes.items():
            for record in sizes:
                self._by_size.setdefault(record, set()).add(name)
        for name, members in self.members.items():
            for member in members:
                self._by_member.setdefault(member, set()).add(name)

    def record(self, display: str) -> Record | None:
        return self._records.get(display)

    def embedders(self, name: str) -> Target:
        if name not in self._embedded:
            self._embedded[name] = _embedders(self.snapshot, name)
        return self._embedded[name]

    def direct(self, target: Target) -> set[str]:
        """The helpers that touch ``target`` themselves: read or write a field of it, a field
        inside one (``state`` moved: ``state.kind`` with it) or one holding it (reading
        ``state`` whole), take the size of one of its records, or name one of its members
        in a macro's tokens."""
        found: set[str] = set()
        for record, moved in target.fields:
            for name, path in self._by_record.get(record, ()):
                if path == moved or path.startswith(moved + ".") or moved.startswith(path + "."):
                    found.add(name)
        for record in target.sizes:
            found |= self._by_size.get(record, set())
        for member in target.members:
            found |= self._by_member.get(member, set())
        return found

    def reached(self, start: Iterable[str], known: Iterable[str] = ()) -> dict[str, int]:
        """Every helper that uses one of ``start`` (helpers, or other names such as an
        exported function: ``known``), directly or through others: name -> distance."""
        depth = {name: 0 for name in start}
        todo = list(depth) + [name for name in known if name not in depth]
        level = {name: depth.get(name, 0) for name in todo}
        while todo:
            name = todo.pop(0)
            for user in sorted(self.users.get(name, ())):
                if user not in level:
                    level[user] = level[name] + 1
                    depth[user] = level[user]
                    todo.append(user)
        return depth


def _embedders(snapshot: Snapshot, name: str) -> Target:
    """The fields that move, and the records whose size changes, when record ``name``
    (held by value in others, transitively) changes size: in each record that embeds it,
    the fields after the embedded member."""
    sizes = {name}
    fields: set[tuple[str, str]] = set()
    grew = True
    while grew:
        grew = False
        for record in snapshot.records:
            if record.name in sizes or not record.complete:
                continue
            leaves = list(flatten(record.fields))
            at = [item.offset_bits for _path, item in leaves if value_type(item.type.canonical) in sizes]
            starts = [offset for offset in at if offset is not None]
            if not at:
                continue
            first = min(starts) if starts else -1
            fields |= {(record.name, path) for path, item in leaves if (item.offset_bits or 0) > first}
            sizes.add(record.name)
            grew = True
    return Target(fields=frozenset(fields), sizes=frozenset(sizes))


def target(change: Change, graph: Graph, other: Graph) -> tuple[Target, Target, bool]:
    """What ``change`` moves in ``graph``'s build, in its names: (the record itself, through
    the records that embed it, whether it was resized)."""
    display = change.parent or change.entity.partition(".")[0]
    record = graph.record(display)
    if record is None:
        return Target(), Target(), False
    counterpart = other.record(display)
    paths: set[str] = set(change.shifted)
    for side in (change.old, change.new):
        name = getattr(side, "name", None)
        if change.entity_kind == EntityKind.FIELD and isinstance(name, str):
            paths.add(name)
    opaque = change.kind == ChangeKind.RECORD_BECAME_OPAQUE
    if opaque:
        paths |= {path for path, _item in flatten(record.fields)}
    resized = opaque or (
        counterpart is not None and counterpart.complete and record.complete and counterpart.size != record.size
    )
    own = Target(fields=frozenset((record.name, path) for path in paths))
    if not resized:
        return own, Target(), False
    return own | Target(sizes=frozenset({record.name})), graph.embedders(record.name), True


def reached_through(change: Change, old: Graph, new: Graph) -> tuple[str, ...]:
    """The helpers of OLD and NEW that reach ``change``: those that touch the record itself
    first, then those that touch what embeds it, then those that use them (nearest first;
    among equals public names first, then those most other helpers use)."""
    ranks: dict[str, tuple[int, int]] = {}
    for graph, other in ((old, new), (new, old)):
        own, embedded, _resized = target(change, graph, other)
        first = graph.direct(own)
        second = graph.direct(embedded) - first
        for rank, start in ((0, first), (1, second)):
            for name, depth in graph.reached(start).items():
                key = (rank if depth == 0 else 2, depth)
                if name not in ranks or key < ranks[name]:
                    ranks[name] = key
    # nearest first; among equals the public ones, then those most helpers use (Py_TYPE)
    used = {name: max(len(old.users.get(name, ())), len(new.users.get(name, ()))) for name in ranks}
    return tuple(sorted(ranks, key=lambda name: (ranks[name], name.startswith("_"), -used[name], name)))


def name_reached_through(name: str, old: Graph, new: Graph) -> tuple[str, ...]:
    """The helpers of OLD and NEW that call, name or expand ``name`` (a function, data or
    macro), directly or through others: nearest first."""
    depth: dict[str, int] = {}
    for graph in (old, new):
        for user, level in graph.reached((), known=(name,)).items():
            if user != name:
                depth[user] = min(level, depth.get(user, level))
    return tuple(sorted(depth, key=lambda user: (depth[user], user.startswith("_"), user)))


def attach(changes: Iterable[Change], old: Snapshot, new: Snapshot) -> list[Change]:
    """``changes`` with ``reached_through`` set on each layout change (and the fact
    :data:`RESIZED_FACT` when its record changed size) and on each change of a function,
    data or macro that helpers of the headers use."""
    items = list(changes)
    if not any(change.kind in LAYOUT_KINDS or change.kind in NAME_KINDS for change in items):
        return items
    before, after = Graph(old), Graph(new)
    out = []
    for change in items:
        if change.kind in NAME_KINDS:
            reached = name_reached_through(change.entity, before, after)
            out.append(replace(change, reached_through=reached) if reached else change)
            continue
        if change.kind not in LAYOUT_KINDS:
            out.append(change)
            continue
        _own, _embedded, resized = target(change, before, after)
        facts = (*change.facts, (RESIZED_FACT, True)) if resized else change.facts
        out.append(replace(change, reached_through=reached_through(change, before, after), facts=facts))
    return out
