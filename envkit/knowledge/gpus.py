"""NVIDIA GPUs: architectures by compute capability, known models by their NVML names, and
which kernels of a TensorFlow build a GPU can run."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from functools import cache

from envkit.knowledge import _data
from envkit.knowledge.tensorflow import TfRelease
from envkit.records import record

_NAME_PREFIXES = ("nvidia ", "tesla ", "geforce ")
_CAPABILITY = re.compile(r"^(\d+)\.(\d+)$")
_TARGET = re.compile(r"^(sm|compute)_(\d+)(\d)([af]?)$")
_GIB = 1024**3
_MIB_PER_GIB = 1024

MEMORY_MARGIN_BELOW = 0.10
"""How far below its nominal size a GPU's reported total may be, for a model without known
totals: the largest shortfall among the totals in gpus.json is 7.8 % (a Tesla T4 on driver 450
or 470: 15109 MiB of 16 GiB; an A10G reports 22731 MiB of 24, 7.5 %), and 10 % stays clear of
the next size down (a 16 GB GPU is 33 % short of 24)."""
KNOWN_TOTAL_SLACK = 0.02
"""For a model with known totals: how far (a share of the nominal size) below the lowest of
them a total may be, for a driver or ECC setting the sources do not show."""
ROUNDING_GIB = 0.05
"""Above the number asked for, only what rounding it to 0.1 GiB hides: never a margin."""


class KernelSupport(str, enum.Enum):
    """How a GPU gets kernels from a build's cuda_compute_capabilities; compares equal to its
    value ("native", "ptx-jit", "unsupported", "unknown")."""

    NATIVE = "native"
    """An sm_XY cubin of the same major and minor <= the GPU's runs directly."""
    PTX_JIT = "ptx-jit"
    """Only compute_XY PTX fits; the driver compiles it at start-up (slow first run, and the
    driver must understand the PTX version)."""
    UNSUPPORTED = "unsupported"
    """Nothing fits: 'device kernel image is invalid' or no GPU device at all."""
    UNKNOWN = "unknown"
    """The build's capability list is not known."""


@record
class GpuSpecs:
    """Dense peak figures from datasheets; tensor FP16/BF16 with FP32 accumulate."""

    memory_bandwidth_gbps: float | None
    fp64_tflops: float | None
    fp32_tflops: float | None
    """CUDA-core FP32, not tensor cores."""
    tf32_tflops: float | None
    fp16_tflops: float | None
    bf16_tflops: float | None
    fp8_tflops: float | None
    tdp_w: float | None
    sources: tuple[str, ...]
    verified: bool
    note: str | None


@record
class ReportedTotal:
    """A total memory size a real driver reported for the model (nvidia-smi or NVML)."""

    mib: int
    driver: str | None
    sources: tuple[str, ...]


@record
class MemoryBand:
    """The totals accepted for a GPU expected to have ``expected_gib``, and why."""

    low_gib: float
    high_gib: float
    basis: str
    """One clause: the known totals it rests on, or the general margin."""

    def holds(self, total_bytes: int) -> bool:
        return self.low_gib <= total_bytes / _GIB <= self.high_gib


@record
class GpuModel:
    name: str
    family: str
    architecture: str
    compute_capability: str
    compute_capability_verified: bool
    memory_gb: float
    """Nominal size as the vendor prints it; NVML's total is a few per cent lower."""
    memory_verified: bool
    specs: GpuSpecs | None
    capability_sources: tuple[str, ...]
    memory_sources: tuple[str, ...]
    nvml_patterns: tuple[str, ...]
    """Full-match regular expressions over the normalised NVML name (see normalize_gpu_name)."""
    reported_totals: tuple[ReportedTotal, ...] = ()
    """Totals real drivers reported for this model, with their drivers and sources."""

    def memory_matches(self, total_bytes: int) -> bool:
        """Whether NVML's total fits the model's nominal size (see memory_band)."""
        return memory_band(self.memory_gb, self).holds(total_bytes)


