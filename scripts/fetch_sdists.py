#!/usr/bin/env python3
"""Download the real third-party sdists whose hand-written C extension
``tests/integration/test_ext_source_real.py`` reads with ``abidiff ext --source``.

    python scripts/fetch_sdists.py [--dest DIR]     # prints the path of each sdist (and wheel)

Each sdist is fetched with ``pip download --no-deps --no-binary=:all: PKG==VERSION`` into
``DIR`` (default ``fixtures/build/sdists``, or ``$ABIDIFF_SDIST_CACHE``); an sdist already
there is not fetched again.  Needs the network the first time; the tests skip with a reason
when an sdist is absent and cannot be fetched.  ``pip download`` of an sdist only downloads
it (with ``--no-build-isolation`` no build dependency is installed; pip still asks the sdist's
build backend for its metadata).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = Path(os.environ.get("ABIDIFF_SDIST_CACHE", ROOT / "fixtures" / "build" / "sdists"))
# (requirement, glob of the sdist it gives, the C file of the extension in it): small, real,
# plain C written by hand (MarkupSafe's _speedups.c: PyUnicode_* macros, Py_INCREF, a module def)
SDISTS = (("markupsafe==2.1.5", "MarkupSafe-2.1.5.tar.gz", "src/markupsafe/_speedups.c"),)
# the wheels built from them (a wheel with its sdist: ``abidiff ext WHEEL --source SDIST``),
# fetched as scripts/fetch_wheels.py fetches its own
WHEELS = (("markupsafe==2.1.5", "MarkupSafe-2.1.5-cp39-cp39-manylinux*x86_64.whl"),)


sys.path.insert(0, str(Path(__file__).resolve().parent))
import fetch_wheels  # noqa: E402  (the one pip download of the fixtures' scripts)

FetchError = fetch_wheels.FetchError
# an sdist only; --no-build-isolation: pip installs no build dependencies (it still asks the
# sdist's build backend for its metadata, in this interpreter)
SDIST_OPTIONS = ("--no-binary=:all:", "--no-build-isolation")


def fetch(requirement: str, pattern: str, dest: Path = DEFAULT_DEST) -> Path:
    """The sdist of ``requirement``, downloaded into ``dest`` unless already there."""
    return fetch_wheels.download(requirement, pattern, dest, SDIST_OPTIONS, "sdist")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="cache directory")
    args = parser.parse_args()
    status = 0
    for requirement, pattern, _source in SDISTS:
        try:
            print(fetch(requirement, pattern, args.dest))
        except (FetchError, subprocess.TimeoutExpired) as exc:
            print(f"fetch_sdists: {exc}", file=sys.stderr)
            status = 1
    for requirement, pattern in WHEELS:
        try:
            print(fetch_wheels.fetch(requirement, pattern))
        except (fetch_wheels.FetchError, subprocess.TimeoutExpired) as exc:
            print(f"fetch_sdists: {exc}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
