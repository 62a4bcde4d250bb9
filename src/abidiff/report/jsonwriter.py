"""The one JSON writer: every document abidiff writes as JSON (a comparison report, an abi3
or ext report, a series) gets its envelope here — ``schema`` and ``schema_version`` — and
is written sorted, indented and byte-stable.  Its JSON Schema is made here too, from the
document's dataclass; ``scripts/regen.py --check`` keeps the shipped schema files current."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from abidiff import codec


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    name: str  # "abidiff-report"
    version: int
    title: str
    schema_file: str  # under abidiff/schemas/


@functools.cache
def _envelopes() -> dict[type, Envelope]:
    from abidiff.rules.reports import Abi3Report, ExtReport, Report
    from abidiff.series import SeriesReport

    table: dict[type, Envelope] = {
        Report: Envelope(
            name="abidiff-report", version=1, title="abidiff comparison report", schema_file="report.schema.json"
        ),
        Abi3Report: Envelope(
            name="abidiff-abi3", version=1, title="abidiff abi3 report", schema_file="abi3.schema.json"
        ),
        ExtReport: Envelope(name="abidiff-ext", version=1, title="abidiff ext report", schema_file="ext.schema.json"),
        SeriesReport: Envelope(
            name="abidiff-series", version=1, title="abidiff release series", schema_file="series.schema.json"
        ),
    }
    return table


def envelope_of(cls: type) -> Envelope:
    try:
        return _envelopes()[cls]
    except KeyError:
        raise TypeError(f"{cls.__name__} is not a JSON document of abidiff") from None


def to_document(value: Any) -> dict[str, Any]:
    envelope = envelope_of(type(value))
    document: dict[str, Any] = codec.encode(value)
    document["schema"] = envelope.name
    document["schema_version"] = envelope.version
    return document


def dumps(value: Any) -> str:
    """The document as JSON text: the same document always gives the same bytes."""
    return json.dumps(to_document(value), sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a document type, with its envelope."""
    envelope = envelope_of(cls)
    defs: dict[str, Any] = {}
    codec.schema_of(cls, defs)
    body = defs.pop(cls.__name__)
    return codec.envelope_schema(envelope.name, envelope.version, envelope.title, body, defs)


def schema_files() -> dict[str, Any]:
    """Every shipped schema file name with its generator."""
    return {envelope.schema_file: (lambda cls=cls: schema(cls)) for cls, envelope in _envelopes().items()}
