"""``abidiff series`` on a CPython-like repository made at test time from the real include trees of
pyenv's 3.12.1 and 3.13.0, ``patchlevel.h`` edited to pre-release levels, one tag per release:

    v3.12.0    3.12.1's headers, labelled 3.12.0: the feature base (found by default)
    v3.13.0a1  3.13.0's headers
    v3.13.0a2  unchanged                                  -> b2 (ABI902)
    v3.13.0a3  a field inserted in PyObject               -> a3, stable ABI broken
    v3.13.0a4  PyLong_AsNativeBytes (new in 3.13) changed -> b4 with the feature base, a4 without
    v3.13.0b1  PyObject_Print (public since long) changed -> a5 (ABI902: labelled beta, breaks)
    v3.13.0rc1 unchanged                                  -> rc1: the ABI freezes
    v3.13.0rc2 PyCode_Addr2Line changed                   -> rc2, ABI901 (a break after rc1)

The repository and the snapshots are made once for the module (the session's cache keeps them).
The HTML page is rendered by headless Chromium: the screenshot is not blank and the page logs
no console error."""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from abidiff.cli import main_inner
from abidiff.model import Snapshot
from abidiff.options import BuildOptions
from abidiff.series import SeriesReport, series
from tests.gitrepo import git, need_git
from tests.realbuilds import PYENV

pytestmark = pytest.mark.integration

_PYOBJECT = (
    "object.h",
    "#endif\n\n    PyTypeObject *ob_type;\n};",
    "#endif\n\n    PyTypeObject *ob_type;\n    int ob_example;\n};",
)
_NATIVE_BYTES = (
    "cpython/longobject.h",
    "PyAPI_FUNC(Py_ssize_t) PyLong_AsNativeBytes(",
    "PyAPI_FUNC(int) PyLong_AsNativeBytes(",
)
_PRINT = (
    "cpython/object.h",
    "PyAPI_FUNC(int) PyObject_Print(PyObject *, FILE *, int);",
    "PyAPI_FUNC(long) PyObject_Print(PyObject *, FILE *, int);",
)
_ADDR2LINE = (
    "cpython/code.h",
    "PyAPI_FUNC(int) PyCode_Addr2Line(PyCodeObject *, int);",
    "PyAPI_FUNC(int) PyCode_Addr2Line(PyCodeObject *, long);",
)
# tag, (level macro, serial), edits applied on top of the release before it
_RELEASES = (
    ("v3.13.0a1", ("ALPHA", 1), ()),
    ("v3.13.0a2", ("ALPHA", 2), ()),
    ("v3.13.0a3", ("ALPHA", 3), (_PYOBJECT,)),
    ("v3.13.0a4", ("ALPHA", 4), (_NATIVE_BYTES,)),
    ("v3.13.0b1", ("BETA", 1), (_PRINT,)),
    ("v3.13.0rc1", ("GAMMA", 1), ()),
    ("v3.13.0rc2", ("GAMMA", 2), (_ADDR2LINE,)),
)
TAGS = tuple(tag for tag, _, _ in _RELEASES)


def _include(version: str) -> Path:
    feature = ".".join(version.split(".")[:2])
    path = Path(PYENV) / version / "include" / f"python{feature}"
    if not (path / "Python.h").is_file():
        pytest.skip(f"CPython {version}'s headers are not installed at {path} (pyenv build absent)")
    return path


def _edit(include: Path, relative: str, old: str, new: str) -> None:
    path = include / relative
    text = path.read_text()
    assert text.count(old) == 1, f"{relative}: {old!r} occurs {text.count(old)} times"
    path.write_text(text.replace(old, new))


def _label(include: Path, version: str, level: str, serial: int) -> None:
    text = (include / "patchlevel.h").read_text()
    text = re.sub(r"(#define PY_MICRO_VERSION\s+)\d+", r"\g<1>0", text)
    text = re.sub(r"(#define PY_RELEASE_LEVEL\s+)PY_RELEASE_LEVEL_\w+", rf"\g<1>PY_RELEASE_LEVEL_{level}", text)
    text = re.sub(r"(#define PY_RELEASE_SERIAL\s+)\d+", rf"\g<1>{serial}", text)
    text = re.sub(r'(#define PY_VERSION\s+)"[^"]+"', rf'\g<1>"{version}"', text)
    (include / "patchlevel.h").write_text(text)


