#!/usr/bin/env python3
"""Regenerate the files derived from the code: the JSON Schemas shipped in the package.

scripts/regen.py          write them
scripts/regen.py --check  print a unified diff of what is stale and exit 1 (the tests run this)
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from collections.abc import Callable
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "src"))


def _generators() -> dict[str, Callable[[], Any]]:
    # the comparison report's schema goes with the rule catalogue: scripts/gen_rules_doc.py
    from abidiff import abi3, ext, snapshot
    from abidiff.report import symbols

    return {
        "src/abidiff/schemas/snapshot.schema.json": snapshot.schema,
        "src/abidiff/schemas/symbols.schema.json": symbols.symbols_schema,
        "src/abidiff/schemas/abi3.schema.json": abi3.schema,
        "src/abidiff/schemas/ext.schema.json": ext.schema,
    }


def render(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args()
    stale = 0
    for relative, generate in sorted(_generators().items()):
        path = os.path.join(ROOT, relative)
        wanted = render(generate())
        try:
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = ""
        if current == wanted:
            continue
        if args.check:
            stale += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    current.splitlines(True), wanted.splitlines(True), relative, relative + " (generated)"
                )
            )
        else:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(wanted)
            print(f"wrote {relative}")
    if stale:
        print(f"\n{stale} derived file(s) are stale: run scripts/regen.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
