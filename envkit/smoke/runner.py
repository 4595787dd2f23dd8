"""Run the smoke job in the target interpreter and turn its events into a SmokeResult.

The child starts at once and imports its framework while this process validates the data with
the standard library; the child trains only after the answer to its ``ready`` event. A bad file
therefore costs no training, and a good one costs no extra wall time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from importlib import resources
from typing import Any

from envkit.jobs import EventCallback, JobEvent, StartFailure, Supervisor, launch
from envkit.jobs import reaping_on_signals as _reaping_on_signals
from envkit.model import Unavailable
from envkit.probes._proc import neutral_cwd
from envkit.smoke.data import find_keras_cache, inspect_path
from envkit.smoke.job_state import JobState
from envkit.smoke.model import (
    BACKENDS,
    DEVICES,
    MODELS,
    DataInfo,
    JobFailure,
    SmokeResult,
    SmokeSpec,
)

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
            plan.update(epochs=spec.epochs or 1, train_limit=QUICK_TRAIN, test_limit=QUICK_TEST)
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
    python: str,
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
    resolved = resolve_python(python)
    state = JobState(spec, python, on_event)
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
