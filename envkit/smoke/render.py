"""The smoke run on screen: a live progress bar driven by the job's events, a result table, JSON.

Every function takes the rich Console as a parameter; tests pass one that writes to a buffer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from envkit.codec import encode
from envkit.envelope import SMOKE, envelope
from envkit.model import Finding
from envkit.render.report import SEPARATOR, wrap_parts
from envkit.render.wrap import fix_lines
from envkit.smoke.model import LineKind, RunVerdict, SmokeResult, SmokeRun
from envkit.smoke.report import SmokeReport, exit_code_of
from envkit.smoke.runner import JobEvent

MIB = 1024**2
_VERDICT_STYLE = {RunVerdict.PASS: "green", RunVerdict.FAIL: "red", RunVerdict.ERROR: "red"}


class StepsColumn(MofNCompleteColumn):
    """Rich's M-of-N column, blank for a phase that has no steps (never ``0/None``)."""

    def render(self, task: Task) -> Text:
        return super().render(task) if task.total is not None else Text("")


class RateColumn(ProgressColumn):
    """Batches per second from rich's own speed estimate; blank until there is one."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if task.total is None or not speed:
            return Text("")
        shown = f"{speed / 1000:.1f}k" if speed >= 1000 else f"{speed:.0f}"
        return Text(f"{shown} batch/s", style="progress.data.speed")


PHASE_COLUMNS = 26
"""Width of the phase name: the longest, 'cnn on GPU · epoch 10/10', fits; wider ones fold to …"""
METRIC_COLUMNS = 25
"""Width of 'loss 0.1234 · acc 0.9876', so that the bar never shrinks as the numbers change."""


class SmokeProgress:
    """``with SmokeProgress(console) as show: run_smoke(python, spec, on_event=show)``.

    One task whose description names the phase truthfully (starting, importing, loading the
    data, model on device · epoch M/N, evaluating); during an epoch rich's own columns show
    the batches done of the epoch's (M/N), the elapsed time and the rate. Every column has a
    fixed width, so the line keeps its width from the first event to the last. A line per
    finished epoch stays on screen; an error is left to the result's findings.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = progress_display(console)
        self.task: TaskID | None = None
        self.run: dict[str, Any] = {}
        self.started = False

    def __enter__(self) -> SmokeProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.started:
            self.progress.__exit__(kind, error, trace)

    def __call__(self, event: JobEvent) -> None:
        # The display starts with the child's first word, so that input refused before any
        # training (a corrupt data file) leaves nothing but its one-line error.
        if not self.started:
            self.started = True
            self.progress.__enter__()
            self._status("starting the interpreter")
        handler = getattr(self, f"_on_{event.name}", None)
        if handler is not None:
            handler(event.fields)

    def _status(self, text: str, total: int | None = None) -> None:
        if self.task is not None:
            self.progress.remove_task(self.task)
        self.task = self.progress.add_task(text, total=total, metrics="")

    def _on_phase(self, fields: dict[str, Any]) -> None:
        self._status(f"importing {fields.get('backend') or 'the framework'}")

    def _on_ready(self, fields: dict[str, Any]) -> None:
        versions = fields.get("versions") or {}
        gpus = ", ".join(fields.get("gpus") or ()) or "no GPU"
        self.progress.console.print(
            Text(
                f"{fields.get('backend')} {versions.get('backend_version', '?')} · "
                f"Keras {versions.get('keras', '?')} · {gpus}",
                style="dim",
            )
        )
        self._status("loading the data")

    def _on_data(self, fields: dict[str, Any]) -> None:
        source = fields.get("source")
        if source == "synthetic":
            self.progress.console.print(Text("data: synthetic digits (not MNIST)", style="yellow"))
        self._status("building the network")

    def _on_run_start(self, fields: dict[str, Any]) -> None:
        self.run = dict(fields)
        self._epoch_bar(1)

    def _where(self) -> str:
        return f"{self.run.get('model', '?')} on {str(self.run.get('device', '?')).upper()}"

    def _epoch_bar(self, epoch: int) -> None:
        label = f"{self._where()} · epoch {epoch}/{self.run.get('epochs', '?')}"
        self._status(label, total=int(self.run.get("steps_per_epoch") or 1))

    def _on_batch(self, fields: dict[str, Any]) -> None:
        if self.task is not None:
            self.progress.update(
                self.task, completed=int(fields.get("batch") or 0), metrics=_metrics(fields)
            )

    def _on_epoch(self, fields: dict[str, Any]) -> None:
        epoch = int(fields.get("epoch") or 0)
        self.progress.console.print(
            Text(
                f"  {self._where()} · epoch {epoch}/{self.run.get('epochs')}  "
                f"{_metrics(fields)}  {float(fields.get('seconds') or 0):.1f} s"
            )
        )
        if epoch < int(self.run.get("epochs") or 0):
            self._epoch_bar(epoch + 1)
        else:
            self._status(f"{self._where()} · testing")

    def _on_run_end(self, fields: dict[str, Any]) -> None:
        self._status(f"{self._where()} done")


