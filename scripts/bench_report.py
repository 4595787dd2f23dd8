"""Wall time of `envkit report --json`, against `python -c "import tensorflow"` in the same env.

Usage: .venv/bin/python scripts/bench_report.py [--runs N] [--tf-python PATH]

Each command is run N times as a fresh process; the median is printed. The TensorFlow
interpreter defaults to the test environment that scripts/make_test_envs.sh builds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_TF_PYTHON = Path(
    os.environ.get("ENVKIT_TEST_ENVS", Path.home() / ".cache/envkit/test-envs"), "tf/bin/python"
)


def median_wall_s(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tf-python", type=Path, default=DEFAULT_TF_PYTHON)
    args = parser.parse_args()
    envkit = [sys.executable, "-m", "envkit", "report", "--json"]

    median_wall_s(envkit, 2)  # warm the page cache
    own = median_wall_s(envkit, args.runs)
    print(f"envkit report --json (running interpreter): median {own:.3f} s over {args.runs} runs")
    if not args.tf_python.exists():
        print(f"no TensorFlow interpreter at {args.tf_python}; run scripts/make_test_envs.sh")
        return
    tf_python = str(args.tf_python)
    with_tf = median_wall_s([*envkit, "--python", tf_python], args.runs)
    import_tf = median_wall_s([tf_python, "-c", "import tensorflow"], max(3, args.runs // 3))
    print(f"envkit report --json --python {tf_python}: median {with_tf:.3f} s")
    print(f'{tf_python} -c "import tensorflow": median {import_tf:.3f} s')
    print(f"ratio report / import tensorflow: {with_tf / import_tf:.3f}")


if __name__ == "__main__":
    main()
