"""What ``envkit smoke`` reports: the run, the findings drawn from it, and its exit status."""

from __future__ import annotations

from envkit.exit_codes import ExitCode
from envkit.model import Finding
from envkit.records import record
from envkit.smoke.findings import findings_from
from envkit.smoke.model import RunVerdict, SmokeResult


@record
class SmokeReport:
    result: SmokeResult
    findings: tuple[Finding, ...]

    @property
    def exit_code(self) -> ExitCode:
        return exit_code_of(self.result)


def smoke_report(result: SmokeResult) -> SmokeReport:
    return SmokeReport(result, findings_from(result))


def exit_code_of(result: SmokeResult) -> ExitCode:
    """OK for a pass; FINDINGS for a fail or an error (bad input is the CLI's USAGE)."""
    return ExitCode.OK if result.verdict is RunVerdict.PASS else ExitCode.FINDINGS
