"""``@record``: a frozen, slotted dataclass whose repr, equality and hash are shared functions.

``@dataclass(frozen=True, slots=True)`` compiles six methods from source text for every class;
envkit creates about seventy such classes before a doctor run prints anything, and that
compiling was an eighth of its start-up. ``@record`` lets the dataclass machinery write only
``__init__`` and the frozen ``__setattr__``/``__delattr__``, and gives every class the same
``__repr__``, ``__eq__`` and ``__hash__``, which behave as the generated ones do: the repr
``Name(field=value, ...)``, equality only between instances of the same class, field by field,
and the hash of the field values.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover -- Python 3.10
    from typing_extensions import dataclass_transform

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(field,))
def record(cls: type[_T]) -> type[_T]:
    """The class as a frozen dataclass with ``__slots__``; see the module's docstring."""
    cls.__repr__ = _repr  # type: ignore[method-assign]
    cls.__eq__ = _eq  # type: ignore[method-assign]
    cls.__hash__ = _hash  # type: ignore[method-assign]
    return dataclass(frozen=True, slots=True, repr=False, eq=False)(cls)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in fields(cls))
    return names


def _values(instance: object) -> tuple[Any, ...]:
    return tuple(getattr(instance, name) for name in _field_names(type(instance)))


def _repr(self: object) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _field_names(type(self)))
    return f"{type(self).__qualname__}({shown})"


def _eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]
    equal: bool = _values(self) == _values(other)
    return equal


def _hash(self: object) -> int:
    return hash(_values(self))
