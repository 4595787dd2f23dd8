"""``@record``: a frozen, slotted dataclass whose methods other than ``__init__`` are shared.

``@dataclass(frozen=True, slots=True)`` compiles six methods from source text for every class;
envkit creates about seventy such classes before a doctor run prints anything, and that compiling
was a fifth of its start-up. ``@record`` lets the dataclass machinery write only ``__init__`` and
gives every class the same ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and
``__delattr__``, which behave as the generated ones do: the repr ``Name(field=value, ...)``,
equality only between instances of the same class, field by field, the hash of the field values,
and ``FrozenInstanceError`` on any assignment to a field once ``__init__`` has set it, or on any
deletion. Type checkers see a frozen dataclass (``dataclass_transform``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field, fields
from typing import Any, TypeVar, overload

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover -- Python 3.10
    from typing_extensions import dataclass_transform

_T = TypeVar("_T")


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, many: bool) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, eq_default=True, field_specifiers=(field,))
def record(
    cls: type[_T] | None = None, /, *, many: bool = False
) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """The class as a frozen dataclass with ``__slots__``; see the module's docstring.

    ``many=True`` is for a class made by the thousand (one per line of a log): it keeps the
    dataclass's own frozen ``__setattr__``/``__delattr__``, two more compiled methods, for an
    ``__init__`` that sets the fields three times faster than through ``_set_once``.
    """

    def make(cls: type[_T]) -> type[_T]:
        if not cls.__doc__:
            # what dataclass would write, without the inspect.signature it takes a third of its
            # time for: the class name and its fields
            cls.__doc__ = f"{cls.__name__}({', '.join(cls.__annotations__)})"
        cls.__repr__ = _repr  # type: ignore[method-assign]
        cls.__eq__ = _eq  # type: ignore[method-assign]
        cls.__hash__ = _hash  # type: ignore[method-assign]
        if many:
            return dataclass(frozen=True, slots=True, repr=False, eq=False)(cls)
        cls.__setattr__ = _set_once  # type: ignore[method-assign]
        cls.__delattr__ = _no_delete  # type: ignore[method-assign]
        # frozen=False: the frozen dataclass's own __setattr__/__delattr__ would be compiled
        # per class; _set_once gives the same guarantee to slotted, never subclassed classes.
        return dataclass(slots=True, repr=False, eq=False)(cls)

    return make if cls is None else make(cls)


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


_UNSET = object()


def _set_once(self: object, name: str, value: object) -> None:
    """The generated ``__init__`` sets each slot once; any later assignment is refused."""
    if getattr(self, name, _UNSET) is not _UNSET:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _no_delete(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")
