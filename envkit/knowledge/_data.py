"""Reading the JSON files under data/: one parse per file per process, typed accessors.

The files are package data. Nothing here knows what the facts mean; the modules beside it turn
the parsed objects into dataclasses.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
DATA_DIR = Path(__file__).with_name("data")


class KnowledgeDataError(ValueError):
    """A data file does not have the shape the loader expects (a packaging or editing bug)."""


@cache
def load(file_name: str) -> Obj:
    """The parsed top-level object of data/``file_name``, cached for the process."""
    # A path beside this file, not importlib.resources: envkit installs unzipped, and that
    # import (zipfile and friends) would add a fiftieth to every doctor's start-up.
    text = (DATA_DIR / file_name).read_text("utf-8")
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise KnowledgeDataError(f"{file_name}: the top level is not an object")
    return parsed


def obj(container: Obj, key: str) -> Obj:
    value = container.get(key)
    if not isinstance(value, dict):
        raise KnowledgeDataError(f"{key!r} is missing or not an object in {_short(container)}")
    return value


def opt_obj(container: Obj, key: str) -> Obj | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise KnowledgeDataError(f"{key!r} is not an object in {_short(container)}")
    return value


def objs(container: Obj, key: str) -> tuple[Obj, ...]:
    value = container.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise KnowledgeDataError(f"{key!r} is not a list of objects in {_short(container)}")
    return tuple(value)


def text(container: Obj, key: str) -> str:
    value = container.get(key)
    if not isinstance(value, str):
        raise KnowledgeDataError(f"{key!r} is missing or not a string in {_short(container)}")
    return value


def opt_text(container: Obj, key: str) -> str | None:
    value = container.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise KnowledgeDataError(f"{key!r} is not a string in {_short(container)}")
    return value


def texts(container: Obj, key: str) -> tuple[str, ...]:
    value = container.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise KnowledgeDataError(f"{key!r} is not a list of strings in {_short(container)}")
    return tuple(value)


def text_map(container: Obj, key: str) -> tuple[tuple[str, str], ...]:
    """An object of string values as (key, value) pairs, in file order."""
    value = container.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise KnowledgeDataError(f"{key!r} is not an object of strings in {_short(container)}")
    return tuple(value.items())


def opt_number(container: Obj, key: str) -> float | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KnowledgeDataError(f"{key!r} is not a number in {_short(container)}")
    return float(value)


def opt_int(container: Obj, key: str) -> int | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise KnowledgeDataError(f"{key!r} is not an integer in {_short(container)}")
    return value


def flag(container: Obj, key: str, default: bool) -> bool:
    value = container.get(key, default)
    if not isinstance(value, bool):
        raise KnowledgeDataError(f"{key!r} is not true or false in {_short(container)}")
    return value


def verified(container: Obj) -> bool:
    """Facts are confirmed unless their group says ``"verified": false``."""
    return flag(container, "verified", True)


def source_keys(container: Obj, key: str = "source") -> tuple[str, ...]:
    """A group's source keys: one string or a list of them."""
    value = container.get(key)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise KnowledgeDataError(f"{key!r} names no source in {_short(container)}")


def _short(container: Obj) -> str:
    shown = json.dumps(container, sort_keys=True)
    return shown if len(shown) <= 80 else shown[:77] + "..."
