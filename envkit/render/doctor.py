"""The doctor's verdicts for a person, in the style of ``flutter doctor``.

One line per area with a mark ([✓] nothing above info, [!] warnings, [✗] errors) and a one-glance
summary of the machine; under it the area's findings, worst first. What shows:

* errors: title, evidence, fix commands and link, always;
* warnings: title, fix commands and link; the evidence with ``verbose``;
* info: the title; evidence, fix and link with ``verbose``.

Fix commands are printed one per line and never wrapped, whatever the width, so that they can be
copied; lines starting with ``#`` are comments and are dimmed. Everything from the snapshot or a
finding is a :class:`~envkit.render.lines.Line`, never markup, so ``[bold]`` in a path prints as
itself. Building the lines' text is pure (:func:`area_summary`, :func:`summary_line`); only the
``print_`` functions print, on a rich console or a plain screen (envkit.render.lines).
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from envkit.model import (
    AREAS,
    CheckInfo,
    CpuInfo,
    DoctorReport,
    Finding,
    MemoryInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    OsInfo,
    PythonEnvInfo,
    Severity,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
    Unavailable,
)
from envkit.render.lines import Line, Screen
from envkit.render.report import GIB, SEPARATOR, unavailable_text, wrap_parts
from envkit.render.wrap import fix_lines, prose_lines

AREA_TITLES = {
    "system": "System",
    "nvidia": "NVIDIA",
    "python": "Python",
    "tensorflow": "TensorFlow",
    "smoke": "Smoke test",
}
_AREA_MARKS = {
    None: ("[✓]", "bold green"),
    Severity.WARNING: ("[!]", "bold yellow"),
    Severity.ERROR: ("[✗]", "bold red"),
}
_FINDING_MARKS = {
    Severity.ERROR: ("✗", "bold red"),
    Severity.WARNING: ("!", "bold yellow"),
    Severity.INFO: ("•", "blue"),
}
_ENV_KINDS = {
    "conda-base": "conda base env",
    "venv": "venv",
    "virtualenv": "virtualenv",
    "pyenv": "pyenv",
    "system": "system Python",
}
FINDING_INDENT = 4
DETAIL_INDENT = 6
COMMAND_INDENT = 8
MIN_TEXT_WIDTH = 30


def print_doctor(
    console: Screen, report: DoctorReport, *, verbose: bool, closing: bool = True
) -> None:
    """The doctor's view; without ``closing`` (a smoke part follows) no summary line yet."""
    console.print(Line(f"envkit doctor {report.snapshot.envkit_version}", style="bold"))
    _print_target(console, report.snapshot)
    console.print()
    summaries = {area: area_summary(report.snapshot, area) for area in shown_areas(report.findings)}
    hidden = print_findings(console, report.findings, summaries, verbose=verbose)
    _print_kernels(console, report.snapshot)
    if not closing:
        return
    console.print()
    console.print(Line(summary_line(report), style=_summary_style(report)), soft_wrap=True)
    if hidden:
        _print_verbose_hint(console)


def print_smoke_part(console: Screen, report: DoctorReport, *, verbose: bool) -> None:
    """After :func:`print_doctor` of the checks: the smoke area and the summary of them all."""
    smoke = tuple(finding for finding in report.findings if finding.area == "smoke")
    hidden = print_findings(console, smoke, {}, verbose=verbose, areas=["smoke"])
    console.print()
    console.print(Line(summary_line(report), style=_summary_style(report)), soft_wrap=True)
    if hidden:
        _print_verbose_hint(console)


def print_findings(
    console: Screen,
    findings: tuple[Finding, ...],
    summaries: Mapping[str, str],
    *,
    verbose: bool,
    areas: Sequence[str] | None = None,
) -> bool:
    """Each area's line ([✓]/[!]/[✗], title, ``summaries[area]``) and its findings, as the
    doctor prints them; True when something was left out for want of ``verbose``. ``areas``
    defaults to :func:`shown_areas`; areas of findings it leaves out are added after it."""
    listed = list(areas) if areas is not None else shown_areas(findings)
    listed += [area for area in _areas_of(f.area for f in findings) if area not in listed]
    hidden = False
    for area in listed:
        in_area = findings_in(findings, area)
        _print_area_line(console, area, summaries.get(area, ""), in_area)
        for finding in in_area:
            hidden |= _print_finding(console, finding, verbose=verbose)
    return hidden


