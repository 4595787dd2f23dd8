"""The doctor: a snapshot judged by every check."""

from __future__ import annotations

from envkit.model import DoctorReport, Snapshot
from envkit.rules.registry import evaluate


def diagnose(snapshot: Snapshot) -> DoctorReport:
    return DoctorReport(snapshot=snapshot, findings=evaluate(snapshot))
