"""The kernel side of the NVIDIA driver, read from /proc, /sys and /dev.

This machine has no NVIDIA kernel module, so the loaded-driver states are laid out in a folder.
The /proc/driver/nvidia/version lines are the formats the proprietary and the open kernel
modules print (as quoted in public bug reports); the PCI ids are real H100 and RTX 3090 ids.
"""

from __future__ import annotations

from pathlib import Path

from envkit.probes import nvidia_kernel

PROPRIETARY_LINE = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  Sun May 12 19:39:15 UTC 2024"
)
OPEN_LINE = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  "
    "Release Build  (dvs-builder@U16-T02-35-3)  Tue Mar  5 22:15:33 UTC 2024"
)


def _pci_device(root: Path, address: str, vendor: str, device: str, pci_class: str) -> Path:
    entry = root / "sys/bus/pci/devices" / address
    entry.mkdir(parents=True)
    (entry / "vendor").write_text(vendor + "\n")
    (entry / "device").write_text(device + "\n")
    (entry / "class").write_text(pci_class + "\n")
    return entry


def _bind_driver(root: Path, entry: Path, driver: str) -> None:
    driver_dir = root / "sys/bus/pci/drivers" / driver
    driver_dir.mkdir(parents=True, exist_ok=True)
    (entry / "driver").symlink_to(driver_dir)


def test_loaded_proprietary_driver(tmp_path: Path) -> None:
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text(
        PROPRIETARY_LINE + "\nGCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n"
    )
    (tmp_path / "proc/modules").write_text(
        "nvidia_uvm 4956160 0 - Live 0x0000000000000000 (POE)\n"
        "nvidia 54403072 2 nvidia_uvm, Live 0x0000000000000000 (POE)\n"
    )
    (tmp_path / "dev").mkdir()
    for node in ("nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"):
        (tmp_path / "dev" / node).write_text("")
    gpu = _pci_device(tmp_path, "0000:01:00.0", "0x10de", "0x2330", "0x030200")
    _bind_driver(tmp_path, gpu, "nvidia")

    info = nvidia_kernel.probe_nvidia_kernel(tmp_path)

    assert info.module_version == "535.183.01"
    assert info.nvidia_module_loaded
    assert not info.nouveau_loaded
    assert info.uvm_present
    assert info.device_nodes == ("nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidiactl")
    assert [(g.address, g.device_id, g.driver) for g in info.pci_gpus] == [
        ("0000:01:00.0", "0x2330", "nvidia")
    ]


def test_open_kernel_module_version(tmp_path: Path) -> None:
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text(OPEN_LINE + "\n")
    assert nvidia_kernel.probe_nvidia_kernel(tmp_path).module_version == "550.54.15"


def test_gpu_on_the_bus_held_by_nouveau(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/modules").write_text("nouveau 2916352 3 - Live 0x0000000000000000\n")
    gpu = _pci_device(tmp_path, "0000:2d:00.0", "0x10de", "0x2204", "0x030000")
    _bind_driver(tmp_path, gpu, "nouveau")
    _pci_device(tmp_path, "0000:2d:00.1", "0x10de", "0x1aef", "0x040300")  # its HDMI audio
    _pci_device(tmp_path, "0000:00:02.0", "0x8086", "0x3e92", "0x030000")  # an Intel iGPU

    info = nvidia_kernel.probe_nvidia_kernel(tmp_path)

    assert info.nouveau_loaded
    assert not info.nvidia_module_loaded
    assert info.module_version is None
    assert [(g.address, g.driver) for g in info.pci_gpus] == [("0000:2d:00.0", "nouveau")]


def test_gpu_with_no_driver_bound(tmp_path: Path) -> None:
    _pci_device(tmp_path, "0000:01:00.0", "0x10de", "0x2684", "0x030000")
    info = nvidia_kernel.probe_nvidia_kernel(tmp_path)
    assert info.pci_gpus[0].driver is None
    assert info.device_nodes == ()


def test_this_machine_agrees_with_its_proc_files() -> None:
    info = nvidia_kernel.probe_nvidia_kernel()
    version_file = Path("/proc/driver/nvidia/version")
    assert (info.module_version is not None) == version_file.exists()
    assert info.nvidia_module_loaded == version_file.exists()
    assert all(Path("/dev", node).exists() for node in info.device_nodes)


def test_nvml_libraries_found_in_system_folders(tmp_path: Path) -> None:
    for folder in ("usr/lib/wsl/lib", "usr/lib/x86_64-linux-gnu"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "libnvidia-ml.so.1").write_text("")
    info = nvidia_kernel.probe_nvidia_kernel(tmp_path)
    assert info.nvml_library_paths == (
        "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
        "/usr/lib/wsl/lib/libnvidia-ml.so.1",
    )
