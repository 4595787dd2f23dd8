"""The command line: each command parses options, calls one core function and one renderer."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from envkit import __version__
from envkit.model import DoctorReport, Finding, Snapshot

if TYPE_CHECKING:
    from rich.console import Console

    from envkit.envfiles import CheckResult as EnvCheckResultType
    from envkit.smoke import SmokeResult as SmokeResultType
    from envkit.smoke import SmokeSpec as SmokeSpecType
    from envkit.validate.model import ValidationReport as ValidationReportType


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


@app.command()
def report(
    python: PythonOption = None,
    env: EnvOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="The whole snapshot as JSON.")] = False,
    output: OutputOption = None,
    force: ForceOption = False,
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
        from envkit.render.report import print_report

        _emit_rich(lambda console: print_report(console, snapshot, verbose=verbose), output, force)


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
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Judge whether driver, GPU, Python, TensorFlow and Keras fit, and print the fixes."""
    if list_checks:
        _print_checks()
        return
    if as_json and markdown:
        fail("give --json or --markdown, not both")
    if snapshot_file is not None and (python or env or run_smoke):
        fail("--snapshot diagnoses a saved machine; --python, --env and --smoke examine this one")
    _check_output(output, force)
    target = None if snapshot_file else resolve_target(python, env)
    snapshot = _load_snapshot(snapshot_file) if snapshot_file else _collect(target)
    from envkit.doctor import diagnose, with_findings

    report = diagnose(snapshot)
    if run_smoke:
        report = with_findings(report, _doctor_smoke_findings(target, smoke_data, offline))
    text = _doctor_text(report, as_json, markdown, redact, verbose, output)
    if text is not None:
        _emit(text, output, force)
    raise typer.Exit(report.exit_status)


def _collect(target: str | None) -> Snapshot:
    from envkit.probes import collect

    return collect(target)


def _doctor_smoke_findings(
    target: str | None, data: Path | None, offline: bool
) -> tuple[Finding, ...]:
    from envkit.smoke import SmokeSpec, findings_from

    spec = SmokeSpec(data=str(data) if data else None, offline=offline)
    return findings_from(_run_smoke(target, spec))


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
    from envkit.smoke import SMOKE_CHECKS

    checks = (*(c.info for c in all_checks()), *SMOKE_CHECKS)
    print_checks(Console(highlight=False), checks)


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
        float, typer.Option(min=1, metavar="SECONDS", help="Kill the run after this long.")
    ] = 900.0,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Train the tutorial's MNIST network in the examined environment, and prove where it ran."""
    from envkit.smoke import SmokeSpec, findings_from
    from envkit.smoke.render import exit_status, print_result, smoke_json

    _check_output(output, force)
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
    result = _run_smoke(resolve_target(python, env), spec)
    findings = findings_from(result)
    if as_json:
        _emit(smoke_json(result, findings), output, force)
    else:
        _emit_rich(lambda console: print_result(console, result, findings), output, force)
    raise typer.Exit(exit_status(result))


def _smoke_models(models: list[SmokeModel] | None) -> tuple[str, ...] | None:
    if not models:
        return None
    if SmokeModel.ALL in models:
        return ("mlp", "cnn", "rnn")
    return tuple(dict.fromkeys(m.value for m in models))


def _run_smoke(target: str | None, spec: SmokeSpecType) -> SmokeResultType:
    """Run the job with a live progress bar on stderr; bad input ends the command."""
    from rich.console import Console

    from envkit.smoke import run_smoke
    from envkit.smoke.render import SmokeProgress

    try:
        with SmokeProgress(Console(stderr=True)) as show:
            return run_smoke(target, spec, on_event=show)
    except ValueError as error:  # DataError included: one line naming the file
        fail(str(error))


def _emit_rich(draw: Callable[[Console], None], output: Path | None, force: bool) -> None:
    import io

    from rich.console import Console

    if output is None:
        draw(Console(highlight=False))
        return
    buffer = io.StringIO()
    draw(Console(file=buffer, width=120, color_system=None, highlight=False))
    _emit(buffer.getvalue(), output, force)


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
PlatformOption = Annotated[
    Platform, typer.Option(help="The platform the file is for (the Linux route by default).")
]


