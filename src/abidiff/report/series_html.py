"""The ``html`` format of a release series: one self-contained page (no script, no network, no
external asset; a Content-Security-Policy that forbids them) with a timeline picture of the
series, a table, and each release's notes with its breaks.

The picture is SVG made with drawsvg (a small pure-Python library with no dependencies of its
own; see docs/series.md for why not matplotlib): each release a mark in order, its shape and
colour PEP 605's kind (alpha, beta, release candidate, final), the number of breaks above it,
PEP 605's name and the release's own label below it; a dashed amber ring marks a label that
disagrees (ABI902), a red ring a break after the first release candidate (ABI901); the line
between two releases is red when the second breaks the first.
"""

from __future__ import annotations

import html
from typing import Any

from abidiff.report.registry import register
from abidiff.report.series import (
    REQUIRES_INTRO,
    Notes,
    break_count,
    pep605_kind,
    release_notes,
    stable_words,
    summary_line,
    verdict_words,
)
from abidiff.rules import Verdict
from abidiff.series import SeriesRelease, SeriesReport

RED, GREEN, BLUE, PURPLE, GREY, AMBER, INK = "#c62828", "#2e7d32", "#1565c0", "#6a1b9a", "#757575", "#f9a825", "#212121"
# kind -> (shape, colour, legend)
MARKS: dict[str, tuple[str, str, str]] = {
    "alpha": ("triangle", RED, "alpha: breaks the full ABI"),
    "beta": ("circle", GREEN, "beta: binary compatible"),
    "candidate": ("diamond", BLUE, "release candidate: ABI frozen"),
    "final": ("square", PURPLE, "final release"),
    "other": ("circle", GREY, "no version"),
}
STEP, MARGIN, AXIS_Y, MIN_WIDTH = 132, 70, 60, 1060


def _mark(draw: Any, shape: str, x: float, y: float, size: float, colour: str) -> Any:
    if shape == "triangle":
        return draw.Lines(x, y - size, x + size, y + size * 0.8, x - size, y + size * 0.8, close=True, fill=colour)
    if shape == "diamond":
        return draw.Lines(x, y - size, x + size, y, x, y + size, x - size, y, close=True, fill=colour)
    if shape == "square":
        side = size * 1.6
        return draw.Rectangle(x - side / 2, y - side / 2, side, side, fill=colour)
    return draw.Circle(x, y, size * 0.9, fill=colour)


def _legend(draw: Any, drawing: Any, top: float) -> None:
    """Two rows: the kinds of marks, then the rings."""
    rows = (
        [(MARKS[kind][0], MARKS[kind][1], MARKS[kind][2]) for kind in ("alpha", "beta", "candidate", "final")],
        [
            ("ring-dashed", AMBER, "own label differs from PEP 605's name (ABI902)"),
            ("ring", RED, "full ABI break after the first release candidate (ABI901)"),
        ],
    )
    for number, row in enumerate(rows):
        x, y = float(MARGIN - 40), top + 22 * number
        for shape, colour, words in row:
            if shape == "ring-dashed":
                drawing.append(draw.Circle(x, y, 8, fill="none", stroke=AMBER, stroke_width=3, stroke_dasharray="4,3"))
            elif shape == "ring":
                drawing.append(draw.Circle(x, y, 8, fill="none", stroke=RED, stroke_width=3))
            else:
                drawing.append(_mark(draw, shape, x, y, 7, colour))
            drawing.append(draw.Text(words, 12, x + 14, y + 4, fill=INK))
            x += 40 + 6.4 * len(words)


def timeline_svg(report: SeriesReport) -> str:
    """The timeline picture of ``report`` as an SVG element (no XML prolog: for inline use)."""
    import drawsvg as draw

    count = len(report.releases)
    width = max(MIN_WIDTH, 2 * MARGIN + STEP * (count - 1))
    step = (width - 2 * MARGIN) / max(1, count - 1)
    height = AXIS_Y + 150
    drawing = draw.Drawing(width, height, id_prefix="timeline")
    drawing.append(draw.Rectangle(0, 0, width, height, fill="#ffffff"))
    xs = [MARGIN + step * index for index in range(count)]
    for index in range(1, count):
        release = report.releases[index]
        colour = RED if release.verdict == Verdict.ABI_BREAKING else GREEN
        drawing.append(draw.Line(xs[index - 1], AXIS_Y, xs[index], AXIS_Y, stroke=colour, stroke_width=4))
    for index, release in enumerate(report.releases):
        x = xs[index]
        shape, colour, words = MARKS[pep605_kind(release)]
        group = draw.Group()
        group.append_title(_tooltip(release, words))
        group.append(_mark(draw, shape, x, AXIS_Y, 13, colour))
        if release.label_mismatch:
            group.append(draw.Circle(x, AXIS_Y, 21, fill="none", stroke=AMBER, stroke_width=3, stroke_dasharray="5,4"))
        if any(item.rule == "ABI901" for item in release.findings):
            group.append(draw.Circle(x, AXIS_Y, 26, fill="none", stroke=RED, stroke_width=4))
        count_text = "first" if release.previous is None else _breaks_words(break_count(release))
        group.append(draw.Text(count_text, 12, x, AXIS_Y - 36, text_anchor="middle", fill=INK))
        group.append(
            draw.Text(release.pep605_name, 13, x, AXIS_Y + 46, text_anchor="middle", fill=INK, font_weight="bold")
        )
        own = release.name if release.pep605_name == release.name else f"≠ {release.name}"
        group.append(
            draw.Text(own, 12, x, AXIS_Y + 64, text_anchor="middle", fill=AMBER if release.label_mismatch else GREY)
        )
        drawing.append(group)
    _legend(draw, drawing, AXIS_Y + 100)
    svg: str = drawing.as_svg(header="")
    return svg


