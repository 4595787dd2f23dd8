"""perf_checks on measured numbers: the published figures of real GPUs, thresholds at their edges.

No GPU here, so the GPU results are built from figures measured on real hardware and published
(gpu-validation.md §4.1): gpu-fryer's 8192² GEMM on an H100 SXM (BF16 ~730, TF32 ~373 TFLOP/s),
DCGM's memory bandwidth on an H100 SXM (2,540 GB/s), Azure's H2D floor on H100 PCIe Gen5 (48
GB/s). The GPU models and datasheet figures are the knowledge base's own.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from envkit.knowledge import GpuModel, gpu_model
from envkit.smoke import JobFailure
from envkit.validate.model import Expectations, TelemetrySample, Thresholds, Verdict
from envkit.validate.perf import (
    HW_THERMAL,
    SW_POWER_CAP,
    SW_THERMAL,
    CpuExpectations,
    PcieLink,
    grade,
    perf_checks,
)
from envkit.validate.workloads import (
    BandwidthResult,
    DeterminismResult,
    GemmResult,
    JobOutcome,
    StepResult,
    Window,
    WorkloadNote,
    WorkloadResults,
    plan_cpu_workloads,
    plan_gpu_workloads,
)

H100 = gpu_model("NVIDIA H100 80GB HBM3")
MEASURE = Window(10.0, 12.0)


def h100() -> GpuModel:
    assert H100 is not None and H100.specs is not None
    return H100


def gemm(index: int, precision: str, tflops: float, tf32: bool = False) -> GemmResult:
    return GemmResult("gpu", index, precision, tf32, 8192, 100, 1.0, tflops, MEASURE)


def results(
    gpus: int = 2,
    bf16: tuple[float, ...] = (730.0, 730.0),
    **changes: object,
) -> WorkloadResults:
    """A healthy H100 SXM node's measurements (published figures), with ``changes``."""
    plan = plan_gpu_workloads({index: h100() for index in range(gpus)}, smoke=False)
    base = WorkloadResults(
        plan=plan,
        tensorflow_version="2.21.0",
        devices=(),
        gemm=tuple(
            result
            for index in range(gpus)
            for result in (
                gemm(index, "bf16", bf16[index]),
                gemm(index, "fp16", 730.0),
                gemm(index, "fp32", 373.0, tf32=True),
            )
        ),
        determinism=tuple(
            DeterminismResult(
                "gpu", i, "fp32", True, 4096, 10, 0, 0, 0.0, 0, 1e-7, 2e-3, False, MEASURE
            )
            for i in range(gpus)
        ),
        bandwidth=tuple(
            BandwidthResult("gpu", i, direction, 2**30, 50, 1.0, gbps, MEASURE)
            for i in range(gpus)
            for direction, gbps in (("device", 2540.0), ("h2d", 50.0), ("d2h", 52.0))
        ),
        steps=(
            StepResult(
                "mirrored", 1, gpus, ("/GPU:0", "/GPU:1"), 3, (9.0, 8.0, 7.0), 1e-7, 1e-3, True, 0.2
            ),
            StepResult(
                "multiworker", 2, gpus, ("w0", "w1"), 3, (9.0, 8.0, 7.0), 1e-7, 1e-3, True, 0.3
            ),
        ),
        skips=(),
        errors=(),
        smoke=(),
        jobs=(JobOutcome("job", None, (), 30.0),),
        telemetry=(),
        telemetry_error=None,
        wall_seconds=40.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def check(checks: tuple, check_id: str, gpu: int | None = 0):  # type: ignore[no-untyped-def,type-arg]
    (found,) = [c for c in checks if c.check_id == check_id and c.gpu_index == gpu]
    return found


def judged(run: WorkloadResults, **kwargs: object) -> tuple:  # type: ignore[type-arg]
    models = {index: h100() for index in range(len(run.plan.devices))}
    return perf_checks(run, models, Expectations(), **kwargs)  # type: ignore[arg-type]


def test_a_healthy_h100_node_passes_with_the_published_figures() -> None:
    links = {0: PcieLink(5, 16), 1: PcieLink(5, 16)}
    checks = judged(results(), pcie_links=links)
    assert {c.verdict for c in checks} == {Verdict.PASS, Verdict.SKIP}
    skipped = {c.check_id for c in checks if c.verdict is Verdict.SKIP}
    assert skipped == {"perf.throttle-under-load"}  # no sampler ran
    bf16 = check(checks, "perf.gemm-bf16")
    assert (bf16.measured, bf16.expected, bf16.unit) == (730.0, 989.0, "TFLOP/s")
    assert "74% of the datasheet" in bf16.title and "ds-h100" in bf16.evidence
    fp32 = check(checks, "perf.gemm-fp32")
    assert fp32.expected == 494.7 and "TF32" in fp32.title  # judged on the TF32 figure
    memory = check(checks, "perf.memory-bandwidth")
    assert memory.expected == 3350.0 and "76% of the datasheet" in memory.title
    host = check(checks, "perf.host-bandwidth")
    assert host.expected == pytest.approx(63.008) and host.measured == 50.0
    assert "Gen5 x16" in host.title


@pytest.mark.parametrize(
    ("fraction", "verdict"),
    [(0.65, Verdict.PASS), (0.6499, Verdict.WARN), (0.50, Verdict.WARN), (0.4999, Verdict.FAIL)],
)
def test_bf16_gemm_at_the_thresholds(fraction: float, verdict: Verdict) -> None:
    checks = judged(results(bf16=(989.0 * fraction, 989.0 * fraction)))
    found = check(checks, "perf.gemm-bf16")
    assert found.verdict is verdict
    assert (found.action is not None) == (verdict is Verdict.FAIL)


def test_thresholds_are_configurable() -> None:
    strict = Expectations(thresholds=Thresholds(gemm_pass=0.75, gemm_fail=0.74))
    models = {0: h100(), 1: h100()}
    found = check(perf_checks(results(), models, strict), "perf.gemm-bf16")
    assert found.verdict is Verdict.FAIL  # 730 / 989 = 73.8 %


def test_grade_treats_a_figure_on_the_line_as_on_it() -> None:
    assert grade(0.65 * 989.0 / 989.0, 0.65, 0.5) is Verdict.PASS
    assert grade(0.5, 0.65, 0.5) is Verdict.WARN


@pytest.mark.parametrize(
    ("slowest", "verdict"), [(730.0 * 0.90, Verdict.PASS), (730.0 * 0.89, Verdict.WARN)]
)
def test_a_gpu_more_than_ten_percent_slower_than_its_sibling_warns(
    slowest: float, verdict: Verdict
) -> None:
    checks = judged(results(bf16=(730.0, slowest)))
    assert check(checks, "perf.sibling-gemm", 1).verdict is verdict
    assert check(checks, "perf.sibling-gemm", 0).verdict is Verdict.PASS
    assert check(checks, "perf.gemm-bf16", 1).verdict is Verdict.PASS  # 66 %: still above


def test_an_unknown_gpu_is_judged_only_against_its_siblings() -> None:
    run = results(bf16=(730.0, 500.0))
    checks = perf_checks(run, {0: None, 1: None}, Expectations())
    absolute = [c for c in checks if c.check_id.startswith(("perf.gemm-b", "perf.memory"))]
    assert {c.verdict for c in absolute} == {Verdict.SKIP}
    assert "unknown GPU model" in absolute[0].evidence and absolute[0].measured == 730.0
    assert check(checks, "perf.sibling-gemm", 1).verdict is Verdict.WARN
    assert check(checks, "perf.gemm-determinism", 1).verdict is Verdict.PASS


def test_a_single_gpu_has_no_sibling_and_no_mirrored_step() -> None:
    run = results(gpus=1, bf16=(730.0,), steps=())
    run = replace(run, skips=(WorkloadNote("mirrored-step", None, "needs two or more devices"),))
    checks = judged(run)
    assert check(checks, "perf.sibling-gemm").verdict is Verdict.SKIP
    mirrored = check(checks, "dist.mirrored-step", None)
    assert mirrored.verdict is Verdict.SKIP and "two or more" in mirrored.evidence


def telemetry(gpu: int, reasons: int, at: float = 11.0) -> TelemetrySample:
    return TelemetrySample(at, gpu, 1410, 2619, 88, 699.0, reasons)


def test_a_slow_gemm_with_hw_thermal_slowdown_in_its_window_fails_with_the_reason() -> None:
    samples = (telemetry(0, HW_THERMAL | SW_POWER_CAP), telemetry(1, SW_POWER_CAP))
    run = results(bf16=(600.0, 600.0), telemetry=samples)  # 61 %: a warning by itself
    checks = judged(run)
    hot = check(checks, "perf.gemm-bf16", 0)
    assert hot.verdict is Verdict.FAIL and "HW thermal slowdown" in hot.title
    assert "SM clock 1410-1410 MHz" in hot.evidence and "88 °C" in hot.evidence
    capped = check(checks, "perf.gemm-bf16", 1)
    assert capped.verdict is Verdict.WARN and "SW power cap" in capped.evidence
    assert check(checks, "perf.throttle-under-load", 0).verdict is Verdict.FAIL
    assert check(checks, "perf.throttle-under-load", 1).verdict is Verdict.PASS


def test_reasons_outside_a_tests_window_are_not_its_cause() -> None:
    run = results(bf16=(600.0, 600.0), telemetry=(telemetry(0, HW_THERMAL, at=30.0),))
    checks = judged(run)
    assert check(checks, "perf.gemm-bf16", 0).verdict is Verdict.WARN
    assert check(checks, "perf.throttle-under-load", 0).verdict is Verdict.FAIL  # under load


def test_sw_thermal_slowdown_under_load_warns_and_a_fast_gemm_keeps_its_pass() -> None:
    run = results(telemetry=(telemetry(0, SW_THERMAL | HW_THERMAL), telemetry(1, SW_THERMAL)))
    checks = judged(run)
    assert check(checks, "perf.gemm-bf16", 0).verdict is Verdict.PASS  # not slow: no blame
    assert check(checks, "perf.throttle-under-load", 1).verdict is Verdict.WARN


def test_the_throttle_check_says_why_it_has_no_samples() -> None:
    checks = judged(results(telemetry_error="the telemetry sampler did not start: NVMLError"))
    assert "did not start" in check(checks, "perf.throttle-under-load").evidence


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"mismatched_repeats": 1, "mismatched_elements": 3, "max_abs_diff": 0.5}, "3 element"),
        ({"nonfinite": 2, "freivalds_error": None}, "NaN or infinite"),
        ({"freivalds_error": 0.1}, "float64 check"),
    ],
)
def test_silent_data_corruption_fails_and_says_how(change: dict, problem: str) -> None:  # type: ignore[type-arg]
    run = results()
    run = replace(run, determinism=(replace(run.determinism[0], **change), run.determinism[1]))
    found = check(judged(run), "perf.gemm-determinism")
    assert found.verdict is Verdict.FAIL and problem in found.title
    assert found.action is not None and "silent data corruption" in found.action
    assert "INJECTED" not in found.title


