"""Lifecycle knowledge and the end-of-life warnings: each fires, and each stays quiet.

The tutorial machine (tests/stack_snapshots.py) carries the values issue #9 quotes; the dates
are knowledge/data/lifecycle.json's, from ../shared/reference/lifecycle.json.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from envkit.knowledge import lifecycle
from envkit.model import Severity
from envkit.rules.registry import evaluate
from tests.envs import require_test_env
from tests.rules_support import healthy, replace_os, run_check, with_tensorflow
from tests.stack_snapshots import TODAY, tutorial_machine

LIFECYCLE_CHECKS = (
    "lifecycle.python",
    "lifecycle.tensorflow",
    "lifecycle.keras",
    "lifecycle.os",
    "lifecycle.driver",
)


def test_dates_and_lookups() -> None:
    assert lifecycle.parse_date("2026-10") == dt.date(2026, 10, 31)
    assert lifecycle.parse_date("2026-12") == dt.date(2026, 12, 31)  # into the next year
    assert lifecycle.parse_date("2028-02") == dt.date(2028, 2, 29)  # a leap year
    assert lifecycle.parse_date("2027-02") == dt.date(2027, 2, 28)
    assert lifecycle.parse_date("2021-12-23") == dt.date(2021, 12, 23)
    python = lifecycle.python_lifetime("3.6.15")
    assert python is not None and python.eol == dt.date(2021, 12, 23)
    assert lifecycle.last_driver_branch_for("Kepler") == "470"
    assert lifecycle.last_driver_branch_for("Pascal") == "580"
    assert lifecycle.last_driver_branch_for("Turing") is None
    generation = lifecycle.generation_for_capability("6.1")
    assert generation is not None and generation.architecture == "Pascal"
    branch = lifecycle.driver_branch("470.256.02")
    assert branch is not None and "Kepler" in branch.last_for
    assert lifecycle.today_of("2026-12-01T23:30:00-05:00") == dt.date(2026, 12, 2)


def test_every_lifecycle_fact_cites_a_listed_source() -> None:
    data_file = Path(lifecycle.__file__).parent / "data" / "lifecycle.json"
    data = json.loads(data_file.read_text("utf-8"))
    table = lifecycle.lifecycle_sources()
    cited: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            source = node.get("source")
            cited.extend([source] if isinstance(source, str) else source or [])
            for key, value in node.items():
                if key != "sources":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    assert cited and set(cited) <= set(table)
    assert all(text.strip() for text in table.values())


def test_tensorflow_support_window_is_judged_on_the_snapshot_day() -> None:
    today = dt.date(2026, 12, 1)
    old = lifecycle.tensorflow_lifetime("2.16.1", today)
    assert old is not None and old.ended(today) and old.eol == dt.date(2025, 8, 13)
    recent = lifecycle.tensorflow_lifetime("2.18.0", today)
    assert recent is not None and not recent.ended(today)
    in_2024 = dt.date(2024, 12, 1)
    then = lifecycle.tensorflow_lifetime("2.16.1", in_2024)
    assert then is not None and not then.ended(in_2024)
    assert lifecycle.newest_tensorflow_series(in_2024) == "2.18"


def test_tutorial_stack_warns_with_dates_and_the_route() -> None:
    snapshot = tutorial_machine()
    findings = {f.check_id: f for f in evaluate(snapshot) if f.check_id in LIFECYCLE_CHECKS}
    assert set(findings) == set(LIFECYCLE_CHECKS)
    assert all(f.severity is Severity.WARNING for f in findings.values())
    python = findings["lifecycle.python"]
    assert "2021-12-23" in python.title
    assert "conda create -n tf python=3.12 --yes" in python.fix
    assert python.fix[-1] == 'pip install "tensorflow[and-cuda]==2.21.*"'
    assert any("a new major" in line for line in python.fix)
    assert any("too old for TensorFlow 2.21" in line for line in python.fix)
    assert "2021-01-06" in findings["lifecycle.tensorflow"].title
    assert "CUDA 9.0 (2017-09)" in findings["lifecycle.tensorflow"].evidence
    assert "2020-06-17" in findings["lifecycle.keras"].title
    os_finding = findings["lifecycle.os"]
    assert "2023-05-31" in os_finding.title and "2028-04-01" in os_finding.evidence
    assert "by 2022-03-01" in findings["lifecycle.driver"].evidence
    assert not [f for f in evaluate(snapshot) if f.severity is Severity.ERROR]


def test_the_same_stack_examined_in_2019_is_quiet() -> None:
    snapshot = tutorial_machine(taken_at="2019-06-01T09:00:00+00:00")
    fired = [f.check_id for f in evaluate(snapshot) if f.check_id in LIFECYCLE_CHECKS]
    assert fired == []


def test_current_stack_is_quiet() -> None:
    for check_id in LIFECYCLE_CHECKS:
        assert run_check(check_id, healthy()) == [], check_id


def test_old_tensorflow_2_minor_warns_and_keeps_python() -> None:
    snapshot = with_tensorflow(healthy(), "2.16.1")
    [finding] = run_check("lifecycle.tensorflow", snapshot)
    assert finding.title == "TensorFlow 2.16 no longer gets fixes (since 2025-08-13)"
    assert finding.fix[0] == "conda create -n tf python=3.12 --yes"
    assert not any("new major" in line for line in finding.fix)
    assert run_check("lifecycle.tensorflow", with_tensorflow(healthy(), "2.18.0")) == []


def test_os_in_a_container_is_rebuilt_not_upgraded() -> None:
    snapshot = replace_os(
        healthy(),
        distro_version="18.04",
        distro_pretty_name="Ubuntu 18.04.6 LTS",
        container="docker",
    )
    [finding] = run_check("lifecycle.os", snapshot)
    assert "rebuild the image" in finding.fix[0]
    assert run_check("lifecycle.os", replace_os(healthy(), distro_version="24.04")) == []


def test_driver_branch_ended_but_new_enough_is_quiet() -> None:
    # healthy() runs 560.35.03: branch 560 ended 2025-08-22, but it runs TensorFlow 2.21.
    assert run_check("lifecycle.driver", healthy()) == []


def test_real_tutorial_env_warns_and_exits_0() -> None:
    import subprocess
    import sys

    python = require_test_env("tf112")
    result = subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", "--python", python, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    document = json.loads(result.stdout)
    ids = {f["check_id"] for f in document["findings"] if f["severity"] == "warning"}
    assert {"lifecycle.python", "lifecycle.tensorflow", "lifecycle.keras"} <= ids
    assert result.returncode == 0
    assert TODAY  # the synthetic tests' day; the real env is judged on its own taken_at
