"""A target whose probe crashes, hangs or answers garbage is an error finding, exit 1 (#12)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from envkit.controls import escape_control
from envkit.model import Unavailable

WRAPPER = """#!/bin/sh
# answers -V like the real interpreter, then misbehaves on the probe
if [ "$1" = "-V" ]; then exec {python} -V; fi
{behaviour}
"""
BEHAVIOURS = {
    "segfault": "kill -SEGV $$",
    "garbage": "printf '\\033[31mGARBAGE\\033]0;title\\007 not json'; exit 0",
    "exit-3": "echo 'boom' >&2; exit 3",
    "hang": "exec sleep 600",
}


def _fake_python(tmp_path: Path, behaviour: str) -> Path:
    path = tmp_path / "bin" / "python3"
    path.parent.mkdir()
    path.write_text(WRAPPER.format(python=sys.executable, behaviour=behaviour))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", "--offline", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("kind", sorted(BEHAVIOURS))
def test_misbehaving_target_is_an_error_finding(tmp_path: Path, kind: str) -> None:
    python = _fake_python(tmp_path, BEHAVIOURS[kind])
    result = _doctor("--python", str(python), "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    findings = [f for f in document["findings"] if f["check_id"] == "python.probe"]
    assert len(findings) == 1, document["findings"]
    assert findings[0]["severity"] == "error"
    assert findings[0]["area"] == "python"
    if kind == "segfault":
        assert "signal 11" in findings[0]["evidence"]
    if kind == "garbage":
        assert "\x1b" not in findings[0]["evidence"]
        assert "GARBAGE" in findings[0]["evidence"]


def test_misbehaving_target_shows_a_cross_not_a_tick(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, BEHAVIOURS["garbage"])
    result = _doctor("--python", str(python))
    assert result.returncode == 1, result.stderr
    assert "[✓] Python" not in result.stdout
    assert "[✗] Python" in result.stdout
    assert "\x1b]0;" not in result.stdout


def test_probe_failure_codes_are_what_python_env_returns(tmp_path: Path) -> None:
    from envkit.probes import python_env
    from envkit.rules.probes import PROBE_FAILURES

    python = _fake_python(tmp_path, BEHAVIOURS["segfault"])
    info, _ = python_env.probe(str(python), env=dict(os.environ))
    assert isinstance(info, Unavailable)
    assert info.code in PROBE_FAILURES


def test_escape_control_keeps_text_and_escapes_the_rest() -> None:
    assert escape_control("a\tb\nc") == "a\tb\nc"
    assert escape_control("\x1b[31mred\x07") == "\\x1b[31mred\\x07"
    assert escape_control("\u202eevil\ud800") == "\\u202eevil\\ud800"
    assert escape_control("\x9b2J") == "\\x9b2J"
