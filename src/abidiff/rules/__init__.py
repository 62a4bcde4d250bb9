"""The rules: one catalogue (:mod:`.catalogue`), the words of each change (:mod:`.describe`),
one judge (:mod:`.judge`: severity, suppressions, verdicts) and the judged documents of every
analysis (:mod:`.reports`)."""

from __future__ import annotations

from abidiff.rules.catalogue import RULE_BY_ID, RULE_BY_KIND, RULES, SEVERITY_ORDER, TIERS, Profile, Rule, Severity
from abidiff.rules.judge import (
    BuildIdentity,
    Finding,
    Judgement,
    ReleaseKind,
    ReportedChange,
    StableVerdict,
    Verdict,
    classify,
    identity,
    judge,
    label_mismatch,
    report_order,
    verdicts,
)
from abidiff.rules.reports import Abi3Report, ExtReport, Report, abi3_report, compare, compare_report, ext_report

__all__ = [
    "RULES",
    "RULE_BY_ID",
    "RULE_BY_KIND",
    "SEVERITY_ORDER",
    "TIERS",
    "Abi3Report",
    "BuildIdentity",
    "ExtReport",
    "Finding",
    "Judgement",
    "Profile",
    "ReleaseKind",
    "Report",
    "ReportedChange",
    "Rule",
    "Severity",
    "StableVerdict",
    "Verdict",
    "abi3_report",
    "classify",
    "compare",
    "compare_report",
    "ext_report",
    "identity",
    "judge",
    "label_mismatch",
    "report_order",
    "verdicts",
]
