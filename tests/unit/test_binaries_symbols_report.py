"""``abidiff symbols``: the text table and the versioned JSON document, with its schema."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest

from abidiff.binaries import read_binary
from abidiff.model import Binary, BinaryFormat, BinaryRole, Symbol, SymbolKind
from abidiff.report.symbols import SCHEMA_NAME, SCHEMA_VERSION, render_symbols_json, render_symbols_text, symbols_schema

SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "src", "abidiff", "schemas", "symbols.schema.json")


def test_shipped_schema_is_generated_from_the_model() -> None:
    with open(SCHEMA_FILE, encoding="utf-8") as handle:
        shipped = handle.read()
    assert shipped == json.dumps(symbols_schema(), indent=2, sort_keys=True) + "\n", "run scripts/regen.py"


@pytest.mark.parametrize("name", ["elf-x86_64.so", "forwarder.dll", "macho-universal.dylib"])
def test_json_is_valid_sorted_and_stable(binary_fixtures: dict[str, str], name: str) -> None:
    binaries = read_binary(binary_fixtures[name], BinaryRole.OTHER)
    text = render_symbols_json(binaries)
    document = json.loads(text)
    jsonschema.validate(document, symbols_schema())
    assert (document["schema"], document["schema_version"]) == (SCHEMA_NAME, SCHEMA_VERSION)
    assert text == render_symbols_json(tuple(reversed(binaries)))  # order of input does not matter
    for binary in document["binaries"]:
        names = [symbol["name"] for symbol in binary["symbols"]]
        assert names == sorted(names) and names
    assert text.endswith("\n") and json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n" == text


def test_text_lists_every_symbol_and_the_file_facts(binary_fixtures: dict[str, str]) -> None:
    binaries = read_binary(binary_fixtures["elf-x86_64.so"], BinaryRole.OTHER)
    text = render_symbols_text(binaries)
    assert "libexports.so.1" in text and "x86_64" in text and "64-bit little-endian" in text
    for symbol in binaries[0].symbols:
        assert symbol.name in text
    assert "ABIDIFF_2.0" in text  # the version column is shown when a symbol has one
    assert all(line == line.rstrip() for line in text.splitlines())


def test_text_of_a_universal_file_has_a_table_per_slice(binary_fixtures: dict[str, str]) -> None:
    text = render_symbols_text(read_binary(binary_fixtures["macho-universal.dylib"], BinaryRole.OTHER))
    assert "macho aarch64" in text and "macho x86_64" in text
    assert text.count("ab_function") == 2


def test_text_golden_with_pinned_width() -> None:
    binary = Binary(
        role=BinaryRole.STABLE_ABI,
        path="python3.dll",
        format=BinaryFormat.PE,
        arch="x86_64",
        bits=64,
        soname="python3.dll",
        symbols=(
            Symbol(name="Py_Initialize", kind=SymbolKind.UNKNOWN, ordinal=2, forwarder="python313.Py_Initialize"),
            Symbol(name="PyType_Type", kind=SymbolKind.DATA, ordinal=1),
        ),
    )
    assert render_symbols_text([binary], width=80) == (
        "python3.dll: pe x86_64, 64-bit little-endian, stable-abi\n"
        "  name: python3.dll\n"
        "  2 exported symbols\n"
        "name            kind      binding   ordinal   forwarder\n"
        "─────────────────────────────────────────────────────────────────────\n"
        "PyType_Type     data      global          1\n"
        "Py_Initialize   unknown   global          2   python313.Py_Initialize\n"
    )


def test_a_binary_without_exports() -> None:
    binary = Binary(role=BinaryRole.STABLE_ABI, path="libpython3.so", format=BinaryFormat.ELF, arch="x86_64", bits=64)
    assert "0 exported symbols" in render_symbols_text([binary])
    assert json.loads(render_symbols_json([binary]))["binaries"][0]["symbols"] == []
