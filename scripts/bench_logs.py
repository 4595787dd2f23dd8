"""Time of read_log + log_findings on a long pasted log (the core of `envkit doctor --from`).

Usage: .venv/bin/python scripts/bench_logs.py [--lines N] [--runs N]

The log is built from the real excerpts in tests/fixtures/logs/, repeated until it has N lines,
each copy with its own numbers (as the timestamps of a real log differ), so no two copies of a
line are the same text. The first run, which also loads and compiles the pattern table, is
timed on its own; the median is over the runs after it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

from envkit.inputs.logs import read_log
from envkit.rules.logs import log_findings

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "logs"


def long_log(lines: int) -> str:
    excerpts = [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.glob("*.txt"))]
    pool = "".join(excerpts).splitlines()
    copies = (_renumbered(pool[i % len(pool)], i // len(pool)) for i in range(lines))
    return "\n".join(copies) + "\n"


def _renumbered(line: str, copy: int) -> str:
    return re.sub(r"\d+", lambda digits: str(int(digits.group()) + copy), line)


def timed(text: str) -> tuple[float, float, int]:
    """Wall and CPU seconds (the CPU figure is steadier on a shared machine), and the findings."""
    wall, cpu = time.perf_counter(), time.process_time()
    findings = log_findings(read_log(text))
    return time.perf_counter() - wall, time.process_time() - cpu, len(findings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    text = long_log(args.lines)
    first_s, _, count = timed(text)
    samples = [timed(text) for _ in range(args.runs)]
    wall_ms = statistics.median(sample[0] for sample in samples) * 1000
    cpu_ms = statistics.median(sample[1] for sample in samples) * 1000
    print(f"{args.lines} lines, {len(text):,} characters, {count} findings")
    print(f"first run (loads the table): {first_s * 1000:.1f} ms")
    print(f"median of {args.runs} runs: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU")


if __name__ == "__main__":
    main()
