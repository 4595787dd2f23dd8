"""Driver and context rules of #9 (helper drivers2): the Windows driver under WSL 2, the CUDA an
image requires of the host's driver, and AVX hidden by each hypervisor.

Snapshots: tests/distro_support.py (a real Ubuntu 22.04 os-release, real PCI ids, the rest of
the workstation SYNTHETIC). Driver versions are real published ones: 451.67 (Windows, in
microsoft/WSL#5848), 465.42 (a Windows preview driver for WSL, NVIDIA/nvidia-docker#1458),
496.49 (a Windows 11 + WSL 2 driver, gist daffychuy/33836af6), 470.141.03 (Ubuntu 22.04's
nvidia-driver-470 in NVIDIA/nvidia-docker#1704). NVIDIA_REQUIRE_CUDA is the value the
nvidia/cuda 11.7 images set (their Dockerfile ENV, as NVIDIA/nvidia-docker#1704 uses one).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from envkit.model import Finding, NvmlInfo, Severity, Snapshot
from envkit.probes.system import probe_os
from envkit.rules import drivers, facts, system
from tests import distro_support as ds
from tests.rules_support import cuda_build, healthy, replace_os, run_check, with_tensorflow

TESLA_K80 = ("0x102d", "Tesla K80", "3.7")
"""pci.ids: 10de:102d GK210GL [Tesla K80]; NVIDIA's CUDA GPU list: compute capability 3.7."""
REQUIRE_CUDA_117 = (
    "cuda>=11.7 brand=tesla,driver>=450,driver<451 brand=tesla,driver>=470,driver<471"
)
_DRIVER_INSIDE = re.compile(r"dkms|modprobe|initramfs|ubuntu-drivers|apt(-get)? install|reboot")


def _text(finding: Finding) -> str:
    return "\n".join((finding.title, finding.evidence, *finding.fix))


def _driver(snapshot: Snapshot, version: str, cuda: str) -> Snapshot:
    assert isinstance(snapshot.nvml, NvmlInfo)
    nvml = dataclasses.replace(snapshot.nvml, driver_version=version, cuda_driver_version=cuda)
    return dataclasses.replace(snapshot, nvml=nvml)


def _wsl(snapshot: Snapshot) -> Snapshot:
    snapshot = replace_os(
        snapshot, wsl_version=2, kernel_release="5.15.153.1-microsoft-standard-WSL2"
    )
    return ds._kernel(
        snapshot,
        pci_gpus=(),
        module_version=None,
        module_version_line=None,
        nvml_library_paths=("/usr/lib/wsl/lib/libnvidia-ml.so.1",),
    )


# ---------------------------------------------------------------- WSL 2: the Windows driver


def test_windows_driver_too_old_for_wsl_is_named_with_the_windows_side_fix() -> None:
    snapshot = _wsl(_driver(ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_1080_TI), "451.67", "11.0"))
    [finding] = run_check("nvidia.wsl-windows-driver", snapshot)
    assert finding.severity is Severity.ERROR
    assert "Windows driver 451.67" in finding.title
    assert "/usr/lib/wsl/lib/libnvidia-ml.so.1" in finding.evidence
    assert "R495" in finding.evidence
    text = "\n".join(finding.fix)
    assert "in Windows" in text and "R495" in text
    assert not _DRIVER_INSIDE.search(text)


def test_preview_era_windows_driver_is_a_warning() -> None:
    snapshot = _wsl(_driver(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_2080_TI), "465.42", "11.3"))
    [finding] = run_check("nvidia.wsl-windows-driver", snapshot)
    assert finding.severity is Severity.WARNING
    assert "preview" in finding.title


def test_a_wsl_capable_windows_driver_or_native_linux_is_quiet() -> None:
    current = _wsl(_driver(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_3090), "496.49", "11.5"))
    assert run_check("nvidia.wsl-windows-driver", current) == []
    native = ds.driver_470(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_3090))
    assert run_check("nvidia.wsl-windows-driver", native) == []


# ---------------------------------------------------------------- the image's CUDA


