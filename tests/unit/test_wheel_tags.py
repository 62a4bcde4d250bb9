"""The tags of a wheel (issue 11): a WHEEL ``Tag:`` line that is not one python-abi-platform
tag, an absurd ``cp3X``, or a WHEEL file of megabytes is a one-line InputError naming it,
never an internal error (the old reader unpacked ``tag.split("-", 2)`` into three names and
ran ``int()`` on 5,000 digits)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from abidiff.errors import InputError
from abidiff.wheel import abi3_version, open_wheel

NAME = "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl"
_ELF = b"\x7fELF" + bytes(60)


def make_wheel(tmp_path: Path, wheel_file: str, compression: int = zipfile.ZIP_DEFLATED) -> str:
    path = tmp_path / NAME
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("demo/_ext.abi3.so", _ELF)
        archive.writestr("demo-1.0.dist-info/WHEEL", wheel_file)
    return str(path)


def tags_of(tmp_path: Path, *tags: str) -> tuple[str, ...]:
    wheel_file = "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n" + "".join(f"Tag: {tag}\n" for tag in tags)
    with open_wheel(make_wheel(tmp_path, wheel_file)) as (info, modules):
        assert [module.member for module in modules] == ["demo/_ext.abi3.so"]
        return info.metadata_tags


def test_good_tags(tmp_path: Path) -> None:
    assert tags_of(tmp_path, "cp39-abi3-manylinux2014_x86_64", "cp39-abi3-manylinux_2_17_x86_64") == (
        "cp39-abi3-manylinux2014_x86_64",
        "cp39-abi3-manylinux_2_17_x86_64",
    )


@pytest.mark.parametrize(
    ("tag", "why"),
    [
        ("cp39", "1 part"),
        ("cp39-abi3", "2 parts"),
        ("cp39-abi3-linux-x86_64", "4 parts"),
        ("cp39--linux_x86_64", "an empty part or a space"),
        ("", "0 parts"),
    ],
    ids=["one-part", "two-parts", "four-parts", "empty-part", "empty"],
)
def test_a_tag_line_that_is_not_three_parts(tmp_path: Path, tag: str, why: str) -> None:
    with pytest.raises(InputError) as caught:
        tags_of(tmp_path, "cp39-abi3-manylinux2014_x86_64", tag)
    assert caught.value.message == (
        f"{NAME}: the Tag line {tag!r} of demo-1.0.dist-info/WHEEL is not python-abi-platform (it has {why})"
    )
    assert caught.value.hint and "PEP 427" in caught.value.hint


def test_a_cpython_tag_of_5000_digits(tmp_path: Path) -> None:
    tag = "cp3" + "9" * 5000 + "-abi3-manylinux2014_x86_64"
    with pytest.raises(InputError) as caught:
        tags_of(tmp_path, tag)
    message = caught.value.message
    assert "names no CPython version (cp3 and 5000 digits)" in message and len(message) < 200
    assert abi3_version(("cp39999-abi3-any",)) == "3.9999"  # four digits: still a version


def test_a_wheel_file_of_megabytes(tmp_path: Path) -> None:
    wheel_file = "Wheel-Version: 1.0\n" + "X-Padding: " + "x" * (2 << 20) + "\n"
    with pytest.raises(InputError, match=r"demo-1.0.dist-info/WHEEL is \d+ bytes, over the limit of 1048576"):
        with open_wheel(make_wheel(tmp_path, wheel_file, zipfile.ZIP_STORED)):  # no zip bomb: too big as it is
            pass
