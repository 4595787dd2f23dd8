"""The default tier's active workloads, measured through TensorFlow in the target environment.

envkit never imports TensorFlow: ``_scripts/workload_job.py`` runs in the target interpreter and
streams JSON-lines events, supervised by envkit.smoke's runner (deadline, stderr, classifier).
In order: the smoke run on every GPU (in parallel, one process per GPU), the measurement job
(GEMM, determinism, memory and host bandwidth per device, a MirroredStrategy step across them),
then a MultiWorkerMirroredStrategy step run by two worker processes on 127.0.0.1. A telemetry
sampler, where given, runs from start to end; every measurement carries its time window on the
sampler's clock. Every failure comes back inside the results; nothing here raises for a child.

Public API::

    plan_gpu_workloads(gpus, *, smoke=True, min_seconds=1.5, concurrent=True, multiworker=True)
    plan_cpu_workloads(logical_devices=2, *, ...) -> WorkloadPlan
    run_workloads(python, plan, sampler=None, on_event=None, *, env=None) -> WorkloadResults
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from envkit.jobs import JobEvent, StartFailure, Supervisor, launch, reaping_on_signals
from envkit.knowledge import GpuModel
from envkit.model import Unavailable
from envkit.probes._proc import neutral_cwd
from envkit.smoke import Diagnosis, JobFailure, SmokeResult, SmokeSpec, run_smoke
from envkit.smoke.runner import JobState
from envkit.validate.model import TelemetrySample

PROTOCOL = 1
MIB, GIB = 1024**2, 1024**3
ALL_TESTS = ("gemm", "determinism", "memory", "host", "mirrored")
PRECISIONS = ("bf16", "fp16", "fp32")
ENVKIT_SOURCE = "envkit"


# ---------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """What to measure on one device, sized for it."""

    kind: str
    """gpu or cpu."""
    index: int
    """The NVML index of a GPU; the logical device number of the CPU."""
    gemm_n: int
    precisions: tuple[str, ...]
    """Of bf16, fp16, fp32 (fp32 runs on TF32 tensor cores where the GPU has them)."""
    determinism_n: int
    determinism_repeats: int
    memory_bytes: int
    """The float32 tensor that y = x + 1 reads and writes."""
    host_bytes: int
    """Copied host to device and back; 0 for the CPU (not applicable)."""
    determinism_precision: str = "fp32"

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.index}"


@dataclass(frozen=True, slots=True)
class CorruptionInjection:
    """FOR TESTS: flip one bit of one repeat's GEMM result, to prove the comparison sees it."""

    device: str
    """A device label, e.g. cpu:1."""
    repeat: int = 1
    bit: int = 0
    """0 is the lowest mantissa bit: the subtlest corruption there is."""


@dataclass(frozen=True, slots=True)
class WorkloadPlan:
    devices: tuple[DevicePlan, ...]
    min_seconds: float
    """The timed part of each throughput measurement (after warm-up and calibration)."""
    tests: tuple[str, ...] = ALL_TESTS
    multiworker: bool = True
    multiworker_gpus: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    """The GPUs of worker 0 and worker 1; None: both workers on the CPU."""
    steps: int = 3
    smoke: SmokeSpec | None = None
    """Run on every GPU (one process each), or once on the CPU for a CPU plan; None: no smoke."""
    cpu_logical_devices: int | None = None
    concurrent: bool = False
    """Measure all devices at once (one thread each): exposes power and thermal coupling."""
    timeout_s: float = 300.0
    multiworker_timeout_s: float = 120.0
    inject: CorruptionInjection | None = None

    @property
    def kind(self) -> str:
        return self.devices[0].kind if self.devices else "gpu"


