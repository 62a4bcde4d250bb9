"""The JSON report: versioned, sorted, byte-stable, with a JSON Schema shipped in the package.

The schema (``abidiff/schemas/report.schema.json``) is generated from the dataclasses of
:mod:`abidiff.rules` by :func:`schema`; ``scripts/gen_rules_doc.py --check`` keeps the shipped
file equal to it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from abidiff import codec
from abidiff.rules import REPORT_SCHEMA_NAME, REPORT_SCHEMA_VERSION, Report

SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", "report.schema.json")


def to_document(report: Report) -> dict[str, Any]:
    document: dict[str, Any] = codec.encode(report)
    return document


def dumps(report: Report) -> str:
    """The report as JSON text: the same report always gives the same bytes."""
    return json.dumps(to_document(report), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def schema() -> dict[str, Any]:
    """The JSON Schema of a report document, generated from :class:`~abidiff.rules.Report`."""
    return codec.document_schema(
        Report, name=REPORT_SCHEMA_NAME, version=REPORT_SCHEMA_VERSION, title="abidiff comparison report"
    )


def schema_text() -> str:
    return json.dumps(schema(), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
