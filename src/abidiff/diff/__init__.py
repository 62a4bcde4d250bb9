"""Compare two snapshots: ``diff(old, new) -> Diff``.  Pure; sees only :mod:`abidiff.model`
and the vocabulary of :mod:`abidiff.changes`.

The diff says *what* changed, at the entity where it happened, with the tier of the promise
made about that entity; :mod:`abidiff.rules` decides how severe each change is and says it.

Conventions that keep reports short and true:

- a change is reported once, where it happens: a field inserted in the middle of a struct is
  one change that lists the fields whose offsets shift; a struct embedded by value in others
  is reported at the struct itself, with the records, functions and data it impacts
  (:mod:`.records`);
- types are compared by their canonical spelling, so renaming a typedef is no change;
- a record's *layout* is in the limited API only when its definition is (a struct declared
  in the limited API but defined under ``cpython/`` is opaque there: ``PyTypeObject``);
- with headers only (no binaries on a side), a declaration removed from the headers counts
  as removed from the ABI (:mod:`.declarations`);
- build configuration (``pyconfig.h``) and the version macros (``patchlevel.h``) are never
  layout changes (:mod:`.constants`).
"""

from __future__ import annotations

from abidiff.changes import Change, ChangeKind, Diff, EntityKind
from abidiff.diff.build import comparability
from abidiff.diff.common import exports_of, flatten, is_include_guard, value_type
from abidiff.diff.constants import diff_enums, diff_macros
from abidiff.diff.declarations import diff_functions, diff_variables
from abidiff.diff.exports import diff_exports
from abidiff.diff.limited import diff_limited
from abidiff.diff.records import changed_layouts, diff_records
from abidiff.model import Snapshot


def _value_key(value: object) -> str:
    return str(getattr(value, "name", value)) if value is not None else ""


def _sort_key(change: Change) -> tuple[str, str, str, str]:
    return (change.entity, str(change.kind), _value_key(change.old), _value_key(change.new))


def diff(old: Snapshot, new: Snapshot) -> Diff:
    """Every change between ``old`` and ``new``, each once, at the entity where it happens."""
    problems = comparability(old.build, new.build)
    old_exports = exports_of(old.binaries)
    new_exports = exports_of(new.binaries)
    function_changes, spoken_functions = diff_functions(old, new, new_exports)
    changed = changed_layouts(old, new)
    variable_changes, spoken_variables = diff_variables(old, new, new_exports, changed)
    # data objects of a record type whose layout change is reported at the record (every
    # PyXxx_Type when PyTypeObject grows): their size change is that change, not another
    spoken_variables |= {v.name for v in old.variables if value_type(v.type.canonical) in changed}
    limited_changes, spoken_limited = diff_limited(old, new, new_exports)
    changes = [
        *diff_records(old, new),
        *function_changes,
        *variable_changes,
        *diff_enums(old, new),
        *diff_macros(old, new),
        *limited_changes,
    ]
    if old_exports is not None and new_exports is not None:
        changes += diff_exports(old, old_exports, new_exports, spoken_functions | spoken_variables | spoken_limited)
    return Diff(
        old=old.build,
        new=new.build,
        headers_only=old_exports is None or new_exports is None,
        problems=problems,
        changes=(*problems, *sorted(set(changes), key=_sort_key)),
    )


__all__ = ["Change", "ChangeKind", "Diff", "EntityKind", "diff", "flatten", "is_include_guard"]
