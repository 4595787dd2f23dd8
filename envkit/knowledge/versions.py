"""Version arithmetic the knowledge base needs, without importing packaging.

TensorFlow, Python and CUDA versions are compared by their leading numeric parts; NVIDIA
driver versions (535.183.01, 570.26, 580) by all their parts, numerically.
"""

from __future__ import annotations

import re

_LEADING_NUMBERS = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")
_DRIVER = re.compile(r"^\s*(\d+(?:\.\d+){0,3})\s*$")


def numeric_parts(version: str) -> tuple[int, ...]:
    """(2, 15, 0) for 2.15.0.post1, (3, 11, 7) for 3.11.7+, () when nothing numeric leads."""
    match = _LEADING_NUMBERS.match(version)
    if match is None:
        return ()
    return tuple(int(part) for part in match.group(1).split("."))


def major_minor(version: str) -> str | None:
    """2.21 for 2.21.1, 3.11 for 3.11.7, 9.0 for a bare 9; None when unparsable."""
    parts = numeric_parts(version)
    if not parts:
        return None
    minor = parts[1] if len(parts) > 1 else 0
    return f"{parts[0]}.{minor}"


def major_minor_key(version: str) -> tuple[int, int]:
    """Sort key for a major.minor; (-1, -1) for something unparsable."""
    parts = numeric_parts(version)
    if not parts:
        return (-1, -1)
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def parse_driver_version(version: str) -> tuple[int, ...] | None:
    """(535, 183, 1) for 535.183.01; None for text that is not a driver version."""
    match = _DRIVER.match(version)
    if match is None:
        return None
    return tuple(int(part) for part in match.group(1).split("."))


def compare_driver_versions(left: str, right: str) -> int:
    """-1, 0 or 1 as ``left`` is older than, equal to or newer than ``right``.

    Parts compare as numbers (535.183.01 > 535.54.03) and missing parts count as 0, so a bare
    branch such as 580 equals 580.0.0. Raises ValueError for text that is not a driver version.
    """
    a, b = _driver_or_raise(left), _driver_or_raise(right)
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return (a > b) - (a < b)


def driver_at_least(driver: str, minimum: str) -> bool:
    return compare_driver_versions(driver, minimum) >= 0


def _driver_or_raise(version: str) -> tuple[int, ...]:
    parsed = parse_driver_version(version)
    if parsed is None:
        raise ValueError(f"{version!r} is not an NVIDIA driver version")
    return parsed
