"""envkit validate and envkit fleet summarize."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envkit.cli._app import (
    EnvOption,
    ForceOption,
    JunitOption,
    KernelOption,
    OutputOption,
    PythonOption,
    app,
    check_output,
    driver_version,
    emit,
    fail,
    finite_non_negative,
    non_empty_text,
    resolve_target,
    say_target,
)
from envkit.cli._from import FromOption
from envkit.cli._output import Renderers, emit_report

if TYPE_CHECKING:
    from envkit.validate.model import Expectations
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
        str | None,
        typer.Option(
            metavar="TEXT", parser=non_empty_text, help="Text every GPU's name must contain."
        ),
    ] = None,
    expect_memory_gib: Annotated[
        float | None,
        typer.Option(
            metavar="N",
            parser=finite_non_negative,
            help="Memory per GPU as sold (24 for an A10G); see gpu.memory.",
        ),
    ] = None,
    min_driver: Annotated[
        str | None,
        typer.Option(
            metavar="VERSION", parser=driver_version, help="The oldest NVIDIA driver accepted."
        ),
    ] = None,
    python: PythonOption = None,
    env: EnvOption = None,
    kernel: KernelOption = None,
    node_name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            parser=non_empty_text,
            help="The node's name in the report (default: hostname).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
    junit: JunitOption = None,
    list_checks: Annotated[
        bool, typer.Option("--list-checks", help="List every check and exit.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="The evidence behind passing checks too.")
    ] = False,
    output: OutputOption = None,
    force: ForceOption = False,
    from_inputs: FromOption = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            help="With --from: judge each dump on its own, one JSON report per node in DIR.",
        ),
    ] = None,
) -> None:
    """Accept or reject this GPU node: exit 0 pass, 1 fail, 2 bad input."""
    from envkit.validate import ValidateOptions
    from envkit.validate import validate as run_validation
    from envkit.validate.model import Expectations, Tier

    if list_checks:
        _print_checks()
        return
    check_output(output, force, junit)
    expectations = Expectations(
        gpu_count=expect_gpus,
        gpu_model=expect_gpu_model,
        memory_gib=expect_memory_gib,
        min_driver=min_driver,
    )
    if from_inputs or output_dir is not None:
        _check_from_options(from_inputs, output_dir, tier, python, env or kernel)
        if output_dir is not None:
            raise typer.Exit(_validate_dumps(from_inputs or [], output_dir, expectations, force))
        report = _validate_recorded(from_inputs or [], expectations, node_name)
    else:
        target = resolve_target(python, env, kernel)
        options = ValidateOptions(
            tier=Tier(tier.value),
            expectations=expectations,
            python=target.python,
            node_name=node_name,
        )
        report = run_validation(options)
        say_target(target)
    renderers = _validation_renderers(verbose)
    emit_report(report, renderers, "json" if as_json else "text", output, force)
    if junit is not None:
        emit_report(report, renderers, "junit", junit, force)
    raise typer.Exit(report.exit_code)


def _check_from_options(
    from_inputs: list[str] | None,
    output_dir: Path | None,
    tier: TierChoice,
    python: str | None,
    env: str | None,
) -> None:
    if not from_inputs:
        fail("--output-dir needs --from DIR (the dumps to judge)")
    if tier is not TierChoice.QUICK:
        fail("--from judges a recorded state: only the quick tier runs on it")
    if python or env:
        fail("--from judges a recorded state; --python, --env and --kernel examine this machine")


def _validate_recorded(
    paths: list[str], expectations: Expectations, node_name: str | None
) -> ValidationReportType:
    from envkit.cli._from import read_from
    from envkit.inputs.judge import validate_recorded
    from envkit.inputs.snapshot import hostname_of

    if any(Path(path).is_dir() for path in paths):
        fail("--from DIR judges each dump on its own: add --output-dir OUT")
    from envkit.inputs.snapshot import conflict_findings

    reading = read_from(paths)
    for finding in conflict_findings(reading):
        typer.echo(f"envkit: warning: {finding.title}: {finding.evidence}", err=True)
    node = node_name or hostname_of(reading) or Path(paths[0]).stem
    return validate_recorded(reading, expectations, node)


def _validate_dumps(
    paths: list[str], output_dir: Path, expectations: Expectations, force: bool
) -> int:
    """One report per dump in ``output_dir``; exit 1 when any node fails."""
    from envkit.cli._from import dump_files, read_from
    from envkit.inputs.judge import validate_recorded
    from envkit.inputs.snapshot import hostname_of
    from envkit.validate.model import Verdict
    from envkit.validate.report_json import validation_json

    output_dir.mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    verdicts: dict[Verdict, int] = {}
    for path in dump_files(paths):
        reading = read_from([path])
        node = hostname_of(reading) or Path(path).stem
        if node in names:
            node = f"{node}-{Path(path).stem}"
        names.add(node)
        report = validate_recorded(reading, expectations, node)
        verdicts[report.verdict] = verdicts.get(report.verdict, 0) + 1
        emit(validation_json(report), output_dir / f"{_file_name(node)}.json", force)
    counts = ", ".join(
        f"{count} {verdict.value}"
        for verdict, count in sorted(verdicts.items(), key=lambda item: item[0].rank)
    )
    typer.echo(f"{len(names)} report(s) in {output_dir}: {counts}", err=True)
    return 1 if verdicts.get(Verdict.FAIL) else 0


def _file_name(node: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", node).lstrip(".") or "node"


def _print_checks() -> None:
    from envkit.terminal import SafeConsole
    from envkit.validate.catalog import all_checks
    from envkit.validate.render import print_check_list

    print_check_list(SafeConsole(highlight=False), all_checks())


def _validation_renderers(verbose: bool) -> Renderers[ValidationReportType]:
    from envkit.validate.junit import validation_junit
    from envkit.validate.render import print_validation
    from envkit.validate.report_json import validation_json

    return Renderers(
        text=lambda console, report: print_validation(console, report, verbose=verbose),
        json=validation_json,
        junit=lambda report: validation_junit([report]),
    )


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
    junit: JunitOption = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Nodes by checks, the nodes to drain and why, and outliers across the fleet."""
    from envkit.validate.fleet import summarize
    from envkit.validate.render_fleet import fleet_json, print_fleet

    check_output(output, force, junit)
    missing = [str(path) for path in paths if not path.exists()]
    if len(missing) == len(paths):
        fail(f"no such file or folder: {', '.join(missing)}")
    summary = summarize(paths, expected_nodes=expect_node or ())
    emit_report(
        summary,
        Renderers(print_fleet, json=fleet_json),
        "json" if as_json else "text",
        output,
        force,
    )
    if junit is not None:
        from envkit.validate.fleet import expand_paths, read_reports
        from envkit.validate.junit import validation_junit

        reports, _ = read_reports(expand_paths(paths))
        emit(validation_junit([report for _, report in reports]), junit, force)
    raise typer.Exit(summary.exit_code)