def plan_gpu_workloads(
    gpus: Mapping[int, GpuModel | None],
    *,
    smoke: bool = True,
    min_seconds: float = 1.5,
    concurrent: bool = True,
    multiworker: bool = True,
) -> WorkloadPlan:
    """One DevicePlan per GPU (NVML index -> known model or None), sized from its specs."""
    devices = tuple(_gpu_device_plan(index, gpus[index]) for index in sorted(gpus))
    indices = tuple(device.index for device in devices)
    half = len(indices) // 2
    per_device = sum(len(device.precisions) + 3 for device in devices)
    rounds = max(len(device.precisions) + 3 for device in devices) if devices else 0
    timeout = 120.0 + (rounds if concurrent else per_device) * (3 * min_seconds + 15.0)
    return WorkloadPlan(
        devices=devices,
        min_seconds=min_seconds,
        multiworker=multiworker,
        multiworker_gpus=(indices[:half], indices[half:]) if len(indices) >= 2 else None,
        smoke=SmokeSpec(device="gpu", quick=True, offline=True, timeout_s=300.0) if smoke else None,
        concurrent=concurrent,
        timeout_s=timeout,
    )


def _gpu_device_plan(index: int, model: GpuModel | None) -> DevicePlan:
    specs = model.specs if model is not None else None
    precisions: tuple[str, ...] = PRECISIONS
    peak = None
    if specs is not None:
        tensor = (("bf16", specs.bf16_tflops), ("fp16", specs.fp16_tflops))
        precisions = (*(name for name, value in tensor if value), "fp32")
        peak = max((value for _, value in tensor if value), default=None)
    gemm_n = 8192 if peak is None or peak >= 100 else 4096 if peak >= 10 else 2048
    small = model is not None and model.memory_gb < 8
    return DevicePlan(
        kind="gpu",
        index=index,
        gemm_n=gemm_n,
        precisions=precisions,
        determinism_n=4096,
        determinism_repeats=10,
        memory_bytes=256 * MIB if small else GIB,
        host_bytes=256 * MIB,
    )


def plan_cpu_workloads(
    logical_devices: int = 2,
    *,
    gemm_n: int = 256,
    precisions: tuple[str, ...] = ("bf16", "fp32"),
    min_seconds: float = 0.1,
    determinism_n: int = 128,
    determinism_repeats: int = 5,
    memory_bytes: int = 16 * MIB,
    tests: tuple[str, ...] = ALL_TESTS,
    multiworker: bool = True,
    smoke: SmokeSpec | None = None,
    inject: CorruptionInjection | None = None,
    timeout_s: float = 180.0,
) -> WorkloadPlan:
    """The same workloads on the CPU, split into logical devices: for tests and benchmarks."""
    devices = tuple(
        DevicePlan(
            kind="cpu",
            index=index,
            gemm_n=gemm_n,
            precisions=precisions,
            determinism_n=determinism_n,
            determinism_repeats=determinism_repeats,
            memory_bytes=memory_bytes,
            host_bytes=0,
        )
        for index in range(logical_devices)
    )
    return WorkloadPlan(
        devices=devices,
        min_seconds=min_seconds,
        tests=tests,
        multiworker=multiworker,
        smoke=smoke,
        cpu_logical_devices=logical_devices,
        timeout_s=timeout_s,
        inject=inject,
    )


def job_spec(plan: WorkloadPlan) -> dict[str, Any]:
    """The measurement job's argument."""
    inject = plan.inject
    return {
        "protocol": PROTOCOL,
        "mode": "local",
        "cpu_logical_devices": plan.cpu_logical_devices,
        "min_seconds": plan.min_seconds,
        "tests": list(plan.tests),
        "steps": plan.steps,
        "concurrent": plan.concurrent,
        "inject": None
        if inject is None
        else {"device": inject.device, "repeat": inject.repeat, "bit": inject.bit},
        "devices": [
            {
                "kind": device.kind,
                "index": device.index,
                "tf_index": position,
                "gemm_n": device.gemm_n,
                "precisions": list(device.precisions),
                "determinism_n": device.determinism_n,
                "determinism_repeats": device.determinism_repeats,
                "determinism_precision": device.determinism_precision,
                "memory_bytes": device.memory_bytes,
                "host_bytes": device.host_bytes,
            }
            for position, device in enumerate(plan.devices)
        ],
    }


