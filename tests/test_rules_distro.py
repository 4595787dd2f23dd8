"""Driver-side fixes in each distribution's own commands, within each GPU generation's last
driver branch, and routed by context (container, WSL 2, native Windows, macOS).

Snapshots: tests/distro_support.py (real os-release files and real GPU ids; the rest of the
workstation SYNTHETIC, as in tests/rules_support.py).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envkit import codec, knowledge
from envkit.model import Finding, OsInfo, Severity, Snapshot
from envkit.probes.nvidia_kernel import probe_nvidia_kernel
from envkit.rules import drivers
from tests import distro_support as ds
from tests.rules_support import cuda_build, healthy, replace_os, run_check, with_tensorflow

REPO = Path(__file__).resolve().parents[1]
PASCAL_BOX = ds.with_gpus(healthy(), ds.GTX_1080_TI)
_DRIVER_CHECKS = {
    "no driver": ("nvidia.driver-installed", lambda s: ds.no_driver(s, ds.GTX_1080_TI)),
    "nouveau": (
        "nvidia.kernel-module",
        lambda s: ds.module_not_loaded(s, nouveau=True),
    ),
    "module not loaded": ("nvidia.kernel-module", ds.module_not_loaded),
    "secure boot": (
        "nvidia.kernel-module",
        lambda s: ds.module_not_loaded(replace_os(s, secure_boot=True)),
    ),
    "mismatch": ("nvidia.version-mismatch", ds.mismatch),
    "driver too old": (
        "nvidia.driver-too-old",
        lambda s: ds.driver_470(ds.with_gpus(s, ds.RTX_3090)),
    ),
}
_FAMILY_MARK = {
    "ubuntu": "ubuntu-drivers",
    "debian": "nvidia-driver",
    "fedora": "akmod",
    "rhel": "nvidia-driver:",
    "arch": "pacman",
    "suse": "zypper",
}


def _one(check_id: str, snapshot: Snapshot) -> Finding:
    [finding] = run_check(check_id, snapshot)
    return finding


def _fix_text(finding: Finding) -> str:
    return "\n".join(finding.fix)


# ---------------------------------------------------------------- every distro, every check


@pytest.mark.parametrize("fixture", sorted(ds.DISTROS))
@pytest.mark.parametrize("state", sorted(_DRIVER_CHECKS))
def test_driver_fixes_use_only_the_distributions_own_commands(fixture: str, state: str) -> None:
    check_id, build = _DRIVER_CHECKS[state]
    family = ds.DISTROS[fixture]
    finding = _one(check_id, build(ds.on(fixture, PASCAL_BOX)))
    assert finding.severity in (Severity.ERROR, Severity.WARNING)
    assert ds.foreign_commands(family, finding.fix) == [], finding.fix
    assert "purge" not in _fix_text(finding)


@pytest.mark.parametrize("fixture", sorted(ds.DISTROS))
def test_no_driver_installs_with_the_familys_packages(fixture: str) -> None:
    family = ds.DISTROS[fixture]
    finding = _one("nvidia.driver-installed", ds.no_driver(ds.on(fixture), ds.GTX_1080_TI))
    text = _fix_text(finding)
    assert _FAMILY_MARK[family] in text
    assert finding.fix[-1] == "sudo reboot"


@pytest.mark.parametrize(
    ("fixture", "initramfs"),
    [
        ("ubuntu-24.04", "sudo update-initramfs -u"),
        ("debian-12", "sudo update-initramfs -u"),
        ("fedora-40", "sudo dracut --force"),
        ("rocky-9.3", "sudo dracut --force"),
        ("arch", "sudo mkinitcpio -P"),
        ("opensuse-leap-15.5", "sudo mkinitrd"),
    ],
)
def test_nouveau_is_blacklisted_and_the_initramfs_rebuilt_the_familys_way(
    fixture: str, initramfs: str
) -> None:
    finding = _one("nvidia.kernel-module", ds.module_not_loaded(ds.on(fixture), nouveau=True))
    assert "nouveau" in finding.evidence
    assert any("blacklist nouveau" in line for line in finding.fix)
    assert initramfs in finding.fix


def test_module_not_loaded_without_nouveau_or_secure_boot_names_neither() -> None:
    finding = _one("nvidia.kernel-module", ds.module_not_loaded(ds.on("fedora-40")))
    assert "nouveau" not in _fix_text(finding)
    assert "mokutil" not in _fix_text(finding)
    assert "modinfo -F version nvidia" in _fix_text(finding)  # akmods' build state
    assert run_check("nvidia.kernel-module", ds.on("fedora-40")) == []


@pytest.mark.parametrize(
    ("fixture", "key"),
    [
        ("ubuntu-22.04", "/var/lib/shim-signed/mok/MOK.der"),
        ("debian-12", "/var/lib/dkms/mok.pub"),
        ("fedora-40", "/etc/pki/akmods/certs/public_key.der"),
        ("rhel-9.4", "/var/lib/dkms/mok.pub"),
    ],
)
def test_secure_boot_signs_with_the_familys_key_and_says_how_to_enrol(
    fixture: str, key: str
) -> None:
    snapshot = ds.module_not_loaded(ds.on(fixture, secure_boot=True))
    finding = _one("nvidia.kernel-module", snapshot)
    text = _fix_text(finding)
    assert f"mokutil --import {key}" in text
    assert "Enroll MOK -> Continue -> Yes" in text
    assert text.index("mokutil --import") < text.index("Enroll MOK")


def test_secure_boot_on_ubuntu_offers_the_signed_prebuilt_modules() -> None:
    snapshot = ds.module_not_loaded(ds.on("ubuntu-24.04", secure_boot=True))
    assert "linux-modules-nvidia-" in _fix_text(_one("nvidia.kernel-module", snapshot))
    no_driver = ds.no_driver(ds.on("ubuntu-24.04", secure_boot=True), ds.RTX_3090)
    text = _fix_text(_one("nvidia.driver-installed", no_driver))
    assert "linux-modules-nvidia-580-$(uname -r)" in text
    assert "Enroll MOK" in text
    reboots = [line for line in text.splitlines() if line.startswith("sudo reboot")]
    assert len(reboots) == 1 and "Enroll MOK" in reboots[0]


def test_secure_boot_off_gives_no_mok_steps() -> None:
    no_driver = ds.no_driver(ds.on("ubuntu-24.04", secure_boot=False), ds.RTX_3090)
    assert "mokutil" not in _fix_text(_one("nvidia.driver-installed", no_driver))


@pytest.mark.parametrize("fixture", ["ubuntu-22.04", "debian-12"])
def test_mismatch_reboots_first_then_reinstalls_consistently(fixture: str) -> None:
    finding = _one("nvidia.version-mismatch", ds.mismatch(ds.on(fixture)))
    assert finding.fix[0].startswith("sudo reboot")
    text = _fix_text(finding)
    assert "dpkg -l 'nvidia*'" in text
    assert "sudo apt install --reinstall" in text
    assert "purge" not in text and "remove" not in text
    assert run_check("nvidia.version-mismatch", ds.on(fixture)) == []


def test_unknown_distribution_gets_the_generic_route_and_says_so() -> None:
    for snapshot, check_id in (
        (ds.no_driver(ds.on("gentoo"), ds.GTX_1080_TI), "nvidia.driver-installed"),
        (
            ds.module_not_loaded(ds.on("gentoo", secure_boot=True), nouveau=True),
            "nvidia.kernel-module",
        ),
        (ds.mismatch(ds.on("gentoo")), "nvidia.version-mismatch"),
    ):
        finding = _one(check_id, snapshot)
        text = _fix_text(finding)
        assert "not specific to" in text
        assert ds.foreign_commands("generic", finding.fix) == []
        assert "pacman" not in text and "zypper" not in text
    text = _fix_text(_one("nvidia.driver-installed", ds.no_driver(ds.on("gentoo"), ds.RTX_3090)))
    assert "https://www.nvidia.com/Download/index.aspx" in text
    assert "cuda-installation-guide-linux" in text


@pytest.mark.parametrize(
    ("fixture", "family"),
    [("kali-rolling", "debian"), ("almalinux-9.4", "rhel"), ("oraclelinux-9.3", "rhel")],
)
def test_derivatives_get_their_familys_route_by_id_like_or_id(fixture: str, family: str) -> None:
    info = ds.real_os(fixture)
    assert knowledge.distro_family(info.distro_id, info.distro_id_like).key == family
    finding = _one("nvidia.driver-installed", ds.no_driver(ds.on(fixture), ds.GTX_1080_TI))
    assert ds.foreign_commands(family, finding.fix) == []


# ---------------------------------------------------------------- branch limits


def test_kepler_gets_470_and_never_a_branch_that_drops_it() -> None:
    snapshot = ds.no_driver(ds.on("ubuntu-22.04"), ds.GTX_780)
    finding = _one("nvidia.driver-installed", snapshot)
    text = _fix_text(finding)
    assert "Kepler" in finding.evidence
    assert "nvidia-driver-470" in text
    assert "nvidia-driver-580" not in text and "ubuntu-drivers install" not in text


@pytest.mark.parametrize(
    ("fixture", "package"),
    [
        ("fedora-40", "akmod-nvidia-470xx"),
        ("rocky-9.3", "nvidia-driver:470-dkms"),
        ("debian-12", "nvidia-tesla-470-driver"),
        ("arch", "nvidia-470xx-dkms"),
        ("opensuse-leap-15.5", "nvidia-gfxG05-kmp-default"),
    ],
)
def test_kepler_gets_its_last_branch_in_each_family(fixture: str, package: str) -> None:
    finding = _one("nvidia.driver-installed", ds.no_driver(ds.on(fixture), ds.GTX_780))
    assert package in _fix_text(finding)
    assert "nvidia-open" not in _fix_text(finding)


def test_pascal_stays_within_580_with_proprietary_modules() -> None:
    text = _fix_text(
        _one("nvidia.driver-installed", ds.no_driver(ds.on("rocky-9.3"), ds.GTX_1080_TI))
    )
    assert "nvidia-driver:580-dkms" in text
    assert "open" not in text.replace("opensuse", "")
    ubuntu = _one("nvidia.driver-installed", ds.no_driver(ds.on("ubuntu-24.04"), ds.GTX_1080_TI))
    assert "sudo apt install nvidia-driver-580" in ubuntu.fix


def test_turing_and_newer_get_the_open_modules_where_the_family_separates_them() -> None:
    text = _fix_text(
        _one("nvidia.driver-installed", ds.no_driver(ds.on("rhel-9.4"), ds.RTX_2080_TI))
    )
    assert "nvidia-driver:open-dkms" in text and "sudo dnf install nvidia-open" in text
    rhel10 = ds.no_driver(ds.on("rhel-9.4", distro_version="10.0"), ds.RTX_3090)
    assert "sudo dnf module" not in _fix_text(_one("nvidia.driver-installed", rhel10))


def test_pci_device_ids_give_the_generation_without_a_driver() -> None:
    assert knowledge.architecture_for_pci_device("0x1004") == "Kepler"
    assert knowledge.architecture_for_pci_device("0x1b06") == "Pascal"
    assert knowledge.architecture_for_pci_device("0x2204") == "Ampere"
    assert knowledge.architecture_for_pci_device("0x2b85") == "Blackwell"  # newer than pci.ids
    assert knowledge.architecture_for_pci_device("nonsense") is None
    limit = drivers.gpu_limit(ds.no_driver(healthy(), ds.GTX_780, ds.RTX_3090))
    assert limit.max_branch == 470 and not limit.open_modules


def test_unknown_generation_says_what_to_check() -> None:
    snapshot = ds.no_driver(
        ds.on("ubuntu-24.04"), ("0x0020", "an id below every pci.ids range", "0.0")
    )
    text = _fix_text(_one("nvidia.driver-installed", snapshot))
    assert "Kepler GPUs stop at the 470 branch" in text


def test_driver_too_old_on_kepler_gives_the_route_that_works_not_a_newer_driver() -> None:
    snapshot = ds.driver_470(ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_780))
    finding = _one("nvidia.driver-too-old", snapshot)
    text = _fix_text(finding)
    assert finding.severity is Severity.ERROR
    assert "470 branch is the last" in finding.evidence
    assert "nvidia-driver-5" not in text and "ubuntu-drivers install" not in text
    assert "CPU" in text


def test_driver_too_old_on_pascal_upgrades_within_580() -> None:
    snapshot = ds.driver_470(ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_1080_TI))
    finding = _one("nvidia.driver-too-old", snapshot)
    assert "sudo apt install nvidia-driver-580" in finding.fix
    assert (
        run_check("nvidia.driver-too-old", ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_1080_TI))
        == []
    )


def test_a_gpu_no_current_tensorflow_carries_gets_the_last_line_or_cpu() -> None:
    build = cuda_build("12.5.1", "9", "sm_60", "sm_70", "sm_80", "sm_89", "compute_90")
    snapshot = with_tensorflow(
        ds.with_gpus(ds.on("ubuntu-22.04"), ds.GTX_780), "2.21.0", build=build
    )
    finding = _one("nvidia.gpu-architecture", snapshot)
    text = _fix_text(finding)
    assert "CPU" in text
    assert "nvidia-driver-580" not in text
    quiet = with_tensorflow(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_3090), "2.21.0", build=build)
    assert run_check("nvidia.gpu-architecture", quiet) == []


# ---------------------------------------------------------------- contexts

_INSIDE_CONTAINER_FORBIDDEN = ("dkms", "modprobe", "initramfs", "apt install", "dnf", "mokutil")


def _no_steps_inside(finding: Finding) -> None:
    for line in finding.fix:
        if line.startswith("#") or "# on the host" in line:
            continue
        assert not any(word in line for word in _INSIDE_CONTAINER_FORBIDDEN), line
        assert not line.startswith("sudo reboot"), line


def _container(snapshot: Snapshot, name: str = "docker", **env: str) -> Snapshot:
    return replace_os(snapshot, container=name, container_gpu_env=tuple(sorted(env.items())))


def test_plain_container_without_driver_stays_info_with_the_host_route() -> None:
    snapshot = _container(ds.no_driver(ds.on("ubuntu-22.04"), ds.RTX_3090))
    snapshot = ds._kernel(snapshot, pci_gpus=())
    finding = _one("nvidia.driver-installed", snapshot)
    assert finding.severity is Severity.INFO
    assert any("docker run --gpus all" in line for line in finding.fix)
    _no_steps_inside(finding)


@pytest.mark.parametrize(
    "signs",
    [
        {"NVIDIA_VISIBLE_DEVICES": "all"},
        {"NVIDIA_REQUIRE_CUDA": "cuda>=12.5 brand=tesla,driver>=470,driver<471"},
    ],
)
def test_container_meant_to_have_a_gpu_is_an_error(signs: dict[str, str]) -> None:
    snapshot = ds._kernel(ds.no_driver(ds.on("ubuntu-22.04"), ds.RTX_3090), pci_gpus=())
    finding = _one("nvidia.driver-installed", _container(snapshot, **signs))
    assert finding.severity is Severity.ERROR
    assert next(iter(signs)) in finding.evidence
    _no_steps_inside(finding)


def test_container_with_gpus_in_sys_or_the_host_module_is_an_error() -> None:
    gpus_in_sys = _container(ds.no_driver(ds.on("ubuntu-22.04"), ds.RTX_3090))
    assert _one("nvidia.driver-installed", gpus_in_sys).severity is Severity.ERROR
    module = _container(ds.module_not_loaded(ds.on("ubuntu-22.04")))
    module = ds._kernel(
        module, module_version_line="NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15"
    )
    finding = _one("nvidia.kernel-module", module)
    assert finding.severity is Severity.ERROR
    _no_steps_inside(finding)


def test_void_visible_devices_is_no_sign() -> None:
    snapshot = ds._kernel(ds.no_driver(ds.on("ubuntu-22.04"), ds.RTX_3090), pci_gpus=())
    finding = _one("nvidia.driver-installed", _container(snapshot, NVIDIA_VISIBLE_DEVICES="void"))
    assert finding.severity is Severity.INFO


def test_kubernetes_pod_gets_the_gpu_limit_and_the_device_plugin() -> None:
    snapshot = _container(ds.module_not_loaded(ds.on("ubuntu-22.04")), "kubernetes")
    finding = _one("nvidia.kernel-module", snapshot)
    text = _fix_text(finding)
    assert "nvidia.com/gpu: 1" in text and "device plugin" in text
    _no_steps_inside(finding)


def test_mismatch_in_a_container_is_fixed_on_the_host() -> None:
    finding = _one("nvidia.version-mismatch", _container(ds.mismatch(ds.on("ubuntu-22.04"))))
    _no_steps_inside(finding)
    assert "host" in _fix_text(finding)


def _wsl(snapshot: Snapshot) -> Snapshot:
    return replace_os(snapshot, wsl_version=2, kernel_release="5.15.153.1-microsoft-standard-WSL2")


def test_wsl_never_gets_kernel_module_steps() -> None:
    snapshot = _wsl(ds.module_not_loaded(ds.on("ubuntu-22.04")))
    snapshot = ds._kernel(snapshot, nvml_library_paths=("/usr/lib/wsl/lib/libnvidia-ml.so.1",))
    findings = [
        f
        for check in ("nvidia.kernel-module", "nvidia.driver-installed")
        for f in run_check(check, snapshot)
    ]
    [finding] = findings
    text = _fix_text(finding)
    assert "Windows" in finding.title
    assert "19044" in text and "wsl --update" in text
    for word in ("dkms", "modprobe", "initramfs", "apt ", "mokutil", "sudo reboot"):
        assert word not in text


def test_wsl_with_a_linux_driver_gets_only_that_error() -> None:
    snapshot = _wsl(ds.module_not_loaded(ds.on("ubuntu-22.04")))
    snapshot = ds._kernel(
        snapshot, nvml_library_paths=("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",)
    )
    assert run_check("nvidia.kernel-module", snapshot) == []
    [finding] = run_check("nvidia.wsl-linux-driver", snapshot)
    assert finding.severity is Severity.ERROR


def test_wsl_driver_too_old_names_the_windows_driver() -> None:
    snapshot = _wsl(ds.driver_470(ds.with_gpus(ds.on("ubuntu-22.04"), ds.RTX_3090)))
    finding = _one("nvidia.driver-too-old", snapshot)
    assert "Windows driver" in finding.title
    assert "apt" not in _fix_text(finding)


@pytest.mark.parametrize("system", ["Windows", "Darwin"])
def test_native_windows_and_macos_get_no_linux_steps(system: str) -> None:
    snapshot = replace_os(ds.module_not_loaded(healthy()), system=system, distro_id=None)
    for finding in run_check("nvidia.kernel-module", snapshot):
        for word in ("dkms", "modprobe", "initramfs", "apt", "dnf", "mokutil", "sudo"):
            assert word not in _fix_text(finding)


# ---------------------------------------------------------------- Ubuntu route, PPA order


def test_ubuntu_no_driver_lists_devices_first_then_installs() -> None:
    finding = _one("nvidia.driver-installed", ds.no_driver(ds.on("ubuntu-22.04"), ds.RTX_3090))
    assert finding.fix[0].startswith("ubuntu-drivers devices")
    assert any(
        line.startswith(("sudo ubuntu-drivers install", "sudo apt install nvidia-driver-"))
        for line in finding.fix
    )


def test_ppa_comes_before_the_install_it_feeds() -> None:
    need = knowledge.driver_requirement("13.2")
    assert need is not None and need.toolkit_min_driver
    steps = drivers.install_driver_steps(
        ds.no_driver(ds.on("ubuntu-22.04"), ds.RTX_3090), need.toolkit_min_driver
    )
    ppa = next(i for i, line in enumerate(steps) if "add-apt-repository" in line)
    install = next(
        i for i, line in enumerate(steps) if line.startswith("sudo ubuntu-drivers install")
    )
    assert ppa < install


def test_nouveau_holding_the_gpu_is_named_when_no_driver_is_installed() -> None:
    snapshot = ds.no_driver(ds.on("ubuntu-24.04"), ds.RTX_3090, driver="nouveau")
    finding = _one("nvidia.driver-installed", snapshot)
    assert "nouveau holds the GPU" in finding.evidence
    quiet = ds.no_driver(ds.on("ubuntu-24.04"), ds.RTX_3090)
    assert "nouveau" not in _one("nvidia.driver-installed", quiet).evidence


# ---------------------------------------------------------------- CUDA cannot start, MIG


def test_missing_uvm_node_names_nvidia_modprobe() -> None:
    snapshot = ds.device_nodes(ds.on("ubuntu-22.04"), "nvidia0", "nvidiactl")
    [finding] = run_check("nvidia.cuda-devices", snapshot)
    assert "nvidia-modprobe -u -c=0" in _fix_text(finding)
    assert "Seen here: /dev/nvidia-uvm is missing" in finding.evidence
    assert run_check("nvidia.cuda-devices", ds.on("ubuntu-22.04")) == []


def test_missing_uvm_in_a_container_is_fixed_on_the_host() -> None:
    snapshot = _container(ds.device_nodes(ds.on("ubuntu-22.04"), "nvidia0", "nvidiactl"))
    [finding] = run_check("nvidia.cuda-devices", snapshot)
    _no_steps_inside(finding)


def test_device_nodes_this_user_cannot_open() -> None:
    snapshot = ds.device_nodes(
        ds.on("ubuntu-22.04"), "nvidia-uvm", "nvidia0", "nvidiactl", unusable=("nvidia0",)
    )
    [finding] = run_check("nvidia.cuda-devices", snapshot)
    assert "/dev/nvidia0" in finding.title
    assert "ls -l /dev/nvidia*" in finding.fix[0]


def test_mig_enabled_warns_what_tensorflow_sees() -> None:
    snapshot = ds.with_gpu(
        ds.on("ubuntu-22.04"), name="NVIDIA A100-SXM4-80GB", mig_mode_current=True
    )
    [finding] = run_check("nvidia.mig", snapshot)
    assert finding.severity is Severity.WARNING
    assert "one MIG slice" in finding.title
    assert run_check("nvidia.mig", ds.on("ubuntu-22.04")) == []


# ---------------------------------------------------------------- probes and schema


def test_probe_reads_id_like_and_the_nvidia_container_variables(tmp_path: Path) -> None:
    from envkit.probes.system import probe_os

    (tmp_path / "etc").mkdir()
    shutil.copy(ds.OS_RELEASES / "rocky-9.3", tmp_path / "etc/os-release")
    info = probe_os(tmp_path, environ={"NVIDIA_VISIBLE_DEVICES": "all", "HOME": "/root"})
    assert info.distro_id == "rocky"
    assert info.distro_id_like == ("rhel", "centos", "fedora")
    assert info.container_gpu_env == (("NVIDIA_VISIBLE_DEVICES", "all"),)


def test_snapshots_written_before_the_new_fields_still_load() -> None:
    document = codec.encode(healthy())
    assert isinstance(document, dict)
    os_part = document["os"]
    assert isinstance(os_part, dict)
    del os_part["distro_id_like"], os_part["container_gpu_env"]
    kernel = document["nvidia_kernel"]
    assert isinstance(kernel, dict)
    del kernel["unusable_device_nodes"]
    loaded = codec.decode(Snapshot, document)
    assert isinstance(loaded.os, OsInfo) and loaded.os.distro_id_like == ()


def test_device_node_permissions_are_probed_for_real_as_an_unprivileged_user() -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to probe as nobody")
    readable = Path(tempfile.mkdtemp(prefix="envkit-nodes-"))
    try:
        readable.chmod(0o755)
        shutil.copytree(REPO / "envkit", readable / "envkit")
        dev = readable / "root/dev"
        dev.mkdir(parents=True)
        for name, mode in (("nvidia0", 0o600), ("nvidiactl", 0o666), ("nvidia-uvm", 0o666)):
            (dev / name).touch()
            (dev / name).chmod(mode)
        (readable / "root").chmod(0o755)
        code = (
            "from pathlib import Path; from envkit.probes.nvidia_kernel import probe_nvidia_kernel;"
            f"print(probe_nvidia_kernel(Path({str(readable / 'root')!r})).unusable_device_nodes)"
        )
        done = subprocess.run(
            [
                setpriv,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                os.path.realpath(sys.executable),
                "-c",
                code,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=readable,
            env={**os.environ, "PYTHONPATH": str(readable)},
        )
        as_root = probe_nvidia_kernel(readable / "root").unusable_device_nodes
    finally:
        shutil.rmtree(readable, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('nvidia0',)"
    assert as_root == ()


def test_every_distro_source_is_in_the_sources_table() -> None:
    known = set(knowledge.sources())
    for family in knowledge.distro_families():
        assert set(family.sources) <= known, family.key
    for generation in knowledge.gpu_generations():
        assert set(generation.sources) <= known


def test_generation_table_follows_nvidias_matrix() -> None:
    branches = {g.architecture: g.last_branch for g in knowledge.gpu_generations()}
    assert branches["Kepler"] == "470"
    assert branches["Maxwell"] == branches["Pascal"] == branches["Volta"] == "580"
    assert branches["Turing"] is None and branches["Hopper"] is None
    opens = {g.architecture for g in knowledge.gpu_generations() if g.open_modules}
    assert "Volta" not in opens and {"Turing", "Ampere", "Blackwell"} <= opens


def test_dataclass_defaults_keep_old_constructors_working() -> None:
    info = ds.real_os("ubuntu-18.04")
    assert dataclasses.replace(info, distro_id_like=()).distro_id == "ubuntu"


@pytest.mark.parametrize(
    ("kernel", "fires"),
    [
        ("4.19.104-microsoft-standard", True),  # the 2020 WSL 2 kernel, before GPU support
        ("5.15.153.1-microsoft-standard-WSL2", False),
    ],
)
def test_old_wsl_kernel_is_named(kernel: str, fires: bool) -> None:
    snapshot = replace_os(healthy(), wsl_version=2, kernel_release=kernel)
    findings = run_check("system.wsl-kernel", snapshot)
    assert bool(findings) == fires
    if fires:
        assert "19044" in findings[0].evidence
    assert run_check("system.wsl-kernel", healthy()) == []


@pytest.mark.parametrize(
    ("fixture", "repository"), [("debian-12", "non-free"), ("fedora-40", "rpmfusion")]
)
def test_the_repository_step_comes_before_what_it_feeds(fixture: str, repository: str) -> None:
    steps = _one("nvidia.driver-installed", ds.no_driver(ds.on(fixture), ds.RTX_3090)).fix
    repo = next(i for i, line in enumerate(steps) if repository in line)
    installs = [
        i
        for i, line in enumerate(steps)
        if line.startswith(("sudo apt install", "sudo dnf install akmod"))
    ]
    assert installs and repo < min(installs)


def test_amazon_linux_uses_nvidias_amzn_repository_not_rpm_fusion() -> None:
    text = _fix_text(
        _one("nvidia.driver-installed", ds.no_driver(ds.on("amazonlinux-2023"), ds.RTX_3090))
    )
    assert "cuda/repos/amzn2023/x86_64/cuda-amzn2023.repo" in text
    assert "rpmfusion" not in text


def test_a_lost_gpu_in_a_container_is_reset_on_the_host() -> None:
    from envkit.model import NvmlInfo, Unavailable

    snapshot = ds.on("ubuntu-22.04")
    assert isinstance(snapshot.nvml, NvmlInfo)
    lost = dataclasses.replace(
        snapshot.nvml.gpus[0], error=Unavailable("nvml-gpu-lost", "GPU 0 has fallen off the bus.")
    )
    snapshot = dataclasses.replace(snapshot, nvml=dataclasses.replace(snapshot.nvml, gpus=(lost,)))
    [native] = run_check("nvidia.gpu-readable", snapshot)
    assert native.fix[1].startswith("sudo nvidia-smi -r -i 0")
    [inside] = run_check("nvidia.gpu-readable", _container(snapshot))
    assert all(line.startswith("#") for line in inside.fix)


def test_library_versions_are_read_from_the_real_links(tmp_path: Path) -> None:
    folder = tmp_path / "usr/lib/x86_64-linux-gnu"
    folder.mkdir(parents=True)
    (folder / "libnvidia-ml.so.550.54.15").write_bytes(b"")
    (folder / "libnvidia-ml.so.1").symlink_to("libnvidia-ml.so.550.54.15")
    info = probe_nvidia_kernel(tmp_path)
    assert info.nvml_library_versions == ("550.54.15",)
    snapshot = ds._kernel(ds.mismatch(ds.on("ubuntu-22.04")), nvml_library_versions=("550.54.15",))
    finding = _one("nvidia.version-mismatch", snapshot)
    assert "loaded kernel module 535.104.05; userspace library 550.54.15" in finding.evidence


def test_library_version_of_debians_real_libnvidia_ml(tmp_path: Path, libnvml_dir: Path) -> None:
    """Debian's real package layout: nvidia/current/libnvidia-ml.so.1 -> libnvidia-ml.so.NNN."""
    folder = tmp_path / "usr/lib/x86_64-linux-gnu/nvidia"
    folder.mkdir(parents=True)
    (folder / "current").symlink_to(libnvml_dir)
    real = sorted(p.name for p in libnvml_dir.glob("libnvidia-ml.so.*.*"))
    assert real, "the fetched package has no versioned libnvidia-ml"
    expected = real[0].removeprefix("libnvidia-ml.so.")
    assert probe_nvidia_kernel(tmp_path).nvml_library_versions == (expected,)


