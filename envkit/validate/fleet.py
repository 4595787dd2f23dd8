"""Many nodes' `envkit validate --json` reports as one fleet view: `envkit fleet summarize`.

What it gives: a nodes x checks matrix (the worst verdict of each check on each node, over its
GPUs), the nodes to drain with the reasons (a failed check; a node whose checks were all skipped;
a node that was expected but sent no report), outliers across nodes and the files it could not
use. One unreadable file never stops the summary; it is listed, and it makes the exit status 1,
because a report that cannot be read may be a failed node's.

Outliers: a result whose unit is a rate (it ends in ``/s``: TFLOP/s, GB/s) is a throughput, where
more is better. Results of one check on one GPU model (node-level results: on one node's set of
GPU models) form a group; a result more than ``outlier_fraction`` below the group's median is an
outlier, once the group has at least :data:`MIN_OUTLIER_GROUP` results.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

from envkit.exit_codes import ExitCode
from envkit.records import record
from envkit.validate.model import CheckResult, ValidationReport, Verdict
from envkit.validate.report_json import ValidationFileError, load_validation

FLEET_SCHEMA_VERSION = "2"
FLEET_ENVELOPE_KEY = "envkit_fleet_version"
"""Version 1's key; from version 2 on, the envelope's ``schema`` names the fleet kind."""
DEFAULT_OUTLIER_FRACTION = 0.10
MIN_OUTLIER_GROUP = 3
MAX_REPORT_BYTES = 64 * 1024 * 1024


@record
class FileProblem:
    """A path that gave no usable report, and why, in one line."""

    path: str
    code: str
    """not-found, unreadable, not-json, not-validate-report, other-version, invalid, duplicate"""
    message: str
    version: str | None = None
    """For other-version: the envelope version the file has."""


@record
class NodeRow:
    node: str
    source: str
    verdict: Verdict
    envkit_version: str
    tier: str
    gpu_models: tuple[str, ...]
    cells: tuple[tuple[str, Verdict], ...]
    """(check id, worst verdict of that check on this node), in the fleet's check order."""

    def cell(self, check_id: str) -> Verdict | None:
        return next((verdict for cid, verdict in self.cells if cid == check_id), None)


@record
class DrainEntry:
    node: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        """One line for `scontrol update ... reason=`."""
        return "envkit: " + "; ".join(self.reasons)


@record
class Outlier:
    node: str
    gpu_index: int | None
    check_id: str
    group: str
    """The GPU model (or a node's models) the median was taken over."""
    measured: float
    median: float
    unit: str
    group_size: int

    @property
    def shortfall(self) -> float:
        """How far below the median, as a fraction of it."""
        return 1.0 - self.measured / self.median


@record
class FleetSummary:
    nodes: tuple[NodeRow, ...]
    check_ids: tuple[str, ...]
    drain: tuple[DrainEntry, ...]
    outliers: tuple[Outlier, ...]
    problems: tuple[FileProblem, ...]
    missing_nodes: tuple[str, ...]
    """Nodes that were expected (``expected_nodes``) but sent no readable report."""
    outlier_fraction: float = DEFAULT_OUTLIER_FRACTION

    @property
    def exit_status(self) -> int:
        """1 when a node must be drained, a file could not be used or no node was read."""
        return 1 if self.drain or self.problems or not self.nodes else 0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(self.exit_status)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for row in self.nodes if row.verdict is verdict)

    @property
    def envkit_versions(self) -> dict[str, list[str]]:
        """envkit version → nodes that wrote their report with it."""
        versions: dict[str, list[str]] = {}
        for row in self.nodes:
            versions.setdefault(row.envkit_version, []).append(row.node)
        return versions


