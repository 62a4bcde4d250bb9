"""The cache under hostile conditions (issue 11): entries that are not what abidiff wrote are
misses, never errors or hangs; ``cache clear`` removes only what abidiff wrote, and refuses
a directory that is not a cache; the default directory follows XDG and never lands in ``/``."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from abidiff import snapshot as snapshot_io
from abidiff.cache import MARKER, CacheState, SnapshotCache, default_cache_dir
from abidiff.errors import AbidiffError
from tests.conftest import MINIMAL_HEADERS, ROOT
from tests.unit.test_cache import KEY, OTHER, make_snapshot

OLD_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by abidiff.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@contextlib.contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block takes longer than ``seconds``."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- entries that are not what abidiff wrote: a miss, removed, then replaced --------------


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _document(**changes: object) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(snapshot_io.dumps(make_snapshot(warnings=1)))
    document["snapshot"].update(changes)
    return document


def _record_without_fields() -> bytes:
    record = {
        "aliases": [],
        "align": 8,
        "complete": True,
        "header": "object.h",
        "kind": "struct",
        "limited_layout_since": None,
        "limited_since": None,
        "name": "struct _object",
        "size": 16,
        "tier": "public",
    }  # no "fields"
    return json.dumps(_document(records=[record])).encode()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _huge_integer() -> bytes:
    text = json.dumps(_document())
    assert '"pointer_size": 8' in text
    return text.replace('"pointer_size": 8', '"pointer_size": ' + "9" * 5000).encode()


def _make_dir(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_text("x")


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _make_link_to_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _make_link_to_good_entry(path: Path) -> None:
    elsewhere = path.parent.parent / "elsewhere.json"
    elsewhere.write_text(snapshot_io.dumps(make_snapshot()))
    path.symlink_to(elsewhere)


def _make_sparse(path: Path) -> None:
    with open(path, "wb") as out:
        out.truncate(2 << 30)  # 2 GiB of nothing: a sparse file


def _writer(content: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(content)


HOSTILE_ENTRIES: dict[str, Callable[[Path], object]] = {
    "directory": _make_dir,
    "fifo": _make_fifo,
    "symlink-to-dev-zero": _make_link_to_zero,
    "symlink-to-a-good-entry": _make_link_to_good_entry,
    "sparse-2GiB": _make_sparse,
    "truncated": _writer(snapshot_io.dumps(make_snapshot(warnings=20)).encode()[:300]),
    "not-json": _writer(b"\x00\x01garbage"),
    "record-without-fields": _writer(_record_without_fields()),
    "5000-digit-integer": _writer(_huge_integer()),
    "nested-100000-deep": _writer(_nested(100_000)),
    "version-banana": _writer(json.dumps(_document(limited_levels=["banana"])).encode()),
    "other-schema-version": _writer(json.dumps({**_document(), "schema_version": 999}).encode()),
}


@pytest.mark.parametrize("make", list(HOSTILE_ENTRIES.values()), ids=list(HOSTILE_ENTRIES))
def test_hostile_entry_is_a_miss_and_replaced(tmp_path: Path, make: Callable[[Path], object]) -> None:
    cache = SnapshotCache(str(tmp_path / "cache"))
    path = Path(cache.put(KEY, make_snapshot()))
    path.unlink()
    make(path)
    with within(20):
        started = time.monotonic()
        assert cache.get(KEY) is None
        assert time.monotonic() - started < 10
    assert not os.path.lexists(path)  # removed: the next put replaces it
    assert (tmp_path / "elsewhere.json").exists() or not (tmp_path / "elsewhere.json").is_symlink()
    cache.put(KEY, make_snapshot("3.14.0"))
    found = cache.get(KEY)
    assert found is not None and found.build.version == "3.14.0"


def test_put_replaces_a_directory_entry_without_a_get_first(tmp_path: Path) -> None:
    # a git-ref build whose key is known only after configure puts without a get first
    cache = SnapshotCache(str(tmp_path))
    path = Path(cache.snapshot_path(KEY))
    path.parent.mkdir(parents=True)
    _make_dir(path)
    cache.put(KEY, make_snapshot())
    assert path.is_file() and cache.get(KEY) is not None


def test_an_artifact_that_is_a_symlink_is_rebuilt(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep")
    cache = SnapshotCache(str(tmp_path / "cache"))
    cache.put(KEY, make_snapshot())  # makes the directory a cache
    final = Path(cache.artifact_path("configure", KEY))
    final.parent.mkdir(parents=True)
    final.symlink_to(outside)
    assert cache.find_artifact("configure", KEY) is None
    made = cache.artifact_dir("configure", KEY, lambda out: _write(Path(out, "pyconfig.h"), "ok"))
    assert Path(made, "pyconfig.h").read_text() == "ok" and not final.is_symlink()
    assert (outside / "precious").read_text() == "keep"


def test_a_corrupt_entry_gives_the_output_of_an_uncached_run(tmp_path: Path) -> None:
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1", ABIDIFF_CACHE_DIR=str(tmp_path / "cache"))

    def dump(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "abidiff", "dump", MINIMAL_HEADERS, *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    uncached = dump("--no-cache")
    assert uncached.returncode == 0, uncached.stderr
    assert dump().returncode == 0  # fills the cache
    entries = list((tmp_path / "cache" / "snapshots").glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text(uncached.stdout.replace('"schema_version":', '"schema_version":"x",', 1))
    again = dump()
    assert again.returncode == 0, again.stderr
    assert again.stdout == uncached.stdout and again.stderr == ""
    assert json.loads(entries[0].read_text()) == json.loads(uncached.stdout)  # replaced by a good one


# --- cache clear / info: only what abidiff wrote -------------------------------------------


def _fill_with_foreign_files(root: Path) -> list[Path]:
    foreign = [
        root / "notes.txt",
        root / "logs" / "server.log",
        root / "logs" / f"configure-{KEY}.log.bak",
        root / "tmp" / "work.txt",
        root / "tmp" / "tmp-1-notours",
        root / "snapshots" / "baseline.json",
        root / "snapshots" / f"{KEY}.json.orig",
        root / "artifacts" / "readme",
        root / "artifacts" / "Not A Kind" / KEY / "file",
        root / "artifacts" / "configure" / "notes",
    ]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    return foreign


def test_clear_removes_only_what_abidiff_wrote(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = SnapshotCache(str(root))
    cache.put(KEY, make_snapshot())
    cache.put(OTHER, make_snapshot())
    cache.artifact_dir("configure", KEY, lambda out: _write(Path(out, "pyconfig.h"), "x"))
    log = tmp_path / "build.log"
    log.write_text("failed")
    cache.keep_log("configure", KEY, str(log))
    outside = tmp_path / "outside"
    (outside / KEY).mkdir(parents=True)
    (outside / KEY / "precious").write_text("keep")
    (root / "artifacts" / "libpython").symlink_to(outside)  # a kind that is a link: not followed
    foreign = _fill_with_foreign_files(root)
    assert cache.clear() == 3
    for path in foreign:
        assert path.read_text() == "keep me", path
    assert (outside / KEY / "precious").read_text() == "keep"
    assert not list((root / "snapshots").glob(f"{KEY[:8]}*.json")) and cache.get(KEY) is None
    assert not (root / "logs" / f"configure-{KEY}.log").exists()
    assert (root / MARKER).is_file() and (root / "CACHEDIR.TAG").is_file()


@pytest.mark.parametrize("action", ["clear", "info"])
def test_a_directory_that_is_not_a_cache_is_refused(tmp_path: Path, action: str) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("keep me")
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / f"{KEY}.json").write_text("keep me")
    with pytest.raises(AbidiffError) as caught:
        getattr(SnapshotCache(str(tmp_path)), action)()
    assert "not an abidiff cache" in caught.value.message and caught.value.exit_status == 1
    assert caught.value.hint is not None and "\n" not in caught.value.message
    assert (tmp_path / "logs" / "app.log").read_text() == "keep me"
    assert (tmp_path / "snapshots" / f"{KEY}.json").read_text() == "keep me"


def test_an_empty_or_absent_directory_is_cleared_as_nothing(tmp_path: Path) -> None:
    assert SnapshotCache(str(tmp_path)).clear() == 0
    assert SnapshotCache(str(tmp_path / "absent")).clear() == 0
    assert SnapshotCache(str(tmp_path / "absent")).info().entries == 0
    assert list(tmp_path.iterdir()) == []  # nothing created by looking


@pytest.mark.parametrize("action", ["clear", "info"])
def test_a_file_as_cache_directory_is_a_one_line_error(tmp_path: Path, action: str) -> None:
    path = tmp_path / "file"
    path.write_text("keep me")
    with pytest.raises(AbidiffError) as caught:
        getattr(SnapshotCache(str(path)), action)()
    assert "it is a regular file, not a directory" in caught.value.message
    assert path.read_text() == "keep me"


def test_a_cache_from_before_the_marker_is_adopted(tmp_path: Path) -> None:
    (tmp_path / "CACHEDIR.TAG").write_text(OLD_TAG)
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / f"{KEY}.json").write_text(snapshot_io.dumps(make_snapshot()))
    (tmp_path / "artifacts" / "configure" / KEY).mkdir(parents=True)
    cache = SnapshotCache(str(tmp_path))
    assert cache.state() == CacheState.LEGACY
    assert cache.info().entries == 1
    assert cache.clear() == 2
    assert (tmp_path / MARKER).is_file()
    assert cache.state() == CacheState.OURS


@pytest.mark.parametrize(
    "extra",
    ["notes.txt", "snapshots-file"],
    ids=["a-foreign-name", "a-layout-name-that-is-a-file"],
)
def test_almost_a_legacy_cache_is_refused(tmp_path: Path, extra: str) -> None:
    (tmp_path / "CACHEDIR.TAG").write_text(OLD_TAG)
    if extra == "snapshots-file":
        (tmp_path / "snapshots").write_text("keep me")
    else:
        (tmp_path / extra).write_text("keep me")
    assert SnapshotCache(str(tmp_path)).state() == CacheState.FOREIGN
    with pytest.raises(AbidiffError, match="not an abidiff cache"):
        SnapshotCache(str(tmp_path)).clear()


def test_another_programs_cachedir_tag_is_not_ours(tmp_path: Path) -> None:
    (tmp_path / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n# made by pip\n")
    (tmp_path / "snapshots").mkdir()
    assert SnapshotCache(str(tmp_path)).state() == CacheState.FOREIGN


def test_a_newer_layout_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / MARKER).write_text("abidiff cache, layout 99\n")
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / f"{KEY}.json").write_text("keep me")
    cache = SnapshotCache(str(tmp_path))
    with pytest.raises(AbidiffError, match="newer abidiff"):
        cache.clear()
    with pytest.raises(AbidiffError, match="newer abidiff"):
        cache.put(KEY, make_snapshot())
    assert (tmp_path / "snapshots" / f"{KEY}.json").read_text() == "keep me"


def test_cli_cache_clear_refusal_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("keep me")
    for action in ("clear", "info"):
        proc = subprocess.run(
            [sys.executable, "-m", "abidiff", "cache", action, "--cache-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 2 and lines[0].startswith("abidiff: error: ") and lines[1].startswith("abidiff: hint: ")
        assert "not an abidiff cache" in lines[0]
    assert (tmp_path / "logs" / "app.log").read_text() == "keep me"


# --- where the cache is: XDG, and no cache without a usable home ---------------------------


@pytest.mark.parametrize(
    "home", ["", "/", "relative/home", "/no/such/home"], ids=["empty", "root", "relative", "absent"]
)
def test_no_usable_home_means_no_default_directory(monkeypatch: pytest.MonkeyPatch, home: str) -> None:
    monkeypatch.delenv("ABIDIFF_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", home)
    assert default_cache_dir() is None


def test_xdg_cache_home_wins_over_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ABIDIFF_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == str(tmp_path / "abidiff")


_NO_HOME = """
import os, sys
from abidiff.cache import SnapshotCache
from tests.unit.test_cache import KEY, make_snapshot
first, second = SnapshotCache(None), SnapshotCache(None)
assert not first.persistent and first.directory == second.directory
first.put(KEY, make_snapshot())
assert second.get(KEY) is not None
print(first.directory)
"""


def test_without_a_home_the_cache_is_private_and_said_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ABIDIFF_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME="", TMPDIR=str(tmp_path), PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "src")]))
    proc = subprocess.run([sys.executable, "-c", _NO_HOME], capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    directory = proc.stdout.strip()
    assert directory.startswith(str(tmp_path))
    assert not os.path.exists(directory)  # removed at exit
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("abidiff: warning:")]
    assert len(warnings) == 1 and "not cached across runs" in warnings[0]
    assert not os.path.exists("/.cache/abidiff")


def test_without_a_home_and_without_stderr_the_run_goes_on(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ABIDIFF_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME="", TMPDIR=str(tmp_path), PYTHONPATH=os.pathsep.join([ROOT, os.path.join(ROOT, "src")]))
    proc = subprocess.run(
        [sys.executable, "-c", _NO_HOME],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        preexec_fn=lambda: os.close(2),  # 2>&-
    )
    assert proc.returncode == 0 and proc.stdout.strip().startswith(str(tmp_path))


def test_a_cache_directory_that_is_a_symbolic_link_is_cleared(tmp_path: Path) -> None:
    real = tmp_path / "big-disk" / "abidiff"
    real.mkdir(parents=True)
    link = tmp_path / "abidiff"
    link.symlink_to(real)
    cache = SnapshotCache(str(link))
    cache.put(KEY, make_snapshot())
    dead = tmp_path / "big-disk" / "abidiff" / f"tmp-99999999-{'0' * 16}.part"
    dead.write_text("left by a killed run")
    os.utime(dead, (0, 0))
    assert cache.clear() == 1
    assert not dead.exists() and cache.get(KEY) is None and link.is_symlink()
