"""Run the smoke job in the target interpreter and turn its events into a SmokeResult.

The child starts at once and imports its framework while this process validates the data with
the standard library; the child trains only after the answer to its ``ready`` event. A bad file
therefore costs no training, and a good one costs no extra wall time.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from envkit.jobs import EventCallback, EventState, JobEvent, StartFailure, Supervisor, launch
from envkit.jobs import reaping_on_signals as _reaping_on_signals
from envkit.model import Unavailable
from envkit.probes._proc import neutral_cwd
from envkit.smoke import classify
from envkit.smoke.data import find_keras_cache, inspect_path
from envkit.smoke.model import (
    BACKENDS,
    DEVICES,
    MODELS,
    DataInfo,
    EpochStat,
    JobFailure,
    Placement,
    RunError,
    SmokeResult,
    SmokeRun,
    SmokeSpec,
    StackInfo,
    Verdict,
)
from envkit.smoke.verdict import judge, libraries_for, reference_for

QUICK_TRAIN, QUICK_TEST = 10_000, 2_000
SHORT_EPOCHS = {"cnn": 1, "rnn": 2}
"""The short CNN and LSTM passes: enough to prove cuDNN's kernels compute, in seconds."""
SYNTHETIC_SEED = 20180101
PROTOCOL = 1


__all__ = ["EventCallback", "JobEvent", "JobState", "job_spec", "plan_runs", "run_smoke"]


def validate_spec(spec: SmokeSpec) -> None:
    """Raise ValueError with one line for a spec that cannot run."""
    for model in spec.models or ():
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if spec.models is not None and not spec.models:
        raise ValueError("no model to run")
    if spec.device not in DEVICES:
        raise ValueError(f"unknown device {spec.device!r}; choose from {', '.join(DEVICES)}")
    if spec.backend is not None and spec.backend not in BACKENDS:
        raise ValueError(f"unknown backend {spec.backend!r}; choose from {', '.join(BACKENDS)}")
    if spec.epochs is not None and spec.epochs < 1:
        raise ValueError("--epochs must be 1 or more")
    if spec.batch_size < 1:
        raise ValueError("--batch-size must be 1 or more")
    if spec.timeout_s <= 0:
        raise ValueError("--timeout must be positive")


def plan_runs(spec: SmokeSpec) -> list[dict[str, Any]]:
    """The job's runs: model, epochs, subset, and whether only a GPU pass includes it."""
    default = spec.models is None
    plans = []
    for model in spec.models or MODELS:
        plan: dict[str, Any] = {"model": model, "gpu_only": default and model != "mlp"}
        if spec.quick:
            plan.update(epochs=1, train_limit=QUICK_TRAIN, test_limit=QUICK_TEST)
        elif model == "mlp" or spec.epochs is not None:
            plan.update(epochs=spec.epochs or 5, train_limit=None, test_limit=None)
        else:
            plan.update(epochs=SHORT_EPOCHS[model], train_limit=QUICK_TRAIN, test_limit=QUICK_TEST)
        plans.append(plan)
    return plans


def job_spec(spec: SmokeSpec) -> dict[str, Any]:
    plans = plan_runs(spec)

    def limit(key: str) -> int | None:
        values = [plan[key] for plan in plans]
        return None if any(value is None for value in values) else max(values)

    return {
        "protocol": PROTOCOL,
        "device": spec.device,
        "backend": spec.backend,
        "batch_size": spec.batch_size,
        "train_limit": limit("train_limit"),
        "test_limit": limit("test_limit"),
        "runs": plans,
    }


def resolve_data(spec: SmokeSpec, env: Mapping[str, str]) -> tuple[dict[str, Any], DataInfo | None]:
    """The answer to the job's ``ready``, and the data's description where known already.

    --data, else Keras's cache, else a download in the child (unless offline), else synthetic.
    Raises DataError for a file that is there but unusable.
    """
    if spec.data is not None:
        return _file_answer(inspect_path(spec.data, "--data"))
    cached = find_keras_cache(env)
    if cached is not None:
        return _file_answer(inspect_path(cached, "keras-cache"))
    if not spec.offline:
        return {"kind": "download", "timeout_s": spec.download_timeout_s}, None
    return {"kind": "synthetic", "seed": SYNTHETIC_SEED}, None


