"""A precompiled header of ``pyconfig.h`` and the system headers the build's headers include:
the parses of the ``Py_LIMITED_API`` levels then skip the system headers, two thirds of their
time."""

from __future__ import annotations

import os
from dataclasses import replace

from abidiff.headers import clangext
from abidiff.headers.extract import Extractor
from abidiff.headers.job import MAIN_FILE, ParseJob

PCH_HEADER = "/__abidiff__/system.h"


def make_pch(job: ParseJob, path: str) -> str | None:
    """Write to ``path`` a precompiled header of ``pyconfig.h`` and the system headers the
    build's own headers include directly (in the order the full API includes them), and
    return ``path``; None when it cannot be made (then every level is parsed in full).

    Included first, it leaves what the preprocessor keeps of the build's headers at every
    ``Py_LIMITED_API`` level exactly as it was (a test checks this on every real build);
    the system headers are only not parsed again.  Only what ``Python.h`` includes goes in:
    a third-party header an extra header needs (``curses.h``) could define what changes
    the build's headers (``bool``).
    """
    ci = clangext.cindex()
    index = ci.Index.create()
    plain = replace(job, limited=None, detail=False, pch=None, extra_headers=())
    source, _first = plain.source()
    try:
        tu = index.parse(MAIN_FILE, args=plain.clang_args(), unsaved_files=[(MAIN_FILE, source)])
    except ci.TranslationUnitLoadError:
        return None
    extractor = Extractor(plain)
    names: list[str] = []
    for inclusion in tu.get_includes():
        source_file, included = inclusion.source, inclusion.include
        if extractor.header_of_file(clangext.ci_file_key(source_file), source_file) is None:
            continue
        if extractor.header_of_file(clangext.ci_file_key(included), included) is not None:
            continue
        name = _system_name(included.name, job.system_dirs)
        if name is not None and name not in names:
            names.append(name)
    text = '#include "pyconfig.h"\n' + "".join(f"#include <{name}>\n" for name in names)
    args = ["-x", "c-header", *plain.clang_args()[2:]]
    options = ci.TranslationUnit.PARSE_INCOMPLETE | ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES
    try:
        header = index.parse(PCH_HEADER, args=args, unsaved_files=[(PCH_HEADER, text)], options=options)
        if any(diagnostic.severity >= 3 for diagnostic in header.diagnostics):
            return None
        header.save(path)
    except (ci.TranslationUnitLoadError, ci.TranslationUnitSaveError):
        return None
    return path


def _system_name(path: str, system_dirs: tuple[str, ...]) -> str | None:
    """``/usr/include/stdio.h`` -> ``stdio.h`` (as ``#include <...>`` names it)."""
    real = os.path.realpath(path)
    for directory in system_dirs:
        root = os.path.realpath(directory) + os.sep
        if real.startswith(root):
            return real[len(root) :]
    return None