def _commit_tree(repo: Path, source: Path, tag: str) -> None:
    shutil.rmtree(repo / "Include", ignore_errors=True)
    shutil.copytree(source, repo / "Include", ignore=shutil.ignore_patterns("pyconfig.h", "internal"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", tag)
    git(repo, "tag", tag)


@pytest.fixture(scope="module")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildOptions]:
    need_git()
    include_312, include_313 = _include("3.12.1"), _include("3.13.0")
    root = tmp_path_factory.mktemp("series-real")
    repo = root / "cpython"
    git(root, "init", "-q", "-b", "main", str(repo))
    work = root / "work"
    shutil.copytree(include_312, work, ignore=shutil.ignore_patterns("internal"))
    _label(work, "3.12.0", "FINAL", 0)
    _commit_tree(repo, work, "v3.12.0")
    shutil.rmtree(work)
    shutil.copytree(include_313, work, ignore=shutil.ignore_patterns("internal"))
    for tag, (level, serial), edits in _RELEASES:
        for edit in edits:
            _edit(work, *edit)
        _label(work, tag.removeprefix("v"), level, serial)
        _commit_tree(repo, work, tag)
    (repo / "README.rst").write_text("main moved on\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "main moves on")
    return repo, BuildOptions(repo=str(repo), pyconfig=str(include_313 / "pyconfig.h"))


@pytest.fixture(scope="module")
def snapshots(release_repo: tuple[Path, BuildOptions]) -> dict[str, Snapshot]:
    """Every release and the feature base, made in one pool (and cached for the CLI runs)."""
    from abidiff.builder import snapshots_of

    _, options = release_repo
    specs = ("v3.12.0", *TAGS)
    return dict(zip(specs, snapshots_of(specs, options), strict=True))


@pytest.fixture(scope="module")
def report(snapshots: dict[str, Snapshot]) -> SeriesReport:
    return series([snapshots[tag] for tag in TAGS], feature_base=snapshots["v3.12.0"])


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main_inner(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def _repo_args(release_repo: tuple[Path, BuildOptions]) -> list[str]:
    repo, options = release_repo
    assert options.pyconfig is not None
    return ["--repo", str(repo), "--pyconfig", options.pyconfig]


def test_a_tag_range_gives_pep605s_names(release_repo: tuple[Path, BuildOptions], snapshots: object) -> None:
    status, out, err = run("series", "v3.13.0a1..v3.13.0rc2", *_repo_args(release_repo), "--format", "json")
    assert status == 12, err
    document = json.loads(out)
    assert document["feature_base"]["version"] == "3.12.0"  # the default: the tag v3.12.0
    releases = document["releases"]
    assert [r["name"] for r in releases] == [tag.removeprefix("v") for tag in TAGS]
    assert [r["pep605_name"] for r in releases] == [
        "3.13.0a1",
        "3.13.0b2",
        "3.13.0a3",
        "3.13.0b4",
        "3.13.0a5",
        "3.13.0rc1",
        "3.13.0rc2",
    ]
    assert [r["label_mismatch"] for r in releases] == [False, True, False, True, True, False, False]
    assert [r["verdict"] for r in releases] == [
        None,
        "binary-compatible",
        "abi-breaking",
        "binary-compatible",
        "abi-breaking",
        "binary-compatible",
        "abi-breaking",
    ]
    assert releases[2]["stable_abi_verdict"] == "broken"  # PyObject is part of the stable ABI
    assert [b["entity"] for b in releases[2]["breaks"]] == ["PyObject.ob_example"]
    assert [b["entity"] for b in releases[4]["breaks"]] == ["PyObject_Print"]
    assert [f["rule"] for f in releases[6]["findings"]] == ["ABI901"]
    assert [b["entity"] for b in releases[6]["breaks"]] == ["PyCode_Addr2Line"]


def test_the_provisional_change_needs_the_feature_base(report: SeriesReport, snapshots: dict[str, Snapshot]) -> None:
    a4 = report.releases[3]
    assert (a4.pep605_name, a4.breaks, a4.counts.get("ABI202")) == ("3.13.0b4", (), 1)
    without = series([snapshots[tag] for tag in TAGS])
    a4 = without.releases[3]
    assert without.feature_base is None
    assert a4.pep605_name == "3.13.0a4" and not a4.label_mismatch
    assert [b.entity for b in a4.breaks] == ["PyLong_AsNativeBytes"]
    # and later names count on from there
    assert [r.pep605_name for r in without.releases][4:] == ["3.13.0a5", "3.13.0rc1", "3.13.0rc2"]


@pytest.mark.parametrize("fmt", ["text", "markdown", "news", "html"])
def test_every_format(report: SeriesReport, fmt: str) -> None:
    from abidiff.report.registry import render

    text = html.unescape(render(report, fmt)) if fmt == "html" else render(report, fmt)
    for needle in (
        "3.13.0b2 (released as 3.13.0a2)",
        "3.13.0a5 (released as 3.13.0b1)",
        "NOT fully binary compatible with the preceding 3.13.0b4 release",
        "As a beta release, it is fully binary compatible with the preceding 3.13.0a1 release",
        "Breaking changes in the full CPython ABI between 3.13.0b2 and 3.13.0a3",
        'Python-Requires: >= "3.13.0b4"; python_version == "3.13" and full_python_version != "3.13.0a3"',
        "ABI901",
        "ABI902",
        "3.12.0",
    ):
        assert needle in text, (fmt, needle)


def test_over_snapshots_equals_over_refs_byte_for_byte(
    release_repo: tuple[Path, BuildOptions], snapshots: object, tmp_path: Path
) -> None:
    args = _repo_args(release_repo)
    files = []
    for tag in ("v3.12.0", "v3.13.0a3", "v3.13.0a4", "v3.13.0b1"):
        path = tmp_path / f"{tag}.json"
        assert run("dump", tag, *args, "-o", str(path))[0] == 0
        files.append(str(path))
    over_refs = run("series", "v3.13.0a3", "v3.13.0a4", "v3.13.0b1", *args, "--format", "json")
    over_files = run("series", *files[1:], "--feature-base", files[0], "--format", "json")
    assert over_refs[0] == over_files[0] == 12
    assert over_refs[1] == over_files[1]
    assert json.loads(over_files[1])["feature_base"]["version"] == "3.12.0"


# -- the HTML page in headless Chromium ---------------------------------------------------------


def _chromium() -> str:
    """Chromium's path, installed with apt-get when missing (skips when it cannot be)."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("chromium is not installed, and apt-get (as root) is not available to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            pytest.skip(f"chromium is not installed and '{' '.join(command)}' failed: {' '.join(tail)}")
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed: apt-get install chromium gave no chromium on PATH")
    return found


def _png_colours(data: bytes) -> dict[tuple[int, int, int], int]:
    """How many pixels of each colour an 8-bit RGB or RGBA PNG has (a small reader: zlib and
    the five scanline filters)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    idat = b""
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks[kind] = body
        offset += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    counts: dict[tuple[int, int, int], int] = {}
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for index in range(stride):
            left = line[index - channels] if index >= channels else 0
            up = previous[index]
            corner = previous[index - channels] if index >= channels else 0
            if kind == 1:
                line[index] = (line[index] + left) & 0xFF
            elif kind == 2:
                line[index] = (line[index] + up) & 0xFF
            elif kind == 3:
                line[index] = (line[index] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[index] = (line[index] + best) & 0xFF
        for index in range(0, stride, channels):
            colour = (line[index], line[index + 1], line[index + 2])
            counts[colour] = counts.get(colour, 0) + 1
        previous = line
    return counts


@pytest.fixture
def profile_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "chromium-profile"
    path.mkdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_html_page_in_headless_chromium(report: SeriesReport, tmp_path: Path, profile_dir: Path) -> None:
    from abidiff.report.registry import render

    chromium = _chromium()
    page = tmp_path / "series.html"
    page.write_text(render(report, "html"), encoding="utf-8")
    shot = tmp_path / "series.png"
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile_dir}",
            f"--screenshot={shot}",
            "--window-size=1200,900",
            "--enable-logging=stderr",
            "--v=0",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    colours = _png_colours(shot.read_bytes())
    assert len(colours) > 50, f"a blank page? {len(colours)} colours"
    white = colours.get((255, 255, 255), 0)
    assert white < sum(colours.values()) * 0.98
    # the timeline's marks: the red of an alpha and the green of a beta are drawn
    assert colours.get((0xC6, 0x28, 0x28), 0) > 100 and colours.get((0x2E, 0x7D, 0x32), 0) > 100
