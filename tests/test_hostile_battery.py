"""The hostile-input battery (tests/hostile/battery.py), one test per input (#12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.battery import CASES, Case, run_case


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_is_held(tmp_path: Path, case: Case) -> None:
    outcome = run_case(case, tmp_path / "work")
    if outcome.skipped:
        pytest.skip(outcome.detail)
    assert outcome.held, outcome.detail
