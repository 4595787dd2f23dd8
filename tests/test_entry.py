"""The entry point starts the default target's probe before the CLI loads, and only then."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from envkit import entry, probes
from envkit.target import resolve_target


@pytest.mark.parametrize(
    "args",
    [["doctor"], ["doctor", "--json"], ["doctor", "-v", "--markdown"], ["report", "--json"]],
)
def test_doctor_and_report_on_the_default_target_start_early(args: list[str]) -> None:
    assert entry.examines_default_target(args, {})


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--version"],
        ["smoke"],
        ["validate", "--tier", "quick"],
        ["doctor", "--python", "/usr/bin/python3"],
        ["doctor", "--python=/usr/bin/python3"],
        ["report", "--env", "tf"],
        ["doctor", "--kernel", "tf"],
        ["doctor", "--from", "issue.md"],
        ["doctor", "--snapshot", "node.json"],
        ["doctor", "--all-envs"],
        ["doctor", "--list-checks"],
        ["doctor", "--help"],
        ["report", "-h"],
    ],
)
def test_other_command_lines_start_nothing(args: list[str]) -> None:
    assert not entry.examines_default_target(args, {})


def test_shell_completion_starts_nothing() -> None:
    assert not entry.examines_default_target(["doctor"], {"_ENVKIT_COMPLETE": "bash_complete"})


def test_the_command_takes_over_the_started_probe_once() -> None:
    entry._start_default_probe(["doctor"], {})
    target = resolve_target()
    started = probes._PREFETCHED[target]
    assert probes.start_collect(target) is started
    assert target not in probes._PREFETCHED  # a second collection starts afresh
    snapshot = started.result()
    assert snapshot.target == target


def test_a_bad_option_is_still_one_line_and_exit_2() -> None:
    done = _envkit("doctor", "--no-such-option")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith("envkit: error:")


def test_doctor_reports_the_target_it_was_started_for() -> None:
    done = _envkit("doctor", "--json")
    expected = resolve_target()
    reported = json.loads(done.stdout)["snapshot"]["target"]
    assert (reported["python"], reported["how_chosen"]) == (expected.python, expected.how_chosen)


def _envkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args], capture_output=True, text=True, timeout=120
    )
