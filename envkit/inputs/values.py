"""nvidia-smi's printed values: "N/A" and its kin, numbers with units, Enabled/Disabled.

Only the standard library and the model: the doctor's path never loads envkit.validate. The
readings the quick tier judges (value, NotSupported, Unavailable) are built in health.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
NOT_REPORTED = frozenset(
    {
        "n/a",
        "[n/a]",
        "not supported",
        "[not supported]",
        "not available",
        "requested functionality has been deprecated",
    }
)
SOURCE = "nvidia-smi"


def parsed(values: dict[str, str], key: str, convert: Callable[[str], T]) -> T | None:
    """The value, or None when the output lacks it, shows N/A or an error, or is unreadable."""
    raw = plain(values, key)
    if raw is None or "error" in raw.lower() or raw.lower() in ("unknown", "[unknown]"):
        return None
    try:
        return convert(raw)
    except ValueError:
        return None


def first_key(values: dict[str, str], *keys: str) -> str:
    """The first of ``keys`` the output has (the last one when it has none, for the message)."""
    return next((key for key in keys if key in values), keys[-1])


def number(raw: str) -> int:
    match = re.match(r"^(\d+)", raw)
    if match is None:
        raise ValueError(raw)
    return int(match.group(1))


def decimal(raw: str) -> float:
    match = re.match(r"^(\d+(?:\.\d+)?)", raw)
    if match is None:
        raise ValueError(raw)
    return float(match.group(1))


def mib_bytes(raw: str) -> int:
    return number(raw) * 1024**2


def enabled(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("enabled", "on", "yes", "active"):
        return True
    if word in ("disabled", "off", "no", "not active", "none"):
        return False
    raise ValueError(raw)


def plain(values: dict[str, str], key: str) -> str | None:
    raw = values.get(key)
    if raw is None or raw.strip().lower() in NOT_REPORTED or not raw.strip():
        return None
    return raw.strip()
