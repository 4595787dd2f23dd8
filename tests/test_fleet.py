"""`envkit fleet summarize`: many nodes' reports, written to files as `envkit validate --json`
writes them, read back into one view. Reports are SYNTHETIC; the broken files are real files.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from envkit.envelope import FLEET
from envkit.schema import schema_path
from envkit.validate.fleet import (
    FleetSummary,
    drain_reasons,
    find_outliers,
    natural_key,
    summarize,
)
from envkit.validate.model import CheckResult, ValidationReport, Verdict
from envkit.validate.render_fleet import fleet_json, print_fleet
from envkit.validate.report_json import validation_json
from tests.fixtures.validate.synthetic import (
    A100,
    gemm,
    healthy_results,
    node_report,
    skipped_only,
)

GEMM = {  # node -> BF16 TFLOP/s per GPU; gpu-node-3 GPU 0 is 15 % slow
    "gpu-node-1": (712.0, 708.0),
    "gpu-node-2": (705.0, 710.0),
    "gpu-node-3": (600.0, 709.0),
    "gpu-node-10": (711.0, 706.0),
}


def write(folder: Path, report: ValidationReport, name: str | None = None) -> Path:
    path = folder / (name or f"{report.node}.json")
    path.write_text(validation_json(report))
    return path


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    for node, tflops in GEMM.items():
        write(tmp_path, node_report(node, healthy_results(tflops)))
    write(tmp_path, node_report("gpu-node-4"))  # fails ECC on GPU 1, warns
    write(tmp_path, node_report("gpu-node-5", skipped_only()))
    (tmp_path / "truncated.json").write_text(validation_json(node_report("gpu-node-6"))[:300])
    (tmp_path / "doctor.json").write_text('{"envkit_doctor_version": "1", "findings": []}')
    (tmp_path / "future.json").write_text('{"schema": "envkit.validate/3", "node": "gpu-node-7"}')
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "notes.txt").write_text("not a report, not *.json: ignored")
    return tmp_path


def rendered(summary: FleetSummary) -> str:
    buffer = io.StringIO()
    print_fleet(Console(file=buffer, width=200, color_system=None, highlight=False), summary)
    return buffer.getvalue()


def test_nodes_are_read_and_sorted_naturally(fleet_dir: Path) -> None:
    summary = summarize([fleet_dir])
    assert [row.node for row in summary.nodes] == [
        "gpu-node-1",
        "gpu-node-2",
        "gpu-node-3",
        "gpu-node-4",
        "gpu-node-5",
        "gpu-node-10",
    ]


def test_matrix_holds_the_worst_verdict_per_check_per_node(fleet_dir: Path) -> None:
    rows = {row.node: row for row in summarize([fleet_dir]).nodes}
    failing = rows["gpu-node-4"]
    assert failing.verdict is Verdict.FAIL
    assert failing.cell("gpu.ecc-uncorrected") is Verdict.FAIL  # GPU 0 pass, GPU 1 fail
    assert failing.cell("perf.gemm-bf16") is Verdict.WARN  # GPU 0 pass, GPU 1 warn
    assert failing.cell("gpu.row-remap") is Verdict.SKIP
    assert rows["gpu-node-1"].cell("gpu.row-remap") is None  # not run there
    assert rows["gpu-node-5"].verdict is Verdict.FAIL  # all skipped


def test_drain_list_with_reasons(fleet_dir: Path) -> None:
    summary = summarize([fleet_dir], expected_nodes=["gpu-node-1", "gpu-node-11"])
    drain = {entry.node: entry.reason for entry in summary.drain}
    assert drain == {
        "gpu-node-4": "envkit: gpu.ecc-uncorrected (GPU 1)",
        "gpu-node-5": "envkit: every check was skipped",
        "gpu-node-11": "envkit: no report",
    }
    assert summary.missing_nodes == ("gpu-node-11",)


def test_drain_reasons_name_every_failed_check_and_gpu() -> None:
    results = (
        CheckResult("node.gpu-count", Verdict.FAIL, "7 GPUs, expected 8", "NVML counts 7"),
        CheckResult("gpu.ecc-uncorrected", Verdict.FAIL, "ECC", "2", 3),
        CheckResult("gpu.ecc-uncorrected", Verdict.FAIL, "ECC", "1", 5),
        CheckResult("gpu.row-remap", Verdict.WARN, "pending", "1", 5),
    )
    assert drain_reasons(node_report(results=results)) == (
        "node.gpu-count",
        "gpu.ecc-uncorrected (GPUs 3,5)",
    )
    assert drain_reasons(node_report(results=healthy_results())) == ()
    assert drain_reasons(node_report(results=())) == ("no check ran",)


def test_outliers_per_gpu_model_against_the_median(fleet_dir: Path) -> None:
    summary = summarize([fleet_dir])
    found = [(o.node, o.gpu_index, o.check_id) for o in summary.outliers]
    # gpu-node-3 GPU 0 (600) and gpu-node-4 GPU 1 (601, also warned) vs a median near 708
    assert found == [("gpu-node-3", 0, "perf.gemm-bf16"), ("gpu-node-4", 1, "perf.gemm-bf16")]
    outlier = summary.outliers[0]
    assert outlier.group == "NVIDIA H100 80GB HBM3" and outlier.unit == "TFLOP/s"
    assert outlier.group_size == 10
    assert outlier.median == pytest.approx(708.5)
    assert outlier.shortfall == pytest.approx(1 - 600 / 708.5)


def test_outliers_do_not_mix_gpu_models() -> None:
    h100 = [node_report(f"h{i}", healthy_results((700.0,)), gpus=1) for i in range(3)]
    a100 = [
        node_report(f"a{i}", healthy_results((v,)), gpus=1, gpu_name=A100)
        for i, v in enumerate((250.0, 248.0, 252.0))
    ]
    assert find_outliers([*h100, *a100]) == ()  # A100s are not slow H100s


def test_outliers_need_three_results_and_ignore_non_rates() -> None:
    two = [node_report(f"n{i}", healthy_results((v,)), gpus=1) for i, v in enumerate((700, 400))]
    assert find_outliers(two) == ()
    ecc = CheckResult("gpu.ecc-corrected", Verdict.PASS, "ok", "", 0, measured=1000, unit="errors")
    zero = dataclasses.replace(ecc, measured=0.0)
    reports = [node_report(f"n{i}", (r,), gpus=1) for i, r in enumerate((ecc, ecc, zero))]
    assert find_outliers(reports) == ()  # fewer errors is not slower


def test_outlier_threshold_is_a_parameter() -> None:
    reports = [node_report(f"n{i}", (gemm(0, v),), gpus=1) for i, v in enumerate((700, 700, 650))]
    assert find_outliers(reports) == ()  # 7 % below
    assert [o.node for o in find_outliers(reports, 0.05)] == ["n2"]


def test_problems_are_recorded_not_fatal(fleet_dir: Path) -> None:
    summary = summarize([fleet_dir, fleet_dir / "gone.json"])
    problems = {Path(p.path).name: p for p in summary.problems}
    assert {name: p.code for name, p in problems.items()} == {
        "truncated.json": "not-json",
        "doctor.json": "not-validate-report",
        "future.json": "other-version",
        "binary.json": "not-json",
        "gone.json": "not-found",
    }
    assert problems["future.json"].version == "3"
    assert all("\n" not in p.message for p in summary.problems)
    assert len(summary.nodes) == 6


def test_duplicate_node_keeps_the_latest_report(tmp_path: Path) -> None:
    old = node_report("n1", started_at="2025-06-01T09:00:00+00:00")
    new = node_report("n1", healthy_results(), started_at="2025-06-01T10:00:00+00:00")
    write(tmp_path, new, "b.json")
    write(tmp_path, old, "a.json")
    summary = summarize([tmp_path])
    assert [(row.node, row.verdict) for row in summary.nodes] == [("n1", Verdict.PASS)]
    assert [(Path(p.path).name, p.code) for p in summary.problems] == [("a.json", "duplicate")]


def test_a_folder_and_its_files_count_once(tmp_path: Path) -> None:
    path = write(tmp_path, node_report("n1", healthy_results()))
    summary = summarize([tmp_path, path])
    assert len(summary.nodes) == 1 and summary.problems == ()


def test_exit_status(tmp_path: Path) -> None:
    write(tmp_path, node_report("n1", healthy_results()))
    assert summarize([tmp_path]).exit_status == 0
    assert summarize([tmp_path], expected_nodes=["n2"]).exit_status == 1
    assert summarize([tmp_path / "nothing-here"]).exit_status == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    assert summarize([empty]).exit_status == 1  # no node read is no pass
    (tmp_path / "bad.json").write_text("{")
    assert summarize([tmp_path]).exit_status == 1  # a broken file may be a failed node


def test_fleet_json_and_reading_it_back_is_ignored(fleet_dir: Path) -> None:
    summary = summarize([fleet_dir], expected_nodes=["gpu-node-11"])
    document = json.loads(fleet_json(summary))
    assert document["schema"] == "envkit.fleet/2"
    assert list(document)[:2] == ["schema", "envkit_version"]
    jsonschema.validate(document, json.loads(schema_path(FLEET).read_text()))
    assert document["exit_status"] == 1
    assert document["counts"] == {
        "nodes": 6,
        "pass": 4,
        "warn": 0,
        "fail": 2,
        "skip": 0,
        "drain": 3,
        "outliers": 2,
        "problems": 4,
    }
    node4 = next(n for n in document["nodes"] if n["node"] == "gpu-node-4")
    assert node4["checks"]["gpu.ecc-uncorrected"] == "fail"
    assert node4["source"].endswith("gpu-node-4.json")
    assert {d["node"]: d["reasons"] for d in document["drain"]}["gpu-node-11"] == ["no report"]
    assert document["outliers"][0]["shortfall"] == pytest.approx(0.1531, abs=1e-4)
    # the summary written next to the reports is not taken for a broken report next time
    (fleet_dir / "fleet.json").write_text(fleet_json(summary))
    again = summarize([fleet_dir], expected_nodes=["gpu-node-11"])
    assert again.problems == summary.problems


V1_FIXTURES = Path(__file__).parent / "fixtures"


def test_version_1_documents_read_as_before(tmp_path: Path) -> None:
    """A version-1 validate report is summarised with the version-2 ones; a version-1 fleet
    summary (``envkit_fleet_version``, committed as written then) is skipped, not a problem."""
    v1_report = V1_FIXTURES / "validate" / "synthetic-node-v1.json"
    v1_summary = V1_FIXTURES / "fleet" / "fleet-v1.json"
    (tmp_path / "old-node.json").write_text(v1_report.read_text())
    (tmp_path / "fleet-v1.json").write_text(v1_summary.read_text())
    write(tmp_path, node_report("gpu-node-2", healthy_results()))
    summary = summarize([tmp_path])
    assert summary.problems == ()
    assert [(row.node, row.verdict) for row in summary.nodes] == [
        ("gpu-node-2", Verdict.PASS),
        ("gpu-node-07", Verdict.FAIL),
    ]


def test_text_view(fleet_dir: Path) -> None:
    text = rendered(summarize([fleet_dir], expected_nodes=["gpu-node-11"]))
    lines = text.splitlines()
    assert lines[0] == "envkit fleet summary · 6 nodes"
    # the check ids are too wide for 100 columns: numbered, with a key under the table
    key = dict(line.split() for line in lines if re.fullmatch(r"  \d+  \S+", line))
    header = [key.get(word, word) for word in lines[2].split()]
    assert header[:2] == ["node", "verdict"]
    # every check is shown: none passed on every node (gpu-node-5 skipped them)
    assert header[2:] == list(summarize([fleet_dir]).check_ids)
    row = next(line for line in lines if line.startswith("  gpu-node-4 "))
    cells = dict(zip(header, row.split(), strict=True))
    assert cells["verdict"] == "FAIL" and cells["gpu.ecc-uncorrected"] == "FAIL"
    assert "passed on every node" not in text
    assert next(x for x in lines if x.startswith("  gpu-node-1 ")).split()[-1] == "-"  # not run
    assert "  gpu-node-4  envkit: gpu.ecc-uncorrected (GPU 1)" in lines
    assert any("gpu-node-3 GPU 0  perf.gemm-bf16  600 TFLOP/s, 15% below" in x for x in lines)
    assert "Unusable files (4)" in lines
    assert lines[-1] == (
        "Fleet: FAIL · 6 nodes: 4 pass, 0 warn, 2 fail · 3 to drain · 2 outliers · "
        "4 unusable files (exit 1)"
    )


def test_text_view_of_a_healthy_fleet(tmp_path: Path) -> None:
    for node, tflops in GEMM.items():
        if node != "gpu-node-3":
            write(tmp_path, node_report(node, healthy_results(tflops)))
    text = rendered(summarize([tmp_path]))
    assert "Drain" not in text and "Outliers" not in text and "Unusable" not in text
    assert "(4 checks passed on every node, not shown)" in text
    assert text.splitlines()[-1].startswith("Fleet: PASS · 3 nodes: 3 pass")


def test_text_view_lists_other_envkit_versions(tmp_path: Path) -> None:
    write(tmp_path, node_report("n1", healthy_results()))
    write(tmp_path, node_report("n2", healthy_results(), envkit_version="0.0.9"))
    text = rendered(summarize([tmp_path]))
    assert "envkit versions\n  0.0.9: 1 node\n  0.1.0: 1 node (this envkit)\n" in text


def test_no_readable_report(tmp_path: Path) -> None:
    text = rendered(summarize([tmp_path]))
    assert "No readable report." in text


def test_natural_key() -> None:
    names = ["n10", "n2", "n1", "a", "n2b"]
    assert sorted(names, key=natural_key) == ["a", "n1", "n2", "n2b", "n10"]
