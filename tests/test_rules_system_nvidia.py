"""System and NVIDIA checks: each made to fire, and kept quiet, on synthetic snapshots."""

from __future__ import annotations

import dataclasses

import pytest

from envkit.model import (
    CpuInfo,
    DiskInfo,
    GpuInfo,
    MemoryInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    PciGpu,
    Severity,
    Unavailable,
    VisibleDevices,
)
from envkit.rules.registry import all_checks, evaluate
from tests.rules_support import cuda_build, healthy, replace_os, run_check, with_tensorflow

GIB = 1024**3


def test_healthy_workstation_has_no_findings() -> None:
    assert evaluate(healthy()) == ()


def test_check_ids_are_unique_and_dotted() -> None:
    ids = [c.info.check_id for c in all_checks()]
    assert len(ids) == len(set(ids))
    for check_id in ids:
        area, _, name = check_id.partition(".")
        assert area and name and name == name.lower()


def _with_cpu_flags(*flags: str) -> object:
    snapshot = healthy()
    assert isinstance(snapshot.cpu, CpuInfo)
    return dataclasses.replace(
        snapshot, cpu=dataclasses.replace(snapshot.cpu, tensorflow_flags=flags)
    )


def test_no_avx_fires_with_vm_advice() -> None:
    snapshot = replace_os(_with_cpu_flags(), virtualization="kvm")  # type: ignore[arg-type]
    [finding] = run_check("system.cpu-avx", snapshot)
    assert finding.severity is Severity.ERROR
    assert "Illegal instruction" in finding.title
    assert any("host-passthrough" in line for line in finding.fix)


def test_avx_present_or_unknown_is_quiet() -> None:
    assert run_check("system.cpu-avx", _with_cpu_flags("avx", "avx2")) == []  # type: ignore[arg-type]
    snapshot = healthy()
    assert isinstance(snapshot.cpu, CpuInfo)
    unknown = dataclasses.replace(
        snapshot, cpu=dataclasses.replace(snapshot.cpu, tensorflow_flags=(), flags_known=False)
    )
    assert run_check("system.cpu-avx", unknown) == []


def test_low_disk_names_the_path() -> None:
    snapshot = dataclasses.replace(
        healthy(), disks=(DiskInfo("target-prefix", "/opt/envs/tf", 100 * GIB, 3 * GIB),)
    )
    [finding] = run_check("system.disk-space", snapshot)
    assert "/opt/envs/tf" in finding.title
    assert run_check("system.disk-space", healthy()) == []


@pytest.mark.parametrize(
    ("total_gib", "available_gib", "fires"), [(4, 3, True), (32, 1, True), (32, 20, False)]
)
def test_memory(total_gib: int, available_gib: int, fires: bool) -> None:
    memory = MemoryInfo(total_gib * GIB, available_gib * GIB, 0, 0)
    findings = run_check("system.memory", dataclasses.replace(healthy(), memory=memory))
    assert bool(findings) == fires


def test_wsl1() -> None:
    assert run_check("system.wsl1", replace_os(healthy(), wsl_version=1))
    assert run_check("system.wsl1", replace_os(healthy(), wsl_version=2)) == []


def _no_nvml(code: str, reason: str = "NVML says no.", **kernel_changes: object) -> object:
    snapshot = healthy()
    assert isinstance(snapshot.nvidia_kernel, NvidiaKernelInfo)
    kernel = dataclasses.replace(snapshot.nvidia_kernel, **kernel_changes)  # type: ignore[arg-type]
    return dataclasses.replace(snapshot, nvml=Unavailable(code, reason), nvidia_kernel=kernel)


def test_gpu_on_bus_without_driver_gives_the_ubuntu_route() -> None:
    snapshot = _no_nvml(
        "nvml-library-not-found",
        module_version=None,
        nvidia_module_loaded=False,
        pci_gpus=(PciGpu("0000:01:00.0", "0x2204", None),),
    )
    [finding] = run_check("nvidia.driver-installed", snapshot)  # type: ignore[arg-type]
    assert finding.severity is Severity.ERROR
    assert finding.fix[0].startswith("ubuntu-drivers devices")
    assert any(
        line.startswith("sudo apt install nvidia-driver-") or "ubuntu-drivers install" in line
        for line in finding.fix
    )
    # Secure Boot is on in this snapshot: the closing reboot is where the MOK is enrolled.
    assert finding.fix[-1].startswith("sudo reboot")
    assert "MOK" in finding.fix[-1]


