"""Hand-made model values for the tests of pure logic (no headers or binaries are read)."""

from __future__ import annotations

from abidiff.model import Build, ReleaseLevel


def hand_made_build(version: str = "3.13.0a1", level: ReleaseLevel = ReleaseLevel.ALPHA) -> Build:
    """A 64-bit Linux build of ``version`` at release ``level``."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return Build(
        version=version,
        hexversion=(major << 24) | (minor << 16),
        release_level=level,
        release_serial=1,
        target="x86_64-pc-linux-gnu",
        pointer_size=8,
        origin=f"hand-made {version}",
    )