def memory_band(expected_gib: float, model: GpuModel | None) -> MemoryBand:
    """The totals accepted for a GPU of ``model`` (None: unknown) expected to have
    ``expected_gib`` per GPU, the number it is sold with (24 for an A10G).

    Where the model has known totals and ``expected_gib`` is its nominal size: from the lowest
    known total less KNOWN_TOTAL_SLACK of the nominal size. Otherwise from MEMORY_MARGIN_BELOW
    under ``expected_gib``. Never more than ROUNDING_GIB above ``expected_gib``: drivers report
    less than the nominal size, not more, so a larger total is another GPU.
    """
    high = expected_gib + ROUNDING_GIB
    totals = model.reported_totals if model is not None else ()
    if model is not None and totals and abs(expected_gib - model.memory_gb) < 0.5:
        lowest = min(total.mib for total in totals)
        highest = max(total.mib for total in totals)
        spread = f"{lowest} MiB" if lowest == highest else f"{lowest} to {highest} MiB"
        drivers = sorted({total.driver for total in totals if total.driver})
        seen = f" (drivers {', '.join(drivers)})" if drivers else ""
        low = lowest / _MIB_PER_GIB - KNOWN_TOTAL_SLACK * model.memory_gb
        basis = f"drivers report {spread} for the {model.name}{seen}"
        return MemoryBand(round(low, 3), high, basis)
    low = expected_gib * (1 - MEMORY_MARGIN_BELOW)
    basis = f"up to {MEMORY_MARGIN_BELOW:.0%} below {expected_gib:g} GiB (what drivers reserve)"
    return MemoryBand(round(low, 3), high, basis)


# ---------------------------------------------------------------- architectures


@cache
def _architecture_rules() -> tuple[tuple[str, str], ...]:
    group = _data.obj(_data.load("gpus.json"), "architectures")
    rows = _data.objs(group, "by_capability")
    return tuple((_data.text(row, "capability"), _data.text(row, "architecture")) for row in rows)


def architecture_for(compute_capability: str) -> str | None:
    """ "Ampere" for 8.6; None for a capability NVIDIA's lists do not name (8.8) or bad text."""
    match = _CAPABILITY.match(compute_capability.strip())
    if match is None:
        return None
    major = match.group(1)
    exact = f"{major}.{match.group(2)}"
    rules = dict(_architecture_rules())
    return rules.get(exact) or rules.get(major)


# ---------------------------------------------------------------- models


@cache
def gpu_models() -> tuple[GpuModel, ...]:
    families = _data.objs(_data.load("gpus.json"), "families")
    return tuple(model for family in families for model in _family_models(family))


def _family_models(family: _data.Obj) -> Iterable[GpuModel]:
    for row in _data.objs(family, "models"):
        memory_gb = _data.opt_number(row, "memory_gb")
        if memory_gb is None:
            raise _data.KnowledgeDataError(f"{row.get('name')!r} has no memory_gb")
        specs = _data.opt_obj(row, "specs")
        yield GpuModel(
            name=_data.text(row, "name"),
            family=_data.text(family, "family"),
            architecture=_data.text(family, "architecture"),
            compute_capability=_data.text(family, "compute_capability"),
            compute_capability_verified=_data.flag(family, "capability_verified", True),
            memory_gb=memory_gb,
            memory_verified=_data.flag(row, "memory_verified", True),
            specs=_specs(specs) if specs is not None else None,
            capability_sources=_data.source_keys(family, "capability_source"),
            memory_sources=_data.source_keys(family, "memory_source"),
            nvml_patterns=_data.texts(row, "nvml_names"),
            reported_totals=tuple(map(_reported_total, _data.objs(row, "reported_totals"))),
        )


def _reported_total(row: _data.Obj) -> ReportedTotal:
    mib = _data.opt_number(row, "mib")
    if mib is None or mib <= 0 or mib != int(mib):
        raise _data.KnowledgeDataError(f"reported total {row!r} has no whole positive 'mib'")
    return ReportedTotal(int(mib), _data.opt_text(row, "driver"), _data.source_keys(row))


def _specs(group: _data.Obj) -> GpuSpecs:
    return GpuSpecs(
        memory_bandwidth_gbps=_data.opt_number(group, "memory_bandwidth_gbps"),
        fp64_tflops=_data.opt_number(group, "fp64_tflops"),
        fp32_tflops=_data.opt_number(group, "fp32_tflops"),
        tf32_tflops=_data.opt_number(group, "tf32_tflops"),
        fp16_tflops=_data.opt_number(group, "fp16_tflops"),
        bf16_tflops=_data.opt_number(group, "bf16_tflops"),
        fp8_tflops=_data.opt_number(group, "fp8_tflops"),
        tdp_w=_data.opt_number(group, "tdp_w"),
        sources=_data.source_keys(group),
        verified=_data.verified(group),
        note=_data.opt_text(group, "note"),
    )


