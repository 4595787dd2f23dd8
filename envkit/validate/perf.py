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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from envkit.knowledge import GpuModel
from envkit.smoke import LineKind
from envkit.smoke import Verdict as SmokeVerdict
from envkit.validate.catalog import declare
from envkit.validate.model import CheckResult, Expectations, TelemetrySample, Thresholds, Verdict
from envkit.validate.workloads import (
    PRECISIONS,
    BandwidthResult,
    DevicePlan,
    GemmResult,
    SmokeOutcome,
    StepResult,
    Window,
    WorkloadResults,
)

EPSILON = 1e-9
PCIE_LANE_GBPS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
"""GB/s per lane and direction after line encoding (8b/10b to Gen2, 128b/130b from Gen3)."""

HW_SLOWDOWN, SW_THERMAL, HW_THERMAL, HW_POWER_BRAKE, SW_POWER_CAP = 0x8, 0x20, 0x40, 0x80, 0x4
FAILING_REASONS = {
    HW_SLOWDOWN: "HW slowdown",
    HW_THERMAL: "HW thermal slowdown",
    HW_POWER_BRAKE: "HW power brake",
}
"""NVML clock event reasons that mean the hardware protected itself: a slow GPU's cause."""
WARNING_REASONS = {SW_THERMAL: "SW thermal slowdown"}
NOTED_REASONS = {SW_POWER_CAP: "SW power cap"}
"""Normal under a full GEMM: the GPU runs at its power limit."""

ACTION_SLOW = (
    "drain the node; run `dcgmi diag -r 3` and, if the GPU stays slow, ask the provider to "
    "replace it"
)
ACTION_SDC = (
    "drain the node now: silent data corruption; reset the GPU (nvidia-smi -r) and rerun; "
    "replace it if it repeats"
)
ACTION_THERMAL = "drain the node; check its cooling (fans, airflow, inlet temperature)"
ACTION_LINK = "check the PCIe link (nvidia-smi -q -d PCI): slot, riser, link width and generation"
ACTION_DIST = "run the step again; if it repeats, check NCCL and the GPUs' peer-to-peer paths"

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


@dataclass(frozen=True, slots=True)
class CpuExpectations:
    """Peak figures for a CPU run (tests, benchmarks), given explicitly: no CPU table exists."""

    bf16_tflops: float | None = None
    fp16_tflops: float | None = None
    fp32_tflops: float | None = None
    memory_bandwidth_gbps: float | None = None
    source: str = "given by the caller"


@dataclass(frozen=True, slots=True)
class PcieLink:
    """The link a GPU is on, as NVML reads it under load (current generation and width)."""

    generation: int
    width: int

    @property
    def peak_gbps(self) -> float | None:
        lane = PCIE_LANE_GBPS.get(self.generation)
        return None if lane is None else lane * self.width


@dataclass(frozen=True, slots=True)
class _Peak:
    """A datasheet figure to judge against, or why there is none."""

    value: float | None
    basis: str
    """What the figure is (e.g. "H100 SXM5 80GB dense BF16"), or why there is none."""
    called: str = "the datasheet"


