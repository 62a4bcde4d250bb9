"""`abidiff TAG1 TAG2 --repo R` end to end, as a release manager runs it: the verdict, the
cache, dangerous refs, interrupts, and the checkout left exactly as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gitrepo import MINIMAL_PYCONFIG, git, git_shim, make_dirty, repo_state

pytestmark = pytest.mark.integration


def abidiff(
    *args: str, cache: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, ABIDIFF_CACHE_DIR=str(cache), ABIDIFF_NO_PROGRESS="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=300
    )


def test_compare_two_tags(cpython_repo: Path, tmp_path: Path) -> None:
    make_dirty(cpython_repo)
    before = repo_state(cpython_repo)
    cache = tmp_path / "cache"
    args = ("v3.12.0a1", "v3.12.0a2", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG)
    proc = abidiff(*args, "--format", "json", cache=cache)
    assert proc.returncode == 4 | 8, proc.stderr  # changed, and broke: a field added to a public struct
    report = json.loads(proc.stdout)
    assert (report["verdict"], report["release_kind"]) == ("abi-breaking", "alpha")
    assert report["old"]["version"] == "3.12.0a1" and report["new"]["version"] == "3.12.0a2"
    entities = {change["entity"] for change in report["changes"] if change["severity"] == "break"}
    assert any("md_state" in entity for entity in entities), entities
    assert report["headers_only"] is True  # no --build: the report says the exports were not compared
    assert repo_state(cpython_repo) == before

    # the second run reads both snapshots from the cache: with no C compiler libclang could
    # not even find stddef.h, so a parse would fail
    second = abidiff(*args, "--format", "json", cache=cache, env={"ABIDIFF_CC": "no-such-compiler"})
    assert second.returncode == 12, second.stderr
    assert second.stdout == proc.stdout
    info = abidiff("cache", "info", cache=cache)
    assert "snapshots: 2" in info.stdout
    assert repo_state(cpython_repo) == before


def test_release_notes_from_two_tags(cpython_repo: Path, tmp_path: Path) -> None:
    proc = abidiff(
        "v3.12.0a1",
        "v3.12.0a2",
        "--repo",
        str(cpython_repo),
        "--pyconfig",
        MINIMAL_PYCONFIG,
        "--format",
        "news",
        cache=tmp_path / "cache",
    )
    assert proc.returncode == 12, proc.stderr
    assert "Breaking changes in the full CPython ABI between 3.12.0a1 and 3.12.0a2" in proc.stdout
    assert "(CPython ABI break) new field md_state added to the PyModuleObjectLike struct" in proc.stdout


def test_same_tag_twice_is_no_change(cpython_repo: Path, tmp_path: Path) -> None:
    proc = abidiff(
        "v3.12.0a2", "main~1", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG, cache=tmp_path / "c"
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "ref",
    ["--output=x", "-h", "$(touch p)", "`touch p`", "a;b"],
    ids=["option", "short-option", "subst", "backtick", "semicolon"],
)
def test_dangerous_refs_are_refused(cpython_repo: Path, tmp_path: Path, ref: str) -> None:
    before = repo_state(cpython_repo)
    work = tmp_path / "cwd"
    work.mkdir()
    cache = tmp_path / "cache"
    proc = abidiff(
        "dump", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG, "--", ref, cache=cache, cwd=work
    )
    assert proc.returncode in (1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("abidiff: error: ")
    assert list(work.iterdir()) == []  # no 'p', no 'x'
    assert not (cpython_repo / "p").exists() and not (cpython_repo / "x").exists()
    assert not cache.exists() or not any(cache.rglob("*.json"))
    assert repo_state(cpython_repo) == before


def test_unknown_ref(cpython_repo: Path, tmp_path: Path) -> None:
    proc = abidiff("dump", "v9.9.9", "--repo", str(cpython_repo), "--pyconfig", MINIMAL_PYCONFIG, cache=tmp_path / "c")
    assert proc.returncode == 1
    assert "v9.9.9" in proc.stderr and "abidiff: hint:" in proc.stderr and "Traceback" not in proc.stderr


def compare_args(repo: Path) -> list[str]:
    return ["compare", "v3.12.0a1", "v3.12.0a2", "--repo", str(repo), "--pyconfig", MINIMAL_PYCONFIG]


def test_a_ref_is_resolved_once(cpython_repo: Path, tmp_path: Path) -> None:
    """A cold two-ref compare runs at most 6 git processes (one rev-parse per ref, then
    ls-tree and cat-file per ref); a cached one only the two rev-parse (12 and 4 before)."""
    shim = git_shim(tmp_path)
    cache = tmp_path / "cache"
    cold = abidiff(*compare_args(cpython_repo), cache=cache, env=shim.env())
    assert cold.returncode == 12, cold.stderr
    commands = shim.commands()
    assert len(commands) <= 6, commands
    verbs = sorted(command.split(" -C ", 1)[1].split()[1] for command in commands)
    assert verbs == ["cat-file", "cat-file", "ls-tree", "ls-tree", "rev-parse", "rev-parse"]
    shim.log.unlink()
    cached = abidiff(*compare_args(cpython_repo), cache=cache, env=shim.env())
    assert cached.returncode == 12 and cached.stdout == cold.stdout
    assert [command.split(" -C ", 1)[1].split()[1] for command in shim.commands()] == ["rev-parse", "rev-parse"]


# Where the run is when the signal comes: held at a git command of a phase (the shim waits
# until the test releases it), and, for "one-stored", also until one snapshot is in the cache.
PHASES = {
    "planning": ("rev-parse", False),
    "extracting": ("ls-tree", False),
    "one-stored": ("--full-tree {a2}", True),
}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", PHASES.keys())
def test_interrupted_run_leaves_nothing_behind(cpython_repo: Path, tmp_path: Path, signum: int, phase: str) -> None:
    cache = tmp_path / "cache"
    shim = git_shim(tmp_path)
    hold, wait_for_entry = PHASES[phase]
    hold = hold.format(a2=git(cpython_repo, "rev-parse", "v3.12.0a2^{commit}").strip())
    args = [sys.executable, "-m", "abidiff", *compare_args(cpython_repo), "--format", "json"]
    env = dict(os.environ, ABIDIFF_CACHE_DIR=str(cache), ABIDIFF_NO_PROGRESS="1", ABIDIFF_JOBS="1")
    env.update(shim.env(hold))
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (shim.reached() and (not wait_for_entry or any(cache.glob("snapshots/*.json")))):
            assert proc.poll() is None and time.monotonic() < deadline, f"the run never reached {phase}"
            time.sleep(0.01)
        proc.send_signal(signum)
    finally:
        shim.release()
    _out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    assert proc.returncode == 128 + signum, err
    leftovers = [p for p in cache.rglob("*") if p.name.startswith(("tmp-", ".abidiff-"))] if cache.exists() else []
    if (cache / "tmp").is_dir():
        leftovers += list((cache / "tmp").iterdir())  # the private trees of runs
    assert leftovers == []
    for entry in cache.rglob("*.json") if cache.exists() else []:
        json.loads(entry.read_text())  # every entry that exists is whole
    # and the next run works
    again = abidiff(*args[3:], cache=cache)
    assert again.returncode == 12, again.stderr


def test_failing_configure_from_the_command_line(cpython_repo: Path, tmp_path: Path) -> None:
    """No --pyconfig: abidiff runs ./configure in its private copy; when it fails, the user
    sees the tail of its log and exit status 1, and the checkout is untouched."""
    from tests.integration.test_gitref import CONFIGURE_FAIL, add_configure

    add_configure(cpython_repo, CONFIGURE_FAIL)
    before = repo_state(cpython_repo)
    proc = abidiff("dump", "HEAD", "--repo", str(cpython_repo), cache=tmp_path / "cache")
    assert proc.returncode == 1
    assert proc.stderr.startswith("abidiff: error: ") and "Traceback" not in proc.stderr
    assert "no acceptable C compiler found" in proc.stderr  # the log's tail
    assert "abidiff: hint:" in proc.stderr
    assert repo_state(cpython_repo) == before


def test_configure_progress_on_stderr(cpython_repo: Path, tmp_path: Path) -> None:
    """Without --pyconfig, the configure run is announced on stderr, with its time."""
    from tests.integration.test_gitref import CONFIGURE_OK, add_configure

    add_configure(cpython_repo, CONFIGURE_OK)
    env = {"ABIDIFF_NO_PROGRESS": "", "ABIDIFF_TEST_CONFIGURE_RUNS": str(tmp_path / "runs")}
    proc = abidiff("dump", "HEAD", "--repo", str(cpython_repo), cache=tmp_path / "cache", env=env)
    assert proc.returncode == 0, proc.stderr
    sha = git(cpython_repo, "rev-parse", "HEAD").strip()[:12]
    lines = proc.stderr.splitlines()
    assert lines[0] == f"abidiff: HEAD ({sha}): ./configure --enable-shared …"
    assert lines[-1].startswith(f"abidiff: HEAD ({sha}): ./configure --enable-shared: done in ")
    again = abidiff("dump", "HEAD", "--repo", str(cpython_repo), cache=tmp_path / "cache", env=env)
    assert again.stderr == "" and again.stdout == proc.stdout  # cached: nothing runs, nothing to say


def group_gone(group: int, *, within: float) -> bool:
    """Whether no process of ``group`` is alive (a zombie waiting for init counts as gone)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = subprocess.run(["ps", "-o", "stat=", "-g", str(group)], capture_output=True, text=True).stdout
        if all(state.startswith("Z") for state in states.split()):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_build_stops_make(cpython_repo: Path, tmp_path: Path, signum: int) -> None:
    """Two refs built at once: the signal stops the make that runs (its whole process group)
    and the one waiting for its turn, within seconds; nothing is left in the cache."""
    from tests.integration.test_gitref import add_buildable, need_compiler

    need_compiler()
    add_buildable(cpython_repo)
    (cpython_repo / "README.rst").write_text("one more commit\n")
    git(cpython_repo, "commit", "-qam", "one more")
    before = repo_state(cpython_repo)
    hold = tmp_path / "hold"
    hold.mkdir()
    cache = tmp_path / "cache"
    env = dict(os.environ, ABIDIFF_CACHE_DIR=str(cache), ABIDIFF_NO_PROGRESS="1", ABIDIFF_TEST_MAKE_HOLD=str(hold))
    args = ["HEAD~1", "HEAD", "--build", "--repo", str(cpython_repo)]
    proc = subprocess.Popen([sys.executable, "-m", "abidiff", *args], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(hold.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "make never started"
        time.sleep(0.02)
    (marker,) = hold.iterdir()  # one make at a time
    group = os.getpgid(int(marker.read_text()))
    proc.send_signal(signum)
    sent = time.monotonic()
    _out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 15
    assert proc.returncode == 128 + signum and "Traceback" not in err, err
    assert group_gone(group, within=5.0)  # make and the recipe it ran
    assert [p.name for p in hold.iterdir()] == [marker.name]  # the other ref never started make
    assert not list((cache / "tmp").iterdir()) if (cache / "tmp").exists() else True
    assert not (cache / "artifacts" / "libpython").exists() or not any((cache / "artifacts" / "libpython").iterdir())
    assert repo_state(cpython_repo) == before
