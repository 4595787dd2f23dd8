"""nvidia-smi's printed values as readings: a value, NotSupported ("N/A", or absent from the
input: the check is skipped and says so) or Unavailable ("Unknown Error": the check does not
pass)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from envkit.model import Unavailable
from envkit.validate.health import NotSupported, Reading

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


def absent(key: str) -> NotSupported:
    return NotSupported(SOURCE, f"not in the input (no {key} in the nvidia-smi output)")


def reading(values: dict[str, str], key: str, convert: Callable[[str], T]) -> Reading[T]:
    if key not in values:
        return absent(key)
    raw = values[key].strip()
    if raw.lower() in NOT_REPORTED:
        return NotSupported(SOURCE, f"nvidia-smi shows {raw!r} for {key}")
    if "error" in raw.lower() or raw.lower() in ("unknown", "[unknown]"):
        return Unavailable("nvml-read-failed", f"nvidia-smi could not read {key}: {raw}")
    try:
        return convert(raw)
    except ValueError:
        return Unavailable("nvml-read-failed", f"nvidia-smi printed {raw!r} for {key}")


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


def is_value(item: object) -> bool:
    return not isinstance(item, (NotSupported, Unavailable))
