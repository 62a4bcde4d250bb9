"""Git refs as build specs, on temporary repositories laid out like CPython.

Real git, real libclang, real processes: nothing is mocked.  After every run the user's
repository must be exactly as it was: status (of a dirty tree), HEAD, index bytes, stash,
worktrees, and every file under .git.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from abidiff.builder import snapshot_of_resolved
from abidiff.cache import SnapshotCache
from abidiff.errors import AbidiffError, BuildSpecError, ToolchainError
from abidiff.model import Snapshot
from abidiff.options import BuildOptions
from abidiff.sources.gitref import (
    WINSTUB_DIR,
    build_libpython,
    check_ref,
    commit_of,
    configure_key,
    extract_tree,
    is_ref_like,
    plan_gitref,
    pyconfig_from_template,
    resolve_gitref,
)
from abidiff.sources.manifest import read_manifest
from tests.gitrepo import MINIMAL_PYCONFIG, PC_PYCONFIG, git, make_dirty, need_git, repo_state
from tests.realbuilds import PYENV

pytestmark = pytest.mark.integration


def options_for(repo: Path, cache_dir: Path, **changes: Any) -> BuildOptions:
    values: dict[str, Any] = {"repo": str(repo), "cache_dir": str(cache_dir), "pyconfig": MINIMAL_PYCONFIG}
    values.update(changes)
    return BuildOptions(**values)


def test_two_tags_give_snapshots_of_their_versions(cpython_repo: Path, tmp_path: Path) -> None:
    make_dirty(cpython_repo)
    before = repo_state(cpython_repo)
    assert before.status  # the tree really is dirty
    options = options_for(cpython_repo, tmp_path / "cache")
    old = resolve_gitref("v3.12.0a1", options, workdir=str(tmp_path / "w1"))
    new = resolve_gitref("v3.12.0a2", options, workdir=str(tmp_path / "w2"))
    assert old.commit == commit_of("v3.12.0a1", str(cpython_repo))
    assert old.origin == f"git v3.12.0a1 ({old.commit[:12]})"
    assert old.include_dir == str(tmp_path / "w1" / "tree" / "Include")
    assert old.manifest_path is not None and old.manifest_path.endswith("Misc/stable_abi.toml")
    assert read_manifest(old.manifest_path)  # the manifest of the commit, readable
    assert old.cache_key and new.cache_key and old.cache_key != new.cache_key
    assert old.cache_key == plan_gitref("v3.12.0a1", options).cache_key
    old_snap, new_snap = snapshot_of_resolved(old), snapshot_of_resolved(new)
    assert (old_snap.build.version, new_snap.build.version) == ("3.12.0a1", "3.12.0a2")
    assert old_snap.build.origin == old.origin

    def fields(snap: Snapshot) -> list[str]:
        (record,) = [r for r in snap.records if r.display_name == "PyModuleObjectLike"]
        return [field.name for field in record.fields]

    assert fields(old_snap) == ["ob_base", "md_dict"]
    assert fields(new_snap) == ["ob_base", "md_dict", "md_state"]
    assert repo_state(cpython_repo) == before


def test_revision_syntax_and_default_repo(cpython_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cpython_repo / "Include")  # the repository around the current directory
    tag = commit_of("v3.12.0a2", None)
    assert commit_of("main~1", None) == tag
    assert commit_of("HEAD^", None) == tag
    assert commit_of("git:v3.12.0a2^{commit}", None) == tag
    assert commit_of(tag[:10], None) == tag
    assert commit_of("@", None) == commit_of("main", None)


BAD_REFS = {
    "option": "--output=x",
    "short-option": "-h",
    "command-substitution": "$(touch p)",
    "semicolon": "a;b",
    "range": "HEAD..main",
    "symmetric-range": "v1...v2",
    "backtick": "`touch p`",
    "newline": "main\ntouch p",
    "nul": "main\x00",
    "space": "main ~1",
    "colon-path": "HEAD:Include/Python.h",
    "glob": "v3.*",
    "lock": "refs/heads/x.lock",
    "empty": "",
    "git-option": "git:--upload-pack=touch p",
}


@pytest.mark.parametrize("ref", BAD_REFS.values(), ids=BAD_REFS.keys())
def test_bad_refs_are_refused_before_anything_runs(
    cpython_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    before = repo_state(cpython_repo)
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))  # had git run, this would be a ToolchainError
    assert not is_ref_like(ref)
    with pytest.raises(BuildSpecError) as caught:
        resolve_gitref(ref, options_for(cpython_repo, tmp_path / "cache"), workdir=str(workdir))
    message = caught.value.message
    assert "is not a git ref abidiff accepts" in message and "\n" not in message
    assert caught.value.exit_status == 1
    with pytest.raises(BuildSpecError):
        commit_of(ref, str(cpython_repo))
    assert list(workdir.iterdir()) == []
    assert not (here / "p").exists() and not (cpython_repo / "p").exists()
    assert not (tmp_path / "cache").exists()
    monkeypatch.undo()
    assert repo_state(cpython_repo) == before


@pytest.mark.parametrize("ref", ["v3.12.0", "main", "main~3", "HEAD^2", "a1b2c3d4", "@{-1}", "origin/main", "git:x"])
def test_good_ref_syntax(ref: str) -> None:
    assert is_ref_like(ref)
    assert check_ref(ref) == ref.removeprefix("git:")


def test_unknown_ref(cpython_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(BuildSpecError) as caught:
        resolve_gitref("v9.9", options_for(cpython_repo, tmp_path / "c"), workdir=str(tmp_path / "w"))
    assert caught.value.message == f"no commit 'v9.9' in the repository {cpython_repo}"
    assert caught.value.hint is not None
    assert f"git -C {cpython_repo} tag --list" in caught.value.hint and "fetch --tags" in caught.value.hint


def test_not_a_repository(tmp_path: Path) -> None:
    need_git()
    plain = tmp_path / "plain"
    plain.mkdir()
    env_ceiling = os.environ.get("GIT_CEILING_DIRECTORIES")
    os.environ["GIT_CEILING_DIRECTORIES"] = str(tmp_path)
    try:
        with pytest.raises(BuildSpecError, match="is not in a git repository"):
            commit_of("main", str(plain))
    finally:
        if env_ceiling is None:
            del os.environ["GIT_CEILING_DIRECTORIES"]
        else:
            os.environ["GIT_CEILING_DIRECTORIES"] = env_ceiling
    with pytest.raises(BuildSpecError, match="does not exist"):
        commit_of("main", str(tmp_path / "nowhere"))


def test_a_commit_without_headers(cpython_repo: Path, tmp_path: Path) -> None:
    git(cpython_repo, "checkout", "-q", "--orphan", "empty")
    git(cpython_repo, "rm", "-rqf", ".")
    (cpython_repo / "x").write_text("x")
    git(cpython_repo, "add", "x")
    git(cpython_repo, "commit", "-qm", "nothing")
    with pytest.raises(BuildSpecError, match=r"has no Include/Python\.h: it is not a CPython source tree"):
        resolve_gitref("empty", options_for(cpython_repo, tmp_path / "c"), workdir=str(tmp_path / "w"))


def test_extraction_is_raw_and_keeps_modes(cpython_repo: Path, tmp_path: Path) -> None:
    # a filter driver and export-ignore in .gitattributes must change nothing we read
    (cpython_repo / ".gitattributes").write_text("*.h filter=evil export-ignore\n")
    git(cpython_repo, "config", "filter.evil.smudge", f"touch {tmp_path / 'filtered'}; cat")
    script = cpython_repo / "configure"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    git(cpython_repo, "add", "-A")
    git(cpython_repo, "commit", "-qm", "attributes")
    dest = tmp_path / "tree"
    extract_tree(str(cpython_repo), commit_of("HEAD", str(cpython_repo)), str(dest), paths=None)
    assert (dest / "Include" / "Python.h").read_bytes() == (cpython_repo / "Include" / "Python.h").read_bytes()
    assert os.stat(dest / "configure").st_mode & stat.S_IXUSR
    assert not os.stat(dest / "README.rst").st_mode & stat.S_IXUSR
    assert not (tmp_path / "filtered").exists()


# --- pyconfig.h from ./configure -----------------------------------------------------------

CONFIGURE_OK = """#!/bin/sh
echo "checking for a C compiler... pretend"
echo run >> "$ABIDIFF_TEST_CONFIGURE_RUNS"
cat > pyconfig.h <<'EOF'
#ifndef Py_PYCONFIG_H
#define Py_PYCONFIG_H
#define SIZEOF_VOID_P 8
#define SIZEOF_LONG 8
#define WITH_PYMALLOC 1
#define Py_TRACE_REFS 1
#endif
EOF
"""

CONFIGURE_FAIL = """#!/bin/sh
i=1
while [ $i -le 40 ]; do echo "checking for feature number $i... yes"; i=$((i+1)); done
echo "configure: error: in '$(pwd)':" >&2
echo "configure: error: no acceptable C compiler found in \\$PATH" >&2
exit 1
"""


def add_configure(repo: Path, text: str) -> None:
    script = repo / "configure"
    script.write_text(text)
    script.chmod(0o755)
    git(repo, "add", "configure")
    git(repo, "commit", "-qm", "configure")


def test_configure_runs_once_per_commit(cpython_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_configure(cpython_repo, CONFIGURE_OK)
    runs = tmp_path / "runs"
    monkeypatch.setenv("ABIDIFF_TEST_CONFIGURE_RUNS", str(runs))
    before = repo_state(cpython_repo)
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None)
    cache = SnapshotCache(str(tmp_path / "cache"))
    assert plan_gitref("HEAD", options, cache=cache).cache_key is None  # only configure would tell
    first = resolve_gitref("HEAD", options, workdir=str(tmp_path / "w1"), cache=cache)
    second = resolve_gitref("HEAD", options, workdir=str(tmp_path / "w2"), cache=cache)
    assert runs.read_text() == "run\n"
    (config_dir,) = first.config_dirs
    assert Path(config_dir, "pyconfig.h").read_bytes() == Path(second.config_dirs[0], "pyconfig.h").read_bytes()
    (artifact,) = (tmp_path / "cache" / "artifacts" / "configure").iterdir()
    assert "Py_TRACE_REFS 1" in (artifact / "pyconfig.h").read_text()
    assert "checking for a C compiler" in (artifact / "configure.log").read_text()
    assert sorted(os.listdir(artifact)) == ["configure.log", "pyconfig.h"]  # the tree is not kept
    assert first.cache_key == second.cache_key == plan_gitref("HEAD", options, cache=cache).cache_key
    snap = snapshot_of_resolved(first)
    assert snap.build.config_value("Py_TRACE_REFS") == 1
    assert repo_state(cpython_repo) == before


def test_failing_configure(cpython_repo: Path, tmp_path: Path) -> None:
    add_configure(cpython_repo, CONFIGURE_FAIL)
    cache_dir = tmp_path / "cache"
    workdir = tmp_path / "w"
    options = options_for(cpython_repo, cache_dir, pyconfig=None)
    with pytest.raises(AbidiffError) as caught:
        resolve_gitref("HEAD", options, workdir=str(workdir), cache=SnapshotCache(str(cache_dir)))
    error = caught.value
    assert isinstance(error, ToolchainError) and error.exit_status == 1
    assert error.message.startswith("./configure --enable-shared of HEAD (")
    assert "failed (exit status 1)" in error.message
    assert "no acceptable C compiler found" in error.message
    assert error.details[0].startswith("the last 20 lines of ")
    assert len(error.details) == 21 and error.details[-1].endswith("no acceptable C compiler found in $PATH")
    logs = list((cache_dir / "logs").iterdir())
    assert len(logs) == 1 and str(logs[0]) in error.message
    assert "checking for feature number 1... yes" in logs[0].read_text()  # the whole log is kept
    assert SnapshotCache(str(cache_dir)).info().trees == 0
    assert [path.name for path in (cache_dir / "artifacts" / "configure").iterdir()] == []


def test_no_cache_configures_in_the_workdir(
    cpython_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_configure(cpython_repo, CONFIGURE_OK)
    monkeypatch.setenv("ABIDIFF_TEST_CONFIGURE_RUNS", str(tmp_path / "runs"))
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, use_cache=False)
    resolved = resolve_gitref("HEAD", options, workdir=str(tmp_path / "w"))
    assert (tmp_path / "w" / "configure" / "configure.log").is_file()
    assert "Py_TRACE_REFS 1" in Path(resolved.config_dirs[0], "pyconfig.h").read_text()
    assert not (tmp_path / "cache").exists()


def test_config_from_a_build_directory(cpython_repo: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "pyconfig.h").write_text(Path(MINIMAL_PYCONFIG).read_text().replace("8", "4"))
    (build / "Python.h").write_text("#error never read\n")  # siblings must not shadow the tree's headers
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, config_from=str(build))
    resolved = resolve_gitref("v3.12.0a1", options, workdir=str(tmp_path / "w"))
    assert os.listdir(resolved.config_dirs[0]) == ["pyconfig.h"]
    assert snapshot_of_resolved(resolved).build.config_value("SIZEOF_VOID_P") == 4
    with pytest.raises(AbidiffError, match=r"no pyconfig\.h there"):
        resolve_gitref(
            "v3.12.0a1",
            options_for(cpython_repo, tmp_path, pyconfig=None, config_from=str(tmp_path / "w")),
            workdir=str(tmp_path / "w3"),
        )


@pytest.mark.parametrize("kind", ["fifo", "device", "directory-of-fifo", "too-large"])
def test_a_pyconfig_that_is_no_file_is_refused(cpython_repo: Path, tmp_path: Path, kind: str) -> None:
    """--pyconfig or --config-from naming a FIFO (it would block), a device (endless) or a huge
    file: a one-line error saying what it is."""
    fifo = tmp_path / "d" / "pyconfig.h"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    big = tmp_path / "big.h"
    big.write_bytes(b"#define X 1\n" * (1 << 20))  # 12 MiB
    cases: dict[str, tuple[dict[str, str | None], str]] = {
        "fifo": ({"pyconfig": str(fifo)}, r"--pyconfig .*: it is a FIFO \(named pipe\), not a regular file"),
        "device": ({"pyconfig": "/dev/zero"}, r"--pyconfig /dev/zero: it is a character device"),
        "directory-of-fifo": (
            {"pyconfig": None, "config_from": str(fifo.parent)},
            r"--config-from .*: pyconfig\.h: it is a FIFO",
        ),
        "too-large": ({"pyconfig": str(big)}, r"larger than the limit of 4 MiB"),
    }
    given, expected = cases[kind]
    with pytest.raises(AbidiffError, match=expected):
        resolve_gitref("v3.12.0a1", options_for(cpython_repo, tmp_path / "c", **given), workdir=str(tmp_path / "w"))


def test_a_linked_cached_pyconfig_is_not_read(cpython_repo: Path, tmp_path: Path) -> None:
    """The configure artifact's pyconfig.h replaced by a link to /dev/zero: not read (it would
    never end); the plan is as if configure had not run."""
    cache = SnapshotCache(str(tmp_path / "cache"))
    commit = git(cpython_repo, "rev-parse", "v3.12.0a1^{commit}").strip()
    artifact = Path(cache.artifact_path("configure", configure_key(commit)))
    artifact.mkdir(parents=True)
    (artifact / "pyconfig.h").symlink_to("/dev/zero")
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None)
    plan = plan_gitref("v3.12.0a1", options, cache=cache)
    assert plan.pyconfig is None and plan.cache_key is None
    (artifact / "pyconfig.h").unlink()
    (artifact / "pyconfig.h").write_bytes(Path(MINIMAL_PYCONFIG).read_bytes())
    assert plan_gitref("v3.12.0a1", options, cache=cache).cache_key is not None  # a real one is used


def test_dwarf_is_part_of_a_built_snapshots_key(cpython_repo: Path, tmp_path: Path) -> None:
    """--dwarf checks the layouts of a --build's libpython: a snapshot made without it is not
    the answer to a run with it (nor the other way). Without --build there is no DWARF to read,
    and the key stays the same."""

    def key(**changes: object) -> str | None:
        return plan_gitref("v3.12.0a1", options_for(cpython_repo, tmp_path / "c", **changes)).cache_key

    assert key(build_binaries=True, dwarf=True) != key(build_binaries=True)
    assert key(dwarf=True) == key()


# --- --target windows ----------------------------------------------------------------------


def test_windows_target_uses_pc_pyconfig(cpython_repo: Path, tmp_path: Path) -> None:
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, target="windows")
    resolved = resolve_gitref("v3.12.0a2", options, workdir=str(tmp_path / "w"))
    assert resolved.target == "x86_64-pc-windows-msvc"
    assert resolved.config_dirs[1] == WINSTUB_DIR
    assert resolved.cache_key == plan_gitref("v3.12.0a2", options).cache_key
    snap = snapshot_of_resolved(resolved)
    assert snap.build.target.startswith("x86_64-pc-windows-msvc")
    assert snap.build.pointer_size == 8
    assert snap.build.config_value("MS_WINDOWS") == 1 and snap.build.config_value("MS_WIN64") == 1
    assert snap.build.config_value("SIZEOF_LONG") == 4
    ssize = [t for t in snap.typedefs if t.name == "Py_ssize_t"]
    assert ssize and ssize[0].type.canonical == "long long"


def test_windows_pyconfig_from_template(cpython_repo: Path, tmp_path: Path) -> None:
    template = Path(PC_PYCONFIG).read_text().replace("#define WITH_PYMALLOC 1", "#define WITH_PYMALLOC @WITH_PYMALLOC@")
    git(cpython_repo, "mv", "PC/pyconfig.h", "PC/pyconfig.h.in")
    (cpython_repo / "PC" / "pyconfig.h.in").write_text(template)
    git(cpython_repo, "commit", "-qam", "3.13: PC/pyconfig.h.in")
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, target="windows")
    resolved = resolve_gitref("HEAD", options, workdir=str(tmp_path / "w"))
    generated = Path(resolved.config_dirs[0], "pyconfig.h").read_text()
    assert "#define WITH_PYMALLOC 0" in generated and "@" not in generated
    assert "/* #define Py_GIL_DISABLED 1 */" in generated  # the default build: GIL enabled
    assert resolved.cache_key == plan_gitref("HEAD", options).cache_key
    assert snapshot_of_resolved(resolved).build.config_value("Py_GIL_DISABLED") == 0


def test_template_substitution() -> None:
    text = b'#define A @PY_ENABLE_THING@\n#define B "@SOME_NAME@"\n#define C 1 /* x@y */\n'
    assert pyconfig_from_template(text) == b'#define A 0\n#define B ""\n#define C 1 /* x@y */\n'


def test_other_targets_need_a_pyconfig(cpython_repo: Path, tmp_path: Path) -> None:
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, target="aarch64-linux-gnu")
    with pytest.raises(BuildSpecError, match=r"cannot run \./configure for the target aarch64-linux-gnu"):
        resolve_gitref("HEAD", options, workdir=str(tmp_path / "w"))
    with pytest.raises(BuildSpecError, match="is not a target"):
        resolve_gitref("HEAD", options_for(cpython_repo, tmp_path, target="x;y"), workdir=str(tmp_path / "w"))


# --- real CPython header trees -------------------------------------------------------------


def pyenv_include(version: str) -> Path:
    feature = ".".join(version.split(".")[:2])
    path = Path(PYENV) / version / "include" / f"python{feature}"
    if not (path / "Python.h").is_file():
        pytest.skip(f"CPython {version}'s headers are not installed at {path} (pyenv build absent)")
    return path


def test_real_trees(tmp_path: Path) -> None:
    need_git()
    include_312, include_313 = pyenv_include("3.12.1"), pyenv_include("3.13.0")
    repo = tmp_path / "cpython"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    for version, include in (("3.12.1", include_312), ("3.13.0", include_313)):
        shutil.rmtree(repo / "Include", ignore_errors=True)
        shutil.copytree(include, repo / "Include", ignore=shutil.ignore_patterns("pyconfig.h"))
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", version)
        git(repo, "tag", f"v{version}")
    make_dirty(repo)
    before = repo_state(repo)
    versions = []
    for version, include in (("3.12.1", include_312), ("3.13.0", include_313)):
        options = BuildOptions(repo=str(repo), pyconfig=str(include / "pyconfig.h"), cache_dir=str(tmp_path / "c"))
        resolved = resolve_gitref(f"v{version}", options, workdir=str(tmp_path / version))
        assert resolved.manifest_path is None  # an installed tree has no Misc/
        snap = snapshot_of_resolved(resolved)
        versions.append(snap.build.version)
        assert len(snap.functions) > 1000
    assert versions == ["3.12.1", "3.13.0"]
    assert repo_state(repo) == before


# --- --build: the failure paths (a real build of CPython is too slow for the suite) ---------


def test_build_without_a_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "make"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("CC", raising=False)
    tree = tmp_path / "tree"
    tree.mkdir()
    with pytest.raises(ToolchainError) as caught:
        build_libpython(str(tree), str(tmp_path / "out"), jobs=2, name="HEAD")
    assert "no C compiler to build libpython" in caught.value.message
    assert caught.value.exit_status == 1 and caught.value.hint and "CC" in caught.value.hint


def test_build_with_failing_configure(cpython_repo: Path, tmp_path: Path) -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on PATH")
    if shutil.which("make") is None:
        pytest.skip("make is not on PATH")
    add_configure(cpython_repo, CONFIGURE_FAIL)
    before = repo_state(cpython_repo)
    cache = SnapshotCache(str(tmp_path / "cache"))
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, build_binaries=True)
    with pytest.raises(ToolchainError) as caught:
        resolve_gitref("HEAD", options, workdir=str(tmp_path / "w"), cache=cache)
    error = caught.value
    assert error.exit_status == 1
    assert "no acceptable C compiler found" in error.message
    assert len(error.details) == 21
    kept = list((tmp_path / "cache" / "logs").iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("libpython-") and str(kept[0]) in error.message
    assert cache.info().trees == 0
    assert repo_state(cpython_repo) == before


def test_build_refuses_a_target(cpython_repo: Path, tmp_path: Path) -> None:
    options = options_for(cpython_repo, tmp_path / "cache", build_binaries=True, target="windows")
    with pytest.raises(BuildSpecError, match="cannot be combined with --target windows"):
        plan_gitref("HEAD", options)


def test_progress_of_a_long_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step's start, a note every HEARTBEAT seconds (what is being compiled), its end."""
    from abidiff.sources.gitref import make

    monkeypatch.setattr(make, "HEARTBEAT", 0.3)
    notes: list[str] = []
    script = "echo 'gcc -c Objects/longobject.c -o Objects/longobject.o'; sleep 1"
    status = make.run_logged(
        ["/bin/sh", "-c", script], cwd=str(tmp_path), log=str(tmp_path / "log"), label="make x", progress=notes.append
    )
    assert status == 0
    assert notes[0] == "make x …" and notes[-1].startswith("make x: done in ")
    assert any(note.endswith("s, Objects/longobject.o") for note in notes[1:-1]), notes


