"""`envkit validate`: accept or reject a GPU node, from passive readings (NVML, the kernel log:
the quick tier, which never imports TensorFlow nor makes a CUDA context) and, in the default
tier, TensorFlow's GPU list and measurements through TensorFlow in the target environment.

``validate(options)`` returns a :class:`ValidationReport`; renderers turn it into text, JSON or
JUnit. Nothing unreadable ever counts as a pass.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from dataclasses import field
from datetime import datetime, timezone
from types import ModuleType
from typing import TYPE_CHECKING

from envkit import __version__, knowledge
from envkit.model import Unavailable
from envkit.model_health import GpuHealth, NodeHealth
from envkit.probes import nvml_watchdog
from envkit.probes.kernel_log import XidHistory, read_xid_history
from envkit.probes.nvml_health import NvmlSampler, NvmlSession
from envkit.probes.tf_devices import TF_DEVICE_TIMEOUT_S, tensorflow_gpu_count, tensorflow_gpu_list
from envkit.records import record
from envkit.validate.model import (
    VALIDATION_SCHEMA_VERSION,
    CheckResult,
    Expectations,
    TelemetrySample,
    Tier,
    ValidationReport,
    Verdict,
)
from envkit.validate.quick import quick_checks
from envkit.validate.quick_common import timed, with_duration
from envkit.validate.quick_node import node_tensorflow_gpus

if TYPE_CHECKING:  # the default tier's modules load when it runs: the quick tier stays light
    from envkit.validate.perf import CpuExpectations, PcieLink
    from envkit.validate.workloads import WorkloadCallback, WorkloadPlan, WorkloadResults

KERNEL_LOG_TIMEOUT_S = 5.0
"""Per source; the quick tier stays well inside Slurm's 60 s health check."""


@record
class ValidateOptions:
    tier: Tier = Tier.QUICK
    expectations: Expectations = field(default_factory=Expectations)
    python: str = field(kw_only=True)
    """The target interpreter (resolved at the CLI) whose TensorFlow must see the GPUs and that
    runs the default tier's workloads. The quick tier never starts it."""
    node_name: str | None = None
    read_kernel_log: bool = True
    ask_tensorflow: bool = True
    """Whether the default tier asks TensorFlow for its GPU list (node.tensorflow-gpus)."""
    cpu_plan: WorkloadPlan | None = None
    """Measure the CPU with this plan instead of the GPUs (tests and benchmarks only)."""
    cpu_expectations: CpuExpectations | None = None


def validate(
    options: ValidateOptions,
    *,
    nvml: ModuleType | None = None,
    on_event: WorkloadCallback | None = None,
) -> ValidationReport:
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    started = time.monotonic()
    with NvmlSession(nvml) as session:
        read_started = time.perf_counter()
        health = _bounded_health(session)
        read_s = time.perf_counter() - read_started
        results = list(_quick_results(health, read_s, options))
        telemetry: tuple[TelemetrySample, ...] = ()
        if options.tier is Tier.DEFAULT:
            measured, telemetry = _default_results(session, health, options, on_event)
            results += measured
    return ValidationReport(
        schema_version=VALIDATION_SCHEMA_VERSION,
        envkit_version=__version__,
        node=options.node_name or socket.gethostname(),
        tier=options.tier,
        started_at=started_at,
        duration_s=round(time.monotonic() - started, 3),
        driver_version=health.driver_version,
        cuda_driver_version=health.cuda_driver_version,
        gpus=tuple(gpu.identity for gpu in health.gpus),
        expectations=options.expectations,
        results=tuple(results),
        telemetry=telemetry,
    )


def _bounded_health(session: NvmlSession) -> NodeHealth:
    """The node's health within the NVML watchdog's deadline; a hang fails node.nvml with
    nvml-timeout, and NVML is not called again (no shutdown, no samples) (#12)."""
    try:
        return nvml_watchdog.call("the health read", session.health)
    except nvml_watchdog.NvmlTimeout as timeout:
        session.nvml = None
        session.failure = timeout.unavailable
        return NodeHealth(timeout.unavailable, None, None, ())


def _quick_results(
    health: NodeHealth, read_s: float, options: ValidateOptions
) -> tuple[CheckResult, ...]:
    """The quick tier's checks; node.nvml and node.xid carry the time of the reading they
    alone need (the NVML health read ``read_s``, the kernel log) besides their judgement."""
    xid_started = time.perf_counter()
    xids: XidHistory | Unavailable | None = (
        read_xid_history(timeout_s=KERNEL_LOG_TIMEOUT_S) if options.read_kernel_log else None
    )
    readings = {"node.nvml": read_s, "node.xid": time.perf_counter() - xid_started}
    return tuple(
        with_duration(result, readings.get(result.check_id, 0.0))
        for result in quick_checks(health, xids, options.expectations)
    )


def _tensorflow_result(health: NodeHealth, options: ValidateOptions) -> CheckResult:
    """node.tensorflow-gpus: TensorFlow imported in the target interpreter, timed."""
    if not options.ask_tensorflow:
        return timed(node_tensorflow_gpus, health, None)
    started = time.perf_counter()
    result = node_tensorflow_gpus(health, tensorflow_gpu_list(options.python))
    return with_duration(result, time.perf_counter() - started)


def _default_results(
    session: NvmlSession,
    health: NodeHealth,
    options: ValidateOptions,
    on_event: WorkloadCallback | None,
) -> tuple[list[CheckResult], tuple[TelemetrySample, ...]]:
    from envkit.validate.perf import perf_checks
    from envkit.validate.workloads import plan_gpu_workloads, run_workloads

    tensorflow = _tensorflow_result(health, options)
    readable = [gpu for gpu in health.gpus if gpu.error is None]
    models = {gpu.index: knowledge.gpu_model(gpu.identity.name or "") for gpu in readable}
    if options.cpu_plan is not None:
        plan = options.cpu_plan
    elif readable:
        plan = plan_gpu_workloads(models)
    else:
        return [tensorflow, _no_gpu_to_measure(health)], ()
    sampler = NvmlSampler(session, [gpu.index for gpu in readable]) if readable else None
    measured = run_workloads(options.python, plan, sampler, on_event)
    checks = perf_checks(
        measured,
        {} if options.cpu_plan else models,
        options.expectations,
        options.cpu_expectations,
        pcie_links=_pcie_links(readable),
    )
    return [tensorflow, *checks], _telemetry(measured)


def _no_gpu_to_measure(health: NodeHealth) -> CheckResult:
    why = health.failure.reason if health.failure else "every GPU failed its NVML readings"
    return CheckResult(
        "perf.job",
        Verdict.FAIL,
        "No GPU could be measured, so the default tier's tests did not run",
        why,
        action="fix what the quick-tier checks above report, then validate again",
    )


def _telemetry(measured: WorkloadResults) -> tuple[TelemetrySample, ...]:
    return tuple(measured.telemetry)


def _pcie_links(gpus: Sequence[GpuHealth]) -> dict[int, PcieLink]:
    """Each GPU's link capability (max generation and width): what host copies are judged by."""
    from envkit.validate.perf import PcieLink

    links = {}
    for gpu in gpus:
        generation, width = gpu.pcie.max_generation, gpu.pcie.max_width
        if isinstance(generation, int) and isinstance(width, int):
            links[gpu.index] = PcieLink(generation, width)
    return links


__all__ = [
    "TF_DEVICE_TIMEOUT_S",
    "NvmlSampler",
    "ValidateOptions",
    "tensorflow_gpu_count",
    "validate",
]
