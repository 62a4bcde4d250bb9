"""The ``json`` format of every judged document: versioned, sorted, byte-stable (the envelope
and the writer are :mod:`abidiff.report.jsonwriter`'s), with a JSON Schema shipped in the
package for each."""

from __future__ import annotations

import os
from typing import Any

from abidiff.report import jsonwriter
from abidiff.report.registry import register
from abidiff.rules.reports import Abi3Report, ExtReport, Report

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", "report.schema.json")
_HELP = "versioned JSON (its JSON Schema ships in the package)"


def to_document(report: Report) -> dict[str, Any]:
    return jsonwriter.to_document(report)


@register(Report, "json", _HELP)
@register(Abi3Report, "json", _HELP)
@register(ExtReport, "json", _HELP)
def dumps(report: Any) -> str:
    """The report as JSON text: the same report always gives the same bytes."""
    return jsonwriter.dumps(report)


def schema() -> dict[str, Any]:
    """The JSON Schema of a comparison report document."""
    return jsonwriter.schema(Report)


def schema_text() -> str:
    return jsonwriter.text(schema())