def test_no_gpu_and_no_driver_is_quiet() -> None:
    snapshot = _no_nvml("nvml-library-not-found", pci_gpus=())
    snapshot = replace_os(snapshot, container=None)  # type: ignore[arg-type]
    assert run_check("nvidia.driver-installed", snapshot) == []


def test_container_without_driver_is_info() -> None:
    # A plain container: no host module in /proc/driver/nvidia, no GPU in /sys, no NVIDIA_* set.
    plain = _no_nvml(
        "nvml-library-not-found", pci_gpus=(), module_version=None, module_version_line=None
    )
    snapshot = replace_os(plain, container="docker")  # type: ignore[arg-type]
    [finding] = run_check("nvidia.driver-installed", snapshot)
    assert finding.severity is Severity.INFO
    assert any("--gpus all" in line for line in finding.fix)


def test_module_not_loaded_names_nouveau_and_secure_boot() -> None:
    snapshot = _no_nvml("nvml-driver-not-loaded", nouveau_loaded=True, module_version=None)
    [finding] = run_check("nvidia.kernel-module", snapshot)  # type: ignore[arg-type]
    assert "nouveau" in finding.evidence
    assert "Secure Boot" in finding.evidence
    assert any("blacklist nouveau" in line for line in finding.fix)
    # Secure Boot is on: the closing reboot is where MOK Manager enrols the key.
    assert finding.fix[-1].startswith("sudo reboot")
    assert "Enroll MOK" in finding.fix[-1]


def test_version_mismatch_says_reboot() -> None:
    snapshot = _no_nvml("nvml-version-mismatch", module_version="535.104.05")
    [finding] = run_check("nvidia.version-mismatch", snapshot)  # type: ignore[arg-type]
    assert finding.fix[0].startswith("sudo reboot")
    assert "535.104.05" in finding.evidence


def test_no_permission() -> None:
    [finding] = run_check("nvidia.permission", _no_nvml("nvml-no-permission"))  # type: ignore[arg-type]
    assert any("usermod" in line for line in finding.fix)


def test_lost_gpu_is_an_error_per_gpu() -> None:
    snapshot = healthy()
    assert isinstance(snapshot.nvml, NvmlInfo)
    lost = GpuInfo(index=1, error=Unavailable("nvml-gpu-lost", "GPU 1 is lost."))
    nvml = dataclasses.replace(snapshot.nvml, gpus=(*snapshot.nvml.gpus, lost))
    [finding] = run_check("nvidia.gpu-readable", dataclasses.replace(snapshot, nvml=nvml))
    assert "GPU 1" in finding.title
    assert run_check("nvidia.gpu-readable", healthy()) == []


def _with_driver(driver: str, cuda: str) -> object:
    snapshot = healthy()
    assert isinstance(snapshot.nvml, NvmlInfo)
    nvml = dataclasses.replace(snapshot.nvml, driver_version=driver, cuda_driver_version=cuda)
    return dataclasses.replace(snapshot, nvml=nvml)


def test_driver_too_old_for_tensorflow_cuda_major() -> None:
    [finding] = run_check("nvidia.driver-too-old", _with_driver("470.82.01", "11.4"))  # type: ignore[arg-type]
    assert finding.severity is Severity.ERROR
    assert "driver 470.82.01 supports CUDA ≤ 11.4" in finding.evidence
    assert "TensorFlow 2.21.0 needs CUDA 12.5" in finding.evidence
    assert "525.60.13" in finding.evidence
    # the other way out: the newest TensorFlow built for CUDA <= 11.4, with conda's CUDA
    assert "conda create -n tf2.11 python=3.10 --yes" in finding.fix
    assert "conda install -c conda-forge cudatoolkit=11.2 cudnn=8.1 --yes" in finding.fix
    assert finding.fix[-1] == 'pip install "tensorflow==2.11.*"'


def test_driver_same_major_older_minor_is_a_warning() -> None:
    [finding] = run_check("nvidia.driver-too-old", _with_driver("535.183.01", "12.2"))  # type: ignore[arg-type]
    assert finding.severity is Severity.WARNING


def test_driver_new_enough_is_quiet() -> None:
    assert run_check("nvidia.driver-too-old", _with_driver("550.54.15", "12.5")) == []  # type: ignore[arg-type]
    assert run_check("nvidia.driver-too-old", _with_driver("580.65.06", "13.0")) == []  # type: ignore[arg-type]


