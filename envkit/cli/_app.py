"""The command line: shared options, input checks and output; one module per command."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from envkit import __version__
from envkit.exit_codes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from envkit.model import Snapshot, Target


app = typer.Typer(
    name="envkit",
    help="Inspect, diagnose and prove a deep-learning machine.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

# ---- option values: each checked when parsed, a one-line usage error (exit 2) when wrong


def non_empty_text(text: str) -> str:
    if not text.strip():
        raise typer.BadParameter("must not be empty")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise typer.BadParameter("must not hold control characters")
    return text


def finite_non_negative(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise typer.BadParameter(f"{text!r} is not a finite number >= 0")
    return value


def timeout_seconds(text: str) -> float:
    value = finite_non_negative(text)
    if value < 1:
        raise typer.BadParameter(f"{text!r} is under 1 second")
    return value


def driver_version(text: str) -> str:
    """An NVIDIA driver version as nvidia-smi prints it: 535, 535.104 or 535.104.05."""
    import re

    if not re.fullmatch(r"[0-9]{1,4}(\.[0-9]{1,4}){0,2}", text.strip()):
        raise typer.BadParameter(f"{text!r} is not a driver version (like 535.104.05)")
    return text.strip()


PythonOption = Annotated[
    str | None,
    typer.Option(
        "--python",
        metavar="PATH",
        parser=non_empty_text,
        help="Examine this interpreter, or the environment in this folder.",
    ),
]
KernelOption = Annotated[
    str | None,
    typer.Option("--kernel", metavar="NAME", help="Examine this Jupyter kernel's interpreter."),
]
EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="NAME",
        parser=non_empty_text,
        help="Examine the conda environment of this name.",
    ),
]


def _output_path(text: str) -> Path:
    from envkit.files import OutputFileError, output_path

    try:
        return output_path(text)
    except OutputFileError as error:
        raise typer.BadParameter(str(error)) from None


OutputOption = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        parser=_output_path,
        help="Write to FILE instead of stdout.",
    ),
]
JunitOption = Annotated[
    Path | None,
    typer.Option("--junit", metavar="FILE", parser=_output_path, help="Also write JUnit XML."),
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
        typer.Option(
            "--version", "-V", callback=_show_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """envkit: run it first on a deep-learning workstation or cloud GPU instance."""


def resolve_target(python: str | None, env: str | None, kernel: str | None = None) -> Target:
    """The interpreter to examine, chosen once here; bad input ends the command (exit 2)."""
    from envkit.target import TargetError
    from envkit.target import resolve_target as resolve

    try:
        return resolve(python, env, kernel)
    except TargetError as error:
        fail(str(error))


def collect_while_importing(target: Target, modules: Iterable[str]) -> Snapshot:
    """The snapshot of ``target``; while its interpreter runs the probe (on another core, and
    through a wrapper such as a pyenv shim the longest step), ``modules`` load: what judging
    and rendering it will need."""
    import importlib

    from envkit.probes import start_collect

    pending = start_collect(target)
    for module in modules:
        importlib.import_module(module)
    return pending.result()


def say_target(target: Target) -> None:
    """The one line naming what is examined and why, on stderr (for outputs that lack it)."""
    typer.echo(f"envkit: examining {target.python}: {target.reason}", err=True)


def check_output(output: Path | None, force: bool, *more: Path | None) -> None:
    """Every output of the command, checked before any work and any write."""
    if output is None and not any(more):
        return  # stdout only
    from envkit.files import OutputFileError, check_outputs

    try:
        check_outputs([output, *more], force=force)
    except OutputFileError as error:
        fail(str(error))


def emit(text: str, output: Path | None, force: bool) -> None:
    from envkit.files import OutputFileError, write_text_atomic

    if output is None:
        _write_stdout(text)
        return
    try:
        write_text_atomic(output, text, force=force)
    except OutputFileError as error:
        fail(str(error))


def _write_stdout(text: str) -> None:
    from envkit.controls import write_shown

    write_shown(sys.stdout, text)  # no control character from any input reaches a terminal


def emit_rich(draw: Callable[[Console], None], output: Path | None, force: bool) -> None:
    import io

    from envkit.terminal import SafeConsole

    if output is None:
        draw(SafeConsole(highlight=False))
        return
    buffer = io.StringIO()
    draw(SafeConsole(file=buffer, width=120, color_system=None, highlight=False))
    emit(buffer.getvalue(), output, force)