@cache
def _compiled_patterns() -> tuple[tuple[re.Pattern[str], GpuModel], ...]:
    return tuple(
        (re.compile(pattern), model) for model in gpu_models() for pattern in model.nvml_patterns
    )


def normalize_gpu_name(nvml_name: str) -> str:
    """ "a100 sxm4 80gb" for "NVIDIA A100-SXM4-80GB": lower case, - and _ as spaces, no brand."""
    name = " ".join(re.sub(r"[-_]+", " ", nvml_name).lower().split())
    for prefix in _NAME_PREFIXES:
        name = name.removeprefix(prefix)
    return name


def gpu_model(nvml_name: str) -> GpuModel | None:
    """The model NVML's name string denotes ("Tesla V100-SXM2-16GB"), or None if unknown."""
    name = normalize_gpu_name(nvml_name)
    return next((model for pattern, model in _compiled_patterns() if pattern.fullmatch(name)), None)


# ---------------------------------------------------------------- kernels


def kernel_support(capabilities: Iterable[str], compute_capability: str) -> KernelSupport:
    """How a GPU of ``compute_capability`` runs a build that carries ``capabilities``.

    An sm_XY cubin runs on a GPU of major X and minor >= Y (sm_XYa only on exactly X.Y);
    compute_XY PTX is JIT-compiled for any capability >= X.Y. A native cubin beats PTX.
    """
    gpu = _capability_key(compute_capability)
    targets = [_target(item) for item in capabilities]
    if gpu is None or not targets or None in targets:
        return KernelSupport.UNKNOWN
    if any(_cubin_runs(target, gpu) for target in targets if target and target[0] == "sm"):
        return KernelSupport.NATIVE
    if any(gpu >= target[1] for target in targets if target and target[0] == "compute"):
        return KernelSupport.PTX_JIT
    return KernelSupport.UNSUPPORTED


def tf_kernel_support(release: TfRelease, compute_capability: str) -> KernelSupport:
    """kernel_support for the release's table entry; UNKNOWN where that entry is empty.

    The answer rests on an inferred list where ``release.compute_capabilities_verified`` is
    False; for an installed TensorFlow prefer kernel_support over its own build_info.
    """
    return kernel_support(release.compute_capabilities, compute_capability)


def _capability_key(text: str) -> tuple[int, int] | None:
    match = _CAPABILITY.match(text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _target(text: str) -> tuple[str, tuple[int, int], bool] | None:
    match = _TARGET.match(text.strip())
    if match is None:
        return None
    kind, major, minor, suffix = match.groups()
    return kind, (int(major), int(minor)), suffix != ""


def _cubin_runs(target: tuple[str, tuple[int, int], bool], gpu: tuple[int, int]) -> bool:
    _, (major, minor), arch_specific = target
    if arch_specific:
        return gpu == (major, minor)
    return gpu[0] == major and gpu[1] >= minor


def is_compute_target(text: str) -> bool:
    """Whether ``text`` is a well-formed sm_XY / compute_XY entry of cuda_compute_capabilities."""
    return _target(text) is not None


# ---------------------------------------------------------------- PCI device ids


@cache
def _pci_ranges() -> tuple[tuple[int, int, str], ...]:
    group = _data.obj(_data.load("gpus.json"), "pci_device_ranges")
    return tuple(
        (
            int(_data.text(row, "first"), 16),
            int(_data.text(row, "last"), 16),
            _data.text(row, "architecture"),
        )
        for row in _data.objs(group, "ranges")
    )


def architecture_for_pci_device(device_id: str) -> str | None:
    """The architecture of an NVIDIA PCI device id ("0x1b06" -> Pascal), from pci.ids' chips.

    An id above every range is a GPU newer than the table: the newest architecture. None for
    an id between ranges of different architectures, or text that is no hex id.
    """
    try:
        number = int(device_id.strip().lower().removeprefix("0x"), 16)
    except ValueError:
        return None
    ranges = _pci_ranges()
    for first, last, architecture in ranges:
        if first <= number <= last:
            return architecture
    if ranges and number > ranges[-1][1]:
        group = _data.obj(_data.load("gpus.json"), "pci_device_ranges")
        return _data.opt_text(group, "after_last_architecture")
    return None
