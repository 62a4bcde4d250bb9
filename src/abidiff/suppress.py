"""Suppressions: known, accepted changes, each with a reason and an optional expiry date.

The file is TOML::

    [[suppress]]
    rule = "ABI102"                     # a rule id, or a glob of ids ("ABI1*")
    entity = "PyThreadState.*"          # a glob of entity names (fnmatch)
    reason = "PyThreadState is no stable structure"
    expires = 2026-06-30                # optional: a TOML date or "YYYY-MM-DD"

An entry needs ``reason`` and at least one of ``rule`` and ``entity``.  Suppressed changes
are counted; entries that match nothing, and expired entries (which no longer suppress),
are warnings.  A file meant for many builds says ``warn_unused = false`` at its top: its
entries that match nothing in one build are no warning.

``shipped:NAME`` names a file shipped with abidiff (``abidiff/data/NAME.toml``):
``shipped:abi3-known``, CPython's known historical findings of ``abidiff abi3``.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from abidiff.errors import InputError
from abidiff.rules import ReportedChange

_KEYS = frozenset({"rule", "entity", "reason", "expires"})
_TOP_KEYS = frozenset({"suppress", "warn_unused"})
SHIPPED_PREFIX = "shipped:"
SHIPPED = ("abi3-known",)  # the suppression files in abidiff/data/
_HINT = (
    'each entry is [[suppress]] with rule = "ABI###" and/or entity = "glob", '
    'reason = "...", and optionally expires = YYYY-MM-DD; see docs/compare.md'
)


class SuppressionError(InputError):
    """A suppressions file that cannot be read or is malformed."""

    default_hint = _HINT


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    rule: str | None
    entity: str | None
    reason: str
    expires: datetime.date | None
    number: int  # 1-based position in the file, for messages
    warn_unused: bool = True  # an entry that matches nothing is a warning

    def matches(self, change: ReportedChange) -> bool:
        if self.rule is not None and not fnmatch.fnmatchcase(change.rule, self.rule):
            return False
        return self.entity is None or fnmatch.fnmatchcase(change.entity, self.entity)

    def label(self) -> str:
        parts = [f"rule {self.rule}" if self.rule else "", f"entity {self.entity}" if self.entity else ""]
        return f"suppression #{self.number} ({', '.join(p for p in parts if p)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    kept: tuple[ReportedChange, ...]
    suppressed: tuple[ReportedChange, ...]
    warnings: tuple[str, ...]


def _date(value: object, where: str) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise SuppressionError(f"{where}: 'expires' must be a date YYYY-MM-DD, not {value!r}")


def _optional_str(entry: Mapping[str, object], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SuppressionError(f"{where}: '{key}' must be a non-empty string")
    return value


def parse(text: str, *, source: str = "<suppressions>") -> tuple[Suppression, ...]:
    """The entries of a suppressions file; :class:`SuppressionError` when malformed."""
    from abidiff import tomlreader as toml

    try:
        document = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise SuppressionError(f"{source} is not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise SuppressionError(f"{source}: unknown table '{unknown[0]}' (expected [[suppress]] entries)")
    warn_unused = document.get("warn_unused", True)
    if not isinstance(warn_unused, bool):
        raise SuppressionError(f"{source}: 'warn_unused' must be true or false")
    entries = document.get("suppress", [])
    if not isinstance(entries, list):
        raise SuppressionError(f"{source}: 'suppress' must be an array of tables ([[suppress]])")
    found = []
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: entry {number}"
        if not isinstance(entry, dict):
            raise SuppressionError(f"{where} is not a table")
        extra = sorted(set(entry) - _KEYS)
        if extra:
            raise SuppressionError(f"{where}: unknown key '{extra[0]}'")
        reason = _optional_str(entry, "reason", where)
        if reason is None:
            raise SuppressionError(f"{where}: missing 'reason' (say why the change is accepted)")
        rule = _optional_str(entry, "rule", where)
        entity = _optional_str(entry, "entity", where)
        if rule is None and entity is None:
            raise SuppressionError(f"{where}: give 'rule', 'entity' or both")
        found.append(
            Suppression(
                rule=rule,
                entity=entity,
                reason=reason,
                expires=_date(entry.get("expires"), where),
                number=number,
                warn_unused=warn_unused,
            )
        )
    return tuple(found)


def shipped_path(name: str) -> str:
    """The path of the shipped suppression file ``name`` (``abi3-known``)."""
    import os

    if name not in SHIPPED:
        raise SuppressionError(
            f"no suppression file named {name!r} ships with abidiff",
            hint=f"choose from {', '.join(SHIPPED_PREFIX + known for known in SHIPPED)}, or give a file",
        )
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", f"{name}.toml")


def load(path: str) -> tuple[Suppression, ...]:
    """The entries of the file ``path``, or of a shipped file (``shipped:NAME``)."""
    if path.startswith(SHIPPED_PREFIX):
        path = shipped_path(path.removeprefix(SHIPPED_PREFIX))
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SuppressionError(f"cannot read the suppressions file {path}: {reason}", hint="check the path") from exc
    return parse(text, source=path)


def apply(changes: Iterable[ReportedChange], suppressions: Iterable[Suppression], *, today: datetime.date) -> Outcome:
    """Split ``changes`` into kept and suppressed; warn about unused and expired entries."""
    entries = tuple(suppressions)
    active = [entry for entry in entries if entry.expires is None or entry.expires >= today]
    used: set[int] = set()
    kept: list[ReportedChange] = []
    suppressed: list[ReportedChange] = []
    for change in changes:
        match = next((entry for entry in active if entry.matches(change)), None)
        if match is None:
            kept.append(change)
        else:
            used.add(match.number)
            suppressed.append(change)
    warnings = []
    for entry in entries:
        if entry.expires is not None and entry.expires < today:
            warnings.append(f"{entry.label()} expired on {entry.expires.isoformat()}: it no longer suppresses anything")
        elif entry.number not in used and entry.warn_unused:
            warnings.append(f"{entry.label()} matched no change: remove it")
    return Outcome(kept=tuple(kept), suppressed=tuple(suppressed), warnings=tuple(warnings))