def progress_display(console: Console) -> Progress:
    """The live line: phase, bar, M/N batches, loss and accuracy, elapsed, rate; fixed widths."""
    return Progress(
        TextColumn(
            "{task.description}",
            table_column=Column(width=PHASE_COLUMNS, no_wrap=True, overflow="ellipsis"),
        ),
        BarColumn(bar_width=16),
        StepsColumn(table_column=Column(width=9, justify="right")),
        TextColumn("{task.fields[metrics]}", table_column=Column(width=METRIC_COLUMNS)),
        TimeElapsedColumn(table_column=Column(width=7)),
        RateColumn(table_column=Column(width=15, justify="right", no_wrap=True)),
        console=console,
        transient=True,
        expand=False,
    )


def _metrics(fields: dict[str, Any]) -> str:
    loss, acc = fields.get("loss"), fields.get("acc")
    shown_loss = f"{loss:.4f}" if isinstance(loss, float) else "nan"
    shown_acc = f"{acc:.4f}" if isinstance(acc, float) else "?"
    return f"loss {shown_loss} · acc {shown_acc}"


WIDE_TABLE_COLUMNS = 110
"""Below this console width the table drops s/epoch and peak RSS and folds in the reference."""


def result_table(result: SmokeResult, *, wide: bool = True) -> Table:
    table = Table(title=None, show_edge=False, header_style="bold")
    columns = [("model", "left"), ("device", "left"), ("epochs", "right")]
    columns += [("train acc", "right"), ("test acc", "right")]
    columns += [("reference", "right")] if wide else []
    columns += [("samples/s", "right")]
    columns += [("s/epoch", "right"), ("peak RSS", "right")] if wide else []
    columns += [("verdict", "left")]
    for column, justify in columns:
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for run in result.runs:
        table.add_row(*_row(run, wide=wide))
    return table


def _row(run: SmokeRun, *, wide: bool) -> list[str | Text]:
    reference = run.reference
    wanted = f"≥ {reference.min_test_accuracy:.3f}"
    if reference.test_accuracy is not None:
        wanted = f"~{reference.test_accuracy:.3f} ({wanted})"
    per_epoch = f"{sum(e.seconds for e in run.epochs) / len(run.epochs):.2f}" if run.epochs else "-"
    device = run.device.upper() + (
        f" ({run.device_name})" if run.device == "gpu" and run.device_name else ""
    )
    test = _pct(run.test_accuracy)
    if not wide:
        test += f" (≥{reference.min_test_accuracy:.3f})"
    cells: list[str | Text] = [
        run.model,
        device,
        f"{len(run.epochs)}/{run.epochs_planned}",
        _pct(run.train_accuracy),
        test,
    ]
    cells += [wanted] if wide else []
    cells.append(f"{run.samples_per_s:,.0f}" if run.samples_per_s else "-")
    if wide:
        cells.append(per_epoch)
        cells.append(f"{run.peak_rss_bytes / MIB:,.0f} MiB" if run.peak_rss_bytes else "-")
    cells.append(Text(run.verdict.value.upper(), style=_VERDICT_STYLE[run.verdict]))
    return cells


def print_stacked(console: Console, result: SmokeResult) -> None:
    """The table as one block per run, for a console too narrow for its columns."""
    for run in result.runs:
        cells = _row(run, wide=False)
        verdict = cells[-1]
        console.print(Text.assemble(f"{run.model} on {cells[1]}: ", verdict), soft_wrap=True)
        facts = SEPARATOR.join(
            f"{name} {cell}" for name, cell in zip(STACKED_NAMES, cells[2:-1], strict=True)
        )
        for line in wrap_parts(facts, max(30, console.width - 2)):
            console.print(Text("  " + line), soft_wrap=True)


