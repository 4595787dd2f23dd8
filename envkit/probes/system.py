"""The OS, CPU, memory and disks, read from files and psutil without running any program.

Every reader takes ``root`` so that tests can lay out /proc, /sys and /etc in a folder.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from envkit.model import CpuInfo, DiskInfo, MemoryInfo, OsInfo

TENSORFLOW_CPU_FLAGS = ("avx", "avx2", "fma", "avx512f")
SECURE_BOOT_VAR = "SecureBoot-8be4df61-93ca-11d2-aa0d-e98c1d5de8c4"
# Set by the NVIDIA Container Toolkit's images and by `--gpus` / Kubernetes device requests.
CONTAINER_GPU_VARIABLES = (
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "NVIDIA_REQUIRE_CUDA",
)
_X86_MACHINES = {"x86_64", "amd64", "i386", "i686"}
# DMI vendor or product text -> the hypervisor it names.
_HYPERVISOR_MARKERS = (
    ("kvm", "kvm"),
    ("qemu", "qemu"),
    ("vmware", "vmware"),
    ("virtualbox", "virtualbox"),
    ("innotek", "virtualbox"),
    ("xen", "xen"),
    ("microsoft corporation", "microsoft"),
    ("amazon ec2", "amazon"),
    ("google compute engine", "google"),
    ("openstack", "openstack"),
    ("parallels", "parallels"),
)


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def probe_os(root: Path = Path("/"), environ: Mapping[str, str] | None = None) -> OsInfo:
    release = _parse_os_release(read_text(root / "etc/os-release") or "")
    kernel_release = platform.release()
    return OsInfo(
        system=platform.system(),
        distro_id=release.get("ID"),
        distro_version=release.get("VERSION_ID"),
        distro_pretty_name=release.get("PRETTY_NAME"),
        kernel_release=kernel_release,
        architecture=platform.machine(),
        glibc_version=_glibc_version(),
        wsl_version=_wsl_version(read_text(root / "proc/sys/kernel/osrelease") or kernel_release),
        container=_container(root, os.environ if environ is None else environ),
        virtualization=_virtualization(root),
        secure_boot=_secure_boot(root),
        hostname=platform.node(),  # gethostname(), without importing socket
        distro_id_like=tuple(release.get("ID_LIKE", "").lower().split()),
        container_gpu_env=_container_gpu_env(os.environ if environ is None else environ),
    )


def _container_gpu_env(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, environ[name]) for name in CONTAINER_GPU_VARIABLES if name in environ)


def _parse_os_release(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            fields[key] = value.strip().strip("\"'")
    return fields


def _glibc_version() -> str | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (ValueError, OSError, AttributeError):
        return None
    if not text or not text.startswith("glibc "):
        return None
    return text.split()[1]


def _wsl_version(kernel_osrelease: str) -> int | None:
    lowered = kernel_osrelease.lower()
    if "microsoft" not in lowered:
        return None
    # WSL 1 kernels say "4.4.0-19041-Microsoft"; WSL 2 kernels "5.15.90.1-microsoft-standard-WSL2".
    return 2 if ("wsl2" in lowered or "microsoft-standard" in lowered) else 1


def _container(root: Path, environ: Mapping[str, str]) -> str | None:
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return "kubernetes"
    if (root / "run/.containerenv").exists():
        return "podman"
    if (root / ".dockerenv").exists():
        return "docker"
    cgroup = read_text(root / "proc/1/cgroup") or ""
    for marker, name in (("kubepods", "kubernetes"), ("docker", "docker"), ("lxc", "lxc")):
        if marker in cgroup:
            return name
    return None


def _virtualization(root: Path) -> str | None:
    dmi = " ".join(
        (read_text(root / f"sys/class/dmi/id/{name}") or "").strip().lower()
        for name in ("sys_vendor", "product_name", "bios_vendor")
    )
    for marker, name in _HYPERVISOR_MARKERS:
        if marker in dmi:
            return name
    cpu_flags = _first_cpuinfo_field(read_text(root / "proc/cpuinfo") or "", "flags") or ""
    return "unknown-hypervisor" if "hypervisor" in cpu_flags.split() else None


def _secure_boot(root: Path) -> bool | None:
    if not (root / "sys/firmware/efi").is_dir():
        return False  # legacy BIOS boot: Secure Boot cannot be on
    try:
        data = (root / "sys/firmware/efi/efivars" / SECURE_BOOT_VAR).read_bytes()
    except OSError:
        return None
    # efivarfs prefixes the value with 4 bytes of attributes; the value itself is one byte.
    return bool(data[4]) if len(data) >= 5 else None


def probe_cpu(root: Path = Path("/")) -> CpuInfo:
    cpuinfo = read_text(root / "proc/cpuinfo") or ""
    flags_text = _first_cpuinfo_field(cpuinfo, "flags")
    flags = set(flags_text.split()) if flags_text is not None else set()
    physical_cores, logical_cores = _core_counts(root)
    return CpuInfo(
        model_name=_first_cpuinfo_field(cpuinfo, "model name") or platform.processor() or None,
        physical_cores=physical_cores,
        logical_cores=logical_cores,
        tensorflow_flags=tuple(flag for flag in TENSORFLOW_CPU_FLAGS if flag in flags),
        flags_known=flags_text is not None and platform.machine().lower() in _X86_MACHINES,
    )


def _core_counts(root: Path) -> tuple[int | None, int | None]:
    """(physical, logical) CPUs: on Linux from the kernel's CPU topology files, the source psutil
    reads there too (without importing psutil, a tenth of doctor's start-up); psutil elsewhere."""
    cores = _topology_core_count(root / "sys/devices/system/cpu")
    if cores is not None and hasattr(os, "sysconf"):
        return cores, os.sysconf("SC_NPROCESSORS_ONLN")
    import psutil

    return psutil.cpu_count(logical=False), psutil.cpu_count(logical=True)


def _topology_core_count(cpu_dir: Path) -> int | None:
    """Distinct cores: each CPU's topology/core_cpus_list names the CPUs sharing its core
    (thread_siblings_list before Linux 5.7); see the kernel's admin-guide/cputopology."""
    for name in ("core_cpus_list", "thread_siblings_list"):
        siblings = {
            text.strip()
            for path in cpu_dir.glob(f"cpu[0-9]*/topology/{name}")
            if (text := read_text(path))
        }
        if siblings:
            return len(siblings)
    return None


def _first_cpuinfo_field(cpuinfo: str, field: str) -> str | None:
    match = re.search(rf"^{re.escape(field)}\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    return match.group(1).strip() if match else None


def probe_memory(root: Path = Path("/")) -> MemoryInfo:
    """RAM and swap from /proc/meminfo on Linux (what psutil reads there); psutil elsewhere."""
    meminfo_kib = _meminfo_kib(read_text(root / "proc/meminfo") or "")
    fields = ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree")
    if all(field in meminfo_kib for field in fields):
        total, available, swap_total, swap_free = (meminfo_kib[f] * 1024 for f in fields)
        return MemoryInfo(
            total_bytes=total,
            available_bytes=available,
            swap_total_bytes=swap_total,
            swap_free_bytes=swap_free,
        )
    import psutil  # not Linux, or a kernel before 3.14 (no MemAvailable: psutil estimates it)

    virtual = psutil.virtual_memory()
    swap = psutil.swap_memory()
    return MemoryInfo(
        total_bytes=int(virtual.total),
        available_bytes=int(virtual.available),
        swap_total_bytes=int(swap.total),
        swap_free_bytes=int(swap.free),
    )


def _meminfo_kib(text: str) -> dict[str, int]:
    """``MemTotal:  24684084 kB`` lines as {"MemTotal": 24684084}."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        words = rest.split()
        if words and words[0].isdigit() and words[1:] in ([], ["kB"]):
            values[name.strip()] = int(words[0])
    return values


def probe_disks(places: dict[str, str | None]) -> tuple[DiskInfo, ...]:
    """Free space at each labelled place; one entry per distinct existing path."""
    disks: list[DiskInfo] = []
    seen: set[str] = set()
    for label, path in places.items():
        if not path or path in seen:
            continue
        seen.add(path)
        disks.append(_disk(label, path))
    return tuple(disks)


def _disk(label: str, path: str) -> DiskInfo:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return DiskInfo(label=label, path=path, total_bytes=None, free_bytes=None)
    return DiskInfo(label=label, path=path, total_bytes=usage.total, free_bytes=usage.free)
