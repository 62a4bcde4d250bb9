#!/usr/bin/env python3
"""abidiff's speed and memory goals, measured as ratios against peers in one run.

    scripts/bench.py                 run every benchmark whose inputs exist here
    scripts/bench.py dump compare    run some
    scripts/bench.py --json FILE     also write the numbers as JSON

Each benchmark prints what it measured, the peer or floor it is measured against, the
ratio and the goal.  Nothing here is a test: goals are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))
PYENV = os.environ.get("ABIDIFF_PYENV_ROOT", "/root/.pyenv/versions")


@dataclass
class Result:
    name: str
    measured: str
    against: str
    ratio: float | None
    goal: str
    met: bool | None
    note: str = ""


BENCHMARKS: dict[str, Callable[[int], Result]] = {}


def benchmark(name: str) -> Callable[[Callable[[int], Result]], Callable[[int], Result]]:
    def register(func: Callable[[int], Result]) -> Callable[[int], Result]:
        BENCHMARKS[name] = func
        return func

    return register


def _best_of(repeat: int, func: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def _abidiff() -> list[str]:
    return [sys.executable, "-m", "abidiff"]


@benchmark("dump")
def bench_dump(repeat: int) -> Result:
    """`abidiff dump` of 3.13.0 (full API + every limited level) against the bare libclang
    parse of the same configurations, one after the other: the floor."""
    python = os.path.join(PYENV, "3.13.0", "bin", "python3.13")
    if not os.path.exists(python):
        return Result("dump", "-", "-", None, "<= 2x floor", None, f"skipped: {python} absent")
    from abidiff.headers import limited_levels
    from abidiff.headers.clangext import cindex
    from abidiff.headers.parse import MAIN_FILE, ParseJob
    from abidiff.headers.patchlevel import read_patchlevel
    from abidiff.headers.toolchain import host_toolchain
    from abidiff.sources import resolve

    resolved = resolve(python)
    assert resolved.include_dir is not None
    ci = cindex()
    system = host_toolchain().system_include_dirs
    levels = (None, *limited_levels(read_patchlevel(resolved.include_dir)))
    jobs = [
        ParseJob(include_dir=resolved.include_dir, config_dirs=resolved.config_dirs, system_dirs=system, limited=level)
        for level in levels
    ]

    def bare_parse() -> None:
        index = ci.Index.create()
        for job in jobs:
            index.parse(
                MAIN_FILE,
                args=job.clang_args(),
                unsaved_files=[(MAIN_FILE, job.source()[0])],
                options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
                | ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES,
            )

    floor = _best_of(repeat, bare_parse)
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    runs = [_run_sampled([*_abidiff(), "dump", "--no-cache", python, "-o", os.devnull], env) for _ in range(repeat)]
    ours = min(elapsed for elapsed, _ in runs)
    ratio = ours / floor
    return Result(
        "dump",
        f"abidiff dump 3.13.0: {ours:.2f} s ({len(levels)} configurations, {os.cpu_count()} cores)",
        f"bare libclang parse of the same {len(levels)} configurations: {floor:.2f} s",
        ratio,
        "<= 2x floor",
        ratio <= 2.0,
    )


def _tree_pss_kib(pid: int) -> int:
    """The proportional set size of a process and all its descendants (Linux /proc), in
    KiB: pages shared by the parse workers (libclang, forked memory) count once in total,
    not once per process as RSS would count them."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return total


