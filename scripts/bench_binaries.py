#!/usr/bin/env python3
"""How fast, and in how much memory, the binary readers work on a real libpython.

    python scripts/bench_binaries.py [LIBRARY] [--dwarf INTERPRETER]

``bench_exports`` is meant to be merged into scripts/bench.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

DEFAULT_LIBRARY = "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0"
DEFAULT_INTERPRETER = "/root/.pyenv/versions/3.13.0/bin/python3.13"


def bench_exports(path: str = DEFAULT_LIBRARY, repeat: int = 3) -> dict[str, Any]:
    """Best-of-``repeat`` wall time of reading the exports of ``path``, the peak of Python
    allocations during one read (tracemalloc) and the process's peak RSS growth."""
    from abidiff.binaries import read_binary
    from abidiff.model import BinaryRole

    read_binary(path, BinaryRole.LIBPYTHON)  # imports and page cache warm
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        binaries = read_binary(path, BinaryRole.LIBPYTHON)
        best = min(best, time.perf_counter() - started)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    read_binary(path, BinaryRole.LIBPYTHON)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "file": path,
        "file_bytes": os.path.getsize(path),
        "symbols": sum(len(b.symbols) for b in binaries),
        "seconds": best,
        "tracemalloc_peak_bytes": peak,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "max_rss_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before,
    }


def bench_dwarf(path: str = DEFAULT_LIBRARY, interpreter: str = DEFAULT_INTERPRETER) -> dict[str, Any]:
    """Wall time and Python peak memory of the DWARF cross-check of ``path`` against the
    headers of ``interpreter``."""
    from abidiff.binaries.dwarf import check_layouts
    from abidiff.builder import snapshot_of

    records = snapshot_of(interpreter).records
    tracemalloc.start()
    started = time.perf_counter()
    check = check_layouts(path, records)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "file": path,
        "compared": len(check.compared),
        "absent": len(check.absent),
        "warnings": len(check.warnings),
        "seconds": seconds,
        "tracemalloc_peak_bytes": peak,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("library", nargs="?", default=DEFAULT_LIBRARY)
    parser.add_argument("--dwarf", metavar="INTERPRETER", help="also time the DWARF cross-check against its headers")
    args = parser.parse_args()
    for key, value in bench_exports(args.library).items():
        print(f"exports.{key}: {value}")
    if args.dwarf:
        for key, value in bench_dwarf(args.library, args.dwarf).items():
            print(f"dwarf.{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
