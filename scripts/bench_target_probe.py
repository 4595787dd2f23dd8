"""Time the target-interpreter probe: median of N runs per interpreter.

    .venv/bin/python scripts/bench_target_probe.py [--runs 21] [--python PATH ...]

Without --python it times the running interpreter and, when present, the "tf" env from
scripts/make_test_envs.sh. Three numbers per interpreter: a bare ``python -c pass`` (the
floor), the script alone, and ``python_env.probe()`` end to end (script, JSON, model).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from envkit.probes import python_env

SCRIPT = Path(python_env.__file__).parent / "_scripts" / "target_probe.py"


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm the page cache
    timings_ms = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings_ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings_ms)


def quiet(argv: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)


def default_pythons() -> list[str]:
    envs = Path(os.environ.get("ENVKIT_TEST_ENVS") or Path.home() / ".cache/envkit/test-envs")
    pythons = [sys.executable]
    pythons += [str(p) for p in (envs / "tf" / "bin" / "python",) if p.exists()]
    return pythons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--python", action="append", help="interpreter to time (repeatable)")
    args = parser.parse_args()
    print(f"median of {args.runs} runs, ms")
    print(f"{'python -c pass':>15} {'script':>8} {'probe()':>8}  interpreter")
    for python in args.python or default_pythons():
        floor = median_ms(quiet([python, "-c", "pass"]), args.runs)
        script = median_ms(quiet([python, "-B", str(SCRIPT)]), args.runs)
        probe = median_ms(lambda p=python: python_env.probe(p), args.runs)
        print(f"{floor:15.1f} {script:8.1f} {probe:8.1f}  {python}")


if __name__ == "__main__":
    main()