def _file_answer(info: DataInfo) -> tuple[dict[str, Any], DataInfo]:
    if info.format == "idx":
        return {"kind": "idx", "files": dict(info.files)}, info
    return {"kind": "npz", "path": info.path}, info


def job_script() -> Any:
    return resources.files("envkit.smoke") / "_scripts" / "job.py"


def run_smoke(
    python: str | None,
    spec: SmokeSpec,
    on_event: EventCallback | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> SmokeResult:
    """Train as ``spec`` says with ``python`` (None: envkit's own interpreter).

    Raises ValueError for a bad spec and DataError (a ValueError) for unusable data, before
    anything trains; every failure of the framework itself comes back inside the result.
    """
    from envkit.probes.python_env import resolve_python

    validate_spec(spec)
    started = time.monotonic()
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    child_env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    resolved = resolve_python(python or sys.executable)
    state = JobState(spec, python or sys.executable, on_event)
    if isinstance(resolved, Unavailable):
        state.failure = JobFailure("start-error", "start", resolved.reason, None, None, None, "")
        return state.result(time.monotonic() - started)
    state.python = resolved
    with _reaping_on_signals(), resources.as_file(job_script()) as script:
        process = launch(
            resolved,
            script,
            json.dumps(job_spec(spec)),
            child_env,
            answers=True,
            cwd=neutral_cwd(),  # nothing from the user's cwd runs (#12)
        )
        if isinstance(process, StartFailure):
            state.failure = JobFailure(
                "start-error", "start", process.message, None, None, None, ""
            )
            return state.result(time.monotonic() - started)
        _supervise(Supervisor(process, state, started + spec.timeout_s), state, child_env)
    return state.result(time.monotonic() - started)


def _supervise(supervisor: Supervisor, state: JobState, env: Mapping[str, str]) -> None:
    """The smoke's handshake: the data is checked while the child imports, then answered."""
    supervisor.start()
    try:
        answer, info = resolve_data(state.spec, env)
    except BaseException:  # DataError, or an interrupt: the child must not outlive this
        supervisor.stop()
        raise
    state.data = info
    supervisor.run(lambda event: {"data": answer} if event.name == "ready" else None)


@dataclass
class _RunState:
    model: str
    device: str
    start: dict[str, Any] = field(default_factory=dict)
    epochs: list[EpochStat] = field(default_factory=list)
    end: dict[str, Any] | None = None
    error: RunError | None = None


class JobState(EventState):
    """What the smoke job's events have said so far."""

    def __init__(self, spec: SmokeSpec, python: str, on_event: EventCallback | None) -> None:
        super().__init__(on_event)
        self.spec = spec
        self.python = python
        self.stack: StackInfo | None = None
        self.data: DataInfo | None = None
        self.runs: dict[tuple[str, str], _RunState] = {}
        self.order: list[tuple[str, str]] = []
        self.failure: JobFailure | None = None
        self.fatal_error: dict[str, Any] | None = None
        self.gpu_missing = False
        self.done: dict[str, Any] | None = None
        self.diagnoses: tuple[Any, ...] = ()
        self.python_version = ""

    def _on_hello(self, fields: Mapping[str, Any]) -> None:
        self.stage = "import"
        self.python_version = str(fields.get("python") or "")

    def _on_ready(self, fields: Mapping[str, Any]) -> None:
        versions = fields.get("versions") or {}
        self.stack = StackInfo(
            python_version=self.python_version,
            executable=self.python,
            backend=str(fields.get("backend")),
            backend_version=versions.get("backend_version"),
            keras_version=versions.get("keras"),
            tensorflow_version=versions.get("tensorflow"),
            numpy_version=versions.get("numpy"),
            gpus=tuple(str(name) for name in fields.get("gpus") or ()),
        )
        self.stage = "data"

    def _on_data(self, fields: Mapping[str, Any]) -> None:
        self.stage = "training"
        if self.data is not None:
            return
        train, test = int(fields.get("train_samples", 0)), int(fields.get("test_samples", 0))
        if fields.get("source") == "download":
            digests = tuple(sorted((fields.get("digests") or {}).items()))
            from envkit.smoke.data import MNIST_SHA256

            canonical = dict(digests) == MNIST_SHA256
            self.data = DataInfo(
                "download",
                "mnist" if canonical else "mnist-format",
                "keras-download",
                None,
                train,
                test,
                digests,
            )
            return
        note = fields.get("download_error")
        why = (
            f"the download failed ({note})"
            if note
            else "offline, and neither --data nor Keras's cache was there"
        )
        self.data = DataInfo(
            "synthetic",
            "synthetic",
            "generated",
            None,
            train,
            test,
            (),
            (),
            f"synthetic digits because {why}",
        )

    def _on_run_start(self, fields: Mapping[str, Any]) -> None:
        run = self._run(fields)
        run.start = dict(fields)

    def _on_epoch(self, fields: Mapping[str, Any]) -> None:
        run = self._run(fields)
        seconds = float(fields.get("seconds") or 0.0)
        samples = int(run.start.get("train_samples") or 0)
        run.epochs.append(
            EpochStat(
                int(fields["epoch"]),
                _float(fields.get("loss")),
                _float(fields.get("acc")),
                seconds,
                round(samples / seconds, 1) if seconds > 0 else 0.0,
            )
        )

    def _on_run_end(self, fields: Mapping[str, Any]) -> None:
        self._run(fields).end = dict(fields)

    def _on_error(self, fields: Mapping[str, Any]) -> None:
        stage = str(fields.get("stage"))
        if stage == "devices":
            self.gpu_missing = True
        elif "model" in fields:
            self._run(fields).error = RunError(
                stage,
                str(fields.get("type")),
                str(fields.get("message")),
                str(fields.get("traceback") or ""),
            )
        else:
            self.fatal_error = dict(fields)

    def _on_done(self, fields: Mapping[str, Any]) -> None:
        self.done = dict(fields)

    def _run(self, fields: Mapping[str, Any]) -> _RunState:
        key = (str(fields.get("model")), str(fields.get("device")))
        if key not in self.runs:
            self.runs[key] = _RunState(*key)
            self.order.append(key)
        return self.runs[key]

    # ------------------------------------------------------------ the end

    def finish(self, returncode: int | None, stderr: str, timed_out: bool) -> None:
        errors = [
            f"{run.error.type}: {run.error.message}"
            for run in self.runs.values()
            if run.error is not None
        ]
        if self.fatal_error is not None:
            fatal = self.fatal_error
            errors.append(f"{fatal.get('type')}: {fatal.get('message')}")
        self.diagnoses = classify.classify(stderr + "\n" + "\n".join(errors))
        self.failure = self._failure(returncode, stderr, timed_out)
        if self.failure is not None:
            for run in self.runs.values():
                if run.end is None and run.error is None:
                    run.error = RunError(
                        "fit" if run.start else "build",
                        self.failure.cause,
                        self.failure.message,
                        "",
                    )

    def _failure(self, returncode: int | None, stderr: str, timed_out: bool) -> JobFailure | None:
        tail = classify.stderr_tail(stderr)
        if timed_out:
            return JobFailure(
                "timeout",
                self.stage,
                f"the job did not finish in {self.spec.timeout_s:g} s "
                f"(stopped during {self.stage})",
                returncode,
                None,
                None,
                tail,
            )
        name = classify.signal_name(returncode)
        if name is not None:
            detail = classify.fatal_line(stderr)
            message = f"the job was killed by {name} during {self.stage}"
            return JobFailure(
                "signal",
                self.stage,
                message + (f": {detail}" if detail else ""),
                returncode,
                name,
                None,
                tail,
            )
        if self.fatal_error is not None:
            stage = str(self.fatal_error.get("stage"))
            cause = {"import": "import-error", "data": "data-error"}.get(stage, "exit")
            return JobFailure(
                cause,
                stage,
                str(self.fatal_error.get("message")),
                returncode,
                None,
                str(self.fatal_error.get("type")),
                tail,
            )
        if returncode != 0 or self.done is None:
            detail = classify.fatal_line(stderr) or (self.protocol_errors[:1] or [""])[0]
            message = f"the job exited with status {returncode} during {self.stage}"
            return JobFailure(
                "exit" if self.stage != "start" else "start-error",
                self.stage,
                message + (f": {detail}" if detail else ""),
                returncode,
                None,
                None,
                tail,
            )
        return None

    def result(self, wall_seconds: float) -> SmokeResult:
        runs = tuple(self._smoke_run(self.runs[key]) for key in self.order)
        verdict = _overall(runs, self.failure, self.gpu_missing)
        peak = self.done.get("peak_rss_bytes") if self.done else None
        return SmokeResult(
            spec=self.spec,
            python=self.python,
            stack=self.stack,
            data=self.data,
            runs=runs,
            failure=self.failure,
            gpu_requested=self.spec.device in ("gpu", "all"),
            gpu_missing=self.gpu_missing,
            diagnoses=self.diagnoses,
            wall_seconds=round(wall_seconds, 3),
            peak_rss_bytes=int(peak) if peak else None,
            speedup=_speedup(runs),
            verdict=verdict,
        )

    def _smoke_run(self, state: _RunState) -> SmokeRun:
        start, end = state.start, state.end or {}
        gpus = self.stack.gpus if self.stack else ()
        device_name = (gpus[0] if gpus else None) if state.device == "gpu" else "CPU"
        data_kind = self.data.kind if self.data else "synthetic"
        epochs_planned = int(start.get("epochs") or 0)
        batch_size = int(start.get("batch_size") or self.spec.batch_size)
        train_samples = int(start.get("train_samples") or 0)
        reference = reference_for(state.model, data_kind, epochs_planned, batch_size, train_samples)
        placement = _placement(end.get("placement"), state.device) if end else None
        train_acc = _float(end.get("train_acc"))
        test_acc = _float(end.get("test_acc"))
        train_loss = _float(end.get("train_loss"))
        verdict, reason = judge(
            reference,
            state.error is not None or not end,
            train_acc,
            test_acc,
            train_loss,
            placement,
        )
        if state.error is not None:
            reason = f"{state.error.type} during {state.error.stage}: {state.error.message}"
        return SmokeRun(
            model=state.model,
            device=state.device,
            device_name=device_name,
            epochs_planned=epochs_planned,
            batch_size=batch_size,
            train_samples=train_samples,
            test_samples=int(start.get("test_samples") or 0),
            parameters=start.get("parameters"),
            epochs=tuple(state.epochs),
            fit_seconds=_float(end.get("fit_seconds")),
            samples_per_s=_float(end.get("samples_per_s")),
            train_loss=train_loss,
            train_accuracy=train_acc,
            test_loss=_float(end.get("test_loss")),
            test_accuracy=test_acc,
            peak_rss_bytes=end.get("peak_rss_bytes"),
            gpu_memory_peak_bytes=end.get("gpu_memory_peak_bytes"),
            placement=placement,
            libraries=libraries_for(state.model, state.device, self.stack),
            reference=reference,
            verdict=verdict,
            verdict_reason=reason,
            error=state.error,
        )


def _placement(raw: Any, device: str) -> Placement | None:
    if not isinstance(raw, dict):
        return None
    forward = tuple(str(d) for d in raw.get("forward") or ())
    variables = tuple(str(d) for d in raw.get("variables") or ())
    wanted = "gpu" if device == "gpu" else "cpu"
    seen = [d for d in forward + variables if d not in ("unknown", "unplaced")]
    on_device = bool(seen) and all(_device_kind(d) == wanted for d in seen)
    return Placement(str(raw.get("method") or ""), forward, variables, on_device)


def _device_kind(device: str) -> str:
    lowered = device.lower()
    if "gpu" in lowered or "cuda" in lowered:
        return "gpu"
    return "cpu" if "cpu" in lowered else "other"


def _speedup(runs: tuple[SmokeRun, ...]) -> float | None:
    for run in runs:
        if run.device != "gpu" or run.samples_per_s is None:
            continue
        for other in runs:
            if other.device == "cpu" and other.model == run.model and other.samples_per_s:
                return round(run.samples_per_s / other.samples_per_s, 2)
    return None


def _overall(runs: tuple[SmokeRun, ...], failure: JobFailure | None, gpu_missing: bool) -> Verdict:
    if failure is not None or gpu_missing or not runs:
        return Verdict.ERROR
    if any(run.verdict is Verdict.ERROR for run in runs):
        return Verdict.ERROR
    if any(run.verdict is Verdict.FAIL for run in runs):
        return Verdict.FAIL
    return Verdict.PASS


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
