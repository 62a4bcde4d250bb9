"""``abidiff ext`` against real things: a third-party abi3 wheel from PyPI (compared with
abi3audit's verdict on the same file, and with ``nm``), and the fixture extensions against
the pyenv builds (``--build``, ``--between``), checked with ``nm -D --defined-only``."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from abidiff.commands.common import Reporting
from abidiff.commands.ext import ext_main
from abidiff.model import version_key
from tests.conftest import ROOT, _load_script
from tests.realbuilds import pyenv_python
from tests.unit.test_ext_fixtures import ABI3_IMPORTS, FULL_IMPORTS

pytestmark = pytest.mark.integration


def _run(path: str | tuple[str, ...], **options: Any) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    status = ext_main(path, reporting=Reporting(fmt="json", stdout=out, stderr=io.StringIO()), **options)
    return status, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def bcrypt_wheel() -> str:
    fetcher = _load_script("fetch_wheels")
    requirement, pattern = fetcher.WHEELS[0]
    try:
        return str(fetcher.fetch(requirement, pattern))
    except (fetcher.FetchError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{requirement} is not cached and cannot be downloaded (offline?): {exc}")


def _abi3audit(path: str, *extra: str) -> dict[str, Any]:
    if importlib.util.find_spec("abi3audit") is None:
        pytest.skip("abi3audit is not installed (pip install abi3audit)")
    result = subprocess.run(
        [sys.executable, "-m", "abi3audit", "--report", *extra, path], capture_output=True, text=True, timeout=120
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_bcrypt_wheel(bcrypt_wheel: str) -> None:
    status, document = _run(bcrypt_wheel)
    [extension] = document["extensions"]
    assert extension["path"] == "bcrypt/_bcrypt.abi3.so"
    assert (extension["abi3"], extension["abi3_version"], extension["format"]) == (True, "3.9", "elf")
    assert all(symbol["stable_since"] for symbol in extension["imports"])
    assert status == 0 and document["changes"] == []
    # the imports are the Py* undefined symbols nm sees in the extracted module
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm is not on PATH")
    with zipfile.ZipFile(bcrypt_wheel) as archive, archive.open("bcrypt/_bcrypt.abi3.so") as member:
        data = member.read()
    scratch = Path(ROOT, "fixtures", "build", "wheels", "_bcrypt.abi3.so.check")
    scratch.write_bytes(data)
    try:
        text = subprocess.run([nm, "-D", "--undefined-only", str(scratch)], capture_output=True, text=True).stdout
    finally:
        scratch.unlink()
    undefined = {line.split()[-1].split("@")[0] for line in text.splitlines() if line.strip()}
    assert {s["name"] for s in extension["imports"]} == {n for n in undefined if n.startswith(("Py", "_Py"))}


def test_bcrypt_agrees_with_abi3audit(bcrypt_wheel: str) -> None:
    _status, document = _run(bcrypt_wheel)
    theirs = _abi3audit(bcrypt_wheel)
    [(_spec, result)] = theirs["specs"].items()
    [module] = result["wheel"]
    audit = module["result"]
    ours = document["changes"]
    assert {c["entity"] for c in ours if c["rule"] == "ABI811"} == set(audit["non_abi3_symbols"])
    assert {c["entity"] for c in ours if c["rule"] == "ABI812"} == set(audit["future_abi3_objects"])
    [extension] = document["extensions"]
    assert audit["baseline"] == extension["abi3_version"] == "3.9"
    # abi3audit's 'computed' starts at the baseline; ours is the highest 'added' among the imports
    assert audit["computed"] == max(extension["requires"], audit["baseline"], key=version_key)


def test_fixture_agrees_with_abi3audit(ext_fixtures: dict[str, str]) -> None:
    _status, document = _run(ext_fixtures["elf/abi3"], abi3="3.9")
    theirs = _abi3audit(ext_fixtures["elf/abi3"], "--assume-minimum-abi3", "3.9")
    [result] = theirs["specs"].values()
    audit = result["object"]["result"]
    assert set(audit["future_abi3_objects"]) == {c["entity"] for c in document["changes"] if c["rule"] == "ABI812"}
    assert set(audit["future_abi3_objects"]) == {"Py_NewRef"}


def _nm_exports(spec: str) -> set[str]:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm is not on PATH")
    feature = os.path.basename(spec).removeprefix("python")
    library = os.path.join(os.path.dirname(os.path.dirname(spec)), "lib", f"libpython{feature}.so")
    text = subprocess.run([nm, "-D", "--defined-only", library], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in text.splitlines() if line.strip()}


@pytest.mark.parametrize(
    ("key", "version"),
    [("elf/full", "3.12.1"), ("elf/full", "3.13.0"), ("elf/abi3", "3.9.18"), ("elf/abi3", "3.13.0")],
)
def test_build_exports(ext_fixtures: dict[str, str], key: str, version: str) -> None:
    spec = pyenv_python(version)
    imports = ABI3_IMPORTS if key.endswith("abi3") else FULL_IMPORTS
    missing = imports - _nm_exports(spec)
    status, document = _run(ext_fixtures[key], against=spec)
    assert {c["entity"] for c in document["changes"] if c["rule"] == "ABI813"} == missing
    assert bool(status & 8) == bool(missing)


def test_between_3_12_and_3_13(ext_fixtures: dict[str, str]) -> None:
    old, new = pyenv_python("3.12.1"), pyenv_python("3.13.0")
    status, document = _run(ext_fixtures["elf/full"], between=(old, new))
    touched = {c["entity"]: c["detail"] for c in document["changes"] if c["rule"] == "ABI814"}
    # 3.13 removed Py_SetStandardStreamEncoding and gave _PyLong_AsByteArray a 6th parameter
    assert set(touched) == {"Py_SetStandardStreamEncoding", "_PyLong_AsByteArray"}
    assert "Py_SetStandardStreamEncoding" not in _nm_exports(new)
    assert document["affected"] is True and status & 8
    assert document["summary"][-1] == "This extension is affected by the ABI breaks between 3.12.1 and 3.13.0."
    assert any("invisible in a binary" in note for note in document["notes"])

    status, document = _run(ext_fixtures["elf/abi3"], between=(old, new))
    assert document["affected"] is False and status == 0
    assert document["summary"][-1] == "This extension is not affected by the ABI breaks between 3.12.1 and 3.13.0."


def test_a_310_hash_module_is_not_touched_by_311s_untagged_py_buffer() -> None:
    """3.10's _sha256 uses the buffer API, whose functions 3.11 declares with an untagged
    ``Py_buffer`` (3.10: ``struct bufferinfo``; the same layout, as gcc checks in
    test_compare_real): no ABI break between the two reaches it."""
    old, new = pyenv_python("3.10.13"), pyenv_python("3.11.7")
    lib_dynload = Path(old).parent.parent / "lib" / "python3.10" / "lib-dynload"
    modules = sorted(lib_dynload.glob("_sha256.*.so"))
    if not modules:
        pytest.skip(f"no _sha256 extension module in {lib_dynload}")
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) is absent: the module's imports cannot be checked independently")
    imports = subprocess.run(["nm", "-D", "--undefined-only", str(modules[0])], capture_output=True, text=True).stdout
    assert "PyObject_GetBuffer" in imports.split() and "PyBuffer_Release" in imports.split()
    status, document = _run(str(modules[0]), between=(old, new))
    assert [change["rule"] for change in document["changes"] if change["rule"] == "ABI814"] == []
    assert status == 0, document["changes"]


def test_several_extension_modules_in_one_run(tmp_path: Path) -> None:
    """A packager's run over a package's modules: each is audited, a finding names every
    module it touches, and the summary says how many of them the breaks affect."""
    old, new = pyenv_python("3.10.13"), pyenv_python("3.11.7")
    lib_dynload = Path(old).parent.parent / "lib" / "python3.10" / "lib-dynload"
    modules = [sorted(lib_dynload.glob(f"{name}.*.so")) for name in ("_sha256", "_struct", "array")]
    if not all(modules):
        pytest.skip(f"_sha256, _struct or array is missing from {lib_dynload}")
    paths = [str(found[0]) for found in modules]
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) is absent: the modules' imports cannot be checked independently")
    # the oracle: _struct and array import _PyFloat_Unpack8, which 3.11 neither declares nor exports
    importers = [
        p
        for p in paths
        if "_PyFloat_Unpack8"
        in subprocess.run(["nm", "-D", "--undefined-only", p], capture_output=True, text=True).stdout
    ]
    assert importers == paths[1:]
    status, document = _run((*paths, paths[0]), between=(old, new))  # a path given twice is audited once
    assert [extension["path"] for extension in document["extensions"]] == sorted(paths)
    [unpack8] = [c for c in document["changes"] if c["rule"] == "ABI814" and c["entity"] == "_PyFloat_Unpack8"]
    assert unpack8["impacts"] == sorted(importers)
    assert "2 of the 3 extensions are affected by the ABI breaks between 3.10.13 and 3.11.7." in document["summary"]
    assert status & 8


def test_a_wheel_goes_alone(bcrypt_wheel: str) -> None:
    from abidiff.errors import UsageError

    # said before anything is read: the other input need not even be a module
    with pytest.raises(UsageError, match="give a wheel alone"):
        _run((sys.executable, bcrypt_wheel))
