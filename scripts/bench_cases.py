"""Run every real case of tests/cases/ through envkit and print how many it diagnoses.

    python scripts/bench_cases.py           # one line per case, then the figure
    python scripts/bench_cases.py -v        # also every error and warning envkit gave
    python scripts/bench_cases.py --filled ID   # the facts the builder fills for one case

The last line is always ``N/M real cases diagnosed with the confirmed cause``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.case_corpus import build_snapshot, judge, load_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--filled", metavar="ID", help="print the neutrally filled facts of ID")
    args = parser.parse_args(argv)
    cases = load_cases()
    if args.filled:
        case = next((c for c in cases if c.case_id == args.filled), None)
        if case is None or case.kind != "snapshot":
            print(f"no snapshot case {args.filled}", file=sys.stderr)
            return 2
        for name in build_snapshot(case.data["snapshot"])[1]:
            print(f"  - {name}")
        return 0
    started = time.perf_counter()
    hits = 0
    for case in cases:
        result = judge(case)
        hits += result.hit
        mark = "hit " if result.hit else "MISS"
        print(f"{case.case_id:40} {mark} [{case.kind}] {result.why}", flush=True)
        if args.verbose:
            for finding in result.findings:
                if finding.severity.value != "info":
                    print(f"    {finding.severity.value}: {finding.check_id}: {finding.title}")
    elapsed = time.perf_counter() - started
    print(f"({len(cases)} cases in {elapsed:.2f} s)")
    print(f"{hits}/{len(cases)} real cases diagnosed with the confirmed cause")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
