"""The command line: each command parses options, calls one core function and one renderer."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from envkit import __version__
from envkit.model import DoctorReport, Snapshot


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2


app = typer.Typer(
    name="envkit",
    help="Inspect, diagnose and prove a deep-learning machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PythonOption = Annotated[
    str | None,
    typer.Option(
        "--python", metavar="PATH", help="Examine this interpreter instead of envkit's own."
    ),
]
EnvOption = Annotated[
    str | None,
    typer.Option("--env", metavar="NAME", help="Examine the conda environment of this name."),
]


def fail(message: str) -> NoReturn:
    """One line on stderr and exit status 2: the user's input is wrong, not envkit."""
    typer.echo(f"envkit: error: {message}", err=True)
    raise typer.Exit(ExitCode.USAGE)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"envkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """envkit: run it first on a deep-learning workstation or cloud GPU instance."""


def resolve_target(python: str | None, env: str | None) -> str | None:
    """The interpreter to examine, or None for envkit's own; bad input ends the command."""
    from envkit.probes import python_env

    if python and env:
        fail("give --python or --env, not both")
    if env:
        python = _python_of_conda_env(env)
    if python is None:
        return None
    problem = python_env.check_interpreter(python)
    if problem:
        fail(problem)
    return python


def _python_of_conda_env(name: str) -> str:
    from envkit.model import Unavailable
    from envkit.probes import conda

    info = conda.probe_conda()
    if isinstance(info, Unavailable):
        fail(f"--env {name}: {info.reason}")
    prefix = conda.find_env_prefix(info, name)
    if prefix is None:
        known = ", ".join(sorted(e.name for e in info.environments if e.name)) or "none"
        fail(f"no conda environment named {name!r} (known: {known})")
    return conda.python_in_prefix(prefix)


@app.command()
def report(
    python: PythonOption = None,
    env: EnvOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole snapshot as JSON.")] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Every package and build fact.")
    ] = False,
) -> None:
    """Show the machine: OS, CPU, memory, NVIDIA driver and GPUs, Python, TensorFlow, conda."""
    from envkit.probes import collect
    from envkit.render.json_doc import snapshot_json

    _check_output(output, force)
    target = resolve_target(python, env)
    snapshot = collect(target)
    if as_json:
        _emit(snapshot_json(snapshot), output, force)
    else:
        _emit_report(snapshot, output, force, verbose)


def _check_output(output: Path | None, force: bool) -> None:
    from envkit.files import OutputFileError, check_writable

    if output is None:
        return
    try:
        check_writable(output, force=force)
    except OutputFileError as error:
        fail(str(error))


def _emit(text: str, output: Path | None, force: bool) -> None:
    from envkit.files import OutputFileError, write_text_atomic

    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_text_atomic(output, text, force=force)
    except OutputFileError as error:
        fail(str(error))


def _emit_report(snapshot: Snapshot, output: Path | None, force: bool, verbose: bool) -> None:
    import io

    from rich.console import Console

    from envkit.render.report import print_report

    if output is None:
        print_report(Console(highlight=False), snapshot, verbose=verbose)
        return
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, color_system=None, highlight=False)
    print_report(console, snapshot, verbose=verbose)
    _emit(buffer.getvalue(), output, force)


@app.command()
def doctor(
    python: PythonOption = None,
    env: EnvOption = None,
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
    list_checks: Annotated[
        bool, typer.Option("--list-checks", help="List every check and exit.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Judge whether driver, GPU, Python, TensorFlow and Keras fit, and print the fixes."""
    if list_checks:
        _print_checks()
        return
    if as_json and markdown:
        fail("give --json or --markdown, not both")
    if snapshot_file is not None and (python or env):
        fail("--snapshot diagnoses a saved machine; --python and --env examine this one")
    _check_output(output, force)
    snapshot = _load_snapshot(snapshot_file) if snapshot_file else _collect(python, env)
    from envkit.doctor import diagnose

    report = diagnose(snapshot)
    text = _doctor_text(report, as_json, markdown, redact, verbose, output)
    if text is not None:
        _emit(text, output, force)
    raise typer.Exit(report.exit_status)


def _collect(python: str | None, env: str | None) -> Snapshot:
    from envkit.probes import collect

    return collect(resolve_target(python, env))


def _load_snapshot(path: Path) -> Snapshot:
    from envkit.render.json_doc import SnapshotFileError, snapshot_from_json

    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        fail(f"{path} is a directory; give a snapshot file")
    except FileNotFoundError:
        fail(f"{path} does not exist")
    except UnicodeDecodeError:
        fail(f"{path} is not a text file; give a snapshot written by `envkit report --json`")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
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
    from envkit.probes.identity import probe_identifiers
    from envkit.redact import redact as redact_text
    from envkit.redact import redaction_note

    should_redact = markdown if redact is None else redact
    if as_json:
        from envkit.render.doctor_json import doctor_json, redacted_doctor_json

        if not should_redact:
            return doctor_json(report)
        text, counts = redacted_doctor_json(report, probe_identifiers(report.snapshot))
    elif markdown:
        from envkit.render.markdown import doctor_markdown

        document = doctor_markdown(report)
        if not should_redact:
            return document
        text, counts = redact_text(document, probe_identifiers(report.snapshot), markdown=True)
    else:
        plain = _doctor_plain_text(report, verbose, for_file=output is not None or should_redact)
        if plain is None:
            return None
        if not should_redact:
            return plain
        text, counts = redact_text(plain, probe_identifiers(report.snapshot))
    typer.echo(redaction_note(counts), err=True)
    return text


def _doctor_plain_text(report: DoctorReport, verbose: bool, *, for_file: bool) -> str | None:
    import io

    from rich.console import Console

    from envkit.render.doctor import print_doctor

    if not for_file:
        print_doctor(Console(highlight=False), report, verbose=verbose)
        return None
    buffer = io.StringIO()
    print_doctor(
        Console(file=buffer, width=100, color_system=None, highlight=False), report, verbose=verbose
    )
    return buffer.getvalue()


def _print_checks() -> None:
    from rich.console import Console

    from envkit.render.doctor import print_checks
    from envkit.rules.registry import all_checks

    print_checks(Console(highlight=False), tuple(c.info for c in all_checks()))


def main() -> None:
    app(prog_name="envkit")
