"""Every check of ``envkit validate``, declared once with its id and description.

The quick tier's checks are declared by decorators where they are defined (``node_check``,
``gpu_check``), as is the default tier's node.tensorflow-gpus; the default tier's measurement
checks, whose ids are made per precision or strategy, by ``declare`` beside them in perf.py.
``CHECK_IDS`` (the quick tier, in the order ``quick_checks`` returns them) and
``envkit validate --list-checks`` are derived from here.
A new check is one decorated function (quick tier) or one ``declare`` (default tier).

envkit/validate/__init__.py imports the quick tier's modules; perf.py, heavy (it imports the smoke
machinery) and needed by the default tier only, is imported by all_checks when the whole
catalogue is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TypeVar

from envkit.model_health import GpuHealth
from envkit.records import record
from envkit.validate.model import CheckResult, Tier
from envkit.validate.quick_common import QuickThresholds

F = TypeVar("F", bound=Callable[..., CheckResult])
GpuCheck = Callable[[GpuHealth, QuickThresholds], CheckResult]


@record
class ValidateCheck:
    check_id: str
    tier: Tier
    """The tier that runs it (the default tier runs the quick tier's checks too)."""
    description: str
    phase: int = 1
    """Where quick_checks puts it: 0 node checks before the GPUs', 1 the GPUs', 2 after."""


_CHECKS: list[ValidateCheck] = []
_PER_GPU: list[GpuCheck] = []


def declare(check_id: str, description: str, tier: Tier = Tier.DEFAULT, phase: int = 1) -> None:
    """Add a check to the catalogue (raises ValueError for an id declared twice)."""
    if any(check.check_id == check_id for check in _CHECKS):
        raise ValueError(f"duplicate validate check id {check_id!r}")
    _CHECKS.append(ValidateCheck(check_id, tier, description, phase))


def node_check(
    check_id: str, description: str, *, after_gpus: bool = False, tier: Tier = Tier.QUICK
) -> Callable[[F], F]:
    """Declare a node check; quick_checks (or, for ``tier=Tier.DEFAULT``, the default tier)
    calls it by name."""

    def register(function: F) -> F:
        declare(check_id, description, tier, 2 if after_gpus else 0)
        return function

    return register


def gpu_check(check_id: str, description: str, *, every_gpu: bool = True) -> Callable[[F], F]:
    """Declare a quick-tier check of one GPU, ``function(gpu)`` or ``function(gpu, thresholds)``.

    ``every_gpu``: gpu_checks runs it on each readable GPU (in declaration order); False for the
    few it calls by name with other arguments (gpu.nvml, gpu.model, gpu.memory).
    """

    def register(function: F) -> F:
        declare(check_id, description, Tier.QUICK, 1)
        if every_gpu:
            _PER_GPU.append(_with_thresholds(function))
        return function

    return register


def _with_thresholds(function: Callable[..., CheckResult]) -> GpuCheck:
    if function.__code__.co_argcount >= 2:
        return function
    return lambda gpu, _thresholds: function(gpu)


def all_checks() -> tuple[ValidateCheck, ...]:
    """Quick tier first, in quick_checks' order, then the default tier's in the order it runs
    them (node checks, phase 0, first; then declaration order)."""
    import_module("envkit.validate.perf")  # declares the default tier's measurement checks
    return (*_tier_checks(Tier.QUICK), *_tier_checks(Tier.DEFAULT))


def _tier_checks(tier: Tier) -> list[ValidateCheck]:
    return sorted((check for check in _CHECKS if check.tier is tier), key=lambda c: c.phase)


def quick_check_ids() -> tuple[str, ...]:
    return tuple(check.check_id for check in _tier_checks(Tier.QUICK))


def per_gpu_checks() -> tuple[GpuCheck, ...]:
    """The checks gpu_checks runs on every readable GPU, in declaration order."""
    return tuple(_PER_GPU)
