"""What the default tier's workloads measured, as typed results, and the parser that builds them
from the job's events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from envkit.jobs import JobEvent
from envkit.model_health import TelemetrySample
from envkit.records import record
from envkit.smoke import Diagnosis, JobFailure, SmokeResult
from envkit.validate.workload_plan import WorkloadPlan


@record
class Window:
    """When a measurement ran, in seconds on the sampler's clock (TelemetrySample.elapsed_s)."""

    start_s: float
    end_s: float


@record
class DeviceInfo:
    kind: str
    index: int
    tf_name: str
    name: str | None
    compute_capability: str | None


@record
class GemmResult:
    kind: str
    index: int
    precision: str
    tf32: bool
    """The fp32 GEMM ran on TF32 tensor cores."""
    n: int
    iterations: int
    seconds: float
    tflops: float
    """2 n^3 iterations / seconds / 1e12."""
    window: Window | None


@record
class DeterminismResult:
    kind: str
    index: int
    precision: str
    tf32: bool
    n: int
    repeats: int
    mismatched_repeats: int
    mismatched_elements: int
    max_abs_diff: float | None
    nonfinite: int
    """NaN or infinite elements in the first result (finite inputs cannot give any)."""
    freivalds_error: float | None
    """Largest row-sum error against A @ (B @ 1) in float64, normalised by |A| @ (|B| @ 1)."""
    freivalds_tolerance: float
    injected: bool
    """The job flipped a bit on purpose (CorruptionInjection): a test, not the hardware."""
    window: Window | None


@record
class BandwidthResult:
    kind: str
    index: int
    direction: str
    """device (y = x + 1 in device memory), h2d or d2h."""
    bytes: int
    """Moved per iteration."""
    iterations: int
    seconds: float
    gbps: float
    """10^9 bytes per second."""
    window: Window | None


@record
class StepResult:
    """A few training steps of a linear model across replicas, against NumPy's float64 descent."""

    strategy: str
    """mirrored or multiworker."""
    workers: int
    replicas: int
    devices: tuple[str, ...]
    steps: int
    losses: tuple[float | None, ...]
    max_abs_error: float | None
    tolerance: float
    replicas_agree: bool
    """Every replica (and, multi-worker, every worker) holds bitwise the same weights."""
    seconds: float


@record
class WorkloadNote:
    """A test that was skipped (reason) or raised (error_type: message)."""

    test: str
    device: str | None
    message: str
    error_type: str | None = None


@record
class JobOutcome:
    label: str
    """job, worker 0, worker 1."""
    failure: JobFailure | None
    diagnoses: tuple[Diagnosis, ...]
    wall_seconds: float


@record
class SmokeOutcome:
    gpu_index: int | None
    """None for a CPU plan's smoke run."""
    result: SmokeResult | None
    error: str | None = None
    """Why the smoke run could not start (a bad spec or unusable data)."""


@record
class WorkloadResults:
    plan: WorkloadPlan
    tensorflow_version: str | None
    devices: tuple[DeviceInfo, ...]
    gemm: tuple[GemmResult, ...]
    determinism: tuple[DeterminismResult, ...]
    bandwidth: tuple[BandwidthResult, ...]
    steps: tuple[StepResult, ...]
    skips: tuple[WorkloadNote, ...]
    errors: tuple[WorkloadNote, ...]
    smoke: tuple[SmokeOutcome, ...]
    jobs: tuple[JobOutcome, ...]
    telemetry: tuple[TelemetrySample, ...]
    telemetry_error: str | None
    wall_seconds: float


# ---------------------------------------------------------------- parsing the events


def assemble_results(
    plan: WorkloadPlan,
    smoke: tuple[SmokeOutcome, ...],
    job_events: Sequence[JobEvent],
    worker_events: Sequence[Sequence[JobEvent]],
    jobs: tuple[JobOutcome, ...],
    origin: float,
    telemetry: tuple[tuple[TelemetrySample, ...], str | None],
    wall_seconds: float,
) -> WorkloadResults:
    """The typed results from the measurement job's and the workers' events; ``telemetry`` is
    the samples and why sampling failed, if it did."""
    parsed = ParsedEvents(origin)
    for event in job_events:
        parsed.add(event)
    worker_parsed = [ParsedEvents(origin) for _ in worker_events]
    for parser, events in zip(worker_parsed, worker_events, strict=True):
        for event in events:
            parser.add(event)
    steps = list(parsed.steps)
    multi = multiworker_step(worker_parsed)
    if multi is not None:
        steps.append(multi)
    return WorkloadResults(
        plan=plan,
        tensorflow_version=parsed.tensorflow_version,
        devices=tuple(parsed.devices),
        gemm=tuple(parsed.gemm),
        determinism=tuple(parsed.determinism),
        bandwidth=tuple(parsed.bandwidth),
        steps=tuple(steps),
        skips=tuple(parsed.skips),
        errors=tuple(parsed.errors + [e for p in worker_parsed for e in p.errors]),
        smoke=smoke,
        jobs=jobs,
        telemetry=telemetry[0],
        telemetry_error=telemetry[1],
        wall_seconds=round(wall_seconds, 3),
    )


