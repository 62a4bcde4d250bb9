"""The sub-commands beside compare and dump, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import jsonschema
import pytest

from tests.conftest import MINIMAL_HEADERS, ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, ABIDIFF_NO_PROGRESS="1")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "abidiff", *args], capture_output=True, text=True, env=full_env, timeout=300
    )


def _schema(name: str) -> dict[str, Any]:
    with open(os.path.join(ROOT, "src", "abidiff", "schemas", name)) as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@pytest.mark.parametrize(
    "name", ["elf-x86_64.so", "pe-x86_64.dll", "macho-universal.dylib"], ids=["elf", "pe", "macho-fat"]
)
def test_symbols_json(binary_fixtures: dict[str, str], name: str) -> None:
    proc = run("symbols", binary_fixtures[name], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(_schema("symbols.schema.json")).validate(document)
    names = [symbol["name"] for binary in document["binaries"] for symbol in binary["symbols"]]
    assert names and all(name == name.strip() for name in names)
    if name.startswith("macho-universal"):
        assert len(document["binaries"]) == 2  # one per architecture slice


def test_symbols_text(binary_fixtures: dict[str, str]) -> None:
    proc = run("symbols", binary_fixtures["elf-x86_64.so"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()  # a table on stdout


@pytest.mark.parametrize(
    "content", [b"", b"\x7fELF" + b"\x00" * 20, b"MZ garbage"], ids=["empty", "truncated-elf", "bad-pe"]
)
def test_symbols_of_a_corrupt_file(tmp_path: os.PathLike[str], content: bytes) -> None:
    path = os.path.join(tmp_path, "lib.so")
    with open(path, "wb") as handle:
        handle.write(content)
    proc = run("symbols", path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("abidiff: error: ") and "lib.so" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_symbols_of_a_missing_file() -> None:
    proc = run("symbols", "/no/such/lib.so")
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_cache_info_and_clear(tmp_path: os.PathLike[str]) -> None:
    env = {"ABIDIFF_CACHE_DIR": os.path.join(tmp_path, "cache")}
    assert run("dump", MINIMAL_HEADERS, "-o", os.devnull, env=env).returncode == 0
    info = run("cache", "info", env=env)
    assert info.returncode == 0 and "snapshots: 1" in info.stdout
    # a second dump is served by the cache: no compiler is needed for it
    again = run("dump", MINIMAL_HEADERS, env={**env, "ABIDIFF_CC": "no-such-compiler"})
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["snapshot"]["build"]["version"] == "3.12.0a2"
    cleared = run("cache", "clear", env=env)
    assert cleared.returncode == 0 and "removed 1" in cleared.stdout
    assert "snapshots: 0" in run("cache", "info", env=env).stdout


def test_a_changed_header_misses_the_cache(tmp_path: os.PathLike[str]) -> None:
    import shutil

    tree = os.path.join(tmp_path, "include")
    shutil.copytree(MINIMAL_HEADERS, tree)
    env = {"ABIDIFF_CACHE_DIR": os.path.join(tmp_path, "cache")}
    first = json.loads(run("dump", tree, env=env).stdout)
    with open(os.path.join(tree, "object.h"), "a") as handle:
        handle.write("\nPyAPI_FUNC(int) PyNew_Function(void);\n")
    second = json.loads(run("dump", tree, env=env).stdout)
    names = {f["name"] for f in second["snapshot"]["functions"]} - {f["name"] for f in first["snapshot"]["functions"]}
    assert names == {"PyNew_Function"}
