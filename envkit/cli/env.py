"""envkit env: environment files."""

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
    non_empty_text,
    resolve_target,
    say_target,
)

if TYPE_CHECKING:
    from envkit.envfiles import EnvFileReport as EnvCheckResultType


env_app = typer.Typer(
    name="env",
    help="Write and check conda environment files whose versions fit together.",
    no_args_is_help=True,
)
app.add_typer(env_app)


class Platform(str, enum.Enum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"


JupyterOption = Annotated[
    bool, typer.Option("--jupyter/--no-jupyter", help="Add Jupyter, as the tutorial uses it.")
]
PythonVersionOption = Annotated[
    str | None, typer.Option("--python-version", metavar="X.Y", help="Python version.")
]
DeprecatedPythonOption = Annotated[
    str | None,
    typer.Option("--python", metavar="X.Y", hidden=True, help="Deprecated: --python-version."),
]
PlatformOption = Annotated[
    Platform, typer.Option(help="The platform the file is for (the Linux route by default).")
]


@env_app.command("generate")
def env_generate(
    gpu: Annotated[
        bool, typer.Option("--gpu", help="TensorFlow with NVIDIA's CUDA wheels.")
    ] = False,
    cpu: Annotated[bool, typer.Option("--cpu", help="TensorFlow on the CPU.")] = False,
    python_version: PythonVersionOption = None,
    python: DeprecatedPythonOption = None,
    tensorflow: Annotated[
        str | None, typer.Option(metavar="X.Y", help="TensorFlow version (default: newest).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(parser=non_empty_text, help="The environment's name.")
    ] = None,
    platform: PlatformOption = Platform.LINUX,
    jupyter: JupyterOption = True,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Write a conda environment.yml from envkit's compatibility facts."""
    from envkit.envfiles import DEFAULT_FILE_NAME, SpecError, spec_for, to_yaml

    if gpu == cpu:
        fail("give exactly one of --gpu and --cpu")
    python = _python_version(python_version, python)
    check_output(output, force)
    try:
        spec = spec_for(
            gpu=gpu,
            python=python,
            tensorflow=tensorflow,
            name=name,
            platform=platform.value,
            jupyter=jupyter,
            file_name=output.name if output else DEFAULT_FILE_NAME,
        )
    except SpecError as error:
        fail(str(error))
    emit(to_yaml(spec), output, force)


@env_app.command("check")
def env_check(
    file: Annotated[Path, typer.Argument(help="An environment.yml or requirements.txt.")],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="The evidence behind every finding.")
    ] = False,
    write_fix: Annotated[
        bool, typer.Option("--fix", help="Write a corrected file to -o NEW.yml.")
    ] = False,
    tensorflow: Annotated[
        str | None, typer.Option(metavar="X.Y", help="With --fix: the TensorFlow to move to.")
    ] = None,
    python_version: Annotated[
        str | None,
        typer.Option("--python-version", metavar="X.Y", help="With --fix: the Python to move to."),
    ] = None,
    python: DeprecatedPythonOption = None,
    platform: PlatformOption = Platform.LINUX,
    output: OutputOption = None,
    force: ForceOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The findings as a JSON document (envcheck-1).")
    ] = False,
) -> None:
    """Check an existing environment file; with --fix, write one whose versions fit."""
    from envkit.envfiles import EnvFileError, check_file
    from envkit.envfiles.render import print_check
    from envkit.envfiles.report_json import envcheck_json

    python = _python_version(python_version, python)
    if as_json and write_fix:
        fail("--json reports on the file; --fix writes a new one: give one of them")
    if write_fix and output is None:
        fail("--fix writes a new file: give it with -o NEW.yml")
    if output is not None and not write_fix:
        fail("-o goes with --fix")
    check_output(output, force)
    try:
        result = check_file(file)
    except EnvFileError as error:
        fail(str(error))
    if as_json:
        emit(envcheck_json(result), None, force)
    else:
        emit_rich(lambda console: print_check(console, result, verbose=verbose), None, force)
    if write_fix and output is not None:
        _write_fixed(result, output, force, tensorflow, python, platform.value)
    raise typer.Exit(result.exit_status)


def _write_fixed(
    result: EnvCheckResultType,
    output: Path,
    force: bool,
    tensorflow: str | None,
    python: str | None,
    platform: str,
) -> None:
    from envkit.envfiles import SpecError, fix

    try:
        text = fix(
            result, tensorflow=tensorflow, python=python, platform=platform, file_name=output.name
        )
    except SpecError as error:
        fail(str(error))
    emit(text, output, force)
    typer.echo(f"wrote {output}", err=True)


@env_app.command("export")
def env_export(
    python: PythonOption = None,
    env: EnvOption = None,
    name: Annotated[
        str | None, typer.Option(parser=non_empty_text, help="The name to give the environment.")
    ] = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Write the examined environment as a reproducible environment.yml (pinned)."""
    from envkit.envfiles import DEFAULT_FILE_NAME, EnvFileError, export_env, to_yaml
    from envkit.model import Unavailable
    from envkit.probes import python_env

    check_output(output, force)
    target = resolve_target(python, env)
    info, _ = python_env.probe(target.python)
    if isinstance(info, Unavailable):
        fail(f"{target.python}: {info.reason}")
    try:
        spec = export_env(info, name=name, file_name=output.name if output else DEFAULT_FILE_NAME)
    except EnvFileError as error:
        fail(str(error))
    say_target(target)
    emit(to_yaml(spec), output, force)


def _python_version(python_version: str | None, deprecated: str | None) -> str | None:
    """--python X.Y still works here, with a warning: elsewhere --python names an interpreter."""
    if deprecated is None:
        return python_version
    if python_version is not None:
        fail("give --python-version only (--python is its deprecated old name)")
    typer.echo(
        "envkit: warning: `env --python X.Y` is deprecated; use --python-version X.Y "
        "(--python names an interpreter in the other commands)",
        err=True,
    )
    return deprecated
