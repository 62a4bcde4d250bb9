"""The snapshot cache: round trips, keys, atomicity under concurrency and interrupts."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from abidiff import snapshot as snapshot_io
from abidiff.cache import STALE_SECONDS, SnapshotCache, default_cache_dir
from abidiff.model import Build, ReleaseLevel, Snapshot

KEY = "ab" * 32
OTHER = "cd" * 32


def make_snapshot(version: str = "3.13.0", *, warnings: int = 0, tag: str = "") -> Snapshot:
    build = Build(
        version=version,
        hexversion=0x030D00F0,
        release_level=ReleaseLevel.FINAL,
        release_serial=0,
        target="x86_64-unknown-linux-gnu",
        pointer_size=8,
        origin=f"test {tag}",
    )
    return Snapshot(build=build, warnings=tuple(f"warning {tag} {n:08d} " + "x" * 64 for n in range(warnings)))


def tmp_names(directory: Path) -> list[str]:
    found = []
    for _root, dirs, files in os.walk(directory):
        found += [name for name in dirs + files if name.startswith("tmp-")]
        dirs[:] = [name for name in dirs if not name.startswith("tmp-")]
    return found


def test_round_trip(tmp_path: Path) -> None:
    cache = SnapshotCache(str(tmp_path))
    assert cache.get(KEY) is None
    snap = make_snapshot(warnings=3)
    path = cache.put(KEY, snap)
    assert cache.get(KEY) == snapshot_io.normalise(snap)
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == snapshot_io.dumps(snap)
    assert (tmp_path / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (tmp_path / "abidiff-cache").read_text().startswith("abidiff cache, layout 1\n")
    assert tmp_names(tmp_path) == []


def test_put_replaces(tmp_path: Path) -> None:
    cache = SnapshotCache(str(tmp_path))
    cache.put(KEY, make_snapshot("3.12.0"))
    cache.put(KEY, make_snapshot("3.13.0"))
    found = cache.get(KEY)
    assert found is not None and found.build.version == "3.13.0"


@pytest.mark.parametrize(
    "content",
    [b"", b'{"schema": "abidiff-snapshot", "schema_version": 1, "snap', b"\xff\xfe garbage", b'{"schema": "other"}'],
    ids=["empty", "truncated", "not-utf8", "other-schema"],
)
def test_corrupt_entry_is_a_miss_and_removed(tmp_path: Path, content: bytes) -> None:
    cache = SnapshotCache(str(tmp_path))
    path = cache.put(KEY, make_snapshot())
    with open(path, "wb") as out:
        out.write(content)
    assert cache.get(KEY) is None
    assert not os.path.exists(path)
    cache.put(KEY, make_snapshot())
    assert cache.get(KEY) is not None


def test_truncated_good_entry_is_a_miss(tmp_path: Path) -> None:
    cache = SnapshotCache(str(tmp_path))
    path = cache.put(KEY, make_snapshot(warnings=50))
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    assert cache.get(KEY) is None


@pytest.mark.parametrize("key", ["", "../../etc/passwd", "AB" * 32, "abc", "g" * 64])
def test_bad_keys_are_refused(tmp_path: Path, key: str) -> None:
    cache = SnapshotCache(str(tmp_path))
    with pytest.raises(ValueError, match="not a cache key"):
        cache.get(key)
    with pytest.raises(ValueError, match="not a cache key"):
        cache.put(key, make_snapshot())
    assert list(tmp_path.iterdir()) == []


def test_key_depends_on_every_input() -> None:
    from abidiff.sources.gitref import snapshot_cache_key

    base: dict[str, Any] = dict(commit="a" * 40, triple=None, pyconfig_sha256="0" * 64)
    key = snapshot_cache_key(**base)
    assert key == snapshot_cache_key(**base)
    assert len(key) == 64 and int(key, 16) >= 0
    variants = [
        snapshot_cache_key("b" * 40, None, "0" * 64),
        snapshot_cache_key("a" * 40, "x86_64-pc-windows-msvc", "0" * 64),
        snapshot_cache_key("a" * 40, None, "1" * 64),
        snapshot_cache_key("a" * 40, None, "0" * 64, binaries=True),
        snapshot_cache_key("a" * 40, None, "0" * 64, defines=("Py_DEBUG",)),
        snapshot_cache_key("a" * 40, None, "0" * 64, binaries=True, dwarf=True),
    ]
    assert len({key, *variants}) == 1 + len(variants)


def test_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ABIDIFF_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == str(tmp_path / "explicit")
    assert SnapshotCache(None).directory == str(tmp_path / "explicit")
    monkeypatch.delenv("ABIDIFF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == str(tmp_path / "xdg" / "abidiff")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "abidiff")


def test_info_and_clear(tmp_path: Path) -> None:
    cache = SnapshotCache(str(tmp_path))
    cache.put(KEY, make_snapshot())
    cache.put(OTHER, make_snapshot("3.12.0"))

    def populate(out: str) -> None:
        Path(out, "pyconfig.h").write_text("#define X 1\n")

    cache.artifact_dir("configure", KEY, populate)
    foreign = tmp_path / "not-ours.txt"
    foreign.write_text("keep me")
    info = cache.info()
    assert (info.directory, info.entries, info.trees, info.artifacts) == (str(tmp_path), 2, 1, (("configure", 1),))
    assert info.bytes > 0
    assert cache.clear() == 3
    after = cache.info()
    assert (after.entries, after.trees) == (0, 0)
    assert cache.get(KEY) is None
    assert foreign.read_text() == "keep me"


def test_stale_temporaries_are_swept(tmp_path: Path) -> None:
    cache = SnapshotCache(str(tmp_path))
    cache.put(KEY, make_snapshot())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    old = tmp_path / "snapshots" / f"tmp-{pid}-{'0' * 16}.part"
    young = tmp_path / "snapshots" / f"tmp-{pid}-{'1' * 16}.part"
    alive = tmp_path / "snapshots" / f"tmp-{os.getpid()}-{'2' * 16}.part"
    old_dir = tmp_path / "artifacts" / "configure" / f"tmp-{pid}-{'3' * 16}"
    old_dir.mkdir(parents=True)
    (old_dir / "half-written").write_text("x")
    for path in (old, young, alive):
        path.write_text("partial")
    long_ago = time.time() - STALE_SECONDS - 60
    for path in (old, alive, old_dir):
        os.utime(path, (long_ago, long_ago))
    info = cache.info()
    assert info.swept == 2
    assert not old.exists() and not old_dir.exists()
    assert young.exists() and alive.exists()  # too young; its process still runs
    assert info.entries == 1


def test_artifact_dir_failure_leaves_nothing(tmp_path: Path) -> None:
    cache = SnapshotCache(str(tmp_path))

    def populate(out: str) -> None:
        Path(out, "partial").write_text("half")
        raise RuntimeError("configure exploded")

    with pytest.raises(RuntimeError):
        cache.artifact_dir("configure", KEY, populate)
    assert cache.find_artifact("configure", KEY) is None
    assert tmp_names(tmp_path) == []
    calls: list[str] = []

    def first(out: str) -> None:
        Path(out, "pyconfig.h").write_text("ok")
        calls.append("first")

    done = cache.artifact_dir("configure", KEY, first)
    again = cache.artifact_dir("configure", KEY, lambda out: calls.append("again"))
    assert done == again and Path(done, "pyconfig.h").read_text() == "ok" and len(calls) == 1


# --- concurrency and interrupts: real processes ------------------------------------------


def _writer(directory: str, tag: str, rounds: int) -> None:
    cache = SnapshotCache(directory)
    for _ in range(rounds):
        cache.put(KEY, make_snapshot(warnings=400, tag=tag))


def test_concurrent_writers_never_expose_a_partial_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(tmp_path), tag, 25)) for tag in ("A", "B")]
    for process in writers:
        process.start()
    cache = SnapshotCache(str(tmp_path))
    seen = set()
    while any(process.is_alive() for process in writers):
        found = cache.get(KEY)  # a partial entry would be a miss here, and be removed
        if found is not None:
            seen.add(found.build.origin)
            assert len(found.warnings) == 400
    for process in writers:
        process.join()
        assert process.exitcode == 0
    final = cache.get(KEY)
    assert final is not None and final.build.origin in ("test A", "test B")
    assert seen <= {"test A", "test B"}
    assert tmp_names(tmp_path) == []


def _artifact_racer(directory: str, tag: str) -> None:
    cache = SnapshotCache(directory)

    def populate(out: str) -> None:
        for n in range(200):
            Path(out, f"file{n}").write_text(tag * 100)

    cache.artifact_dir("configure", KEY, populate)


def test_concurrent_artifacts_one_wins_whole(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    racers = [context.Process(target=_artifact_racer, args=(str(tmp_path), tag)) for tag in "ABC"]
    for process in racers:
        process.start()
    for process in racers:
        process.join()
        assert process.exitcode == 0
    final = SnapshotCache(str(tmp_path)).find_artifact("configure", KEY)
    assert final is not None
    contents = {Path(final, name).read_text() for name in os.listdir(final)}
    assert len(os.listdir(final)) == 200 and len(contents) == 1  # all of one writer
    assert tmp_names(tmp_path) == []


_SLOW_WRITER = textwrap.dedent(
    """
    import signal
    import sys
    from abidiff.cache import SnapshotCache
    from tests.unit.test_cache import make_snapshot
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    cache = SnapshotCache(sys.argv[1])
    snap = make_snapshot("3.14.0", warnings=200000, tag="new")
    print("ready", flush=True)
    while True:
        cache.put(sys.argv[2], snap)
    """
)


def _start_slow_writer(directory: Path) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(root / "src")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(directory), KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=root,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    snapshots = directory / "snapshots"
    deadline = time.monotonic() + 30
    while not (snapshots.is_dir() and any(name.startswith("tmp-") for name in os.listdir(snapshots))):
        assert time.monotonic() < deadline, "the writer never started a put"
        time.sleep(0.001)
    return proc


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_during_put(tmp_path: Path, sig: signal.Signals) -> None:
    cache = SnapshotCache(str(tmp_path))
    cache.put(KEY, make_snapshot("3.13.0", tag="old"))
    proc = _start_slow_writer(tmp_path)
    try:
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # never left behind writing forever, whatever failed
            proc.kill()
            proc.wait()
    assert proc.returncode != 0, "the writer ignored the signal"
    found = cache.get(KEY)  # the old value or a complete new one, never a crash
    assert found is not None
    assert (found.build.version, len(found.warnings)) in (("3.13.0", 0), ("3.14.0", 200000))
    leftovers = tmp_names(tmp_path)
    if sig == signal.SIGINT:
        assert leftovers == []  # KeyboardInterrupt: the temporary went in `finally`
    else:
        assert len(leftovers) <= 1  # SIGKILL: a tmp-* no reader looks at, swept once stale
        for name in leftovers:
            path = tmp_path / "snapshots" / name
            os.utime(path, (time.time() - STALE_SECONDS - 1, time.time() - STALE_SECONDS - 1))
        assert cache.info().swept == len(leftovers)
        assert tmp_names(tmp_path) == []
