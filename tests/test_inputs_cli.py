"""`--from` on report, doctor and validate, end to end on real published inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envkit.validate.report_json import load_validation
from tests.test_cli import assert_one_line_usage_error, envkit

SMI = Path(__file__).parent / "fixtures" / "nvidia-smi"
REPORTS = Path(__file__).parent / "fixtures" / "inputs"


def _verdicts(text: str, source: str = "report") -> dict[tuple[str, int | None], str]:
    report = load_validation(text, source)
    return {(r.check_id, r.gpu_index): r.verdict.value for r in report.results}


def test_validate_from_mig_dump_passes_with_warnings() -> None:
    result = envkit("validate", "--from", str(SMI / "telegraf-a100-sxm4-mig-v12.xml"), "--json")
    assert result.returncode == 0, result.stderr
    verdicts = _verdicts(result.stdout)
    assert verdicts[("gpu.mig", 0)] == "warn"
    assert verdicts[("gpu.ecc-mode", 0)] == "pass"
    assert verdicts[("gpu.pcie-link", 0)] == "pass"
    assert verdicts[("node.xid", None)] == "skip"
    assert ("node.tensorflow-gpus", None) not in verdicts  # the default tier's, not the quick
    report = json.loads(result.stdout)
    xid = next(r for r in report["report"]["results"] if r["check_id"] == "node.xid")
    assert "needs the live machine" in xid["evidence"]
    assert report["node"] == "telegraf-a100-sxm4-mig-v12"  # no hostname in the dump


def test_validate_from_t4_fails_on_the_narrow_pcie_link() -> None:
    result = envkit(
        "validate",
        "--from",
        str(SMI / "telegraf-tesla-t4-v11.xml"),
        "--json",
        "--node-name",
        "node17",
        "--expect-gpus",
        "1",
        "--min-driver",
        "535",
    )
    assert result.returncode == 1
    verdicts = _verdicts(result.stdout)
    assert verdicts[("gpu.pcie-link", 0)] == "fail"  # x8 of x16 in the dump
    assert verdicts[("node.gpu-count", None)] == "pass"
    assert verdicts[("node.driver-min", None)] == "fail"  # 515.105.01 < 535
    assert verdicts[("gpu.retired-pages", 0)] == "pass"
    assert json.loads(result.stdout)["node"] == "node17"


@pytest.mark.parametrize(
    ("name", "check", "code"),
    [
        ("issue-shine-cluster-50-failed-to-communicate.txt", "node.nvml", "nvml-driver-not-loaded"),
        ("issue-tinygrad-ogkm-47-version-mismatch.txt", "node.nvml", "nvml-version-mismatch"),
        ("issue-syno-nvidia-22-unknown-error.txt", "gpu.nvml", "nvml-gpu-lost"),
    ],
)
def test_validate_from_real_failure_states_fails(name: str, check: str, code: str) -> None:
    result = envkit("validate", "--from", str(SMI / name), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    failed = [r for r in report["report"]["results"] if r["verdict"] == "fail"]
    assert any(r["check_id"] == check and code in r["evidence"] for r in failed)


def test_validate_from_folder_writes_one_report_per_dump_for_fleet_summarize(
    tmp_path: Path,
) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    for name in ("telegraf-a100-sxm4-mig-v12.xml", "issue-tinygrad-ogkm-47-version-mismatch.txt"):
        shutil.copy(SMI / name, dumps / name)
    out = tmp_path / "out"
    result = envkit("validate", "--from", str(dumps), "--output-dir", str(out))
    assert result.returncode == 1  # one node fails
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "issue-tinygrad-ogkm-47-version-mismatch.json",
        "telegraf-a100-sxm4-mig-v12.json",
    ]
    summary = envkit("fleet", "summarize", str(out), "--json")
    data = json.loads(summary.stdout)
    assert summary.returncode == 1, summary.stderr
    assert "issue-tinygrad-ogkm-47-version-mismatch" in json.dumps(data)


def test_validate_from_folder_without_output_dir_is_a_usage_error(tmp_path: Path) -> None:
    result = envkit("validate", "--from", str(tmp_path))
    assert_one_line_usage_error(result, "--output-dir")


def test_doctor_from_a_real_pasted_page_judges_what_it_holds() -> None:
    result = envkit(
        "doctor", "--from", str(REPORTS / "paddle-rfc-quick-install-env-reports.md"), "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    snapshot = data["snapshot"]
    assert snapshot["nvml"]["driver_version"] == "460.32.03"
    assert snapshot["nvml"]["gpus"][0]["name"] == "A100-SXM4-40GB"
    assert snapshot["python"]["version"] == "3.7.4"
    assert snapshot["tensorflow"]["version"] == "2.9.1"
    assert snapshot["os"]["code"] == "not-in-input"
    ids = [f["check_id"] for f in data["findings"]]
    assert "input.not-checked" in ids


def test_doctor_from_version_mismatch_line() -> None:
    result = envkit(
        "doctor", "--from", str(SMI / "issue-tinygrad-ogkm-47-version-mismatch.txt"), "--json"
    )
    assert result.returncode == 1
    ids = [f["check_id"] for f in json.loads(result.stdout)["findings"]]
    assert any("mismatch" in check for check in ids), ids


def test_doctor_from_two_driver_versions_is_a_finding() -> None:
    result = envkit(
        "doctor",
        "--json",
        "--from",
        str(SMI / "telegraf-tesla-t4-v11.xml"),
        "--from",
        str(SMI / "telegraf-a100-sxm4-mig-v12.xml"),
    )
    findings = json.loads(result.stdout)["findings"]
    conflict = next(f for f in findings if f["check_id"] == "input.conflicting-driver")
    assert "515.105.01" in conflict["evidence"] and "535.54.03" in conflict["evidence"]


def test_report_from_stdin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envkit", "report", "--json", "--from", "-"],
        input=(SMI / "doc-centos-rtx4090-550-table.txt").read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    nvml = json.loads(done.stdout)["nvml"]
    assert (nvml["driver_version"], nvml["cuda_driver_version"]) == ("550.120", "12.4")


def test_unrecognised_file_names_the_kinds_envkit_reads(tmp_path: Path) -> None:
    note = tmp_path / "notes.xml"  # the name says XML; the content decides
    note.write_text("just some words\n", encoding="utf-8")
    result = envkit("doctor", "--from", str(note))
    assert_one_line_usage_error(
        result, "notes.xml", "nvidia-smi -q -x", "pip freeze", "conda env export"
    )


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.xml"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GB that take no disk
    result = envkit("validate", "--from", str(huge))
    assert_one_line_usage_error(result, "huge.xml", "2,048 MB", "up to 64 MB")


def test_truncated_xml_warns_where_it_stopped(tmp_path: Path) -> None:
    text = (SMI / "telegraf-tesla-t4-v11.xml").read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index("<temperature>")], encoding="utf-8")
    result = envkit("validate", "--from", str(cut), "--json")
    assert "warning" in result.stderr and "line" in result.stderr
    verdicts = _verdicts(result.stdout)
    assert verdicts[("gpu.temperature", 0)] == "skip"
    assert verdicts[("gpu.ecc-mode", 0)] == "pass"


def test_from_does_not_mix_with_the_default_tier() -> None:
    result = envkit(
        "validate", "--tier", "default", "--from", str(SMI / "telegraf-tesla-t4-v11.xml")
    )
    assert_one_line_usage_error(result, "quick tier")


def test_validate_from_a_real_nvml_recording_of_a_failure() -> None:
    recording = Path(__file__).parent / "fixtures" / "nvml" / "driver-not-loaded.json"
    result = envkit("validate", "--from", str(recording), "--json")
    assert result.returncode == 1
    assert "nvml-driver-not-loaded" in result.stdout


def test_validate_from_blackwell_fails_on_ecc_off() -> None:
    result = envkit(
        "validate", "--from", str(SMI / "telegraf-rtx-pro-6000-blackwell-v13.xml"), "--json"
    )
    assert result.returncode == 1
    verdicts = _verdicts(result.stdout)
    assert verdicts[("gpu.ecc-mode", 0)] == "fail"
    assert verdicts[("gpu.row-remap", 0)] == "pass"
    assert verdicts[("gpu.pcie-link", 0)] == "warn"  # a Gen4 slot for a Gen5 GPU


def test_list_checks_names_the_input_checks() -> None:
    listed = envkit("doctor", "--list-checks").stdout
    for check in ("input.not-checked", "input.conflicting-driver", "input.truncated"):
        assert check in listed
