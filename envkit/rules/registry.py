"""The checks: each a pure function from a snapshot to findings, registered with a stable id."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from envkit.model import AREAS, CheckInfo, Finding, Severity, Snapshot
from envkit.records import record

CheckFunction = Callable[[Snapshot, CheckInfo], Iterable[Finding]]


@record
class Check:
    info: CheckInfo
    run: CheckFunction


_CHECKS: list[Check] = []


def check(check_id: str, area: str, description: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check; its findings carry ``check_id`` and ``area``."""
    if area not in AREAS:
        raise ValueError(f"unknown area {area!r}")

    def register(function: CheckFunction) -> CheckFunction:
        if any(existing.info.check_id == check_id for existing in _CHECKS):
            raise ValueError(f"duplicate check id {check_id!r}")
        _CHECKS.append(Check(CheckInfo(check_id, area, description), function))
        return function

    return register


def all_checks() -> tuple[Check, ...]:
    """Every registered check (envkit/rules/__init__.py imports the rule modules that register
    them, before anything of this module can be used)."""
    return tuple(sorted(_CHECKS, key=lambda c: (AREAS.index(c.info.area), c.info.check_id)))


def evaluate(snapshot: Snapshot) -> tuple[Finding, ...]:
    findings: list[Finding] = []
    for registered in all_checks():
        findings.extend(_run_guarded(registered, snapshot))
    return tuple(sorted(findings, key=finding_order))


def finding_order(finding: Finding) -> tuple[int, int, str]:
    return (AREAS.index(finding.area), finding.severity.rank, finding.check_id)


def _run_guarded(registered: Check, snapshot: Snapshot) -> list[Finding]:
    try:
        return list(registered.run(snapshot, registered.info))
    except Exception as error:  # noqa: BLE001 -- a broken check is reported, not fatal
        return [
            registered.info.finding(
                Severity.WARNING,
                f"envkit's check {registered.info.check_id} failed; its verdict is missing",
                f"{type(error).__name__}: {error}",
                ("# please report this at envkit's issue tracker, with `envkit report --json`",),
            )
        ]
