"""Write the ``hints`` of every pattern in envkit/knowledge/data/log_patterns.json.

Usage: .venv/bin/python scripts/log_pattern_hints.py [--check]

A pattern's hints are substrings one of which every line it matches holds, derived from its
regex (``envkit.knowledge.logs.literal_hints``); envkit tries a regex only on the lines holding
one. They are stored rather than derived at start-up, where deriving them parsed every regex a
second time. Run this after editing a regex; ``--check`` (the test suite's check) exits 1 when a
stored list differs from the derived one.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envkit.knowledge.logs import literal_hints

TABLE = Path(__file__).resolve().parent.parent / "envkit/knowledge/data/log_patterns.json"


def with_hints(row: dict[str, object]) -> dict[str, object]:
    hints = literal_hints(re.compile(str(row["regex"])))
    written: dict[str, object] = {}
    for key, value in row.items():
        if key != "hints":
            written[key] = value
        if key == "regex":
            written["hints"] = list(hints) if hints is not None else None
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="Only compare; write nothing.")
    args = parser.parse_args()
    table = json.loads(TABLE.read_text("utf-8"))
    derived = {**table, "patterns": [with_hints(row) for row in table["patterns"]]}
    if args.check:
        stale = [
            row["id"]
            for row, new in zip(table["patterns"], derived["patterns"], strict=True)
            if row.get("hints", "absent") != new["hints"]
        ]
        if stale:
            print(f"stale hints: {', '.join(stale)}; run {sys.argv[0]}", file=sys.stderr)
        return 1 if stale else 0
    TABLE.write_text(json.dumps(derived, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
