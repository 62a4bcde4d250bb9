"""PEP 605's release-note text: the breaks of the full CPython ABI, one plain-words bullet each,
prefixed ``(CPython ABI break)`` as NEWS.d entries are; for an alpha, the ``Python-Requires``
line PEP 605 suggests to projects hit by the break."""

from __future__ import annotations

from abidiff.report.reach import news_clause
from abidiff.report.registry import register
from abidiff.rules import BuildIdentity, Report, Severity, StableVerdict

NEWS_PREFIX = "(CPython ABI break)"


def python_requires(new: BuildIdentity) -> str | None:
    """PEP 605: a project hit by a break in X.Y.0aN adds
    ``Python-Requires: >= "X.Y.0b(N+1)"; python_version == "X.Y" and full_python_version != "X.Y.0aN"``."""
    if new.release_level != "alpha":
        return None
    feature = ".".join(new.version.split(".")[:2])
    serial = new.release_serial
    return (
        f'Python-Requires: >= "{feature}.0b{serial + 1}"; python_version == "{feature}" '
        f'and full_python_version != "{feature}.0a{serial}"'
    )


@register(Report, "news", "PEP 605's release-note text")
def render(report: Report) -> str:
    old, new = report.old.version, report.new.version
    breaks = [change for change in report.changes if change.severity == Severity.BREAK]
    if not breaks:
        lines = [f"No breaking changes in the full CPython ABI between {old} and {new}."]
    else:
        lines = [f"Breaking changes in the full CPython ABI between {old} and {new}:", ""]
        seen: set[str] = set()
        for change in breaks:
            bullet = change.headline + (" (stable ABI)" if str(change.tier) == "limited" else "")
            bullet += news_clause(change.reached_through)
            if bullet not in seen:
                seen.add(bullet)
                lines.append(f"* {NEWS_PREFIX} {bullet}")
    lines.append("")
    if report.stable_abi_verdict == StableVerdict.BROKEN:
        lines.append("The stable ABI (abi3) is broken: the breaks marked (stable ABI) affect it.")
    else:
        lines.append("The stable ABI (abi3) is intact.")
    if report.feature_base is not None:
        lines += [
            "",
            f"Judged against the feature base {report.feature_base.version} (PEP 605): changes to APIs "
            "added since then (provisional) and removals of what it deprecated are not counted as breaks.",
        ]
    if report.label_mismatch:
        lines += ["", f"Note: {report.label_mismatch}."]
    if breaks:
        requires = python_requires(report.new)
        if requires is not None:
            lines += ["", "Projects hit by these breaks can declare:", "", f"    {requires}"]
    return "\n".join(lines) + "\n"
