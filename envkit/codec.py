"""Model objects to JSON values and back, driven by the dataclasses' type hints.

Conventions: tuples are arrays, except ``tuple[tuple[str, str], ...]`` which is an object of
string values; an :class:`Unavailable` is ``{"unavailable": true, "code": ..., "reason": ...}``.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar

from envkit.model import Unavailable

T = TypeVar("T")
JsonValue = Any


class DecodeError(ValueError):
    """The JSON does not have the shape of the model; the message names the path."""


def encode(value: object) -> JsonValue:
    if isinstance(value, Unavailable):
        return {"unavailable": True, "code": value.code, "reason": value.reason}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = field_types(type(value))
        return {
            f.name: _encode_field(hints[f.name], getattr(value, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _encode_field(hint: Any, value: object) -> JsonValue:
    if isinstance(value, tuple) and _is_pairs_hint(hint):
        return dict(value)
    return encode(value)


def _is_pairs_hint(hint: Any) -> bool:
    """True for tuple[tuple[str, str], ...], which JSON carries as an object."""
    args = typing.get_args(hint)
    return typing.get_origin(hint) is tuple and bool(args) and typing.get_origin(args[0]) is tuple


def decode(cls: type[T], data: JsonValue) -> T:
    return typing.cast(T, _decode(cls, data, "$"))


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(hint: Any, data: JsonValue, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _decode_union(typing.get_args(hint), data, path)
    if origin is tuple:
        return _decode_tuple(hint, data, path)
    if dataclasses.is_dataclass(hint):
        return _decode_dataclass(typing.cast(type, hint), data, path)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _decode_enum(hint, data, path)
    return _decode_scalar(hint, data, path)


def _decode_enum(cls: type[enum.Enum], data: JsonValue, path: str) -> enum.Enum:
    try:
        return cls(data)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in cls)
        raise DecodeError(f"{path}: expected one of {allowed}, got {data!r}") from None


def _decode_union(options: tuple[Any, ...], data: JsonValue, path: str) -> Any:
    if data is None:
        if type(None) in options:
            return None
        raise DecodeError(f"{path}: null where a value is required")
    if isinstance(data, dict) and data.get("unavailable") is True and Unavailable in options:
        return _decode_dataclass(Unavailable, _without(data, "unavailable"), path)
    concrete = [o for o in options if o is not type(None) and o is not Unavailable]
    errors = []
    for option in concrete:
        try:
            return _decode(option, data, path)
        except DecodeError as error:
            errors.append(str(error))
    raise DecodeError(errors[0] if len(errors) == 1 else f"{path}: matches none of {concrete}")


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def _decode_tuple(hint: Any, data: JsonValue, path: str) -> tuple[Any, ...]:
    if _is_pairs_hint(hint):
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise DecodeError(f"{path}: expected an object of strings")
        return tuple((str(k), v) for k, v in data.items())
    if not isinstance(data, list):
        raise DecodeError(f"{path}: expected an array")
    item_hint = typing.get_args(hint)[0]
    return tuple(_decode(item_hint, item, f"{path}[{i}]") for i, item in enumerate(data))


def _decode_dataclass(cls: type, data: JsonValue, path: str) -> Any:
    if not isinstance(data, dict):
        raise DecodeError(f"{path}: expected an object for {cls.__name__}")
    hints = field_types(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in data:
            values[field.name] = _decode(
                hints[field.name], data[field.name], f"{path}.{field.name}"
            )
        elif field.default is dataclasses.MISSING:
            raise DecodeError(f"{path}.{field.name}: missing")
    return cls(**values)


def _decode_scalar(hint: Any, data: JsonValue, path: str) -> Any:
    if hint is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if hint is type(None) and data is None:
        return None
    if hint in (str, int, float, bool) and type(data) is hint:
        return data
    raise DecodeError(
        f"{path}: expected {getattr(hint, '__name__', hint)}, got {type(data).__name__}"
    )
