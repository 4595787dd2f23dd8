"""The default tier's verdicts: pure functions from measured workloads to CheckResults.

Absolute checks compare with the datasheet figures of the knowledge base (GpuModel.specs) and
the configurable Thresholds; an unknown GPU, or one without the figure, is skipped with the
reason, while the relative checks (sibling GPUs, determinism, the distributed steps) still run.
A CPU run is judged only against CpuExpectations given explicitly. A test that was planned but
brought back no measurement fails with the reason; it never passes by silence.

The check ids are declared below, with their descriptions (envkit validate --list-checks).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from envkit.knowledge import GpuModel
from envkit.smoke import LineKind, RunVerdict
from envkit.validate.catalog import declare
from envkit.validate.model import CheckResult, Expectations, Verdict
from envkit.validate.perf_gemm import determinism_check, gemm_check, sibling_checks
from envkit.validate.perf_judge import (
    ACTION_DIST,
    ACTION_LINK,
    ACTION_THERMAL,
    FAILING_REASONS,
    HW_THERMAL,
    SW_POWER_CAP,
    SW_THERMAL,
    WARNING_REASONS,
    CpuExpectations,
    Judge,
    PcieLink,
    attribute,
    clock_reasons,
    fraction_text,
    grade,
    rate_result,
    reason_names,
    telemetry_note,
)
from envkit.validate.quick_common import timed, with_duration
from envkit.validate.workloads import (
    PRECISIONS,
    BandwidthResult,
    DevicePlan,
    SmokeOutcome,
    StepResult,
    WorkloadResults,
)

declare(
    "smoke.trains", "The smoke run (MNIST, quick) trains to the tutorial's accuracy on each GPU."
)
declare("perf.job", "The measurement job started TensorFlow and reported its measurements.")
for _precision in PRECISIONS:
    declare(
        f"perf.gemm-{_precision}",
        f"{_precision.upper()} GEMM reaches its share of the GPU's datasheet TFLOPS "
        "(fp32 on TF32 tensor cores where the GPU has them).",
    )
declare("perf.sibling-gemm", "No GPU is markedly slower at GEMM than the best GPU of the node.")
declare(
    "perf.gemm-determinism",
    "A GEMM repeated on fixed inputs gives bitwise the same result, finite and right by a "
    "Freivalds check (silent data corruption).",
)
declare("perf.memory-bandwidth", "Device memory bandwidth reaches its share of the datasheet.")
declare("perf.host-bandwidth", "Host to device and back reach their share of the PCIe link.")
declare("perf.throttle-under-load", "No hardware slowdown (thermal, power brake) under load.")
declare("dist.mirrored-step", "A MirroredStrategy step across the GPUs matches NumPy's descent.")
declare(
    "dist.multiworker-step",
    "A MultiWorkerMirroredStrategy step by two workers on loopback matches NumPy's descent.",
)


def perf_checks(
    results: WorkloadResults,
    gpu_models: Mapping[int, GpuModel | None],
    expectations: Expectations,
    cpu_expectations: CpuExpectations | None = None,
    *,
    pcie_links: Mapping[int, PcieLink] | None = None,
) -> tuple[CheckResult, ...]:
    """Every check of the default tier's active tests, in a stable order.

    ``gpu_models`` maps NVML indices to their model (None: unknown); ``pcie_links`` gives the
    link each GPU is on, for the host-bandwidth check (without it that check is skipped).
    """
    judge = Judge(results, gpu_models, expectations.thresholds, cpu_expectations, pcie_links or {})
    checks: list[CheckResult] = [
        *(with_duration(timed(_smoke_check, o), _smoke_seconds(o)) for o in results.smoke),
        with_duration(timed(_job_check, results), _job_seconds(results)),
    ]
    tests = results.plan.tests
    for device in results.plan.devices:
        if "gemm" in tests:
            for precision in device.precisions:
                ran = _seconds([m for m in results.gemm if m.precision == precision], device)
                checks.append(with_duration(timed(gemm_check, judge, device, precision), ran))
        if "determinism" in tests:
            ran = _seconds(results.determinism, device)
            checks.append(with_duration(timed(determinism_check, judge, device), ran))
        if "memory" in tests:
            ran = _seconds(results.bandwidth, device, lambda m: m.direction == "device")
            checks.append(with_duration(timed(_memory_check, judge, device), ran))
        if "host" in tests:
            ran = _seconds(results.bandwidth, device, lambda m: m.direction != "device")
            checks.append(with_duration(timed(_host_check, judge, device), ran))
    if "gemm" in tests:
        checks += _judged_only(sibling_checks, judge)
    checks += _judged_only(_throttle_checks, judge)
    if "mirrored" in tests:
        checks.append(_step_timed(judge, "mirrored"))
    if results.plan.multiworker:
        checks.append(_step_timed(judge, "multiworker"))
    return tuple(checks)


# ---------------------------------------------------------------- durations


def _seconds(
    measured: Sequence[Any], device: DevicePlan, keep: Callable[[Any], bool] = lambda _m: True
) -> float:
    """How long the device's measurements of one kind ran in the job: their windows on the
    sampler's clock, else the timed part the job reported."""
    total = 0.0
    for item in measured:
        if (item.kind, item.index) == (device.kind, device.index) and keep(item):
            window = item.window
            total += window.end_s - window.start_s if window is not None else item.seconds
    return total


