"""The OS, CPU, memory and disk probes: for real on this machine, checked against other readers,
and on laid-out folders for the states this machine cannot be put in."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from envkit.probes import system


def _command_output(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def test_os_matches_what_other_tools_read_on_this_machine() -> None:
    info = system.probe_os()
    release = platform.freedesktop_os_release()
    assert info.system == "Linux"
    assert info.distro_id == release["ID"]
    assert info.distro_version == release.get("VERSION_ID")
    assert info.distro_pretty_name == release["PRETTY_NAME"]
    assert info.kernel_release == _command_output("uname", "-r")
    assert info.architecture == _command_output("uname", "-m")
    assert info.hostname == socket.gethostname()
    if shutil.which("getconf"):
        assert f"glibc {info.glibc_version}" == _command_output("getconf", "GNU_LIBC_VERSION")


def test_os_release_with_quotes_and_comments(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(
        '# written by hand\nNAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n'
        'PRETTY_NAME="Ubuntu 22.04.4 LTS"\n'
    )
    info = system.probe_os(tmp_path, environ={})
    assert (info.distro_id, info.distro_version) == ("ubuntu", "22.04")
    assert info.distro_pretty_name == "Ubuntu 22.04.4 LTS"


def test_missing_os_release_leaves_distro_unknown(tmp_path: Path) -> None:
    info = system.probe_os(tmp_path, environ={})
    assert info.distro_id is None
    assert info.distro_pretty_name is None


@pytest.mark.parametrize(
    ("osrelease", "expected"),
    [
        # Kernel release strings as WSL kernels print them.
        ("4.4.0-19041-Microsoft", 1),
        ("5.15.153.1-microsoft-standard-WSL2", 2),
        ("6.6.36.3-microsoft-standard-WSL2+", 2),
        ("6.8.0-45-generic", None),
    ],
)
def test_wsl_version_from_kernel_release(
    tmp_path: Path, osrelease: str, expected: int | None
) -> None:
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_text(osrelease + "\n")
    assert system.probe_os(tmp_path, environ={}).wsl_version == expected


@pytest.mark.parametrize(
    ("marker", "environ", "expected"),
    [
        (".dockerenv", {}, "docker"),
        ("run/.containerenv", {}, "podman"),
        (None, {"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, "kubernetes"),
        (None, {}, None),
    ],
)
def test_container_detection(
    tmp_path: Path, marker: str | None, environ: dict[str, str], expected: str | None
) -> None:
    if marker:
        (tmp_path / marker).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / marker).write_text("")
    assert system.probe_os(tmp_path, environ=environ).container == expected


def test_container_from_cgroup_of_pid_1(tmp_path: Path) -> None:
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "proc/1/cgroup").write_text("0::/kubepods/besteffort/pod6f1e/0d2c9a8e7b\n")
    assert system.probe_os(tmp_path, environ={}).container == "kubernetes"


def test_this_machine_container_matches_its_markers() -> None:
    info = system.probe_os()
    if Path("/.dockerenv").exists() and not os.environ.get("KUBERNETES_SERVICE_HOST"):
        assert info.container in {"docker", "podman"}


@pytest.mark.parametrize(
    ("vendor", "product", "expected"),
    [
        ("QEMU", "Standard PC (Q35 + ICH9, 2009)", "qemu"),
        ("Amazon EC2", "p5.48xlarge", "amazon"),
        ("Google", "Google Compute Engine", "google"),
        ("Microsoft Corporation", "Virtual Machine", "microsoft"),
        ("Dell Inc.", "Precision 7920 Tower", None),
    ],
)
def test_virtualization_from_dmi(
    tmp_path: Path, vendor: str, product: str, expected: str | None
) -> None:
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text(vendor + "\n")
    (dmi / "product_name").write_text(product + "\n")
    assert system.probe_os(tmp_path, environ={}).virtualization == expected


def test_hypervisor_cpu_flag_without_dmi(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nflags\t\t: fpu sse2 hypervisor avx\n")
    assert system.probe_os(tmp_path, environ={}).virtualization == "unknown-hypervisor"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"\x06\x00\x00\x00\x01", True), (b"\x06\x00\x00\x00\x00", False), (b"\x06\x00", None)],
)
def test_secure_boot_from_efivars(tmp_path: Path, value: bytes, expected: bool | None) -> None:
    efivars = tmp_path / "sys/firmware/efi/efivars"
    efivars.mkdir(parents=True)
    (efivars / system.SECURE_BOOT_VAR).write_bytes(value)
    assert system.probe_os(tmp_path, environ={}).secure_boot is expected


def test_secure_boot_unknown_when_efi_variable_unreadable(tmp_path: Path) -> None:
    (tmp_path / "sys/firmware/efi").mkdir(parents=True)
    assert system.probe_os(tmp_path, environ={}).secure_boot is None


def test_legacy_bios_means_secure_boot_off(tmp_path: Path) -> None:
    assert system.probe_os(tmp_path, environ={}).secure_boot is False


def test_cpu_flags_and_counts_match_proc_cpuinfo() -> None:
    info = system.probe_cpu()
    flags_line = next(
        line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")
    )
    flags = set(flags_line.split(":", 1)[1].split())
    assert info.flags_known
    assert set(info.tensorflow_flags) == flags & {"avx", "avx2", "fma", "avx512f"}
    assert info.logical_cores == int(_command_output("nproc", "--all"))
    assert info.has_flag("avx") == ("avx" in flags)


def test_cpu_without_avx_is_reported(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    # An Intel Pentium G4560 (Kaby Lake) has SSE4.2 but no AVX: the classic "Illegal instruction".
    (tmp_path / "proc/cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Pentium(R) CPU G4560 @ 3.50GHz\n"
        "flags\t\t: fpu vme de pse tsc msr sse sse2 ssse3 sse4_1 sse4_2 popcnt aes\n"
    )
    info = system.probe_cpu(tmp_path)
    assert info.model_name == "Intel(R) Pentium(R) CPU G4560 @ 3.50GHz"
    assert info.tensorflow_flags == ()
    assert info.has_flag("avx") is False


def test_cpu_flags_unknown_without_cpuinfo(tmp_path: Path) -> None:
    info = system.probe_cpu(tmp_path)
    assert not info.flags_known
    assert info.has_flag("avx") is None


def test_memory_matches_proc_meminfo() -> None:
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    total_kib = int(meminfo["MemTotal"].split()[0])
    swap_kib = int(meminfo["SwapTotal"].split()[0])
    info = system.probe_memory()
    assert info.total_bytes == total_kib * 1024
    assert info.swap_total_bytes == swap_kib * 1024
    assert 0 < info.available_bytes <= info.total_bytes


def test_disks_match_df_and_skip_duplicates_and_missing(tmp_path: Path) -> None:
    disks = system.probe_disks(
        {"home": str(tmp_path), "conda-root": None, "target-prefix": str(tmp_path)}
    )
    assert [d.label for d in disks] == ["home"]
    df_total = int(_command_output("df", "-B1", "--output=size", str(tmp_path)).splitlines()[-1])
    assert disks[0].total_bytes == df_total
    missing = system.probe_disks({"target-prefix": str(tmp_path / "gone")})
    assert missing[0].free_bytes is None


def test_memory_from_a_laid_out_proc_meminfo(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/meminfo").write_text(
        "MemTotal:       65786592 kB\nMemFree:         1019124 kB\n"
        "MemAvailable:   40186224 kB\nSwapTotal:       2097148 kB\nSwapFree:        2097148 kB\n"
        "HugePages_Total:       0\n"
    )
    info = system.probe_memory(tmp_path)
    assert info.total_bytes == 65786592 * 1024
    assert info.available_bytes == 40186224 * 1024
    assert (info.swap_total_bytes, info.swap_free_bytes) == (2097148 * 1024, 2097148 * 1024)


def test_memory_without_memavailable_falls_back_to_psutil(tmp_path: Path) -> None:
    import psutil

    (tmp_path / "proc").mkdir()  # Linux before 3.14 has no MemAvailable line
    (tmp_path / "proc/meminfo").write_text("MemTotal:  1024 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
    assert system.probe_memory(tmp_path).total_bytes == psutil.virtual_memory().total


def test_physical_cores_from_the_cpu_topology(tmp_path: Path) -> None:
    """Two cores with two threads each: cpu0/cpu2 share a core, cpu1/cpu3 the other."""
    for cpu, siblings in (("cpu0", "0,2"), ("cpu1", "1,3"), ("cpu2", "0,2"), ("cpu3", "1,3")):
        topology = tmp_path / "sys/devices/system/cpu" / cpu / "topology"
        topology.mkdir(parents=True)
        (topology / "core_cpus_list").write_text(siblings + "\n")
    (tmp_path / "sys/devices/system/cpu/cpufreq").mkdir()  # not a cpuN folder
    assert system.probe_cpu(tmp_path).physical_cores == 2


def test_cores_match_psutil_on_this_machine() -> None:
    import psutil

    info = system.probe_cpu()
    assert (info.physical_cores, info.logical_cores) == (
        psutil.cpu_count(logical=False),
        psutil.cpu_count(logical=True),
    )