def _gpu_with_cc(capability: str, name: str) -> object:
    snapshot = healthy()
    assert isinstance(snapshot.nvml, NvmlInfo)
    gpu = dataclasses.replace(snapshot.nvml.gpus[0], compute_capability=capability, name=name)
    return dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=(gpu,)))


def test_blackwell_runs_only_through_ptx() -> None:
    [finding] = run_check(
        "nvidia.gpu-architecture", _gpu_with_cc("12.0", "NVIDIA GeForce RTX 5090")
    )  # type: ignore[arg-type]
    assert finding.severity is Severity.WARNING
    assert "compute_90" in finding.evidence


def test_maxwell_is_not_supported_by_tf_2_21() -> None:
    [finding] = run_check("nvidia.gpu-architecture", _gpu_with_cc("5.2", "NVIDIA GeForce GTX 980"))  # type: ignore[arg-type]
    assert finding.severity is Severity.ERROR
    assert "Maxwell" in finding.evidence


@pytest.mark.parametrize("capability", ["6.1", "7.5", "8.6", "8.9"])
def test_architectures_with_code_are_quiet(capability: str) -> None:
    assert run_check("nvidia.gpu-architecture", _gpu_with_cc(capability, "some GPU")) == []  # type: ignore[arg-type]


def test_hopper_with_old_tensorflow_jits_from_older_ptx() -> None:
    hopper = _gpu_with_cc("9.0", "NVIDIA H100 80GB HBM3")
    capabilities = ("sm_50", "sm_60", "sm_70", "sm_75", "compute_80")
    snapshot = with_tensorflow(hopper, "2.15.0", build=cuda_build("12.2", "8", *capabilities))  # type: ignore[arg-type]
    [finding] = run_check("nvidia.gpu-architecture", snapshot)
    assert finding.severity is Severity.WARNING


def test_hopper_with_tf_2_21_uses_its_own_ptx() -> None:
    [finding] = run_check("nvidia.gpu-architecture", _gpu_with_cc("9.0", "NVIDIA H100 80GB HBM3"))  # type: ignore[arg-type]
    assert finding.severity is Severity.INFO


def _with_visible(
    raw: str, indices: tuple[int, ...], unmatched: tuple[str, ...], hides_all: bool
) -> object:
    visible = VisibleDevices(raw, tuple(raw.split(",")), indices, unmatched, hides_all)
    return dataclasses.replace(healthy(), cuda_visible_devices=visible)


def test_visible_devices_hiding_everything() -> None:
    [finding] = run_check("nvidia.visible-devices", _with_visible("", (), (), True))  # type: ignore[arg-type]
    assert finding.severity is Severity.ERROR
    assert finding.fix[0] == "unset CUDA_VISIBLE_DEVICES"


def test_visible_devices_naming_a_missing_gpu() -> None:
    [finding] = run_check("nvidia.visible-devices", _with_visible("1", (), ("1",), False))  # type: ignore[arg-type]
    assert finding.severity is Severity.ERROR  # nothing left visible
    [finding] = run_check("nvidia.visible-devices", _with_visible("0,3", (0,), ("3",), False))  # type: ignore[arg-type]
    assert finding.severity is Severity.WARNING
    assert run_check("nvidia.visible-devices", _with_visible("0", (0,), (), False)) == []  # type: ignore[arg-type]


def test_busy_gpu_memory() -> None:
    snapshot = healthy()
    assert isinstance(snapshot.nvml, NvmlInfo)
    gpu = dataclasses.replace(snapshot.nvml.gpus[0], memory_used_bytes=70 * GIB)
    busy = dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=(gpu,)))
    [finding] = run_check("nvidia.gpu-memory-free", busy)
    assert "88%" in finding.title
    assert "4242" in finding.evidence


def test_linux_driver_inside_wsl2() -> None:
    snapshot = replace_os(healthy(), wsl_version=2)
    [finding] = run_check("nvidia.wsl-linux-driver", snapshot)
    assert "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1" in finding.evidence
    assert isinstance(snapshot.nvidia_kernel, NvidiaKernelInfo)
    clean = dataclasses.replace(
        snapshot,
        nvidia_kernel=dataclasses.replace(
            snapshot.nvidia_kernel, nvml_library_paths=("/usr/lib/wsl/lib/libnvidia-ml.so.1",)
        ),
    )
    assert run_check("nvidia.wsl-linux-driver", clean) == []
    assert run_check("nvidia.wsl-linux-driver", healthy()) == []
