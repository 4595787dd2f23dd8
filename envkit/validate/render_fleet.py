"""envkit fleet summarize's outputs: the JSON envelope and the text view of a FleetSummary."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from typing import Any

from rich.console import Console
from rich.text import Text

from envkit import __version__
from envkit.envelope import FLEET, envelope
from envkit.validate.fleet import (
    FileProblem,
    FleetSummary,
    NodeRow,
    Outlier,
)
from envkit.validate.model import Verdict

_CELL = {Verdict.PASS: "pass", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}
NOT_RUN = "-"


def fleet_envelope(summary: FleetSummary) -> dict[str, Any]:
    return {
        **envelope(FLEET),
        "exit_status": summary.exit_status,
        "counts": {
            "nodes": len(summary.nodes),
            **{verdict.value: summary.count(verdict) for verdict in Verdict},
            "drain": len(summary.drain),
            "outliers": len(summary.outliers),
            "problems": len(summary.problems),
        },
        "check_ids": list(summary.check_ids),
        "nodes": [_node_json(row) for row in summary.nodes],
        "drain": [
            {"node": e.node, "reasons": list(e.reasons), "reason": e.reason} for e in summary.drain
        ],
        "outliers": [_outlier_json(outlier) for outlier in summary.outliers],
        "outlier_fraction": summary.outlier_fraction,
        "problems": [_problem_json(problem) for problem in summary.problems],
        "missing_nodes": list(summary.missing_nodes),
        "envkit_versions": summary.envkit_versions,
    }


def fleet_json(summary: FleetSummary) -> str:
    return json.dumps(fleet_envelope(summary), indent=2, ensure_ascii=False) + "\n"


def _node_json(row: NodeRow) -> dict[str, Any]:
    return {
        "node": row.node,
        "source": row.source,
        "verdict": row.verdict.value,
        "envkit_version": row.envkit_version,
        "tier": row.tier,
        "gpu_models": list(row.gpu_models),
        "checks": {check_id: verdict.value for check_id, verdict in row.cells},
    }


def _outlier_json(outlier: Outlier) -> dict[str, Any]:
    return {
        "node": outlier.node,
        "gpu_index": outlier.gpu_index,
        "check_id": outlier.check_id,
        "group": outlier.group,
        "measured": outlier.measured,
        "median": outlier.median,
        "unit": outlier.unit,
        "shortfall": round(outlier.shortfall, 4),
        "group_size": outlier.group_size,
    }


def _problem_json(problem: FileProblem) -> dict[str, Any]:
    return {
        "path": problem.path,
        "code": problem.code,
        "message": problem.message,
        "version": problem.version,
    }


TABLE_MAX_COLUMNS = 100
"""The node table never gets wider than this, whatever the terminal."""


def print_fleet(console: Console, summary: FleetSummary) -> None:
    width = min(console.width, TABLE_MAX_COLUMNS)
    for line in fleet_lines(summary, width):
        style = "bold" if line and not line.startswith(" ") else None
        for part in _hanging(line, console.width):
            console.print(Text(part, style=style or ""), soft_wrap=True)


def _hanging(line: str, width: int) -> list[str]:
    """``line`` wrapped at spaces, continuation lines indented two past its own indent."""
    if len(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.wrap(
        line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    ) or [line]


def fleet_lines(summary: FleetSummary, width: int = TABLE_MAX_COLUMNS) -> list[str]:
    """The whole text view, as plain lines: table, drain list, outliers, problems, verdict."""
    lines = [f"envkit fleet summary · {_nodes_phrase(len(summary.nodes))}", ""]
    lines += matrix_lines(summary, width)
    for title, body in (
        ("Drain", [f"  {e.node}  {e.reason}" for e in summary.drain]),
        ("Outliers", [f"  {_outlier_text(o)}" for o in summary.outliers]),
        ("Unusable files", [f"  {p.message}" for p in summary.problems]),
        ("envkit versions", _version_lines(summary)),
    ):
        if body:
            lines += ["", f"{title} ({len(body)})" if title != "envkit versions" else title, *body]
    return [*lines, "", fleet_summary_line(summary)]


def matrix_lines(summary: FleetSummary, width: int = TABLE_MAX_COLUMNS) -> list[str]:
    """Nodes x checks; checks that passed on every node are counted, not shown. Headed by the
    check ids where that fits ``width``, else by numbers and a key; stacked (a node, then its
    checks that did not pass) where even that does not fit."""
    if not summary.nodes:
        return ["No readable report."]
    shown = [cid for cid in summary.check_ids if not _passed_everywhere(summary, cid)]
    hidden = len(summary.check_ids) - len(shown)
    note = f"  ({_checks_phrase(hidden)} passed on every node, not shown)" if hidden else None
    rows = [
        [row.node, row.verdict.value.upper(), *(_cell(row.cell(cid)) for cid in shown)]
        for row in summary.nodes
    ]
    table = _table(["node", "verdict", *shown], rows)
    if max(map(len, table)) > width:
        numbers = [str(number) for number in range(1, len(shown) + 1)]
        table = _table(["node", "verdict", *numbers], rows)
        table += [f"  {number}  {cid}" for number, cid in zip(numbers, shown, strict=True)]
        if max(map(len, table)) > width:
            table = _stacked(summary, shown)
    return [*table, *([note] if note else [])]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return [
        "  " + "  ".join(t.ljust(w) for t, w in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    ]


def _stacked(summary: FleetSummary, shown: list[str]) -> list[str]:
    lines = []
    for row in summary.nodes:
        lines.append(f"  {row.node}  {row.verdict.value.upper()}")
        for cid in shown:
            verdict = row.cell(cid)
            if verdict is not Verdict.PASS:
                lines.append(f"    {_cell(verdict):4}  {cid}")
    return lines


def _passed_everywhere(summary: FleetSummary, check_id: str) -> bool:
    return all(row.cell(check_id) is Verdict.PASS for row in summary.nodes)


def _cell(verdict: Verdict | None) -> str:
    return NOT_RUN if verdict is None else _CELL[verdict]


def _outlier_text(outlier: Outlier) -> str:
    where = outlier.node if outlier.gpu_index is None else f"{outlier.node} GPU {outlier.gpu_index}"
    return (
        f"{where}  {outlier.check_id}  {outlier.measured:.4g} {outlier.unit}, "
        f"{outlier.shortfall:.0%} below the median {outlier.median:.4g} {outlier.unit} "
        f"of {outlier.group_size} on {outlier.group}"
    )


def _version_lines(summary: FleetSummary) -> list[str]:
    versions = summary.envkit_versions
    if len(versions) <= 1 and all(version == __version__ for version in versions):
        return []
    return [
        f"  {version}: {_nodes_phrase(len(nodes))}"
        + (" (this envkit)" if version == __version__ else "")
        for version, nodes in sorted(versions.items())
    ]


def fleet_summary_line(summary: FleetSummary) -> str:
    verdict = "FAIL" if summary.exit_status else "PASS"
    counts = Counter(row.verdict for row in summary.nodes)
    parts = [
        f"Fleet: {verdict}",
        f"{_nodes_phrase(len(summary.nodes))}: {counts[Verdict.PASS]} pass, "
        f"{counts[Verdict.WARN]} warn, {counts[Verdict.FAIL]} fail",
        f"{len(summary.drain)} to drain",
        f"{len(summary.outliers)} outlier{'s' if len(summary.outliers) != 1 else ''}",
        f"{len(summary.problems)} unusable file{'s' if len(summary.problems) != 1 else ''}",
    ]
    return " · ".join(parts) + f" (exit {summary.exit_status})"


def _nodes_phrase(count: int) -> str:
    return f"{count} node" if count == 1 else f"{count} nodes"


def _checks_phrase(count: int) -> str:
    return f"{count} check" if count == 1 else f"{count} checks"