class _Judge:
    """The inputs every check needs."""

    def __init__(
        self,
        results: WorkloadResults,
        gpu_models: Mapping[int, GpuModel | None],
        thresholds: Thresholds,
        cpu: CpuExpectations | None,
        links: Mapping[int, PcieLink],
    ) -> None:
        self.results = results
        self.models = gpu_models
        self.thresholds = thresholds
        self.cpu = cpu
        self.links = links

    def name(self, device: DevicePlan) -> str:
        """gpu:0 (NVIDIA H100 80GB HBM3)."""
        for info in self.results.devices:
            if (info.kind, info.index) == (device.kind, device.index) and info.name:
                return f"{device.label} ({info.name})"
        return device.label

    def peak(self, device: DevicePlan, figure: str, label: str) -> _Peak:
        if device.kind == "cpu":
            if self.cpu is None:
                return _Peak(None, "no CPU expectations were given")
            value = getattr(self.cpu, figure)
            why = f"no {label} figure in the CPU expectations"
            return _Peak(
                value, f"CPU {label}, {self.cpu.source}" if value else why, "the expected figure"
            )
        model = self.models.get(device.index)
        if model is None:
            return _Peak(None, "unknown GPU model (not in envkit's table)")
        if model.specs is None:
            return _Peak(None, f"envkit's table has no datasheet figures for {model.name}")
        value = getattr(model.specs, figure)
        if not value:
            return _Peak(None, f"the {model.name} datasheet gives no {label} figure")
        sources = ", ".join(model.specs.sources)
        return _Peak(value, f"{model.name} dense {label} ({sources})")

    def missing(
        self, check_id: str, test: str, device: DevicePlan | None, title: str
    ) -> CheckResult:
        """The check of a planned test that brought back nothing: skipped or failed, with why."""
        label = device.label if device else None
        gpu = _gpu_index(device)
        for note in self.results.skips:
            if note.test == test and note.device == label:
                return CheckResult(check_id, Verdict.SKIP, title, note.message, gpu)
        for note in self.results.errors:
            if note.test in (test, "device") and note.device == label:
                evidence = f"{note.error_type}: {note.message}"
                return CheckResult(check_id, Verdict.FAIL, f"{title}: failed", evidence, gpu)
        return CheckResult(
            check_id, Verdict.FAIL, f"{title}: not measured", self.why_missing(), gpu
        )

    def why_missing(self) -> str:
        failures = [job for job in self.results.jobs if job.failure is not None]
        if not failures:
            return "the job reported no measurement"
        return "; ".join(f"{job.label}: {job.failure.message}" for job in failures if job.failure)

    def samples(self, device: DevicePlan, window: Window | None) -> list[TelemetrySample]:
        if device.kind != "gpu":
            return []
        return [
            sample
            for sample in self.results.telemetry
            if sample.gpu_index == device.index
            and (window is None or window.start_s <= sample.elapsed_s <= window.end_s)
        ]


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
    judge = _Judge(results, gpu_models, expectations.thresholds, cpu_expectations, pcie_links or {})
    checks: list[CheckResult] = [*_smoke_checks(results), _job_check(results)]
    tests = results.plan.tests
    for device in results.plan.devices:
        if "gemm" in tests:
            checks += [_gemm_check(judge, device, precision) for precision in device.precisions]
        if "determinism" in tests:
            checks.append(_determinism_check(judge, device))
        if "memory" in tests:
            checks.append(_memory_check(judge, device))
        if "host" in tests:
            checks.append(_host_check(judge, device))
    if "gemm" in tests:
        checks += _sibling_checks(judge)
    checks += _throttle_checks(judge)
    if "mirrored" in tests:
        checks.append(_step_check(judge, "mirrored"))
    if results.plan.multiworker:
        checks.append(_step_check(judge, "multiworker"))
    return tuple(checks)


# ---------------------------------------------------------------- helpers


def _gpu_index(device: DevicePlan | None) -> int | None:
    return device.index if device is not None and device.kind == "gpu" else None


def grade(fraction: float, pass_at: float, fail_below: float) -> Verdict:
    """pass at or above ``pass_at``, fail below ``fail_below``, warn between (a figure on a
    line, up to float rounding, counts as on it)."""
    if fraction >= pass_at - EPSILON:
        return Verdict.PASS
    return Verdict.FAIL if fraction < fail_below - EPSILON else Verdict.WARN


def _reasons(samples: Iterable[TelemetrySample]) -> int:
    mask = 0
    for sample in samples:
        mask |= sample.clock_event_reasons or 0
    return mask


def _names(mask: int, table: Mapping[int, str]) -> list[str]:
    return [name for bit, name in table.items() if mask & bit]


def _telemetry_note(samples: Sequence[TelemetrySample]) -> str:
    """SM clock 1410-1980 MHz, up to 81 °C, up to 690 W; reasons: SW power cap (12 samples)."""
    if not samples:
        return "no telemetry samples in this window"
    parts = []
    clocks = [s.sm_clock_mhz for s in samples if s.sm_clock_mhz is not None]
    if clocks:
        parts.append(f"SM clock {min(clocks)}-{max(clocks)} MHz")
    temperatures = [s.temperature_c for s in samples if s.temperature_c is not None]
    if temperatures:
        parts.append(f"up to {max(temperatures)} °C")
    power = [s.power_w for s in samples if s.power_w is not None]
    if power:
        parts.append(f"up to {max(power):.0f} W")
    mask = _reasons(samples)
    table = {**FAILING_REASONS, **WARNING_REASONS, **NOTED_REASONS}
    reasons = ", ".join(_names(mask, table)) or "none of note"
    return f"{', '.join(parts)}; clock event reasons: {reasons} ({len(samples)} samples)"


