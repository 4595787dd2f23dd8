"""The doctor: a snapshot judged by every check."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from envkit.model import DoctorReport, Finding, Snapshot
from envkit.rules.registry import evaluate, finding_order

if TYPE_CHECKING:
    from envkit.inputs.model import InputReading


def diagnose(snapshot: Snapshot) -> DoctorReport:
    return DoctorReport(snapshot=snapshot, findings=evaluate(snapshot))


def with_findings(report: DoctorReport, more: Iterable[Finding]) -> DoctorReport:
    """The report with ``more`` findings (the smoke run's) folded in, in the doctor's order."""
    findings = tuple(sorted((*report.findings, *more), key=finding_order))
    return DoctorReport(snapshot=report.snapshot, findings=findings)


def diagnose_inputs(reading: InputReading) -> DoctorReport:
    """What the files given with ``--from`` hold, judged: the snapshot they add up to, what the
    inputs themselves show (conflicts, what they leave unchecked) and every log piece's lines."""
    from envkit.inputs.snapshot import input_findings, snapshot_from
    from envkit.rules.logs import log_findings, unrecognised_lines_finding

    snapshot = snapshot_from(reading)
    from_logs = [finding for log in reading.logs for finding in log_findings(log, snapshot)]
    unknown = unrecognised_lines_finding(reading.logs)
    more = (*input_findings(reading, snapshot), *from_logs, *([unknown] if unknown else []))
    return with_findings(diagnose(snapshot), more)
