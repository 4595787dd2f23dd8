"""`envkit validate`'s text, compared with golden text. ENVKIT_UPDATE_GOLDEN=1 rewrites the files.

The reports are SYNTHETIC (tests/fixtures/validate/synthetic.py): typed in, not measured.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from envkit.validate.model import CheckResult, ValidationReport, Verdict
from envkit.validate.render import check_groups, print_validation, summary_line
from tests.fixtures.validate.synthetic import (
    healthy_results,
    mixed_results,
    node_report,
    skipped_only,
)

GOLDEN = Path(__file__).parent / "golden"
MARK_LINE = re.compile(r"^  \[(PASS|WARN|FAIL|SKIP)\] (\S+)")


def rendered(report: ValidationReport, *, verbose: bool = False, width: int = 100) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    print_validation(console, report, verbose=verbose)
    return buffer.getvalue()


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ENVKIT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_mixed_golden() -> None:
    assert_golden("validate-mixed.txt", rendered(node_report()))


def test_mixed_verbose_golden() -> None:
    assert_golden("validate-mixed-verbose.txt", rendered(node_report(), verbose=True))


def test_healthy_golden() -> None:
    text = rendered(node_report(results=healthy_results()))
    assert_golden("validate-healthy.txt", text)
    assert "[FAIL]" not in text and "[WARN]" not in text
    assert "Run with -v" in text  # the passes' evidence is there to be seen


def test_all_skipped_golden_fails_the_node() -> None:
    text = rendered(node_report(results=skipped_only()))
    assert_golden("validate-all-skipped.txt", text)
    assert "\nVerdict: FAIL · 0 failed, 0 warned, 2 skipped" in text  # wrapped at 100 columns
    assert "every check was skipped" in text


def test_one_mark_line_per_check_in_group_order() -> None:
    report = node_report()
    lines = [MARK_LINE.match(line) for line in rendered(report, width=60).splitlines()]
    marks = [(m.group(1), m.group(2)) for m in lines if m]
    expected = [
        (result.verdict.value.upper(), result.check_id)
        for _, results in check_groups(report)
        for result in results
    ]
    assert marks == expected
    assert len(marks) == len(report.results)


def test_node_checks_come_before_gpus_and_gpus_in_index_order() -> None:
    results = tuple(reversed(mixed_results()))  # GPU 1 first, node-level last
    titles = [title for title, _ in check_groups(node_report(results=results))]
    assert titles[0] == "Node"
    assert titles[1].startswith("GPU 0 · ") and titles[2].startswith("GPU 1 · ")


def test_result_for_an_unlisted_gpu_still_shows() -> None:
    stray = CheckResult("gpu.ecc-uncorrected", Verdict.FAIL, "GPU 5 lost", "gone", 5)
    text = rendered(node_report(results=(stray,), gpus=1))
    assert "\nGPU 5\n  [FAIL] gpu.ecc-uncorrected  GPU 5 lost\n" in text


def test_pass_evidence_only_with_verbose() -> None:
    report = node_report(results=healthy_results())
    assert "NVML counts them" not in rendered(report)
    assert "NVML counts them" in rendered(report, verbose=True)


def test_failure_evidence_and_action_always() -> None:
    text = rendered(node_report())
    assert "volatile DRAM uncorrected 2" in text
    assert "Action: Drain the node, reset GPU 1" in text


def test_text_from_the_report_is_not_markup() -> None:
    odd = CheckResult("node.odd", Verdict.FAIL, "[bold]not bold[/bold] [red]", "[link=x]y[/link]")
    text = rendered(node_report(results=(odd,)))
    assert "[bold]not bold[/bold] [red]" in text
    assert "[link=x]y[/link]" in text


def test_no_results_is_said_and_fails() -> None:
    text = rendered(node_report(results=()))
    assert "No check ran." in text
    assert "no check ran, so nothing proves gpu-node-07 usable (exit 1)" in text


@pytest.mark.parametrize(
    ("results", "start", "end"),
    [
        (healthy_results(), "Verdict: PASS", "gpu-node-07 is fit to use (exit 0)"),
        (mixed_results()[:3], "Verdict: WARN", "usable; read the warnings (exit 0)"),
        (mixed_results(), "Verdict: FAIL", "gpu-node-07 must not be used (exit 1)"),
    ],
)
def test_summary_line(results: tuple[CheckResult, ...], start: str, end: str) -> None:
    line = summary_line(node_report(results=results))
    assert line.startswith(start) and line.endswith(end)


def test_narrow_console_wraps_without_losing_words() -> None:
    report = node_report()
    text = rendered(report, width=40)
    words = " ".join(text.split())
    for result in report.results:
        assert " ".join(result.title.split()) in words


def test_missing_gpu_identity_fields() -> None:
    bare = dataclasses.replace(node_report().gpus[0], name=None, pci_bus_id=None)
    report = dataclasses.replace(node_report(), gpus=(bare,), driver_version=None)
    text = rendered(report)
    assert "Driver unknown · 1× unnamed GPU" in text  # noqa: RUF001 -- printed as is
    assert "\nGPU 0 · 80 GiB\n" in text
