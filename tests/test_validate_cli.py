"""`envkit validate` end to end: the orchestration on replayed NVML recordings and on this real
machine, the default tier measured for real on the CPU, and the command line."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from nvml_replay import ReplayNvml

from envkit.validate import ValidateOptions, validate
from envkit.validate.model import Expectations, Tier, Verdict
from envkit.validate.perf import CpuExpectations
from envkit.validate.report_json import load_validation
from envkit.validate.workloads import plan_cpu_workloads
from tests.envs import require_test_env
from tests.test_cli import assert_one_line_usage_error, envkit

HEALTH = Path(__file__).parent / "fixtures" / "nvml" / "health"


def _replay(name: str) -> ReplayNvml:
    recording: dict[str, Any] = json.loads((HEALTH / f"{name}.json").read_text())
    return ReplayNvml(recording)


def _verdicts(report: Any) -> dict[tuple[str, int | None], Verdict]:
    return {(r.check_id, r.gpu_index): r.verdict for r in report.results}


def test_healthy_h100_node_passes_the_quick_tier() -> None:
    options = ValidateOptions(
        python=sys.executable,
        expectations=Expectations(gpu_count=1, gpu_model="H100", memory_gib=80),
        node_name="gpu-node-07",
        read_kernel_log=False,
        ask_tensorflow=False,
    )
    report = validate(options, nvml=_replay("synthetic-h100-healthy"))
    assert report.node == "gpu-node-07"
    assert report.verdict is not Verdict.FAIL, [
        r for r in report.results if r.verdict is Verdict.FAIL
    ]
    assert report.exit_status == 0
    assert report.gpus[0].name == "NVIDIA H100 80GB HBM3"
    verdicts = _verdicts(report)
    assert verdicts[("node.gpu-count", None)] is Verdict.PASS
    assert verdicts[("gpu.memory", 0)] is Verdict.PASS


@pytest.mark.parametrize(
    ("recording", "check_id"),
    [
        ("synthetic-h100-ecc-errors", "gpu.ecc-uncorrected"),
        ("synthetic-h100-row-remap-failure", "gpu.row-remap"),
        ("synthetic-h100-hw-slowdown", "gpu.clock-events"),
        ("synthetic-h100-pcie-x8", "gpu.pcie-link"),
        ("synthetic-v100-retired-pages-pending", "gpu.retired-pages"),
    ],
)
def test_a_sick_gpu_fails_the_node(recording: str, check_id: str) -> None:
    options = ValidateOptions(python=sys.executable, read_kernel_log=False, ask_tensorflow=False)
    report = validate(options, nvml=_replay(recording))
    assert report.exit_status == 1
    assert _verdicts(report)[(check_id, 0)] is Verdict.FAIL


def test_expectations_that_the_node_does_not_meet() -> None:
    options = ValidateOptions(
        python=sys.executable,
        expectations=Expectations(gpu_count=8, gpu_model="H200"),
        read_kernel_log=False,
        ask_tensorflow=False,
    )
    report = validate(options, nvml=_replay("synthetic-h100-healthy"))
    verdicts = _verdicts(report)
    assert verdicts[("node.gpu-count", None)] is Verdict.FAIL
    assert verdicts[("gpu.model", 0)] is Verdict.FAIL


def test_this_machine_fails_because_nvml_cannot_start() -> None:
    report = validate(ValidateOptions(python=sys.executable, ask_tensorflow=False))
    assert _verdicts(report)[("node.nvml", None)] is Verdict.FAIL
    assert report.exit_status == 1


def test_default_tier_measures_the_cpu_for_real() -> None:
    python = require_test_env("tf")
    plan = plan_cpu_workloads(2, gemm_n=128, min_seconds=0.05, memory_bytes=4 * 1024 * 1024)
    # CPU figures far below what any CPU reaches: this test is about the pipeline, not the CPU.
    floor = CpuExpectations(
        bf16_tflops=0.001, fp32_tflops=0.001, memory_bandwidth_gbps=0.01, source="test floor"
    )
    options = ValidateOptions(
        tier=Tier.DEFAULT,
        python=python,
        ask_tensorflow=False,
        cpu_plan=plan,
        cpu_expectations=floor,
    )
    report = validate(options)
    verdicts = _verdicts(report)
    for check_id in ("perf.gemm-fp32", "perf.gemm-determinism", "dist.mirrored-step"):
        found = [v for (cid, _), v in verdicts.items() if cid == check_id]
        assert found and all(v is Verdict.PASS for v in found), (check_id, found)
    assert report.tier is Tier.DEFAULT


def test_cli_json_junit_and_exit_status(tmp_path: Path) -> None:
    out, junit = tmp_path / "node.json", tmp_path / "node.xml"
    result = envkit(
        "validate", "--json", "-o", str(out), "--junit", str(junit), "--node-name", "n1"
    )
    assert result.returncode == 1, result.stderr
    report = load_validation(out.read_text(), str(out))
    assert report.node == "n1"
    suite = ET.parse(junit).getroot()  # noqa: S314 -- the file this test just wrote
    failures = suite.findall(".//failure")
    assert any("node.nvml" in (case.get("name") or "") for case in suite.iter("testcase"))
    assert failures


def test_cli_text_and_expectations() -> None:
    result = envkit("validate", "--expect-gpus", "8", "--min-driver", "550.54.15")
    assert result.returncode == 1
    assert "[FAIL] node.nvml" in result.stdout


def test_cli_refuses_overwriting(tmp_path: Path) -> None:
    out = tmp_path / "node.json"
    out.write_text("keep me")
    assert_one_line_usage_error(envkit("validate", "--json", "-o", str(out)), "already exists")
    assert out.read_text() == "keep me"


def test_fleet_summarize_reports_broken_files_and_drains(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    for node in ("n1", "n2"):
        assert (
            envkit(
                "validate", "--json", "-o", str(reports / f"{node}.json"), "--node-name", node
            ).returncode
            == 1
        )
    (reports / "n3.json").write_text("{ truncated")
    result = envkit("fleet", "summarize", str(reports), "--json")
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    drained = {entry["node"] for entry in summary["drain"]}
    assert drained == {"n1", "n2"}
    assert any("n3.json" in problem["path"] for problem in summary["problems"])


def test_fleet_summarize_missing_paths() -> None:
    assert_one_line_usage_error(envkit("fleet", "summarize", "/no/such/reports"), "/no/such")