def _print_verbose_hint(console: Screen) -> None:
    hint = "Run envkit doctor -v to see the evidence for every finding."
    for line in prose_lines(hint, max(MIN_TEXT_WIDTH, console.width)):
        console.print(Line(line, "dim"), soft_wrap=True)


def findings_summary(findings: Iterable[Finding]) -> str:
    """ "No issues found." or "2 errors, 1 warning in 2 areas." (infos are not issues)."""
    findings = tuple(findings)
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    if not errors and not warnings:
        return "No issues found."
    issues = [f for f in findings if f.severity is not Severity.INFO]
    counts = [
        _plural(errors, "error", "errors") if errors else None,
        _plural(warnings, "warning", "warnings") if warnings else None,
    ]
    areas = len({finding.area for finding in issues})
    return f"{', '.join(c for c in counts if c)} in {_plural(areas, 'area', 'areas')}."


def findings_style(findings: Iterable[Finding]) -> str:
    """The summary line's style: red with errors, yellow with warnings, else green."""
    return {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", None: "bold green"}[
        area_mark(findings)
    ]


def print_checks(console: Screen, checks: tuple[CheckInfo, ...]) -> None:
    """``--list-checks``: every check, grouped by area in AREAS order, id and description."""
    id_width = max((len(check.check_id) for check in checks), default=0)
    for number, area in enumerate(_areas_of(check.area for check in checks)):
        if number:
            console.print()
        console.print(Line(area_title(area), style="bold"))
        for check in (c for c in checks if c.area == area):
            print_check_line(console, check.check_id, check.description, id_width)
    console.print()
    console.print(Line(_plural(len(checks), "check", "checks") + "."), soft_wrap=True)


def shown_areas(findings: Iterable[Finding]) -> list[str]:
    """AREAS in order, without smoke unless a finding is about it, then any unknown area."""
    findings = tuple(findings)
    areas = [area for area in AREAS if area != "smoke" or any(f.area == "smoke" for f in findings)]
    return areas + [area for area in _areas_of(f.area for f in findings) if area not in areas]


def findings_in(findings: Iterable[Finding], area: str) -> list[Finding]:
    return sorted((f for f in findings if f.area == area), key=lambda f: f.severity.rank)


def area_mark(findings: Iterable[Finding]) -> Severity | None:
    """The worst severity above info, or None: the area's [✗], [!] or [✓]."""
    severities = {finding.severity for finding in findings}
    for severity in (Severity.ERROR, Severity.WARNING):
        if severity in severities:
            return severity
    return None


def area_title(area: str) -> str:
    return AREA_TITLES.get(area, area.capitalize())


def summary_line(report: DoctorReport) -> str:
    """ "No issues found." or "2 errors, 1 warning in 2 areas." (infos are not issues)."""
    return findings_summary(report.findings)


def area_summary(snapshot: Snapshot, area: str) -> str:
    summaries = {
        "system": _system_summary,
        "nvidia": _nvidia_summary,
        "python": _python_summary,
        "tensorflow": _tensorflow_summary,
    }
    return summaries[area](snapshot) if area in summaries else ""


def _system_summary(snapshot: Snapshot) -> str:
    return SEPARATOR.join(
        [_os_summary(snapshot.os), *_cpu_summary(snapshot.cpu), _memory_summary(snapshot.memory)]
    )


def _os_summary(os_info: OsInfo | Unavailable) -> str:
    if isinstance(os_info, Unavailable):
        return unavailable_text(os_info)
    parts = [
        os_info.distro_pretty_name or os_info.system,
        f"WSL {os_info.wsl_version}" if os_info.wsl_version else None,
        f"in {os_info.container}" if os_info.container else None,
        os_info.architecture,
    ]
    return SEPARATOR.join(part for part in parts if part)


def _cpu_summary(cpu: CpuInfo | Unavailable) -> list[str]:
    if isinstance(cpu, Unavailable):
        return [unavailable_text(cpu)]
    cores = cpu.physical_cores or cpu.logical_cores
    parts = [_plural(cores, "core", "cores")] if cores else []
    if cpu.flags_known:
        # The flag TensorFlow's x86 wheels are built for; AVX-512 is in `envkit report`.
        parts.append(next((f.upper() for f in ("avx2", "avx") if cpu.has_flag(f)), "no AVX"))
    return parts


