"""The NVIDIA driver as the kernel sees it: /proc, /sys and /dev, no NVML and no programs run."""

from __future__ import annotations

import os
import re
from pathlib import Path

from envkit.model import NvidiaKernelInfo, PciGpu
from envkit.probes.system import read_text

NVIDIA_PCI_VENDOR = "0x10de"
_DISPLAY_CLASS_PREFIX = "0x03"  # PCI base class 03: VGA (0x0300) and 3D controllers (0x0302)
NVML_LIBRARY_DIRS = (
    "usr/lib/x86_64-linux-gnu",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib64",
    "usr/lib",
    "usr/lib/wsl/lib",
    "usr/lib/x86_64-linux-gnu/nvidia/current",
)
_MODULE_VERSION = re.compile(r"Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)")


def probe_nvidia_kernel(root: Path = Path("/")) -> NvidiaKernelInfo:
    version_line = _first_line(read_text(root / "proc/driver/nvidia/version"))
    loaded_modules = _loaded_modules(read_text(root / "proc/modules") or "")
    device_nodes = tuple(sorted(path.name for path in (root / "dev").glob("nvidia*")))
    return NvidiaKernelInfo(
        module_version=_module_version(version_line),
        module_version_line=version_line,
        nvidia_module_loaded="nvidia" in loaded_modules or version_line is not None,
        nouveau_loaded="nouveau" in loaded_modules,
        device_nodes=device_nodes,
        uvm_present="nvidia-uvm" in device_nodes,
        pci_gpus=_pci_gpus(root / "sys/bus/pci/devices"),
        nvml_library_paths=_nvml_libraries(root),
        unusable_device_nodes=_unusable_nodes(root / "dev", device_nodes),
        nvml_library_versions=_library_versions(root),
    )


_LIBRARY_VERSION = re.compile(r"^libnvidia-ml\.so\.(\d+\.\d+(?:\.\d+)?)$")


def _library_versions(root: Path) -> tuple[str, ...]:
    """Where each libnvidia-ml.so.1 link points: the userspace driver version installed."""
    versions = []
    for folder in NVML_LIBRARY_DIRS:
        link = root / folder / "libnvidia-ml.so.1"
        try:
            target = os.readlink(link)
        except OSError:
            continue
        match = _LIBRARY_VERSION.match(Path(target).name)
        if match:
            versions.append(match.group(1))
    return tuple(dict.fromkeys(versions))


def _unusable_nodes(dev: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    """The nodes this user may not open read-write (CUDA opens them so), folders skipped."""
    paths = (dev / name for name in names)
    return tuple(
        path.name for path in paths if not path.is_dir() and not os.access(path, os.R_OK | os.W_OK)
    )


def _nvml_libraries(root: Path) -> tuple[str, ...]:
    found = (root / folder / "libnvidia-ml.so.1" for folder in NVML_LIBRARY_DIRS)
    return tuple("/" + str(path.relative_to(root)) for path in found if path.exists())


def _first_line(text: str | None) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0].strip()
    return line or None


def _module_version(version_line: str | None) -> str | None:
    """'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar ...' -> 550.54.15."""
    if version_line is None:
        return None
    match = _MODULE_VERSION.search(version_line)
    return match.group(1) if match else None


def _loaded_modules(proc_modules: str) -> set[str]:
    return {line.split(" ", 1)[0] for line in proc_modules.splitlines() if line.strip()}


def _pci_gpus(devices_dir: Path) -> tuple[PciGpu, ...]:
    try:
        entries = sorted(devices_dir.iterdir())
    except OSError:
        return ()
    gpus = []
    for entry in entries:
        vendor = (read_text(entry / "vendor") or "").strip().lower()
        pci_class = (read_text(entry / "class") or "").strip().lower()
        if vendor == NVIDIA_PCI_VENDOR and pci_class.startswith(_DISPLAY_CLASS_PREFIX):
            gpus.append(_pci_gpu(entry))
    return tuple(gpus)


def _pci_gpu(entry: Path) -> PciGpu:
    driver_link = entry / "driver"
    driver = driver_link.resolve().name if driver_link.is_symlink() else None
    return PciGpu(
        address=entry.name,
        device_id=(read_text(entry / "device") or "").strip().lower(),
        driver=driver,
    )
