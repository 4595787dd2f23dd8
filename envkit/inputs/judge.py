"""``envkit validate --from``: the quick tier over a recorded node state.

The quick tier's own checks run unchanged on the :class:`NodeHealth` an nvidia-smi dump gives;
the two checks that need the live machine (the kernel log, TensorFlow's GPU count) are skipped
with that reason, and a GPU whose memory size the input does not hold is skipped, not failed.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

from envkit import __version__
from envkit.inputs.health import node_health
from envkit.inputs.model import InputReading, SmiDump
from envkit.inputs.snapshot import best_dump, recording_failure
from envkit.model import Unavailable
from envkit.model_health import NodeHealth
from envkit.validate.model import (
    VALIDATION_SCHEMA_VERSION,
    CheckResult,
    Expectations,
    Tier,
    ValidationReport,
    Verdict,
)
from envkit.validate.quick import quick_checks

LIVE_ONLY = {
    "node.xid": "needs the live machine: the kernel log is not part of a recorded nvidia-smi dump",
}


def recorded_health(reading: InputReading) -> NodeHealth:
    dump = best_dump(reading)
    if dump is None:
        failure = recording_failure(reading) or Unavailable(
            "not-in-input",
            "no nvidia-smi output among the inputs (an NVML recording is judged by its failure "
            "state only; give nvidia-smi -q -x for the readings)",
        )
        return NodeHealth(
            failure=failure,
            driver_version=None,
            cuda_driver_version=None,
        )
    return node_health(dump)


def validate_recorded(
    reading: InputReading, expectations: Expectations, node: str
) -> ValidationReport:
    started = time.monotonic()
    health = recorded_health(reading)
    results = tuple(
        _adjusted(result, best_dump(reading)) for result in quick_checks(health, None, expectations)
    )
    return ValidationReport(
        schema_version=VALIDATION_SCHEMA_VERSION,
        envkit_version=__version__,
        node=node,
        tier=Tier.QUICK,
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(time.monotonic() - started, 3),
        driver_version=health.driver_version,
        cuda_driver_version=health.cuda_driver_version,
        gpus=tuple(gpu.identity for gpu in health.gpus),
        expectations=expectations,
        results=results,
    )


def _adjusted(result: CheckResult, dump: SmiDump | None) -> CheckResult:
    if result.check_id in LIVE_ONLY:
        return replace(result, verdict=Verdict.SKIP, evidence=LIVE_ONLY[result.check_id])
    if result.check_id == "gpu.memory" and result.verdict is Verdict.FAIL and dump is not None:
        gpu = next((g for g in dump.gpus if g.index == result.gpu_index), None)
        if gpu is not None and "fb_memory_usage/total" not in gpu.values:
            return replace(
                result,
                verdict=Verdict.SKIP,
                title=f"GPU {gpu.index}: memory size not in the input",
                evidence="the nvidia-smi output holds no FB memory total for this GPU",
            )
    return result
