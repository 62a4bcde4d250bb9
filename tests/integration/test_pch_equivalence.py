"""The precompiled system headers change nothing but speed: at every Py_LIMITED_API level of
every real build, what the preprocessor keeps of the build's own headers (the headers it
includes, the lines it skips, the extra headers it leaves out) is the same with and without
them.  Every public header is parsed, as ``abidiff dump`` does, in the parse workers."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

import pytest

from abidiff.headers import limited_levels
from abidiff.headers.parse import ParseJob, make_pch, scan
from abidiff.headers.patchlevel import read_patchlevel
from abidiff.headers.pool import jobs, pool
from abidiff.headers.toolchain import host_toolchain
from abidiff.headers.tree import read_tree
from abidiff.sources import resolve
from tests.realbuilds import REAL_BUILDS, pyenv_python

pytestmark = pytest.mark.integration

BUILDS: dict[str, Callable[[], str]] = {
    **REAL_BUILDS,
    "3.8.18": lambda: pyenv_python("3.8.18"),
    "3.10.13": lambda: pyenv_python("3.10.13"),
}


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_precompiled_system_headers_keep_the_preprocessor_state(build: str, tmp_path: os.PathLike[str]) -> None:
    resolved = resolve(BUILDS[build]())
    assert resolved.include_dir is not None
    base = ParseJob(
        include_dir=resolved.include_dir,
        config_dirs=resolved.config_dirs,
        system_dirs=host_toolchain().system_include_dirs,
        evaluate_macros=False,
        detail=False,
        extra_headers=read_tree(resolved.include_dir, resolved.config_dirs).extra,
    )
    levels = limited_levels(read_patchlevel(resolved.include_dir))
    with pool(jobs()) as workers:  # the parses of every level, on every core
        made = workers.submit(make_pch, base, os.path.join(tmp_path, "system.pch"))
        plains = [workers.submit(scan, replace(base, limited=level)) for level in levels]
        pch = made.result()
        assert pch is not None, "the precompiled header could not be made"
        fasts = [workers.submit(scan, replace(base, limited=level, pch=pch)) for level in levels]
        scans = [(plain.result(), fast.result()) for plain, fast in zip(plains, fasts, strict=True)]
    for level, (plain, fast) in zip(levels, scans, strict=True):
        # pyconfig.h lives in the precompiled header itself: only the build's other headers count
        assert fast.included - {"pyconfig.h"} == plain.included - {"pyconfig.h"}, level
        assert {h: r for h, r in fast.skipped.items() if h != "pyconfig.h"} == {
            h: r for h, r in plain.skipped.items() if h != "pyconfig.h"
        }, level
        assert fast.dropped == plain.dropped, level
        assert len(plain.included) > 50
