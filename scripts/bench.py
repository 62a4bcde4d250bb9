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
import resource
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


def _run_command(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one run of a command (RSS of the child processes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 4, 8, 12):
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(after, before)


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
                unsaved_files=[(MAIN_FILE, "#include <Python.h>\n")],
                options=ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
                | ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES,
            )

    floor = _best_of(repeat, bare_parse)
    env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    runs = [_run_command([*_abidiff(), "dump", python, "-o", os.devnull], env) for _ in range(repeat)]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is kept")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
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
