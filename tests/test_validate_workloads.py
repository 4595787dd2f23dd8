"""The default tier's workloads for real, through TensorFlow 2.21 on this machine's CPU.

One run (module fixture) covers every test on two logical CPU devices, a MirroredStrategy step
across them, a MultiWorkerMirroredStrategy step by two worker processes on loopback, and a
corruption INJECTED into one repeat of cpu:1's GEMM (a job option, labelled in the results).
The failure tests use real dying children: a worker whose port is taken, an interpreter
without TensorFlow, a deadline shorter than TensorFlow's import. Small matrices: 2 cores.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from envkit.smoke import RunVerdict, SmokeSpec
from envkit.validate import workloads
from envkit.validate.model import Expectations, TelemetrySample, Verdict
from envkit.validate.perf import CpuExpectations, perf_checks
from envkit.validate.workloads import (
    CorruptionInjection,
    WorkloadEvent,
    WorkloadResults,
    plan_cpu_workloads,
    run_workloads,
)
from tests.envs import python_without_tensorflow, require_test_env


class RecordingSampler:
    """A stand-in for the NVML sampler (no GPU here): records when it ran, returns no samples."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> Sequence[TelemetrySample]:
        self.calls.append("stop")
        return ()


CpuRun = tuple[WorkloadResults, list[WorkloadEvent], RecordingSampler]


@pytest.fixture(scope="module")
def cpu_run() -> Iterator[CpuRun]:
    python = require_test_env("tf")
    events: list[WorkloadEvent] = []
    sampler = RecordingSampler()
    plan = plan_cpu_workloads(2, inject=CorruptionInjection("cpu:1", repeat=2, bit=0))
    yield run_workloads(python, plan, sampler, events.append), events, sampler


def test_every_device_and_precision_is_measured(cpu_run: CpuRun) -> None:
    results, _, sampler = cpu_run
    assert sampler.calls == ["start", "stop"]
    assert [job.failure for job in results.jobs] == [None, None, None]
    assert [job.label for job in results.jobs] == ["job", "worker 0", "worker 1"]
    assert results.tensorflow_version == "2.21.0"
    assert [(d.kind, d.index, d.tf_name) for d in results.devices] == [
        ("cpu", 0, "/CPU:0"),
        ("cpu", 1, "/CPU:1"),
    ]
    assert sorted((g.index, g.precision) for g in results.gemm) == [
        (0, "bf16"),
        (0, "fp32"),
        (1, "bf16"),
        (1, "fp32"),
    ]
    for gemm in results.gemm:
        assert gemm.n == 256 and gemm.iterations >= 1 and not gemm.tf32
        expected = 2 * 256**3 * gemm.iterations / gemm.seconds / 1e12
        assert gemm.tflops == pytest.approx(expected, rel=1e-3)  # seconds rounded to 1 us
        assert gemm.window is not None and 0 <= gemm.window.start_s < gemm.window.end_s
        assert gemm.window.end_s <= results.wall_seconds
    memory = [b for b in results.bandwidth if b.direction == "device"]
    assert [(b.index, b.bytes) for b in memory] == [(0, 2 * 16 * 2**20), (1, 2 * 16 * 2**20)]
    assert all(b.gbps > 0 for b in memory)
    assert not [b for b in results.bandwidth if b.direction != "device"]
    assert {(s.test, s.device) for s in results.skips} == {
        ("host-bandwidth", "cpu:0"),
        ("host-bandwidth", "cpu:1"),
    }
    assert results.errors == ()


def test_determinism_sees_the_injected_bit_flip_and_nothing_else(cpu_run: CpuRun) -> None:
    results, _, _ = cpu_run
    clean, corrupted = sorted(results.determinism, key=lambda d: d.index)
    assert (clean.mismatched_elements, clean.nonfinite, clean.injected) == (0, 0, False)
    assert clean.freivalds_error is not None
    assert clean.freivalds_error <= clean.freivalds_tolerance
    assert corrupted.injected
    assert (corrupted.mismatched_repeats, corrupted.mismatched_elements) == (1, 1)
    assert corrupted.max_abs_diff is not None and 0 < corrupted.max_abs_diff < 1e-3


def test_mirrored_and_multiworker_steps_match_float64(cpu_run: CpuRun) -> None:
    results, _, _ = cpu_run
    mirrored, multi = results.steps
    assert (mirrored.strategy, mirrored.replicas, mirrored.workers) == ("mirrored", 2, 1)
    assert mirrored.devices == ("/CPU:0", "/CPU:1")
    assert (multi.strategy, multi.replicas, multi.workers) == ("multiworker", 2, 2)
    assert [device.split("/device:")[0] for device in multi.devices] == [
        "/job:worker/replica:0/task:0",
        "/job:worker/replica:0/task:1",
    ]
    for step in (mirrored, multi):
        assert step.replicas_agree and step.steps == 3
        assert step.max_abs_error is not None and step.max_abs_error < step.tolerance
        losses = [loss for loss in step.losses if loss is not None]
        assert len(losses) == 3 and losses[-1] < losses[0]
    assert multi.losses == mirrored.losses  # the same sharded batch, the same descent


def test_events_are_tagged_by_source_and_in_order(cpu_run: CpuRun) -> None:
    _, events, _ = cpu_run
    sources = {event.source for event in events}
    assert sources == {"envkit", "job", "worker 0", "worker 1"}
    stages = [
        (e.event.fields["stage"], e.event.fields["status"]) for e in events if e.source == "envkit"
    ]
    assert stages == [
        ("measure", "start"),
        ("measure", "end"),
        ("multiworker", "start"),
        ("multiworker", "end"),
    ]
    job = [e.event.name for e in events if e.source == "job"]
    assert job[:3] == ["hello", "phase", "devices"] and job[-1] == "done"
    assert job.index("gemm") < job.index("determinism") < job.index("step")
    worker = [e.event.name for e in events if e.source == "worker 1"]
    assert worker == ["hello", "phase", "phase", "devices", "test_start", "step", "done"]


