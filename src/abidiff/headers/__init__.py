"""Read a CPython header tree through libclang: every configuration, in a process pool.

``clang.cindex`` never leaves this package: callers get model values.  The modules:
``tree`` (which headers, checked against the limits), ``patchlevel`` (the version),
``job`` (what one parse is given and gives back), ``parse`` (one parse), ``extract``
(cursors to model values), ``macros``, ``pch``, ``combine`` (tiers from every
configuration), ``pool`` (the worker processes), ``clangext`` and ``toolchain``.
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from abidiff import interrupts
from abidiff.errors import BuildSpecError
from abidiff.headers.combine import combine, needs_detail
from abidiff.headers.job import ParseJob, Scan
from abidiff.headers.macros import names_in
from abidiff.headers.parse import scan
from abidiff.headers.patchlevel import PatchLevel, read_patchlevel
from abidiff.headers.pch import make_pch
from abidiff.headers.pool import jobs, pool, shared_pool
from abidiff.headers.tiers import CONFIG_HEADER
from abidiff.headers.toolchain import host_toolchain
from abidiff.headers.tree import check_path, read_tree
from abidiff.model import ConfigValue, Enum, Function, Macro, Reach, Record, Typedef, UnreadHeader, Variable

__all__ = ["HeaderData", "limited_api_blocker", "limited_levels", "read_headers", "shared_pool"]

# configuration macros that change layouts or the ABI; flags are recorded as 0 when undefined
CONFIG_FLAGS = (
    "Py_DEBUG",
    "Py_GIL_DISABLED",
    "Py_REF_DEBUG",
    "Py_TRACE_REFS",
    "Py_STATS",
    "Py_ENABLE_SHARED",
    "WITH_PYMALLOC",
    "MS_WINDOWS",
    "MS_WIN64",
)
CONFIG_SIZES = (
    "SIZEOF_VOID_P",
    "SIZEOF_SIZE_T",
    "SIZEOF_INT",
    "SIZEOF_LONG",
    "SIZEOF_LONG_LONG",
    "SIZEOF_WCHAR_T",
    "SIZEOF_TIME_T",
    "SIZEOF_PID_T",
    "SIZEOF_LONG_DOUBLE",
    "ALIGNOF_MAX_ALIGN_T",
)
FIRST_LIMITED_MINOR = 2  # Py_LIMITED_API=0x03020000 is the first stable ABI (PEP 384)


@dataclass(frozen=True, slots=True, kw_only=True)
class HeaderData:
    """What the headers of one build declare: the header part of a snapshot."""

    patchlevel: PatchLevel
    target: str
    pointer_size: int
    limited_levels: tuple[str, ...]
    config: tuple[ConfigValue, ...]
    records: tuple[Record, ...]
    functions: tuple[Function, ...]
    variables: tuple[Variable, ...]
    enums: tuple[Enum, ...]
    typedefs: tuple[Typedef, ...]
    macros: tuple[Macro, ...]
    warnings: tuple[str, ...] = ()
    reach: tuple[Reach, ...] = ()  # what the static inline functions and macros use (headers.reach)
    # the headers Python.h does not reach (datetime.h, py_curses.h, ...): their structs are
    # extension modules', so libpython's DWARF does not hold them
    outside: frozenset[str] = frozenset()
    # the public headers that could not be read (why: in warnings); their declarations are missing
    unread: tuple[str, ...] = ()
    unread_names: tuple[UnreadHeader, ...] = ()  # of those that do not parse: the names they spell


_NO_LIMITED_API = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(Py_GIL_DISABLED|Py_TRACE_REFS)\b", re.MULTILINE)


def limited_api_blocker(include_dir: str, config_dirs: tuple[str, ...]) -> str | None:
    """The configuration macro that makes ``Python.h`` refuse ``Py_LIMITED_API`` (an
    ``#error`` in free-threaded and Py_TRACE_REFS builds), if this tree's pyconfig.h sets one."""
    for directory in (*config_dirs, include_dir):
        try:
            with open(os.path.join(directory, "pyconfig.h"), encoding="utf-8", errors="replace") as handle:
                found = _NO_LIMITED_API.search(handle.read())
        except OSError:
            continue
        if found:
            return found.group(1)
    return None


def limited_levels(patchlevel: PatchLevel) -> tuple[str, ...]:
    if patchlevel.major != 3:
        return ()
    return tuple(f"3.{minor}" for minor in range(FIRST_LIMITED_MINOR, patchlevel.minor + 1))


def _scan_all(full_job: ParseJob, level_jobs: list[ParseJob]) -> tuple[Scan, list[Scan]]:
    """Scan every configuration, in a process pool when there is more than one core.

    First the full API and, beside it, a precompiled header of the system headers
    (:func:`make_pch`) for the limited levels.  The levels to read in detail
    (``job.detail``) are read only where the full API's preprocessor skipped, so they wait
    for it.  A level read without detail is read again in detail when :func:`needs_detail`
    says it keeps code no detailed scan knows.  Whatever happens (also SIGINT), the
    workers are stopped before the temporary directory of the precompiled header is removed.
    """
    workers = min(jobs(), 1 + len(level_jobs))
    scratch = tempfile.mkdtemp(prefix="abidiff-pch-")
    try:
        pch_path = os.path.join(scratch, "system.pch") if level_jobs and full_job.target is None else None
        if workers <= 1:
            return _scan_sequentially(full_job, level_jobs, pch_path)
        with pool(workers) as executor:
            return _scan_in(executor, full_job, level_jobs, pch_path)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _scan_in(
    executor: concurrent.futures.ProcessPoolExecutor,
    full_job: ParseJob,
    level_jobs: list[ParseJob],
    pch_path: str | None,
) -> tuple[Scan, list[Scan]]:
    full_future = executor.submit(scan, full_job)
    pch = interrupts.result(executor.submit(make_pch, full_job, pch_path)) if pch_path else None
    plain = [replace(job, pch=pch) for job in level_jobs if not job.detail]
    futures = {executor.submit(scan, job): job for job in plain}
    full = interrupts.result(full_future)
    reference = full.reference()
    wanted = [replace(job, pch=pch, reference=reference) for job in level_jobs if job.detail]
    targeted = [executor.submit(scan, job) for job in wanted]
    detailed = [full, *(interrupts.result(future) for future in targeted)]
    results: dict[str | None, Scan] = {item.limited: item for item in detailed[1:]}
    redo: dict[str | None, concurrent.futures.Future[Scan]] = {}
    for future in interrupts.completed(futures):
        item = future.result()
        results[item.limited] = item
        if needs_detail(item, full, detailed):
            job = futures[future]
            redo[job.limited] = executor.submit(scan, replace(job, detail=True, reference=reference))
    for level, redone in redo.items():
        results[level] = interrupts.result(redone)
    return full, [results[job.limited] for job in level_jobs]


def _scan_sequentially(full_job: ParseJob, level_jobs: list[ParseJob], pch_path: str | None) -> tuple[Scan, list[Scan]]:
    full = scan(full_job)
    pch = make_pch(full_job, pch_path) if pch_path else None
    reference = full.reference()
    wanted = [job for job in level_jobs if job.detail]
    detailed = [full, *(scan(replace(job, pch=pch, reference=reference)) for job in wanted)]
    results: dict[str | None, Scan] = {item.limited: item for item in detailed[1:]}
    for job in level_jobs:
        if job.detail:
            continue
        item = scan(replace(job, pch=pch))
        if needs_detail(item, full, detailed):
            item = scan(replace(job, pch=pch, detail=True, reference=reference))
        results[job.limited] = item
    return full, [results[job.limited] for job in level_jobs]


def _config(macros: tuple[Macro, ...]) -> tuple[ConfigValue, ...]:
    by_name = {macro.name: macro for macro in macros}
    values = []
    for name in CONFIG_FLAGS:
        macro = by_name.get(name)
        values.append(
            ConfigValue(name=name, value=0 if macro is None else (macro.value if macro.value is not None else 1))
        )
    for name in CONFIG_SIZES:
        macro = by_name.get(name)
        if macro is not None and macro.value is not None:
            values.append(ConfigValue(name=name, value=macro.value))
    return tuple(sorted(values, key=lambda item: item.name))


E = TypeVar("E")


def _only(items: tuple[object, ...], kind: type[E]) -> tuple[E, ...]:
    return tuple(item for item in items if isinstance(item, kind))


def _stable_names() -> frozenset[str]:
    """Every name CPython's stable-ABI manifest (the one shipped with abidiff) has held."""
    from abidiff.data import stable_abi

    return frozenset(entry.name for entry in stable_abi().entries)


def read_headers(
    include_dir: str,
    *,
    config_dirs: tuple[str, ...] = (),
    target: str | None = None,
    defines: tuple[str, ...] = (),
    with_limited: bool = True,
) -> HeaderData:
    """Parse the full API and every ``Py_LIMITED_API`` level of one header tree: ``Python.h``
    and every other public header of the tree (see :mod:`abidiff.headers.tree`)."""
    check_path(include_dir, "include directory")
    if not os.path.isfile(os.path.join(include_dir, "Python.h")):
        raise BuildSpecError(f"{include_dir} holds no Python.h", hint="give the include directory of a CPython build")
    tree = read_tree(include_dir, config_dirs)
    patchlevel = read_patchlevel(include_dir)
    toolchain = host_toolchain()
    base = ParseJob(
        include_dir=include_dir,
        config_dirs=config_dirs,
        system_dirs=toolchain.system_include_dirs,
        target=target,
        defines=defines,
        extra_headers=tree.extra,
        header_paths=tree.paths,
        reach=True,
    )
    levels = limited_levels(patchlevel) if with_limited else ()
    warnings = tree.warnings()
    blocker = limited_api_blocker(include_dir, config_dirs) if levels else None
    if blocker is not None:
        levels = ()
        warnings += (
            f"this build defines {blocker}, which the limited API does not support: no Py_LIMITED_API "
            "level was parsed, so no declaration is tagged limited",
        )

    stable = _stable_names() if tree.extra else frozenset()
    level_extras = tree.extras_declaring(stable)

    def level_job(level: str, detail: bool) -> ParseJob:
        return replace(
            base, limited=level, evaluate_macros=False, detail=detail, reach=False, extra_headers=level_extras
        )

    # the newest and the oldest level in detail: what only Py_LIMITED_API users see lives
    # on at the newest (3.12's _Py_IncRef) or is kept for the oldest (3.13's PyLong_AsPid
    # for Py_LIMITED_API < 3.13); the levels between need only their names
    detailed = {levels[0], levels[-1]} if levels else set()
    full, limited = _scan_all(base, [level_job(level, detail=level in detailed) for level in levels])
    # a header left out of the full API is missing from the snapshot; one left out of a
    # limited level only is not in the limited API (datetime.h is not meant for it)
    warnings += tuple(f"{header} was not read: {why}" for header, why in sorted(full.dropped.items()))
    if full.reach_failed is not None:
        warnings += (
            f"the bodies of the static inline functions do not parse ({full.reach_failed}): what they and "
            "the macros use was not read (no 'reached through' in comparisons)",
        )
    outside = frozenset(header for header in full.included if header not in tree.reached) - {CONFIG_HEADER}
    merged = combine(full, limited, outside=outside, stable=stable)
    return HeaderData(
        patchlevel=patchlevel,
        target=full.target,
        pointer_size=full.pointer_bits // 8,
        limited_levels=levels,
        config=_config(_only(merged["macros"], Macro)),
        records=_only(merged["records"], Record),
        functions=_only(merged["functions"], Function),
        variables=_only(merged["variables"], Variable),
        enums=_only(merged["enums"], Enum),
        typedefs=_only(merged["typedefs"], Typedef),
        macros=_only(merged["macros"], Macro),
        warnings=warnings,
        reach=full.reach,
        outside=outside,
        unread=tuple(sorted({name for name, _why in tree.left_out} | set(full.dropped))),
        unread_names=_unread_names(include_dir, config_dirs, full.dropped),
    )


def _unread_names(include_dir: str, config_dirs: tuple[str, ...], dropped: Iterable[str]) -> tuple[UnreadHeader, ...]:
    """The names each header that does not parse spells (headers of the tree, listed and
    checked like every other: a header the listing refused is never opened here)."""
    found = []
    for header in sorted(dropped):
        paths = (os.path.join(root, header) for root in (include_dir, *config_dirs))
        path = next((path for path in paths if os.path.isfile(path)), None)
        names = names_in(path) if path is not None else None
        if names is not None:
            found.append(UnreadHeader(header=header, names=names))
    return tuple(found)
