"""``envkit doctor --all-envs``: one line per environment, then each one's findings.

The JSON is one document: ``{"schema": "envkit.doctor-all-envs/2", "envkit_version",
"summary", "targets": [...]}``, each target the envelope ``envkit doctor --json`` writes for it.
"""

from __future__ import annotations

import json

from rich.console import Console
from rich.text import Text

from envkit import __version__
from envkit.envelope import DOCTOR_ALL_ENVS, envelope
from envkit.model import (
    DoctorReport,
    Finding,
    PythonEnvInfo,
    Severity,
    TensorflowBuild,
    TensorflowInfo,
)
from envkit.records import record
from envkit.render.doctor import (
    area_summary,
    findings_style,
    findings_summary,
    print_findings,
    shown_areas,
)

HEADERS = ("Environment", "Python", "TensorFlow / Keras", "GPU build", "Verdict")


@record
class EnvRow:
    environment: str
    python: str
    tensorflow_keras: str
    gpu_build: str
    verdict: str


def env_row(report: DoctorReport) -> EnvRow:
    snapshot = report.snapshot
    where = snapshot.target.reason if snapshot.target else "unknown"
    python = snapshot.python
    if isinstance(python, PythonEnvInfo):
        version, keras = python.version, python.version_of("keras")
    else:
        version, keras = f"— ({python.code})", None
    tensorflow = snapshot.tensorflow
    tf_version = tensorflow.version if isinstance(tensorflow, TensorflowInfo) else "—"
    return EnvRow(
        environment=where,
        python=version,
        tensorflow_keras=f"{tf_version} / {keras or '—'}",
        gpu_build=_gpu_build(tensorflow),
        verdict=_verdict(report),
    )


def _gpu_build(tensorflow: object) -> str:
    if not isinstance(tensorflow, TensorflowInfo):
        return "—"
    build = tensorflow.build
    if not isinstance(build, TensorflowBuild) or build.is_cuda_build is None:
        return "unknown"
    return "yes" if build.is_cuda_build or build.is_rocm_build else "no"


def _verdict(report: DoctorReport) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    if errors:
        return f"✗ {errors} error{'s' if errors > 1 else ''}"
    if warnings:
        return f"! {warnings} warning{'s' if warnings > 1 else ''}"
    return "✓ no issues"


def table_lines(reports: tuple[DoctorReport, ...]) -> list[str]:
    """The header and one line per environment, columns padded to their widest cell."""
    rows = [env_row(report) for report in reports]
    cells = [
        HEADERS,
        *((r.environment, r.python, r.tensorflow_keras, r.gpu_build, r.verdict) for r in rows),
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(HEADERS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


MACHINE_AREAS = ("system", "nvidia")


def print_all_envs(console: Console, reports: tuple[DoctorReport, ...], *, verbose: bool) -> None:
    """The table; then the machine's issues once; then each environment's own issues."""
    console.print(Text(f"envkit doctor --all-envs {__version__}", style="bold"))
    console.print()
    for line in table_lines(reports):
        console.print(Text(line), soft_wrap=True)
    if not reports:
        return
    machine = tuple(f for f in reports[0].findings if f.area in MACHINE_AREAS and _is_issue(f))
    if machine:
        console.print()
        console.print(Text("This machine", style="bold"))
        _print_issues(console, reports[0], machine, verbose=verbose)
    for report in reports:
        own = tuple(f for f in report.findings if _is_issue(f) and f not in machine)
        if not own:
            continue
        console.print()
        target = report.snapshot.target
        title = f"{target.python}: {target.reason}" if target else "an environment"
        console.print(Text(title, style="bold"), soft_wrap=True)
        _print_issues(console, report, own, verbose=verbose)
        console.print(Text(findings_summary(own), style=findings_style(own)))


def _is_issue(finding: Finding) -> bool:
    return finding.severity is not Severity.INFO


def _print_issues(
    console: Console, report: DoctorReport, findings: tuple[Finding, ...], *, verbose: bool
) -> None:
    areas = [area for area in shown_areas(findings) if any(f.area == area for f in findings)]
    summaries = {area: area_summary(report.snapshot, area) for area in areas}
    print_findings(console, findings, summaries, verbose=verbose, areas=areas)


def all_envs_json(reports: tuple[DoctorReport, ...]) -> str:
    from envkit.render.doctor_json import doctor_envelope

    document = {
        **envelope(DOCTOR_ALL_ENVS),
        "summary": {
            "targets": len(reports),
            "with_errors": sum(1 for r in reports if r.count(Severity.ERROR)),
            "with_warnings": sum(1 for r in reports if r.count(Severity.WARNING)),
            "exit_status": max((r.exit_status for r in reports), default=0),
        },
        "targets": [doctor_envelope(report) for report in reports],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
