#!/usr/bin/env python3
"""`make demo`: compare two real CPython builds of this machine, or the bundled example.

Prefers pyenv's 3.12.1 -> 3.13.0 (a real ABI break between feature releases); else the two newest
pyenv builds of different feature versions; else Debian's python3.11 against pyenv's 3.11; else
the bundled example header trees in fixtures/example (PEP 605's own example of a break).
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYENV = os.environ.get("ABIDIFF_PYENV_ROOT", "/root/.pyenv/versions")


def _pyenv_builds() -> dict[tuple[int, ...], str]:
    found = {}
    for path in glob.glob(os.path.join(PYENV, "3.*", "bin", "python3.*")):
        version = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if path.endswith(("-config", "-gdb.py")) or not version.replace(".", "").isdigit():
            continue
        key = tuple(int(part) for part in version.split("."))
        if key >= (3, 8) and os.access(path, os.X_OK):
            found[key] = path
    return found


def pick() -> tuple[str, str, str]:
    builds = _pyenv_builds()
    if (3, 12, 1) in builds and (3, 13, 0) in builds:
        return builds[(3, 12, 1)], builds[(3, 13, 0)], "pyenv 3.12.1 -> 3.13.0"
    by_feature: dict[tuple[int, ...], tuple[int, ...]] = {}
    for key in sorted(builds):
        by_feature[key[:2]] = key
    if len(by_feature) >= 2:
        old, new = sorted(by_feature.values())[-2:]
        return builds[old], builds[new], f"pyenv {'.'.join(map(str, old))} -> {'.'.join(map(str, new))}"
    debian = "/usr/bin/python3.11"
    same = [path for key, path in builds.items() if key[:2] == (3, 11)]
    if os.access(debian, os.X_OK) and same:
        return debian, same[0], "Debian 3.11 -> pyenv 3.11"
    example = os.path.join(ROOT, "fixtures", "example")
    return os.path.join(example, "old"), os.path.join(example, "new"), "the bundled example (no real builds found)"


def main() -> int:
    old, new, label = pick()
    print(f"abidiff demo: {label}\n  abidiff {old} {new}\n", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, "-m", "abidiff", old, new, *sys.argv[1:]])
    # 0, 4 and 12 are the answers of a comparison (no change, changed, broke); only 1 and 2 are failures
    return 0 if proc.returncode in (0, 4, 12) else proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
