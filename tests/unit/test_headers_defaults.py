"""Configuration defaults: a ``#define NAME`` inside ``#ifndef NAME`` gives a setting its value
only where the build's configuration did not (``Py_HASH_ALGORITHM``). The header text says
which definitions those are; a change of such a default's value is a configuration change
(ABI503, info), not a constant compiled into extensions (ABI501)."""

from __future__ import annotations

import shutil
from pathlib import Path

from abidiff.builder import snapshot_of
from abidiff.compare import compare
from abidiff.headers.macros import configuration_defaults
from abidiff.rules import Severity
from tests.conftest import MINIMAL_HEADERS

HEADER = """\
#ifndef DEMO_H
#define DEMO_H
/* #ifndef IN_A_COMMENT
#define IN_A_COMMENT 1 */
#ifndef Py_HASH_ALGORITHM
#  ifndef HAVE_ALIGNED_REQUIRED
#    define Py_HASH_ALGORITHM 3
#  else
#    define Py_HASH_ALGORITHM 1
#  endif
#endif
#if !defined(Py_DEFAULT_A)
#define Py_DEFAULT_A 1
#endif
#if ! defined Py_DEFAULT_B
#define Py_DEFAULT_B 2
#endif
#ifndef Py_OTHER
#define Py_FIXED 4
#else
#define Py_OTHER_ELSE 5
#endif
#ifndef Py_CONTINUED
#define Py_CONTINUED \\
    6
#endif
#ifdef Py_SOMETHING
#define Py_SOMETHING 7
#endif
#endif
"""


def test_the_header_text_names_the_defaults_and_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "demo.h"
    path.write_text(HEADER, encoding="utf-8")
    assert configuration_defaults(str(path)) == {
        ("DEMO_H", 2),  # an include guard is one too: the diff passes guards over
        ("Py_HASH_ALGORITHM", 7),
        ("Py_HASH_ALGORITHM", 9),
        ("Py_DEFAULT_A", 13),
        ("Py_DEFAULT_B", 16),
        ("Py_CONTINUED", 24),
    }
    assert configuration_defaults(str(tmp_path / "missing.h")) == frozenset()


def _tree(tmp_path: Path, name: str, value: int) -> str:
    tree = tmp_path / name
    shutil.copytree(MINIMAL_HEADERS, tree)
    with open(tree / "object.h", "a", encoding="utf-8") as handle:
        handle.write(
            f"\n#ifndef Py_DEMO_DEFAULT\n#define Py_DEMO_DEFAULT {value}\n#endif\n#define Py_DEMO_FIXED {value}\n"
        )
    return str(tree)


def test_a_default_changing_value_is_configuration_a_constant_is_a_break(tmp_path: Path) -> None:
    old, new = snapshot_of(_tree(tmp_path, "old", 1)), snapshot_of(_tree(tmp_path, "new", 2))
    macros = {macro.name: macro for macro in new.macros}
    assert (macros["Py_DEMO_DEFAULT"].overridable, macros["Py_DEMO_DEFAULT"].value) == (True, 2)
    assert (macros["Py_DEMO_FIXED"].overridable, macros["Py_DEMO_FIXED"].value) == (False, 2)
    found = {c.entity: c for c in compare(old, new).changes}
    default, fixed = found["Py_DEMO_DEFAULT"], found["Py_DEMO_FIXED"]
    assert (default.rule, default.severity, default.header) == ("ABI503", Severity.INFO, "object.h")
    assert default.message == "build configuration Py_DEMO_DEFAULT: 1 -> 2"
    assert (fixed.rule, fixed.severity) == ("ABI501", Severity.BREAK)
