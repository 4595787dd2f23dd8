"""Snapshots for the driver-side rules on real distributions and real GPUs.

The OS part is read by envkit's own probe from a real /etc/os-release (tests/fixtures/os-release,
provenance in its README). The GPUs carry published facts: PCI device ids as pci.ids names them
(0x1004 GK110 GeForce GTX 780, 0x1b06 GP102 GeForce GTX 1080 Ti, 0x2204 GA102 GeForce RTX 3090,
0x1e04 TU102 GeForce RTX 2080 Ti) and compute capabilities from NVIDIA's CUDA GPU lists (GTX 780
3.5, GTX 1080 Ti 6.1, RTX 3090 8.6). The rest is tests/rules_support.py's SYNTHETIC workstation.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path
from typing import Any

from envkit.model import (
    GpuInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    OsInfo,
    PciGpu,
    Snapshot,
    Unavailable,
)
from envkit.probes.system import probe_os
from tests.rules_support import healthy

OS_RELEASES = Path(__file__).parent / "fixtures" / "os-release"
DISTROS = {
    "ubuntu-18.04": "ubuntu",
    "ubuntu-22.04": "ubuntu",
    "ubuntu-24.04": "ubuntu",
    "debian-12": "debian",
    "fedora-40": "fedora",
    "rhel-9.4": "rhel",
    "rocky-9.3": "rhel",
    "arch": "arch",
    "opensuse-leap-15.5": "suse",
}
"""The issue's distributions: fixture -> the family whose commands it must get."""

GTX_780 = ("0x1004", "NVIDIA GeForce GTX 780", "3.5")
GTX_1080_TI = ("0x1b06", "NVIDIA GeForce GTX 1080 Ti", "6.1")
RTX_2080_TI = ("0x1e04", "NVIDIA GeForce RTX 2080 Ti", "7.5")
RTX_3090 = ("0x2204", "NVIDIA GeForce RTX 3090", "8.6")

# Commands that belong to one family only (issue #16's "done when").
_FOREIGN = {
    "ubuntu-drivers": re.compile(r"ubuntu-drivers"),
    "update-initramfs": re.compile(r"update-initramfs"),
    "apt": re.compile(r"(?<![\w/.-])apt(?:-get|-mark)?(?![\w.])"),
    "dnf": re.compile(r"(?<![\w/.-])dnf(?![\w.])"),
    "dracut": re.compile(r"(?<![\w/.-])dracut(?![\w.])"),
}
_ALLOWED = {
    "ubuntu": {"ubuntu-drivers", "update-initramfs", "apt"},
    "debian": {"update-initramfs", "apt"},
    "fedora": {"dnf", "dracut"},
    "rhel": {"dnf", "dracut"},
    "arch": set(),
    "suse": set(),
    "generic": set(),
}


def foreign_commands(family: str, lines: tuple[str, ...]) -> list[str]:
    """The commands in ``lines`` that another family's machine would have, not this one."""
    text = "\n".join(lines)
    return [
        name
        for name, pattern in _FOREIGN.items()
        if name not in _ALLOWED[family] and pattern.search(text)
    ]


def real_os(fixture: str, **changes: Any) -> OsInfo:
    """The OsInfo envkit's probe reads from a real os-release, on a bare-metal Linux."""
    with tempfile.TemporaryDirectory() as root:
        (Path(root) / "etc").mkdir()
        (Path(root) / "etc/os-release").write_text((OS_RELEASES / fixture).read_text())
        info = probe_os(Path(root), environ={})
    base = {"wsl_version": None, "container": None, "virtualization": None, "secure_boot": False}
    return dataclasses.replace(info, **{**base, **changes})


def on(fixture: str, snapshot: Snapshot | None = None, **os_changes: Any) -> Snapshot:
    return dataclasses.replace(snapshot or healthy(), os=real_os(fixture, **os_changes))


