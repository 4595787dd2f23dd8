"""JUnit XML for CI systems: one testsuite per node, one testcase per check and GPU, the node's
verdict as properties and system-out; fail is a failure, skip is skipped, warn passes but shows.
Reports are SYNTHETIC.
"""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from envkit.validate.junit import validation_junit
from envkit.validate.model import CheckResult, Verdict
from envkit.validate.report_json import summary_counts
from tests.fixtures.validate.synthetic import healthy_results, node_report, skipped_only
from tests.test_cli import envkit


def parsed(xml: str) -> ET.Element:
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(xml.encode("utf-8"))  # noqa: S314 -- our own output


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    found = {case.get("name", ""): case for case in suite.iter("testcase")}
    assert len(found) == len(suite.findall("testcase")), "testcase names must be unique per node"
    return found


def test_structure_one_suite_per_node_one_case_per_check_and_gpu() -> None:
    reports = [node_report("gpu-a"), node_report("gpu-b", healthy_results())]
    root = parsed(validation_junit(reports))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["gpu-a", "gpu-b"]
    assert [s.get("hostname") for s in suites] == ["gpu-a", "gpu-b"]
    for suite, report in zip(suites, reports, strict=True):
        assert len(suite.findall("testcase")) == len(report.results)
        assert all(case.get("classname") == report.node for case in suite.iter("testcase"))
    assert sorted(cases(suites[0])) == sorted(
        [
            "node.gpu-count",
            "node.driver-version",
            "node.xid-history",
            "gpu.ecc-uncorrected[gpu 0]",
            "gpu.row-remap[gpu 0]",
            "perf.gemm-bf16[gpu 0]",
            "gpu.ecc-uncorrected[gpu 1]",
            "gpu.row-remap[gpu 1]",
            "perf.gemm-bf16[gpu 1]",
        ]
    )


def test_fail_is_a_failure_with_evidence_and_action() -> None:
    suite = parsed(validation_junit([node_report()])).find("testsuite")
    assert suite is not None
    failure = cases(suite)["gpu.ecc-uncorrected[gpu 1]"].find("failure")
    assert failure is not None
    assert failure.get("type") == "fail"
    assert failure.get("message") == '2 uncorrected ECC errors since boot <DRAM> & "volatile"'
    assert "volatile DRAM uncorrected 2" in (failure.text or "")
    assert "Action: Drain the node, reset GPU 1" in (failure.text or "")


