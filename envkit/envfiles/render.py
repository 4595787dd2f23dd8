"""`envkit env check` output: the doctor's area lines and findings, for one file."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

from envkit.envfiles.checks import TENSORFLOW_NAMES, EnvFileReport
from envkit.model import Severity
from envkit.render.doctor import findings_style, findings_summary, print_findings
from envkit.render.report import SEPARATOR

AREAS = ("python", "tensorflow")
"""The doctor's lines an environment file speaks to."""


def print_check(console: Console, result: EnvFileReport, *, verbose: bool) -> None:
    kind = "requirements file" if result.document.kind == "requirements" else "conda environment"
    console.print(Text(f"envkit env check {result.path} ({kind})", style="bold"), soft_wrap=True)
    console.print()
    hidden = print_findings(
        console, result.findings, area_summaries(result), verbose=verbose, areas=AREAS
    )
    console.print()
    console.print(
        Text(findings_summary(result.findings), style=findings_style(result.findings)),
        soft_wrap=True,
    )
    hint = fix_hint(result)
    if hint:
        console.print(Text(hint, "dim"), soft_wrap=True)
    if hidden:
        console.print(Text("Run with -v to see the evidence for every finding.", "dim"))


def area_summaries(result: EnvFileReport) -> dict[str, str]:
    doc = result.document
    python = f"Python {result.python}" if result.python else "Python not pinned"
    if doc.kind == "requirements":
        python = "requirements file (Python not named)"
    tf_lines = [dep.raw for dep in doc.deps if dep.name in TENSORFLOW_NAMES]
    tensorflow = SEPARATOR.join(tf_lines) if tf_lines else "no TensorFlow"
    if result.release is not None:
        tensorflow += f" → TensorFlow {result.release.series}"
    return {"python": python, "tensorflow": tensorflow}


def fix_hint(result: EnvFileReport) -> str | None:
    """The command that writes a corrected file, when there is something to correct."""
    issues = result.count(Severity.ERROR) + result.count(Severity.WARNING)
    if not issues or not result.document.readable or result.release is None:
        return None
    path = Path(result.path)
    fixed = path.with_name(f"{path.stem}.fixed{path.suffix or '.yml'}")
    return f"envkit env check {result.path} --fix -o {fixed} writes a corrected file."