@pytest.mark.parametrize(
    ("gbps", "verdict"),
    [
        (31.508 * 0.75, Verdict.PASS),
        (31.508 * 0.7499, Verdict.WARN),
        (31.508 * 0.4999, Verdict.FAIL),
    ],
)
def test_host_bandwidth_against_the_link_it_is_on(gbps: float, verdict: Verdict) -> None:
    run = results()
    copies = tuple(
        replace(b, gbps=gbps) if (b.index, b.direction) == (0, "d2h") else b for b in run.bandwidth
    )
    links = {0: PcieLink(4, 16), 1: PcieLink(5, 16)}
    found = check(judged(replace(run, bandwidth=copies), pcie_links=links), "perf.host-bandwidth")
    assert found.verdict is verdict and "Gen4 x16" in found.title
    assert (found.action is not None) == (verdict is Verdict.FAIL)


def test_host_bandwidth_without_the_link_is_skipped_with_the_figures() -> None:
    found = check(judged(results()), "perf.host-bandwidth")
    assert found.verdict is Verdict.SKIP and "50 / 52 GB/s" in found.title
    assert "PCIe link generation and width not known" in found.evidence


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"replicas_agree": False}, "different weights"),
        ({"max_abs_error": 0.5}, "float64 descent"),
        ({"losses": (9.0, None, 7.0)}, "NaN"),
        ({"losses": (9.0, 9.5, 10.0)}, "did not decrease"),
    ],
)
def test_a_wrong_distributed_step_fails(change: dict, problem: str) -> None:  # type: ignore[type-arg]
    run = results()
    run = replace(run, steps=(replace(run.steps[0], **change), run.steps[1]))
    found = check(judged(run), "dist.mirrored-step", None)
    assert found.verdict is Verdict.FAIL and problem in found.title
    assert check(judged(run), "dist.multiworker-step", None).verdict is Verdict.PASS


