"""What envkit reads from the text users already have: one record per part it recognised.

Pure data. A part is one recognised piece of an input (a whole file, or one code fence of a pasted
bug report); its ``kind`` names what it is. The values of nvidia-smi's GPU sections are kept as
nvidia-smi printed them, keyed by the ``-q -x`` element path (``ecc_mode/current_ecc``), so the
XML, ``-q`` text and table readers fill one shape and one adapter judges them.
"""

from __future__ import annotations

from dataclasses import field

from envkit.model import Distribution, GpuProcess, LogReading, Unavailable
from envkit.records import record

KINDS: dict[str, str] = {
    "nvidia-smi-xml": "nvidia-smi -q -x",
    "nvidia-smi-query": "nvidia-smi -q",
    "nvidia-smi-table": "nvidia-smi (the default table)",
    "nvidia-smi-failure": "an nvidia-smi failure line",
    "pip-list": "pip list",
    "pip-freeze": "pip freeze",
    "conda-list": "conda list (plain, --export or --explicit)",
    "conda-env-export": "conda env export",
    "tf-env-collect": "tf_env_collect.sh output",
    "torch-collect-env": "python -m torch.utils.collect_env output",
    "envkit-report": "envkit report --json",
    "nvml-recording": "an NVML recording from scripts/record_nvml.py",
    "log": "TensorFlow, CUDA, cuDNN, XLA or NCCL log lines, Python tracebacks and crash lines",
    "bug-report": "a pasted bug report holding any of these",
}
"""Every kind of input envkit reads, and how a person would name it."""


@record
class SmiGpu:
    """One GPU as an nvidia-smi output shows it."""

    index: int
    values: dict[str, str] = field(default_factory=dict)
    """nvidia-smi's own text per ``-q -x`` path below <gpu>: "Enabled", "N/A", "81920 MiB"."""
    processes: tuple[GpuProcess, ...] | None = None
    """None when the output has no process section."""
    mig_devices: int | None = None
    error: Unavailable | None = None
    """Set when nvidia-smi could not read this GPU at all."""


@record
class SmiDump:
    """What one nvidia-smi output says about a node."""

    kind: str
    driver_version: str | None
    cuda_version: str | None
    gpus: tuple[SmiGpu, ...]
    failure: Unavailable | None = None
    """nvidia-smi did not get as far as listing GPUs (driver not loaded, version mismatch)."""
    attached_gpus: int | None = None
    timestamp: str | None = None


@record
class PackageList:
    """Packages as pip or conda listed them."""

    kind: str
    distributions: tuple[Distribution, ...]
    python_version: str | None = None
    """The python package's version where the list holds it (conda lists do)."""
    env_name: str | None = None
    prefix: str | None = None


@record
class EnvReport:
    """The facts of a tf_env_collect.sh or torch collect_env output."""

    kind: str
    facts: dict[str, str]
    """os, python, tensorflow, torch, cuda_runtime, cudnn, driver_version, gpu_names, ..."""
    distributions: tuple[Distribution, ...] = ()


@record
class Part:
    """One recognised piece of an input."""

    source: str
    """The file's name as given (or "-" for stdin), with ``#N`` for the Nth piece of it."""
    kind: str
    content: object
    """SmiDump, PackageList, EnvReport, a Snapshot, or an NVML recording's meta."""
    warnings: tuple[str, ...] = ()
    """Where a truncated input stopped being readable."""


@record
class InputReading:
    """Everything read from the inputs, and what was left over."""

    parts: tuple[Part, ...]
    leftover: tuple[tuple[str, str], ...] = ()
    """(source, text) no reader claimed: log lines and tracebacks, for the log reader."""
    unrecognised: tuple[str, ...] = ()
    """Sources in which nothing was recognised."""
    logs: tuple[LogReading, ...] = ()
    """Each leftover piece read as a log, its line numbers those of its whole input."""

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(f"{part.source}: {w}" for part in self.parts for w in part.warnings)

    def of_kind(self, *kinds: str) -> tuple[Part, ...]:
        return tuple(part for part in self.parts if part.kind in kinds)
