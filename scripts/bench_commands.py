"""Wall time of `envkit report --json` and `envkit doctor`, against `import tensorflow`.

Usage: .venv/bin/python scripts/bench_commands.py [--runs N] [--tf-python PATH]

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
        # doctor exits 1 when it finds an error: that is a result, not a failure to time
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tf-python", type=Path, default=DEFAULT_TF_PYTHON)
    args = parser.parse_args()
    commands = {
        "envkit report --json": [sys.executable, "-m", "envkit", "report", "--json"],
        "envkit doctor": [sys.executable, "-m", "envkit", "doctor", "--json"],
    }
    tf_python = str(args.tf_python) if args.tf_python.exists() else None
    import_tf = None
    if tf_python:
        import_tf = median_wall_s([tf_python, "-c", "import tensorflow"], max(3, args.runs // 3))
        print(f'{tf_python} -c "import tensorflow": median {import_tf:.3f} s')
    else:
        print(f"no TensorFlow interpreter at {args.tf_python}; run scripts/make_test_envs.sh")
    for label, argv in commands.items():
        median_wall_s(argv, 2)  # warm the page cache
        own = median_wall_s(argv, args.runs)
        print(f"{label} (envkit's interpreter): median {own:.3f} s over {args.runs} runs")
        if tf_python and import_tf:
            with_tf = median_wall_s([*argv, "--python", tf_python], args.runs)
            print(
                f"{label} --python <tf env>: median {with_tf:.3f} s, "
                f"{with_tf / import_tf:.3f} x import tensorflow"
            )


if __name__ == "__main__":
    main()
