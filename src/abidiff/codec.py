"""Model values <-> JSON values, and the JSON Schema of a model type, from the type hints.

One description of the data (the dataclasses of :mod:`abidiff.model`) gives the encoder,
a strict decoder (every type is checked, so a malformed file fails with the JSON path of
the first bad value, not with a traceback later) and the shipped JSON Schema.

The decoder is as strict as the schema: every key of a dataclass must be present (the
encoder writes them all), integers must fit in 64 bits (sizes, offsets, enumerator and
macro values all do), and a document too deeply nested for the recursive decoder is a
:class:`DecodeError` naming where, not a ``RecursionError``.  Give :func:`bounded_int` to
``json.loads`` as ``parse_int``: a number of more digits than any 64-bit integer becomes
an :class:`OversizedInt` that the decoder refuses at its path, instead of a ``ValueError``
(Python's int conversion limit) with no path, or a quadratic conversion when that limit is
off.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Callable
from typing import Any

Json = Any


class DecodeError(ValueError):
    """A JSON value that does not fit the model; ``path`` says where (``$.records[3].size``).

    The path is put together only when decoding fails: each container the error passes
    through on its way up adds its part (no string is built for the values that fit).
    """

    def __init__(self, message: str, parts: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.parts = parts
        self.path = "$"

    def within(self, part: str) -> DecodeError:
        return DecodeError(self.message, (part, *self.parts))

    def at(self, root: str) -> DecodeError:
        error = DecodeError(self.message, self.parts)
        error.path = root + "".join(self.parts)
        error.args = (f"{error.path}: {self.message}",)
        return error


INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
_INT_CHARS = len(str(INT_MIN))  # the longest JSON spelling of an integer that can fit
MAX_DEPTH = 100  # reported as the limit when a document is too deep for the decoder


class OversizedInt:
    """A JSON integer of more digits than any 64-bit integer, kept unconverted."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


def bounded_int(text: str) -> int | OversizedInt:
    """``parse_int`` for ``json.loads``: the integer, or an :class:`OversizedInt` when it has
    more characters than a 64-bit integer can have (converting it would be useless, and
    slow: the conversion of n digits takes n² time)."""
    if len(text) > _INT_CHARS:
        return OversizedInt(len(text.lstrip("-")))
    return int(text)


