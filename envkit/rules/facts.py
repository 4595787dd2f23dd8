"""Small readings of a snapshot that several checks share."""

from __future__ import annotations

import os

from packaging.version import InvalidVersion, Version

from envkit import knowledge
from envkit.model import (
    GpuInfo,
    KnownEnvironment,
    NvidiaKernelInfo,
    NvmlInfo,
    OsInfo,
    PythonEnvInfo,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
)

GIB = 1024**3
_OS_FAMILIES = {"ubuntu", "debian", "fedora", "rhel"}


def os_family(snapshot: Snapshot) -> str:
    """ubuntu, debian, fedora, rhel, wsl2, macos, windows or linux (anything else).

    The distribution comes from os-release's ID, then its ID_LIKE (Mint is ubuntu, Rocky
    rhel); arch and suse families read as linux here (see distro_family for their steps).
    """
    info = snapshot.os
    if not isinstance(info, OsInfo):
        return "linux"
    if info.system == "Darwin":
        return "macos"
    if info.system == "Windows":
        return "windows"
    if info.wsl_version == 2:
        return "wsl2"
    key = distro_family(snapshot).key
    return key if key in _OS_FAMILIES else "linux"


def distro_family(snapshot: Snapshot) -> knowledge.DistroFamily:
    """The Linux distribution family whose driver commands fit this machine (generic if none)."""
    info = snapshot.os
    if not isinstance(info, OsInfo) or info.system != "Linux":
        return knowledge.distro_family(None)
    return knowledge.distro_family(info.distro_id, info.distro_id_like)


def distro_release_major(snapshot: Snapshot) -> int | None:
    """9 for VERSION_ID 9.4; None where the release has no number (Arch) or is unknown."""
    info = snapshot.os
    text = info.distro_version if isinstance(info, OsInfo) else None
    head = (text or "").split(".")[0]
    return int(head) if head.isdigit() else None


def in_container(snapshot: Snapshot) -> str | None:
    """docker, podman, kubernetes, lxc... when envkit runs inside one, else None."""
    return snapshot.os.container if isinstance(snapshot.os, OsInfo) else None


def ubuntu_version(snapshot: Snapshot) -> str | None:
    info = snapshot.os
    if isinstance(info, OsInfo) and (info.distro_id or "").lower() == "ubuntu":
        return info.distro_version
    return None


def python_env(snapshot: Snapshot) -> PythonEnvInfo | None:
    return snapshot.python if isinstance(snapshot.python, PythonEnvInfo) else None


def tensorflow(snapshot: Snapshot) -> TensorflowInfo | None:
    return snapshot.tensorflow if isinstance(snapshot.tensorflow, TensorflowInfo) else None


def tensorflow_build(snapshot: Snapshot) -> TensorflowBuild | None:
    installed = tensorflow(snapshot)
    if installed is None or not isinstance(installed.build, TensorflowBuild):
        return None
    return installed.build


def nvml(snapshot: Snapshot) -> NvmlInfo | None:
    return snapshot.nvml if isinstance(snapshot.nvml, NvmlInfo) else None


def healthy_gpus(snapshot: Snapshot) -> tuple[GpuInfo, ...]:
    info = nvml(snapshot)
    return tuple(gpu for gpu in info.gpus if gpu.error is None) if info else ()


def kernel(snapshot: Snapshot) -> NvidiaKernelInfo | None:
    info = snapshot.nvidia_kernel
    return info if isinstance(info, NvidiaKernelInfo) else None


def nvidia_gpu_present(snapshot: Snapshot) -> bool:
    """An NVIDIA GPU is in this machine, by NVML or by the PCI bus."""
    nvml_info = nvml(snapshot)
    if nvml_info is not None and nvml_info.gpus:
        return True
    kernel_info = kernel(snapshot)
    return kernel_info is not None and bool(kernel_info.pci_gpus)


def version(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def series(text: str) -> str:
    """2.21.0 -> 2.21."""
    return ".".join(text.split(".")[:2])


def python_series(snapshot: Snapshot) -> str | None:
    env = python_env(snapshot)
    return series(env.version) if env else None


def python_command(snapshot: Snapshot) -> str:
    """How the user's commands should name the examined interpreter."""
    env = python_env(snapshot)
    return env.executable if env else "python"


# ---------------------------------------------------------------- other environments (#10)


def environments_with_tensorflow(snapshot: Snapshot) -> list[KnownEnvironment]:
    """The environments found besides the examined one that hold TensorFlow, newest first."""
    env = python_env(snapshot)
    examined = {os.path.normpath(env.prefix)} if env else set()
    if snapshot.target is not None:
        examined.add(os.path.normpath(snapshot.target.prefix))
    found = [
        other
        for other in snapshot.environments
        if other.tensorflow_version and os.path.normpath(other.prefix) not in examined
    ]
    return sorted(found, key=lambda o: version(o.tensorflow_version) or Version("0"), reverse=True)


def examines_envkit_tool_env(snapshot: Snapshot) -> bool:
    """True when the examined Python is envkit's own pipx/uv environment: never install there."""
    return snapshot.target is not None and snapshot.target.kind == "tool-env"
