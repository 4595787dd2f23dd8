"""The quick tier of ``envkit validate``: passive checks over NVML and the kernel log.

Pure functions: :func:`quick_checks` turns what the probes read (``probe_health``,
``read_xid_history``) into one :class:`CheckResult` per check and GPU, reading nothing itself,
each with the time its judgement took (duration_s). Nothing here imports TensorFlow or makes a
CUDA context: TensorFlow's GPU list (node.tensorflow-gpus) is the default tier's. Thresholds
and the Xid table come from the project's GPU validation research notes (gpu-validation.md,
sections 2, 2.1 and 6.1); each names its origin.

A reading the GPU or driver does not offer is ``skip`` with the reason; one that exists but could
not be read does not pass (``fail`` for the memory-error checks that decide a node's fate,
``warn`` for hygiene checks).
"""

from __future__ import annotations

from envkit.model import Unavailable
from envkit.model_health import GpuHealth, NodeHealth
from envkit.probes.kernel_log import XidHistory
from envkit.validate.catalog import quick_check_ids
from envkit.validate.model import CheckResult, Expectations
from envkit.validate.quick_common import QuickThresholds, timed, with_duration
from envkit.validate.quick_gpu import (
    CLOCK_EVENT_REASONS,
    GPU_CHECKS,
    gpu_memory,
    gpu_model_check,
    gpu_nvml,
)
from envkit.validate.quick_node import (
    XID_TABLE,
    XID_TABLE_SOURCE,
    XidClass,
    expectation_skips,
    node_driver_min,
    node_gpu_count,
    node_nvml,
    node_xid,
    xid_class,
)

# --- entry point -------------------------------------------------------------------------------


def quick_checks(
    health: NodeHealth,
    xids: XidHistory | Unavailable | None,
    expectations: Expectations,
    thresholds: QuickThresholds | None = None,
) -> tuple[CheckResult, ...]:
    """Every quick-tier check, node checks first, then each GPU's in index order.

    ``xids`` None means the kernel log was not asked for (``skip``); an Unavailable says why it
    could not be read.
    """
    limits = thresholds or QuickThresholds()
    results = [timed(node_nvml, health)]
    if health.failure is None:
        results += [
            timed(node_gpu_count, health, expectations),
            timed(node_driver_min, health, expectations),
        ]
        results += [with_duration(skip, 0.0) for skip in expectation_skips(expectations)]
        for gpu in health.gpus:
            results += gpu_checks(gpu, expectations, limits)
    results.append(timed(node_xid, health, xids))
    return tuple(results)


def gpu_checks(
    gpu: GpuHealth, expectations: Expectations, limits: QuickThresholds
) -> list[CheckResult]:
    """One GPU's checks; a GPU NVML cannot read gets only gpu.nvml (fail)."""
    if gpu.error is not None:
        return [timed(gpu_nvml, gpu)]
    found = [timed(gpu_nvml, gpu)]
    if expectations.gpu_model is not None:
        found.append(timed(gpu_model_check, gpu, expectations.gpu_model))
    found.append(timed(gpu_memory, gpu, expectations, limits))
    found += [timed(check, gpu, limits) for check in GPU_CHECKS]
    return found


CHECK_IDS: tuple[str, ...] = quick_check_ids()
"""Every id quick_checks can return, in the order it returns them."""


__all__ = [
    "CHECK_IDS",
    "CLOCK_EVENT_REASONS",
    "XID_TABLE",
    "XID_TABLE_SOURCE",
    "QuickThresholds",
    "XidClass",
    "gpu_checks",
    "quick_checks",
    "xid_class",
]
