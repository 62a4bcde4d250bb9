"""Output files (issue 11): written atomically, never over an input, through symbolic
links, with the umask's mode for a new file and the old mode for a replaced one; devices in
place; an interrupted write leaves the target as it was and no temporary behind."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from abidiff.errors import AbidiffError
from abidiff.output import OutputClash, check_output, write_atomic, write_output
from tests.unit.test_snapshot_load import rich_snapshot


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_atomic_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_atomic(str(target), "first\n")
    write_atomic(str(target), "second\n")
    assert target.read_text() == "second\n"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


@pytest.mark.parametrize("exception", [KeyboardInterrupt, OSError], ids=["interrupt", "disk-error"])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exception: type[BaseException]
) -> None:
    target = tmp_path / "out.json"
    target.write_text("first\n")

    def fails(fd: int) -> None:
        raise exception(28, "No space left on device") if exception is OSError else exception()

    monkeypatch.setattr("abidiff.output.os.fsync", fails)  # the data is written, not yet renamed
    with pytest.raises(exception):
        write_atomic(str(target), "second\n" * 1000)
    assert target.read_text() == "first\n"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


def test_a_device_is_written_in_place() -> None:
    # replacing /dev/null by a regular file would break every program on the machine
    before = os.stat(os.devnull)
    write_atomic(os.devnull, "discarded\n")
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_of_the_umask(tmp_path: Path, mask: int, mode: int) -> None:
    os.umask(mask)
    write_atomic(str(tmp_path / "out.json"), "x\n")
    assert _mode(tmp_path / "out.json") == mode


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o444])
def test_a_replaced_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    os.umask(0o077)
    target = tmp_path / "out.json"
    target.write_text("old\n")
    target.chmod(mode)
    write_atomic(str(target), "new\n")
    assert target.read_text() == "new\n" and _mode(target) == mode


def test_a_symbolic_link_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real" / "report.json"
    real.parent.mkdir()
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(os.path.join("real", "report.json"))  # relative, as ln -s makes them
    write_atomic(str(link), "new\n")
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "report.json")
    assert real.read_text() == "new\n" and _mode(real) == 0o640
    assert sorted(os.listdir(tmp_path / "real")) == ["report.json"]  # the temporary was there, and is gone


def test_a_dangling_symbolic_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    write_atomic(str(link), "new\n")
    assert link.is_symlink() and (tmp_path / "target.json").read_text() == "new\n"


def test_a_directory_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(AbidiffError) as caught:
        write_output("x", str(tmp_path), io.StringIO())
    assert caught.value.message == f"cannot write {tmp_path}: is a directory"


# --- the output is one of the inputs ------------------------------------------------------


def test_the_output_may_not_be_an_input(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text("precious\n")
    with pytest.raises(OutputClash) as caught:
        write_output("report\n", str(a), io.StringIO(), inputs=(str(a), "v3.13.0"))
    assert caught.value.message == f"the output {a} is the input {a}: writing it would destroy the input"
    assert caught.value.exit_status == 2 and caught.value.hint == "write the output to another file"
    assert a.read_text() == "precious\n"


@pytest.mark.parametrize("how", ["symlink", "hardlink", "relative-path"])
def test_the_same_file_by_another_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    a = tmp_path / "a.json"
    a.write_text("precious\n")
    other = tmp_path / "other.json"
    if how == "symlink":
        other.symlink_to(a)
    elif how == "hardlink":
        os.link(a, other)
    else:
        monkeypatch.chdir(tmp_path)
        other = Path("./sub/../a.json")
        (tmp_path / "sub").mkdir()
    with pytest.raises(OutputClash, match=r"(is the same file as the input|is the input) "):
        check_output(str(other), inputs=(str(a),))
    assert a.read_text() == "precious\n"


def test_other_outputs_are_allowed(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text("input\n")
    out = tmp_path / "out.json"
    out.write_text("old\n")
    inputs = (str(a), "python3.13", "git:v3.13.0", str(tmp_path / "absent"), str(tmp_path), "\0bad")
    write_output("new\n", str(out), io.StringIO(), inputs=inputs)
    write_output("fresh\n", str(tmp_path / "fresh.json"), io.StringIO(), inputs=inputs)
    assert out.read_text() == "new\n" and a.read_text() == "input\n"


def test_stdout_that_cannot_be_written_is_a_one_line_error() -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system: cannot make stdout fail with ENOSPC")
    with open("/dev/full", "w") as full, pytest.raises(AbidiffError) as caught:
        write_output("x" * 100_000, None, full)
    assert caught.value.message == "cannot write to the standard output: no space left on device"


def test_cli_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    from abidiff import snapshot

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(snapshot.dumps(rich_snapshot()))
    shutil.copy(a, b)
    before = a.read_bytes()
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "abidiff", str(a), str(b), "--format", "json", "-o", str(a)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr.splitlines()[0]
        == f"abidiff: error: the output {a} is the input {a}: writing it would destroy the input"
    )
    assert a.read_bytes() == before


def test_a_device_that_is_also_an_input_is_written_in_place() -> None:
    check_output(os.devnull, inputs=(os.devnull,))  # -o /dev/null never destroys anything
    write_output("discarded\n", os.devnull, io.StringIO(), inputs=(os.devnull,))
