#!/usr/bin/env python3
"""Download the real third-party abi3 wheels that ``tests/integration/test_ext_real.py`` audits.

    python scripts/fetch_wheels.py [--dest DIR]     # prints the path of each wheel

Each wheel is fetched with ``pip download --no-deps --only-binary=:all: --python-version 3.9
--platform manylinux2014_x86_64 PKG==VERSION`` into ``DIR`` (default ``fixtures/build/wheels``,
or ``$ABIDIFF_WHEEL_CACHE``); a wheel already there is not fetched again.  Needs the network
the first time; the tests skip with a reason when a wheel is absent and cannot be fetched.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = Path(os.environ.get("ABIDIFF_WHEEL_CACHE", ROOT / "fixtures" / "build" / "wheels"))
# (requirement, glob of the wheel it gives): small, real, abi3-tagged
WHEELS = (("bcrypt==4.2.0", "bcrypt-4.2.0-cp39-abi3-manylinux*x86_64.whl"),)


class FetchError(RuntimeError):
    """pip could not download a wheel or an sdist (offline, or the index refused)."""


def download(requirement: str, pattern: str, dest: Path, pip_options: tuple[str, ...], what: str) -> Path:
    """The file of ``requirement`` matching the glob ``pattern`` in ``dest``, downloaded with
    ``pip download --no-deps PIP_OPTIONS`` unless already there (glob also tried lowercase)."""

    def present() -> list[str]:
        return sorted(glob.glob(str(dest / pattern))) or sorted(glob.glob(str(dest / pattern.lower())))

    if present():
        return Path(present()[0])
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", *pip_options, "--dest", str(dest), "--quiet"]
    result = subprocess.run([*command, requirement], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not present():
        raise FetchError(f"pip download {requirement} failed: {result.stderr.strip()[-500:] or f'no {what} matched'}")
    return Path(present()[0])


WHEEL_OPTIONS = ("--only-binary=:all:", "--python-version", "3.9", "--platform", "manylinux2014_x86_64")


def fetch(requirement: str, pattern: str, dest: Path = DEFAULT_DEST) -> Path:
    """The wheel of ``requirement``, downloaded into ``dest`` unless already there."""
    return download(requirement, pattern, dest, WHEEL_OPTIONS, "wheel")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="cache directory")
    args = parser.parse_args()
    status = 0
    for requirement, pattern in WHEELS:
        try:
            print(fetch(requirement, pattern, args.dest))
        except (FetchError, subprocess.TimeoutExpired) as exc:
            print(f"fetch_wheels: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
