"""The default tier's GEMM checks: throughput against the datasheet, sibling GPUs against each
other, and a repeated GEMM's determinism (silent data corruption)."""

from __future__ import annotations

from collections.abc import Sequence

from envkit.validate.model import CheckResult, Thresholds, Verdict
from envkit.validate.perf_judge import (
    ACTION_SDC,
    ACTION_SLOW,
    Judge,
    attribute,
    gpu_index,
    grade,
    rate_result,
)
from envkit.validate.workloads import DevicePlan, GemmResult

# ---------------------------------------------------------------- GEMM


_GEMM_FIGURES = {"bf16": ("bf16_tflops", "BF16"), "fp16": ("fp16_tflops", "FP16")}


def gemm_check(judge: Judge, device: DevicePlan, precision: str) -> CheckResult:
    check_id = f"perf.gemm-{precision}"
    found = [
        m
        for m in judge.results.gemm
        if (m.kind, m.index, m.precision) == (device.kind, device.index, precision)
    ]
    if not found:
        title = f"{precision.upper()} GEMM on {judge.name(device)}"
        return judge.missing(check_id, f"gemm-{precision}", device, title)
    measured = found[0]
    label, figure, pass_at, fail_below = _gemm_basis(judge.thresholds, measured)
    peak = judge.peak(device, figure, label)
    title = f"{label} GEMM on {judge.name(device)}: {measured.tflops:.3g} TFLOP/s"
    done = f"{measured.n}³, {measured.iterations} iterations in {measured.seconds:.2f} s"
    if peak.value is None:
        evidence = f"{done}; not judged against a datasheet: {peak.basis}; judged against siblings"
        return rate_result(check_id, Verdict.SKIP, title, evidence, device, measured, None)
    fraction = measured.tflops / peak.value
    verdict = grade(fraction, pass_at, fail_below)
    limits = f"pass >= {pass_at:.0%}, fail < {fail_below:.0%} of {peak.value:g} ({peak.basis})"
    evidence = f"{done}; {fraction:.0%} of {peak.called}; {limits}"
    title = f"{title}, {fraction:.0%} of {peak.called}"
    verdict, title, evidence = attribute(judge, device, measured.window, verdict, title, evidence)
    return rate_result(check_id, verdict, title, evidence, device, measured, peak.value)


def _gemm_basis(thresholds: Thresholds, measured: GemmResult) -> tuple[str, str, float, float]:
    """(label, GpuSpecs field, pass, fail): FP32 is judged on the TF32 figure where TF32 ran."""
    if measured.precision in _GEMM_FIGURES:
        figure, label = _GEMM_FIGURES[measured.precision]
        return label, figure, thresholds.gemm_pass, thresholds.gemm_fail
    if measured.tf32:
        return "FP32 (TF32)", "tf32_tflops", thresholds.tf32_pass, thresholds.tf32_fail
    return "FP32", "fp32_tflops", thresholds.tf32_pass, thresholds.tf32_fail


def sibling_checks(judge: Judge) -> list[CheckResult]:
    """Each device against the best of its kind, precision by precision."""
    devices = judge.results.plan.devices
    kinds = {device.kind for device in devices}
    checks = []
    for kind in sorted(kinds):
        group = [device for device in devices if device.kind == kind]
        checks += [_sibling_check(judge, device, group) for device in group]
    return checks


def _sibling_check(judge: Judge, device: DevicePlan, group: list[DevicePlan]) -> CheckResult:
    check_id = "perf.sibling-gemm"
    title = f"GEMM throughput of {judge.name(device)} against its siblings"
    if len(group) < 2:
        why = f"only one {device.kind.upper()} planned: nothing to compare with"
        return CheckResult(check_id, Verdict.SKIP, title, why, gpu_index(device))
    ratios = []
    for precision in device.precisions:
        mine = _tflops(judge.results.gemm, device, precision)
        others = [_tflops(judge.results.gemm, d, precision) for d in group]
        best = max((value for value in others if value is not None), default=None)
        if mine is not None and best and sum(v is not None for v in others) >= 2:
            ratios.append((mine / best, precision, mine, best))
    if not ratios:
        return judge.missing(check_id, "gemm-" + device.precisions[0], device, title)
    ratio, precision, mine, best = min(ratios)
    limit = 1.0 - judge.thresholds.sibling_slowdown_warn
    verdict = Verdict.PASS if ratio >= limit else Verdict.WARN
    slower = f"{1 - ratio:.0%} slower than the best" if ratio < 1 else "the best"
    evidence = (
        f"slowest precision {precision.upper()}: {mine:.3g} against {best:.3g} TFLOP/s "
        f"({slower}); warns when more than {judge.thresholds.sibling_slowdown_warn:.0%} slower"
    )
    action = ACTION_SLOW if verdict is Verdict.WARN else None
    return CheckResult(
        check_id,
        verdict,
        f"{title}: {ratio:.0%} of the best",
        evidence,
        gpu_index(device),
        round(ratio, 4),
        1.0,
        "fraction of the best",
        action,
    )


def _tflops(gemm: Sequence[GemmResult], device: DevicePlan, precision: str) -> float | None:
    for measured in gemm:
        if (measured.kind, measured.index, measured.precision) == (
            device.kind,
            device.index,
            precision,
        ):
            return measured.tflops
    return None


# ---------------------------------------------------------------- determinism


def determinism_check(judge: Judge, device: DevicePlan) -> CheckResult:
    check_id = "perf.gemm-determinism"
    found = [
        m for m in judge.results.determinism if (m.kind, m.index) == (device.kind, device.index)
    ]
    title = f"Repeated GEMM on {judge.name(device)}"
    if not found:
        return judge.missing(check_id, "determinism", device, title)
    m = found[0]
    precision = "FP32 (TF32)" if m.tf32 else m.precision.upper()
    done = f"{m.repeats} repeats of a {m.n}³ {precision} GEMM on fixed inputs, compared bitwise"
    known = (
        f"Freivalds check against float64: error {m.freivalds_error:.3g} "
        f"(bound {m.freivalds_tolerance:.3g})"
        if m.freivalds_error is not None
        else "Freivalds check against float64: no finite error"
    )
    problems = _determinism_problems(m.mismatched_elements, m.mismatched_repeats, m.nonfinite)
    wrong = m.freivalds_error is None or m.freivalds_error > m.freivalds_tolerance
    if wrong:
        problems.append("the result disagrees with the float64 check")
    injected = " (corruption INJECTED by the test, not the hardware)" if m.injected else ""
    evidence = f"{done}; {known}"
    if m.mismatched_elements:
        evidence += f"; largest difference {m.max_abs_diff:.3g}"
    if problems:
        title = f"{title} gave different or wrong results: {', '.join(problems)}{injected}"
        verdict, action = Verdict.FAIL, ACTION_SDC
    else:
        title = f"{title} repeats bit for bit and matches float64{injected}"
        verdict, action = Verdict.PASS, None
    return CheckResult(
        check_id,
        verdict,
        title,
        evidence + injected,
        gpu_index(device),
        float(m.mismatched_elements),
        0.0,
        "mismatched elements",
        action,
    )


def _determinism_problems(elements: int, repeats: int, nonfinite: int) -> list[str]:
    problems = []
    if elements:
        problems.append(f"{elements} element(s) differ in {repeats} repeat(s)")
    if nonfinite:
        problems.append(f"{nonfinite} NaN or infinite element(s)")
    return problems