def _run_sampled(
    argv: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0, 4, 8, 12)
) -> tuple[float, int]:
    """Wall time and the peak memory (PSS, KiB) of a command's whole process tree, sampled
    every 50 ms (sampling more often steals the CPU it measures): a parse pool's workers count together."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_pss_kib(proc.pid))
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {stderr.strip()[-500:]}")
    return elapsed, peak


def _pyenv(version: str) -> str:
    feature = ".".join(version.split(".")[:2])
    return os.path.join(PYENV, version, "bin", f"python{feature}")


@benchmark("exports")
def bench_exports(repeat: int) -> Result:
    """Reading the exports of libpython3.13.so.1.0 (30 MB with DWARF) against `nm -D
    --defined-only` on the same file; memory: the peak of Python allocations (tracemalloc)."""
    import shutil
    import tracemalloc

    library = os.path.join(PYENV, "3.13.0", "lib", "libpython3.13.so.1.0")
    nm = shutil.which("nm")
    if not os.path.exists(library) or nm is None:
        return Result("exports", "-", "-", None, "well under 1 s", None, f"skipped: {library} or nm absent")
    from abidiff.binaries import read_binary
    from abidiff.model import BinaryRole

    read_binary(library, BinaryRole.LIBPYTHON)  # imports and the page cache warm
    ours = _best_of(repeat, lambda: read_binary(library, BinaryRole.LIBPYTHON))
    peer = _best_of(
        repeat, lambda: subprocess.run([nm, "-D", "--defined-only", library], capture_output=True, check=True)
    )
    tracemalloc.start()
    read_binary(library, BinaryRole.LIBPYTHON)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = os.path.getsize(library)
    return Result(
        "exports",
        f"{ours * 1000:.0f} ms; peak Python memory {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file",
        f"nm -D --defined-only: {peer * 1000:.0f} ms",
        ours / peer,
        "well under 1 s; memory << file size",
        ours < 0.5 and peak < size / 10,
    )


@benchmark("compare")
def bench_compare(repeat: int) -> Result:
    """`abidiff` 3.12.1 -> 3.13.0, cold (no cache: every header configuration parsed, both
    libpythons read) against libabigail's `abidiff` on the same two libpythons."""
    import shutil

    old, new = _pyenv("3.12.1"), _pyenv("3.13.0")
    libs = [os.path.join(PYENV, v, "lib", f"libpython{v[:4]}.so.1.0") for v in ("3.12.1", "3.13.0")]
    abigail = shutil.which("abidiff", path="/usr/bin")
    if not all(os.path.exists(path) for path in (old, new, *libs)):
        return Result(
            "compare", "-", "-", None, "<= 0.2x libabigail, <= 150 MB", None, "skipped: pyenv 3.12.1/3.13.0 absent"
        )
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    ours = [_run_sampled([*_abidiff(), old, new, "--no-cache", "--format", "json"], env) for _ in range(repeat)]
    seconds = min(t for t, _ in ours)
    peak_mb = max(rss for _, rss in ours) / 1024
    if abigail is None:
        return Result(
            "compare",
            f"abidiff (ours) 3.12.1 -> 3.13.0: {seconds:.2f} s, peak {peak_mb:.0f} MB",
            "libabigail's abidiff: absent (Debian abigail-tools)",
            None,
            "<= 0.2x libabigail, <= 150 MB",
            None,
            "install abigail-tools to measure the ratio",
        )
    theirs = [_run_sampled([abigail, *libs], ok=tuple(range(256))) for _ in range(max(1, repeat - 1))]
    their_seconds = min(t for t, _ in theirs)
    their_mb = max(rss for _, rss in theirs) / 1024
    ratio = seconds / their_seconds
    return Result(
        "compare",
        f"abidiff (ours) 3.12.1 -> 3.13.0 cold: {seconds:.2f} s, peak {peak_mb:.0f} MB (PSS of the process tree)",
        f"libabigail abidiff on the two libpythons: {their_seconds:.2f} s, peak {their_mb:.0f} MB",
        ratio,
        "<= 0.2x libabigail, <= 150 MB",
        ratio <= 0.2 and peak_mb <= 150,
    )


@benchmark("cached-gitref")
def bench_cached_gitref(repeat: int) -> Result:
    """`abidiff TAG1 TAG2 --repo R` a second time: both snapshots come from the cache.  R is a
    CPython-like repository made of the include trees of pyenv's 3.12.1 and 3.13.0."""
    import shutil
    import tempfile

    trees = [os.path.join(PYENV, v, "include", f"python{v[:4]}") for v in ("3.12.1", "3.13.0")]
    if not all(os.path.isdir(t) for t in trees) or shutil.which("git") is None:
        return Result("cached-gitref", "-", "-", None, "<= 0.3 s", None, "skipped: pyenv include trees or git absent")
    with tempfile.TemporaryDirectory(prefix="abidiff-bench-") as scratch:
        repo = os.path.join(scratch, "cpython")
        git_env = dict(
            os.environ,
            GIT_AUTHOR_NAME="b",
            GIT_AUTHOR_EMAIL="b@invalid",
            GIT_COMMITTER_NAME="b",
            GIT_COMMITTER_EMAIL="b@invalid",
            GIT_CONFIG_NOSYSTEM="1",
        )
        subprocess.run(["git", "init", "-q", repo], check=True, env=git_env)
        for tree, tag in zip(trees, ("v3.12.1", "v3.13.0"), strict=True):
            include = os.path.join(repo, "Include")
            shutil.rmtree(include, ignore_errors=True)
            shutil.copytree(tree, include, ignore=shutil.ignore_patterns("pyconfig.h", "internal"))
            subprocess.run(["git", "-C", repo, "add", "-A"], check=True, env=git_env)
            subprocess.run(["git", "-C", repo, "commit", "-qm", tag], check=True, env=git_env)
            subprocess.run(["git", "-C", repo, "tag", tag], check=True, env=git_env)
        pyconfig = os.path.join(trees[1], "pyconfig.h")
        env = dict(os.environ, ABIDIFF_NO_PROGRESS="1", ABIDIFF_CACHE_DIR=os.path.join(scratch, "cache"))
        argv = [*_abidiff(), "v3.12.1", "v3.13.0", "--repo", repo, "--pyconfig", pyconfig, "--format", "json"]
        cold, _ = _run_sampled(argv, env)
        warm = min(_run_sampled(argv, env)[0] for _ in range(repeat))
    return Result(
        "cached-gitref",
        f"second run of abidiff v3.12.1 v3.13.0 --repo R: {warm:.2f} s",
        f"the first (cold) run: {cold:.2f} s",
        warm / cold,
        "<= 0.3 s",
        warm <= 0.3,
    )


