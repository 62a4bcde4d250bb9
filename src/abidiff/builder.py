"""From a build spec to a :class:`~abidiff.model.Snapshot`: sources, then the readers."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from abidiff import interrupts
from abidiff import snapshot as snapshot_io
from abidiff.errors import BuildSpecError
from abidiff.model import Binary, BinaryFormat, BinaryRole, Build, ManifestEntry, Record, ReleaseLevel, Snapshot
from abidiff.options import BuildOptions
from abidiff.sources import STABLE_ABI_NAME, Library, ResolvedBuild, SpecKind, resolve

if TYPE_CHECKING:
    from abidiff.cache import SnapshotCache
    from abidiff.sources.gitref import GitRefPlan

# libpython3.13.so.1.0, libpython3.6m.so, libpython3.13t.dylib, python313.dll, python313_d.dll,
# .../Python.framework/Versions/3.13/Python
_VERSION_PATTERNS = (
    re.compile(r"libpython(\d)\.(\d+)[a-z]*\.(?:so|dylib|a)"),
    re.compile(r"^python(\d)(\d+)[a-z_]*\.dll$", re.IGNORECASE),
    re.compile(r"Versions/(\d)\.(\d+)[a-z]*/Python$"),
)
_V = TypeVar("_V")
_TARGET_OS = {
    BinaryFormat.ELF: "unknown-linux-gnu",
    BinaryFormat.PE: "pc-windows-msvc",
    BinaryFormat.MACHO: "apple-darwin",
}


# what resolving_once() has found: (spec,) -> its ResolvedBuild, (resolved, options) -> its key
_found: dict[object, object] | None = None


@contextlib.contextmanager
def resolving_once() -> Iterator[None]:
    """Within it, each build is resolved once: a git ref by one ``rev-parse``, an interpreter
    by one probe, a local build's inputs hashed once, though a command first asks for the
    keys of its snapshots (:func:`snapshot_keys`, to find a cached report) and then makes
    them.  A scope, not a memory of the process: a build may change between two commands."""
    global _found
    from abidiff.sources.gitref import resolving_once as refs_once

    with refs_once():
        outer = _found
        if outer is None:
            _found = {}
        try:
            yield
        finally:
            if outer is None:
                _found = None


def _remembered(key: object, compute: Callable[[], _V]) -> _V:
    memo = _found
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[return-value]


def _resolve(spec: str) -> ResolvedBuild:
    return _remembered((spec,), lambda: resolve(spec))


def _key_of(resolved: ResolvedBuild, options: BuildOptions) -> str:
    return _remembered((resolved, options), lambda: _local_key(resolved, options))


def snapshot_of(
    spec: str,
    options: BuildOptions | None = None,
    *,
    extra_libraries: tuple[str, ...] = (),
    dwarf: bool = False,
) -> Snapshot:
    """Resolve ``spec`` and read everything it names into one snapshot.

    A spec that is no path and no program on PATH is a git ref of ``options.repo`` (or
    ``git:REF``).  Snapshots of everything but snapshot files go through the cache of
    ``options`` (keyed by the content of their inputs) unless ``use_cache`` is off.
    ``extra_libraries`` (``--lib FILE``) add binaries, or replace the build's libpython or
    stable-ABI library when they are one.  ``dwarf`` cross-checks the header layouts with
    the DWARF of ELF binaries that carry it (seconds for a libpython: opt-in).
    """
    options = options or BuildOptions()
    options = replace(options, libs=options.libs + extra_libraries, dwarf=options.dwarf or dwarf)
    found = _lookup(spec, options)
    return found if isinstance(found, Snapshot) else found.make()


def snapshots_of(
    specs: Sequence[str], options: BuildOptions | None = None, *, ready: Callable[[str], None] | None = None
) -> list[Snapshot]:
    """The snapshots of several builds.  Those the cache holds are read first; when more
    than one must be made, each is made in a thread of its own and their header
    configurations are parsed by one shared pool of worker processes.  ``ready(spec)`` is
    called (from any thread) as each snapshot is ready: progress for the caller to show."""
    options = options or BuildOptions()
    if len(specs) > 1:  # interpreters answer their sysconfig probe at the same time
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(specs)) as threads:
            found = interrupts.gather(threads, lambda spec: _lookup(spec, options), specs)
    else:
        found = [_lookup(spec, options) for spec in specs]
    if ready is not None:
        for spec, item in zip(specs, found, strict=True):
            if isinstance(item, Snapshot):
                ready(spec)

    def make(item: _Pending) -> Snapshot:
        snapshot = item.make()
        if ready is not None:
            ready(item.spec)
        return snapshot

    pending = [item for item in found if isinstance(item, _Pending)]
    if len(pending) > 1:
        from abidiff.headers import shared_pool

        with shared_pool(), concurrent.futures.ThreadPoolExecutor(max_workers=len(pending)) as threads:
            made = dict(zip(map(id, pending), interrupts.gather(threads, make, pending), strict=True))
    else:
        made = {id(item): make(item) for item in pending}
    return [item if isinstance(item, Snapshot) else made[id(item)] for item in found]


def snapshot_keys(specs: Sequence[str], options: BuildOptions | None = None) -> list[str | None]:
    """What each build's snapshot is made from, as a digest, found without reading or making
    the snapshot: its cache key (a local build, a git ref whose ``pyconfig.h`` is known), or a
    digest of a snapshot file's bytes.  None where it is not known before the snapshot is made,
    or cannot be found (the caller then makes the snapshots, which says why).  For caches of
    what is computed from snapshots (``abidiff series``); empty-handed with ``--no-cache``."""
    from abidiff.errors import AbidiffError
    from abidiff.sources import gitref

    options = options or BuildOptions()
    try:
        cache = _cache(options)
    except (AbidiffError, OSError):
        cache = None
    if cache is None:
        return [None] * len(specs)

    def key_of(spec: str) -> str | None:

        try:
            if spec.startswith(gitref.GIT_PREFIX) or (is_git_spec(spec) and not _ref_before_program(spec)):
                plan = gitref.plan_gitref(spec, options, cache=cache)
                return None if options.libs else plan.cache_key
            resolved = _resolve(spec)
            if resolved.kind != SpecKind.SNAPSHOT:
                return _key_of(resolved, options)
            if options.libs or resolved.snapshot_path is None:
                return None
            with open(resolved.snapshot_path, "rb") as handle:
                return hashlib.sha256(b"abidiff-snapshot-file\0" + handle.read()).hexdigest()
        except (AbidiffError, OSError):
            return None

    if len(specs) > 1:  # interpreters answer their sysconfig probe at the same time
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(specs)) as threads:
            return interrupts.gather(threads, key_of, specs)
    return [key_of(spec) for spec in specs]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Pending:
    """A build the cache does not hold: everything needed to make its snapshot."""

    spec: str
    options: BuildOptions
    cache: SnapshotCache | None
    resolved: ResolvedBuild | None = None  # a local build, resolved
    key: str | None = None  # its cache key
    plan: GitRefPlan | None = None  # a git ref, planned

    def make(self) -> Snapshot:
        if self.plan is not None:
            return _make_from_git(self.plan, self.options, self.cache)
        if self.resolved is None:
            raise AssertionError("a pending build is a local build or a git ref")
        snapshot = snapshot_of_resolved(self.resolved, self.options)
        if self.cache is not None and self.key is not None:
            self.cache.put(self.key, snapshot)
        return snapshot


def _lookup(spec: str, options: BuildOptions) -> Snapshot | _Pending:
    """The snapshot of ``spec`` when it is a snapshot file or the cache holds it; else what
    :meth:`_Pending.make` needs to make it."""
    cache = _cache(options)
    if is_git_spec(spec) or _ref_before_program(spec):
        found = _lookup_git(spec, options, cache)
        if found is not None:
            return found
    resolved = _resolve(spec)
    if resolved.kind == SpecKind.SNAPSHOT:
        return snapshot_of_resolved(resolved, options)
    if cache is None:
        return _Pending(spec=spec, options=options, cache=None, resolved=resolved)
    key = _key_of(resolved, options)
    hit = cache.get(key)
    if hit is not None:
        return hit
    return _Pending(spec=spec, options=options, cache=cache, resolved=resolved, key=key)


def snapshot_of_resolved(resolved: ResolvedBuild, options: BuildOptions | None = None) -> Snapshot:
    """The snapshot of an already resolved build (no cache)."""
    options = options or BuildOptions()
    extra_libraries, dwarf = options.libs, options.dwarf
    libraries = merge_libraries(resolved.libraries, extra_libraries)
    if resolved.kind == SpecKind.SNAPSHOT:
        assert resolved.snapshot_path is not None
        loaded = snapshot_io.load(resolved.snapshot_path)
        if not extra_libraries:
            return loaded
        return _with_binaries(loaded, libraries, dwarf=dwarf, keep=loaded.binaries)
    if resolved.include_dir is None:
        if libraries:
            return _library_only(resolved, libraries)
        raise BuildSpecError(
            f"{resolved.spec} has no headers to read ({resolved.origin})",
            hint="give a Python interpreter, an installed prefix or an include directory",
        )
    from abidiff.headers import read_headers  # heavy: loads libclang

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as reader:
        # the binaries are read while the parse workers read the headers
        binaries = reader.submit(_read_libraries, libraries)
        headers = read_headers(
            resolved.include_dir,
            config_dirs=resolved.config_dirs,
            target=resolved.target,
            defines=resolved.defines,
        )
        read = interrupts.result(binaries)
    manifest: tuple[ManifestEntry, ...] = ()
    if resolved.manifest_path is not None:
        from abidiff.sources.manifest import read_manifest

        manifest = read_manifest(resolved.manifest_path)
    level = headers.patchlevel
    build = Build(
        version=level.version,
        hexversion=level.hexversion,
        release_level=level.level,
        release_serial=level.serial,
        target=headers.target,
        pointer_size=headers.pointer_size,
        soabi=resolved.soabi,
        ext_suffix=resolved.ext_suffix,
        config=headers.config,
        origin=resolved.origin,
        headers_only=not libraries,
    )
    declared = {name: getattr(headers, name) for name in _DECLARED}
    from_headers = Snapshot(
        build=build,
        **declared,
        manifest=manifest,
        warnings=(*headers.warnings, *_no_library(resolved, libraries)),
        outside=tuple(sorted(headers.outside)),
        unread=headers.unread,
        unread_names=headers.unread_names,
    )
    in_libpython = tuple(record for record in from_headers.records if record.header not in headers.outside)
    return _with_binaries(from_headers, libraries, dwarf=dwarf, read=read, dwarf_records=in_libpython)


# what a snapshot takes from the headers' data as it is
_DECLARED = ("limited_levels", "records", "functions", "variables", "enums", "typedefs", "macros", "reach")


def _no_library(resolved: ResolvedBuild, libraries: tuple[Library, ...]) -> tuple[str, ...]:
    """A prefix or an interpreter whose libpython was not found: headers only, said so."""
    if libraries or resolved.kind not in (SpecKind.PREFIX, SpecKind.INTERPRETER):
        return ()
    return (
        f"no libpython found for {resolved.origin} (looked in lib/ and lib/<multiarch>/): its exports "
        "are not compared (headers only); give it with --lib FILE",
    )


# --- git refs and the cache ---------------------------------------------------------------


def _cache(options: BuildOptions) -> SnapshotCache | None:
    if not options.use_cache:
        return None
    from abidiff.cache import SnapshotCache

    return SnapshotCache(options.cache_dir)


def is_git_spec(spec: str) -> bool:
    """``git:REF``, or a spec that is neither a path nor a program on PATH."""
    from abidiff.sources.gitref import GIT_PREFIX

    if spec.startswith(GIT_PREFIX):
        return True
    from abidiff.sources import looks_like_path

    if looks_like_path(spec):  # /nonexist, ./build, a.json: never a ref; resolve() gives the path error
        return False
    return not os.path.lexists(os.path.expanduser(spec)) and (os.sep in spec or shutil.which(spec) is None)


def names_git_ref(spec: str) -> bool:
    """Whether ``spec`` is read as a git ref (``git:REF``, a ref-like word that is no path,
    even when a program of that name is on PATH, as ``HEAD``)."""
    return is_git_spec(spec) or _ref_before_program(spec)


def _ref_before_program(spec: str) -> bool:
    """A word with the syntax of a ref that is also a program on PATH (``HEAD`` is one where
    libwww-perl is installed): tried as a git ref first, as docs/git-refs.md says."""
    from abidiff.sources import looks_like_path
    from abidiff.sources.gitref import is_ref_like

    if not is_ref_like(spec) or looks_like_path(spec) or os.path.lexists(os.path.expanduser(spec)):
        return False
    return shutil.which(spec) is not None


def _lookup_git(spec: str, options: BuildOptions, cache: SnapshotCache | None) -> Snapshot | _Pending | None:
    """The cached snapshot of a git ref, or its plan: the ref is resolved here, once.  None
    when ``spec`` names no commit but a program on PATH (the caller resolves that)."""
    from abidiff.sources import gitref

    explicit = spec.startswith(gitref.GIT_PREFIX)
    try:
        plan = gitref.plan_gitref(spec, options, cache=cache)
    except gitref.GitMissing:
        if not explicit and shutil.which(spec) is not None:
            return None
        raise
    except BuildSpecError as exc:
        missing = isinstance(exc, gitref.RefNotFound)
        if explicit or (not missing and gitref.is_ref_like(spec)):  # the ref is fine: an error of the build
            raise
        if missing and shutil.which(spec) is not None:
            return None
        raise BuildSpecError(
            f"no build found for '{spec}': tried a path (none exists); a program on PATH (none); "
            f"a git ref: {exc.message}",
            hint=exc.hint,
        ) from exc
    if cache is not None and not options.libs and plan.cache_key is not None:
        hit = cache.get(plan.cache_key)
        if hit is not None:  # keyed by commit: it may have been made under another name of it
            if hit.build.origin == plan.origin:
                return hit
            return replace(hit, build=replace(hit.build, origin=plan.origin))
    return _Pending(spec=spec, options=options, cache=cache, plan=plan)


def _make_from_git(plan: GitRefPlan, options: BuildOptions, cache: SnapshotCache | None) -> Snapshot:
    from abidiff.sources import gitref

    with _private_dir(cache) as workdir:
        resolved = gitref.build_plan(plan, workdir=workdir, cache=cache, progress=_note)
        snapshot = snapshot_of_resolved(resolved, options)
    if plan.build:  # the library lives in the cache or the private dir: keep its name only
        binaries = tuple(replace(b, path=os.path.basename(b.path)) for b in snapshot.binaries)
        snapshot = replace(snapshot, binaries=binaries)
    else:
        snapshot = replace(snapshot, build=replace(snapshot.build, headers_only=not snapshot.binaries))
    if cache is not None and not options.libs and resolved.cache_key is not None:
        cache.put(resolved.cache_key, snapshot)
    return snapshot


def _note(message: str) -> None:
    """Progress of a configure or make run: one line on stderr (through ``sys.stderr`` as it
    is when the line is written, so that a spinner drawn by the command stays below it)."""
    if not os.environ.get("ABIDIFF_NO_PROGRESS"):
        print(f"abidiff: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _private_dir(cache: SnapshotCache | None) -> Iterator[str]:
    """A private temporary directory, removed afterwards whatever happens (also on SIGINT)."""
    if cache is not None:
        with cache.temporary_dir() as path:
            yield path
        return
    with tempfile.TemporaryDirectory(prefix="abidiff-") as path:
        yield path


def _local_key(resolved: ResolvedBuild, options: BuildOptions) -> str:
    """A digest of every input of a local build: the content of its headers, the identity
    (path, size, modification time) of its binaries, and what else shapes the snapshot."""
    digest = hashlib.sha256()

    def feed(*parts: object) -> None:
        for part in parts:
            digest.update(str(part).encode("utf-8", "surrogateescape") + b"\0")

    from abidiff.fingerprint import reader_fingerprint

    feed(
        "abidiff-local",
        snapshot_io.SCHEMA_VERSION,
        reader_fingerprint(),
        resolved.kind,
        resolved.origin,
        resolved.soabi,
        resolved.ext_suffix,
        resolved.target,
        resolved.defines,
        options.dwarf,
    )
    for root in (resolved.include_dir, *resolved.config_dirs):
        if root is None:
            continue
        for directory, subdirs, files in os.walk(root):
            subdirs.sort()
            for name in sorted(files):
                path = os.path.join(directory, name)
                feed(os.path.relpath(path, root))
                try:  # a FIFO, a loop, a huge or unreadable file: the header reader says what is wrong
                    info = os.stat(path)
                    if not stat.S_ISREG(info.st_mode) or info.st_size > 16 * 1024 * 1024:
                        feed("unhashed", info.st_mode, info.st_size, info.st_mtime_ns)
                        continue
                    with open(path, "rb") as handle:
                        digest.update(hashlib.sha256(handle.read()).digest())
                except OSError as exc:
                    feed("unreadable", exc.errno)
    for library in merge_libraries(resolved.libraries, options.libs):
        from abidiff.binaries import file_identity  # a missing or odd file: a clear BinaryError

        feed(library.role, library.path, *file_identity(library.path))
    return digest.hexdigest()


# --- libraries ----------------------------------------------------------------------------


def library_role(path: str) -> BinaryRole:
    """The role a library given by the user plays, from its file name: libpython
    (``libpython3.13.so.1.0``, ``python313.dll``, a framework's ``Python``), the stable-ABI
    library (``libpython3.so``, ``python3.dll``), or another binary."""
    name = os.path.basename(path)
    if STABLE_ABI_NAME.match(name):
        return BinaryRole.STABLE_ABI
    if guess_version(path) is not None or name == "Python":
        return BinaryRole.LIBPYTHON
    return BinaryRole.OTHER


def merge_libraries(found: tuple[Library, ...], extra: tuple[str, ...]) -> tuple[Library, ...]:
    """The build's libraries with ``extra`` (``--lib``) applied: a libpython or stable-ABI
    library replaces the build's own of that role; anything else is added (role OTHER)."""
    merged = list(found)
    for path in extra:
        real = os.path.realpath(path)
        role = library_role(path)
        if role == BinaryRole.OTHER:  # libpython3.13.so -> libpython3.13.so.1.0: either name tells
            role = library_role(real)
        if role in (BinaryRole.LIBPYTHON, BinaryRole.STABLE_ABI):
            replaced = {BinaryRole.LIBPYTHON, BinaryRole.INTERPRETER} if role == BinaryRole.LIBPYTHON else {role}
            merged = [library for library in merged if library.role not in replaced]
        merged = [library for library in merged if library.path != real]
        merged.append(Library(role=role, path=real))
    return tuple(merged)


def _read_libraries(libraries: tuple[Library, ...]) -> tuple[Binary, ...]:
    from abidiff.binaries import read_binary

    binaries: list[Binary] = []
    for library in libraries:
        binaries.extend(read_binary(library.path, library.role))
    return tuple(binaries)


def _dwarf_warnings(binaries: tuple[Binary, ...], records: tuple[Record, ...]) -> tuple[str, ...]:
    from abidiff.binaries.dwarf import check_layouts, has_dwarf

    warnings: list[str] = []
    for binary in binaries:
        if binary.format != BinaryFormat.ELF or binary.role == BinaryRole.STABLE_ABI:
            continue
        if not has_dwarf(binary.path):
            warnings.append(f"{os.path.basename(binary.path)} has no DWARF: its layouts were not cross-checked")
            continue
        warnings.extend(check_layouts(binary.path, records).warnings)
    return tuple(warnings)


def _with_binaries(
    snapshot: Snapshot,
    libraries: tuple[Library, ...],
    *,
    dwarf: bool,
    keep: tuple[Binary, ...] = (),
    read: tuple[Binary, ...] | None = None,
    dwarf_records: tuple[Record, ...] | None = None,
) -> Snapshot:
    """``snapshot`` with the binaries of ``libraries`` (``read``: already read)."""
    binaries = _read_libraries(libraries) if read is None else read
    read_paths = {binary.path for binary in binaries}
    kept = tuple(binary for binary in keep if binary.path not in read_paths)
    if any(binary.role == BinaryRole.LIBPYTHON for binary in binaries):
        kept = tuple(binary for binary in kept if binary.role not in (BinaryRole.LIBPYTHON, BinaryRole.INTERPRETER))
    warnings = snapshot.warnings
    if dwarf and snapshot.records:
        # only the records libpython is built with (not those of the headers Python.h never
        # includes): a record its DWARF cannot hold makes the reader walk every unit
        warnings += _dwarf_warnings(binaries, snapshot.records if dwarf_records is None else dwarf_records)
    build = replace(snapshot.build, headers_only=False) if binaries else snapshot.build
    return snapshot_io.normalise(replace(snapshot, build=build, binaries=kept + binaries, warnings=warnings))


# --- a library without headers ----------------------------------------------------------


def guess_version(name: str) -> str | None:
    """The feature version a libpython's file name or SONAME tells (``"3.13"``), or None."""
    for pattern in _VERSION_PATTERNS:
        match = pattern.search(os.path.basename(name) if "Versions/" not in name else name)
        if match:
            return f"{match.group(1)}.{int(match.group(2))}"
    return None


def _library_only(resolved: ResolvedBuild, libraries: tuple[Library, ...]) -> Snapshot:
    """A snapshot of exports only: the Build is what the binary tells (its version from its
    SONAME or file name when it has one, else "unknown")."""
    binaries = _read_libraries(libraries)
    main = next((b for b in binaries if b.role == BinaryRole.LIBPYTHON), binaries[0])
    version = None
    for candidate in (main.soname, main.path):
        if candidate:
            version = guess_version(candidate)
            if version is not None:
                break
    major, minor = (int(part) for part in version.split(".")) if version else (0, 0)
    build = Build(
        version=version or "unknown",
        hexversion=(major << 24) | (minor << 16),
        release_level=ReleaseLevel.FINAL,
        release_serial=0,
        target=f"{main.arch}-{_TARGET_OS[main.format]}",
        pointer_size=main.bits // 8,
        origin=resolved.origin,
        headers_only=False,
    )
    return snapshot_io.normalise(Snapshot(build=build, binaries=binaries))
