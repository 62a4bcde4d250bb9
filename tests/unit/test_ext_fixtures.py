"""``abidiff ext`` on extension modules built at test time (ELF, PE, Mach-O; abi3 and full
ABI) and on wheels made here with zipfile.

What each fixture imports is stated in its C source (``fixtures/extensions/*.c``) and checked
against LLVM's tools (``llvm-nm -u``, ``llvm-objdump -p``) before abidiff's answer is."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from abidiff.binaries import read_binary
from abidiff.commands.common import Reporting
from abidiff.commands.ext import ext_main
from abidiff.errors import EXIT_ABI_CHANGE, EXIT_ABI_INCOMPATIBLE, EXIT_OK, BinaryError, InputError, UsageError
from abidiff.model import BinaryRole
from abidiff.report.jsonwriter import schema as document_schema
from abidiff.rules import ExtReport
from tests.conftest import ROOT

ABI3_IMPORTS = {
    "PyExc_TypeError",
    "PyLong_FromLong",
    "PyModule_Create2",
    "PyType_FromSpec",
    "Py_NewRef",
    "_Py_NoneStruct",
}
FULL_IMPORTS = {
    "PyExc_ValueError",
    "PyFrame_GetBack",
    "PyLong_FromLong",
    "Py_SetStandardStreamEncoding",
    "_PyLong_AsByteArray",
}
KEYS = ("elf/abi3", "elf/full", "macho/abi3", "macho/full", "pe/abi3", "pe/full")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH: the oracle needs it (apt-get install llvm)")
    return path


def _llvm_imports(key: str, path: str) -> tuple[set[str], set[str]]:
    """(imported names, DLLs they come from) according to LLVM."""
    if key.startswith("pe/"):
        text = subprocess.run([_tool("llvm-objdump"), "-p", path], capture_output=True, text=True, check=True).stdout
        dlls = set(re.findall(r"DLL Name: (\S+)", text))
        block = text.split("Export Table:")[0]
        names = set(re.findall(r"^\s+\d+\s+(\w+)$", block, re.MULTILINE))
        return names, dlls
    text = subprocess.run([_tool("llvm-nm"), "-u", path], capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in text.splitlines() if line.strip()}
    if key.startswith("macho/"):
        names = {name[1:] for name in names if name.startswith("_")}
    return names, set()


def _run(path: str | tuple[str, ...], **options: Any) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    status = ext_main(path, reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()), **options)
    document = json.loads(out.getvalue())
    jsonschema.validate(document, document_schema(ExtReport))
    return status, document


@pytest.mark.parametrize("key", KEYS)
def test_imports_match_the_sources_and_llvm(ext_fixtures: dict[str, str], key: str) -> None:
    wanted = ABI3_IMPORTS if key.endswith("abi3") else FULL_IMPORTS
    llvm_names, dlls = _llvm_imports(key, ext_fixtures[key])
    assert wanted <= llvm_names  # Mach-O adds dyld_stub_binder, which is not CPython's
    if key.startswith("pe/"):
        assert dlls == ({"python3.dll"} if key.endswith("abi3") else {"python313.dll"})
    _status, document = _run(ext_fixtures[key])
    [extension] = document["extensions"]
    assert {symbol["name"] for symbol in extension["imports"]} == wanted
    assert extension["format"] == key.split("/")[0]


@pytest.mark.parametrize("key", ["elf/abi3", "macho/abi3", "pe/abi3"])
def test_abi3_file_without_a_version_tag(ext_fixtures: dict[str, str], key: str) -> None:
    status, document = _run(ext_fixtures[key])
    [extension] = document["extensions"]
    assert extension["abi3"] is True and extension["abi3_version"] is None
    assert extension["requires"] == "3.10"  # Py_NewRef
    assert status == EXIT_OK and document["changes"] == []


@pytest.mark.parametrize("key", ["elf/abi3", "macho/abi3", "pe/abi3"])
def test_abi3_for_3_9_imports_a_3_10_symbol(ext_fixtures: dict[str, str], key: str) -> None:
    status, document = _run(ext_fixtures[key], abi3="3.9")
    assert [(c["rule"], c["entity"], c["old"], c["new"]) for c in document["changes"]] == [
        ("ABI812", "Py_NewRef", "3.9", "3.10")
    ]
    assert status == EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE


@pytest.mark.parametrize("key", ["elf/full", "macho/full", "pe/full"])
def test_full_abi_module_is_not_audited_as_abi3(ext_fixtures: dict[str, str], key: str) -> None:
    status, document = _run(ext_fixtures[key])
    [extension] = document["extensions"]
    assert extension["abi3"] is False and document["changes"] == [] and status == EXIT_OK
    stable = {s["name"]: s["stable_since"] for s in extension["imports"]}
    assert stable == {
        "PyExc_ValueError": "3.2",
        "PyLong_FromLong": "3.2",
        "PyFrame_GetBack": None,
        "Py_SetStandardStreamEncoding": None,
        "_PyLong_AsByteArray": None,
    }


def test_full_module_claimed_abi3_is_reported(ext_fixtures: dict[str, str]) -> None:
    status, document = _run(ext_fixtures["pe/full"], abi3="3.9")
    rules = sorted({(c["rule"], c["entity"]) for c in document["changes"]})
    not_stable = {entity for rule, entity in rules if rule == "ABI811"}
    assert not_stable == {"PyFrame_GetBack", "Py_SetStandardStreamEncoding", "_PyLong_AsByteArray"}
    versioned = {entity for rule, entity in rules if rule == "ABI815"}
    assert versioned == FULL_IMPORTS  # every name comes from python313.dll
    assert status & EXIT_ABI_INCOMPATIBLE


# -- wheels made here ---------------------------------------------------------------------

_WHEEL_META = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tag}\n"


def _wheel(tmp_path: Path, name: str, members: dict[str, bytes], tag: str | None = None) -> str:
    path = os.path.join(str(tmp_path), name)
    python, abi, platform = name[:-4].split("-")[-3:]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
        archive.writestr("demo-1.0.dist-info/WHEEL", _WHEEL_META.format(tag=tag or f"{python}-{abi}-{platform}"))
        archive.writestr("demo-1.0.dist-info/RECORD", "")
    return path


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def test_cp39_abi3_wheel(tmp_path: Path, ext_fixtures: dict[str, str]) -> None:
    path = _wheel(
        tmp_path,
        "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl",
        {"demo/_ext.abi3.so": _read(ext_fixtures["elf/abi3"]), "demo/__init__.py": b"", "demo/data.bin": b"x" * 64},
    )
    status, document = _run(path)
    assert document["wheel"]["metadata_tags"] == ["cp39-abi3-manylinux2014_x86_64"]
    [extension] = document["extensions"]
    assert (extension["path"], extension["abi3"], extension["abi3_version"]) == ("demo/_ext.abi3.so", True, "3.9")
    assert [(c["rule"], c["entity"], c["impacts"]) for c in document["changes"]] == [
        ("ABI812", "Py_NewRef", ["demo/_ext.abi3.so"])
    ]
    assert status == EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE


def test_cp310_abi3_wheel_is_clean(tmp_path: Path, ext_fixtures: dict[str, str]) -> None:
    path = _wheel(
        tmp_path,
        "demo-1.0-cp310-abi3-win_amd64.whl",
        {"demo/_ext.pyd": _read(ext_fixtures["pe/abi3"])},
    )
    status, document = _run(path)
    assert status == EXIT_OK and document["changes"] == []


@pytest.mark.parametrize(
    ("name", "member", "key", "tag", "found", "status"),
    [
        (
            "demo-1.0-cp310-abi3-win_amd64.whl",
            "demo/_ext.pyd",
            "pe/abi3",
            "cp311-abi3-win_amd64",
            [("ABI816", "warning")],
            EXIT_ABI_CHANGE,
        ),
        # the wheel's own finding and its module's: both, breaks first
        (
            "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl",
            "demo/_ext.abi3.so",
            "elf/abi3",
            "cp38-abi3-manylinux2014_x86_64",
            [("ABI812", "break"), ("ABI816", "warning")],
            EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE,
        ),
    ],
    ids=["mismatch-alone", "mismatch-and-a-module-finding"],
)
def test_wheel_tag_mismatch_is_a_warning(
    tmp_path: Path,
    ext_fixtures: dict[str, str],
    name: str,
    member: str,
    key: str,
    tag: str,
    found: list[object],
    status: int,
) -> None:
    got, document = _run(_wheel(tmp_path, name, {member: _read(ext_fixtures[key])}, tag=tag))
    assert [(c["rule"], c["severity"]) for c in document["changes"]] == found
    assert got == status


def test_pure_python_wheel_is_refused(tmp_path: Path) -> None:
    path = _wheel(tmp_path, "demo-1.0-py3-none-any.whl", {"demo/__init__.py": b"print('hi')\n"})
    with pytest.raises(InputError, match="no extension module"):
        _run(path)


# -- binaries that are no extension module ------------------------------------------------

BUNDLED = ("elf/bundled", "macho/bundled", "pe/bundled")


@pytest.mark.parametrize("key", BUNDLED)
def test_a_library_alone_is_refused_as_no_extension_module(ext_fixtures: dict[str, str], key: str) -> None:
    """``bundled.c`` exports ``bundled_add`` and imports nothing of CPython (nm agrees)."""
    names, _dlls = _llvm_imports(key, ext_fixtures[key])
    assert not any(name.startswith(("Py", "_Py")) for name in names)
    with pytest.raises(InputError, match="is not a CPython extension module: it exports no PyInit_ function"):
        _run(ext_fixtures[key])


@pytest.mark.parametrize("key", ["elf/object", "macho/object"])
def test_an_object_file_is_refused(ext_fixtures: dict[str, str], key: str) -> None:
    """``ext_full.c`` compiled with -c: it defines PyInit_ext_full in its own symbol table, and
    has no dynamic one to read imports from (an ELF ET_REL, a Mach-O MH_OBJECT)."""
    with pytest.raises(InputError, match="is an object file the linker has not linked"):
        _run(ext_fixtures[key])
    with pytest.raises(BinaryError, match="is an object file the linker has not linked"):
        read_binary(ext_fixtures[key], BinaryRole.OTHER)  # abidiff symbols, --lib


def test_a_bad_input_is_said_before_any_build_is_read(ext_fixtures: dict[str, str], tmp_path: Path) -> None:
    """No build named exists: the error is the input's, so none was looked for."""
    between = (str(tmp_path / "no-old"), str(tmp_path / "no-new"))
    with pytest.raises(InputError, match="is an object file"):
        _run(ext_fixtures["elf/object"], between=between)
    with pytest.raises(UsageError, match="is a wheel: give a wheel alone"):
        wheel = _wheel(
            tmp_path,
            "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl",
            {"demo/_ext.abi3.so": _read(ext_fixtures["elf/abi3"])},
        )
        _run((ext_fixtures["elf/full"], wheel), between=between)


