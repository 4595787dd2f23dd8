"""The quick tier's cost, and the default tier's workloads on this machine's CPU with the figures
they measure.

    .venv/bin/python scripts/bench_validate.py [--python PATH] [--devices N] [--gemm-n N]
        [--memory-mib N] [--seconds S] [--rounds N] [--quick-rounds N] [--quick-only] [--smoke]

First ``envkit validate --tier quick --python PATH --json``, ``--quick-rounds`` times, each in a
fresh process: the median wall time and the peak RSS of its process tree (os.wait4's ru_maxrss:
the largest resident set of envkit or any child it waited for), with the load average, since
the figure depends on what else the machine runs. The quick tier is passive, so PATH (the real
TensorFlow env by default) is never asked to import TensorFlow; its budget is 1.0 s and 80 MB.
The envkit measured is the one ``sys.executable`` imports (PYTHONPATH=OTHER_TREE measures
another checkout, e.g. the main branch's, for a before-and-after figure).

Then the measurement job (GEMM per precision, repeated GEMM compared bitwise, device-memory
bandwidth, a MirroredStrategy step across N logical CPU devices) and the MultiWorkerMirrored
step by two workers on loopback, ``--rounds`` times, and prints the median of each figure and
the wall time of each stage. On a GPU machine the same figures, judged, come from
``envkit validate --tier default --json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envkit.smoke import SmokeSpec  # noqa: E402 -- after the path set-up
from envkit.validate.workloads import (  # noqa: E402
    WorkloadEvent,
    WorkloadResults,
    plan_cpu_workloads,
    run_workloads,
)

DEFAULT_PYTHON = (
    Path(os.environ.get("ENVKIT_TEST_ENVS") or Path.home() / ".cache/envkit/test-envs")
    / "tf/bin/python"
)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default=str(DEFAULT_PYTHON))
    parser.add_argument("--devices", type=int, default=2, help="logical CPU devices")
    parser.add_argument("--gemm-n", type=int, default=1024)
    parser.add_argument("--memory-mib", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=1.0, help="timed part of each figure")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="also the quick MNIST smoke run")
    parser.add_argument("--quick-rounds", type=int, default=7, help="runs of the quick tier")
    parser.add_argument(
        "--quick-only", action="store_true", help="only the quick tier's wall time and RSS"
    )
    return parser.parse_args()


def quick_tier_run(python: str) -> tuple[float, int]:
    """One ``envkit validate --tier quick`` in a fresh process: wall seconds, peak RSS bytes."""
    command = [sys.executable, "-m", "envkit", "validate", "--tier", "quick"]
    command += ["--python", python, "--json", "--node-name", "bench"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as cwd:  # -m puts the cwd first on sys.path: keep it empty
        child = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(child.pid, 0)
    wall_s = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # 1: the node failed, still a complete run
        raise SystemExit(f"envkit validate exited {child.returncode}: {' '.join(command)}")
    return wall_s, usage.ru_maxrss * 1024  # Linux gives KiB


def quick_tier_bench(python: str, rounds: int) -> None:
    load_before = os.getloadavg()
    runs = [quick_tier_run(python) for _ in range(rounds)]
    load_after = os.getloadavg()
    walls = [wall for wall, _ in runs]
    rss_mb = [rss / 1e6 for _, rss in runs]
    print(f"envkit validate --tier quick --python {python}: {rounds} runs")
    print(
        f"  wall median {statistics.median(walls):.3f} s (min {min(walls):.3f}, "
        f"max {max(walls):.3f}); budget 1.0 s"
    )
    print(
        f"  peak RSS of the process tree: median {statistics.median(rss_mb):.1f} MB, "
        f"max {max(rss_mb):.1f} MB; budget 80 MB"
    )
    print(
        "  load average (1, 5, 15 min) before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in load_after)
        + f"; {os.cpu_count()} CPU cores"
    )


class StageClock:
    """Wall time of each stage, from the envkit stage events."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def __call__(self, event: WorkloadEvent) -> None:
        if event.source != "envkit":
            return
        stage = str(event.event.fields["stage"])
        if event.event.fields["status"] == "start":
            self.started[stage] = event.event.t
        else:
            self.seconds[stage] = event.event.t - self.started[stage]


def figures(results: WorkloadResults, clock: StageClock) -> dict[str, float]:
    found: dict[str, float] = {}
    for gemm in results.gemm:
        found[f"gemm {gemm.precision} cpu:{gemm.index} TFLOP/s"] = gemm.tflops
    for band in results.bandwidth:
        found[f"memory cpu:{band.index} GB/s"] = band.gbps
    for check in results.determinism:
        found[f"determinism cpu:{check.index} mismatched elements"] = check.mismatched_elements
    for step in results.steps:
        found[f"{step.strategy} step: max weight error"] = step.max_abs_error or 0.0
        found[f"{step.strategy} step: {step.steps} steps, s"] = step.seconds
    for stage, seconds in clock.seconds.items():
        found[f"wall: {stage} stage, s"] = seconds
    found["wall: run_workloads, s"] = results.wall_seconds
    return found


def main() -> int:
    args = arguments()
    quick_tier_bench(args.python, args.quick_rounds)
    if args.quick_only:
        return 0
    plan = plan_cpu_workloads(
        args.devices,
        gemm_n=args.gemm_n,
        precisions=("bf16", "fp16", "fp32"),
        min_seconds=args.seconds,
        determinism_n=512,
        determinism_repeats=10,
        memory_bytes=args.memory_mib * 2**20,
        smoke=SmokeSpec(device="cpu", quick=True, offline=True) if args.smoke else None,
        timeout_s=600.0,
    )
    series: dict[str, list[float]] = defaultdict(list)
    for round_number in range(args.rounds):
        clock = StageClock()
        results = run_workloads(args.python, plan, on_event=clock)
        failures = [f"{job.label}: {job.failure.message}" for job in results.jobs if job.failure]
        if failures or results.errors:
            print("round", round_number + 1, "failed:", failures, results.errors, file=sys.stderr)
            return 1
        for name, value in figures(results, clock).items():
            series[name].append(value)
    print(f"{args.python}: TensorFlow {results.tensorflow_version}, {os.cpu_count()} CPU cores")
    print(
        f"{args.devices} logical CPU devices, GEMM {args.gemm_n}³, "
        f"{args.memory_mib} MiB, {args.seconds:g} s per figure; median of {args.rounds} rounds"
    )
    for name, values in series.items():
        spread = f"  (min {min(values):.4g}, max {max(values):.4g})" if len(values) > 1 else ""
        print(f"  {name:45} {statistics.median(values):10.4g}{spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