def _smoke_seconds(outcome: SmokeOutcome) -> float:
    return outcome.result.wall_seconds if outcome.result is not None else 0.0


def _job_seconds(results: WorkloadResults) -> float:
    return sum(job.wall_seconds for job in results.jobs)


def _judged_only(make: Callable[[Judge], list[CheckResult]], judge: Judge) -> list[CheckResult]:
    """Checks judged from figures other checks measured: each takes its share of the judging."""
    started = time.perf_counter()
    found = make(judge)
    share = (time.perf_counter() - started) / max(len(found), 1)
    return [with_duration(result, share) for result in found]


def _step_timed(judge: Judge, strategy: str) -> CheckResult:
    ran = sum(step.seconds for step in judge.results.steps if step.strategy == strategy)
    return with_duration(timed(_step_check, judge, strategy), ran)


# ---------------------------------------------------------------- helpers


def _smoke_check(outcome: SmokeOutcome) -> CheckResult:
    where = "the CPU" if outcome.gpu_index is None else f"gpu:{outcome.gpu_index}"
    result = outcome.result
    if result is None:
        evidence = outcome.error or "the smoke run did not start"
        title = f"The MNIST smoke run on {where} could not start"
        return CheckResult("smoke.trains", Verdict.FAIL, title, evidence, outcome.gpu_index)
    runs = ", ".join(f"{run.model} {run.verdict.value}" for run in result.runs) or "no run"
    if result.verdict is RunVerdict.PASS:
        title = f"The MNIST smoke run trains on {where}"
        evidence = f"{runs}; {result.wall_seconds:.1f} s"
        return CheckResult("smoke.trains", Verdict.PASS, title, evidence, outcome.gpu_index)
    problems = [d.line for d in result.diagnoses if d.kind is not LineKind.NOISE]
    why = [result.failure.message] if result.failure else []
    if result.gpu_missing:
        why.append("TensorFlow sees no GPU")
    why += [f"{run.model}: {run.verdict_reason}" for run in result.runs if run.verdict_reason]
    evidence = "; ".join([*why, *problems[:3]]) or runs
    title = f"The MNIST smoke run on {where} did not pass ({result.verdict.value})"
    action = "run `envkit smoke --device gpu` on this node and follow its findings"
    return CheckResult(
        "smoke.trains", Verdict.FAIL, title, evidence, outcome.gpu_index, action=action
    )


