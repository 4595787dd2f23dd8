"""envkit report: the snapshot."""

from __future__ import annotations

from typing import Annotated

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
from envkit.model import Snapshot


@app.command()
def report(
    python: PythonOption = None,
    env: EnvOption = None,
    kernel: KernelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole snapshot as JSON.")] = False,
    output: OutputOption = None,
    force: ForceOption = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Every package and build fact.")
    ] = False,
    from_inputs: FromOption = None,
) -> None:
    """Show the machine: OS, CPU, memory, NVIDIA driver and GPUs, Python, TensorFlow, conda."""
    from envkit.render.json_doc import snapshot_json

    check_output(output, force)
    if from_inputs and kernel:
        fail("--from reads a recorded machine; --kernel examines this one")
    if from_inputs:
        snapshot = _snapshot_from_inputs(from_inputs, python, env)
    else:
        renderer = () if as_json else ("envkit.render.report",)  # rich and the report's view
        snapshot = collect_while_importing(resolve_target(python, env, kernel), renderer)
    if as_json:
        emit(snapshot_json(snapshot), output, force)
    else:
        from envkit.render.report import print_report

        emit_rich(lambda console: print_report(console, snapshot, verbose=verbose), output, force)


def _snapshot_from_inputs(paths: list[str], python: str | None, env: str | None) -> Snapshot:
    from envkit.cli._app import fail
    from envkit.cli._from import read_from
    from envkit.inputs.snapshot import snapshot_from

    if python or env:
        fail("--from reads a recorded machine; --python and --env examine this one")
    return snapshot_from(read_from(paths))