def _breaks_words(count: int) -> str:
    return f"{count} break" + ("" if count == 1 else "s")


def _tooltip(release: SeriesRelease, words: str) -> str:
    own = "" if release.pep605_name == release.name else f" (released as {release.name})"
    verdict = "" if release.verdict is None else f"; {release.verdict} against {release.previous}"
    return f"{release.pep605_name}{own}: {words}{verdict}"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; padding: 0 1em; max-width: 72em; color: #212121; }
body { line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
figure { margin: 1em 0; overflow-x: auto; } svg { display: block; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
td.n { text-align: right; } .breaking { color: #c62828; font-weight: bold; } .compatible { color: #2e7d32; }
.mismatch { background: #fff8e1; } .error { color: #c62828; font-weight: bold; } .warning { color: #8d6e00; }
pre { background: #f5f5f5; padding: 0.6em; overflow-x: auto; } .own { color: #757575; }
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _row(release: SeriesRelease) -> str:
    css = {Verdict.ABI_BREAKING: "breaking", Verdict.BINARY_COMPATIBLE: "compatible", None: ""}[release.verdict]
    name = _e(release.pep605_name) + (" ≠" if release.label_mismatch else "")
    breaks = str(break_count(release)) if release.previous else "-"
    findings = ", ".join(_e(item.rule) for item in release.findings)
    return (
        f'<tr class="{"mismatch" if release.label_mismatch else ""}"><td><a href="#r{_e(release.name)}">'
        f'{_e(release.name)}</a></td><td>{name}</td><td class="{css}">{_e(verdict_words(release))}</td>'
        f'<td>{_e(stable_words(release))}</td><td class="n">{breaks}</td><td>{findings}</td></tr>'
    )


def _section(release: SeriesRelease, notes: Notes) -> list[str]:
    out = [f'<section id="r{_e(release.name)}">', f"<h2>{_e(notes.title)}</h2>"]
    for severity, line in notes.findings:
        css = "error" if severity == "break" else "warning"
        out.append(f'<p class="{css}">{_e(severity)}: {_e(line)}</p>')
    out += [f'<p class="error">Not comparable: {_e(problem)}</p>' for problem in notes.problems]
    out.append(f"<p>{_e(notes.lead)}</p>")
    if notes.breaks_title:
        out.append(f"<h3>{_e(notes.breaks_title)}</h3>")
        out.append("<ul>" + "".join(f"<li>{_e(bullet)}</li>" for bullet in notes.breaks) + "</ul>")
    if notes.requires:
        out += [f"<p>{_e(REQUIRES_INTRO)}</p>", f"<pre>{_e(notes.requires)}</pre>"]
    if notes.stable:
        out.append(f"<p>{_e(notes.stable)}</p>")
    out.append("</section>")
    return out


@register(SeriesReport, "html", "one self-contained page: a timeline picture, a table, each release's notes")
def render_html(report: SeriesReport) -> str:
    first, last = report.releases[0].name, report.releases[-1].name
    title = f"abidiff series {first} → {last}"
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(summary_line(report))}.</p>",
        '<figure role="img" aria-label="timeline of the series">',
        timeline_svg(report),
        "<figcaption>Each release in order: PEP 605's name in bold, its own label below it; the number "
        "of full-ABI breaks against the release before it above.</figcaption>",
        "</figure>",
        "<table>",
        "<tr><th>release</th><th>PEP 605 name</th><th>full ABI</th><th>stable ABI</th><th>breaks</th>"
        "<th>findings</th></tr>",
        *(_row(release) for release in report.releases),
        "</table>",
    ]
    for index, release in enumerate(report.releases):
        lines += _section(release, release_notes(report, index))
    lines += [f'<p class="warning">warning: {_e(warning)}</p>' for warning in report.suppression_warnings]
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"
