"""envkit smoke: the tutorial's MNIST run."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envkit.cli._app import (
    EnvOption,
    ForceOption,
    KernelOption,
    OutputOption,
    PythonOption,
    app,
    check_output,
    fail,
    resolve_target,
    say_target,
    timeout_seconds,
)
from envkit.cli._output import Renderers, emit_report

if TYPE_CHECKING:
    from envkit.smoke import SmokeResult as SmokeResultType
    from envkit.smoke import SmokeSpec as SmokeSpecType


class Device(str, enum.Enum):
    AUTO = "auto"
    CPU = "cpu"
    GPU = "gpu"
    ALL = "all"


class SmokeModel(str, enum.Enum):
    MLP = "mlp"
    CNN = "cnn"
    RNN = "rnn"
    ALL = "all"


class Backend(str, enum.Enum):
    TENSORFLOW = "tensorflow"
    JAX = "jax"
    TORCH = "torch"


@app.command()
def smoke(
    python: PythonOption = None,
    env: EnvOption = None,
    kernel: KernelOption = None,
    device: Annotated[
        Device, typer.Option(help="Where to train; all = CPU then GPU.")
    ] = Device.AUTO,
    model: Annotated[
        list[SmokeModel] | None,
        typer.Option(help="mlp (the tutorial's), cnn, rnn or all; repeatable."),
    ] = None,
    backend: Annotated[
        Backend | None, typer.Option(help="Keras 3 backend (default: TensorFlow where installed).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs (default 5).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Batch size.")] = 128,
    quick: Annotated[
        bool, typer.Option("--quick", help="One epoch on a subset: a verdict in seconds.")
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="mnist.npz, or a folder with the four IDX .gz files."),
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never download MNIST.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", parser=timeout_seconds, help="Kill the run after this long."
        ),
    ] = 900.0,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Train the tutorial's MNIST network in the examined environment, and prove where it ran."""
    from envkit.smoke import SmokeSpec
    from envkit.smoke.render import print_report, report_json
    from envkit.smoke.report import smoke_report

    check_output(output, force)
    spec = SmokeSpec(
        models=_smoke_models(model),
        device=device.value,
        epochs=epochs,
        batch_size=batch_size,
        quick=quick,
        backend=backend.value if backend else None,
        data=str(data) if data else None,
        offline=offline,
        timeout_s=timeout,
    )
    target = resolve_target(python, env, kernel)
    report = smoke_report(run_smoke_live(target.python, spec))
    say_target(target)
    renderers = Renderers(print_report, json=report_json)
    emit_report(report, renderers, "json" if as_json else "text", output, force)
    raise typer.Exit(report.exit_code)


def _smoke_models(models: list[SmokeModel] | None) -> tuple[str, ...] | None:
    if not models:
        return None
    if SmokeModel.ALL in models:
        return ("mlp", "cnn", "rnn")
    return tuple(dict.fromkeys(m.value for m in models))


def run_smoke_live(python: str, spec: SmokeSpecType) -> SmokeResultType:
    """Run the job with a live progress bar on stderr; bad input ends the command."""
    from envkit.smoke import run_smoke
    from envkit.smoke.render import SmokeProgress
    from envkit.terminal import SafeConsole

    try:
        with SmokeProgress(SafeConsole(stderr=True)) as show:
            return run_smoke(python, spec, on_event=show)
    except ValueError as error:  # DataError included: one line naming the file
        fail(str(error))