def multiworker_step(parsed: list[ParsedEvents]) -> StepResult | None:
    """One result from both workers' step events; None unless every worker reported one."""
    reports = [p.steps[0] for p in parsed if p.steps]
    if not parsed or len(reports) != len(parsed):
        return None
    digests = {p.digests[0] for p in parsed}
    errors = [r.max_abs_error for r in reports]
    return StepResult(
        strategy="multiworker",
        workers=len(reports),
        replicas=reports[0].replicas,
        devices=tuple(device for r in reports for device in r.devices),
        steps=reports[0].steps,
        losses=reports[0].losses,
        max_abs_error=None if None in errors else max(e for e in errors if e is not None),
        tolerance=reports[0].tolerance,
        replicas_agree=len(digests) == 1 and all(r.replicas_agree for r in reports),
        seconds=max(r.seconds for r in reports),
    )


class ParsedEvents:
    """The job's measurement events as typed results."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self.tensorflow_version: str | None = None
        self.devices: list[DeviceInfo] = []
        self.gemm: list[GemmResult] = []
        self.determinism: list[DeterminismResult] = []
        self.bandwidth: list[BandwidthResult] = []
        self.steps: list[StepResult] = []
        self.digests: list[str] = []
        self.skips: list[WorkloadNote] = []
        self.errors: list[WorkloadNote] = []

    def add(self, event: JobEvent) -> None:
        handler = getattr(self, f"_on_{event.name}", None)
        if handler is None:
            return
        try:
            handler(event.fields)
        except (KeyError, TypeError, ValueError) as error:
            self.errors.append(WorkloadNote("protocol", None, f"bad {event.name} event: {error}"))

    def _window(self, fields: Mapping[str, Any]) -> Window | None:
        start, end = fields.get("wall_start"), fields.get("wall_end")
        if not isinstance(start, int | float) or not isinstance(end, int | float):
            return None
        return Window(round(start - self.origin, 3), round(end - self.origin, 3))

    def _on_devices(self, fields: Mapping[str, Any]) -> None:
        self.tensorflow_version = fields.get("tensorflow")
        for raw in fields.get("devices") or ():
            self.devices.append(
                DeviceInfo(
                    str(raw["kind"]),
                    int(raw["index"]),
                    str(raw["tf_name"]),
                    raw.get("name"),
                    raw.get("compute_capability"),
                )
            )

    def _on_gemm(self, fields: Mapping[str, Any]) -> None:
        kind, index = split_label(str(fields["device"]))
        self.gemm.append(
            GemmResult(
                kind,
                index,
                str(fields["precision"]),
                bool(fields.get("tf32")),
                int(fields["n"]),
                int(fields["iterations"]),
                float(fields["seconds"]),
                float(fields["tflops"]),
                self._window(fields),
            )
        )

    def _on_determinism(self, fields: Mapping[str, Any]) -> None:
        kind, index = split_label(str(fields["device"]))
        self.determinism.append(
            DeterminismResult(
                kind,
                index,
                str(fields["precision"]),
                bool(fields.get("tf32")),
                int(fields["n"]),
                int(fields["repeats"]),
                int(fields["mismatched_repeats"]),
                int(fields["mismatched_elements"]),
                _number(fields.get("max_abs_diff")),
                int(fields.get("nonfinite") or 0),
                _number(fields.get("freivalds_error")),
                float(fields["freivalds_tolerance"]),
                bool(fields.get("injected")),
                self._window(fields),
            )
        )

    def _on_bandwidth(self, fields: Mapping[str, Any]) -> None:
        kind, index = split_label(str(fields["device"]))
        self.bandwidth.append(
            BandwidthResult(
                kind,
                index,
                str(fields["direction"]),
                int(fields["bytes"]),
                int(fields["iterations"]),
                float(fields["seconds"]),
                float(fields["gbps"]),
                self._window(fields),
            )
        )

    def _on_step(self, fields: Mapping[str, Any]) -> None:
        self.steps.append(
            StepResult(
                str(fields["strategy"]),
                int(fields.get("workers") or 1),
                int(fields["replicas"]),
                tuple(str(d) for d in fields.get("devices") or ()),
                int(fields["steps"]),
                tuple(_number(loss) for loss in fields.get("losses") or ()),
                _number(fields.get("max_abs_error")),
                float(fields["tolerance"]),
                bool(fields.get("replicas_agree")),
                float(fields.get("seconds") or 0.0),
            )
        )
        self.digests.append(str(fields.get("weights_sha256")))

    def _on_skip(self, fields: Mapping[str, Any]) -> None:
        device = fields.get("device")
        note = WorkloadNote(str(fields["test"]), device, str(fields.get("reason")))
        self.skips.append(note)

    def _on_error(self, fields: Mapping[str, Any]) -> None:
        if "test" not in fields:
            return
        message = str(fields.get("message"))
        note = WorkloadNote(str(fields["test"]), fields.get("device"), message, str(fields["type"]))
        self.errors.append(note)


def split_label(label: str) -> tuple[str, int]:
    """("gpu", 3) for "gpu:3"."""
    kind, _, index = label.partition(":")
    return kind, int(index)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
