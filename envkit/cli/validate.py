"""envkit validate and envkit fleet summarize."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envkit.cli._app import (
    EnvOption,
    ForceOption,
    OutputOption,
    PythonOption,
    app,
    check_output,
    emit,
    emit_rich,
    fail,
    resolve_target,
)

if TYPE_CHECKING:
    from envkit.validate.model import ValidationReport as ValidationReportType


class TierChoice(str, enum.Enum):
    QUICK = "quick"
    DEFAULT = "default"


@app.command()
def validate(
    tier: Annotated[
        TierChoice,
        typer.Option(help="quick: passive, seconds; default: adds GEMM, bandwidth and training."),
    ] = TierChoice.QUICK,
    expect_gpus: Annotated[
        int | None, typer.Option(min=0, metavar="N", help="The GPUs the instance must have.")
    ] = None,
    expect_gpu_model: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Text every GPU's name must contain.")
    ] = None,
    expect_memory_gib: Annotated[
        float | None, typer.Option(min=0, metavar="N", help="Memory per GPU, within 5 %.")
    ] = None,
    min_driver: Annotated[
        str | None, typer.Option(metavar="VERSION", help="The oldest NVIDIA driver accepted.")
    ] = None,
    python: PythonOption = None,
    env: EnvOption = None,
    node_name: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="The node's name in the report (default: hostname)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="Also write JUnit XML.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="The evidence behind passing checks too.")
    ] = False,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Accept or reject this GPU node: exit 0 pass, 1 fail, 2 bad input."""
    from envkit.validate import ValidateOptions
    from envkit.validate import validate as run_validation
    from envkit.validate.model import Expectations, Tier

    check_output(output, force)
    if junit is not None:
        check_output(junit, force)
    expectations = Expectations(
        gpu_count=expect_gpus,
        gpu_model=expect_gpu_model,
        memory_gib=expect_memory_gib,
        min_driver=min_driver,
    )
    options = ValidateOptions(
        tier=Tier(tier.value),
        expectations=expectations,
        python=resolve_target(python, env),
        node_name=node_name,
    )
    report = run_validation(options)
    _emit_validation(report, as_json, verbose, output, force)
    if junit is not None:
        from envkit.validate.junit import validation_junit

        emit(validation_junit([report]), junit, force)
    raise typer.Exit(report.exit_status)


def _emit_validation(
    report: ValidationReportType, as_json: bool, verbose: bool, output: Path | None, force: bool
) -> None:
    if as_json:
        from envkit.validate.report_json import validation_json

        emit(validation_json(report), output, force)
        return
    from envkit.validate.render import print_validation

    emit_rich(lambda console: print_validation(console, report, verbose=verbose), output, force)


fleet_app = typer.Typer(
    name="fleet", help="Reports of many nodes, taken together.", no_args_is_help=True
)
app.add_typer(fleet_app)


@fleet_app.command("summarize")
def fleet_summarize(
    paths: Annotated[
        list[Path], typer.Argument(help="envkit validate --json reports, or folders of them.")
    ],
    expect_node: Annotated[
        list[str] | None,
        typer.Option(metavar="NAME", help="A node that must have reported; repeatable."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON.")] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="Also write JUnit XML.")
    ] = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Nodes by checks, the nodes to drain and why, and outliers across the fleet."""
    from envkit.validate.fleet import fleet_json, print_fleet, summarize

    check_output(output, force)
    if junit is not None:
        check_output(junit, force)
    missing = [str(path) for path in paths if not path.exists()]
    if len(missing) == len(paths):
        fail(f"no such file or folder: {', '.join(missing)}")
    summary = summarize(paths, expected_nodes=expect_node or ())
    if as_json:
        emit(fleet_json(summary), output, force)
    else:
        emit_rich(lambda console: print_fleet(console, summary), output, force)
    if junit is not None:
        from envkit.validate.fleet import expand_paths, read_reports
        from envkit.validate.junit import validation_junit

        reports, _ = read_reports(expand_paths(paths))
        emit(validation_junit([report for _, report in reports]), junit, force)
    raise typer.Exit(summary.exit_status)