# --- --build of a tree whose Makefile names the library through make variables --------------

FAKE_MAKEFILE = """VERSION=\t3.12
ABIFLAGS=
LDVERSION=\t$(VERSION)$(ABIFLAGS)
LDLIBRARY=      libpython$(LDVERSION).so
INSTSONAME=\t$(LDLIBRARY).1.0

all:
\tfalse

libpython$(LDVERSION).so: lib.c
\tif [ -n "$$ABIDIFF_TEST_MAKE_HOLD" ]; then echo $$$$ > "$$ABIDIFF_TEST_MAKE_HOLD/make-$$$$"; sleep 60; fi
\tif [ -n "$$ABIDIFF_TEST_MAKE_FAIL" ]; then echo "Objects/object.c:1:1: error: boom" >&2; exit 1; fi
\t$${CC:-cc} -shared -fPIC -o $(INSTSONAME) lib.c
\tln -f $(INSTSONAME) $@
"""


def add_buildable(repo: Path) -> None:
    """A configure that writes pyconfig.h and a Makefile like CPython's (LDLIBRARY through
    $(LDVERSION)), and the C source of a one-function "libpython"."""
    pyconfig = Path(MINIMAL_PYCONFIG).read_text()
    (repo / "lib.c").write_text("int PyFake_Function(void) { return 1; }\n")
    (repo / "Makefile.in").write_text(FAKE_MAKEFILE)
    script = '#!/bin/sh\necho configured >> "${ABIDIFF_TEST_CONFIGURE_RUNS:-/dev/null}"\n'
    script += f"cat > pyconfig.h <<'EOF'\n{pyconfig}EOF\ncp Makefile.in Makefile\n"
    add_configure(repo, script)
    git(repo, "add", "lib.c", "Makefile.in")
    git(repo, "commit", "-qm", "buildable")


