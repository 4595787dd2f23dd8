"""NVIDIA GPUs: architectures by compute capability, known models by their NVML names, and
which kernels of a TensorFlow build a GPU can run."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from envkit.knowledge import _data
from envkit.knowledge.tensorflow import TfRelease

_NAME_PREFIXES = ("nvidia ", "tesla ", "geforce ")
_CAPABILITY = re.compile(r"^(\d+)\.(\d+)$")
_TARGET = re.compile(r"^(sm|compute)_(\d+)(\d)([af]?)$")
_GIB = 1024**3


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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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

    def memory_matches(self, total_bytes: int, tolerance: float = 0.08) -> bool:
        """Whether NVML's total memory fits the nominal size (GiB reading), within tolerance."""
        total_gib = total_bytes / _GIB
        return abs(total_gib - self.memory_gb) <= self.memory_gb * tolerance


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
        )


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