def summarize(
    paths: Sequence[Path],
    *,
    expected_nodes: Sequence[str] = (),
    outlier_fraction: float = DEFAULT_OUTLIER_FRACTION,
) -> FleetSummary:
    """Read every report under ``paths`` (a folder stands for its ``*.json`` files)."""
    loaded, problems = read_reports(expand_paths(paths))
    reports, duplicates = _latest_per_node(loaded)
    reports.sort(key=lambda pair: natural_key(pair[1].node))
    check_ids = _check_order(report for _, report in reports)
    present = {report.node for _, report in reports}
    missing = tuple(n for n in dict.fromkeys(expected_nodes) if n not in present)
    return FleetSummary(
        nodes=tuple(_row(source, report, check_ids) for source, report in reports),
        check_ids=check_ids,
        drain=_drain_list([report for _, report in reports], missing),
        outliers=find_outliers([report for _, report in reports], outlier_fraction),
        problems=tuple(problems + duplicates),
        missing_nodes=missing,
        outlier_fraction=outlier_fraction,
    )


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Folders become their ``*.json`` files (sorted, not recursive); files stay as given."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            expanded.extend(sorted(p for p in path.glob("*.json") if not p.is_dir()))
        else:
            expanded.append(path)
    return list(dict.fromkeys(expanded))


def read_reports(
    paths: Iterable[Path],
) -> tuple[list[tuple[str, ValidationReport]], list[FileProblem]]:
    """The reports that could be read, and one problem per path that could not.

    A fleet summary written by :func:`fleet_json` in the same folder is passed over silently.
    """
    loaded: list[tuple[str, ValidationReport]] = []
    problems: list[FileProblem] = []
    for path in paths:
        text, problem = _read_text(path)
        if problem is not None:
            problems.append(problem)
        elif text is not None and not _is_fleet_summary(text):
            try:
                loaded.append((str(path), load_validation(text, str(path))))
            except ValidationFileError as error:
                problems.append(FileProblem(str(path), error.code, str(error), error.version))
    return loaded, problems


def _read_text(path: Path) -> tuple[str | None, FileProblem | None]:
    """Through the one bounded reader: a FIFO, a device or an oversized file is a problem of
    that file, listed, and never stops (or hangs) the summary of the others."""
    from envkit.readers import InputError, read_text

    try:
        return read_text(path, limit=MAX_REPORT_BYTES), None
    except InputError as error:
        code = {"not-found": "not-found", "not-utf8": "not-json"}.get(error.code, "unreadable")
        return None, FileProblem(str(path), code, str(error))


def _is_fleet_summary(text: str) -> bool:
    """A summary written by fleet summarize itself (any version), skipped, not a problem."""
    from envkit.envelope import FLEET, document_schema

    head = text[:200]
    if FLEET_ENVELOPE_KEY not in head and f'"envkit.{FLEET}/' not in head:
        return False
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return False
    found = document_schema(data)
    return found is not None and found[0] == FLEET


