#!/usr/bin/env python3
"""Fetch real CPython release sources, and make of them the git repository that
``tests/integration/test_real_checkout.py`` runs abidiff in.

    python scripts/fetch_cpython_sources.py [--dest DIR] [--setup-apt] [--repo] [--warm]

The sources are CPython's pristine release tarballs as Debian ships them (the ``.orig``
tarball of its source packages): 3.11.2 from bookworm's ``python3.11``, 3.13.5 from trixie's
``python3.13``, fetched with ``apt-get source --download-only PKG/SUITE`` (apt checks them
against the signed Sources index; we check their sha256 too).  apt needs a ``deb-src`` entry:
``--setup-apt`` (root) adds one with the URIs and key of the machine's ``deb`` entry, suites
``bookworm trixie``, and runs ``apt-get update``.

Everything goes to ``DIR`` (default ``fixtures/build/cpython-sources``, or
``$ABIDIFF_CPYTHON_SOURCES``); what is there already is not fetched or made again:

- the tarballs;
- with ``--repo``, ``repo-<key>/``: a git repository whose commits ``v3.11.2`` and ``v3.13.5``
  (tags) hold the two trees, with fixed dates so that the commits are the same on every
  machine, and a checkout a developer would have (a configured build in it, an untracked
  file, an edit);
- with ``--warm``, ``abidiff-cache/``: abidiff's cache with ``./configure`` of both commits
  and a ``--build`` of v3.13.5 (minutes), so that the tests find them made.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEST = Path(os.environ.get("ABIDIFF_CPYTHON_SOURCES", ROOT / "fixtures" / "build" / "cpython-sources"))
APT_SOURCES = Path("/etc/apt/sources.list.d")
REPO_FORMAT = 2  # bump when the repository made of the tarballs changes


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    version: str  # 3.13.5: the tag is v3.13.5
    package: str  # python3.13
    suite: str  # trixie
    sha256: str  # of the .orig tarball

    @property
    def pattern(self) -> str:
        return f"{self.package}_{self.version}.orig.tar.*"


SOURCES = (
    Source(
        version="3.11.2",
        package="python3.11",
        suite="bookworm",
        sha256="2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849",
    ),
    Source(
        version="3.13.5",
        package="python3.13",
        suite="trixie",
        sha256="93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640",
    ),
)


class FetchError(RuntimeError):
    """The sources could not be fetched (no apt, no deb-src entry, offline)."""


def _tarball(source: Source, dest: Path) -> Path | None:
    found = [Path(path) for path in sorted(glob.glob(str(dest / source.pattern))) if not path.endswith(".asc")]
    return found[0] if found else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(source: Source, dest: Path = DEFAULT_DEST) -> Path:
    """The ``.orig`` tarball of ``source``, downloaded into ``dest`` unless already there."""
    found = _tarball(source, dest)
    if found is None:
        if shutil.which("apt-get") is None:
            raise FetchError("apt-get is not installed: the sources come from Debian's source packages")
        dest.mkdir(parents=True, exist_ok=True)
        command = ["apt-get", "source", "--download-only", "-q", f"{source.package}/{source.suite}"]
        result = subprocess.run(command, cwd=dest, capture_output=True, text=True, timeout=600)
        found = _tarball(source, dest)
        if result.returncode != 0 or found is None:
            message = (result.stderr.strip().splitlines() or ["no tarball"])[-1]
            hint = " (add a deb-src entry: run this script with --setup-apt as root)" if "deb-src" in message else ""
            raise FetchError(f"apt-get source {source.package}/{source.suite} failed: {message}{hint}")
    actual = _sha256(found)
    if actual != source.sha256:
        raise FetchError(f"{found} has sha256 {actual}, not {source.sha256}: remove it and fetch again")
    return found


def setup_apt() -> None:
    """Add a deb-src entry like the machine's deb entry (suites bookworm trixie), then update."""
    target = APT_SOURCES / "abidiff-deb-src.sources"
    if not target.exists():
        uris, key = "http://deb.debian.org/debian", "/usr/share/keyrings/debian-archive-keyring.gpg"
        for path in sorted(APT_SOURCES.glob("*.sources")):
            fields = dict(
                line.split(":", 1) for line in path.read_text().splitlines() if ":" in line and line[0] != "#"
            )
            if fields.get("Types", "").strip() == "deb" and "security" not in fields.get("URIs", ""):
                uris, key = fields["URIs"].strip(), fields.get("Signed-By", key).strip()
                break
        entry = f"Types: deb-src\nURIs: {uris}\nSuites: bookworm trixie\nComponents: main\nSigned-By: {key}\n"
        target.write_text(entry)
    subprocess.run(["apt-get", "update", "-q"], check=True, timeout=600)


