"""envkit doctor: verdicts and the fixes, optionally after a smoke run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from envkit.cli._app import (
    EnvOption,
    ForceOption,
    KernelOption,
    OutputOption,
    PythonOption,
    app,
    check_output,
    collect_while_importing,
    emit,
    emit_rich,
    fail,
    resolve_target,
)
from envkit.cli._from import FromOption
from envkit.cli.smoke import run_smoke_live
from envkit.model import DoctorReport, Finding, Snapshot, Target

if TYPE_CHECKING:
    from envkit.redact import Identifiers, RedactionCounts
    from envkit.render.lines import PlainScreen, Screen


@app.command()
def doctor(
    python: PythonOption = None,
    env: EnvOption = None,
    kernel: KernelOption = None,
    snapshot_file: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            metavar="FILE",
            help="Diagnose a snapshot saved with `envkit report --json -o FILE`.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Findings and snapshot as JSON.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Markdown for pasting into a GitHub issue.")
    ] = False,
    redact: Annotated[
        bool | None,
        typer.Option(
            "--redact/--no-redact",
            help="Replace hostname, user, home, GPU UUIDs, IP and MAC addresses "
            "(default: on with --markdown).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="The evidence behind every finding.")
    ] = False,
    all_envs: Annotated[
        bool,
        typer.Option("--all-envs", help="Every environment envkit can find, side by side."),
    ] = False,
    list_checks: Annotated[
        bool, typer.Option("--list-checks", help="List every check and exit.")
    ] = False,
    run_smoke: Annotated[
        bool,
        typer.Option("--smoke", help="Then train the tutorial's MNIST network (envkit smoke)."),
    ] = False,
    smoke_data: Annotated[
        Path | None,
        typer.Option("--smoke-data", metavar="PATH", help="MNIST for --smoke (see envkit smoke)."),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="--smoke never downloads MNIST.")
    ] = False,
    quick: Annotated[
        bool, typer.Option("--quick", help="--smoke trains one epoch on a subset (seconds).")
    ] = False,
    output: OutputOption = None,
    force: ForceOption = False,
    from_inputs: FromOption = None,
) -> None:
    """Judge whether driver, GPU, Python, TensorFlow and Keras fit, and print the fixes."""
    if list_checks:
        _print_checks()
        return
    if as_json and markdown:
        fail("give --json or --markdown, not both")
    if all_envs:
        _refuse_with_all_envs(
            python, env, kernel, snapshot_file or from_inputs, run_smoke, markdown
        )
        _run_all_envs(as_json, verbose, output, force)
    if snapshot_file is not None and (python or env or kernel or run_smoke):
        fail(
            "--snapshot diagnoses a saved machine; "
            "--python, --env, --kernel and --smoke examine this one"
        )
    if from_inputs and (snapshot_file or python or env or kernel or run_smoke):
        fail(
            "--from judges what the files hold; "
            "--snapshot, --python, --env, --kernel and --smoke do not mix"
        )
    if quick and not run_smoke:
        fail("--quick is for --smoke")
    check_output(output, force)
    target = None
    if from_inputs:
        report = _diagnose_inputs(from_inputs)
    else:
        target = None if snapshot_file else resolve_target(python, env, kernel)
        renderer = "json" if as_json else "markdown" if markdown else "text"
        snapshot = _load_snapshot(snapshot_file) if snapshot_file else _collect(target, renderer)
        from envkit.doctor import diagnose  # after the probes have started (see _collect)

        report = diagnose(snapshot)
    if run_smoke and target is not None:
        on_terminal = not (as_json or markdown or redact or output)
        report = _with_smoke(report, target, (smoke_data, offline, quick), verbose, on_terminal)
    text = _doctor_text(report, as_json, markdown, redact, verbose, output)
    if text is not None:
        emit(text, output, force)
    raise typer.Exit(report.exit_status)


def _diagnose_inputs(paths: list[str]) -> DoctorReport:
    from envkit.cli._from import read_from
    from envkit.doctor import diagnose_inputs

    return diagnose_inputs(read_from(paths))


_RENDERERS = {
    "json": ("envkit.render.doctor_json",),
    "markdown": ("envkit.render.markdown",),
    "text": ("envkit.render.doctor", "envkit.terminal"),
}


def _collect(target: Target | None, renderer: str) -> Snapshot:
    assert target is not None  # noqa: S101 -- only without --snapshot
    return collect_while_importing(target, ("envkit.doctor", *_RENDERERS[renderer]))


def _doctor_smoke_findings(
    target: Target, data: Path | None, offline: bool, quick: bool
) -> tuple[Finding, ...]:
    from envkit.smoke import SmokeSpec, findings_from

    spec = SmokeSpec(data=str(data) if data else None, offline=offline, quick=quick)
    return findings_from(run_smoke_live(target.python, spec))


def _with_smoke(
    report: DoctorReport,
    target: Target,
    smoke: tuple[Path | None, bool, bool],
    verbose: bool,
    on_terminal: bool,
) -> DoctorReport:
    """The report with the smoke run's findings; on the terminal, the checks print first."""
    from envkit.doctor import with_findings

    if on_terminal:
        _doctor_then_smoke(report, target, smoke, verbose)
    return with_findings(report, _doctor_smoke_findings(target, *smoke))


