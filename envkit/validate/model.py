"""The vocabulary of `envkit validate`: expectations in, a verdict per check out.

A signal that could not be read is never a pass: it is ``fail`` when the check needs it, or
``skip`` with the reason when the GPU does not support it.
"""

from __future__ import annotations

import enum
from dataclasses import field

from envkit.exit_codes import ExitCode
from envkit.model_health import GpuIdentity, TelemetrySample
from envkit.records import record

VALIDATION_SCHEMA_VERSION = "2"


class Verdict(enum.Enum):
    PASS = "pass"  # noqa: S105 -- a verdict, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"

    @property
    def rank(self) -> int:
        """Worst first: fail, warn, skip, pass."""
        return {"fail": 0, "warn": 1, "skip": 2, "pass": 3}[self.value]


class Tier(enum.Enum):
    QUICK = "quick"
    """Passive: NVML and the kernel log; under a second, no GPU load, no CUDA context, no
    TensorFlow import (a Slurm HealthCheckProgram runs it under running jobs)."""
    DEFAULT = "default"
    """Adds TensorFlow's GPU list and active tests through TensorFlow: smoke, GEMM, bandwidth,
    a distributed step."""


@record
class Thresholds:
    """Fractions of the datasheet figure: below the ``fail`` one fails, below ``pass`` warns."""

    gemm_pass: float = 0.65
    gemm_fail: float = 0.50
    tf32_pass: float = 0.60
    tf32_fail: float = 0.45
    memory_bandwidth_pass: float = 0.70
    memory_bandwidth_fail: float = 0.55
    host_bandwidth_pass: float = 0.75
    host_bandwidth_fail: float = 0.50
    sibling_slowdown_warn: float = 0.10
    """A GPU this much slower than the best GPU of the node warns."""


@record
class Expectations:
    """What the operator says the instance must have; None means "not checked"."""

    gpu_count: int | None = None
    gpu_model: str | None = None
    """Text the NVML name must contain, case-insensitive (e.g. "H100")."""
    memory_gib: float | None = None
    """Per GPU, the size it is sold with (24 for an A10G); matched by knowledge.memory_band:
    the totals drivers report for the model, else up to 10 % below, never above."""
    min_driver: str | None = None
    thresholds: Thresholds = Thresholds()


@record(many=True)  # tens per node, thousands in a fleet summary
class CheckResult:
    check_id: str
    """Stable, dotted: gpu.ecc-uncorrected, perf.gemm-bf16, node.gpu-count."""
    verdict: Verdict
    title: str
    """One line: what was checked and how it came out."""
    evidence: str
    """The numbers: measured, expected, threshold, or why the check was skipped."""
    gpu_index: int | None = None
    """The GPU this result is about; None for the node as a whole."""
    measured: float | None = None
    expected: float | None = None
    unit: str | None = None
    action: str | None = None
    """What an operator should do: drain, reboot, reset, replace, or a command."""
    duration_s: float | None = field(default=None, metadata={"optional_in_schema": True})
    """Wall time of the check where it ran: the reading it alone needs (node.nvml: the NVML
    health read; node.xid: the kernel log; a perf check: its stage in the job) plus its
    judgement. None in reports written before envkit measured it."""


@record
class ValidationReport:
    schema_version: str
    envkit_version: str
    node: str
    """The node's name as the scheduler knows it (--node-name, else the hostname)."""
    tier: Tier
    started_at: str
    duration_s: float
    driver_version: str | None
    cuda_driver_version: str | None
    gpus: tuple[GpuIdentity, ...]
    expectations: Expectations
    results: tuple[CheckResult, ...]
    telemetry: tuple[TelemetrySample, ...] = ()

    @property
    def verdict(self) -> Verdict:
        """fail if any check failed, else warn if any warned, else pass (skips do not pass a node
        by themselves: a node whose every check was skipped fails)."""
        verdicts = {result.verdict for result in self.results}
        if Verdict.FAIL in verdicts or verdicts <= {Verdict.SKIP}:
            return Verdict.FAIL
        return Verdict.WARN if Verdict.WARN in verdicts else Verdict.PASS

    @property
    def exit_status(self) -> int:
        return 1 if self.verdict is Verdict.FAIL else 0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(self.exit_status)


__all__ = [
    "VALIDATION_SCHEMA_VERSION",
    "CheckResult",
    "Expectations",
    "GpuIdentity",
    "TelemetrySample",
    "Thresholds",
    "Tier",
    "ValidationReport",
    "Verdict",
]
