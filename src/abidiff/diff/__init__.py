"""Compare two snapshots: ``diff(old, new) -> Diff``.  Pure; sees only :mod:`abidiff.model`
and the vocabulary of :mod:`abidiff.changes`.

The diff says *what* changed, at the entity where it happened, with the tier of the promise
made about that entity; :mod:`abidiff.rules` decides how severe each change is and says it.

Conventions that keep reports short and true:

- a change is reported once, where it happens: a field inserted in the middle of a struct is
  one change that lists the fields whose offsets shift; a struct embedded by value in others
  is reported at the struct itself, with the records, functions and data it impacts
  (:mod:`.records`);
- types are compared by their canonical spelling, so renaming a typedef is no change, and a
  record NEW names otherwise behind the same typedef (``struct bufferinfo`` -> untagged
  ``Py_buffer``) is the same type in every declaration that uses it;
- a record's *layout* is in the limited API only when its definition is (a struct declared
  in the limited API but defined under ``cpython/`` is opaque there: ``PyTypeObject``);
- with headers only (no binaries on a side), a declaration removed from the headers counts
  as removed from the ABI (:mod:`.declarations`);
- build configuration (``pyconfig.h``) and the version macros (``patchlevel.h``) are never
  layout changes (:mod:`.constants`);
- what a header one side could not read declares is unknown there, not absent: it is not
  compared, and one change says so (:mod:`.unread`).
"""

from __future__ import annotations

from collections.abc import Iterable

from abidiff.changes import Change, ChangeKind, Diff, EntityKind
from abidiff.diff.base import mark
from abidiff.diff.build import comparability
from abidiff.diff.common import ExportView, exports_of, flatten, is_include_guard, stable_symbols, value_type
from abidiff.diff.constants import diff_enums, diff_macros, diff_typedefs
from abidiff.diff.declarations import diff_functions, diff_variables
from abidiff.diff.exports import diff_exports
from abidiff.diff.limited import diff_limited
from abidiff.diff.reach import attach
from abidiff.diff.records import changed_layouts, diff_records, type_match
from abidiff.diff.unread import comparable_parts
from abidiff.model import ManifestEntry, Snapshot


def _value_key(value: object) -> str:
    return str(getattr(value, "name", value)) if value is not None else ""


def _sort_key(change: Change) -> tuple[str, str, str, str]:
    return (change.entity, str(change.kind), _value_key(change.old), _value_key(change.new))


def diff(
    old: Snapshot,
    new: Snapshot,
    *,
    manifest: Iterable[ManifestEntry] = (),
    feature_base: Snapshot | None = None,
) -> Diff:
    """Every change between ``old`` and ``new``, each once, at the entity where it happens.

    ``manifest``: the stable ABI manifest (what each build must export: the tier of an
    export, and what a side without binaries still exports).  ``feature_base``: the last
    feature release, whose word on each change (provisional, deprecated) is recorded for
    the judge (:mod:`.base`)."""
    problems = comparability(old.build, new.build)
    old, new, not_compared = comparable_parts(old, new)
    entries = tuple(manifest)
    exports = ExportView(
        old=exports_of(old.binaries),
        new=exports_of(new.binaries),
        stable_old=stable_symbols(entries, old),
        stable_new=stable_symbols(entries, new),
    )
    types = type_match(old, new)
    function_changes, spoken_functions = diff_functions(old, new, exports, types)
    changed = changed_layouts(old, new, types)
    variable_changes, spoken_variables = diff_variables(old, new, exports, changed, types)
    # data objects of a record type whose layout change is reported at the record (every
    # PyXxx_Type when PyTypeObject grows): their size change is that change, not another
    spoken_variables |= {v.name for v in old.variables if value_type(v.type.canonical) in changed}
    limited_changes, spoken_limited = diff_limited(old, new, exports)
    changes = [
        *not_compared,
        *diff_records(old, new, types),
        *function_changes,
        *variable_changes,
        *diff_enums(old, new),
        *diff_macros(old, new),
        *diff_typedefs(old, new, types),
        *limited_changes,
    ]
    if exports.old is not None and exports.new is not None:
        spoken = spoken_functions | spoken_variables | spoken_limited
        changes += diff_exports(old, exports.old, exports.new, spoken, exports.stable_old)
    if feature_base is not None:
        changes = mark(changes, old, new, feature_base)
    changes = attach(changes, old, new)
    return Diff(
        old=old.build,
        new=new.build,
        headers_only=exports.old is None or exports.new is None,
        feature_base=None if feature_base is None else feature_base.build,
        problems=problems,
        changes=(*problems, *sorted(set(changes), key=_sort_key)),
    )


__all__ = ["Change", "ChangeKind", "Diff", "EntityKind", "diff", "flatten", "is_include_guard"]