def test_real_measurements_judged_against_cpu_figures(cpu_run: CpuRun) -> None:
    """CPU figures set from the run itself: throughput at exactly the pass line passes."""
    results, _, _ = cpu_run
    thresholds = Expectations().thresholds
    slowest = {p: min(g.tflops for g in results.gemm if g.precision == p) for p in ("bf16", "fp32")}
    memory = min(b.gbps for b in results.bandwidth)
    figures = CpuExpectations(
        bf16_tflops=slowest["bf16"] / thresholds.gemm_pass,
        fp32_tflops=slowest["fp32"] / thresholds.tf32_pass,
        memory_bandwidth_gbps=memory / thresholds.memory_bandwidth_pass,
        source="this run's own slowest figures",
    )
    checks = perf_checks(results, {}, Expectations(), figures)
    by_id: dict[str, list[Verdict]] = {}
    for check in checks:
        by_id.setdefault(check.check_id, []).append(check.verdict)
    for check_id in ("perf.gemm-bf16", "perf.gemm-fp32", "perf.memory-bandwidth"):
        assert by_id[check_id] == [Verdict.PASS, Verdict.PASS]
    assert by_id["perf.gemm-determinism"] == [Verdict.PASS, Verdict.FAIL]
    corrupted = [c for c in checks if c.check_id == "perf.gemm-determinism"][1]
    assert "INJECTED" in corrupted.title and corrupted.measured == 1.0
    assert by_id["perf.host-bandwidth"] == [Verdict.SKIP, Verdict.SKIP]
    assert by_id["dist.mirrored-step"] == [Verdict.PASS]
    assert by_id["dist.multiworker-step"] == [Verdict.PASS]
    assert by_id["perf.job"] == [Verdict.PASS]
    assert all(check.gpu_index is None for check in checks)  # CPU devices are not GPUs
    without = perf_checks(results, {}, Expectations(), None)
    gemm = [c for c in without if c.check_id == "perf.gemm-bf16"]
    assert {c.verdict for c in gemm} == {Verdict.SKIP}
    assert "no CPU expectations were given" in gemm[0].evidence


def test_a_worker_that_cannot_bind_its_port_stops_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    python = require_test_env("tf")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        free = workloads.free_ports
        monkeypatch.setattr(workloads, "free_ports", lambda count: [taken, *free(count - 1)])
        results = run_workloads(python, plan_cpu_workloads(1, tests=()))
    job, first, second = results.jobs
    assert job.failure is None
    assert first.failure is not None and "gRPC server" in first.failure.message
    assert second.failure is not None and second.failure.cause == "signal"
    assert second.failure.message.startswith("stopped because worker 0 failed")
    assert results.steps == ()
    (check,) = [
        c for c in perf_checks(results, {}, Expectations()) if c.check_id.startswith("dist")
    ]
    assert (check.check_id, check.verdict) == ("dist.multiworker-step", Verdict.FAIL)
    assert "not measured" in check.title and "gRPC server" in check.evidence


def test_an_interpreter_without_tensorflow_fails_every_check_with_the_reason(
    tmp_path: Path,
) -> None:
    plan = plan_cpu_workloads(2, tests=("gemm", "mirrored"), multiworker=False)
    results = run_workloads(python_without_tensorflow(tmp_path / "venv"), plan)
    (job,) = results.jobs
    assert job.failure is not None and job.failure.cause == "import-error"
    assert "tensorflow" in job.failure.message
    checks = perf_checks(results, {}, Expectations(), CpuExpectations(fp32_tflops=1.0))
    assert {c.verdict for c in checks} == {Verdict.FAIL}
    gemm = next(c for c in checks if c.check_id == "perf.gemm-fp32")
    assert "not measured" in gemm.title and "tensorflow" in gemm.evidence


def test_a_deadline_shorter_than_the_import_is_a_timeout_not_a_hang() -> None:
    python = require_test_env("tf")
    plan = plan_cpu_workloads(1, tests=("gemm",), multiworker=False, timeout_s=0.5)
    results = run_workloads(python, plan)
    (job,) = results.jobs
    assert job.failure is not None and job.failure.cause == "timeout"
    assert results.gemm == ()
    job_check = next(
        c for c in perf_checks(results, {}, Expectations()) if c.check_id == "perf.job"
    )
    assert job_check.verdict is Verdict.FAIL and "timeout" in job_check.title


def test_a_missing_interpreter_is_a_start_error() -> None:
    results = run_workloads("/nonexistent/python", plan_cpu_workloads(1, multiworker=True))
    assert [job.failure.cause for job in results.jobs if job.failure] == ["start-error"] * 3


def test_smoke_runs_first_and_is_judged() -> None:
    python = require_test_env("tf")
    smoke = SmokeSpec(device="cpu", quick=True, offline=True)
    plan = plan_cpu_workloads(1, tests=("gemm",), multiworker=False, smoke=smoke)
    events: list[WorkloadEvent] = []
    results = run_workloads(python, plan, on_event=events.append)
    (outcome,) = results.smoke
    assert outcome.gpu_index is None and outcome.result is not None
    assert outcome.result.verdict is RunVerdict.PASS
    assert events[0].source == "envkit" and events[0].event.fields["stage"] == "smoke"
    assert any(event.source == "smoke cpu" for event in events)
    checks = perf_checks(results, {}, Expectations())
    smoke_check = next(c for c in checks if c.check_id == "smoke.trains")
    assert smoke_check.verdict is Verdict.PASS and "the CPU" in smoke_check.title
