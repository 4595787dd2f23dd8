"""`envkit validate` for a person and for a log: one line per check, then the node's verdict.

::

    envkit validate 0.1.0 · node gpu-07 · default tier · 74.2 s
    Driver 550.54.15 (CUDA 12.4) · 8× NVIDIA H100 80GB HBM3

    Node
      [PASS] node.gpu-count        8 GPUs, as expected
    GPU 3 · NVIDIA H100 80GB HBM3 · 00000000:2A:00.0
      [FAIL] gpu.ecc-uncorrected   2 uncorrected ECC errors since boot
             volatile DRAM uncorrected 2 (threshold 0)
             Action: drain the node and reset GPU 3

    Verdict: FAIL · 1 failed, 0 warned, 0 skipped, 1 passed · gpu-07 must not be used (exit 1)

The marks are plain words in brackets so that ``grep '\\[FAIL\\]'`` works on any log. Checks keep
the order the checks ran in, so the same check lines up across GPUs and across nodes. What shows:
fail, warn and skip always show their evidence (for a skip, why) and action; a pass shows its
evidence and action with ``verbose``. Everything from the report is a rich ``Text``, never markup.
"""  # noqa: RUF002 -- the multiplication sign is what it prints

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.text import Text

from envkit.render.doctor import print_check_line
from envkit.render.report import GIB, SEPARATOR, wrap_parts
from envkit.validate.catalog import ValidateCheck
from envkit.validate.model import CheckResult, GpuIdentity, ValidationReport, Verdict

MARKS = {
    Verdict.PASS: ("[PASS]", "bold green"),
    Verdict.WARN: ("[WARN]", "bold yellow"),
    Verdict.FAIL: ("[FAIL]", "bold red"),
    Verdict.SKIP: ("[SKIP]", "bold blue"),
}
VERDICT_STYLES = {
    Verdict.PASS: "bold green",
    Verdict.WARN: "bold yellow",
    Verdict.FAIL: "bold red",
    Verdict.SKIP: "bold blue",
}
CHECK_INDENT = 2
MARK_WIDTH = len("[PASS] ")
MIN_TEXT_WIDTH = 30
Group = tuple[str, list[CheckResult]]


def print_validation(console: Console, report: ValidationReport, *, verbose: bool) -> None:
    for line in header_lines(report):
        label, colon, body = line.partition(": ")
        head = Text(label + colon) if colon and " " not in label else Text("")
        _print_wrapped(console, head, body if head else line, indent=head.cell_len or 2)
    console.print()
    id_width = max((len(result.check_id) for result in report.results), default=0)
    hidden = False
    for title, results in check_groups(report):
        console.print(Text(title, style="bold"), soft_wrap=True)
        for result in results:
            hidden |= _print_result(console, result, id_width, verbose=verbose)
    if not report.results:
        console.print(Text("No check ran.", style="bold red"))
    console.print()
    label, _, verdict = summary_line(report).partition(": ")
    hang = len(label) + 2
    first, *rest = wrap_parts(verdict, max(MIN_TEXT_WIDTH, console.width - hang))
    style = VERDICT_STYLES[report.verdict]
    console.print(Text(f"{label}: {first}", style=style), soft_wrap=True)
    for line in rest:
        console.print(Text(" " * hang + line, style=style), soft_wrap=True)
    if hidden:
        console.print(Text("Run with -v to see the evidence for every check.", style="dim"))


def header_lines(report: ValidationReport) -> list[str]:
    """The tool and node line, the driver and GPUs line, and what was expected, if anything."""
    first = SEPARATOR.join(
        [
            f"envkit validate {report.envkit_version}",
            f"node {report.node}",
            f"{report.tier.value} tier",
            f"{report.duration_s:.1f} s",
        ]
    )
    lines = [first, SEPARATOR.join([driver_text(report), *gpu_groups(report.gpus)])]
    expected = expectations_text(report)
    return [*lines, f"Expected: {expected}"] if expected else lines


def driver_text(report: ValidationReport) -> str:
    if report.driver_version is None:
        return "Driver unknown"
    cuda = f" (CUDA {report.cuda_driver_version})" if report.cuda_driver_version else ""
    return f"Driver {report.driver_version}{cuda}"


def gpu_groups(gpus: Iterable[GpuIdentity]) -> list[str]:
    names = Counter(gpu.name or "unnamed GPU" for gpu in gpus)
    if not names:
        return ["no GPU"]
    return [f"{count}× {name}" for name, count in names.items()]  # noqa: RUF001 -- the sign is meant


def expectations_text(report: ValidationReport) -> str:
    expect = report.expectations
    parts = [
        plural(expect.gpu_count, "GPU", "GPUs") if expect.gpu_count is not None else None,
        f'model "{expect.gpu_model}"' if expect.gpu_model else None,
        f"{expect.memory_gib:g} GiB per GPU" if expect.memory_gib is not None else None,
        f"driver ≥ {expect.min_driver}" if expect.min_driver else None,
    ]
    return SEPARATOR.join(part for part in parts if part)