def need_compiler() -> None:
    if shutil.which("cc") is None or shutil.which("make") is None:
        pytest.skip("cc or make is not on PATH: --build needs both")


def test_build_expands_the_makefile_variables(
    cpython_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: 'make libpython$(LDVERSION).so' - No rule to make target.  make is asked."""
    need_compiler()
    add_buildable(cpython_repo)
    runs = tmp_path / "runs"
    monkeypatch.setenv("ABIDIFF_TEST_CONFIGURE_RUNS", str(runs))
    before = repo_state(cpython_repo)
    cache = SnapshotCache(str(tmp_path / "cache"))
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, build_binaries=True)
    plan = plan_gitref("HEAD", options, cache=cache)
    assert plan.cache_key is None and plan.library_dir is None  # nothing known before the build
    resolved = resolve_gitref("HEAD", options, workdir=str(tmp_path / "w1"), cache=cache)
    (library,) = resolved.libraries
    assert os.path.basename(library.path) == "libpython3.12.so.1.0"
    assert library.path.startswith(str(tmp_path / "cache" / "artifacts" / "libpython"))
    assert runs.read_text() == "configured\n"  # once: the headers use the build's pyconfig.h
    snap = snapshot_of_resolved(resolved)
    assert [s.name for b in snap.binaries for s in b.symbols if s.name.startswith("Py")] == ["PyFake_Function"]
    again = plan_gitref("HEAD", options, cache=cache)  # the build and its pyconfig.h are cached
    assert again.library_dir == os.path.dirname(library.path) and again.cache_key == resolved.cache_key
    headers_only = plan_gitref("HEAD", options_for(cpython_repo, tmp_path / "cache", pyconfig=None), cache=cache)
    assert headers_only.cache_key is not None  # the same configure serves a run without --build
    resolve_gitref("HEAD", options, workdir=str(tmp_path / "w2"), cache=cache)
    assert runs.read_text() == "configured\n"
    assert repo_state(cpython_repo) == before


def test_failing_make_keeps_its_log(cpython_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_compiler()
    add_buildable(cpython_repo)
    monkeypatch.setenv("ABIDIFF_TEST_MAKE_FAIL", "1")
    cache = SnapshotCache(str(tmp_path / "cache"))
    options = options_for(cpython_repo, tmp_path / "cache", pyconfig=None, build_binaries=True)
    with pytest.raises(ToolchainError) as caught:
        resolve_gitref("HEAD", options, workdir=str(tmp_path / "w"), cache=cache)
    error = caught.value
    sha = commit_of("HEAD", str(cpython_repo))[:12]
    assert error.message.startswith(f"make libpython3.12.so of HEAD ({sha}) failed (exit status 2): ")
    (kept,) = (tmp_path / "cache" / "logs").iterdir()
    assert kept.name.startswith("libpython-") and f"(log: {kept})" in error.message
    assert "error: boom" in kept.read_text()  # the whole log: configure, then make
    assert any("error: boom" in line for line in error.details)  # its tail in the error
    assert cache.info().trees == 0  # nothing stored
