"""Model values <-> JSON values, and the JSON Schema of a model type, from the type hints.

One description of the data (the dataclasses of :mod:`abidiff.model`) gives the encoder,
a strict decoder (every type is checked, so a malformed file fails with the JSON path of
the first bad value, not with a traceback later) and the shipped JSON Schema.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any

Json = Any


class DecodeError(ValueError):
    """A JSON value that does not fit the model; ``path`` says where (``$.records[3].size``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def encode(value: Any) -> Json:
    """A JSON-ready value: dataclasses become objects with every field, enums their value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def decode(tp: Any, data: Json, path: str = "$") -> Any:
    """The model value of type ``tp`` that ``data`` encodes; :class:`DecodeError` otherwise."""
    if _is_union(tp):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return decode(option, data, path)
            except DecodeError as exc:
                errors.append(exc)
        raise errors[0] if errors else DecodeError(path, "unexpected null")
    origin = typing.get_origin(tp)
    if origin is tuple:
        if not isinstance(data, list):
            raise DecodeError(path, f"expected an array, got {_kind(data)}")
        (item_type, _ellipsis) = typing.get_args(tp)
        return tuple(decode(item_type, item, f"{path}[{number}]") for number, item in enumerate(data))
    if origin is dict:
        _key_type, item_type = typing.get_args(tp)
        if not isinstance(data, dict):
            raise DecodeError(path, f"expected an object, got {_kind(data)}")
        return {key: decode(item_type, item, f"{path}.{key}") for key, item in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise DecodeError(path, f"expected an object, got {_kind(data)}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise DecodeError(path, f"unknown key '{unknown[0]}'")
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = decode(hints[f.name], data[f.name], f"{path}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DecodeError(path, f"missing key '{f.name}'")
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in tp)
            raise DecodeError(path, f"{data!r} is not one of: {allowed}") from None
    if tp is bool:
        if not isinstance(data, bool):
            raise DecodeError(path, f"expected true or false, got {_kind(data)}")
        return data
    if tp is int:
        if not isinstance(data, int) or isinstance(data, bool):
            raise DecodeError(path, f"expected an integer, got {_kind(data)}")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise DecodeError(path, f"expected a string, got {_kind(data)}")
        return data
    if tp is Any:
        return data
    raise TypeError(f"codec cannot decode {tp!r}")  # a programming error: the model grew a type


def _kind(data: Json) -> str:
    if data is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(data), type(data).__name__)


def schema_of(tp: Any, defs: dict[str, Json]) -> Json:
    """The JSON Schema of type ``tp``; dataclasses go into ``defs`` and are referenced."""
    if _is_union(tp):
        return {"anyOf": [schema_of(option, defs) for option in typing.get_args(tp)]}
    if tp is type(None):
        return {"type": "null"}
    origin = typing.get_origin(tp)
    if origin is tuple:
        return {"type": "array", "items": schema_of(typing.get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": schema_of(typing.get_args(tp)[1], defs)}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # placeholder first: the model is recursive (Field.members)
            hints = _hints(tp)
            defs[name] = {
                "type": "object",
                "additionalProperties": False,
                "required": [f.name for f in dataclasses.fields(tp)],
                "properties": {f.name: schema_of(hints[f.name], defs) for f in dataclasses.fields(tp)},
            }
            if tp.__doc__:
                defs[name]["description"] = " ".join(tp.__doc__.split())
        return {"$ref": f"#/$defs/{name}"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [member.value for member in tp]}
    simple = {bool: "boolean", int: "integer", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    if tp is Any:
        return {}
    raise TypeError(f"no schema for {tp!r}")