def _latest_per_node(
    loaded: list[tuple[str, ValidationReport]],
) -> tuple[list[tuple[str, ValidationReport]], list[FileProblem]]:
    """One report per node, the latest started; each one set aside is a problem."""
    chosen: dict[str, tuple[str, ValidationReport]] = {}
    for source, report in loaded:
        kept = chosen.get(report.node)
        if kept is None or report.started_at > kept[1].started_at:
            chosen[report.node] = (source, report)
    problems = [
        FileProblem(
            source,
            "duplicate",
            f"{source} is an older report for node {report.node} than "
            f"{chosen[report.node][0]}; using the latter",
        )
        for source, report in loaded
        if chosen[report.node][0] != source
    ]
    return list(chosen.values()), problems


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """gpu-2 before gpu-10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text)]


def _check_order(reports: Iterable[ValidationReport]) -> tuple[str, ...]:
    """Node-level checks first, then per-GPU ones, each in the order the reports ran them."""
    results = [result for report in reports for result in report.results]
    node = [r.check_id for r in results if r.gpu_index is None]
    gpu = [r.check_id for r in results if r.gpu_index is not None]
    return tuple(dict.fromkeys(node + gpu))


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return min(verdicts, key=lambda verdict: verdict.rank)


def _row(source: str, report: ValidationReport, check_ids: Sequence[str]) -> NodeRow:
    by_check: dict[str, list[Verdict]] = {}
    for result in report.results:
        by_check.setdefault(result.check_id, []).append(result.verdict)
    cells = tuple((cid, worst(by_check[cid])) for cid in check_ids if cid in by_check)
    return NodeRow(
        node=report.node,
        source=source,
        verdict=report.verdict,
        envkit_version=report.envkit_version,
        tier=report.tier.value,
        gpu_models=tuple(sorted({gpu.name or "unnamed GPU" for gpu in report.gpus})),
        cells=cells,
    )


def drain_reasons(report: ValidationReport) -> tuple[str, ...]:
    """Why a node must be drained, one short phrase per failed check; empty when it need not."""
    if report.verdict is not Verdict.FAIL:
        return ()
    failed: dict[str, list[int | None]] = {}
    for result in report.results:
        if result.verdict is Verdict.FAIL:
            failed.setdefault(result.check_id, []).append(result.gpu_index)
    if not failed:
        return ("no check ran",) if not report.results else ("every check was skipped",)
    return tuple(_reason(check_id, gpus) for check_id, gpus in failed.items())


def _reason(check_id: str, gpus: list[int | None]) -> str:
    indexes = sorted(index for index in gpus if index is not None)
    if not indexes:
        return check_id
    label = "GPU" if len(indexes) == 1 else "GPUs"
    return f"{check_id} ({label} {','.join(str(i) for i in indexes)})"


def _drain_list(
    reports: Sequence[ValidationReport], missing: Sequence[str]
) -> tuple[DrainEntry, ...]:
    entries = [DrainEntry(r.node, drain_reasons(r)) for r in reports if drain_reasons(r)]
    entries += [DrainEntry(node, ("no report",)) for node in missing]
    return tuple(sorted(entries, key=lambda entry: natural_key(entry.node)))


@record
class _Sample:
    node: str
    result: CheckResult
    group: str
    measured: float
    unit: str


def find_outliers(
    reports: Sequence[ValidationReport], fraction: float = DEFAULT_OUTLIER_FRACTION
) -> tuple[Outlier, ...]:
    groups: dict[tuple[str, str, str], list[_Sample]] = {}
    for sample in _rate_samples(reports):
        groups.setdefault((sample.result.check_id, sample.group, sample.unit), []).append(sample)
    outliers = [
        outlier
        for samples in groups.values()
        if len(samples) >= MIN_OUTLIER_GROUP
        for outlier in _below_median(samples, fraction)
    ]
    return tuple(
        sorted(outliers, key=lambda o: (natural_key(o.node), o.check_id, o.gpu_index or 0))
    )


def is_rate(result: CheckResult) -> bool:
    """A throughput (more is better): measured, in a unit per second."""
    return result.measured is not None and bool(result.unit) and str(result.unit).endswith("/s")


def _rate_samples(reports: Sequence[ValidationReport]) -> list[_Sample]:
    samples: list[_Sample] = []
    for report in reports:
        names = {gpu.index: gpu.name or "unnamed GPU" for gpu in report.gpus}
        node_group = " + ".join(sorted(set(names.values()))) or "no GPU"
        for result in report.results:
            if not is_rate(result) or result.measured is None or result.unit is None:
                continue
            index = result.gpu_index
            group = node_group if index is None else names.get(index, "unknown GPU")
            samples.append(_Sample(report.node, result, group, result.measured, result.unit))
    return samples


def _below_median(samples: list[_Sample], fraction: float) -> list[Outlier]:
    median = statistics.median(sample.measured for sample in samples)
    if median <= 0:
        return []
    return [
        Outlier(
            node=sample.node,
            gpu_index=sample.result.gpu_index,
            check_id=sample.result.check_id,
            group=sample.group,
            measured=sample.measured,
            median=median,
            unit=sample.unit,
            group_size=len(samples),
        )
        for sample in samples
        if sample.measured < median * (1.0 - fraction)
    ]
