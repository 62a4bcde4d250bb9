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

_string = json.encoder.encode_basestring  # as json.dumps(..., ensure_ascii=False) writes a string


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
    return text(to_document(value))


def text(document: Any) -> str:
    """``document`` (JSON values: dicts with string keys, lists, strings, numbers, booleans,
    None) as the text ``json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False)``
    gives, and a newline: byte for byte the same, in half the time (``json`` indents in pure
    Python; this writes each scalar with its C encoder and joins the pieces once)."""
    out: list[str] = []
    _write(document, 0, out)
    out.append("\n")
    return "".join(out)


def _write(value: Any, depth: int, out: list[str]) -> None:
    kind = type(value)
    if isinstance(value, str):  # an enum of strings too
        out.append(_string(value))
    elif kind is dict and value:
        inner = "\n" + " " * (depth + 1)
        separator = "{" + inner
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"a JSON document has string keys, not {key!r}")
            out += (separator, _string(key), ": ")
            _write(value[key], depth + 1, out)
            separator = "," + inner
        out.append("\n" + " " * depth + "}")
    elif (kind is list or kind is tuple) and value:
        inner = "\n" + " " * (depth + 1)
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _write(item, depth + 1, out)
            separator = "," + inner
        out.append("\n" + " " * depth + "]")
    else:  # an empty container, a number, a boolean, None
        out.append(json.dumps(value, ensure_ascii=False))


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