def _fraction_text(measured: float, peak: float, unit: str) -> str:
    return f"{measured:.3g} {unit}, {measured / peak:.0%} of {peak:g} {unit}"


# ---------------------------------------------------------------- smoke and job


def _smoke_checks(results: WorkloadResults) -> list[CheckResult]:
    return [_smoke_check(outcome) for outcome in results.smoke]


def _smoke_check(outcome: SmokeOutcome) -> CheckResult:
    where = "the CPU" if outcome.gpu_index is None else f"gpu:{outcome.gpu_index}"
    result = outcome.result
    if result is None:
        evidence = outcome.error or "the smoke run did not start"
        title = f"The MNIST smoke run on {where} could not start"
        return CheckResult("smoke.trains", Verdict.FAIL, title, evidence, outcome.gpu_index)
    runs = ", ".join(f"{run.model} {run.verdict.value}" for run in result.runs) or "no run"
    if result.verdict is SmokeVerdict.PASS:
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


# ---------------------------------------------------------------- GEMM


_GEMM_FIGURES = {"bf16": ("bf16_tflops", "BF16"), "fp16": ("fp16_tflops", "FP16")}


def _gemm_check(judge: _Judge, device: DevicePlan, precision: str) -> CheckResult:
    check_id = f"perf.gemm-{precision}"
    found = [
        m
        for m in judge.results.gemm
        if (m.kind, m.index, m.precision) == (device.kind, device.index, precision)
    ]
    if not found:
        title = f"{precision.upper()} GEMM on {judge.name(device)}"
        return judge.missing(check_id, f"gemm-{precision}", device, title)
    measured = found[0]
    label, figure, pass_at, fail_below = _gemm_basis(judge.thresholds, measured)
    peak = judge.peak(device, figure, label)
    title = f"{label} GEMM on {judge.name(device)}: {measured.tflops:.3g} TFLOP/s"
    done = f"{measured.n}³, {measured.iterations} iterations in {measured.seconds:.2f} s"
    if peak.value is None:
        evidence = f"{done}; not judged against a datasheet: {peak.basis}; judged against siblings"
        return _rate_result(check_id, Verdict.SKIP, title, evidence, device, measured, None)
    fraction = measured.tflops / peak.value
    verdict = grade(fraction, pass_at, fail_below)
    limits = f"pass >= {pass_at:.0%}, fail < {fail_below:.0%} of {peak.value:g} ({peak.basis})"
    evidence = f"{done}; {fraction:.0%} of {peak.called}; {limits}"
    title = f"{title}, {fraction:.0%} of {peak.called}"
    verdict, title, evidence = _attribute(judge, device, measured.window, verdict, title, evidence)
    return _rate_result(check_id, verdict, title, evidence, device, measured, peak.value)


def _gemm_basis(thresholds: Thresholds, measured: GemmResult) -> tuple[str, str, float, float]:
    """(label, GpuSpecs field, pass, fail): FP32 is judged on the TF32 figure where TF32 ran."""
    if measured.precision in _GEMM_FIGURES:
        figure, label = _GEMM_FIGURES[measured.precision]
        return label, figure, thresholds.gemm_pass, thresholds.gemm_fail
    if measured.tf32:
        return "FP32 (TF32)", "tf32_tflops", thresholds.tf32_pass, thresholds.tf32_fail
    return "FP32", "fp32_tflops", thresholds.tf32_pass, thresholds.tf32_fail


def _attribute(
    judge: _Judge,
    device: DevicePlan,
    window: Window | None,
    verdict: Verdict,
    title: str,
    evidence: str,
) -> tuple[Verdict, str, str]:
    """A slow result with HW slowdown, thermal or power-brake reasons in its window fails,
    and says so; the telemetry of the window joins the evidence either way."""
    samples = judge.samples(device, window)
    if not samples:
        return verdict, title, evidence
    evidence = f"{evidence}; during the test: {_telemetry_note(samples)}"
    causes = _names(_reasons(samples), FAILING_REASONS)
    if verdict is Verdict.PASS or not causes:
        return verdict, title, evidence
    return Verdict.FAIL, f"{title}, with {' and '.join(causes)}", evidence