def _job_check(results: WorkloadResults) -> CheckResult:
    job = results.jobs[0] if results.jobs else None
    if job is None:
        return CheckResult("perf.job", Verdict.FAIL, "The measurement job did not run", "")
    if job.failure is None:
        version = results.tensorflow_version or "unknown"
        title = f"The measurement job ran to its end in {job.wall_seconds:.1f} s"
        return CheckResult("perf.job", Verdict.PASS, title, f"TensorFlow {version}")
    problems = [d.line for d in job.diagnoses if d.kind is not LineKind.NOISE]
    evidence = "; ".join([job.failure.message, *problems[:3]])
    title = f"The measurement job did not finish ({job.failure.cause})"
    return CheckResult("perf.job", Verdict.FAIL, title, evidence)


# ---------------------------------------------------------------- bandwidth


def _bandwidth(judge: Judge, device: DevicePlan, direction: str) -> BandwidthResult | None:
    for measured in judge.results.bandwidth:
        key = (measured.kind, measured.index, measured.direction)
        if key == (device.kind, device.index, direction):
            return measured
    return None


def _memory_check(judge: Judge, device: DevicePlan) -> CheckResult:
    check_id = "perf.memory-bandwidth"
    measured = _bandwidth(judge, device, "device")
    title = f"Device memory bandwidth of {judge.name(device)}"
    if measured is None:
        return judge.missing(check_id, "memory-bandwidth", device, title)
    done = (
        f"y = x + 1 over {measured.bytes // 2 / 2**20:.0f} MiB, "
        f"{measured.iterations} iterations in {measured.seconds:.2f} s"
    )
    title = f"{title}: {measured.gbps:.4g} GB/s"
    peak = judge.peak(device, "memory_bandwidth_gbps", "memory bandwidth")
    thresholds = judge.thresholds
    if peak.value is None:
        evidence = f"{done}; not judged against a datasheet: {peak.basis}"
        return rate_result(check_id, Verdict.SKIP, title, evidence, device, measured, None)
    fraction = measured.gbps / peak.value
    verdict = grade(fraction, thresholds.memory_bandwidth_pass, thresholds.memory_bandwidth_fail)
    evidence = (
        f"{done}; {fraction_text(measured.gbps, peak.value, 'GB/s')} ({peak.basis}); "
        f"pass >= {thresholds.memory_bandwidth_pass:.0%}, "
        f"fail < {thresholds.memory_bandwidth_fail:.0%}"
    )
    title = f"{title}, {fraction:.0%} of {peak.called}"
    verdict, title, evidence = attribute(judge, device, measured.window, verdict, title, evidence)
    return rate_result(check_id, verdict, title, evidence, device, measured, peak.value)


def _host_check(judge: Judge, device: DevicePlan) -> CheckResult:
    check_id = "perf.host-bandwidth"
    title = f"Host<->device copies of {judge.name(device)}"
    h2d = _bandwidth(judge, device, "h2d")
    d2h = _bandwidth(judge, device, "d2h")
    if h2d is None or d2h is None:
        return judge.missing(check_id, "host-bandwidth", device, title)
    slowest = min(h2d, d2h, key=lambda m: m.gbps)
    done = (
        f"host to device {h2d.gbps:.3g} GB/s, device to host {d2h.gbps:.3g} GB/s "
        f"({h2d.bytes / 2**20:.0f} MiB, TensorFlow's own copies)"
    )
    title = f"{title}: {h2d.gbps:.3g} / {d2h.gbps:.3g} GB/s"
    link = judge.links.get(device.index)
    peak = link.peak_gbps if link is not None else None
    if link is None or peak is None:
        why = "PCIe link generation and width not known" if link is None else "unknown PCIe gen"
        evidence = f"{done}; not judged: {why}"
        return rate_result(check_id, Verdict.SKIP, title, evidence, device, slowest, None)
    thresholds = judge.thresholds
    fraction = slowest.gbps / peak
    verdict = grade(fraction, thresholds.host_bandwidth_pass, thresholds.host_bandwidth_fail)
    evidence = (
        f"{done}; slowest {fraction_text(slowest.gbps, peak, 'GB/s')} "
        f"(PCIe Gen{link.generation} x{link.width}, per direction); "
        f"pass >= {thresholds.host_bandwidth_pass:.0%}, fail < {thresholds.host_bandwidth_fail:.0%}"
    )
    title = f"{title}, {fraction:.0%} of PCIe Gen{link.generation} x{link.width}"
    result = rate_result(check_id, verdict, title, evidence, device, slowest, peak)
    return replace(result, action=ACTION_LINK) if verdict is Verdict.FAIL else result