# ---------------------------------------------------------------- the results


@dataclass(frozen=True, slots=True)
class Window:
    """When a measurement ran, in seconds on the sampler's clock (TelemetrySample.elapsed_s)."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    kind: str
    index: int
    tf_name: str
    name: str | None
    compute_capability: str | None


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class WorkloadNote:
    """A test that was skipped (reason) or raised (error_type: message)."""

    test: str
    device: str | None
    message: str
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class JobOutcome:
    label: str
    """job, worker 0, worker 1."""
    failure: JobFailure | None
    diagnoses: tuple[Diagnosis, ...]
    wall_seconds: float


@dataclass(frozen=True, slots=True)
class SmokeOutcome:
    gpu_index: int | None
    """None for a CPU plan's smoke run."""
    result: SmokeResult | None
    error: str | None = None
    """Why the smoke run could not start (a bad spec or unusable data)."""


@dataclass(frozen=True, slots=True)
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


# ---------------------------------------------------------------- running


class TelemetrySampler(Protocol):
    """Samples NVML from start() to stop(); TelemetrySample.elapsed_s counts from start()."""

    def start(self) -> None: ...

    def stop(self) -> Sequence[TelemetrySample]: ...


@dataclass(frozen=True, slots=True)
class WorkloadEvent:
    source: str
    """envkit (stage starts and ends), smoke gpu:N, smoke cpu, job, worker 0, worker 1."""
    event: JobEvent


WorkloadCallback = Callable[[WorkloadEvent], None]


class _Notifier:
    """Serialises events from the threads (parallel smoke runs, two workers) to the callback."""

    def __init__(self, callback: WorkloadCallback | None, origin: float) -> None:
        self.callback = callback
        self.origin = origin
        self.lock = threading.Lock()

    def for_source(self, source: str) -> Callable[[JobEvent], None]:
        def forward(event: JobEvent) -> None:
            if self.callback is not None:
                with self.lock:
                    self.callback(WorkloadEvent(source, event))

        return forward

    def stage(self, stage: str, status: str) -> None:
        fields = {"stage": stage, "status": status}
        self.for_source(ENVKIT_SOURCE)(JobEvent("stage", fields, time.time() - self.origin))


