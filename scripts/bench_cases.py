"""Run every real case of tests/cases/ through envkit and print how many it diagnoses.

    python scripts/bench_cases.py           # one line per case, then the figure
    python scripts/bench_cases.py -v        # also every error and warning envkit gave
    python scripts/bench_cases.py --filled ID   # the facts the builder fills for one case
    python scripts/bench_cases.py --write-snapshots DIR   # each snapshot case as envkit JSON

The last line is always ``N/M real cases diagnosed with the confirmed cause``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envkit import codec
from scripts.case_corpus import Case, build_snapshot, judge, load_cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--filled", metavar="ID", help="print the neutrally filled facts of ID")
    parser.add_argument(
        "--write-snapshots", metavar="DIR", type=Path, help="write each case's snapshot JSON"
    )
    args = parser.parse_args(argv)
    cases = load_cases()
    if args.write_snapshots:
        return write_snapshots(cases, args.write_snapshots)
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


def write_snapshots(cases: tuple[Case, ...], folder: Path) -> int:
    """Each snapshot case as the JSON document `envkit report --json` writes, for `--from`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for case in cases:
        if case.kind != "snapshot":
            continue
        snapshot, _ = build_snapshot(case.data["snapshot"])
        target = folder / f"{case.case_id}.json"
        target.write_text(json.dumps(codec.encode(snapshot), indent=2) + "\n", encoding="utf-8")
        written += 1
    print(f"{written} snapshots written to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
