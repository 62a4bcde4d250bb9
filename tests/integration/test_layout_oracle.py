"""Every complete struct's size and every named field's offset, checked against gcc.

Of every public header: the program includes ``Python.h`` and then the headers it does not
include (``datetime.h``, ``structmember.h``, ...), as an extension would.

The expected numbers are never written by hand: a C program of ``sizeof``/``offsetof`` is
generated from the snapshot, compiled by gcc against the same headers, and run.  Bit-fields
(which ``offsetof`` cannot name) are located by setting all their bits in a zeroed object
and finding the first and last set bit.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from abidiff.headers.job import PREREQUISITES
from abidiff.headers.tree import read_tree
from abidiff.model import Field, Record, Snapshot
from abidiff.sources import resolve
from tests.conftest import snapshot_cached
from tests.realbuilds import REAL_BUILDS, need_gcc

pytestmark = pytest.mark.integration


def _named_fields(fields: tuple[Field, ...], prefix: str = "") -> Iterator[tuple[str, Field]]:
    """(designator, field) for every named field, through anonymous and nested anonymous members."""
    for item in fields:
        designator = f"{prefix}.{item.name}" if prefix and item.name else (item.name or prefix)
        if item.name:
            yield designator, item
        if item.members:
            yield from _named_fields(item.members, designator)


def _c_type(record: Record) -> str:
    return record.name  # "struct _object", or the typedef name of an anonymous record


def _includes(snapshot: Snapshot, include_dir: str, config_dirs: tuple[str, ...]) -> list[str]:
    """``#include`` lines of Python.h and of the other public headers the snapshot read (those
    it did not read are named in its warnings), each after what it needs (pyexpat.h: expat.h)."""
    not_read = {warning.split(" was not read:")[0] for warning in snapshot.warnings if " was not read:" in warning}
    lines = ["#include <Python.h>"]
    for header in read_tree(include_dir, config_dirs).extra:
        if header in not_read:
            continue
        lines += [f"#include <{needed}>" for needed in PREREQUISITES.get(header, ())]
        lines.append(f"#include <{header}>")
    return lines


def _program(snapshot: Snapshot, includes: list[str]) -> tuple[str, list[tuple[str, int | None]]]:
    """C source printing one number per line, and the numbers the snapshot expects, in order."""
    lines = [
        *includes,
        "#include <stdio.h>",
        "#include <string.h>",
        "#include <stddef.h>",
        "static int first_bit(const unsigned char *p, size_t n) {",
        "  for (size_t i = 0; i < n * 8; i++) if (p[i / 8] & (1u << (i % 8))) return (int)i;",
        "  return -1; }",
        "static int bit_count(const unsigned char *p, size_t n) {",
        "  int c = 0; for (size_t i = 0; i < n * 8; i++) c += (p[i / 8] >> (i % 8)) & 1; return c; }",
        "int main(void) {",
    ]
    expected: list[tuple[str, int | None]] = []
    for record in snapshot.records:
        if not record.complete or record.header.startswith("internal/"):
            continue
        ctype = _c_type(record)
        lines.append(f'  printf("%zu\\n", sizeof({ctype}));')
        expected.append((f"sizeof({record.display_name})", record.size))
        lines.append(f'  printf("%zu\\n", _Alignof({ctype}));')
        expected.append((f"_Alignof({record.display_name})", record.align))
        for designator, item in _named_fields(record.fields):
            label = f"{record.display_name}.{designator}"
            if item.bitfield_width is None:
                lines.append(f'  printf("%zu\\n", offsetof({ctype}, {designator}) * 8);')
                expected.append((f"offsetof({label})", item.offset_bits))
            else:
                lines += [
                    "  {",
                    f"    {ctype} v; memset(&v, 0, sizeof v); v.{designator} = ~0ull;",
                    '    printf("%d\\n", first_bit((const unsigned char *)&v, sizeof v));',
                    '    printf("%d\\n", bit_count((const unsigned char *)&v, sizeof v));',
                    "  }",
                ]
                expected.append((f"bit offset of {label}", item.offset_bits))
                expected.append((f"bit width of {label}", item.bitfield_width))
    lines += ["  return 0;", "}"]
    return "\n".join(lines) + "\n", expected


@pytest.mark.parametrize("build", sorted(REAL_BUILDS))
def test_layouts_equal_gcc(build: str, tmp_path: os.PathLike[str]) -> None:
    gcc = need_gcc()
    spec = REAL_BUILDS[build]()
    resolved = resolve(spec)
    snapshot = snapshot_cached(spec)
    assert resolved.include_dir is not None
    source, expected = _program(snapshot, _includes(snapshot, resolved.include_dir, resolved.config_dirs))
    assert len(expected) > 300, "too few layout facts: the snapshot lost its records"
    assert any(label.startswith("offsetof(PyDateTime_CAPI.") for label, _ in expected), "datetime.h was not read"
    c_file = os.path.join(tmp_path, "layouts.c")
    exe = os.path.join(tmp_path, "layouts")
    with open(c_file, "w") as handle:
        handle.write(source)
    includes = [f"-I{d}" for d in resolved.config_dirs] + [f"-I{resolved.include_dir}"]
    subprocess.run([gcc, "-std=gnu11", "-w", *includes, c_file, "-o", exe], check=True, capture_output=True, text=True)
    printed = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()
    assert len(printed) == len(expected)
    wrong = [
        f"{label}: snapshot {want}, gcc {got}"
        for (label, want), got in zip(expected, printed, strict=True)
        if want != int(got)
    ]
    assert wrong == [], "\n".join(wrong[:40])
