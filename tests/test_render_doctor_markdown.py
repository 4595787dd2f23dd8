"""The Markdown for a GitHub issue, compared with golden text (ENVKIT_UPDATE_GOLDEN=1 rewrites).

SYNTHETIC findings and snapshot (tests/snapshots.py, tests/test_render_doctor.py)."""

from __future__ import annotations

import dataclasses
import json
import re

from envkit.model import Finding, Severity
from envkit.render.markdown import code, doctor_markdown, fenced
from tests.test_render_doctor import LONG_COMMAND, assert_golden, synthetic_report


def test_markdown_golden() -> None:
    assert_golden("doctor-markdown.md", doctor_markdown(synthetic_report()))


def test_no_findings_says_so() -> None:
    empty = dataclasses.replace(synthetic_report(), findings=())
    assert "No findings." in doctor_markdown(empty)
    assert doctor_markdown(empty).startswith("## envkit doctor: No issues found\n")


def test_fix_commands_are_whole_lines_in_a_sh_block() -> None:
    text = doctor_markdown(synthetic_report())
    assert f"```sh\n{LONG_COMMAND}\n```" in text


def test_details_block_holds_the_whole_snapshot_as_json() -> None:
    text = doctor_markdown(synthetic_report())
    found = re.search(r"<details>.*?```json\n(.*?)\n```\n\n</details>", text, re.DOTALL)
    assert found
    assert json.loads(found.group(1))["os"]["hostname"] == "gpu-box"


def test_data_cannot_break_out_of_code() -> None:
    assert code("a`b") == "``a`b``"
    assert fenced("x\n```\ny", "text").startswith("````text\n")
    finding = Finding("x.y", Severity.ERROR, "python", "<script> & [link](u)", "a | b")
    text = doctor_markdown(dataclasses.replace(synthetic_report(), findings=(finding,)))
    assert "&lt;script&gt; &amp; [link](u)" in text
    assert "<script>" not in text


def test_table_cells_escape_pipes() -> None:
    report = synthetic_report()
    python = dataclasses.replace(report.snapshot.python, executable="/opt/a|b/python")  # type: ignore[type-var]
    snapshot = dataclasses.replace(report.snapshot, python=python)
    text = doctor_markdown(dataclasses.replace(report, snapshot=snapshot))
    assert "| Python | `3.12.4` at `/opt/a\\|b/python` |" in text
