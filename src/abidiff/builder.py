"""From a build spec to a :class:`~abidiff.model.Snapshot`: sources, then the readers."""

from __future__ import annotations

from abidiff import snapshot as snapshot_io
from abidiff.errors import BuildSpecError
from abidiff.model import Build, Snapshot
from abidiff.sources import ResolvedBuild, SpecKind, resolve


def snapshot_of(spec: str) -> Snapshot:
    """Resolve ``spec`` and read everything it names into one snapshot."""
    return snapshot_of_resolved(resolve(spec))


def snapshot_of_resolved(resolved: ResolvedBuild) -> Snapshot:
    if resolved.kind == SpecKind.SNAPSHOT:
        assert resolved.snapshot_path is not None
        return snapshot_io.load(resolved.snapshot_path)
    if resolved.include_dir is None:
        raise BuildSpecError(
            f"{resolved.spec} has no headers to read ({resolved.origin})",
            hint="give a Python interpreter, an installed prefix or an include directory",
        )
    from abidiff.headers import read_headers  # heavy: loads libclang

    headers = read_headers(
        resolved.include_dir,
        config_dirs=resolved.config_dirs,
        target=resolved.target,
        defines=resolved.defines,
    )
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
        headers_only=not resolved.libraries,
    )
    return snapshot_io.normalise(
        Snapshot(
            build=build,
            limited_levels=headers.limited_levels,
            records=headers.records,
            functions=headers.functions,
            variables=headers.variables,
            enums=headers.enums,
            typedefs=headers.typedefs,
            macros=headers.macros,
        )
    )