def _memory_summary(memory: MemoryInfo | Unavailable) -> str:
    if isinstance(memory, Unavailable):
        return unavailable_text(memory)
    return f"{memory.total_bytes / GIB:.0f} GiB RAM"


_NVML_FAILURE_SUMMARY = {
    "nvml-library-not-found": "no NVIDIA driver",
    "nvml-driver-not-loaded": "driver installed, kernel module not loaded",
    "nvml-version-mismatch": "driver library and kernel module differ",
    "nvml-no-permission": "no permission to open the driver",
}


def _nvidia_summary(snapshot: Snapshot) -> str:
    nvml = snapshot.nvml
    if isinstance(nvml, Unavailable):
        short = _NVML_FAILURE_SUMMARY.get(nvml.code, f"NVML unavailable [{nvml.code}]")
        kernel = snapshot.nvidia_kernel
        if isinstance(kernel, NvidiaKernelInfo):
            count = len(kernel.pci_gpus)
            on_bus = (
                f"{count} NVIDIA GPU on the PCI bus"
                if count == 1
                else (
                    f"{count} NVIDIA GPUs on the PCI bus"
                    if count
                    else "no NVIDIA GPU on the PCI bus"
                )
            )
            return SEPARATOR.join([short, on_bus])
        return short
    cuda = f" (CUDA ≤ {nvml.cuda_driver_version})" if nvml.cuda_driver_version else ""
    return SEPARATOR.join([f"driver {nvml.driver_version}{cuda}", *_gpu_groups(nvml)])


def _gpu_groups(nvml: NvmlInfo) -> list[str]:
    if not nvml.gpus:
        return ["no GPU"]
    names = Counter(gpu.name or "unnamed GPU" for gpu in nvml.gpus if gpu.error is None)
    groups = [f"{count}× {name}" for name, count in names.items()]  # noqa: RUF001 -- the multiplication sign is meant
    unreadable = sum(1 for gpu in nvml.gpus if gpu.error is not None)
    if unreadable:
        groups.append(f"{unreadable} GPU{'s' if unreadable > 1 else ''} unreadable")
    return groups


def _python_summary(snapshot: Snapshot) -> str:
    python = snapshot.python
    if isinstance(python, Unavailable):
        return unavailable_text(python)
    return f"{python.version} at {python.executable} ({_env_kind(python)})"


def _env_kind(python: PythonEnvInfo) -> str:
    if python.kind == "conda-env" and python.conda_env_name:
        return f"conda env {python.conda_env_name}"
    return _ENV_KINDS.get(python.kind, python.kind)


def _tensorflow_summary(snapshot: Snapshot) -> str:
    tensorflow = snapshot.tensorflow
    if isinstance(tensorflow, Unavailable):
        if tensorflow.code == "tensorflow-not-installed":
            return "not installed"
        return unavailable_text(tensorflow)
    keras = None
    if isinstance(snapshot.python, PythonEnvInfo):
        keras = snapshot.python.version_of("keras")
    text = f"{tensorflow.version} ({_build_summary(tensorflow)})"
    return SEPARATOR.join([text, f"Keras {keras}"]) if keras else text


def _build_summary(tensorflow: TensorflowInfo) -> str:
    build = tensorflow.build
    if not isinstance(build, TensorflowBuild):
        return "build facts unavailable"
    if build.is_cuda_build:
        return f"CUDA {build.cuda_version or '?'}, cuDNN {build.cudnn_version or '?'}"
    return "ROCm build" if build.is_rocm_build else "CPU-only build"


def _print_area_line(console: Screen, area: str, summary: str, findings: list[Finding]) -> None:
    mark, style = _AREA_MARKS[area_mark(findings)]
    title = area_title(area)
    head = Line.assemble((mark, style), " ", (title, "bold"))
    if not summary:
        console.print(head, soft_wrap=True)
        return
    head += Line(": ")
    _print_wrapped(console, head, summary, indent=head.cell_len)