def check_groups(report: ValidationReport) -> list[Group]:
    """Node-level results first, then one group per GPU in index order; results in run order."""
    node = [result for result in report.results if result.gpu_index is None]
    indexes = sorted({r.gpu_index for r in report.results if r.gpu_index is not None})
    groups: list[Group] = [("Node", node)] if node else []
    by_index = {gpu.index: gpu for gpu in report.gpus}
    for index in indexes:
        results = [result for result in report.results if result.gpu_index == index]
        groups.append((gpu_title(index, by_index.get(index)), results))
    return groups


def gpu_title(index: int, gpu: GpuIdentity | None) -> str:
    if gpu is None:
        return f"GPU {index}"
    memory = f"{gpu.memory_total_bytes / GIB:.0f} GiB" if gpu.memory_total_bytes else None
    parts = [f"GPU {index}", gpu.name, gpu.pci_bus_id, memory]
    return SEPARATOR.join(part for part in parts if part)


def verdict_counts(results: Iterable[CheckResult]) -> dict[Verdict, int]:
    """How many results came out each way, every verdict present (zero when none)."""
    counts = Counter(result.verdict for result in results)
    return {verdict: counts.get(verdict, 0) for verdict in Verdict}


def counts_text(results: Sequence[CheckResult]) -> str:
    counts = verdict_counts(results)
    return (
        f"{counts[Verdict.FAIL]} failed, {counts[Verdict.WARN]} warned, "
        f"{counts[Verdict.SKIP]} skipped, {counts[Verdict.PASS]} passed"
    )


def summary_line(report: ValidationReport) -> str:
    """``Verdict: FAIL · 1 failed, 0 warned, 2 skipped, 9 passed · gpu-07 must not be used``."""
    verdict = report.verdict
    return SEPARATOR.join(
        [f"Verdict: {verdict.value.upper()}", counts_text(report.results), _meaning(report)]
    )


def _meaning(report: ValidationReport) -> str:
    node = report.node
    if not report.results:
        return f"no check ran, so nothing proves {node} usable (exit 1)"
    if report.verdict is Verdict.PASS:
        return f"{node} is fit to use (exit 0)"
    if report.verdict is Verdict.WARN:
        return f"{node} is usable; read the warnings (exit 0)"
    if not any(result.verdict is Verdict.FAIL for result in report.results):
        return f"every check was skipped, so nothing proves {node} usable (exit 1)"
    return f"{node} must not be used (exit 1)"


def _print_result(console: Console, result: CheckResult, id_width: int, *, verbose: bool) -> bool:
    """Print one check; True when its evidence or action was left out for want of ``verbose``."""
    mark, style = MARKS[result.verdict]
    head = Text.assemble(
        " " * CHECK_INDENT, (mark, style), " ", (result.check_id.ljust(id_width), "cyan"), "  "
    )
    _print_wrapped(console, head, result.title, indent=head.cell_len)
    shown = verbose or result.verdict is not Verdict.PASS
    detail_indent = CHECK_INDENT + MARK_WIDTH
    if shown:
        for paragraph in result.evidence.splitlines():
            _print_wrapped(console, Text(" " * detail_indent), paragraph, indent=detail_indent)
        if result.action:
            action_head = Text.assemble(" " * detail_indent, ("Action:", "bold"), " ")
            _print_wrapped(console, action_head, result.action, indent=action_head.cell_len)
    return not shown and bool(result.evidence.strip() or result.action)


def _print_wrapped(console: Console, head: Text, body: str, *, indent: int) -> None:
    """``head`` then ``body`` wrapped at " · " and spaces, never inside a word or a path."""
    first, *rest = wrap_parts(body, max(MIN_TEXT_WIDTH, console.width - head.cell_len))
    console.print(head + Text(first), soft_wrap=True)
    for line in rest:
        console.print(Text(" " * indent + line), soft_wrap=True)


def plural(number: int, singular: str, plural_form: str) -> str:
    return f"{number} {singular if number == 1 else plural_form}"


# --- --list-checks -----------------------------------------------------------------------------

_TIER_TITLES = {
    "quick": "Quick tier (passive: NVML and the kernel log; no TensorFlow, no CUDA context)",
    "default": "Default tier (adds TensorFlow's GPU list and measurements through TensorFlow)",
}


def print_check_list(console: Console, checks: Sequence[ValidateCheck]) -> None:
    """``envkit validate --list-checks``: every check by tier, its id and description."""
    id_width = max((len(check.check_id) for check in checks), default=0)
    for number, (tier, title) in enumerate(_TIER_TITLES.items()):
        if number:
            console.print()
        console.print(Text(title, style="bold"))
        for check in (c for c in checks if c.tier.value == tier):
            print_check_line(console, check.check_id, check.description, id_width)
    console.print()
    console.print(Text(f"{len(checks)} checks."), soft_wrap=True)
