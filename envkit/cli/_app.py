"""The command line: shared options, input checks and output; one module per command."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from envkit import __version__

if TYPE_CHECKING:
    from rich.console import Console


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
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")]


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


def check_output(output: Path | None, force: bool) -> None:
    from envkit.files import OutputFileError, check_writable

    if output is None:
        return
    try:
        check_writable(output, force=force)
    except OutputFileError as error:
        fail(str(error))


def emit(text: str, output: Path | None, force: bool) -> None:
    from envkit.files import OutputFileError, write_text_atomic

    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_text_atomic(output, text, force=force)
    except OutputFileError as error:
        fail(str(error))


def emit_rich(draw: Callable[[Console], None], output: Path | None, force: bool) -> None:
    import io

    from rich.console import Console

    if output is None:
        draw(Console(highlight=False))
        return
    buffer = io.StringIO()
    draw(Console(file=buffer, width=120, color_system=None, highlight=False))
    emit(buffer.getvalue(), output, force)
