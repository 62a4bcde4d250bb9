"""The one TOML reader: ``tomllib`` (Python 3.11+), else ``tomli`` (a dependency on 3.10).
Used for the rule catalogue, suppression files and CPython's ``Misc/stable_abi.toml``."""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOMLDecodeError = tomllib.TOMLDecodeError


def loads(text: str) -> dict[str, Any]:
    return tomllib.loads(text)
