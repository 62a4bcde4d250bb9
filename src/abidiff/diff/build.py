"""Whether two builds can load each other's extensions at all, whatever their headers say."""

from __future__ import annotations

import re

from abidiff.changes import Change, ChangeKind, EntityKind
from abidiff.model import Build, Tier

_SOABI_RE = re.compile(r"^cpython-(\d+)([a-z]*)(?:-(.+))?$")
LAYOUT_FLAGS = ("Py_GIL_DISABLED", "Py_TRACE_REFS")


def _soabi_parts(soabi: str | None) -> tuple[str, str | None] | None:
    """(ABI flags, platform) of a SOABI such as ``cpython-313t-x86_64-linux-gnu``.

    The ``m`` of pymalloc (``cpython-37m``) is left out: since PEP 445 (3.4) pymalloc changes
    neither the headers nor the ABI, which is why 3.8 dropped the flag (bpo-36707);
    ``cpython-37m`` and ``cpython-38`` differ by version only."""
    if soabi is None:
        return None
    match = _SOABI_RE.match(soabi)
    return (match.group(2).replace("m", ""), match.group(3)) if match else None


def _target_key(target: str) -> tuple[str, ...]:
    parts = target.split("-")
    return (parts[0], *parts[2:]) if len(parts) >= 3 else tuple(parts)  # the vendor is no ABI


def comparability(old: Build, new: Build) -> tuple[Change, ...]:
    """Why two builds cannot load each other's extensions (entity: the setting that differs)."""
    found: list[Change] = []

    def problem(entity: str, before: int | str, after: int | str) -> None:
        kind, entity_kind, tier = ChangeKind.BUILD_MISMATCH, EntityKind.BUILD, Tier.LIMITED
        found.append(Change(kind=kind, entity=entity, entity_kind=entity_kind, tier=tier, old=before, new=after))

    for name in LAYOUT_FLAGS:
        before, after = old.config_value(name), new.config_value(name)
        if before is not None and after is not None and bool(before) != bool(after):
            problem(name, before, after)
    if old.pointer_size != new.pointer_size:
        problem("pointer size", old.pointer_size, new.pointer_size)
    if _target_key(old.target) != _target_key(new.target):
        problem("target", old.target, new.target)
    old_abi, new_abi = _soabi_parts(old.soabi), _soabi_parts(new.soabi)
    if old_abi is not None and new_abi is not None:
        if old_abi[0] != new_abi[0]:
            problem("ABI flags", old_abi[0] or "(none)", new_abi[0] or "(none)")
        if old_abi[1] and new_abi[1] and old_abi[1] != new_abi[1]:
            problem("SOABI platform", old_abi[1], new_abi[1])
    return tuple(found)
