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
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from envkit.jobs import JobEvent, StartFailure, Supervisor, launch, reaping_on_signals
from envkit.model import Unavailable
from envkit.probes._proc import neutral_cwd
from envkit.smoke import JobFailure, SmokeSpec, run_smoke
from envkit.smoke.runner import JobState
from envkit.validate.model import TelemetrySample
from envkit.validate.workload_events import (
    ENVKIT_SOURCE,
    Notifier,
    WorkloadCallback,
    WorkloadEvent,
)
from envkit.validate.workload_plan import (
    ALL_TESTS,
    GIB,
    MIB,
    PRECISIONS,
    PROTOCOL,
    CorruptionInjection,
    DevicePlan,
    WorkloadPlan,
    job_spec,
    plan_cpu_workloads,
    plan_gpu_workloads,
)
from envkit.validate.workload_results import (
    BandwidthResult,
    DeterminismResult,
    DeviceInfo,
    GemmResult,
    JobOutcome,
    SmokeOutcome,
    StepResult,
    Window,
    WorkloadNote,
    WorkloadResults,
    assemble_results,
    split_label,
)

# ---------------------------------------------------------------- running


class TelemetrySampler(Protocol):
    """Samples NVML from start() to stop(); TelemetrySample.elapsed_s counts from start()."""

    def start(self) -> None: ...

    def stop(self) -> Sequence[TelemetrySample]: ...


def run_workloads(
    python: str,
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
    notify = Notifier(on_event, origin)
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
    python: str, plan: WorkloadPlan, env: Mapping[str, str], notify: Notifier
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
    python: str,
    script: Path,
    spec: dict[str, Any],
    env: Mapping[str, str],
    timeout_s: float,
    label: str,
    notify: Notifier,
) -> _Child:
    """Start one job process; a child that cannot start comes back with its failure set."""
    from envkit.probes.python_env import resolve_python

    wanted = python
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


def _run_job(python: str, plan: WorkloadPlan, env: Mapping[str, str], notify: Notifier) -> _Child:
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
    python: str, plan: WorkloadPlan, env: Mapping[str, str], notify: Notifier
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
    return assemble_results(
        plan,
        smoke,
        job.state.events,
        [child.state.events for child in workers],
        tuple(child.outcome() for child in (job, *workers)),
        origin,
        (telemetry, telemetry_error),
        wall_seconds,
    )


__all__ = [
    "ALL_TESTS",
    "ENVKIT_SOURCE",
    "GIB",
    "MIB",
    "PRECISIONS",
    "PROTOCOL",
    "BandwidthResult",
    "CorruptionInjection",
    "DeterminismResult",
    "DeviceInfo",
    "DevicePlan",
    "GemmResult",
    "JobOutcome",
    "SmokeOutcome",
    "StepResult",
    "TelemetrySampler",
    "Window",
    "WorkloadCallback",
    "WorkloadEvent",
    "WorkloadNote",
    "WorkloadPlan",
    "WorkloadResults",
    "free_ports",
    "job_spec",
    "plan_cpu_workloads",
    "plan_gpu_workloads",
    "run_workloads",
    "split_label",
]
