"""The doctor's verdicts as Markdown to paste into a GitHub issue.

A heading, a table of the facts maintainers ask for first, the findings (evidence in a text
block, fix commands in a ``sh`` block), and the whole snapshot as JSON in a <details> block.
Every value from the machine sits in a code span or a code block, so nothing in it is read as
Markdown or HTML, and ``envkit.redact.redact(..., markdown=True)`` can tell code from prose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from envkit.codec import encode
from envkit.model import (
    CpuInfo,
    DoctorReport,
    Finding,
    GpuInfo,
    MemoryInfo,
    NvmlInfo,
    OsInfo,
    PythonEnvInfo,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
    Unavailable,
)
from envkit.render.doctor import area_title, summary_line
from envkit.render.report import gib, unavailable_text

Fact = tuple[str, str]
MISSING = "—"


def doctor_markdown(report: DoctorReport) -> str:
    snapshot = report.snapshot
    blocks = [
        f"## envkit doctor: {summary_line(report).rstrip('.')}",
        f"envkit {code(snapshot.envkit_version)} · snapshot taken {code(snapshot.taken_at)}",
        *_target_block(snapshot),
        _facts_table(facts(snapshot)),
        "### Findings",
        *(_finding(finding) for finding in report.findings),
    ]
    if not report.findings:
        blocks.append("No findings.")
    blocks.append(_snapshot_details(snapshot))
    return "\n\n".join(blocks) + "\n"


def _target_block(snapshot: Snapshot) -> list[str]:
    from envkit.render.target import kernel_lines, target_line

    line = target_line(snapshot)
    blocks = [_prose(line)] if line else []
    if snapshot.kernels:
        blocks.append(
            "Jupyter kernels:\n" + "\n".join(f"- {code(k)}" for k in kernel_lines(snapshot))
        )
    return blocks


def facts(snapshot: Snapshot) -> list[Fact]:
    """(label, Markdown value) rows; values are code spans, or MISSING."""
    return [
        *_os_facts(snapshot.os),
        *_cpu_facts(snapshot.cpu),
        ("RAM", _memory_fact(snapshot.memory)),
        *_nvidia_facts(snapshot.nvml),
        *_python_facts(snapshot.python),
        *_tensorflow_facts(snapshot.tensorflow),
    ]


def code(value: str) -> str:
    """``value`` as a code span, with a fence longer than any backtick run inside it."""
    ticks = "`" * (1 + max((len(run) for run in re.findall(r"`+", value)), default=0))
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def fenced(value: str, language: str) -> str:
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", value)), default=0))
    return f"{fence}{language}\n{value.rstrip()}\n{fence}"


def _value(value: str | None) -> str:
    return code(value) if value else MISSING


def _unavailable(value: Unavailable) -> str:
    return code(unavailable_text(value))


def _os_facts(os_info: OsInfo | Unavailable) -> list[Fact]:
    if isinstance(os_info, Unavailable):
        return [("OS", _unavailable(os_info))]
    name = os_info.distro_pretty_name or os_info.system
    where = [f"WSL {os_info.wsl_version}" if os_info.wsl_version else None, os_info.container]
    shown = ", ".join(part for part in where if part)
    return [
        ("OS", code(f"{name} ({os_info.architecture}{', ' + shown if shown else ''})")),
        ("Kernel", code(os_info.kernel_release)),
    ]


def _cpu_facts(cpu: CpuInfo | Unavailable) -> list[Fact]:
    if isinstance(cpu, Unavailable):
        return [("CPU", _unavailable(cpu))]
    flags = " ".join(cpu.tensorflow_flags) or "no AVX" if cpu.flags_known else "unknown"
    return [("CPU", _value(cpu.model_name)), ("CPU flags", code(flags))]


def _memory_fact(memory: MemoryInfo | Unavailable) -> str:
    if isinstance(memory, Unavailable):
        return _unavailable(memory)
    return code(gib(memory.total_bytes))


def _nvidia_facts(nvml: NvmlInfo | Unavailable) -> list[Fact]:
    if isinstance(nvml, Unavailable):
        return [("NVIDIA driver", _unavailable(nvml))]
    return [
        ("NVIDIA driver", code(nvml.driver_version)),
        ("CUDA (driver supports up to)", _value(nvml.cuda_driver_version)),
        ("GPUs", "<br>".join(_gpu_fact(gpu) for gpu in nvml.gpus) or "none"),
    ]


def _gpu_fact(gpu: GpuInfo) -> str:
    if gpu.error is not None:
        return f"{gpu.index}: {_unavailable(gpu.error)}"
    details = [
        gpu.name or "unnamed",
        gib(gpu.memory_total_bytes),
        f"compute {gpu.compute_capability}" if gpu.compute_capability else None,
    ]
    return f"{gpu.index}: {code(', '.join(d for d in details if d))}"


def _python_facts(python: PythonEnvInfo | Unavailable) -> list[Fact]:
    if isinstance(python, Unavailable):
        return [("Python", _unavailable(python))]
    return [
        ("Python", f"{code(python.version)} at {code(python.executable)}"),
        ("Environment", code(python.kind)),
        ("conda env", _value(python.conda_env_name)),
        ("Keras", _value(python.version_of("keras"))),
        ("NumPy", _value(python.version_of("numpy"))),
    ]


def _tensorflow_facts(tensorflow: TensorflowInfo | Unavailable) -> list[Fact]:
    if isinstance(tensorflow, Unavailable):
        return [("TensorFlow", _unavailable(tensorflow))]
    names = ", ".join(f"{d.name} {d.version}" for d in tensorflow.distributions)
    return [("TensorFlow", code(names or tensorflow.version)), ("TF build", _build(tensorflow))]


def _build(tensorflow: TensorflowInfo) -> str:
    build = tensorflow.build
    if not isinstance(build, TensorflowBuild):
        return _unavailable(build)
    if not build.is_cuda_build:
        return code("ROCm build" if build.is_rocm_build else "CPU-only build")
    return f"CUDA {_value(build.cuda_version)}, cuDNN {_value(build.cudnn_version)}"


def _facts_table(rows: Iterable[Fact]) -> str:
    lines = ["| Fact | Value |", "|---|---|"]
    lines += [f"| {label} | {_cell(value)} |" for label, value in rows]
    return "\n".join(lines)


def _cell(value: str) -> str:
    # GitHub splits table cells at every unescaped pipe, even inside code spans.
    return value.replace("|", "\\|")


def _finding(finding: Finding) -> str:
    head = (
        f"**{finding.severity.value}** · {area_title(finding.area)} · "
        f"{code(finding.check_id)}: {_prose(finding.title)}"
    )
    parts = [head]
    if finding.evidence.strip():
        parts.append(fenced(finding.evidence, "text"))
    if finding.fix:
        parts.append(fenced("\n".join(finding.fix), "sh"))
    if finding.link:
        parts.append(f"See <{finding.link}>")
    return "\n\n".join(parts)


def _prose(text: str) -> str:
    """A check's one-line title, with HTML taken apart.

    Nothing else is escaped: a backslash before ``_`` would hide a path from redaction, and
    GitHub does not read underscores inside words (paths, package names) as emphasis.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _snapshot_details(snapshot: Snapshot) -> str:
    document = json.dumps(encode(snapshot), indent=2, ensure_ascii=False)
    return "\n\n".join(
        [
            "<details><summary>Full snapshot (JSON)</summary>",
            fenced(document, "json"),
            "</details>",
        ]
    )
