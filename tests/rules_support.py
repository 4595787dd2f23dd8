"""Helpers for the rule tests: run one check on a snapshot, and edit snapshots briefly.

The snapshots are SYNTHETIC: tests/snapshots.py's workstation, changed one fact at a time.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from envkit.model import (
    Distribution,
    Finding,
    NvmlInfo,
    OsInfo,
    PythonEnvInfo,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
)
from envkit.rules.registry import all_checks
from tests.snapshots import synthetic_gpu_workstation


def run_check(check_id: str, snapshot: Snapshot) -> list[Finding]:
    for registered in all_checks():
        if registered.info.check_id == check_id:
            findings = list(registered.run(snapshot, registered.info))
            assert all(f.check_id == check_id for f in findings)
            return findings
    raise AssertionError(f"no check {check_id}")


def healthy() -> Snapshot:
    """The workstation with its lost GPU and stray CUDA_VISIBLE_DEVICES entry removed, a driver
    new enough for TensorFlow 2.21's CUDA 12.5, and an A100 (sm_80, which TF 2.21 carries) in
    place of the H100 (which TF 2.21 reaches only through compute_90 PTX)."""
    snapshot = synthetic_gpu_workstation()
    assert isinstance(snapshot.nvml, NvmlInfo)
    a100 = dataclasses.replace(
        snapshot.nvml.gpus[0], name="NVIDIA A100-SXM4-80GB", compute_capability="8.0"
    )
    nvml = dataclasses.replace(
        snapshot.nvml, driver_version="560.35.03", cuda_driver_version="12.6", gpus=(a100,)
    )
    visible = dataclasses.replace(
        snapshot.cuda_visible_devices, raw=None, entries=(), visible_gpu_indices=(0,), unmatched=()
    )
    python = with_env_vars(snapshot, {}).python
    return dataclasses.replace(snapshot, nvml=nvml, cuda_visible_devices=visible, python=python)


def replace_os(snapshot: Snapshot, **changes: Any) -> Snapshot:
    assert isinstance(snapshot.os, OsInfo)
    return dataclasses.replace(snapshot, os=dataclasses.replace(snapshot.os, **changes))


def replace_python(snapshot: Snapshot, **changes: Any) -> Snapshot:
    assert isinstance(snapshot.python, PythonEnvInfo)
    return dataclasses.replace(snapshot, python=dataclasses.replace(snapshot.python, **changes))


def with_env_vars(snapshot: Snapshot, variables: dict[str, str]) -> Snapshot:
    return replace_python(snapshot, environment=tuple(sorted(variables.items())))


def with_packages(snapshot: Snapshot, **versions: str | None) -> Snapshot:
    """Set (or, with None, remove) installed distributions by name (underscores for dashes)."""
    assert isinstance(snapshot.python, PythonEnvInfo)
    wanted = {name.replace("_", "-"): version for name, version in versions.items()}
    kept = [d for d in snapshot.python.distributions if d.name not in wanted]
    added = [Distribution(name, v) for name, v in wanted.items() if v is not None]
    distributions = tuple(sorted(kept + added, key=lambda d: d.name))
    return replace_python(snapshot, distributions=distributions)


def with_tensorflow(
    snapshot: Snapshot,
    version: str,
    *,
    distributions: tuple[Distribution, ...] | None = None,
    build: TensorflowBuild | None = None,
    requirements: tuple[str, ...] | None = None,
) -> Snapshot:
    assert isinstance(snapshot.tensorflow, TensorflowInfo)
    tf = dataclasses.replace(
        snapshot.tensorflow,
        version=version,
        distributions=distributions or (Distribution("tensorflow", version),),
        build=build if build is not None else snapshot.tensorflow.build,
        requirements=requirements if requirements is not None else snapshot.tensorflow.requirements,
    )
    snapshot = with_packages(snapshot, tensorflow=version)
    return dataclasses.replace(snapshot, tensorflow=tf)


def cuda_build(cuda: str, cudnn: str, *capabilities: str) -> TensorflowBuild:
    return TensorflowBuild(
        source_file="/site-packages/tensorflow/python/platform/build_info.py",
        is_cuda_build=True,
        is_rocm_build=False,
        cuda_version=cuda,
        cudnn_version=cudnn,
        cuda_compute_capabilities=capabilities,
        raw=(),
    )


def cpu_build() -> TensorflowBuild:
    return TensorflowBuild(
        source_file="/site-packages/tensorflow/python/platform/build_info.py",
        is_cuda_build=False,
        is_rocm_build=False,
        cuda_version=None,
        cudnn_version=None,
        cuda_compute_capabilities=(),
        raw=(),
    )
