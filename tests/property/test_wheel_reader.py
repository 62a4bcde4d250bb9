"""Property: a wheel whose WHEEL file holds any Tag lines, and any member names, is opened or
refused with an InputError (never another exception), within the deadline of each example."""

from __future__ import annotations

import os
import tempfile
import zipfile

from hypothesis import given
from hypothesis import strategies as st

from abidiff.errors import InputError
from abidiff.wheel import open_wheel
from tests.property.strategies import READER_SETTINGS

_TAG_TEXT = st.text(alphabet=st.sampled_from("cp39-abi3_x86.linux 0123456789\t"), max_size=40)


@READER_SETTINGS
@given(
    tags=st.lists(_TAG_TEXT, max_size=4),
    members=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20), max_size=4, unique=True
    ),
)
def test_any_tags_and_member_names(tags: list[str], members: list[str]) -> None:
    directory = tempfile.mkdtemp(prefix="wheel-property-")
    path = os.path.join(directory, "demo-1.0-cp39-abi3-manylinux2014_x86_64.whl")
    try:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n" + "".join(f"Tag: {t}\n" for t in tags))
            for number, name in enumerate(members):
                archive.writestr(name, b"\x7fELF" + bytes(60) + bytes([number]))
        try:
            with open_wheel(path) as (info, modules):
                assert info.filename_tags == ("cp39-abi3-manylinux2014_x86_64",)
                assert all(os.path.isfile(module.path) for module in modules)
        except InputError as error:
            assert "\n" not in error.message and error.hint
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
