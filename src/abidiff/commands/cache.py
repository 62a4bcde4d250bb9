"""``abidiff cache info|clear``: the snapshot cache."""

from __future__ import annotations

import argparse
from typing import TextIO

from abidiff.commands import common
from abidiff.errors import EXIT_OK

NAME = "cache"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("info", "clear"), help="info: what it holds; clear: empty it")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"the cache directory {common.CACHE_DIR_DEFAULT}",
    )


def run(args: argparse.Namespace, stdout: TextIO, stderr: TextIO) -> int:
    from abidiff.cache import SnapshotCache

    cache = SnapshotCache(args.cache_dir)
    if not cache.persistent:
        common.write_report(
            "no persistent cache: no --cache-dir, $ABIDIFF_CACHE_DIR, $XDG_CACHE_HOME or usable home directory; "
            "each run keeps its snapshots in a private directory removed at exit\n",
            None,
            stdout,
        )
        return EXIT_OK
    if args.action == "clear":
        removed = cache.clear()
        text = f"removed {removed} entries from {cache.directory}\n"
    else:
        info = cache.info()
        artifacts = ", ".join(f"{count} {kind}" for kind, count in info.artifacts) or "none"
        text = (
            f"directory: {info.directory}\n"
            f"snapshots: {info.entries}\n"
            f"artifacts: {artifacts}\n"
            f"logs:      {info.logs}\n"
            f"size:      {info.bytes / 1e6:.1f} MB\n"
        )
    common.write_report(text, None, stdout)
    return EXIT_OK
