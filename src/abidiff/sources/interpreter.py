"""A Python interpreter as a build spec: run it (never import it) and read its sysconfig."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass

from abidiff.errors import InterpreterError

# Runs inside the interpreter under inspection: keep it valid Python 3.6 and print one JSON line.
_PROBE = r"""
import json, os, sys, sysconfig
v = sysconfig.get_config_var
keys = ("INCLUDEPY", "LIBDIR", "LDLIBRARY", "LIBRARY", "SOABI", "EXT_SUFFIX", "MULTIARCH",
        "Py_GIL_DISABLED", "Py_DEBUG", "Py_ENABLE_SHARED", "LIBPL", "BINDIR", "HOST_GNU_TYPE",
        "py_version_nodot", "DLLLIBRARY", "ABIFLAGS")
out = dict((k, v(k)) for k in keys)
try:
    out["config_h"] = sysconfig.get_config_h_filename()
except Exception:
    out["config_h"] = None
out["include"] = sysconfig.get_paths().get("include")
out["version"] = "%d.%d.%d" % sys.version_info[:3]
out["full_version"] = sys.version.split()[0]
out["hexversion"] = sys.hexversion
out["executable"] = os.path.realpath(sys.executable)
out["platform"] = sys.platform
out["prefix"] = sys.prefix
print("ABIDIFF-PROBE " + json.dumps(out, sort_keys=True))
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class InterpreterInfo:
    """What a Python interpreter says of itself when probed: where its headers,
    ``pyconfig.h`` and libpython are, and how it was built (free-threaded, debug, shared)."""

    executable: str
    version: str
    include_dir: str
    config_dirs: tuple[str, ...]
    soabi: str | None
    ext_suffix: str | None
    libdir: str | None
    ldlibrary: str | None
    gil_disabled: bool
    debug: bool
    shared: bool
    platform: str
    prefix: str


# the line of a failed run's stderr that says why: pyenv's shim, Python's fatal errors and
# exceptions, the shell's and the loader's complaints (else the last line)
_CAUSE = re.compile(
    r"^(pyenv: |Fatal Python error|[A-Za-z_.]*(Error|Exception)\b)|command not found|not installed"
    r"|No such file|cannot open shared object|Permission denied",
)
MAX_SHOWN_LINES = 12


def _failed(executable: str, status: int, stderr: str) -> InterpreterError:
    """The error of an interpreter that failed to run: the line that says why in the
    message, what it printed (at most :data:`MAX_SHOWN_LINES` lines) below it."""
    lines = [item.rstrip() for item in stderr.splitlines() if item.strip()]
    cause = next((item.strip() for item in lines if _CAUSE.search(item.strip())), lines[-1].strip() if lines else "")
    if len(lines) > MAX_SHOWN_LINES:
        half = MAX_SHOWN_LINES // 2
        lines = [*lines[:half], "...", *lines[-half:]]
    details = tuple(item for item in lines if item.strip() != cause)
    if cause.startswith("pyenv: "):
        hint = (
            "a pyenv shim found no selected Python version that provides it: install that version "
            "('pyenv install 3.X'), select it ('pyenv shell 3.X'), or give the interpreter's full path"
        )
    else:
        hint = "give a working Python 3 interpreter (3.6 or newer), or its include directory"
    return InterpreterError(
        f"the interpreter {executable} failed to run (exit status {status}): {cause or 'no output'}",
        hint=hint,
        details=details,
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def probe(executable: str, *, timeout: float = 60.0) -> InterpreterInfo:
    """Run ``executable`` in isolated mode and read what sysconfig says of its build."""
    try:
        proc = subprocess.run(
            [executable, "-I", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise InterpreterError(
            f"the interpreter {executable} did not answer within {timeout:.0f} s",
            hint=f"check that it runs: '{executable} -c pass'",
        ) from exc
    except OSError as exc:
        raise InterpreterError(
            f"the interpreter {executable} could not be run: {exc.strerror or exc}",
            hint="give a Python 3 interpreter that runs on this machine",
        ) from exc
    line = next((item for item in proc.stdout.splitlines() if item.startswith("ABIDIFF-PROBE ")), None)
    if proc.returncode != 0 or line is None:
        raise _failed(executable, proc.returncode, proc.stderr)
    try:
        data = json.loads(line[len("ABIDIFF-PROBE ") :])
    except json.JSONDecodeError as exc:
        raise InterpreterError(f"the interpreter {executable} answered nonsense to our sysconfig probe") from exc
    include = _text(data.get("INCLUDEPY")) or _text(data.get("include"))
    if include is None or not os.path.isfile(os.path.join(include, "Python.h")):
        raise InterpreterError(
            f"the interpreter {executable} has no headers: {include or 'INCLUDEPY is unset'} holds no Python.h",
            hint="install its development package (Debian: python3.X-dev) or give an include directory",
        )
    config_dirs: list[str] = []
    config_h = _text(data.get("config_h"))
    if config_h and os.path.dirname(config_h) != include and os.path.isfile(config_h):
        config_dirs.append(os.path.dirname(config_h))
    multiarch = _text(data.get("MULTIARCH"))
    if multiarch:
        # Debian keeps the real pyconfig.h apart: /usr/include/<multiarch>/python3.X/pyconfig.h
        split = os.path.join(os.path.dirname(include), multiarch, os.path.basename(include))
        if os.path.isfile(os.path.join(split, "pyconfig.h")) and split not in config_dirs:
            config_dirs.append(split)
    return InterpreterInfo(
        executable=str(data.get("executable") or executable),
        version=str(data.get("full_version") or data.get("version")),
        include_dir=include,
        config_dirs=tuple(config_dirs),
        soabi=_text(data.get("SOABI")),
        ext_suffix=_text(data.get("EXT_SUFFIX")),
        libdir=_text(data.get("LIBDIR")),
        ldlibrary=_text(data.get("LDLIBRARY")),
        gil_disabled=bool(data.get("Py_GIL_DISABLED")),
        debug=bool(data.get("Py_DEBUG")),
        shared=bool(data.get("Py_ENABLE_SHARED")),
        platform=str(data.get("platform")),
        prefix=str(data.get("prefix")),
    )