def test_a_driver_beyond_the_gpus_last_branch_is_named_with_the_branch_that_works() -> None:
    # Arch's 590 update on a Pascal card: the library is 590, NVML finds no GPU it drives.
    snapshot = ds.module_not_loaded(ds.with_gpus(ds.on("arch"), ds.GTX_1080_TI))
    snapshot = ds._kernel(snapshot, nvml_library_versions=("590.48.01",))
    finding = _one("nvidia.driver-drops-gpu", snapshot)
    assert "Pascal" in finding.title and "580" in finding.title
    assert "nvidia-580xx-dkms" in _fix_text(finding)
    fitting = ds._kernel(snapshot, nvml_library_versions=("580.95.05",))
    assert run_check("nvidia.driver-drops-gpu", fitting) == []
    assert run_check("nvidia.driver-drops-gpu", ds.with_gpus(ds.on("arch"), ds.RTX_3090)) == []


def test_this_machines_id_like_matches_what_python_reads() -> None:
    import platform

    from envkit.probes.system import probe_os

    try:
        release = platform.freedesktop_os_release()
    except OSError:
        pytest.skip("no os-release on this machine")
    info = probe_os()
    assert info.distro_id_like == tuple(release.get("ID_LIKE", "").lower().split())
    family = knowledge.distro_family(info.distro_id, info.distro_id_like)
    assert family.key != "generic" or release.get("ID") not in {"debian", "ubuntu", "fedora"}


def test_debian_12_enables_non_free_firmware_and_debian_11_does_not_need_it() -> None:
    bookworm = _fix_text(
        _one("nvidia.driver-installed", ds.no_driver(ds.on("debian-12"), ds.RTX_3090))
    )
    assert "non-free-firmware" in bookworm
    bullseye = ds.no_driver(ds.on("debian-12", distro_version="11"), ds.RTX_3090)
    text = _fix_text(_one("nvidia.driver-installed", bullseye))
    assert "contrib non-free" in text and "non-free-firmware" not in text
