"""What the default tier's checks share: thresholds' constants, the peaks a measurement is judged
against, the Judge that finds them, and the grading and telemetry helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from envkit.knowledge import GpuModel
from envkit.records import record
from envkit.validate.model import CheckResult, TelemetrySample, Thresholds, Verdict
from envkit.validate.workloads import (
    BandwidthResult,
    DevicePlan,
    GemmResult,
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
    "drain the node now: silent data corruption; reset the GPU (`nvidia-smi -r`) and rerun; "
    "replace it if it repeats"
)
ACTION_THERMAL = "drain the node; check its cooling (fans, airflow, inlet temperature)"
ACTION_LINK = "check the PCIe link (`nvidia-smi -q -d PCI`): slot, riser, link width and generation"
ACTION_DIST = "run the step again; if it repeats, check NCCL and the GPUs' peer-to-peer paths"


@record
class CpuExpectations:
    """Peak figures for a CPU run (tests, benchmarks), given explicitly: no CPU table exists."""

    bf16_tflops: float | None = None
    fp16_tflops: float | None = None
    fp32_tflops: float | None = None
    memory_bandwidth_gbps: float | None = None
    source: str = "given by the caller"


@record
class PcieLink:
    """The link a GPU is on, as NVML reads it under load (current generation and width)."""

    generation: int
    width: int

    @property
    def peak_gbps(self) -> float | None:
        lane = PCIE_LANE_GBPS.get(self.generation)
        return None if lane is None else lane * self.width


@record
class Peak:
    """A datasheet figure to judge against, or why there is none."""

    value: float | None
    basis: str
    """What the figure is (e.g. "H100 SXM5 80GB dense BF16"), or why there is none."""
    called: str = "the datasheet"


class Judge:
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

    def peak(self, device: DevicePlan, figure: str, label: str) -> Peak:
        if device.kind == "cpu":
            if self.cpu is None:
                return Peak(None, "no CPU expectations were given")
            value = getattr(self.cpu, figure)
            why = f"no {label} figure in the CPU expectations"
            return Peak(
                value, f"CPU {label}, {self.cpu.source}" if value else why, "the expected figure"
            )
        model = self.models.get(device.index)
        if model is None:
            return Peak(None, "unknown GPU model (not in envkit's table)")
        if model.specs is None:
            return Peak(None, f"envkit's table has no datasheet figures for {model.name}")
        value = getattr(model.specs, figure)
        if not value:
            return Peak(None, f"the {model.name} datasheet gives no {label} figure")
        sources = ", ".join(model.specs.sources)
        return Peak(value, f"{model.name} dense {label} ({sources})")

    def missing(
        self, check_id: str, test: str, device: DevicePlan | None, title: str
    ) -> CheckResult:
        """The check of a planned test that brought back nothing: skipped or failed, with why."""
        label = device.label if device else None
        gpu = gpu_index(device)
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


def gpu_index(device: DevicePlan | None) -> int | None:
    return device.index if device is not None and device.kind == "gpu" else None


def grade(fraction: float, pass_at: float, fail_below: float) -> Verdict:
    """pass at or above ``pass_at``, fail below ``fail_below``, warn between (a figure on a
    line, up to float rounding, counts as on it)."""
    if fraction >= pass_at - EPSILON:
        return Verdict.PASS
    return Verdict.FAIL if fraction < fail_below - EPSILON else Verdict.WARN


def clock_reasons(samples: Iterable[TelemetrySample]) -> int:
    mask = 0
    for sample in samples:
        mask |= sample.clock_event_reasons or 0
    return mask


def reason_names(mask: int, table: Mapping[int, str]) -> list[str]:
    return [name for bit, name in table.items() if mask & bit]


def telemetry_note(samples: Sequence[TelemetrySample]) -> str:
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
    mask = clock_reasons(samples)
    table = {**FAILING_REASONS, **WARNING_REASONS, **NOTED_REASONS}
    reasons = ", ".join(reason_names(mask, table)) or "none of note"
    return f"{', '.join(parts)}; clock event reasons: {reasons} ({len(samples)} samples)"


def fraction_text(measured: float, peak: float, unit: str) -> str:
    return f"{measured:.3g} {unit}, {measured / peak:.0%} of {peak:g} {unit}"


# ---------------------------------------------------------------- smoke and job


def attribute(
    judge: Judge,
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
    evidence = f"{evidence}; during the test: {telemetry_note(samples)}"
    causes = reason_names(clock_reasons(samples), FAILING_REASONS)
    if verdict is Verdict.PASS or not causes:
        return verdict, title, evidence
    return Verdict.FAIL, f"{title}, with {' and '.join(causes)}", evidence


def rate_result(
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
        check_id, verdict, title, evidence, gpu_index(device), round(rate, 3), peak, unit, action
    )
