"""`envkit doctor` as a user runs it: real processes, on this machine and on saved snapshots."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from envkit.probes import collect
from envkit.probes.identity import probe_identifiers
from envkit.render.json_doc import snapshot_json
from envkit.rules.registry import all_checks
from envkit.schema import doctor_schema_path
from envkit.target import resolve_target
from tests.envs import require_test_env
from tests.snapshots import synthetic_gpu_workstation
from tests.test_cli import assert_one_line_usage_error, envkit


@pytest.fixture
def saved_synthetic(tmp_path: Path) -> Path:
    path = tmp_path / "workstation.json"
    path.write_text(snapshot_json(synthetic_gpu_workstation()))
    return path


def test_doctor_on_this_machine() -> None:
    result = envkit("doctor")
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith("envkit doctor")
    for title in ("System", "NVIDIA", "Python", "TensorFlow"):
        assert title in result.stdout


def test_doctor_json_contract_and_exit_status() -> None:
    result = envkit("doctor", "--json")
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(doctor_schema_path().read_text()))
    assert result.returncode == document["summary"]["exit_status"]
    assert document["redactions"] is None


def test_saved_snapshot_with_a_lost_gpu_fails(saved_synthetic: Path) -> None:
    result = envkit("doctor", "--snapshot", str(saved_synthetic), "--json")
    assert result.returncode == 1
    ids = {f["check_id"] for f in json.loads(result.stdout)["findings"]}
    assert "nvidia.gpu-readable" in ids
    assert "nvidia.visible-devices" in ids


def test_saved_snapshot_text(saved_synthetic: Path) -> None:
    result = envkit("doctor", "--snapshot", str(saved_synthetic))
    assert result.returncode == 1
    assert "[✗] NVIDIA" in result.stdout
    assert "GPU 1 does not answer" in result.stdout


def test_report_then_doctor_offline_gives_the_same_findings(tmp_path: Path) -> None:
    saved = tmp_path / "node.json"
    assert envkit("report", "--json", "-o", str(saved)).returncode == 0
    live = json.loads(envkit("doctor", "--json").stdout)["findings"]
    offline = json.loads(envkit("doctor", "--snapshot", str(saved), "--json").stdout)["findings"]
    assert [f["check_id"] for f in offline] == [f["check_id"] for f in live]


def test_markdown_is_redacted_by_default() -> None:
    identifiers = probe_identifiers(collect(resolve_target(sys.executable)))
    result = envkit("doctor", "--markdown")
    assert result.returncode in (0, 1)
    assert result.stderr.startswith("redacted:")
    for value in (*identifiers.hostnames, *identifiers.home_paths, *identifiers.ip_addresses):
        # as a whole token: the host "vm" may stand inside ".venv"
        assert not re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-])", result.stdout), value
    for mac in identifiers.mac_addresses:
        assert mac.lower() not in result.stdout.lower()


def test_markdown_without_redaction_keeps_the_home_path() -> None:
    result = envkit("doctor", "--markdown", "--no-redact")
    assert str(Path.home()) in result.stdout
    assert result.stderr == ""


def test_json_redacted_stays_json() -> None:
    result = envkit("doctor", "--json", "--redact")
    document = json.loads(result.stdout)
    assert document["redactions"] is not None
    assert str(Path.home()) not in result.stdout


def test_list_checks_names_every_check() -> None:
    result = envkit("doctor", "--list-checks")
    assert result.returncode == 0
    for registered in all_checks():
        assert registered.info.check_id in result.stdout


def test_output_file(tmp_path: Path, saved_synthetic: Path) -> None:
    target = tmp_path / "doctor.md"
    result = envkit("doctor", "--snapshot", str(saved_synthetic), "--markdown", "-o", str(target))
    assert result.returncode == 1
    assert target.read_text().startswith("#")
    again = envkit("doctor", "--snapshot", str(saved_synthetic), "--markdown", "-o", str(target))
    assert_one_line_usage_error(again, "already exists")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"schema_version": "1", "os": ', "is not JSON"),
        (b'{"hello": "world"}', "not an envkit snapshot"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a text file"),
        (b"", "is not JSON"),
    ],
)
def test_bad_snapshot_files(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "node.json"
    path.write_bytes(content)
    assert_one_line_usage_error(envkit("doctor", "--snapshot", str(path)), fragment)


def test_missing_and_directory_snapshot(tmp_path: Path) -> None:
    assert_one_line_usage_error(
        envkit("doctor", "--snapshot", str(tmp_path / "gone.json")), "does not exist"
    )
    assert_one_line_usage_error(envkit("doctor", "--snapshot", str(tmp_path)), "is a directory")


def test_conflicting_options(saved_synthetic: Path) -> None:
    assert_one_line_usage_error(envkit("doctor", "--json", "--markdown"), "not both")
    assert_one_line_usage_error(
        envkit("doctor", "--snapshot", str(saved_synthetic), "--python", "/usr/bin/python3"),
        "--snapshot",
    )


def test_real_library_without_kernel_module(libnvml_dir: Path) -> None:
    """Debian's real libnvidia-ml, no kernel module: NVML's real "Driver Not Loaded"."""
    env = {**os.environ, "LD_LIBRARY_PATH": str(libnvml_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    document = json.loads(result.stdout)
    assert document["snapshot"]["nvml"]["code"] == "nvml-driver-not-loaded"
    [finding] = [f for f in document["findings"] if f["check_id"] == "nvidia.kernel-module"]
    if document["snapshot"]["os"]["container"]:
        # In a plain container the driver is the host's business: no module steps inside it.
        assert finding["severity"] == "info"
        assert "dkms" not in " ".join(finding["fix"])
        assert "--gpus all" in " ".join(finding["fix"])
        return
    assert finding["severity"] == "error"
    assert "dkms status" in " ".join(finding["fix"])
    assert result.returncode == 1


def test_real_tensorflow_2_21_environment() -> None:
    python = require_test_env("tf")
    result = envkit("doctor", "--python", python, "--json")
    document = json.loads(result.stdout)
    assert document["snapshot"]["tensorflow"]["version"].startswith("2.21.")
    errors = [f for f in document["findings"] if f["severity"] == "error"]
    assert errors == []
    assert result.returncode == 0


def test_real_tutorial_stack_tensorflow_1_12() -> None:
    python = require_test_env("tf112")
    result = envkit("doctor", "--python", python, "--json")
    document = json.loads(result.stdout)
    assert document["snapshot"]["python"]["version"].startswith("3.6.")
    assert document["snapshot"]["tensorflow"]["version"] == "1.12.0"
    ids = {f["check_id"] for f in document["findings"]}
    assert "tensorflow.installed" not in ids
    assert "python.version-for-tensorflow" not in ids