def _container(snapshot: Snapshot, require: str) -> Snapshot:
    return replace_os(
        snapshot,
        container="docker",
        container_gpu_env=(("NVIDIA_REQUIRE_CUDA", require), ("NVIDIA_VISIBLE_DEVICES", "all")),
    )


def test_image_beyond_a_capped_gpus_last_branch_gets_an_older_image_never_a_newer_driver() -> None:
    k80 = _driver(ds.with_gpus(ds.on("ubuntu-22.04"), TESLA_K80), "470.141.03", "11.4")
    [finding] = run_check("nvidia.container-cuda", _container(k80, REQUIRE_CUDA_117))
    assert finding.severity is Severity.ERROR
    assert "11.7" in finding.title and "470" in finding.title
    text = "\n".join(finding.fix)
    assert "CUDA 11.4 or older" in text
    assert "tensorflow[and-cuda]" not in text
    assert not re.search(r"nvidia-driver-(5\d\d|4[89]\d)", text)
    assert not _DRIVER_INSIDE.search(text)


def test_image_beyond_an_upgradable_driver_names_the_host_driver() -> None:
    ampere = ds.driver_470(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_3090))
    require = "cuda>=12.5 brand=tesla,driver>=470,driver<471"
    [finding] = run_check("nvidia.container-cuda", _container(ampere, require))
    text = "\n".join(finding.fix)
    assert "on the host" in text and "555" in text  # CUDA 12.5's minimum Linux driver
    assert not _DRIVER_INSIDE.search(text)


def test_image_the_driver_supports_or_no_container_is_quiet() -> None:
    k80 = _driver(ds.with_gpus(ds.on("ubuntu-22.04"), TESLA_K80), "470.141.03", "11.4")
    assert run_check("nvidia.container-cuda", _container(k80, "cuda>=11.4")) == []
    bare = replace_os(k80, container_gpu_env=(("NVIDIA_REQUIRE_CUDA", REQUIRE_CUDA_117),))
    assert run_check("nvidia.container-cuda", bare) == []
    no_requirement = replace_os(k80, container="docker")
    assert run_check("nvidia.container-cuda", no_requirement) == []


# ---------------------------------------------------------------- AVX hidden by a hypervisor


def _no_avx(snapshot: Snapshot) -> Snapshot:
    assert snapshot.cpu is not None
    return dataclasses.replace(snapshot, cpu=dataclasses.replace(snapshot.cpu, tensorflow_flags=()))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hypervisor", "mark", "foreign"),
    [
        ("kvm", "host-passthrough", "bcdedit"),
        ("qemu", "-cpu host", "EVC"),
        ("virtualbox", "hypervisorlaunchtype off", "virsh"),
        ("microsoft", "CompatibilityForMigrationEnabled $false", "virsh"),
        ("vmware", "EVC mode", "virsh"),
        ("xen", "cpuid", "virsh"),
        ("openstack", "cpu_mode = host-passthrough", "bcdedit"),
        ("amazon", "instance type", "virsh"),
    ],
)
def test_avx_fix_is_the_hypervisors_own(hypervisor: str, mark: str, foreign: str) -> None:
    snapshot = replace_os(_no_avx(healthy()), virtualization=hypervisor)
    [finding] = run_check("system.cpu-avx", snapshot)
    text = "\n".join(finding.fix)
    assert mark in text
    assert foreign not in text
    assert hypervisor in finding.evidence


def test_unknown_hypervisor_says_what_to_check() -> None:
    snapshot = replace_os(_no_avx(healthy()), virtualization="unknown-hypervisor")
    [finding] = run_check("system.cpu-avx", snapshot)
    assert "cannot name" in finding.fix[0]
    assert not any(line.startswith("virsh") for line in finding.fix)


def test_bare_metal_without_avx_gets_no_hypervisor_step() -> None:
    [finding] = run_check("system.cpu-avx", replace_os(_no_avx(healthy()), virtualization=None))
    assert not any(word in _text(finding) for word in ("virsh", "bcdedit", "EVC", "VM"))