@env_app.command("generate")
def env_generate(
    gpu: Annotated[
        bool, typer.Option("--gpu", help="TensorFlow with NVIDIA's CUDA wheels.")
    ] = False,
    cpu: Annotated[bool, typer.Option("--cpu", help="TensorFlow on the CPU.")] = False,
    python: Annotated[str | None, typer.Option(metavar="X.Y", help="Python version.")] = None,
    tensorflow: Annotated[
        str | None, typer.Option(metavar="X.Y", help="TensorFlow version (default: newest).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The environment's name.")] = None,
    platform: PlatformOption = Platform.LINUX,
    jupyter: JupyterOption = True,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Write a conda environment.yml from envkit's compatibility facts."""
    from envkit.envfiles import DEFAULT_FILE_NAME, SpecError, spec_for, to_yaml

    if gpu == cpu:
        fail("give exactly one of --gpu and --cpu")
    _check_output(output, force)
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
    _emit(to_yaml(spec), output, force)


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
    python: Annotated[
        str | None, typer.Option(metavar="X.Y", help="With --fix: the Python to move to.")
    ] = None,
    platform: PlatformOption = Platform.LINUX,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Check an existing environment file; with --fix, write one whose versions fit."""
    from envkit.envfiles import EnvFileError, check_file
    from envkit.envfiles.render import print_check

    if write_fix and output is None:
        fail("--fix writes a new file: give it with -o NEW.yml")
    if output is not None and not write_fix:
        fail("-o goes with --fix")
    _check_output(output, force)
    try:
        result = check_file(file)
    except EnvFileError as error:
        fail(str(error))
    _emit_rich(lambda console: print_check(console, result, verbose=verbose), None, force)
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
    _emit(text, output, force)
    typer.echo(f"wrote {output}", err=True)


@env_app.command("export")
def env_export(
    python: PythonOption = None,
    env: EnvOption = None,
    name: Annotated[str | None, typer.Option(help="The name to give the environment.")] = None,
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Write the examined environment as a reproducible environment.yml (pinned)."""
    from envkit.envfiles import DEFAULT_FILE_NAME, EnvFileError, export_env, to_yaml
    from envkit.model import Unavailable
    from envkit.probes import python_env

    _check_output(output, force)
    target = resolve_target(python, env) or sys.executable
    info, _ = python_env.probe(target)
    if isinstance(info, Unavailable):
        fail(f"{target}: {info.reason}")
    try:
        spec = export_env(info, name=name, file_name=output.name if output else DEFAULT_FILE_NAME)
    except EnvFileError as error:
        fail(str(error))
    _emit(to_yaml(spec), output, force)


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

    _check_output(output, force)
    if junit is not None:
        _check_output(junit, force)
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

        _emit(validation_junit([report]), junit, force)
    raise typer.Exit(report.exit_status)


def _emit_validation(
    report: ValidationReportType, as_json: bool, verbose: bool, output: Path | None, force: bool
) -> None:
    if as_json:
        from envkit.validate.report_json import validation_json

        _emit(validation_json(report), output, force)
        return
    from envkit.validate.render import print_validation

    _emit_rich(lambda console: print_validation(console, report, verbose=verbose), output, force)


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

    _check_output(output, force)
    if junit is not None:
        _check_output(junit, force)
    missing = [str(path) for path in paths if not path.exists()]
    if len(missing) == len(paths):
        fail(f"no such file or folder: {', '.join(missing)}")
    summary = summarize(paths, expected_nodes=expect_node or ())
    if as_json:
        _emit(fleet_json(summary), output, force)
    else:
        _emit_rich(lambda console: print_fleet(console, summary), output, force)
    if junit is not None:
        from envkit.validate.fleet import expand_paths, read_reports
        from envkit.validate.junit import validation_junit

        reports, _ = read_reports(expand_paths(paths))
        _emit(validation_junit([report for _, report in reports]), junit, force)
    raise typer.Exit(summary.exit_status)


def main() -> None:
    app(prog_name="envkit")