def _doctor_then_smoke(
    report: DoctorReport,
    target: Target,
    smoke: tuple[Path | None, bool, bool],
    verbose: bool,
) -> NoReturn:
    """On the terminal: the checks at once, then the smoke run's progress and its verdicts."""
    from envkit.doctor import with_findings
    from envkit.render.doctor import print_doctor, print_smoke_part
    from envkit.terminal import SafeConsole

    console = SafeConsole(highlight=False)
    print_doctor(console, report, verbose=verbose, closing=False)
    smoke_findings = _doctor_smoke_findings(target, *smoke)
    print_smoke_part(console, with_findings(report, smoke_findings), verbose=verbose)
    raise typer.Exit(with_findings(report, smoke_findings).exit_status)


def _load_snapshot(path: Path) -> Snapshot:
    from envkit.readers import InputError, read_text
    from envkit.render.json_doc import SnapshotFileError, snapshot_from_json

    try:
        text = read_text(path)
    except InputError as error:
        fail(str(error))
    try:
        return snapshot_from_json(text, str(path))
    except SnapshotFileError as error:
        fail(str(error))


def _doctor_text(
    report: DoctorReport,
    as_json: bool,
    markdown: bool,
    redact: bool | None,
    verbose: bool,
    output: Path | None,
) -> str | None:
    """The document to write, or None when the text view was printed to the terminal."""
    should_redact = markdown if redact is None else redact
    if as_json:
        from envkit.render.doctor_json import doctor_json, redacted_doctor_json

        if not should_redact:
            return doctor_json(report)
        text, counts = redacted_doctor_json(report, _identifiers(report))
    elif markdown:
        from envkit.render.markdown import doctor_markdown

        document = doctor_markdown(report)
        if not should_redact:
            return document
        text, counts = _redact(document, report, markdown=True)
    else:
        plain = _doctor_plain_text(report, verbose, for_file=output is not None or should_redact)
        if plain is None:
            return None
        if not should_redact:
            return plain
        text, counts = _redact(plain, report, markdown=False)
    from envkit.redact import redaction_note

    typer.echo(redaction_note(counts), err=True)
    return text


def _identifiers(report: DoctorReport) -> Identifiers:
    from envkit.probes.identity import probe_identifiers  # psutil, for the addresses

    return probe_identifiers(report.snapshot)


def _redact(text: str, report: DoctorReport, *, markdown: bool) -> tuple[str, RedactionCounts]:
    from envkit.redact import redact

    return redact(text, _identifiers(report), markdown=markdown)


def _doctor_plain_text(report: DoctorReport, verbose: bool, *, for_file: bool) -> str | None:
    import io

    from envkit.render.doctor import print_doctor
    from envkit.render.lines import PlainScreen, plain_stdout

    if not for_file:
        print_doctor(_stdout_screen(plain_stdout()), report, verbose=verbose)
        return None
    buffer = io.StringIO()
    print_doctor(PlainScreen(buffer, width=100), report, verbose=verbose)
    return buffer.getvalue()


def _stdout_screen(plain: PlainScreen | None) -> Screen:
    """The plain screen where no style can show (rich is not even loaded), else rich's."""
    if plain is not None:
        return plain
    from envkit.terminal import SafeConsole

    return SafeConsole(highlight=False)


def _print_checks() -> None:
    from envkit.inputs.snapshot import INPUT_CHECKS
    from envkit.render.doctor import print_checks
    from envkit.rules.logs import log_checks
    from envkit.rules.registry import all_checks
    from envkit.smoke import SMOKE_CHECKS
    from envkit.terminal import SafeConsole

    checks = (*(c.info for c in all_checks()), *SMOKE_CHECKS, *INPUT_CHECKS, *log_checks())
    print_checks(SafeConsole(highlight=False), checks)


def _refuse_with_all_envs(
    python: str | None,
    env: str | None,
    kernel: str | None,
    recorded: Path | list[str] | None,
    run_smoke: bool,
    markdown: bool,
) -> None:
    """--all-envs picks the environments itself: the options that pick one are usage errors."""
    clashing = [
        name
        for name, given in (
            ("--python", python),
            ("--env", env),
            ("--kernel", kernel),
            ("--snapshot/--from", recorded),
            ("--smoke", run_smoke),
            ("--markdown", markdown),
        )
        if given
    ]
    if clashing:
        fail(f"--all-envs examines every environment; it does not go with {', '.join(clashing)}")


def _run_all_envs(as_json: bool, verbose: bool, output: Path | None, force: bool) -> None:
    from envkit.all_envs import examine_all, exit_status
    from envkit.render.all_envs import all_envs_json, print_all_envs

    check_output(output, force)
    reports = examine_all(resolve_target(None, None))
    if as_json:
        emit(all_envs_json(reports), output, force)
    else:
        emit_rich(lambda console: print_all_envs(console, reports, verbose=verbose), output, force)
    raise typer.Exit(exit_status(reports))