def _print_finding(console: Screen, finding: Finding, *, verbose: bool) -> bool:
    """Print one finding; True when something was left out for want of ``verbose``."""
    mark, style = _FINDING_MARKS[finding.severity]
    head = Line.assemble(" " * FINDING_INDENT, (mark, style), " ")
    _print_wrapped(console, head, finding.title, indent=DETAIL_INDENT)
    show_evidence = verbose or finding.severity is Severity.ERROR
    show_fix = verbose or finding.severity is not Severity.INFO
    if show_evidence:
        _print_evidence(console, finding.evidence)
    if show_fix:
        _print_fix(console, finding.fix)
        if finding.link:
            _print_link(console, finding.link)
    has_fix = bool(finding.fix or finding.link)
    return (bool(finding.evidence) and not show_evidence) or (has_fix and not show_fix)


def _print_evidence(console: Screen, evidence: str) -> None:
    for paragraph in evidence.splitlines():
        _print_wrapped(console, Line(" " * DETAIL_INDENT), paragraph, indent=DETAIL_INDENT)


def _print_fix(console: Screen, commands: tuple[str, ...]) -> None:
    if not commands:
        return
    console.print(Line.assemble(" " * DETAIL_INDENT, ("Fix:", "bold")))
    for command in (line for entry in commands for line in entry.splitlines()):
        style = "dim" if command.lstrip().startswith("#") else "cyan"
        # soft_wrap: rich neither wraps nor crops it; a command is never broken across lines,
        # a comment wraps at spaces and keeps its # (envkit.render.wrap).
        for line in fix_lines(command, console.width - COMMAND_INDENT):
            console.print(Line.assemble(" " * COMMAND_INDENT, (line, style)), soft_wrap=True)


def _print_link(console: Screen, link: str) -> None:
    line = Line.assemble(" " * DETAIL_INDENT, ("See ", "dim"), (link, "blue", link))
    console.print(line, soft_wrap=True)


def _print_wrapped(console: Screen, head: Line, body: str, *, indent: int) -> None:
    """``head`` then ``body`` wrapped at " · " and spaces, never inside a word or a path."""
    first, *rest = wrap_parts(body, max(MIN_TEXT_WIDTH, console.width - head.cell_len))
    console.print(head + Line(first), soft_wrap=True)
    for line in rest:
        console.print(Line(" " * indent + line), soft_wrap=True)


def print_check_line(console: Screen, check_id: str, description: str, id_width: int) -> None:
    """One line of a --list-checks listing: the id in a column, the description wrapped beside."""
    indent = 2 + id_width + 2
    width = max(MIN_TEXT_WIDTH, console.width - indent)
    lines = textwrap.wrap(description, width, break_long_words=False) or [""]
    head = Line.assemble("  ", (check_id.ljust(id_width), "cyan"), "  ")
    console.print(head + Line(lines[0]), soft_wrap=True)
    for line in lines[1:]:
        console.print(Line(" " * indent + line), soft_wrap=True)


def _areas_of(areas: Iterable[str]) -> list[str]:
    present = list(dict.fromkeys(areas))
    return [a for a in AREAS if a in present] + [a for a in present if a not in AREAS]


def _summary_style(report: DoctorReport) -> str:
    return {Severity.ERROR: "bold red", Severity.WARNING: "bold yellow", None: "bold green"}[
        area_mark(report.findings)
    ]


def _plural(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


# ---------------------------------------------------------------- examined target and kernels


def _print_target(console: Screen, snapshot: Snapshot) -> None:
    from envkit.render.target import target_line

    line = target_line(snapshot)
    if line is not None:
        first, *rest = wrap_parts(line, max(MIN_TEXT_WIDTH, console.width))
        console.print(Line(first, style="dim"), soft_wrap=True)
        for more in wrap_parts(" ".join(rest), max(MIN_TEXT_WIDTH, console.width - 2)):
            if more:
                console.print(Line("  " + more, style="dim"), soft_wrap=True)


def _print_kernels(console: Screen, snapshot: Snapshot) -> None:
    from envkit.render.target import kernel_lines

    lines = kernel_lines(snapshot)
    if not lines:
        return
    console.print()
    console.print(Line("Jupyter kernels:", style="bold"))
    for line in lines:
        console.print(Line(" " * FINDING_INDENT + line), soft_wrap=True)
