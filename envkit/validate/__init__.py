"""`envkit validate`: accept or reject a GPU node, from passive readings and, in the default
tier, measurements through TensorFlow in the target environment.

``validate(options)`` returns a :class:`ValidationReport`; renderers turn it into text, JSON or
JUnit. Nothing unreadable ever counts as a pass.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from types import ModuleType

from envkit import __version__, knowledge
from envkit.model import Unavailable
from envkit.probes import _proc, nvml_watchdog
from envkit.probes.kernel_log import XidHistory, read_xid_history
from envkit.probes.nvml_health import NvmlSession
from envkit.validate.health import GpuHealth, NodeHealth
from envkit.validate.model import (
    VALIDATION_SCHEMA_VERSION,
    CheckResult,
    Expectations,
    TelemetrySample,
    Tier,
    ValidationReport,
    Verdict,
)
from envkit.validate.perf import CpuExpectations, PcieLink, perf_checks
from envkit.validate.quick import quick_checks
from envkit.validate.workloads import (
    WorkloadCallback,
    WorkloadPlan,
    WorkloadResults,
    plan_gpu_workloads,
    run_workloads,
)

TF_DEVICE_TIMEOUT_S = 30.0
KERNEL_LOG_TIMEOUT_S = 5.0
"""Per source; with TensorFlow's import, the quick tier stays inside Slurm's 60 s health check."""
SAMPLE_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    tier: Tier = Tier.QUICK
    expectations: Expectations = field(default_factory=Expectations)
    python: str | None = None
    """The target interpreter whose TensorFlow must see the GPUs (None: envkit's own)."""
    node_name: str | None = None
    read_kernel_log: bool = True
    ask_tensorflow: bool = True
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
        health = _bounded_health(session)
        results = list(_quick_results(health, options))
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


def _quick_results(health: NodeHealth, options: ValidateOptions) -> tuple[CheckResult, ...]:
    xids: XidHistory | Unavailable | None = (
        read_xid_history(timeout_s=KERNEL_LOG_TIMEOUT_S) if options.read_kernel_log else None
    )
    gpu_count = tensorflow_gpu_count(options.python) if options.ask_tensorflow else None
    return quick_checks(health, xids, options.expectations, gpu_count)


def tensorflow_gpu_count(python: str | None) -> int | Unavailable:
    """How many GPUs TensorFlow in ``python`` lists; importing TF there, never here.

    CUDA_VISIBLE_DEVICES is left out: the node is judged on what it can give, not on one
    shell's selection (envkit doctor judges that variable).
    """
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    script = resources.files("envkit.probes") / "_scripts" / "tf_gpu_count.py"
    with resources.as_file(script) as script_path:  # by path, never -c: nothing from the cwd runs
        result = _proc.run(
            [python or sys.executable, "-B", str(script_path)],
            timeout_s=TF_DEVICE_TIMEOUT_S,
            env=env,
        )
    if result.timed_out:
        return Unavailable(
            "tensorflow-timeout", f"importing TensorFlow took over {TF_DEVICE_TIMEOUT_S:.0f} s"
        )
    if not result.ok:
        return Unavailable("tensorflow-failed", _failure_text(result))
    try:
        return int(json.loads(result.stdout.strip().splitlines()[-1])["gpus"])
    except (ValueError, KeyError, IndexError, TypeError):
        return Unavailable("tensorflow-bad-output", "TensorFlow's device list could not be parsed")


def _failure_text(result: _proc.ProcResult) -> str:
    if result.start_error:
        return result.start_error
    if result.returncode is not None and result.returncode < 0:
        return f"the interpreter died with signal {-result.returncode} while importing TensorFlow"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"


def _default_results(
    session: NvmlSession,
    health: NodeHealth,
    options: ValidateOptions,
    on_event: WorkloadCallback | None,
) -> tuple[list[CheckResult], tuple[TelemetrySample, ...]]:
    readable = [gpu for gpu in health.gpus if gpu.error is None]
    models = {gpu.index: knowledge.gpu_model(gpu.identity.name or "") for gpu in readable}
    if options.cpu_plan is not None:
        plan = options.cpu_plan
    elif readable:
        plan = plan_gpu_workloads(models)
    else:
        return [_no_gpu_to_measure(health)], ()
    sampler = NvmlSampler(session, [gpu.index for gpu in readable]) if readable else None
    measured = run_workloads(options.python, plan, sampler, on_event)
    checks = perf_checks(
        measured,
        {} if options.cpu_plan else models,
        options.expectations,
        options.cpu_expectations,
        pcie_links=_pcie_links(readable),
    )
    return list(checks), _telemetry(measured)


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
    links = {}
    for gpu in gpus:
        generation, width = gpu.pcie.max_generation, gpu.pcie.max_width
        if isinstance(generation, int) and isinstance(width, int):
            links[gpu.index] = PcieLink(generation, width)
    return links


class NvmlSampler:
    """Samples clocks, temperatures, power and clock event reasons once a second, in a thread."""

    def __init__(self, session: NvmlSession, indices: Sequence[int]) -> None:
        self._session = session
        self._indices = tuple(indices)
        self._samples: list[TelemetrySample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="envkit-nvml-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> Sequence[TelemetrySample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return tuple(self._samples)

    def _loop(self) -> None:
        while not self._stop.is_set():
            elapsed_s = round(time.monotonic() - self._started, 3)
            self._samples.extend(self._session.sample(elapsed_s, self._indices))
            self._stop.wait(SAMPLE_INTERVAL_S)


__all__ = ["NvmlSampler", "ValidateOptions", "tensorflow_gpu_count", "validate"]
