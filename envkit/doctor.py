"""The doctor: a snapshot judged by every check."""

from __future__ import annotations

from collections.abc import Iterable

from envkit.model import DoctorReport, Finding, Snapshot
from envkit.rules.registry import evaluate, finding_order


def diagnose(snapshot: Snapshot) -> DoctorReport:
    return DoctorReport(snapshot=snapshot, findings=evaluate(snapshot))


def with_findings(report: DoctorReport, more: Iterable[Finding]) -> DoctorReport:
    """The report with ``more`` findings (the smoke run's) folded in, in the doctor's order."""
    findings = tuple(sorted((*report.findings, *more), key=finding_order))
    return DoctorReport(snapshot=report.snapshot, findings=findings)
