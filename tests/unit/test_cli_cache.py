"""``abidiff cache info`` when there is no persistent cache (no usable home)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_cache_info_without_a_home_says_there_is_no_persistent_cache(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ABIDIFF_CACHE_DIR")}
    env["HOME"] = ""
    proc = subprocess.run(
        [sys.executable, "-m", "abidiff", "cache", "info"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("no persistent cache:")
    assert "/.cache" not in proc.stdout
    assert not os.path.exists("/.cache/abidiff")
