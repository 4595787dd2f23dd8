"""What the quick tier's checks share: thresholds and the way a reading becomes a result."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from envkit.model import Unavailable
from envkit.model_health import GpuHealth, NotSupported, Reading
from envkit.records import record
from envkit.validate.model import CheckResult, Verdict

T = TypeVar("T")
GIB = 1024**3
MIB = 1024**2
RESET_ACTION = "drain the node, then reset the GPU (`nvidia-smi -r -i {gpu}`) or reboot"
RMA_ACTION = "drain the node; reset the GPU, and if it recurs after the reset, replace it (RMA)"


@record
class QuickThresholds:
    retired_pages_fail: int = 63
    """DCGM_LIMIT_MAX_RETIRED_PAGES (NVIDIA/DCGM common/DcgmGPUHardwareLimits.h)."""
    retired_pages_warn: int = 15
    """DCGM's soft limit for retired pages."""
    remapped_uncorrectable_fail: int = 512
    """DCGM_LIMIT_MAX_ROW_REMAP_UNCORRECTABLE; Azure NHC uses the same."""
    ecc_corrected_volatile_warn: int = 50_000_000
    """Meta GCM's ecc_corrected_volatile_total threshold."""
    temperature_margin_warn_c: int = 10
    """envkit's choice: an idle GPU this close to its slowdown temperature warns."""
    power_limit_warn_fraction: float = 0.95
    """Enforced below this fraction of the default power limit: a power-capped instance."""


# --- helpers -------------------------------------------------------------------------------


def make_result(
    check_id: str,
    verdict: Verdict,
    title: str,
    evidence: str,
    gpu: GpuHealth | None = None,
    **extra: Any,
) -> CheckResult:
    index = gpu.index if gpu is not None else None
    return CheckResult(check_id, verdict, title, evidence, gpu_index=index, **extra)


def timed(check: Callable[..., CheckResult], *args: Any) -> CheckResult:
    """``check(*args)`` with its wall time as duration_s."""
    started = time.perf_counter()
    result = check(*args)
    return with_duration(result, time.perf_counter() - started)


def with_duration(result: CheckResult, seconds: float) -> CheckResult:
    """``result`` with ``seconds`` added to the time already measured for it."""
    return replace(result, duration_s=round((result.duration_s or 0.0) + seconds, 6))


def not_read(
    check_id: str, what: str, gpu: GpuHealth, reading: object, unreadable: Verdict
) -> CheckResult | None:
    """skip for NotSupported, ``unreadable`` for Unavailable, None for a value."""
    if isinstance(reading, NotSupported):
        return make_result(
            check_id, Verdict.SKIP, f"GPU {gpu.index}: {what} not reported", reading.reason, gpu
        )
    if isinstance(reading, Unavailable):
        return make_result(
            check_id,
            unreadable,
            f"GPU {gpu.index}: {what} could not be read",
            reading.reason,
            gpu,
            action="run `nvidia-smi -q` as root to read it by hand",
        )
    return None


def value_of(reading: Reading[T]) -> T:
    """The value of a reading that _not_read has already let through."""
    if isinstance(reading, (NotSupported, Unavailable)):
        raise TypeError(f"{reading} reached a check that needs a value")
    return reading


def gpu_name(gpu: GpuHealth) -> str:
    return gpu.identity.name or "unnamed GPU"
