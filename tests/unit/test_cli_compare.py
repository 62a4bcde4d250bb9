"""``abidiff compare`` (:func:`abidiff.commands.compare.compare_main`): formats, where the
output goes, exit status bits."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from abidiff import snapshot
from abidiff.commands.common import Reporting
from abidiff.commands.compare import compare_main
from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE, EXIT_OK, UsageError
from abidiff.model import Snapshot
from tests.conftest import Edit, MakeVariant

ADDED = (
    (
        "cpython/object.h",
        "PyAPI_DATA(int) Py_ExampleFlag;",
        "PyAPI_DATA(int) Py_ExampleFlag;\nPyAPI_FUNC(int) PyObject_NewThing(PyObject *o);",
    ),
)
PRIVATE_REMOVED = (("cpython/object.h", "PyAPI_FUNC(int) _PyObject_IsFreed(PyObject *op);\n", ""),)
PUBLIC_BREAK = (("cpython/object.h", "    const char *tp_doc;\n", ""),)


WriteFiles = Callable[[tuple[Edit, ...]], tuple[str, str]]  # the files fixture: (base, variant) paths


@pytest.fixture
def files(tmp_path: Path, base_snapshot: Snapshot, variant_snapshot: MakeVariant) -> WriteFiles:
    def write(edits: tuple[Edit, ...]) -> tuple[str, str]:
        old, new = tmp_path / "old.json", tmp_path / f"new-{abs(hash(edits))}.json"
        old.write_text(snapshot.dumps(base_snapshot))
        new.write_text(snapshot.dumps(variant_snapshot(edits)))
        return str(old), str(new)

    return write


@pytest.mark.parametrize(
    ("edits", "status"),
    [
        ((), EXIT_OK),
        (ADDED, EXIT_OK),  # additions alone are information: no bit (docs/exit-codes.md)
        (PRIVATE_REMOVED, EXIT_ABI_CHANGE),
        (PUBLIC_BREAK, EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE),
    ],
    ids=["no-change", "addition-is-information", "private-warning", "public-break"],
)
def test_exit_status_bits(files: WriteFiles, edits: tuple[Edit, ...], status: int) -> None:
    old, new = files(edits)
    assert compare_main(old, new, reporting=Reporting(fmt="json", stdout=io.StringIO(), stderr=io.StringIO())) == status


def test_text_goes_to_stdout(files: WriteFiles) -> None:
    old, new = files(PUBLIC_BREAK)
    out, err = io.StringIO(), io.StringIO()
    compare_main(old, new, reporting=Reporting(stdout=out, stderr=err))
    assert err.getvalue() == ""
    assert "field tp_doc removed from the PyTypeObject struct" in out.getvalue()
    assert "\x1b[" not in out.getvalue()  # not a terminal: no colours


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_text_on_a_pipe_is_the_text_of_a_file(files: WriteFiles, tmp_path: Path) -> None:
    """Not a terminal: the plain text, the same as with -o FILE (not the width of a console
    that is no terminal), with no blanks at the ends of lines; a terminal gets the rich
    rendering, in colour."""
    old, new = files(PUBLIC_BREAK)
    piped, terminal, target = io.StringIO(), _Terminal(), tmp_path / "report.txt"
    compare_main(old, new, reporting=Reporting(stdout=piped, stderr=io.StringIO()))
    compare_main(old, new, reporting=Reporting(output=str(target), stdout=io.StringIO(), stderr=io.StringIO()))
    compare_main(old, new, reporting=Reporting(stdout=terminal, stderr=io.StringIO()))
    assert piped.getvalue() == target.read_text()
    assert not [line for line in piped.getvalue().splitlines() if line.endswith(" ")]  # rich pads its panels
    assert "\x1b[" in terminal.getvalue() and "tp_doc" in terminal.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "news"])
def test_output_file_is_written_and_stdout_stays_empty(files: WriteFiles, tmp_path: Path, fmt: str) -> None:
    old, new = files(PUBLIC_BREAK)
    target = tmp_path / f"report.{fmt}"
    out, err = io.StringIO(), io.StringIO()
    compare_main(old, new, reporting=Reporting(fmt=fmt, output=str(target), stdout=out, stderr=err))
    text = target.read_text()
    assert out.getvalue() == ""
    assert "tp_doc" in text
    assert "\x1b[" not in text
    if fmt == "json":
        assert json.loads(text)["verdict"] == "abi-breaking"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".abidiff-")] == []


def test_machine_formats_go_to_stdout(files: WriteFiles) -> None:
    old, new = files(PUBLIC_BREAK)
    out = io.StringIO()
    compare_main(old, new, reporting=Reporting(fmt="news", stdout=out, stderr=io.StringIO()))
    assert out.getvalue().startswith("Breaking changes in the full CPython ABI between 3.11.0a1 and 3.11.0a1:")


def test_unknown_format_is_a_usage_error(files: WriteFiles) -> None:
    old, new = files(())
    with pytest.raises(UsageError):
        compare_main(old, new, reporting=Reporting(fmt="pdf", stdout=io.StringIO(), stderr=io.StringIO()))
