"""Release knowledge (knowledge/data/tf_release_facts.json) and the checks that use it.

GPU values are NVIDIA's published compute capabilities (GeForce GTX 970: 5.2, Maxwell;
GeForce GTX 680: 3.0, Kepler); the defect is tensorflow/tensorflow#63362 (TF 2.16.1).
"""

from __future__ import annotations

import dataclasses

from envkit import knowledge
from envkit.model import NvmlInfo, Severity, Snapshot
from tests.rules_support import (
    cuda_build,
    healthy,
    run_check,
    with_env_vars,
    with_packages,
    with_tensorflow,
)


def _with_gpu(snapshot: Snapshot, name: str, capability: str) -> Snapshot:
    assert isinstance(snapshot.nvml, NvmlInfo)
    gpu = dataclasses.replace(snapshot.nvml.gpus[0], name=name, compute_capability=capability)
    return dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=(gpu,)))


def test_release_facts_and_their_sources() -> None:
    assert knowledge.cpu_instructions("2.21.0") == ("avx",)
    assert knowledge.cpu_instructions("1.5.0") == ()
    minimum = knowledge.min_compute_capability("2.17.0")
    assert minimum is not None and minimum.key == "6.0"
    old = knowledge.min_compute_capability("1.12.0")
    assert old is not None and old.key == "3.5" and not old.verified
    last = knowledge.last_release_for_compute_capability("5.2")
    assert last is not None and last.series == "2.16"
    table = knowledge.sources()
    for kind in ("cpu-instructions", "min-compute-capability", "defect"):
        for version in ("1.12.0", "2.16.1", "2.21.0"):
            for fact in knowledge.release_facts(version, kind):
                assert all(s in table or s.startswith("https://") for s in fact.sources)


def test_tf_2_16_pip_cuda_libraries_defect() -> None:
    snapshot = with_packages(
        with_tensorflow(healthy(), "2.16.1", build=cuda_build("12.3", "8", "sm_80")),
        nvidia_cudnn_cu12="8.9.7.29",
    )
    [finding] = run_check("tensorflow.release-defect", snapshot)
    assert finding.severity is Severity.WARNING
    assert finding.link == "https://github.com/tensorflow/tensorflow/issues/63362"
    assert "/home/ada/miniconda3/envs/tf/bin/python -c 'import glob" in finding.fix[0]
    site = "/home/ada/miniconda3/envs/tf/lib/python3.12/site-packages"
    fixed = with_env_vars(snapshot, {"LD_LIBRARY_PATH": f"{site}/nvidia/cudnn/lib"})
    assert run_check("tensorflow.release-defect", fixed) == []
    assert run_check("tensorflow.release-defect", healthy()) == []


def test_gpu_below_the_release_minimum() -> None:
    snapshot = with_tensorflow(healthy(), "2.17.0", build=cuda_build("12.3", "8"))
    [finding] = run_check("tensorflow.gpu-minimum", _with_gpu(snapshot, "GeForce GTX 970", "5.2"))
    assert finding.severity is Severity.ERROR
    assert "≥ 6.0" in finding.title
    assert finding.fix[0] == "# TensorFlow 2.16 is the newest whose wheels run on 5.2:"
    assert finding.fix[-1] == 'pip install "tensorflow[and-cuda]==2.16.*"'
    kepler = with_tensorflow(healthy(), "1.12.0", build=cuda_build("9.0", "7"))
    [too_old] = run_check("tensorflow.gpu-minimum", _with_gpu(kepler, "GeForce GTX 680", "3.0"))
    assert "CPU" in too_old.fix[0]
    assert run_check("tensorflow.gpu-minimum", _with_gpu(kepler, "GeForce GTX 780", "3.5")) == []
    assert run_check("tensorflow.gpu-minimum", healthy()) == []  # its build lists its codes