def _kernel(snapshot: Snapshot, **changes: Any) -> Snapshot:
    assert isinstance(snapshot.nvidia_kernel, NvidiaKernelInfo)
    kernel = dataclasses.replace(snapshot.nvidia_kernel, **changes)
    return dataclasses.replace(snapshot, nvidia_kernel=kernel)


def with_gpus(snapshot: Snapshot, *gpus: tuple[str, str, str], driver: str = "nvidia") -> Snapshot:
    """NVML and the PCI bus show these GPUs (device id, NVML name, compute capability)."""
    pci = tuple(PciGpu(f"0000:0{i + 1}:00.0", dev, driver) for i, (dev, _, _) in enumerate(gpus))
    snapshot = _kernel(snapshot, pci_gpus=pci)
    if not isinstance(snapshot.nvml, NvmlInfo):
        return snapshot
    template = snapshot.nvml.gpus[0]
    nvml_gpus = tuple(
        dataclasses.replace(template, index=i, name=name, compute_capability=cc, uuid=f"GPU-{i}")
        for i, (_, name, cc) in enumerate(gpus)
    )
    return dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=nvml_gpus))


def no_driver(
    snapshot: Snapshot, *gpus: tuple[str, str, str], driver: str | None = None
) -> Snapshot:
    """The GPUs sit on the PCI bus; no NVIDIA driver is installed (nouveau may hold them)."""
    snapshot = with_gpus(snapshot, *gpus, driver=driver or "")
    assert isinstance(snapshot.nvidia_kernel, NvidiaKernelInfo)
    pci = tuple(dataclasses.replace(g, driver=driver) for g in snapshot.nvidia_kernel.pci_gpus)
    snapshot = _kernel(
        snapshot,
        pci_gpus=pci,
        module_version=None,
        module_version_line=None,
        nvidia_module_loaded=False,
        nouveau_loaded=driver == "nouveau",
        device_nodes=(),
        uvm_present=False,
        nvml_library_paths=(),
    )
    failure = Unavailable("nvml-library-not-found", "libnvidia-ml.so.1 was not found.")
    return dataclasses.replace(snapshot, nvml=failure)


def module_not_loaded(snapshot: Snapshot, *, nouveau: bool = False) -> Snapshot:
    snapshot = _kernel(
        snapshot,
        module_version=None,
        module_version_line=None,
        nvidia_module_loaded=False,
        nouveau_loaded=nouveau,
        device_nodes=(),
        uvm_present=False,
    )
    failure = Unavailable("nvml-driver-not-loaded", "NVML: Driver Not Loaded.")
    return dataclasses.replace(snapshot, nvml=failure)


def mismatch(snapshot: Snapshot) -> Snapshot:
    snapshot = _kernel(snapshot, module_version="535.104.05")
    failure = Unavailable("nvml-version-mismatch", "NVML: Driver/library version mismatch.")
    return dataclasses.replace(snapshot, nvml=failure)


def driver_470(snapshot: Snapshot) -> Snapshot:
    """The README's real case: driver 470.82.01 (CUDA 11.4) under TensorFlow 2.21."""
    assert isinstance(snapshot.nvml, NvmlInfo)
    nvml = dataclasses.replace(
        snapshot.nvml, driver_version="470.82.01", cuda_driver_version="11.4"
    )
    return _kernel(dataclasses.replace(snapshot, nvml=nvml), module_version="470.82.01")


def device_nodes(snapshot: Snapshot, *nodes: str, unusable: tuple[str, ...] = ()) -> Snapshot:
    return _kernel(
        snapshot,
        device_nodes=nodes,
        uvm_present="nvidia-uvm" in nodes,
        unusable_device_nodes=unusable,
    )


def with_gpu(snapshot: Snapshot, **changes: Any) -> Snapshot:
    assert isinstance(snapshot.nvml, NvmlInfo)
    gpus: tuple[GpuInfo, ...] = (dataclasses.replace(snapshot.nvml.gpus[0], **changes),)
    return dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=gpus))
