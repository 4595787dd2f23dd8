"""envkit's compatibility knowledge base: what fits with what, and where each fact comes from.

The facts live in JSON files under ``data/`` (package data). Each file is parsed on first use
and cached for the process, so importing this package reads nothing; only the standard library
is imported. Every fact names its sources as keys of ``sources()``; a fact the sources did not
confirm says so (``verified`` False, or its field listed in ``TfRelease.unverified``).
"""

from __future__ import annotations

from envkit.knowledge._data import KnowledgeDataError
from envkit.knowledge.cuda import (
    BranchNote,
    CudaNote,
    DatacenterBranch,
    DriverRequirement,
    GpuGeneration,
    cuda_versions,
    datacenter_branches,
    driver_branch_notes,
    driver_requirement,
    gpu_generation,
    gpu_generations,
    max_cuda_for_driver,
    minor_compat_text,
    ptx_jit_caveat,
    tensorflow_docs_min_driver,
)
from envkit.knowledge.distros import (
    DistroFamily,
    DistroSteps,
    distro_families,
    distro_family,
    distro_steps,
)
from envkit.knowledge.gpus import (
    GpuModel,
    GpuSpecs,
    KernelSupport,
    architecture_for,
    architecture_for_pci_device,
    gpu_model,
    gpu_models,
    is_compute_target,
    kernel_support,
    normalize_gpu_name,
    tf_kernel_support,
)
from envkit.knowledge.platform import (
    Fact,
    UbuntuDriverBranch,
    UbuntuRelease,
    has_and_cuda_extra,
    keras_major_default,
    legacy_keras_environment,
    platform_fact,
    platform_facts,
    requires_avx,
    supports_numpy_2,
    tf_keras_requirement,
    ubuntu_driver_branch,
    ubuntu_release,
    ubuntu_releases,
    windows_native_gpu,
)
from envkit.knowledge.sources import Source, source, sources
from envkit.knowledge.tensorflow import (
    AndCudaPins,
    Note,
    TfRelease,
    WindowsGpuBuild,
    newest_tensorflow,
    newest_tensorflow_for_cuda,
    newest_tensorflow_for_python,
    python_range_text,
    tensorflow_release,
    tensorflow_releases,
)
from envkit.knowledge.versions import (
    compare_driver_versions,
    driver_at_least,
    major_minor,
    parse_driver_version,
)

__all__ = [
    "AndCudaPins",
    "BranchNote",
    "CudaNote",
    "DatacenterBranch",
    "DriverRequirement",
    "Fact",
    "GpuModel",
    "GpuSpecs",
    "KernelSupport",
    "KnowledgeDataError",
    "Note",
    "Source",
    "TfRelease",
    "UbuntuDriverBranch",
    "UbuntuRelease",
    "WindowsGpuBuild",
    "architecture_for",
    "compare_driver_versions",
    "cuda_versions",
    "datacenter_branches",
    "driver_at_least",
    "driver_branch_notes",
    "driver_requirement",
    "gpu_model",
    "gpu_models",
    "has_and_cuda_extra",
    "is_compute_target",
    "keras_major_default",
    "kernel_support",
    "legacy_keras_environment",
    "major_minor",
    "max_cuda_for_driver",
    "minor_compat_text",
    "newest_tensorflow",
    "newest_tensorflow_for_cuda",
    "newest_tensorflow_for_python",
    "normalize_gpu_name",
    "parse_driver_version",
    "platform_fact",
    "platform_facts",
    "ptx_jit_caveat",
    "python_range_text",
    "requires_avx",
    "source",
    "sources",
    "supports_numpy_2",
    "tensorflow_docs_min_driver",
    "tensorflow_release",
    "tensorflow_releases",
    "tf_keras_requirement",
    "tf_kernel_support",
    "ubuntu_driver_branch",
    "ubuntu_release",
    "ubuntu_releases",
    "windows_native_gpu",
]

__all__ += [
    "DistroFamily",
    "DistroSteps",
    "GpuGeneration",
    "architecture_for_pci_device",
    "distro_families",
    "distro_family",
    "distro_steps",
    "gpu_generation",
    "gpu_generations",
]