def test_a_wheel_that_ships_an_object_file_audits_its_module(tmp_path: Path, ext_fixtures: dict[str, str]) -> None:
    members = {
        "demo/_ext.abi3.so": _read(ext_fixtures["elf/abi3"]),
        "build/ext_full.o": _read(ext_fixtures["elf/object"]),
    }
    _status, document = _run(_wheel(tmp_path, "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl", members))
    assert [result["path"] for result in document["extensions"]] == ["demo/_ext.abi3.so"]
    assert (
        "build/ext_full.o: no extension module (an object file the linker has not linked), not audited"
        in document["summary"]
    )


def test_a_library_beside_a_module_is_named_and_not_counted(ext_fixtures: dict[str, str]) -> None:
    alone_status, alone = _run(ext_fixtures["elf/full"])
    status, document = _run((ext_fixtures["elf/full"], ext_fixtures["elf/bundled"]))
    assert [result["path"] for result in document["extensions"]] == [ext_fixtures["elf/full"]]
    assert document["changes"] == alone["changes"] and status == alone_status
    assert document["summary"][-1] == (
        f"{ext_fixtures['elf/bundled']}: no extension module (no PyInit_ export, no CPython import), not audited"
    )
    with pytest.raises(InputError, match=r"none of .* is a CPython extension module"):
        _run((ext_fixtures["elf/bundled"], ext_fixtures["pe/bundled"]))


