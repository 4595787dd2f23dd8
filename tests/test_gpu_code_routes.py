"""A GPU newer than the wheel's native code: PTX JIT as before, plus the routes with native code.

GPU values are NVIDIA's published ones (GeForce RTX 5090: compute capability 12.0, Blackwell);
the wheel's code list is tensorflow 2.21.0's build_info (compat.md section 4).
"""

from __future__ import annotations

import dataclasses

from envkit.model import NvmlInfo
from envkit.rules import gpu_code
from tests.rules_support import healthy, run_check


def test_first_release_with_native_code() -> None:
    release = gpu_code.first_release_with_code("8.9", after="2.16")
    assert release is not None and release.series == "2.17"  # sm_89 arrived in 2.17
    assert gpu_code.first_release_with_code("12.0", after="2.16") is None


def test_blackwell_on_tf_2_21_gets_ptx_and_native_routes() -> None:
    snapshot = healthy()
    assert isinstance(snapshot.nvml, NvmlInfo)
    gpu = dataclasses.replace(
        snapshot.nvml.gpus[0], name="NVIDIA GeForce RTX 5090", compute_capability="12.0"
    )
    snapshot = dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=(gpu,)))
    [finding] = run_check("nvidia.gpu-architecture", snapshot)
    assert "export CUDA_CACHE_MAXSIZE=4294967296" in finding.fix  # PTX JIT, as before
    text = "\n".join(finding.fix)
    assert "no TensorFlow wheel up to 2.21 carries native code for 12.0" in text
    assert "nvcr.io/nvidia/tensorflow" in text and "source build" in text
    assert run_check("nvidia.gpu-architecture", healthy()) == []  # A100: sm_80 cubin
