"""Start-up time of envkit at another revision against this working tree, runs interleaved.

Usage: .venv/bin/python scripts/bench_ab.py --base REV [--runs N] [--tf-python PATH] [--only TEXT]

On a machine whose speed drifts within minutes (a shared VM), two benchmark runs taken apart
compare the moments as much as the code. Here each command runs alternately from a worktree of
REV and from this tree, with the same interpreter (``PYTHONPATH`` picks the tree) and both trees'
bytecode compiled first; the medians and their ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_commands import DEFAULT_TF_PYTHON, FIXTURES, eight_gpu_dump, five_thousand_line_log

REPO = Path(__file__).resolve().parent.parent


def commands(tf_python: Path, scratch: Path) -> dict[str, list[str]]:
    log, dump = scratch / "train.log", scratch / "node-8gpu.xml"
    log.write_text(five_thousand_line_log())
    dump.write_text(eight_gpu_dump())
    page = FIXTURES / "inputs" / "paddle-rfc-quick-install-env-reports.md"
    found = {
        "--version": ["--version"],
        "doctor (default target)": ["doctor"],
        "doctor --json": ["doctor", "--json"],
        "report --json": ["report", "--json"],
        "doctor --from <5,000-line log>": ["doctor", "--from", str(log)],
        "doctor --from <pasted page>": ["doctor", "--json", "--from", str(page)],
        "validate --from <8-GPU -q -x>": ["validate", "--json", "--from", str(dump)],
    }
    if tf_python.exists():
        found["doctor --python <tf env>"] = ["doctor", "--python", str(tf_python)]
    return found


def median_pair(argv: list[str], trees: dict[str, Path], runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            started = time.perf_counter()
            # doctor exits 1 when it finds an error: a result, not a failure to time
            subprocess.run(
                [sys.executable, "-m", "envkit", *argv],
                env=env,
                cwd=tempfile.gettempdir(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="The revision to compare with.")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--tf-python", type=Path, default=DEFAULT_TF_PYTHON)
    parser.add_argument("--only", default="", help="Only the commands whose label holds this.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(base), args.base],
            check=True,
        )
        try:
            trees = {args.base: base, "this tree": REPO}
            for tree in trees.values():
                subprocess.run(
                    [sys.executable, "-m", "compileall", "-q", str(tree / "envkit")], check=True
                )
            for label, argv in commands(args.tf_python, Path(scratch)).items():
                if args.only not in label:
                    continue
                medians = median_pair(argv, trees, args.runs)
                before, after = medians[args.base], medians["this tree"]
                print(
                    f"{label:32s} {args.base} {before:.3f} s · this tree {after:.3f} s "
                    f"({after / before:.2f} x)"
                )
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(base)], check=False
            )


if __name__ == "__main__":
    main()
