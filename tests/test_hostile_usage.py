"""Every option value is checked when parsed: one line, the hint, exit 2, nothing run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BAD_VALUES = [
    (("validate", "--min-driver", "garbage"), "not a driver version"),
    (("validate", "--min-driver", ""), "not a driver version"),
    (("validate", "--expect-memory-gib", "nan"), "not a finite number"),
    (("validate", "--expect-memory-gib", "inf"), "not a finite number"),
    (("validate", "--expect-memory-gib", "-1"), "not a finite number"),
    (("validate", "--expect-gpus", "-1"), "--expect-gpus"),
    (("validate", "--node-name", ""), "must not be empty"),
    (("validate", "--expect-gpu-model", " "), "must not be empty"),
    (("report", "--env", ""), "must not be empty"),
    (("doctor", "--python", ""), "must not be empty"),
    (("smoke", "--timeout", "nan"), "not a finite number"),
    (("smoke", "--timeout", "0"), "under 1 second"),
    (("env", "generate", "--cpu", "--name", ""), "must not be empty"),
    (("validate", "--no-such-option"), "No such option"),
    (("doctor", "-o"), "requires an argument"),
]


@pytest.mark.parametrize(("args", "fragment"), BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_option_value_is_one_line_and_the_hint(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "╭" not in result.stderr  # not click's box
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("envkit: error: ")
    assert fragment in lines[0]
    assert lines[1].startswith("Try 'envkit ")
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []
