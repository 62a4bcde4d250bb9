"""The scan that finds the records of ``--dwarf`` (abidiff.binaries.dwarfscan) against
pyelftools' own walk of every DIE, on small libraries compiled here from the minimal header
tree: gcc at each DWARF version and in the 64-bit DWARF format, gcc's type units
(``-fdebug-types-section``: the typedefs name their record by signature, which the scan
leaves to pyelftools), and zig's clang (DWARF 5 names by ``DW_FORM_strx1``: a unit the scan
leaves to pyelftools whole).  A first unit that only declares ``struct _typeobject`` makes the
record come from the second unit, as the first complete definition in unit order."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from abidiff.binaries import dwarf, dwarfscan
from abidiff.binaries._common import open_binary
from abidiff.errors import BinaryError
from abidiff.model import Record, Snapshot
from tests.conftest import MINIMAL_HEADERS

DECLARES = """struct _typeobject;
struct _typeobject *only_a_pointer;
"""
USES = """#include <Python.h>
PyObject an_object;
PyVarObject a_var_object;
PyBitState a_state;
PyTypeObject a_type;
PyModuleObjectLike a_module;
int uses(PyObject *o) { return (int)Py_REFCNT(o); }
"""
GCC = {
    "gcc-dwarf2": ["-gdwarf-2"],
    "gcc-dwarf3": ["-gdwarf-3"],
    "gcc-dwarf4": ["-gdwarf-4"],
    "gcc-dwarf5": ["-gdwarf-5"],
    "gcc-dwarf64": ["-gdwarf-5", "-gdwarf64"],
    "gcc-type-units": ["-gdwarf-4", "-fdebug-types-section"],
}
ZIG = {"zig-dwarf4": ["-gdwarf-4"], "zig-dwarf5": ["-gdwarf-5"]}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("dwarf-scan")
    (root / "declares.c").write_text(DECLARES)
    (root / "uses.c").write_text(USES)
    return str(root / "declares.c"), str(root / "uses.c")


def _library(name: str, sources: tuple[str, str]) -> str:
    if name in GCC:
        gcc = shutil.which("gcc")
        if gcc is None:
            pytest.skip("gcc is not on PATH (apt-get install gcc)")
        compiler, flags = [gcc], GCC[name]
    else:
        import importlib.util

        if importlib.util.find_spec("ziglang") is None:
            pytest.skip("the zig toolchain (pip install ziglang) is absent")
        compiler, flags = [sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-gnu", "-nostdlib"], ZIG[name]
    output = os.path.join(os.path.dirname(sources[0]), f"lib{name}.so")
    if not os.path.exists(output):
        subprocess.run(
            [*compiler, "-shared", "-fPIC", "-g", "-O0", *flags, f"-I{MINIMAL_HEADERS}", *sources, "-o", output],
            check=True,
            capture_output=True,
        )
    return output


def _by_key(wanted: tuple[Record, ...]) -> dict[tuple[str, str], str]:
    by_key: dict[tuple[str, str], str] = {}
    for record in wanted:
        for key in dwarf._keys(record):
            by_key.setdefault(key, record.name)
    return by_key


def _walked_by_pyelftools(path: str, wanted: tuple[Record, ...]) -> dict[str, dwarf.Layout]:
    by_key, found = _by_key(wanted), dict[str, dwarf.Layout]()
    with open_binary(path) as handle:
        for unit in ELFFile(handle).get_dwarf_info(relocate_dwarf_sections=False).iter_CUs():
            dwarf._find_in_unit(unit, by_key, found)
    return found


def _what_the_scan_says(path: str, wanted: tuple[Record, ...]) -> list[list[object] | str]:
    """Per unit: for each candidate, what it names (an offset, None, UNKNOWN); or why the scan
    leaves the unit to pyelftools."""
    by_key, said = _by_key(wanted), list[list[object] | str]()
    with open_binary(path) as handle:
        info = ELFFile(handle).get_dwarf_info(relocate_dwarf_sections=False)
        scan = dwarfscan.Scan(info)
        for unit in info.iter_CUs():
            try:
                said.append([names for _, _, names in scan.candidates(unit, by_key, ())])
            except dwarfscan.SCAN_ERRORS as exc:
                said.append(str(exc))
    return said


@pytest.mark.parametrize("name", [*GCC, *ZIG])
def test_the_scan_finds_what_pyelftools_finds(name: str, sources: tuple[str, str], minimal_snapshot: Snapshot) -> None:
    path = _library(name, sources)
    wanted = dwarf.wanted_records(minimal_snapshot.records)
    assert len(wanted) == 5
    with open_binary(path) as handle:
        found = dwarf._find_layouts(handle, wanted)
    assert found == _walked_by_pyelftools(path, wanted)
    assert list(found) == list(_walked_by_pyelftools(path, wanted))  # the same order
    # the library was compiled from these very headers: every record agrees
    check = dwarf.check_layouts(path, minimal_snapshot.records)
    assert (check.compared, check.absent, check.warnings) == (tuple(sorted(r.name for r in wanted)), (), ())
    bits = found["PyBitState"].members
    assert [(member, offset, width) for member, offset, width in bits if member == "kind"] == [("kind", 2, 3)]
    said = _what_the_scan_says(path, wanted)
    if name == "zig-dwarf5":
        assert said[0] == "a name of form 0x25"  # DW_FORM_strx1: pyelftools walks the unit
    elif name == "gcc-type-units":
        assert said[1] and all(names is dwarfscan.UNKNOWN for names in said[1])  # DW_FORM_ref_sig8
    else:
        first, second = said[0], said[1]
        assert first == [None] and len(second) == 7, said  # a declaration, then the definitions
        assert all(isinstance(names, int) for names in second)


def _patched(path: str, target: Path, patches: dict[int, bytes]) -> str:
    """A copy of ``path`` with bytes of its .debug_info replaced (offsets within the section)."""
    with open(path, "rb") as handle:
        section = ELFFile(handle).get_section_by_name(".debug_info")
        assert section is not None
        start = int(section["sh_offset"])
    data = bytearray(Path(path).read_bytes())
    for offset, value in patches.items():
        data[start + offset : start + offset + len(value)] = value
    target.write_bytes(bytes(data))
    return str(target)


def test_a_sibling_that_points_back_is_stepped_over(
    sources: tuple[str, str], minimal_snapshot: Snapshot, tmp_path: Path
) -> None:
    """pyelftools would follow it for ever; the scan steps over the DIE's children instead."""
    path = _library("gcc-dwarf4", sources)
    wanted = dwarf.wanted_records(minimal_snapshot.records)
    with open_binary(path) as handle:
        units = list(ELFFile(handle).get_dwarf_info(relocate_dwarf_sections=False).iter_CUs())
        unit = units[1]
        die = next(d for d in unit.iter_DIE_children(unit.get_top_DIE()) if "DW_AT_sibling" in d.attributes)
        sibling = die.attributes["DW_AT_sibling"]
        assert sibling.form == "DW_FORM_ref4"
        itself = (die.offset - unit.cu_offset).to_bytes(4, "little")
    broken = _patched(path, tmp_path / "libback.so", {sibling.offset: itself})
    with open_binary(path) as good, open_binary(broken) as bad:
        assert dwarf._find_layouts(bad, wanted) == dwarf._find_layouts(good, wanted) != {}


def test_a_malformed_unit_is_left_to_pyelftools(
    sources: tuple[str, str], minimal_snapshot: Snapshot, tmp_path: Path
) -> None:
    """An abbreviation code the table lacks: the scan gives up on the unit, and pyelftools'
    error is the one reported."""
    path = _library("gcc-dwarf4", sources)
    with open_binary(path) as handle:
        first = next(iter(ELFFile(handle).get_dwarf_info(relocate_dwarf_sections=False).iter_CUs()))
    broken = _patched(path, tmp_path / "libbroken.so", {first.cu_die_offset: b"\x7f"})
    with pytest.raises(BinaryError) as error:
        dwarf.check_layouts(broken, minimal_snapshot.records)
    assert error.value.message.startswith(f"{broken}: corrupt DWARF (")