def test_a_library_that_calls_cpython_is_audited(ext_fixtures: dict[str, str]) -> None:
    """``pyhelper.c`` exports no PyInit_ but imports PyLong_FromLong: the breaks reach it."""
    names, _dlls = _llvm_imports("elf/pyhelper", ext_fixtures["elf/pyhelper"])
    assert "PyLong_FromLong" in names
    _status, document = _run(ext_fixtures["elf/pyhelper"])
    [result] = document["extensions"]
    assert [symbol["name"] for symbol in result["imports"]] == ["PyLong_FromLong"]
    assert document["summary"] == [
        f"{ext_fixtures['elf/pyhelper']}: full ABI (not abi3), 1 CPython import; its stable imports need 3.2+"
    ]


def test_a_wheel_names_the_libraries_it_bundles(tmp_path: Path, ext_fixtures: dict[str, str]) -> None:
    members = {
        "demo/_ext.abi3.so": _read(ext_fixtures["elf/abi3"]),
        "demo.libs/libbundled-1a2b3c4d.so.1": _read(ext_fixtures["elf/bundled"]),
    }
    path = _wheel(tmp_path, "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl", members)
    _status, document = _run(path)
    assert [result["path"] for result in document["extensions"]] == ["demo/_ext.abi3.so"]
    assert (
        "demo.libs/libbundled-1a2b3c4d.so.1: no extension module (no PyInit_ export, no CPython import), not audited"
        in document["summary"]
    )
    assert document["summary"][0].startswith("demo/_ext.abi3.so: abi3 for 3.9+")
    only = _wheel(
        tmp_path,
        "libs-1.0-cp39-abi3-manylinux2014_x86_64.whl",
        {"libs.libs/libbundled.so": members["demo.libs/libbundled-1a2b3c4d.so.1"]},
    )
    with pytest.raises(InputError, match="holds no extension module: no binary in it exports PyInit_"):
        _run(only)


