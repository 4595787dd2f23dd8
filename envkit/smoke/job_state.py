"""The smoke job's events, as the parent reads them, and the SmokeResult they add up to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envkit.jobs import EventCallback, EventState
from envkit.smoke import classify
from envkit.smoke.model import (
    DataInfo,
    EpochStat,
    JobFailure,
    Placement,
    RunError,
    RunVerdict,
    SmokeResult,
    SmokeRun,
    SmokeSpec,
    StackInfo,
)
from envkit.smoke.verdict import judge, libraries_for, reference_for


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


def _overall(
    runs: tuple[SmokeRun, ...], failure: JobFailure | None, gpu_missing: bool
) -> RunVerdict:
    if failure is not None or gpu_missing or not runs:
        return RunVerdict.ERROR
    if any(run.verdict is RunVerdict.ERROR for run in runs):
        return RunVerdict.ERROR
    if any(run.verdict is RunVerdict.FAIL for run in runs):
        return RunVerdict.FAIL
    return RunVerdict.PASS


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