SERIES_VERSIONS = ("3.6.15", "3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0")


def _children_cpu() -> float:
    """CPU seconds (user + system) of the children reaped so far, their pool workers included."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@benchmark("series")
def bench_series(repeat: int) -> Result:
    """`abidiff series` of the 8 pyenv builds 3.6 -> 3.13 (stand-ins for the pre-releases of one
    feature release): cold (an empty cache: 8 snapshots made in one pool, 7 comparisons) against
    one cold `abidiff 3.12.1 3.13.0 --no-cache` run just before; warm (a second run: every
    snapshot from the cache, 7 comparisons).  CPU seconds too: wall time on a shared machine
    depends on its load, CPU time much less."""
    import tempfile

    goal = "cold <= 3x one cold compare; warm <= 1 s"
    pythons = [_pyenv(version) for version in SERIES_VERSIONS]
    missing = [python for python in pythons if not os.path.exists(python)]
    if missing:
        return Result("series", "-", "-", None, goal, None, f"skipped: {missing[0]} absent")
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    compare_argv = [*_abidiff(), pythons[-2], pythons[-1], "--no-cache", "--format", "json"]

    def timed(argv: list[str]) -> tuple[float, float, int]:
        before = _children_cpu()
        elapsed, peak = _run_sampled(argv, env)
        return elapsed, _children_cpu() - before, peak

    ones, colds, warms = [], [], []
    with tempfile.TemporaryDirectory(prefix="abidiff-bench-") as scratch:
        for number in range(repeat):
            ones.append(timed(compare_argv))
            cache = os.path.join(scratch, f"cache-{number}")  # empty: a cold series
            argv = [*_abidiff(), "series", *pythons, "--cache-dir", cache, "--format", "json"]
            colds.append(timed(argv))
            warms.append(min(timed(argv) for _ in range(2)))
    one, cold, warm = min(ones), min(colds), min(warms)
    ratio = cold[0] / one[0]
    return Result(
        "series",
        f"abidiff series of {len(pythons)} builds 3.6 -> 3.13: cold {cold[0]:.2f} s ({cold[1]:.1f} s CPU, peak "
        f"{cold[2] / 1024:.0f} MB); warm {warm[0]:.2f} s ({warm[1]:.1f} s CPU)",
        f"one cold abidiff 3.12.1 -> 3.13.0 --no-cache: {one[0]:.2f} s ({one[1]:.1f} s CPU)",
        ratio,
        goal,
        ratio <= 3.0 and warm[0] <= 1.0,
        f"CPU ratio cold/compare {cold[1] / one[1]:.2f}; warm/compare {warm[0] / one[0]:.2f}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    # measure abidiff as installed, with its bytecode compiled: an environment that forbids
    # writing .pyc files (PYTHONDONTWRITEBYTECODE) would add ~0.3 s of compiling to every run
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "src", "abidiff")], check=False)
    results = [BENCHMARKS[name](args.repeat) for name in (args.names or BENCHMARKS)]
    from rich.console import Console
    from rich.table import Table

    table = Table(title="abidiff benchmarks")
    for column in ("benchmark", "measured", "against", "ratio", "goal", "met"):
        table.add_column(column, overflow="fold")
    for result in results:
        met = "-" if result.met is None else ("yes" if result.met else "NO")
        ratio = "-" if result.ratio is None else f"{result.ratio:.2f}"
        table.add_row(
            result.name,
            result.measured + (f"\n{result.note}" if result.note else ""),
            result.against,
            ratio,
            result.goal,
            met,
        )
    Console(width=160).print(table)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([asdict(r) for r in results], handle, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