STACKED_NAMES = ("epochs", "train acc", "test acc", "samples/s")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def summary_lines(result: SmokeResult) -> list[str]:
    """Plain facts under the table: the stack, the data, placement, libraries, noise."""
    lines = []
    stack = result.stack
    if stack is not None:
        lines.append(
            f"interpreter  {result.python} (Python {stack.python_version})"
            f" · {stack.backend} {stack.backend_version or '?'} · Keras {stack.keras_version}"
            f" · NumPy {stack.numpy_version}"
        )
        lines.append(f"GPUs seen    {', '.join(stack.gpus) or 'none'}")
    if result.data is not None:
        data = result.data
        where = f" from {data.path}" if data.path else ""
        lines.append(
            f"data         {data.label}{where}: {data.train_samples:,} train, "
            f"{data.test_samples:,} test"
        )
    for run in result.runs:
        if run.placement is not None:
            devices = sorted(set(run.placement.forward_devices + run.placement.variable_devices))
            lines.append(
                f"placement    {run.model}/{run.device}: {', '.join(devices)} "
                f"({run.placement.method})"
            )
        lines.append(f"exercised    {run.model}/{run.device}: {', '.join(run.libraries)}")
        if run.verdict is not RunVerdict.PASS:
            lines.append(f"why          {run.model}/{run.device}: {run.verdict_reason}")
    if result.speedup is not None:
        lines.append(f"speedup      GPU {result.speedup:.1f}x the CPU (samples/s during fit)")
    noise = [d for d in result.diagnoses if d.kind is LineKind.NOISE]
    if noise:
        shown = ", ".join(f"{d.cause} x{d.count}" for d in noise)
        lines.append(f"log noise    harmless, ignored: {shown}")
    if result.failure is not None:
        lines.append(f"failure      {result.failure.message}")
    lines.append(f"wall time    {result.wall_seconds:.1f} s")
    return lines


def print_result(console: Console, result: SmokeResult, findings: Iterable[Finding] = ()) -> None:
    if result.runs:
        table = result_table(result, wide=console.width >= WIDE_TABLE_COLUMNS)
        if (
            Measurement.get(console, console.options.update_width(1000), table).maximum
            <= console.width
        ):
            console.print(table)
        else:  # never a header cut to "mo…": one block per run instead
            print_stacked(console, result)
    for line in summary_lines(result):
        label, _, body = line.partition("  ")
        head = label + "  " + " " * (len(body) - len(body.lstrip()))
        first, *rest = wrap_parts(body.lstrip(), max(30, console.width - len(head)))
        console.print(Text(head + first), soft_wrap=True)
        for more in rest:
            console.print(Text(" " * len(head) + more), soft_wrap=True)
    for finding in findings:
        style = {"error": "red", "warning": "yellow", "info": "dim"}[finding.severity.value]
        head = f"{finding.severity.value.upper():7} "
        title, *rest = wrap_parts(finding.title, max(30, console.width - len(head)))
        console.print(Text(head + title, style=style), soft_wrap=True)
        for line in rest:
            console.print(Text(" " * len(head) + line, style=style), soft_wrap=True)
        for fix in (line for entry in finding.fix for line in entry.splitlines()):
            for line in fix_lines(fix, console.width - 8):
                console.print(Text(f"        {line}", style="cyan"), soft_wrap=True)
    console.print(
        Text(
            f"verdict: {result.verdict.value.upper()}",
            style="bold " + _VERDICT_STYLE[result.verdict],
        )
    )


def smoke_json(result: SmokeResult, findings: Iterable[Finding] = ()) -> str:
    """The result as a versioned JSON document; the data's label is spelled out for readers."""
    document = {
        **envelope(SMOKE),
        "result": encode(result),
        "data_label": result.data.label if result.data else None,
        "findings": [encode(finding) for finding in findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def exit_status(result: SmokeResult) -> int:
    """0 for a pass, 1 for a fail or an error (bad input is the CLI's status 2)."""
    return int(exit_code_of(result))


def print_report(console: Console, report: SmokeReport) -> None:
    print_result(console, report.result, report.findings)


def report_json(report: SmokeReport) -> str:
    return smoke_json(report.result, report.findings)