def test_probed_virtualbox_guest_gets_the_virtualbox_route(tmp_path: Path) -> None:
    """What probes/system.py reads of a VirtualBox guest's DMI decides the route."""
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text("innotek GmbH\n")
    (dmi / "product_name").write_text("VirtualBox\n")
    info = probe_os(tmp_path, environ={})
    assert info.virtualization == "virtualbox"
    snapshot = dataclasses.replace(_no_avx(healthy()), os=info)
    [finding] = run_check("system.cpu-avx", snapshot)
    fix, link = system.avx_in_vm_steps("virtualbox")
    assert finding.fix == fix and finding.link == link


# ---------------------------------------------------------------- the TensorFlow a capped GPU runs


def test_kepler_cap_names_the_last_tensorflow_its_branch_runs() -> None:
    k80 = _driver(ds.with_gpus(ds.on("ubuntu-22.04"), TESLA_K80), "470.141.03", "11.4")
    cap = drivers.tensorflow_cap(k80)
    assert cap is not None and cap.branch == 470
    assert cap.max_cuda == "11.4"
    assert cap.release is not None and cap.release.cuda is not None
    assert facts.version(cap.release.cuda) <= facts.version("11.4")  # type: ignore[operator]
    assert "470" in cap.note() and cap.release.series in cap.note()


def test_no_cap_where_the_gpus_last_branch_runs_the_newest_tensorflow() -> None:
    assert drivers.tensorflow_cap(ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_1080_TI)) is None
    assert drivers.tensorflow_cap(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_3090)) is None


def test_no_driver_on_kepler_under_new_tensorflow_gets_the_tensorflow_for_470() -> None:
    snapshot = with_tensorflow(
        ds.no_driver(ds.on("ubuntu-22.04"), ds.GTX_780),
        "2.21.0",
        build=cuda_build("12.5.1", "9", "sm_60", "sm_70", "sm_80", "sm_89", "compute_90"),
    )
    [finding] = run_check("nvidia.driver-installed", snapshot)
    text = "\n".join(finding.fix)
    assert "sudo apt install nvidia-driver-470" in text
    assert "beyond the 470 branch" in text
    cap = drivers.tensorflow_cap(snapshot)
    assert cap is not None and cap.release is not None
    assert f'pip install "tensorflow=={cap.release.series}.*"' in text
    assert "tensorflow[and-cuda]" not in text
    assert not re.search(r"nvidia-driver-(5\d\d|4[89]\d)", text)


def test_no_driver_on_pascal_has_no_tensorflow_cap_note() -> None:
    snapshot = with_tensorflow(
        ds.no_driver(ds.on("ubuntu-22.04"), ds.GTX_1080_TI),
        "2.21.0",
        build=cuda_build("12.5.1", "9", "sm_60", "sm_70", "sm_80", "sm_89", "compute_90"),
    )
    [finding] = run_check("nvidia.driver-installed", snapshot)
    assert not any("beyond the" in line for line in finding.fix)


def _tf221(snapshot: Snapshot) -> Snapshot:
    build = cuda_build("12.5.1", "9", "sm_60", "sm_70", "sm_80", "sm_89", "compute_90")
    return with_tensorflow(snapshot, "2.21.0", build=build)


def test_a_branch_that_drops_the_gpu_is_the_cause_not_a_module_build() -> None:
    """535 installed on a GTX 780: its module refuses the Kepler GPU; dkms would not help."""
    kepler = ds.module_not_loaded(ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_780))
    kepler = _tf221(ds._kernel(kepler, nvml_library_versions=("535.104.05",)))
    assert run_check("nvidia.kernel-module", kepler) == []
    [finding] = run_check("nvidia.driver-drops-gpu", kepler)
    text = "\n".join(finding.fix)
    assert "sudo apt install nvidia-driver-470" in text
    assert "dkms" not in text and "tensorflow[and-cuda]" not in text
    assert "beyond the 470 branch" in text


def test_a_module_not_loaded_under_a_branch_that_drives_the_gpu_keeps_the_module_steps() -> None:
    pascal = ds.module_not_loaded(ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_1080_TI))
    pascal = _tf221(ds._kernel(pascal, nvml_library_versions=("535.104.05",)))
    assert run_check("nvidia.driver-drops-gpu", pascal) == []
    [finding] = run_check("nvidia.kernel-module", pascal)
    assert any("dkms" in line for line in finding.fix)
