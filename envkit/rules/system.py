"""Checks on the machine itself: CPU instruction sets, memory, disk, WSL."""

from __future__ import annotations

import re
from collections.abc import Iterator

from envkit.model import CheckInfo, CpuInfo, Finding, MemoryInfo, OsInfo, Severity, Snapshot
from envkit.rules import facts
from envkit.rules.registry import check

MIN_FREE_DISK_BYTES = 5 * facts.GIB
"""A TensorFlow GPU install (the wheel and the NVIDIA wheels) takes about 3 GB, plus pip's cache."""
MIN_TOTAL_MEMORY_BYTES = 8 * facts.GIB
MIN_AVAILABLE_MEMORY_BYTES = 2 * facts.GIB
AVX_LINK = "https://github.com/tensorflow/tensorflow/issues/17411"


@check(
    "system.cpu-avx", "system", "The CPU has AVX, which every prebuilt TensorFlow since 1.6 needs."
)
def cpu_has_avx(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    cpu = snapshot.cpu
    if not isinstance(cpu, CpuInfo) or cpu.has_flag("avx") is not False:
        return
    hypervisor = snapshot.os.virtualization if isinstance(snapshot.os, OsInfo) else None
    fix, link = (
        avx_in_vm_steps(hypervisor)
        if hypervisor
        else (
            ("# use a machine whose CPU has AVX, or build TensorFlow from source without it",),
            AVX_LINK,
        )
    )
    yield info.finding(
        Severity.ERROR,
        "The CPU lacks AVX: importing TensorFlow will die with 'Illegal instruction'",
        f"{cpu.model_name or 'this CPU'} reports flags {' '.join(cpu.tensorflow_flags) or 'none'}"
        " of avx/avx2/fma/avx512f; TensorFlow wheels since 1.6 are built with AVX"
        + (
            f"; this is a virtual machine ({hypervisor}), whose CPU model may hide AVX"
            if hypervisor
            else ""
        ),
        fix,
        link,
    )


_LINUX_HOST_AVX = "grep -o -w avx /proc/cpuinfo | head -1   # on the host: its CPU has AVX"
_AvxRoute = tuple[tuple[str, ...], str]
_KVM_ROUTE: _AvxRoute = (
    (
        _LINUX_HOST_AVX,
        "# KVM/QEMU: give the VM the host's CPU model, then restart it; with libvirt:",
        "virsh edit <vm>   # set <cpu mode='host-passthrough'/>",
        "# plain QEMU: -cpu host; Proxmox: qm set <vmid> --cpu host",
    ),
    "https://libvirt.org/formatdomain.html#cpu-model-and-topology",
)
_HYPERVISOR_AVX_ROUTES: dict[str, _AvxRoute] = {
    "kvm": _KVM_ROUTE,
    "qemu": _KVM_ROUTE,
    # VirtualBox on a Windows host where Hyper-V is on runs on Hyper-V's platform API and
    # passes no AVX (polio-nanopore/piranha#106); with Hyper-V off its own hypervisor does.
    "virtualbox": (
        (
            "# VirtualBox on a Windows host with Hyper-V on runs through Hyper-V, without AVX;",
            "# on the Windows host, as administrator, turn Hyper-V off and restart Windows:",
            "bcdedit /set hypervisorlaunchtype off",
            "# also off: Virtual Machine Platform, Windows Hypervisor Platform, Core isolation"
            " > Memory integrity",
            "VBoxManage modifyvm <vm> --cpu-profile host   # the host's CPU profile for the VM",
        ),
        "https://www.virtualbox.org/manual/ch10.html#hyperv-support",
    ),
    # Hyper-V's processor compatibility mode offers a baseline CPU without AVX.
    "microsoft": (
        (
            "# Hyper-V: processor compatibility mode hides AVX; on the host, with the VM off:",
            "Set-VMProcessor -VMName <vm> -CompatibilityForMigrationEnabled $false",
            "# on Azure: choose a VM size whose CPU has AVX",
        ),
        "https://learn.microsoft.com/en-us/windows-server/virtualization/hyper-v/manage/"
        "processor-compatibility-mode-hyper-v",
    ),
    # vSphere's EVC baseline masks CPU features; AVX needs an EVC mode of Sandy Bridge
    # (Intel) or Bulldozer (AMD) or newer.
    "vmware": (
        (
            "# VMware: an EVC mode below Sandy Bridge (Intel) or Bulldozer (AMD) hides AVX:",
            "# raise the cluster's or the VM's EVC mode, then power the VM off and on",
        ),
        "https://knowledge.broadcom.com/external/article?legacyId=1003212",
    ),
    "xen": (
        (
            _LINUX_HOST_AVX,
            "# Xen: the domain's cpuid policy (xl.cfg cpuid=) hides AVX: pass the host's, "
            "then restart the domain",
        ),
        "https://xenbits.xen.org/docs/unstable/man/xl.cfg.5.html",
    ),
    "openstack": (
        (
            "# OpenStack: the compute node's CPU model hides AVX: an admin sets [libvirt] "
            "cpu_mode = host-passthrough (or a model with AVX) in nova.conf; or another flavor",
        ),
        "https://docs.openstack.org/nova/latest/admin/cpu-models.html",
    ),
    "amazon": (("# EC2: choose an instance type whose CPU has AVX (every current one)",), AVX_LINK),
    "google": (("# GCE: choose a machine type whose CPU has AVX (every current one)",), AVX_LINK),
}
_UNKNOWN_HYPERVISOR_ROUTE: _AvxRoute = (
    (
        "# a virtual machine whose hypervisor envkit cannot name: check that the host's CPU "
        "has AVX and that the VM's CPU model passes it on:",
        "systemd-detect-virt   # the hypervisor",
        "# KVM/libvirt: <cpu mode='host-passthrough'/>; Hyper-V: processor compatibility off;"
        " VirtualBox: Hyper-V off on a Windows host; VMware: the EVC mode",
    ),
    AVX_LINK,
)


def avx_in_vm_steps(hypervisor: str) -> tuple[tuple[str, ...], str]:
    """How this hypervisor is made to pass the host's AVX to the guest, and the source."""
    return _HYPERVISOR_AVX_ROUTES.get(hypervisor, _UNKNOWN_HYPERVISOR_ROUTE)


@check("system.disk-space", "system", "At least 5 GiB are free where environments live.")
def enough_disk(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    for disk in snapshot.disks:
        if disk.free_bytes is None or disk.free_bytes >= MIN_FREE_DISK_BYTES:
            continue
        yield info.finding(
            Severity.WARNING,
            f"Only {disk.free_bytes / facts.GIB:.1f} GiB free at {disk.path} ({disk.label})",
            "a TensorFlow install with its NVIDIA libraries needs about 5 GiB free",
            ("pip cache purge", "conda clean --all --yes   # when conda is used"),
        )


@check("system.memory", "system", "There is enough memory to train (8 GiB total, 2 GiB free).")
def enough_memory(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    memory = snapshot.memory
    if not isinstance(memory, MemoryInfo):
        return
    total_gib = memory.total_bytes / facts.GIB
    available_gib = memory.available_bytes / facts.GIB
    if memory.total_bytes < MIN_TOTAL_MEMORY_BYTES:
        yield info.finding(
            Severity.WARNING,
            f"Only {total_gib:.1f} GiB of memory: TensorFlow training may be killed",
            f"{total_gib:.1f} GiB total; 8 GiB or more is comfortable for TensorFlow",
        )
    elif memory.available_bytes < MIN_AVAILABLE_MEMORY_BYTES:
        yield info.finding(
            Severity.WARNING,
            f"Only {available_gib:.1f} GiB of memory free right now",
            f"{available_gib:.1f} of {total_gib:.1f} GiB available",
            ("ps aux --sort=-rss | head   # what holds the memory",),
        )


@check("system.wsl1", "system", "Under Windows, Linux runs as WSL 2, the only WSL with GPU access.")
def wsl_is_version_2(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    if isinstance(snapshot.os, OsInfo) and snapshot.os.wsl_version == 1:
        yield info.finding(
            Severity.WARNING,
            "This is WSL 1, which cannot use the GPU",
            "the kernel release names WSL 1; CUDA on WSL needs WSL 2",
            ("# in Windows PowerShell:", "wsl --set-version <distribution> 2"),
            "https://docs.nvidia.com/cuda/wsl-user-guide/index.html",
        )


WSL_GPU_MIN_KERNEL = (4, 19, 121)
"""NVIDIA's CUDA on WSL guide (11.4.4 edition): GPU access needs WSL kernel 4.19.121 or newer."""


@check("system.wsl-kernel", "system", "Under WSL 2, the WSL kernel is new enough for GPU access.")
def wsl_kernel_supports_gpu(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    if not isinstance(snapshot.os, OsInfo) or snapshot.os.wsl_version != 2:
        return
    release = snapshot.os.kernel_release
    numbers = tuple(int(part) for part in re.findall(r"\d+", release.split("-")[0])[:3])
    if len(numbers) == 3 and numbers < WSL_GPU_MIN_KERNEL:
        yield info.finding(
            Severity.WARNING,
            f"The WSL kernel {release} is too old for GPU access",
            f"kernel {release}; CUDA on WSL 2 needs {'.'.join(map(str, WSL_GPU_MIN_KERNEL))} or "
            "newer, and a Windows build with WSL GPU support (Windows 11, or Windows 10 21H2, "
            "build 19044, or newer)",
            (
                "wsl --update   # in Windows PowerShell",
                "wsl --shutdown",
                "winver   # the Windows build",
            ),
            "https://docs.nvidia.com/cuda/archive/11.4.4/wsl-user-guide/index.html",
        )