def test_a_planned_test_without_a_result_fails_with_the_jobs_reason() -> None:
    failure = JobFailure(
        "signal", "gemm-fp16", "the job was killed by SIGSEGV", -11, "SIGSEGV", None, ""
    )
    run = results(gemm=(), jobs=(JobOutcome("job", failure, (), 3.0),))
    run = replace(
        run,
        errors=(
            WorkloadNote("gemm-bf16", "gpu:1", "CUBLAS_STATUS_EXECUTION_FAILED", "InternalError"),
        ),
    )
    checks = judged(run)
    crashed = check(checks, "perf.gemm-fp16", 0)
    assert crashed.verdict is Verdict.FAIL and "not measured" in crashed.title
    assert "SIGSEGV" in crashed.evidence
    raised = check(checks, "perf.gemm-bf16", 1)
    assert raised.verdict is Verdict.FAIL and "InternalError: CUBLAS" in raised.evidence
    assert check(checks, "perf.job", None).verdict is Verdict.FAIL


def test_cpu_results_need_explicit_cpu_figures() -> None:
    plan = plan_cpu_workloads(1, tests=("gemm", "memory"), multiworker=False)
    run = WorkloadResults(
        plan,
        "2.21.0",
        (),
        (
            GemmResult("cpu", 0, "bf16", False, 256, 10, 0.1, 0.6, None),
            GemmResult("cpu", 0, "fp32", False, 256, 10, 0.1, 0.18, None),
        ),
        (),
        (BandwidthResult("cpu", 0, "device", 2**25, 10, 0.1, 24.0, None),),
        (),
        (),
        (),
        (),
        (JobOutcome("job", None, (), 2.0),),
        (),
        None,
        2.0,
    )
    unjudged = perf_checks(run, {}, Expectations())
    assert [c.verdict for c in unjudged if c.check_id.startswith("perf.gemm")] == [Verdict.SKIP] * 2
    figures = CpuExpectations(
        bf16_tflops=0.6 / 0.65,
        fp32_tflops=0.18 / 0.44,
        memory_bandwidth_gbps=24.0 / 0.7,
        source="measured on this CPU",
    )
    checks = perf_checks(run, {}, Expectations(), figures)
    assert check(checks, "perf.gemm-bf16", None).verdict is Verdict.PASS
    fp32 = check(checks, "perf.gemm-fp32", None)
    assert fp32.verdict is Verdict.FAIL and "measured on this CPU" in fp32.evidence
    assert check(checks, "perf.memory-bandwidth", None).verdict is Verdict.PASS


def test_gpu_plans_are_sized_from_the_datasheet() -> None:
    t4, a100 = gpu_model("Tesla T4"), gpu_model("NVIDIA A100-SXM4-80GB")
    plan = plan_gpu_workloads({0: t4, 1: a100, 3: None})
    by_index = {device.index: device for device in plan.devices}
    assert by_index[0].precisions == ("fp16", "fp32")  # a T4 has no BF16
    assert by_index[1].precisions == ("bf16", "fp16", "fp32")
    assert (by_index[0].gemm_n, by_index[1].gemm_n, by_index[3].gemm_n) == (4096, 8192, 8192)
    assert by_index[3].precisions == ("bf16", "fp16", "fp32")  # unknown: try them all
    assert all(d.memory_bytes == 2**30 and d.host_bytes == 2**28 for d in plan.devices)
    assert plan.multiworker_gpus == ((0,), (1, 3))
    assert plan.smoke is not None and plan.smoke.device == "gpu" and plan.smoke.offline
    assert plan.concurrent and plan.timeout_s > 120
    single = plan_gpu_workloads({0: a100}, smoke=False)
    assert single.multiworker_gpus is None and single.smoke is None
