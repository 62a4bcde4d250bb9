"""The rule catalogue: every rule of every analysis (compare, abi3, ext, series) in one table,
``catalogue.toml`` beside this module, each with a stable id, a severity per tier, a one-line
message template and a remedy.  ``docs/rules.md`` is generated from :data:`RULES` by
``scripts/regen.py``.

Severity follows the tier of the promise that was made (:class:`~abidiff.model.Tier`):

- a break in the limited API breaks both verdicts (the full ABI and the stable ABI);
- a break in the public API breaks the full-ABI verdict (PEP 605: the release is an alpha);
- changes to unstable (``PyUnstable_``) and private (``_Py``) declarations are warnings and never
  make a release an alpha (PEP 605's beta criterion);
- internal declarations are never a break.

A message template is ``str.format``-ed over the keys of :func:`abidiff.rules.describe.message_fields`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from abidiff.changes import ChangeKind
from abidiff.model import StrEnum, Tier


class Severity(StrEnum):
    """How much a finding weighs, from its rule's profile and its tier; the exit status follows."""

    BREAK = "break"  # breaks the ABI promised by the tier
    WARNING = "warning"  # worth a look: a source break, or a break of a tier that promises nothing
    COMPATIBLE = "compatible"  # a change that keeps binary compatibility
    INFO = "info"  # an addition, a configuration difference


SEVERITY_ORDER = (Severity.BREAK, Severity.WARNING, Severity.COMPATIBLE, Severity.INFO)


class Profile(StrEnum):
    """How a rule's severity depends on the tier."""

    ABI = "abi"  # an ABI break where the tier promises an ABI; a warning below
    SOURCE = "source"  # a source (API) break: warning where the tier promises an API
    COMPATIBLE = "compatible"
    INFO = "info"
    BREAK = "break"  # a break whatever the tier (an audit finding that makes something fail to load)
    WARNING = "warning"  # a warning whatever the tier

    def severity(self, tier: Tier) -> Severity:
        return _PROFILES[self][tier]


CATALOGUE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalogue.toml")
TIERS = (Tier.LIMITED, Tier.PUBLIC, Tier.UNSTABLE, Tier.PRIVATE, Tier.INTERNAL)

_PROFILES: dict[Profile, dict[Tier, Severity]] = {
    Profile.ABI: {
        Tier.LIMITED: Severity.BREAK,
        Tier.PUBLIC: Severity.BREAK,
        Tier.UNSTABLE: Severity.WARNING,
        Tier.PRIVATE: Severity.WARNING,
        Tier.INTERNAL: Severity.INFO,
    },
    Profile.SOURCE: {
        Tier.LIMITED: Severity.WARNING,
        Tier.PUBLIC: Severity.WARNING,
        Tier.UNSTABLE: Severity.INFO,
        Tier.PRIVATE: Severity.INFO,
        Tier.INTERNAL: Severity.INFO,
    },
    Profile.COMPATIBLE: dict.fromkeys(TIERS, Severity.COMPATIBLE),
    Profile.INFO: dict.fromkeys(TIERS, Severity.INFO),
    Profile.BREAK: dict.fromkeys(TIERS, Severity.BREAK),
    Profile.WARNING: dict.fromkeys(TIERS, Severity.WARNING),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One entry of the catalogue.

    ``breaks_importers``: a binary that imports the entity fails to load or misbehaves after
    this change, whatever the tier promised (what ``abidiff ext --between`` checks).
    """

    id: str
    kind: ChangeKind
    title: str
    detects: str
    profile: Profile
    message: str
    remedy: str
    headline: str = ""  # the message in release-note words, when shorter than ``message``
    breaks_importers: bool = False

    def severity(self, tier: Tier) -> Severity:
        return self.profile.severity(tier)


def _load() -> tuple[Rule, ...]:
    """The rules of ``catalogue.toml``, checked: every field known, ids unique, one rule per
    kind of change."""
    from abidiff.tomlreader import loads

    with open(CATALOGUE_FILE, encoding="utf-8") as handle:
        entries = loads(handle.read())["rule"]
    rules = tuple(
        Rule(
            id=entry["id"],
            kind=ChangeKind(entry["kind"]),
            title=entry["title"],
            detects=entry["detects"],
            profile=Profile(entry["profile"]),
            message=entry["message"],
            remedy=entry["remedy"],
            headline=entry.get("headline", ""),
            breaks_importers=entry.get("breaks_importers", False),
        )
        for entry in entries
    )
    if len({rule.id for rule in rules}) != len(rules) or len({rule.kind for rule in rules}) != len(rules):
        raise RuntimeError(f"{CATALOGUE_FILE}: a rule id or a kind of change appears twice")
    return rules


RULES: tuple[Rule, ...] = _load()

RULE_BY_KIND: Mapping[ChangeKind, Rule] = {rule.kind: rule for rule in RULES}
RULE_BY_ID: Mapping[str, Rule] = {rule.id: rule for rule in RULES}
