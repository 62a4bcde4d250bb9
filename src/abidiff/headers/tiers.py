"""API tiers: how CPython tells its users what it promises about a declaration.

See ``docs/tiers.md``.  In order: a header under ``internal/`` is internal whatever the
name; ``pyconfig.h`` is build configuration, private; a ``PyUnstable_`` name, and the opcode
numbers of ``opcode.h``/``opcode_ids.h`` (bytecode: an implementation detail), are unstable;
a declaration visible with ``Py_LIMITED_API`` defined is limited (also ``_Py_IncRef`` and
friends: the stable ABI holds them even with a private spelling); any other leading
underscore is private; the rest is public.
"""

from __future__ import annotations

from abidiff.model import Tier

CONFIG_HEADER = "pyconfig.h"
# the opcode numbers of the bytecode: "an implementation detail of the CPython interpreter"
# (the dis documentation) renumbered by every feature release and by its pre-releases; no
# C ABI promise, whatever the spelling
BYTECODE_HEADERS = frozenset({"opcode.h", "opcode_ids.h", "cpython/opcode.h", "cpython/opcode_ids.h"})


def classify(name: str, header: str, limited_since: str | None) -> Tier:
    if header.startswith("internal/"):
        return Tier.INTERNAL
    if header == CONFIG_HEADER:
        return Tier.PRIVATE  # build configuration (HAVE_FORK, SIZEOF_LONG...): no API promise
    if name.startswith("PyUnstable_") or header in BYTECODE_HEADERS:
        return Tier.UNSTABLE
    if limited_since is not None:
        return Tier.LIMITED
    if name.startswith("_"):
        return Tier.PRIVATE
    return Tier.PUBLIC
