"""The human report (rich on a terminal, plain text otherwise; on stdout): a verdict panel, a
count per rule, the breaks grouped by entity, then the warnings of the public and limited API;
warnings of APIs without a promise (private, unstable) are summed up by rule.  Compatible and
informational changes are only counted: the JSON report lists every change, and so does the
Markdown report up to its size limit.

A line that wraps keeps its indent: each item is a two-column grid (its label, its text), so
a continuation starts under the text, not at column 0."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from abidiff.report.reach import reached_line
from abidiff.report.registry import register, register_terminal
from abidiff.rules import RULE_BY_ID, ReleaseKind, Report, ReportedChange, Severity, StableVerdict

MAX_IMPACTS_SHOWN = 6
MAX_NAMES_SHOWN = 8
PLAIN_WIDTH = 100
# warnings in these tiers are listed one by one; the others (private, unstable, internal:
# no promise, hundreds of them between feature releases) are summed up by rule
LISTED_TIERS = ("limited", "public")


def _group(changes: Iterable[ReportedChange]) -> dict[str, list[ReportedChange]]:
    """Changes grouped by the entity that owns them: a field's record, else the entity."""
    groups: dict[str, list[ReportedChange]] = {}
    for change in changes:
        owner = change.entity.partition(".")[0] if str(change.entity_kind) == "field" else change.entity
        groups.setdefault(owner, []).append(change)
    return dict(sorted(groups.items()))


def _impacts(change: ReportedChange) -> str | None:
    if not change.impacts:
        return None
    shown = ", ".join(change.impacts[:MAX_IMPACTS_SHOWN])
    more = len(change.impacts) - MAX_IMPACTS_SHOWN
    return f"impacts: {shown}" + (f" and {more} more" if more > 0 else "")


def hanging(label: Any, text: Any, *, indent: int = 0, more: tuple[Any, ...] = ()) -> Any:
    """``label`` then ``text``, whose wrapped lines (and the ``more`` lines) start under the
    text: a grid of two columns, indented by ``indent``."""
    from rich.padding import Padding
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(label, text)
    for line in more:
        grid.add_row("", line)
    return Padding(grid, (0, 0, 0, indent), expand=False) if indent else grid


def _verdict_panel(report: Report) -> Any:
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    alpha = report.release_kind == ReleaseKind.ALPHA
    broken = report.stable_abi_verdict == StableVerdict.BROKEN
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    verdict = Text(f"{report.verdict}", style="bold red" if alpha else "bold green")
    verdict.append(f" (PEP 605: {report.release_kind})", style="")
    grid.add_row("full ABI:", verdict)
    grid.add_row("stable ABI:", Text(f"{report.stable_abi_verdict}", style="bold red" if broken else "bold green"))
    grid.add_row("old:", Text(f"{report.old.version}  {report.old.origin}"))
    grid.add_row("new:", Text(f"{report.new.version}  {report.new.origin}"))
    if report.feature_base is not None:
        base = report.feature_base
        grid.add_row("feature base:", Text(f"{base.version}  {base.origin} (PEP 605)"))
    if report.label_mismatch:
        grid.add_row(Text("label:", style="bold yellow"), Text(report.label_mismatch))
    if report.headers_only:
        grid.add_row("headers only:", "a declaration removed from the headers counts as removed from the ABI")
    return Panel(grid, title=f"abidiff {report.old.version} -> {report.new.version}", expand=False)


def _counts_table(report: Report) -> Any:
    from rich.table import Table

    table = Table(title="changes per rule", title_justify="left", show_edge=False)
    table.add_column("rule")
    table.add_column("title")
    table.add_column("count", justify="right")
    for rule, count in report.counts.items():
        table.add_row(rule, RULE_BY_ID[rule].title, str(count))
    return table


def _section(console: Any, title: str, changes: list[ReportedChange], style: str) -> None:
    from rich.text import Text

    if not changes:
        return
    console.print(Text(f"{title} ({len(changes)})", style=f"bold {style}"))
    for owner, group in _group(changes).items():
        console.print(hanging("", Text(owner, style="bold"), indent=1))
        for change in group:
            impacts = _impacts(change)
            reached = reached_line(change.reached_through)
            more = tuple(Text(line, style="dim") for line in (impacts, reached) if line)
            text = Text(f"[{change.tier}] {change.message}")
            console.print(hanging(Text(change.rule, style=style), text, indent=4, more=more))
    console.print()


def _summary(console: Any, title: str, changes: list[ReportedChange], style: str) -> None:
    """One line per rule: how many, and the first few names."""
    from rich.text import Text

    if not changes:
        return
    console.print(Text(f"{title} ({len(changes)}), by rule:", style=f"bold {style}"))
    by_rule: dict[str, list[ReportedChange]] = {}
    for change in changes:
        by_rule.setdefault(change.rule, []).append(change)
    for rule, group in sorted(by_rule.items()):
        names = sorted({change.entity for change in group})
        shown = ", ".join(names[:MAX_NAMES_SHOWN])
        more = len(names) - MAX_NAMES_SHOWN
        text = Text(f"{RULE_BY_ID[rule].title} ({len(group)}): {shown}" + (f" and {more} more" if more > 0 else ""))
        console.print(hanging(Text(rule, style=style), text, indent=2))
    console.print()


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


@register_terminal(Report)
def render(report: Report, console: Any) -> None:
    """Print the report on a rich console."""
    from rich.text import Text

    if report.problems:
        console.print(Text("The builds are not comparable:", style="bold red"))
        for problem in report.problems:
            console.print(Text(f"  {problem}"))
        console.print()
    console.print(_verdict_panel(report))
    if not report.changes:
        console.print("No change.")
    else:
        console.print(_counts_table(report))
        console.print()
    by_severity = {severity: [c for c in report.changes if c.severity == severity] for severity in Severity}
    _section(console, "Breaks", by_severity[Severity.BREAK], "red")
    warnings = by_severity[Severity.WARNING]
    _section(console, "Warnings", [c for c in warnings if str(c.tier) in LISTED_TIERS], "yellow")
    _summary(
        console,
        "Warnings in APIs without a promise (private, unstable)",
        [c for c in warnings if str(c.tier) not in LISTED_TIERS],
        "yellow",
    )
    compatible, info = len(by_severity[Severity.COMPATIBLE]), len(by_severity[Severity.INFO])
    if compatible or info:
        console.print(
            f"{compatible} compatible and {info} informational {_plural(compatible + info, 'change')} not listed "
            "(--format json lists every change; --format markdown too, up to its --max-chars)."
        )
    if report.suppressed:
        console.print(f"{report.suppressed} {_plural(report.suppressed, 'change')} suppressed.")
    suppression_warnings(console, report.suppression_warnings)


def suppression_warnings(console: Any, warnings: Iterable[str]) -> None:
    from rich.text import Text

    for warning in warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))


def plain_text(draw: Callable[[Any], None], width: int = PLAIN_WIDTH) -> str:
    """What ``draw`` prints on a rich console, as plain text (no colour, no terminal codes, no
    blanks at the ends of lines, which rich pads its tables and panels with)."""
    from rich.console import Console

    buffer = io.StringIO()
    draw(Console(file=buffer, width=width, force_terminal=False, color_system=None, highlight=False))
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


@register(Report, "text", "the human report: rich on a terminal, plain text otherwise (the default)")
def render_plain(report: Report, width: int = PLAIN_WIDTH) -> str:
    """The report as plain text, for ``-o FILE`` and a pipe."""
    return plain_text(lambda console: render(report, console), width)