# -- hostile wheels -----------------------------------------------------------------------

_ELF = b"\x7fELF" + b"\0" * 60


def _raw_wheel(tmp_path: Path, build: Callable[[zipfile.ZipFile], None]) -> str:
    path = os.path.join(str(tmp_path), "evil-1.0-cp39-abi3-manylinux2014_x86_64.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        build(archive)
    return path


def _absolute(archive: zipfile.ZipFile) -> None:
    archive.writestr(zipfile.ZipInfo("/etc/evil.so"), _ELF)


def _dotdot(archive: zipfile.ZipFile) -> None:
    archive.writestr("demo/../../evil.so", _ELF)


def _backslash_dotdot(archive: zipfile.ZipFile) -> None:
    archive.writestr("demo\\..\\..\\evil.so", _ELF)


def _drive(archive: zipfile.ZipFile) -> None:
    archive.writestr("C:/evil.so", _ELF)


def _symlink(archive: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("demo/_ext.abi3.so")
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    archive.writestr(info, "/usr/lib/libc.so.6")


def _bomb(archive: zipfile.ZipFile) -> None:
    archive.writestr("demo/zeros.bin", b"\0" * (8 * 1024 * 1024))  # ~1000:1 once deflated


def _lying_size(archive: zipfile.ZipFile) -> None:
    archive.writestr("demo/_ext.abi3.so", _ELF + b"\0" * 4096)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(_absolute, "absolute path", id="absolute-path"),
        pytest.param(_dotdot, "'..' component", id="dotdot"),
        pytest.param(_backslash_dotdot, "'..' component", id="backslash-dotdot"),
        pytest.param(_drive, "absolute path", id="drive-letter"),
        pytest.param(_symlink, "symbolic link", id="symlink"),
        pytest.param(_bomb, "compression ratio", id="zip-bomb-ratio"),
    ],
)
def test_hostile_wheels_are_refused(tmp_path: Path, build: Callable[[zipfile.ZipFile], None], message: str) -> None:
    path = _raw_wheel(tmp_path, build)
    before = set(os.listdir(str(tmp_path)))
    with pytest.raises(InputError, match=re.escape(message)) as caught:
        _run(path)
    assert caught.value.hint
    assert set(os.listdir(str(tmp_path))) == before  # nothing written next to it