# --- the git repository ------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="abidiff tests",
        GIT_AUTHOR_EMAIL="tests@abidiff.invalid",
        GIT_COMMITTER_NAME="abidiff tests",
        GIT_COMMITTER_EMAIL="tests@abidiff.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(key, None)
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise FetchError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _unpack(tarball: Path, repo: Path) -> None:
    """The tree of ``tarball`` (without its top directory) as the content of ``repo``."""
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    with tempfile.TemporaryDirectory(dir=repo.parent) as scratch, tarfile.open(tarball) as archive:
        if hasattr(tarfile, "data_filter"):  # 3.12, and 3.10.12 / 3.11.4 on
            archive.extractall(scratch, filter="data")
        else:
            archive.extractall(scratch)  # a release tarball whose sha256 was checked
        (top,) = Path(scratch).iterdir()
        for child in top.iterdir():
            child.rename(repo / child.name)


def _commit(repo: Path, source: Source, day: int) -> None:
    date = f"2025-01-{day:02d}T12:00:00Z"
    os.environ.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    try:
        _git(repo, "add", "-A", "-f")
        _git(repo, "commit", "-q", "--no-verify", "-m", f"Python {source.version}")
        _git(repo, "tag", "-a", "-m", f"Python {source.version}", f"v{source.version}")
    finally:
        del os.environ["GIT_AUTHOR_DATE"], os.environ["GIT_COMMITTER_DATE"]


def _make_dirty(repo: Path) -> None:
    """A developer's checkout: a configured build (ignored files), an untracked file, an edit."""
    with (repo / ".git" / "info" / "exclude").open("a") as out:
        out.write("/pyconfig.h\n/Makefile\n/build/\n")
    (repo / "pyconfig.h").write_text("#error the checkout's own pyconfig.h must never be read\n")
    (repo / "Makefile").write_text("all:\n\tfalse\n")
    (repo / "build").mkdir()
    (repo / "build" / "python.o").write_bytes(b"\x7fELF not really\n")
    (repo / "notes.txt").write_text("untracked\n")
    with (repo / "README.rst").open("a") as out:
        out.write("\nan edit not committed\n")


def _build_repo(tarballs: list[tuple[Source, Path]]) -> Callable[[Path], None]:
    def build_into(repo: Path) -> None:
        _git(repo.parent, "init", "-q", "-b", "main", str(repo))
        _git(repo, "config", "gc.auto", "0")  # no gc in the background: ours comes last
        for day, (source, tarball) in enumerate(tarballs, start=1):
            _unpack(tarball, repo)
            _commit(repo, source, day)
        _git(repo, "gc", "-q")  # a few pack files: quick to check byte for byte after each test
        _make_dirty(repo)

    return build_into


def build_once(final: Path, build_into: Callable[[Path], None]) -> Path:
    """``final``, made by ``build_into`` in a scratch directory beside it and renamed."""
    if not final.is_dir():
        final.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
        try:
            build_into(scratch / "repo")
            try:
                os.rename(scratch / "repo", final)
            except OSError:  # another process won the race
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return final


def make_repo(dest: Path = DEFAULT_DEST) -> Path:
    """The git repository of the two releases (fetched first when needed)."""
    if shutil.which("git") is None:
        raise FetchError("git is not installed")
    tarballs = [(source, fetch(source, dest)) for source in SOURCES]
    key = hashlib.sha256(f"{REPO_FORMAT}:{[s.sha256 for s in SOURCES]}".encode()).hexdigest()[:16]
    return build_once(dest / f"repo-{key}", _build_repo(tarballs))


def warm(dest: Path = DEFAULT_DEST) -> None:
    """Run what the tests run cold: configure of both tags, the --build of v3.13.5."""
    repo, cache = make_repo(dest), dest / "abidiff-cache"
    for args in (["v3.11.2"], ["v3.13.5"], ["--build", "v3.13.5"]):
        command = [sys.executable, "-m", "abidiff", "dump", "--repo", str(repo), "--cache-dir", str(cache), *args]
        subprocess.run([*command, "-o", os.devnull], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help="where to put everything")
    parser.add_argument("--setup-apt", action="store_true", help="add a deb-src entry and run apt-get update (root)")
    parser.add_argument("--repo", action="store_true", help="also make the git repository of the two releases")
    parser.add_argument("--warm", action="store_true", help="also configure both tags and build v3.13.5 (minutes)")
    args = parser.parse_args()
    try:
        if args.setup_apt:
            setup_apt()
        for source in SOURCES:
            print(fetch(source, args.dest))
        if args.repo or args.warm:
            print(make_repo(args.dest))
        if args.warm:
            warm(args.dest)
    except (FetchError, OSError, subprocess.SubprocessError) as exc:
        print(f"fetch_cpython_sources: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