def _rate_result(
    check_id: str,
    verdict: Verdict,
    title: str,
    evidence: str,
    device: DevicePlan,
    measured: GemmResult | BandwidthResult,
    peak: float | None,
) -> CheckResult:
    """A throughput check's result: TFLOP/s for a GEMM, GB/s for a copy."""
    rate, unit = (
        (measured.tflops, "TFLOP/s")
        if isinstance(measured, GemmResult)
        else (measured.gbps, "GB/s")
    )
    action = ACTION_SLOW if verdict is Verdict.FAIL else None
    return CheckResult(
        check_id, verdict, title, evidence, _gpu_index(device), round(rate, 3), peak, unit, action
    )


def _sibling_checks(judge: _Judge) -> list[CheckResult]:
    """Each device against the best of its kind, precision by precision."""
    devices = judge.results.plan.devices
    kinds = {device.kind for device in devices}
    checks = []
    for kind in sorted(kinds):
        group = [device for device in devices if device.kind == kind]
        checks += [_sibling_check(judge, device, group) for device in group]
    return checks


def _sibling_check(judge: _Judge, device: DevicePlan, group: list[DevicePlan]) -> CheckResult:
    check_id = "perf.sibling-gemm"
    title = f"GEMM throughput of {judge.name(device)} against its siblings"
    if len(group) < 2:
        why = f"only one {device.kind.upper()} planned: nothing to compare with"
        return CheckResult(check_id, Verdict.SKIP, title, why, _gpu_index(device))
    ratios = []
    for precision in device.precisions:
        mine = _tflops(judge.results.gemm, device, precision)
        others = [_tflops(judge.results.gemm, d, precision) for d in group]
        best = max((value for value in others if value is not None), default=None)
        if mine is not None and best and sum(v is not None for v in others) >= 2:
            ratios.append((mine / best, precision, mine, best))
    if not ratios:
        return judge.missing(check_id, "gemm-" + device.precisions[0], device, title)
    ratio, precision, mine, best = min(ratios)
    limit = 1.0 - judge.thresholds.sibling_slowdown_warn
    verdict = Verdict.PASS if ratio >= limit else Verdict.WARN
    slower = f"{1 - ratio:.0%} slower than the best" if ratio < 1 else "the best"
    evidence = (
        f"slowest precision {precision.upper()}: {mine:.3g} against {best:.3g} TFLOP/s "
        f"({slower}); warns when more than {judge.thresholds.sibling_slowdown_warn:.0%} slower"
    )
    action = ACTION_SLOW if verdict is Verdict.WARN else None
    return CheckResult(
        check_id,
        verdict,
        f"{title}: {ratio:.0%} of the best",
        evidence,
        _gpu_index(device),
        round(ratio, 4),
        1.0,
        "fraction of the best",
        action,
    )


def _tflops(gemm: Sequence[GemmResult], device: DevicePlan, precision: str) -> float | None:
    for measured in gemm:
        if (measured.kind, measured.index, measured.precision) == (
            device.kind,
            device.index,
            precision,
        ):
            return measured.tflops
    return None


# ---------------------------------------------------------------- determinism


def _determinism_check(judge: _Judge, device: DevicePlan) -> CheckResult:
    check_id = "perf.gemm-determinism"
    found = [
        m for m in judge.results.determinism if (m.kind, m.index) == (device.kind, device.index)
    ]
    title = f"Repeated GEMM on {judge.name(device)}"
    if not found:
        return judge.missing(check_id, "determinism", device, title)
    m = found[0]
    precision = "FP32 (TF32)" if m.tf32 else m.precision.upper()
    done = f"{m.repeats} repeats of a {m.n}³ {precision} GEMM on fixed inputs, compared bitwise"
    known = (
        f"Freivalds check against float64: error {m.freivalds_error:.3g} "
        f"(bound {m.freivalds_tolerance:.3g})"
        if m.freivalds_error is not None
        else "Freivalds check against float64: no finite error"
    )
    problems = _determinism_problems(m.mismatched_elements, m.mismatched_repeats, m.nonfinite)
    wrong = m.freivalds_error is None or m.freivalds_error > m.freivalds_tolerance
    if wrong:
        problems.append("the result disagrees with the float64 check")
    injected = " (corruption INJECTED by the test, not the hardware)" if m.injected else ""
    evidence = f"{done}; {known}"
    if m.mismatched_elements:
        evidence += f"; largest difference {m.max_abs_diff:.3g}"
    if problems:
        title = f"{title} gave different or wrong results: {', '.join(problems)}{injected}"
        verdict, action = Verdict.FAIL, ACTION_SDC
    else:
        title = f"{title} repeats bit for bit and matches float64{injected}"
        verdict, action = Verdict.PASS, None
    return CheckResult(
        check_id,
        verdict,
        title,
        evidence + injected,
        _gpu_index(device),
        float(m.mismatched_elements),
        0.0,
        "mismatched elements",
        action,
    )


