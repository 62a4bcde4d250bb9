#!/usr/bin/env python3
"""Generate ``src/abidiff/data/stable_abi.json`` from CPython's ``Misc/stable_abi.toml``.

    git -C cpython show SHA:Misc/stable_abi.toml > /tmp/stable_abi.toml
    python scripts/gen_stable_abi_data.py --manifest /tmp/stable_abi.toml --commit SHA
    python scripts/gen_stable_abi_data.py --manifest ... --commit SHA --check   # diff, exit 1 when stale

The input is CPython's ``Misc/stable_abi.toml`` from a checkout of python/cpython; it is not
kept in this repository (only the facts abidiff needs are: names, kinds, ``added``,
``abi_only``, ``ifdef``, struct kinds and members).  The shipped data was made from commit
:data:`SHIPPED_COMMIT` (items up to 3.15).  The manifest is read by
:func:`abidiff.sources.manifest.read_manifest`; feature macros are dropped.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))

from abidiff.data import FILE_NAME, Provenance, StableAbiData, dumps  # noqa: E402
from abidiff.sources.manifest import read_manifest  # noqa: E402

SHIPPED_COMMIT = "f74e4cad2c0413aadb6724a382f19a9e876bb408"
OUTPUT = os.path.join(ROOT, "src", "abidiff", "data", FILE_NAME)


def generate(manifest: str, commit: str) -> str:
    entries = tuple(entry for entry in read_manifest(manifest) if entry.kind != "feature_macro")
    names = [entry.name for entry in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:  # the data is keyed by name: one item per name
        raise SystemExit(f"gen_stable_abi_data: {manifest} lists {', '.join(duplicates)} more than once")
    source = Provenance(repository="python/cpython", path="Misc/stable_abi.toml", commit=commit)
    return dumps(StableAbiData(source=source, entries=entries))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", required=True, help="a Misc/stable_abi.toml of a CPython checkout")
    parser.add_argument("--commit", required=True, help="the python/cpython commit it was taken from")
    parser.add_argument("--check", action="store_true", help="print a diff and exit 1 when the data is stale")
    args = parser.parse_args(argv)
    wanted = generate(args.manifest, args.commit)
    try:
        with open(OUTPUT, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = ""
    if current == wanted:
        return 0
    relative = os.path.relpath(OUTPUT, ROOT)
    if args.check:
        sys.stdout.writelines(
            difflib.unified_diff(current.splitlines(True), wanted.splitlines(True), relative, relative + " (generated)")
        )
        print("stale: run python scripts/gen_stable_abi_data.py", file=sys.stderr)
        return 1
    with open(OUTPUT, "w", encoding="utf-8") as handle:
        handle.write(wanted)
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
