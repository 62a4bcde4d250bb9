"""One libclang parse of ``#include <Python.h>`` (and the extra public headers) for one
configuration, turned into model values (:func:`scan`).

An extra header (one ``Python.h`` does not include: ``datetime.h``, ``pyexpat.h``) that does
not parse in a configuration (it needs a third-party header this machine lacks, or it is not
meant for ``Py_LIMITED_API``) is left out of that configuration, and the parse made again
without it; the scan names it in ``dropped``.  An error anywhere else is a
:class:`HeaderParseError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

from abidiff import interrupts
from abidiff.errors import HeaderParseError
from abidiff.headers import clangext, reach
from abidiff.headers.extract import EVAL_PREFIX, Extractor, clean_spelling, walk
from abidiff.headers.job import MAIN_FILE, PREREQUISITES, ParseJob, Reference, Scan
from abidiff.headers.macros import macro_candidates
from abidiff.headers.pch import make_pch

__all__ = ["MAIN_FILE", "ParseJob", "Reference", "Scan", "clean_spelling", "make_pch", "scan"]

_MAX_ERRORS_SHOWN = 5


@dataclass(frozen=True, slots=True)
class _Error:
    path: str | None  # None: the command line
    line: int
    message: str


def _errors(tu: Any, first_extra: int) -> list[_Error]:
    """The errors of a parse, but those of our own macro-evaluation lines (that one fails
    only means "not an integer")."""
    found = []
    for diagnostic in tu.diagnostics:
        if diagnostic.severity < 3:  # below Error
            continue
        location = diagnostic.location
        path = location.file.name if location.file else None
        if path == MAIN_FILE and location.line >= first_extra:
            continue
        found.append(_Error(path, location.line, diagnostic.spelling))
    return found


def _shown(error: _Error) -> str:
    """``/path/object.h:12: message``, for an error message (a snapshot warning never holds
    a path: see _why)."""
    if error.path is None:
        return f"<command line>: {error.message}"
    return f"{error.path}:{error.line}: {error.message}"


def _relative(path: str, job: ParseJob) -> str:
    real = os.path.realpath(path)
    for root in (job.include_dir, *job.config_dirs):
        base = os.path.realpath(root) + os.sep
        if real.startswith(base):
            return real[len(base) :].replace(os.sep, "/")
    return os.path.basename(path)


def _parse(index: Any, job: ParseJob, source: str, bodies: bool = False) -> Any:
    ci = clangext.cindex()
    options = ci.TranslationUnit.PARSE_DETAILED_PROCESSING_RECORD
    if not bodies:  # the bodies of static inline functions are only read for reach
        options |= ci.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES
    try:
        return index.parse(MAIN_FILE, args=job.clang_args(), unsaved_files=[(MAIN_FILE, source)], options=options)
    except ci.TranslationUnitLoadError as exc:
        if job.pch is not None:
            return _parse(index, replace(job, pch=None), source, bodies)
        raise HeaderParseError(
            f"libclang could not parse the headers in {job.include_dir}: {exc}",
            hint="check that the directory holds a complete CPython include tree",
        ) from exc


def _culprits(tu: Any, job: ParseJob, errors: list[_Error]) -> dict[str, _Error] | None:
    """The extra header each error comes from (directly or through what it includes), or
    None when one of them comes from anywhere else."""
    owners = job.include_lines()
    extra = {os.path.realpath(os.path.join(job.include_dir, header)): header for header in job.extra_headers}
    parents: dict[str, tuple[str, int]] = {}  # file -> (the file that first included it, line)
    for inclusion in tu.get_includes():
        child = os.path.realpath(inclusion.include.name)
        parent = inclusion.source.name if inclusion.source else MAIN_FILE
        parents.setdefault(child, (parent, inclusion.location.line))
    found: dict[str, _Error] = {}
    for error in errors:
        if error.path is None:
            return None
        path, line = error.path, error.line
        owner = None
        seen: set[str] = set()
        while owner is None and path not in seen:
            seen.add(path)
            if path == MAIN_FILE:
                owner = owners.get(line)
                break
            real = os.path.realpath(path)
            owner = extra.get(real)
            if real not in parents:
                break
            path, line = parents[real]
        if owner is None:
            return None
        found.setdefault(owner, error)
    return found


def _why(header: str, error: _Error, job: ParseJob) -> str:
    """Why an extra header was left out, in a snapshot warning (no absolute path in it:
    a snapshot of the same inputs is the same bytes on every machine)."""
    missing = [name for name in PREREQUISITES.get(header, ()) if not _findable(name, job)]
    if missing:
        return f"it needs {', '.join(missing)}, which this machine lacks"
    message = error.message
    if message.endswith("file not found"):
        return f"it includes {message.removesuffix(' file not found')}, which no include directory holds"
    where = "" if error.path is None or error.path == MAIN_FILE else f"{_relative(error.path, job)}:{error.line}: "
    return f"it does not parse after Python.h ({where}{message})"


def _findable(name: str, job: ParseJob) -> bool:
    return any(os.path.isfile(os.path.join(directory, name)) for directory in (*job.system_dirs, job.include_dir))


def _without(job: ParseJob, culprits: dict[str, _Error], moved: set[str], dropped: dict[str, str]) -> ParseJob:
    """``job`` with the extra headers that failed moved last (once: one may need what a
    header after it declares, as 3.7's ast.h needs node.h), or left out (the second time,
    or when what it includes is missing)."""
    order = list(job.extra_headers)
    last = order[-1]
    for header, error in culprits.items():
        order.remove(header)
        if header in moved or header == last or error.message.endswith("file not found"):
            dropped[header] = _why(header, error, job)
        else:
            moved.add(header)
            order.append(header)
    return replace(job, extra_headers=tuple(order))


def scan(job: ParseJob) -> Scan:
    """Parse one configuration and return what its own headers declare.

    libclang calls back into Python (cursor and field visitors, the inclusion walk), where
    a KeyboardInterrupt could not propagate: SIGINT and SIGTERM wait for the end of the
    scan (a fraction of a second), see :mod:`abidiff.interrupts`.  (The parse pool's
    workers ignore SIGINT and die on SIGTERM: the parent stops them.)

    With ``job.detail`` false nothing is walked: the scan keeps only what the preprocessor
    included and skipped, which with the declarations' places in the detailed scans tells
    what a ``Py_LIMITED_API`` level shows (see :mod:`abidiff.headers.combine`).  With a
    ``job.reference`` (the full API's preprocessor state) only the declarations on lines the
    full API skips are read: those only ``Py_LIMITED_API`` users see.
    """
    with interrupts.deferred():
        return _scan(job)


def _scan(job: ParseJob) -> Scan:
    ci = clangext.cindex()
    index = ci.Index.create()
    candidates = macro_candidates(job) if (job.detail and job.evaluate_macros) else []
    lines = [f"static const __typeof__(({name})) {EVAL_PREFIX}{n} = ({name});" for n, name in enumerate(candidates)]
    evaluations = len(lines)
    generated = reach.plan(job) if (job.reach and job.detail) else None
    bodies = generated is not None
    reach_failed = None
    dropped: dict[str, str] = {}
    moved: set[str] = set()
    for _attempt in range(2 * len(job.extra_headers) + 3):
        source, first_extra = job.source(lines + generated.lines() if generated is not None else lines)
        tu = _parse(index, job, source, bodies)
        errors = _errors(tu, first_extra)
        if not errors:
            break
        # an extra header that does not parse is left out first (with the bodies or without,
        # it is not the headers Python.h includes that fail: reach stays)
        culprits = _culprits(tu, job, errors) if job.extra_headers else None
        if culprits:
            job = _without(job, culprits, moved, dropped)
        elif generated is not None:  # an inline body that does not compile here: read without bodies
            first = errors[0]
            inside = first.path is not None and first.path != MAIN_FILE
            reach_failed = f"{_relative(first.path, job)}:{first.line}: " if inside and first.path else ""
            reach_failed += first.message
            generated, bodies = None, False
        elif job.pch is not None:  # never let the shortcut decide: parse it in full
            job = replace(job, pch=None)
        else:
            break
    if errors:
        level = f"Py_LIMITED_API={job.limited}" if job.limited else "the full API"
        shown = [_shown(error) for error in errors[:_MAX_ERRORS_SHOWN]]
        raise HeaderParseError(
            f"the headers in {job.include_dir} do not parse ({level}): {shown[0]}",
            details=tuple(shown[1:]),
            hint="check the include directory and its pyconfig.h (a header tree of another "
            "platform needs --target); the first libclang errors are listed above",
        )
    triple, pointer_bits = clangext.target_info(tu)
    extractor = Extractor(job)
    result = Scan(limited=job.limited, target=triple, pointer_bits=pointer_bits, detailed=job.detail, dropped=dropped)
    extractor.preprocessor_state(tu, result)
    if job.detail:
        walk(tu, extractor, result, candidates, job.reference)
    if generated is not None:
        result.reach = reach.collect(tu, extractor, result, generated, first_extra + evaluations)
    result.reach_failed = reach_failed
    return result
