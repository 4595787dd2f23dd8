"""Snapshots of whole stacks for the TensorFlow-side rules (helper tfjudge's tests).

SYNTHETIC in form (tests/snapshots.py's workstation, edited), real in value: each builder says
where its values were published.
"""

from __future__ import annotations

import dataclasses

from envkit.model import (
    Distribution,
    GpuInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    PciGpu,
    Snapshot,
    TensorflowBuild,
)
from tests.rules_support import healthy, replace_os, replace_python, with_packages, with_tensorflow

GIB = 1024**3
TODAY = "2026-12-01T12:00:00+00:00"


def tensorflow_1_12_build() -> TensorflowBuild:
    """build_info.py of the tensorflow_gpu 1.12.0 wheel: CUDA 9.0, cuDNN 7 (compat.md)."""
    return TensorflowBuild(
        source_file="/site-packages/tensorflow/python/platform/build_info.py",
        is_cuda_build=True,
        is_rocm_build=False,
        cuda_version="9.0",
        cudnn_version="7",
        cuda_compute_capabilities=(),
        raw=(),
    )


def tutorial_machine(taken_at: str = TODAY) -> Snapshot:
    """The tutorial's machine as issue #9 quotes it: Ubuntu 18.04, a GeForce GTX 1080 Ti
    (Pascal, compute capability 6.1, 11 GiB), driver 415 (415.27, NVIDIA's Linux release of
    2019-01 for CUDA 10.0), conda with Python 3.6, tensorflow-gpu 1.12.0 and Keras 2.2.4.
    Examined on ``taken_at`` (by default the day this test data was written)."""
    base = healthy()
    assert isinstance(base.nvml, NvmlInfo)
    gpu: GpuInfo = dataclasses.replace(
        base.nvml.gpus[0],
        name="GeForce GTX 1080 Ti",
        compute_capability="6.1",
        memory_total_bytes=11 * GIB,
        power_limit_watts=250.0,
    )
    nvml = dataclasses.replace(
        base.nvml, driver_version="415.27", cuda_driver_version="10.0", gpus=(gpu,)
    )
    snapshot = dataclasses.replace(base, nvml=nvml, taken_at=taken_at)
    if isinstance(snapshot.nvidia_kernel, NvidiaKernelInfo):
        kernel = dataclasses.replace(
            snapshot.nvidia_kernel,
            module_version="415.27",
            module_version_line="NVRM version: NVIDIA UNIX x86_64 Kernel Module  415.27",
            pci_gpus=(PciGpu("0000:01:00.0", "0x1b06", "nvidia"),),
        )
        snapshot = dataclasses.replace(snapshot, nvidia_kernel=kernel)
    snapshot = replace_os(
        snapshot,
        distro_version="18.04",
        distro_pretty_name="Ubuntu 18.04.1 LTS",
        kernel_release="4.15.0-43-generic",
        glibc_version="2.27",
        secure_boot=False,
    )
    snapshot = with_packages(snapshot, keras="2.2.4", numpy="1.15.4", tf_keras=None)
    gpu_dist = (Distribution("tensorflow-gpu", "1.12.0"),)
    snapshot = with_tensorflow(
        snapshot, "1.12.0", distributions=gpu_dist, build=tensorflow_1_12_build(), requirements=()
    )
    snapshot = with_packages(snapshot, tensorflow=None, tensorflow_gpu="1.12.0")
    return replace_python(snapshot, version="3.6.8")