def test_size_limits(tmp_path: Path) -> None:
    from abidiff.wheel import Limits, open_wheel

    path = _raw_wheel(tmp_path, _lying_size)
    with pytest.raises(InputError, match="per file"), open_wheel(path, limits=Limits(file_bytes=1024)):
        pass
    with pytest.raises(InputError, match="in all"), open_wheel(path, limits=Limits(total_bytes=1024)):
        pass


def test_a_header_that_lies_about_the_size_is_caught(tmp_path: Path) -> None:
    path = _raw_wheel(tmp_path, _lying_size)
    data = bytearray(_read(path))
    # patch the declared uncompressed size (central directory and local header) to 100 bytes
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("demo/_ext.abi3.so")
    real = info.file_size.to_bytes(4, "little")
    assert data.count(real) >= 2
    data = data.replace(real, (100).to_bytes(4, "little"))
    with open(path, "wb") as handle:
        handle.write(bytes(data))
    # zipfile stops at the declared size, and the CRC of the cut data then fails; our own count
    # of the bytes produced is the second line of defence
    with pytest.raises(InputError, match=r"more than the 100 bytes it declares|cannot be read: Bad CRC"):
        _run(path)


def test_extracted_modules_live_in_a_private_directory_that_is_removed(
    tmp_path: Path, ext_fixtures: dict[str, str]
) -> None:
    from abidiff.wheel import open_wheel

    path = _wheel(
        tmp_path, "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl", {"demo/_ext.abi3.so": _read(ext_fixtures["elf/abi3"])}
    )
    with open_wheel(path) as (_info, modules):
        [module] = modules
        directory = os.path.dirname(module.path)
        assert os.stat(directory).st_mode & 0o777 == 0o700
        assert os.path.basename(module.path) != "_ext.abi3.so"
    assert not os.path.exists(directory)


def test_not_a_binary_nor_a_wheel(tmp_path: Path) -> None:
    path = os.path.join(str(tmp_path), "notes.txt")
    with open(path, "w") as handle:
        handle.write("hello")
    with pytest.raises(InputError, match="neither a wheel nor"):
        _run(path)


def test_shipped_schema_matches(ext_fixtures: dict[str, str]) -> None:
    _status, document = _run(ext_fixtures["elf/full"])
    with open(os.path.join(ROOT, "src", "abidiff", "schemas", "ext.schema.json"), encoding="utf-8") as handle:
        jsonschema.validate(document, json.load(handle))


def test_an_abi8xx_finding_of_ext_is_suppressed_end_to_end(tmp_path: Path, ext_fixtures: dict[str, str]) -> None:
    """``abidiff ext --suppressions``: ABI812 of the abi3 fixture tagged 3.9, then suppressed."""
    from abidiff.cli import main_inner

    args = ["ext", ext_fixtures["elf/abi3"], "--abi3", "3.9", "--format", "json"]
    suppressions = tmp_path / "known.toml"
    suppressions.write_text(
        '[[suppress]]\nrule = "ABI812"\nentity = "Py_NewRef"\nreason = "guarded"\n', encoding="utf-8"
    )
    out = io.StringIO()
    assert main_inner([*args, "--suppressions", str(suppressions)], stdout=out) == EXIT_OK
    document = json.loads(out.getvalue())
    assert (document["changes"], document["suppressed"]) == ([], 1)
    out = io.StringIO()
    assert main_inner(args, stdout=out) == EXIT_ABI_CHANGE | EXIT_ABI_INCOMPATIBLE