def run_workloads(
    python: str | None,
    plan: WorkloadPlan,
    sampler: TelemetrySampler | None = None,
    on_event: WorkloadCallback | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> WorkloadResults:
    """Run ``plan`` with ``python`` (None: envkit's own interpreter) and collect what it measured.

    ``sampler``, where given, is started first and stopped last; ``on_event`` receives every
    event of every child, tagged with its source, from one thread at a time.
    """
    started = time.monotonic()
    base_env = dict(os.environ if env is None else env)
    origin = time.time()
    notify = _Notifier(on_event, origin)
    telemetry_error = _start_sampler(sampler)
    try:
        with reaping_on_signals():
            smoke = _run_smokes(python, plan, base_env, notify)
            job = _run_job(python, plan, base_env, notify)
            workers = _run_multiworker(python, plan, base_env, notify) if plan.multiworker else ()
    finally:
        telemetry, stop_error = _stop_sampler(sampler)
    return _assemble(
        plan,
        smoke,
        job,
        workers,
        origin,
        telemetry,
        telemetry_error or stop_error,
        time.monotonic() - started,
    )


def _start_sampler(sampler: TelemetrySampler | None) -> str | None:
    if sampler is None:
        return None
    try:
        sampler.start()
    except Exception as error:  # noqa: BLE001 -- telemetry is evidence, not a reason to stop
        return f"the telemetry sampler did not start: {type(error).__name__}: {error}"
    return None


def _stop_sampler(
    sampler: TelemetrySampler | None,
) -> tuple[tuple[TelemetrySample, ...], str | None]:
    if sampler is None:
        return (), None
    try:
        return tuple(sampler.stop()), None
    except Exception as error:  # noqa: BLE001 -- telemetry is evidence, not a reason to stop
        return (), f"the telemetry sampler failed: {type(error).__name__}: {error}"


def _gpu_env(base: Mapping[str, str], gpus: Sequence[int] | None) -> dict[str, str]:
    """CUDA numbers GPUs in PCI bus order, like NVML; None hides every GPU."""
    env = dict(base)
    env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
    env["CUDA_VISIBLE_DEVICES"] = "" if gpus is None else ",".join(str(i) for i in gpus)
    env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    return env


def _run_smokes(
    python: str | None, plan: WorkloadPlan, env: Mapping[str, str], notify: _Notifier
) -> tuple[SmokeOutcome, ...]:
    spec = plan.smoke
    if spec is None:
        return ()
    notify.stage("smoke", "start")
    targets: list[int | None] = (
        [device.index for device in plan.devices] if plan.kind == "gpu" else [None]
    )
    outcomes: dict[int | None, SmokeOutcome] = {}

    def one(gpu: int | None) -> None:
        child_env = _gpu_env(env, None if gpu is None else [gpu])
        source = "smoke cpu" if gpu is None else f"smoke gpu:{gpu}"
        try:
            result = run_smoke(python, spec, notify.for_source(source), env=child_env)
        except ValueError as error:  # a bad spec, or unusable data (DataError)
            outcomes[gpu] = SmokeOutcome(gpu, None, str(error))
            return
        outcomes[gpu] = SmokeOutcome(gpu, result)

    threads = [threading.Thread(target=one, args=(gpu,)) for gpu in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notify.stage("smoke", "end")
    return tuple(outcomes[gpu] for gpu in targets)


class _JobState(JobState):
    """The smoke job's event state (its failure and diagnosis), for the workload job: keeps
    every event."""

    def __init__(self, python: str, timeout_s: float, on_event: Callable[[JobEvent], None]) -> None:
        super().__init__(SmokeSpec(timeout_s=timeout_s), python, on_event)
        self.events: list[JobEvent] = []

    def accept(self, raw: bytes) -> JobEvent | None:
        event = super().accept(raw)
        if event is not None:
            self.events.append(event)
        return event

    def _on_phase(self, fields: Mapping[str, Any]) -> None:
        self.stage = str(fields.get("phase"))

    def _on_devices(self, fields: Mapping[str, Any]) -> None:
        self.stage = "measure"

    def _on_test_start(self, fields: Mapping[str, Any]) -> None:
        self.stage = str(fields.get("test"))

    def _on_error(self, fields: Mapping[str, Any]) -> None:
        if "test" not in fields:  # a test's error is a result; others end the job
            super()._on_error(fields)


@dataclass
class _Child:
    label: str
    state: _JobState
    started: float
    supervisor: Supervisor | None = None
    wall_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def outcome(self) -> JobOutcome:
        failure = self.state.failure
        why = self.extra.get("stopped_because")
        if failure is not None and why:
            failure = replace(failure, message=f"stopped because {why}: {failure.message}")
        return JobOutcome(self.label, failure, self.state.diagnoses, self.wall_seconds)


@contextmanager
def _job_script() -> Iterator[Path]:
    script = resources.files("envkit.validate") / "_scripts" / "workload_job.py"
    with resources.as_file(script) as path:
        yield path


def _launch(
    python: str | None,
    script: Path,
    spec: dict[str, Any],
    env: Mapping[str, str],
    timeout_s: float,
    label: str,
    notify: _Notifier,
) -> _Child:
    """Start one job process; a child that cannot start comes back with its failure set."""
    from envkit.probes.python_env import resolve_python

    wanted = python or sys.executable
    child = _Child(label, _JobState(wanted, timeout_s, notify.for_source(label)), time.monotonic())
    resolved = resolve_python(wanted)
    if isinstance(resolved, Unavailable):
        child.state.failure = JobFailure("start-error", "start", resolved.reason, *_NONE)
        return child
    child.state.python = resolved
    # nothing from the user's cwd runs (#12)
    process = launch(resolved, script, json.dumps(spec), env, cwd=neutral_cwd())
    if isinstance(process, StartFailure):
        child.state.failure = JobFailure("start-error", "start", process.message, *_NONE)
        return child
    child.supervisor = Supervisor(process, child.state, time.monotonic() + timeout_s)
    return child


_NONE = (None, None, None, "")


def _supervise(child: _Child) -> None:
    if child.supervisor is not None:
        child.supervisor.run()
    child.wall_seconds = round(time.monotonic() - child.started, 3)


def _run_job(
    python: str | None, plan: WorkloadPlan, env: Mapping[str, str], notify: _Notifier
) -> _Child:
    notify.stage("measure", "start")
    gpus = [device.index for device in plan.devices] if plan.kind == "gpu" else None
    with _job_script() as script:
        child = _launch(
            python, script, job_spec(plan), _gpu_env(env, gpus), plan.timeout_s, "job", notify
        )
        _supervise(child)
    notify.stage("measure", "end")
    return child


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (held together while chosen, so they differ)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _run_multiworker(
    python: str | None, plan: WorkloadPlan, env: Mapping[str, str], notify: _Notifier
) -> tuple[_Child, ...]:
    """Two worker processes on loopback; when one fails, the other is stopped."""
    notify.stage("multiworker", "start")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    timeout = plan.multiworker_timeout_s
    spec = {
        "protocol": PROTOCOL,
        "mode": "worker",
        "steps": plan.steps,
        "collective_timeout_s": max(10.0, timeout - 30.0),
    }
    with _job_script() as script:
        children = []
        for task in range(2):
            gpus = plan.multiworker_gpus[task] if plan.multiworker_gpus else None
            child_env = _gpu_env(env, gpus)
            child_env["TF_CONFIG"] = json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": task}}
            )
            label = f"worker {task}"
            children.append(_launch(python, script, spec, child_env, timeout, label, notify))
        threads = [
            threading.Thread(target=_supervise_worker, args=(child, children)) for child in children
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    notify.stage("multiworker", "end")
    return tuple(children)


def _supervise_worker(child: _Child, everyone: list[_Child]) -> None:
    _supervise(child)
    stepped = any(event.name == "step" for event in child.state.events)
    if child.state.failure is None and stepped:
        return
    for other in everyone:
        supervisor = other.supervisor
        if other is not child and supervisor is not None and supervisor.running():
            other.extra["stopped_because"] = f"{child.label} failed"
            supervisor.kill()


# ---------------------------------------------------------------- assembling


def _assemble(
    plan: WorkloadPlan,
    smoke: tuple[SmokeOutcome, ...],
    job: _Child,
    workers: tuple[_Child, ...],
    origin: float,
    telemetry: tuple[TelemetrySample, ...],
    telemetry_error: str | None,
    wall_seconds: float,
) -> WorkloadResults:
    parsed = _Parsed(origin)
    for event in job.state.events:
        parsed.add(event)
    worker_parsed = [_Parsed(origin) for _ in workers]
    for parser, child in zip(worker_parsed, workers, strict=True):
        for event in child.state.events:
            parser.add(event)
    steps = list(parsed.steps)
    multi = _multiworker_step(worker_parsed)
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
        jobs=tuple(child.outcome() for child in (job, *workers)),
        telemetry=telemetry,
        telemetry_error=telemetry_error,
        wall_seconds=round(wall_seconds, 3),
    )


def _multiworker_step(parsed: list[_Parsed]) -> StepResult | None:
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


class _Parsed:
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