def _determinism_problems(elements: int, repeats: int, nonfinite: int) -> list[str]:
    problems = []
    if elements:
        problems.append(f"{elements} element(s) differ in {repeats} repeat(s)")
    if nonfinite:
        problems.append(f"{nonfinite} NaN or infinite element(s)")
    return problems


# ---------------------------------------------------------------- bandwidth


def _bandwidth(judge: _Judge, device: DevicePlan, direction: str) -> BandwidthResult | None:
    for measured in judge.results.bandwidth:
        key = (measured.kind, measured.index, measured.direction)
        if key == (device.kind, device.index, direction):
            return measured
    return None


def _memory_check(judge: _Judge, device: DevicePlan) -> CheckResult:
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
        return _rate_result(check_id, Verdict.SKIP, title, evidence, device, measured, None)
    fraction = measured.gbps / peak.value
    verdict = grade(fraction, thresholds.memory_bandwidth_pass, thresholds.memory_bandwidth_fail)
    evidence = (
        f"{done}; {_fraction_text(measured.gbps, peak.value, 'GB/s')} ({peak.basis}); "
        f"pass >= {thresholds.memory_bandwidth_pass:.0%}, "
        f"fail < {thresholds.memory_bandwidth_fail:.0%}"
    )
    title = f"{title}, {fraction:.0%} of {peak.called}"
    verdict, title, evidence = _attribute(judge, device, measured.window, verdict, title, evidence)
    return _rate_result(check_id, verdict, title, evidence, device, measured, peak.value)


def _host_check(judge: _Judge, device: DevicePlan) -> CheckResult:
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
        return _rate_result(check_id, Verdict.SKIP, title, evidence, device, slowest, None)
    thresholds = judge.thresholds
    fraction = slowest.gbps / peak
    verdict = grade(fraction, thresholds.host_bandwidth_pass, thresholds.host_bandwidth_fail)
    evidence = (
        f"{done}; slowest {_fraction_text(slowest.gbps, peak, 'GB/s')} "
        f"(PCIe Gen{link.generation} x{link.width}, per direction); "
        f"pass >= {thresholds.host_bandwidth_pass:.0%}, fail < {thresholds.host_bandwidth_fail:.0%}"
    )
    title = f"{title}, {fraction:.0%} of PCIe Gen{link.generation} x{link.width}"
    result = _rate_result(check_id, verdict, title, evidence, device, slowest, peak)
    return replace(result, action=ACTION_LINK) if verdict is Verdict.FAIL else result


# ---------------------------------------------------------------- telemetry


def _throttle_checks(judge: _Judge) -> list[CheckResult]:
    gpus = [device for device in judge.results.plan.devices if device.kind == "gpu"]
    return [_throttle_check(judge, device) for device in gpus]


def _throttle_check(judge: _Judge, device: DevicePlan) -> CheckResult:
    check_id = "perf.throttle-under-load"
    title = f"Clock event reasons of {judge.name(device)} under load"
    gpu = device.index
    if not judge.results.telemetry:
        why = judge.results.telemetry_error or "no telemetry sampler ran"
        return CheckResult(check_id, Verdict.SKIP, title, why, gpu)
    samples = judge.samples(device, None)
    if not samples:
        return CheckResult(check_id, Verdict.SKIP, title, "no samples of this GPU", gpu)
    mask = _reasons(samples)
    note = _telemetry_note(samples)
    failing = _names(mask, FAILING_REASONS)
    if failing:
        title = f"{title}: {', '.join(failing)}"
        return CheckResult(check_id, Verdict.FAIL, title, note, gpu, action=ACTION_THERMAL)
    warning = _names(mask, WARNING_REASONS)
    if warning:
        title = f"{title}: {', '.join(warning)}"
        return CheckResult(check_id, Verdict.WARN, title, note, gpu, action=ACTION_THERMAL)
    return CheckResult(check_id, Verdict.PASS, f"{title}: no slowdown", note, gpu)


# ---------------------------------------------------------------- distributed steps


def _step_check(judge: _Judge, strategy: str) -> CheckResult:
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
