"""The words of ``reached_through`` (:mod:`abidiff.diff.reach`) shared by the report formats:
the static inline functions and macros of the headers through which extensions reach a
layout break, nearest first, cut to a few names."""

from __future__ import annotations

from collections.abc import Sequence

from abidiff.changes import Place

MAX_REACHED_SHOWN = 6


def names(reached: Sequence[str], limit: int = MAX_REACHED_SHOWN) -> str:
    """``Py_TYPE, Py_INCREF and 12 more``."""
    shown = list(reached[:limit])
    more = len(reached) - len(shown)
    if more > 0:
        return ", ".join(shown) + f" and {more} more"
    if len(shown) > 1:
        return ", ".join(shown[:-1]) + f" and {shown[-1]}"
    return "".join(shown)


def reached_line(reached: Sequence[str], limit: int = MAX_REACHED_SHOWN) -> str | None:
    """``reached through: Py_TYPE, Py_INCREF and 12 more`` (None when nothing reaches it)."""
    if not reached:
        return None
    return f"reached through: {names(reached, limit)}"


def news_clause(reached: Sequence[str], limit: int = 4) -> str:
    """PEP 605's release notes: ``; every extension that uses Py_INCREF or Py_TYPE is affected``."""
    if not reached:
        return ""
    shown = list(reached[:limit])
    more = len(reached) - len(shown)
    listed = ", ".join(shown[:-1]) + f" or {shown[-1]}" if len(shown) > 1 else shown[0]
    tail = f" (or one of {more} other helpers)" if more > 0 else ""
    return f"; every extension that uses {listed}{tail} is affected"


MAX_PLACES_SHOWN = 10


def place_text(place: Place) -> str:
    """``objects.c:19:13 (via Py_TYPE)``."""
    via = f" (via {place.via})" if place.via else ""
    return f"{place.file}:{place.line}:{place.column}{via}"


def place_lines(places: Sequence[Place], *, verbose: bool = False) -> list[str]:
    """The places of an ``ext --source`` finding, cut to :data:`MAX_PLACES_SHOWN` unless
    ``verbose`` (the JSON lists them all)."""
    shown = list(places) if verbose else list(places[:MAX_PLACES_SHOWN])
    lines = [place_text(place) for place in shown]
    if len(places) > len(shown):
        lines.append(f"and {len(places) - len(shown)} more places (--verbose or --format json lists them)")
    return lines