def encode(value: Any) -> Json:
    """A JSON-ready value: dataclasses become objects with every field, enums their value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encoder(type(value))(value)
    return _encode_any(value)


def _encode_any(value: Any) -> Json:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encoder(type(value))(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_encode_any(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _encode_any(item) for key, item in value.items()}
    return value


@functools.cache
def _encoder(cls: type) -> Callable[[Any], Json]:
    """An encoding function for one dataclass, built once from its type hints: a field of a
    scalar type is taken as it is, one of a known container or dataclass type by an encoder
    made for it, anything else by the generic walk (a snapshot holds some hundred thousand
    values: no field is looked up, no type tested, for every value)."""
    plans: list[tuple[tuple[str, Callable[[Any], Json] | None], ...]] = []

    def encode_dataclass(value: Any) -> Json:
        if not plans:  # made at the first value: a recursive type (Field.members) finds this function
            hints = _hints(cls)
            plans.append(tuple((f.name, _encoder_of(hints[f.name])) for f in dataclasses.fields(cls)))
        out = {}
        for name, encode_field in plans[0]:
            item = getattr(value, name)
            out[name] = item if encode_field is None else encode_field(item)
        return out

    return encode_dataclass


_AS_THEY_ARE = (str, int, bool, type(None))  # encoded as they are


def _encoder_of(tp: Any) -> Callable[[Any], Json] | None:
    """How to encode a value of the type ``tp``; None: it is JSON as it is."""
    if tp in _AS_THEY_ARE:
        return None
    if _is_union(tp):
        parts = typing.get_args(tp)
        if all(part in _AS_THEY_ARE for part in parts):
            return None
        inner = [part for part in parts if part is not type(None)]
        if len(inner) == 1 and len(parts) == 2:
            encode_inner = _encoder_of(inner[0])
            if encode_inner is None:
                return None
            return lambda value: None if value is None else encode_inner(value)
        return _encode_any
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _encoder(tp)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            encode_item = _encoder_of(args[0])
            if encode_item is None:
                return list
            return lambda value: [encode_item(item) for item in value]
    return _encode_any


def _enum_value(value: Any) -> Json:
    return value.value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def decode(tp: Any, data: Json, path: str = "$") -> Any:
    """The model value of type ``tp`` that ``data`` encodes; :class:`DecodeError` otherwise,
    whose ``path`` starts with ``path``."""
    try:
        return _decoder(tp)(data)
    except DecodeError as exc:
        raise exc.at(path) from None
    except RecursionError:
        # a recursive type (Field.members) nested deeper than the interpreter's stack:
        # find where, without recursion, and say so
        parts = _too_deep(data, MAX_DEPTH)
        raise DecodeError(f"nested more than {MAX_DEPTH} levels deep", parts).at(path) from None


def _too_deep(data: Json, limit: int) -> tuple[str, ...]:
    """The path parts of the first value nested deeper than ``limit``, shortened to its
    first few parts; ``()`` when there is none (the stack was short for another reason)."""
    stack: list[tuple[Json, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, parts = stack.pop()
        if len(parts) > limit:
            shown = parts[:8]
            return (*shown, f"...({len(parts) - len(shown)} levels more)")
        if isinstance(value, dict):
            stack.extend((item, (*parts, key_part(key))) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, (*parts, f"[{number}]")) for number, item in enumerate(value))
    return ()


Decoder = Callable[[Json], Any]


@functools.cache
def _decoder(tp: Any) -> Decoder:
    """A decoding function for ``tp``, built once per type: the type hints are read here,
    not for every value (a snapshot holds some hundred thousand)."""
    if _is_union(tp):
        return _union_decoder(typing.get_args(tp))
    origin = typing.get_origin(tp)
    if origin is tuple:
        return _items_decoder(typing.get_args(tp)[0], array=True)
    if origin is dict:
        return _items_decoder(typing.get_args(tp)[1], array=False)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_decoder(tp)
    if tp in _SCALARS:
        return _scalar_decoder(tp)
    if tp is Any:
        return lambda data: data
    raise TypeError(f"codec cannot decode {tp!r}")  # a programming error: the model grew a type


def _union_decoder(options: tuple[Any, ...]) -> Decoder:
    nullable = type(None) in options
    decoders = [_decoder(option) for option in options if option is not type(None)]

    def decode_union(data: Json) -> Any:
        if data is None and nullable:
            return None
        errors = []
        for decoder in decoders:
            try:
                return decoder(data)
            except DecodeError as exc:
                errors.append(exc)
        raise errors[0] if errors else DecodeError("unexpected null")

    return decode_union


def _items_decoder(item_type: Any, *, array: bool) -> Decoder:
    """The decoder of a JSON array (to a tuple) or object (to a dict) of ``item_type``.

    The items are decoded in one pass; only when one fails is the first failing one looked
    for again, so that the error names where it is (``[3]``, ``.key``)."""
    item = _decoder(item_type)
    expected, noun = (list, "an array") if array else (dict, "an object")

    def decode_items(data: Json) -> Any:
        if not isinstance(data, expected):
            raise DecodeError(f"expected {noun}, got {_kind(data)}")
        try:
            if isinstance(data, list):
                return tuple([item(value) for value in data])
            return {key: item(value) for key, value in data.items()}
        except DecodeError as exc:
            entries = enumerate(data) if isinstance(data, list) else data.items()
            where = next(key for key, value in entries if _fails(item, value))
            raise exc.within(f"[{where}]" if array else f".{where}") from None

    return decode_items


def _fails(decoder: Decoder, value: Json) -> bool:
    try:
        decoder(value)
    except DecodeError:
        return True
    return False


def _plain_types(tp: Any) -> frozenset[type]:
    """The types of JSON value that decode to themselves for ``tp`` (``str | None``:
    str and None), so that the decoder of a dataclass accepts them without a call."""
    options = typing.get_args(tp) if _is_union(tp) else (tp,)
    if all(option in (str, bool, type(None)) for option in options):
        return frozenset(options)
    return frozenset()


def _dataclass_decoder(tp: type) -> Decoder:
    hints = _hints(tp)
    names = tuple(f.name for f in dataclasses.fields(tp))
    known = frozenset(names)
    plan: list[tuple[str, Decoder, frozenset[type]]] = []

    def decode_dataclass(data: Json) -> Any:
        if type(data) is not dict:
            raise DecodeError(f"expected an object, got {_kind(data)}")
        if not plan:  # filled on first use: the model is recursive (Field.members)
            # built whole, then added in one step: another thread decoding at the same
            # time sees the list either empty or complete, never half filled
            built = [(name, _decoder(hints[name]), _plain_types(hints[name])) for name in names]
            plan.extend(built)
        if len(data) != len(names) or not known.issuperset(data):
            unknown = sorted(set(data) - known)
            if unknown:
                raise DecodeError(f"unknown key {_shown(unknown[0])}")
            missing = next(name for name in names if name not in data)
            raise DecodeError(f"missing key '{missing}'")
        kwargs = {}
        name = ""
        try:
            for name, decoder, plain in plan:
                value = data[name]
                kwargs[name] = value if type(value) in plain else decoder(value)
        except DecodeError as exc:
            raise exc.within(f".{name}") from None
        return tp(**kwargs)

    return decode_dataclass


def _enum_decoder(tp: type[enum.Enum]) -> Decoder:
    members = {member.value: member for member in tp}
    allowed = ", ".join(str(value) for value in members)

    def decode_enum(data: Json) -> Any:
        try:
            return members[data]
        except (KeyError, TypeError):
            raise DecodeError(f"{_shown(data)} is not one of: {allowed}") from None

    return decode_enum


_SCALARS: dict[Any, str] = {bool: "true or false", int: "an integer", str: "a string"}


def _scalar_decoder(tp: type) -> Decoder:
    if tp is int:
        return _decode_int
    wanted = _SCALARS[tp]

    def decode_scalar(data: Json) -> Any:
        # bool is an int in Python, not in JSON
        if type(data) is not tp:
            raise DecodeError(f"expected {wanted}, got {_kind(data)}")
        return data

    return decode_scalar


def _decode_int(data: Json) -> Any:
    if type(data) is not int:
        raise DecodeError(f"expected an integer, got {_kind(data)}")
    if not INT_MIN <= data <= INT_MAX:
        raise DecodeError(f"the integer {data} does not fit in 64 bits")
    return data


def key_part(key: str) -> str:
    """The part of a JSON path that names ``key``: ``.size``, or ``['odd key']`` cut short."""
    return f".{key}" if key.isidentifier() and key.isascii() else f"[{_shown(key)}]"


def _shown(data: Json) -> str:
    """``repr(data)``, cut short: an error message never carries a whole hostile value."""
    text = repr(data)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _kind(data: Json) -> str:
    if data is None:
        return "null"
    if isinstance(data, OversizedInt):
        return f"an integer of {data.digits} digits (more than any 64-bit integer)"
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


def envelope_schema(name: str, version: int, title: str, body: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a versioned document: the object schema ``body`` with the envelope
    (``schema``: ``name``, ``schema_version``: ``version``) and ``defs``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://abidiff.invalid/schemas/{name.removeprefix('abidiff-')}-{version}.json",
        "title": title,
        "type": "object",
        "additionalProperties": False,
        **body,
        "required": ["schema", "schema_version", *body.get("required", ())],
        "properties": {**body["properties"], "schema": {"const": name}, "schema_version": {"const": version}},
        "$defs": dict(sorted(defs.items())),
    }