def test_skip_is_skipped_with_the_reason() -> None:
    suite = parsed(validation_junit([node_report()])).find("testsuite")
    assert suite is not None
    skipped = cases(suite)["gpu.row-remap[gpu 0]"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == (
        "Row remapping not read: nvmlDeviceGetRemappedRows: Not Supported on this GPU"
    )


def test_warn_passes_but_shows() -> None:
    suite = parsed(validation_junit([node_report()])).find("testsuite")
    assert suite is not None
    warned = cases(suite)["perf.gemm-bf16[gpu 1]"]
    assert warned.find("failure") is None and warned.find("skipped") is None
    assert (warned.findtext("system-out") or "").startswith("WARN: BF16 GEMM 601 TFLOP/s")
    prop = warned.find("properties/property")
    assert prop is not None and (prop.get("name"), prop.get("value")) == ("verdict", "warn")


def test_warn_as_failure_on_request() -> None:
    xml = validation_junit([node_report()], warn_as_failure=True)
    suite = parsed(xml).find("testsuite")
    assert suite is not None
    failure = cases(suite)["perf.gemm-bf16[gpu 1]"].find("failure")
    assert failure is not None and failure.get("type") == "warning"


def test_counts_on_suites_and_root() -> None:
    root = parsed(validation_junit([node_report("a"), node_report("b", healthy_results())]))
    a, b = root.findall("testsuite")
    # a: 9 checks; failures: ECC on GPU 1; skipped: 2 row-remap (envkit's own counts)
    assert (a.get("tests"), a.get("failures"), a.get("skipped"), a.get("errors")) == (
        "9",
        "1",
        "2",
        "0",
    )
    assert (b.get("tests"), b.get("failures"), b.get("skipped")) == ("6", "0", "0")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("15", "1", "2")
    assert a.get("time") == "74.250" and root.get("time") == "148.500"
    assert a.get("timestamp") == "2025-06-01T10:00:00+00:00"


@pytest.mark.parametrize("name", ["a", "b"])
def test_counts_are_envkit_s_own(name: str) -> None:
    report = node_report(name, healthy_results() if name == "b" else None)
    suite = parsed(validation_junit([report])).find("testsuite")
    assert suite is not None
    counts = summary_counts(report)
    assert int(suite.get("tests") or -1) == len(report.results)
    assert int(suite.get("failures") or -1) == counts["fail"]
    assert int(suite.get("skipped") or -1) == counts["skip"]


def test_the_node_verdict_is_a_property_and_system_out_not_a_case() -> None:
    for results, fails in ((healthy_results(), False), (skipped_only(), True), ((), True)):
        report = node_report(results=results)
        suite = parsed(validation_junit([report])).find("testsuite")
        assert suite is not None
        props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
        assert props["exit_status"] == str(int(fails)) == str(report.exit_status)
        assert props["verdict"] == ("fail" if fails else "pass")
        assert len(suite.findall("testcase")) == len(results)
        assert int(suite.get("failures") or -1) == sum(r.verdict is Verdict.FAIL for r in results)
    suite = parsed(validation_junit([node_report(results=skipped_only())])).find("testsuite")
    assert suite is not None
    assert "FAIL (exit 1): not proven usable" in (suite.findtext("system-out") or "")
    suite = parsed(validation_junit([node_report()])).find("testsuite")
    assert suite is not None
    assert "must not be used: failed gpu.ecc-uncorrected[gpu 1]" in (
        suite.findtext("system-out") or ""
    )


def test_each_case_has_the_check_s_measured_time() -> None:
    timed = tuple(
        dataclasses.replace(r, duration_s=0.000125 * (i + 1))
        for i, r in enumerate(node_report().results)
    )
    suite = parsed(validation_junit([node_report(results=timed)])).find("testsuite")
    assert suite is not None
    times = [case.get("time") for case in suite.findall("testcase")]
    assert times == [f"{r.duration_s:.6f}" for r in timed]
    # a report written before envkit measured durations: no made-up 0
    old = parsed(validation_junit([node_report()])).find("testsuite")
    assert old is not None
    assert all(case.get("time") is None for case in old.findall("testcase"))


def test_properties_of_a_suite() -> None:
    suite = parsed(validation_junit([node_report()])).find("testsuite")
    assert suite is not None
    props = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert props["verdict"] == "fail" and props["exit_status"] == "1"
    assert props["tier"] == "default" and props["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert props["gpu_count"] == "2" and props["driver_version"] == "550.54.15"


def test_everything_is_escaped_and_the_xml_stays_valid() -> None:
    nasty = "<x a='1'>&amp; \"q\" ]]> \x1b[31mred\x1b[0m nul\x00 bell\x07 tab\t é ✓ \U0001f525"
    result = CheckResult(nasty, Verdict.FAIL, nasty, nasty, 0, action=nasty)
    skip = CheckResult("s", Verdict.SKIP, nasty, nasty, None)
    warn = CheckResult("w", Verdict.WARN, nasty, nasty, None, action=nasty)
    report = dataclasses.replace(
        node_report(results=(result, skip, warn)), node=nasty, started_at=nasty
    )
    root = parsed(validation_junit([report]))
    suite = root.find("testsuite")
    assert suite is not None
    shown = "<x a='1'>&amp; \"q\" ]]> \\x1b[31mred\\x1b[0m nul\\x00 bell\\x07 tab\t é ✓ \U0001f525"
    assert suite.get("name") == shown
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == shown
    assert shown in (failure.text or "")


def test_no_reports_is_an_empty_but_valid_document() -> None:
    root = parsed(validation_junit([]))
    assert (root.get("tests"), root.get("failures")) == ("0", "0")


def test_a_live_run_times_every_case_and_counts_as_envkit_does(tmp_path: Path) -> None:
    """This machine has no GPU: node.nvml fails (its time is the NVML start that failed), node.xid
    reads the kernel log; the JUnit file counts one failure, as envkit's summary does."""
    report_file, junit_file = tmp_path / "r.json", tmp_path / "r.xml"
    result = envkit("validate", "--json", "-o", str(report_file), "--junit", str(junit_file))
    assert result.returncode == 1, result.stderr
    summary = json.loads(report_file.read_text())["summary"]
    suite = parsed(junit_file.read_text()).find("testsuite")
    assert suite is not None
    assert int(suite.get("failures") or -1) == summary["fail"] == 1
    assert int(suite.get("tests") or -1) == sum(summary.values())
    times = {case.get("name"): case.get("time") for case in suite.findall("testcase")}
    assert all(value is not None for value in times.values()), times
    assert float(times["node.nvml"] or 0) > 0
