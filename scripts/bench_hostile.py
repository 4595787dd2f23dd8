"""Run the hostile-input battery (tests/hostile/battery.py) and print `N/M hostile inputs held`.

    python scripts/bench_hostile.py [-v]

Each case runs envkit as a user would, in a fresh folder, and is judged on the invariants the
battery states (exit code in {0, 1, 2}, no traceback, at most two stderr lines on exit 2,
nothing of the user's changed, nothing from the working directory run) plus its own check.
Exit status 0 when every case held.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hostile.battery import CASES, run_case  # noqa: E402


def main() -> int:
    verbose = "-v" in sys.argv[1:]
    held = skipped = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="envkit-hostile-") as scratch:
        for number, case in enumerate(CASES):
            outcome = run_case(case, Path(scratch) / f"case-{number}")
            if outcome.skipped:
                skipped += 1
                mark = "skip"
            elif outcome.held:
                held += 1
                mark = "held"
            else:
                mark = "FAIL"
            if verbose or mark == "FAIL":
                print(f"{mark}  {case.name}: {outcome.detail}")
    run = len(CASES) - skipped
    note = f" ({skipped} skipped: a tool they need is missing)" if skipped else ""
    print(f"{held}/{run} hostile inputs held{note} in {time.monotonic() - started:.0f} s")
    return 0 if held == run else 1


if __name__ == "__main__":
    sys.exit(main())