# ---------------------------------------------------------------- telemetry


def _throttle_checks(judge: Judge) -> list[CheckResult]:
    gpus = [device for device in judge.results.plan.devices if device.kind == "gpu"]
    return [_throttle_check(judge, device) for device in gpus]


def _throttle_check(judge: Judge, device: DevicePlan) -> CheckResult:
    check_id = "perf.throttle-under-load"
    title = f"Clock event reasons of {judge.name(device)} under load"
    gpu = device.index
    if not judge.results.telemetry:
        why = judge.results.telemetry_error or "no telemetry sampler ran"
        return CheckResult(check_id, Verdict.SKIP, title, why, gpu)
    samples = judge.samples(device, None)
    if not samples:
        return CheckResult(check_id, Verdict.SKIP, title, "no samples of this GPU", gpu)
    mask = clock_reasons(samples)
    note = telemetry_note(samples)
    failing = reason_names(mask, FAILING_REASONS)
    if failing:
        title = f"{title}: {', '.join(failing)}"
        return CheckResult(check_id, Verdict.FAIL, title, note, gpu, action=ACTION_THERMAL)
    warning = reason_names(mask, WARNING_REASONS)
    if warning:
        title = f"{title}: {', '.join(warning)}"
        return CheckResult(check_id, Verdict.WARN, title, note, gpu, action=ACTION_THERMAL)
    return CheckResult(check_id, Verdict.PASS, f"{title}: no slowdown", note, gpu)


# ---------------------------------------------------------------- distributed steps


def _step_check(judge: Judge, strategy: str) -> CheckResult:
    check_id = f"dist.{strategy}-step"
    test = f"{strategy}-step"
    name = "MirroredStrategy" if strategy == "mirrored" else "MultiWorkerMirroredStrategy"
    title = f"A {name} training step"
    found = [step for step in judge.results.steps if step.strategy == strategy]
    if not found:
        return judge.missing(check_id, test, None, title)
    step = found[0]
    where = f"{step.replicas} replicas" + (
        f" in {step.workers} workers" if step.workers > 1 else ""
    )
    title = f"{title} across {where}"
    problems = _step_problems(step)
    evidence = _step_evidence(step)
    if problems:
        title = f"{title} went wrong: {', '.join(problems)}"
        return CheckResult(check_id, Verdict.FAIL, title, evidence, action=ACTION_DIST)
    return CheckResult(
        check_id,
        Verdict.PASS,
        f"{title} matches float64 and every replica agrees",
        evidence,
        measured=step.max_abs_error,
        expected=step.tolerance,
        unit="max abs weight error",
    )


def _step_problems(step: StepResult) -> list[str]:
    problems = []
    if not step.replicas_agree:
        problems.append("the replicas hold different weights")
    if step.max_abs_error is None or step.max_abs_error > step.tolerance:
        problems.append("the weights differ from NumPy's float64 descent")
    losses = [loss for loss in step.losses if loss is not None and math.isfinite(loss)]
    if len(losses) != len(step.losses) or not losses:
        problems.append("a loss was NaN or infinite")
    elif len(losses) > 1 and losses[-1] >= losses[0]:
        problems.append("the loss did not decrease")
    return problems


def _step_evidence(step: StepResult) -> str:
    losses = ", ".join("nan" if loss is None else f"{loss:.4g}" for loss in step.losses)
    error = "none" if step.max_abs_error is None else f"{step.max_abs_error:.3g}"
    return (
        f"{step.steps} steps on {', '.join(step.devices)} in {step.seconds:.2f} s; "
        f"losses {losses}; largest weight error against float64 {error} "
        f"(tolerance {step.tolerance:g})"
    )


__all__ = [
    "HW_THERMAL",
    "SW_POWER_CAP",
    "SW_THERMAL",
    "CpuExpectations",
    "PcieLink",
    "grade",
    "perf_checks",
]
