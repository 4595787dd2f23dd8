"""envkit as a user runs it: a real process, real output, real exit codes."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from envkit import __version__
from envkit.schema import snapshot_schema_path


def envkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("envkit: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_version() -> None:
    result = envkit("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"envkit {__version__}"


def test_report_text_names_every_area() -> None:
    result = envkit("report")
    assert result.returncode == 0, result.stderr
    for title in ("System", "NVIDIA", "Python", "TensorFlow", "conda"):
        assert f"\n{title}\n" in result.stdout
    assert f"Python {platform.python_version()}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_report_json_describes_this_interpreter() -> None:
    result = envkit("report", "--json", "--python", sys.executable)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(snapshot_schema_path().read_text()))
    assert document["python"]["executable"] == sys.executable
    assert document["target"]["how_chosen"] == "--python"
    assert document["python"]["version"] == platform.python_version()
    assert document["os"]["kernel_release"] == platform.release()
    if not Path("/proc/driver/nvidia/version").exists():
        assert document["nvml"]["unavailable"] is True


def test_report_output_file_is_never_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "node.json"
    assert envkit("report", "--json", "-o", str(target)).returncode == 0
    first = target.read_text()
    assert json.loads(first)["schema_version"] == "2"

    again = envkit("report", "--json", "-o", str(target))
    assert_one_line_usage_error(again, "already exists", "--force")
    assert target.read_text() == first

    forced = envkit("report", "--json", "-o", str(target), "--force")
    assert forced.returncode == 0
    assert json.loads(target.read_text())["taken_at"]


def test_report_text_to_file_has_no_colour_codes(tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    assert envkit("report", "--output", str(target)).returncode == 0
    text = target.read_text()
    assert "System" in text
    assert "\x1b[" not in text


def test_unknown_interpreter_path(tmp_path: Path) -> None:
    assert_one_line_usage_error(envkit("report", "--python", str(tmp_path / "nope")), "nope")


def test_non_python_file(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a program\n")
    assert_one_line_usage_error(envkit("report", "--python", str(text_file)), "notes.txt")


def test_a_program_that_is_not_python() -> None:
    assert_one_line_usage_error(envkit("report", "--python", "/bin/true"), "/bin/true")


def test_missing_conda_env() -> None:
    assert_one_line_usage_error(envkit("report", "--env", "no-such-env-xyz"), "no-such-env-xyz")


def test_python_and_env_together() -> None:
    assert_one_line_usage_error(
        envkit("report", "--python", sys.executable, "--env", "base"), "not --python and --env"
    )


def test_output_into_missing_folder(tmp_path: Path) -> None:
    assert_one_line_usage_error(
        envkit("report", "--json", "-o", str(tmp_path / "no/such/dir/x.json")), "does not exist"
    )


@pytest.mark.parametrize("args", [["report", "--bogus"], ["no-such-command"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = envkit(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
