"""envkit smoke: the tutorial's MNIST run that proves a machine trains, out of process.

Public API::

    run_smoke(python, spec, on_event=None, *, env=None) -> SmokeResult
    findings_from(result) -> tuple[Finding, ...]
    SMOKE_CHECKS: tuple[CheckInfo, ...]

envkit never imports TensorFlow: the job (``_scripts/job.py``) runs in the target interpreter.
"""

from envkit.smoke.data import DataError
from envkit.smoke.findings import SMOKE_CHECKS, findings_from
from envkit.smoke.model import (
    DataInfo,
    Diagnosis,
    EpochStat,
    JobFailure,
    LineKind,
    Placement,
    Reference,
    RunError,
    RunVerdict,
    SmokeResult,
    SmokeRun,
    SmokeSpec,
    StackInfo,
)
from envkit.smoke.runner import JobEvent, plan_runs, run_smoke, validate_spec

__all__ = [
    "SMOKE_CHECKS",
    "DataError",
    "DataInfo",
    "Diagnosis",
    "EpochStat",
    "JobEvent",
    "JobFailure",
    "LineKind",
    "Placement",
    "Reference",
    "RunError",
    "RunVerdict",
    "SmokeResult",
    "SmokeRun",
    "SmokeSpec",
    "StackInfo",
    "findings_from",
    "plan_runs",
    "run_smoke",
    "validate_spec",
]
