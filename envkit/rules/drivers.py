"""The steps that install, build, sign and repair the NVIDIA driver, for this machine's context.

Every step is generated from the knowledge base's distribution table for the detected family
(os-release ID, then ID_LIKE), within the last driver branch of each GPU's generation. Inside a
container the fix is on the host; under WSL 2 it is the Windows driver; on native Windows and
macOS there are no Linux steps at all. envkit prints these steps; it never runs sudo.
"""

from __future__ import annotations

import re

from envkit import knowledge
from envkit.model import GpuInfo, OsInfo, PciGpu, Snapshot
from envkit.records import record
from envkit.rules import facts

NVIDIA_DOWNLOADS = "https://www.nvidia.com/Download/index.aspx"
GRAPHICS_DRIVERS_PPA = "ppa:graphics-drivers/ppa"
CONTAINER_TOOLKIT_GUIDE = (
    "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html"
)
DEVICE_PLUGIN = "https://github.com/NVIDIA/k8s-device-plugin"
CUDA_ON_WSL = "https://docs.nvidia.com/cuda/wsl-user-guide/index.html"
WSL_MIN_WINDOWS_BUILD = "19044"
"""Windows 10 21H2; TensorFlow's pip page asks for it (or Windows 11) for the GPU in WSL 2."""
WSL_CUDA_MIN_BRANCH = 495
"""NVIDIA's CUDA on WSL guide: "R495 and later windows will have CUDA support for WSL 2" (as
quoted in microsoft/wslg#776); drivers before it were previews for Windows Insider builds."""
WSL_CUDA_PREVIEW_BRANCH = 455
WSL_CUDA_PREVIEW_DRIVER = "455.41"
"""The first CUDA on WSL preview driver the 2020 guide asked for (microsoft/WSL#5848)."""
REBOOT = "sudo reboot"
UBUNTU_INSTALLED_BRANCH = (
    "$(dpkg-query -W -f='${Package}\\n' 'nvidia-driver-[0-9]*'"
    " | head -1 | sed 's/^nvidia-driver-//')"
)
"""The installed nvidia-driver-NNN[-open]'s branch, as the shell reads it from dpkg."""
_EMPTY_VISIBLE_DEVICES = {"", "void"}


# ---------------------------------------------------------------- GPU generations


@record
class GpuLimit:
    """What the machine's GPUs allow of a driver: the newest branch, the open modules."""

    gpus: tuple[tuple[str, knowledge.GpuGeneration | None], ...]
    """(how the GPU is named in evidence, its generation or None when unknown)."""

    @property
    def known(self) -> bool:
        return bool(self.gpus) and all(generation for _, generation in self.gpus)

    @property
    def max_branch(self) -> int | None:
        """The newest branch that drives every GPU; None when no GPU limits it."""
        limits = [int(g.last_branch) for _, g in self.gpus if g is not None and g.last_branch]
        return min(limits) if limits else None

    @property
    def open_modules(self) -> bool:
        """True only when every GPU is known to run NVIDIA's open kernel modules."""
        return self.known and all(g is not None and g.open_modules for _, g in self.gpus)

    @property
    def limiting(self) -> tuple[str, ...]:
        """The GPUs that set max_branch, as named in evidence."""
        branch = self.max_branch
        return tuple(
            name
            for name, g in self.gpus
            if branch is not None and g is not None and g.last_branch == str(branch)
        )

    def allows(self, driver_version: str | None) -> bool:
        """Whether a driver of this version (or branch) still drives every GPU."""
        branch = self.max_branch
        if branch is None or driver_version is None:
            return True
        head = driver_version.split(".")[0]
        return not head.isdigit() or int(head) <= branch


def gpu_generation_of(gpu: GpuInfo) -> knowledge.GpuGeneration | None:
    """From NVML's compute capability, else from the model its name denotes."""
    architecture = knowledge.architecture_for(gpu.compute_capability or "")
    if architecture is None and gpu.name:
        model = knowledge.gpu_model(gpu.name)
        architecture = model.architecture if model else None
    return knowledge.gpu_generation(architecture) if architecture else None


def pci_generation(gpu: PciGpu) -> knowledge.GpuGeneration | None:
    architecture = knowledge.architecture_for_pci_device(gpu.device_id)
    return knowledge.gpu_generation(architecture) if architecture else None


def gpu_limit(snapshot: Snapshot) -> GpuLimit:
    """The machine's GPUs and their generations: NVML's where it answers, else the PCI bus."""
    nvml_gpus = facts.healthy_gpus(snapshot)
    if nvml_gpus:
        return GpuLimit(
            tuple(
                (f"GPU {gpu.index} {gpu.name or ''}".strip(), gpu_generation_of(gpu))
                for gpu in nvml_gpus
            )
        )
    kernel = facts.kernel(snapshot)
    pci = kernel.pci_gpus if kernel else ()
    return GpuLimit(tuple((f"PCI {g.address} ({g.device_id})", pci_generation(g)) for g in pci))


def branch_of(version: str | None) -> int | None:
    """470 for 470.141.03 (or a Windows driver's 451.67); None when not a version."""
    head = (version or "").split(".")[0]
    return int(head) if head.isdigit() else None


_branch_of = branch_of


# ---------------------------------------------------------------- templates


def _fill(steps: tuple[str, ...], snapshot: Snapshot, branch: str | None = None) -> list[str]:
    major = facts.distro_release_major(snapshot)
    info = snapshot.os
    arch = info.architecture.lower() if isinstance(info, OsInfo) else "x86_64"
    distro = (info.distro_id or "").lower() if isinstance(info, OsInfo) else ""
    release = str(major) if major is not None else "9"
    values = {
        "{cuda_repo}": f"amzn{release}" if distro == "amzn" else f"rhel{release}",
        "{release_major}": release,
        "{repo_arch}": "sbsa" if arch in {"aarch64", "arm64"} else "x86_64",
        "{suse_repo}": "tumbleweed" if "tumbleweed" in distro else "leap/$releasever",
        "{branch}": branch or "",
    }
    filled = []
    for step in steps:
        for key, value in values.items():
            step = step.replace(key, value)
        filled.append(step)
    return filled


def _family(snapshot: Snapshot) -> knowledge.DistroFamily:
    return facts.distro_family(snapshot).for_release(facts.distro_release_major(snapshot))


def _generic_note(snapshot: Snapshot, family: knowledge.DistroFamily) -> list[str]:
    if not family.is_generic:
        return []
    info = snapshot.os
    name = (info.distro_pretty_name or info.distro_id) if isinstance(info, OsInfo) else None
    return [f"# {name or 'this Linux'}: envkit's driver commands are not specific to it"]


# ---------------------------------------------------------------- context routes


def container_gpu_signs(snapshot: Snapshot) -> tuple[str, ...]:
    """What shows, inside a container, that a GPU is meant to be there."""
    signs: list[str] = []
    kernel = facts.kernel(snapshot)
    if kernel is not None and kernel.module_version_line:
        signs.append(f"the host's module answers in /proc/driver/nvidia ({kernel.module_version})")
    if kernel is not None and kernel.pci_gpus:
        signs.append(f"{len(kernel.pci_gpus)} NVIDIA GPU(s) in /sys/bus/pci")
    info = snapshot.os
    for name, value in info.container_gpu_env if isinstance(info, OsInfo) else ():
        if name == "NVIDIA_VISIBLE_DEVICES" and value.strip().lower() in _EMPTY_VISIBLE_DEVICES:
            continue
        if name in {"NVIDIA_VISIBLE_DEVICES", "NVIDIA_REQUIRE_CUDA"}:
            signs.append(f"{name}={value}")
    return tuple(signs)


def image_required_cuda(snapshot: Snapshot) -> str | None:
    """The CUDA an NVIDIA/CUDA image requires of the host's driver: NVIDIA_REQUIRE_CUDA's
    ``cuda>=X.Y`` (the image's own ENV, e.g. "cuda>=11.7 brand=tesla,driver>=470,...")."""
    info = snapshot.os
    for name, value in info.container_gpu_env if isinstance(info, OsInfo) else ():
        if name == "NVIDIA_REQUIRE_CUDA":
            match = _REQUIRE_CUDA.search(value)
            if match:
                return match.group(1)
    return None


_REQUIRE_CUDA = re.compile(r"(?:^|\s)cuda>=(\d+\.\d+)")


def container_host_steps(snapshot: Snapshot) -> tuple[str, ...]:
    """GPU access for a container is given on the host: never driver steps inside it."""
    container = facts.in_container(snapshot) or "container"
    if container == "kubernetes":
        return (
            "# nothing to install in this pod: request the GPU in the pod spec, e.g.",
            "#   resources: {limits: {nvidia.com/gpu: 1}}",
            "# on the node: the NVIDIA driver, the NVIDIA Container Toolkit and the NVIDIA "
            f"device plugin ({DEVICE_PLUGIN}) or the GPU Operator",
            "kubectl describe node <node> | grep nvidia.com/gpu   # does the node offer GPUs?",
        )
    if container == "podman":
        return (
            "# nothing to install in this container; on the host: the NVIDIA driver and the "
            f"NVIDIA Container Toolkit ({CONTAINER_TOOLKIT_GUIDE})",
            "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml   # on the host",
            "podman run --device nvidia.com/gpu=all ...   # start the container with the GPUs",
        )
    return (
        f"# nothing to install in this {container} container; on the host: the NVIDIA driver "
        f"and the NVIDIA Container Toolkit ({CONTAINER_TOOLKIT_GUIDE})",
        "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker"
        "   # on the host",
        "docker run --gpus all ...   # start the container with the GPUs",
    )


def wsl_windows_driver_steps() -> tuple[str, ...]:
    """Under WSL 2 the GPU comes from the Windows driver: no Linux driver, no module."""
    return (
        "# in Windows, not inside WSL: install or update the NVIDIA Windows driver (branch "
        f"R{WSL_CUDA_MIN_BRANCH} or newer supports CUDA on WSL 2)",
        f"# {NVIDIA_DOWNLOADS}",
        f"# WSL 2 GPU access needs Windows 11 or Windows 10 21H2 (build {WSL_MIN_WINDOWS_BUILD}) "
        "or newer: check with winver",
        "wsl --update   # in Windows PowerShell: a current WSL kernel",
        "wsl --shutdown   # in Windows PowerShell, then open the distribution again",
    )


def _non_linux_steps(snapshot: Snapshot) -> tuple[str, ...] | None:
    family = facts.os_family(snapshot)
    if family == "wsl2":
        return wsl_windows_driver_steps()
    if family == "windows":
        return (f"# install the NVIDIA driver for Windows from {NVIDIA_DOWNLOADS}",)
    if family == "macos":
        return ("# macOS has no NVIDIA driver for current GPUs; TensorFlow uses tensorflow-metal",)
    if facts.in_container(snapshot):
        return container_host_steps(snapshot)
    return None


# ---------------------------------------------------------------- install


def install_driver_steps(snapshot: Snapshot, min_driver: str | None = None) -> tuple[str, ...]:
    """How to install (or upgrade to) an NVIDIA driver of at least ``min_driver`` here.

    Never a branch newer than the last that drives each GPU, and the open kernel modules only
    where every GPU is Turing or newer. Where ``min_driver`` lies beyond that branch, these
    steps install the last branch anyway (the GPU needs a driver); the caller says what
    TensorFlow then fits.
    """
    routed = _non_linux_steps(snapshot)
    if routed is not None:
        return routed
    limit = gpu_limit(snapshot)
    if not limit.allows(min_driver):
        min_driver = None
    family = _family(snapshot)
    if family.key == "ubuntu":
        steps = _ubuntu_install(snapshot, limit, min_driver)
    else:
        # A repository comes first: the finder (nvidia-detect) and the install need it.
        steps = [*_generic_note(snapshot, family), *_fill(family.repo_setup, snapshot)]
        steps += _fill(family.find_driver, snapshot)
        steps += _install_lines(snapshot, family, limit)
        if min_driver:
            steps.append(
                f"# TensorFlow needs driver {min_driver} or newer: compare the version these "
                "packages install"
            )
    steps += _nouveau_note(snapshot, family)
    steps += _install_secure_boot(snapshot, family, _chosen_branch(snapshot, limit, min_driver))
    if not steps[-1].startswith(REBOOT):  # the MOK-enrolling reboot is the reboot
        steps.append(REBOOT)
    return tuple(steps)


def _install_lines(
    snapshot: Snapshot, family: knowledge.DistroFamily, limit: GpuLimit
) -> list[str]:
    branch = limit.max_branch
    if branch is not None:
        legacy = family.legacy_steps(str(branch))
        if legacy is not None:
            check = (
                []
                if family.legacy_verified
                else [
                    f"# envkit took these legacy package names from secondary sources: "
                    f"confirm them at {family.docs}"
                ]
            )
            return [_limit_comment(limit), *check, *_fill(legacy, snapshot, str(branch))]
        if family.install_branch:
            return [_limit_comment(limit), *_fill(family.install_branch, snapshot, str(branch))]
        return [_limit_comment(limit), f"# choose a {branch}-series driver at {NVIDIA_DOWNLOADS}"]
    if limit.open_modules:
        return _fill(family.install_open, snapshot)
    lines = _fill(family.install, snapshot)
    if not limit.known:
        lines.insert(0, _unknown_generation_comment())
    return lines


def _limit_comment(limit: GpuLimit) -> str:
    names = ", ".join(limit.limiting)
    return f"# {names}: the {limit.max_branch} branch is the last that drives it; no newer one"


def _unknown_generation_comment() -> str:
    return (
        "# envkit cannot tell this GPU's generation: Kepler GPUs stop at the 470 branch, "
        "Maxwell, Pascal and Volta at 580"
    )


def _ubuntu_install(snapshot: Snapshot, limit: GpuLimit, min_driver: str | None) -> list[str]:
    family = _family(snapshot)
    find = _fill(family.find_driver, snapshot)
    limit_note = [_limit_comment(limit)] if limit.max_branch is not None else []
    unknown = [] if limit.known else [_unknown_generation_comment()]
    branch = _ubuntu_branch(snapshot, limit, min_driver)
    if branch is not None and (limit.known or min_driver):
        return [*find, *limit_note, *unknown, f"sudo apt install nvidia-driver-{branch}"]
    known_release = bool(_ubuntu_release_branches(snapshot))
    if min_driver and known_release:
        # The PPA must be added before ubuntu-drivers can see what it carries.
        return [
            f"# Ubuntu's archive may lack a driver ≥ {min_driver}; the PPA carries newer ones:",
            f"sudo add-apt-repository {GRAPHICS_DRIVERS_PPA} && sudo apt update",
            *find,
            *limit_note,
            "sudo ubuntu-drivers install   # installs the recommended driver",
        ]
    if limit.max_branch is not None and known_release:
        legacy = family.legacy_steps(str(limit.max_branch)) or family.install_branch
        return [*find, *limit_note, *_fill(legacy, snapshot, str(limit.max_branch))]
    return [
        *find,
        *limit_note,
        *unknown,
        "sudo ubuntu-drivers install   # installs the recommended driver",
    ]


def _ubuntu_release_branches(snapshot: Snapshot) -> tuple[knowledge.UbuntuDriverBranch, ...]:
    version = facts.ubuntu_version(snapshot)
    release = knowledge.ubuntu_release(version) if version else None
    return release.driver_branches if release else ()


def _ubuntu_branch(snapshot: Snapshot, limit: GpuLimit, min_driver: str | None) -> str | None:
    """The newest available nvidia-driver-NNN of this release within the GPUs' limit."""
    if limit.max_branch is None:
        return knowledge.ubuntu_driver_branch(facts.ubuntu_version(snapshot), min_driver)
    need = _branch_of(min_driver)
    for row in _ubuntu_release_branches(snapshot):
        if row.status != "available" or int(row.branch) > limit.max_branch:
            continue
        if need is None or int(row.branch) >= need:
            return row.branch
    return None


def _chosen_branch(snapshot: Snapshot, limit: GpuLimit, min_driver: str | None) -> str | None:
    if facts.distro_family(snapshot).key == "ubuntu":
        branch = _ubuntu_branch(snapshot, limit, min_driver)
        if branch is not None:
            return branch
    return str(limit.max_branch) if limit.max_branch is not None else None


def _nouveau_note(snapshot: Snapshot, family: knowledge.DistroFamily) -> list[str]:
    if not nouveau_holds_gpu(snapshot):
        return []
    if family.key in {"ubuntu", "debian", "fedora", "arch"}:
        return [
            "# nouveau holds the GPU now: the driver packages blacklist it; the reboot frees it"
        ]
    return [
        "# nouveau holds the GPU now: keep it off, then rebuild the initramfs",
        *knowledge.distro_steps().nouveau_blacklist,
        *_fill(family.initramfs, snapshot),
    ]


def nouveau_holds_gpu(snapshot: Snapshot) -> bool:
    kernel = facts.kernel(snapshot)
    if kernel is None:
        return False
    return kernel.nouveau_loaded or any(gpu.driver == "nouveau" for gpu in kernel.pci_gpus)


def secure_boot_on(snapshot: Snapshot) -> bool:
    return isinstance(snapshot.os, OsInfo) and snapshot.os.secure_boot is True


def _install_secure_boot(
    snapshot: Snapshot, family: knowledge.DistroFamily, branch: str | None
) -> list[str]:
    if not secure_boot_on(snapshot):
        return []
    if family.key == "ubuntu":
        signed = _fill(family.signed_modules, snapshot, branch) if branch else []
        return [
            "# Secure Boot is on: Canonical-signed prebuilt modules need no key",
            *signed,
            "# a DKMS-built module asks for a MOK password instead: enrol the key at the next boot",
            *knowledge.distro_steps().mok_enrolment,
        ]
    return [
        "# Secure Boot is on: the module must be signed by an enrolled key",
        *signing_steps(snapshot, family),
    ]


def signing_steps(snapshot: Snapshot, family: knowledge.DistroFamily) -> list[str]:
    """Sign the module and enrol the key, in this family's way; the MOK Manager step last."""
    steps = _fill(family.secure_boot_sign, snapshot)
    if any("mokutil --import" in step or "mokutil --list-new" in step for step in steps):
        steps += knowledge.distro_steps().mok_enrolment
    return steps


# ---------------------------------------------------------------- module, mismatch


def kernel_module_steps(snapshot: Snapshot) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the likely causes, the steps) when the driver is installed but its module not loaded.

    Nouveau off, the module built for this kernel, then signed where Secure Boot is on; the
    last step is the reboot, which under Secure Boot is where MOK Manager enrols the key.
    """
    family = _family(snapshot)
    causes: list[str] = []
    steps: list[str] = [*_generic_note(snapshot, family)]
    if nouveau_holds_gpu(snapshot):
        causes.append("nouveau (the open-source driver) holds the GPU")
        steps += [*knowledge.distro_steps().nouveau_blacklist, *_fill(family.initramfs, snapshot)]
    causes.append("the module may not be built for the running kernel")
    steps += [*_fill(family.module_check, snapshot), *_fill(family.module_rebuild, snapshot)]
    reboot = [REBOOT]
    if secure_boot_on(snapshot):
        causes.insert(-1, "Secure Boot is on and rejects a module not signed by an enrolled key")
        steps.append("mokutil --sb-state")
        steps += _fill(family.signed_modules, snapshot, UBUNTU_INSTALLED_BRANCH)
        signing = signing_steps(snapshot, family)
        enrol = knowledge.distro_steps().mok_enrolment
        if signing[-len(enrol) :] == list(enrol):
            reboot = signing[-len(enrol) :]
            signing = signing[: -len(enrol)]
        steps += signing
    return tuple(causes), tuple(dict.fromkeys([*steps, *reboot]))


def mismatch_steps(snapshot: Snapshot) -> tuple[str, ...]:
    """Reboot first; where module, libraries and packages still disagree, reinstall alike."""
    routed = _non_linux_steps(snapshot)
    if facts.in_container(snapshot):
        return (
            "# the libraries come from the host: the host's driver was upgraded, not this "
            "container's",
            "sudo reboot   # on the host, then start the container again",
        )
    if routed is not None:
        return routed
    family = _family(snapshot)
    return (
        *_generic_note(snapshot, family),
        "sudo reboot   # loads the module of the driver now installed",
        "# still mismatched after the reboot: module, libraries and packages disagree:",
        *_fill(family.mismatch_check, snapshot),
        *_fill(family.mismatch_repair, snapshot),
        REBOOT,
        *(
            ["# to stop unattended upgrades from doing it again on a training box:"]
            if family.hold
            else []
        ),
        *_fill(family.hold, snapshot),
    )


def wsl_linux_driver_removal(snapshot: Snapshot) -> tuple[str, ...]:
    family = _family(snapshot)
    return (
        *_fill(family.remove_in_wsl, snapshot),
        "# then restart WSL: wsl --shutdown   (in Windows PowerShell)",
    )


# ---------------------------------------------------------------- CUDA cannot start


def cuda_init_causes(snapshot: Snapshot) -> str:
    """The causes of cuInit failing (CUDA_ERROR_UNKNOWN, 'no CUDA-capable device') that can
    apply here, the ones the probes see first, each with how to tell it apart."""
    kernel = facts.kernel(snapshot)
    container = bool(facts.in_container(snapshot))
    wsl = facts.os_family(snapshot) == "wsl2"
    candidates = (  # (can apply here, seen by the probes, the cause and how to tell)
        (
            not wsl,
            kernel is not None and not kernel.uvm_present and bool(kernel.device_nodes),
            "/dev/nvidia-uvm is missing (ls /dev/nvidia-uvm)",
        ),
        (
            not wsl,
            kernel is not None and bool(kernel.unusable_device_nodes),
            "device nodes this user cannot open (ls -l /dev/nvidia*)",
        ),
        (
            container,
            not container_gpu_signs(snapshot),
            "a container started without GPU devices (docker run --gpus all)",
        ),
        (
            wsl,
            not facts.healthy_gpus(snapshot),
            "WSL without the Windows NVIDIA driver (ls /usr/lib/wsl/lib/libcuda.so*)",
        ),
        (
            True,
            False,
            "a resume from suspend that left the GPU unusable (it passes after a reboot)",
        ),
    )
    seen = [text for applies, evident, text in candidates if applies and evident]
    others = [text for applies, evident, text in candidates if applies and not evident]
    head = f"Seen here: {'; '.join(seen)}. " if seen else ""
    return f"{head}Other causes to rule out: {'; '.join(others)}."


def uvm_steps(snapshot: Snapshot) -> tuple[str, ...]:
    if facts.in_container(snapshot):
        return (
            "# the container lacks the device: the host must pass /dev/nvidia-uvm in",
            "sudo nvidia-modprobe -u -c=0   # on the host, where the node is missing there too",
            *container_host_steps(snapshot),
        )
    return (
        "sudo nvidia-modprobe -u -c=0   # loads nvidia-uvm and creates /dev/nvidia-uvm",
        "# or: sudo modprobe nvidia-uvm (then the node appears on first CUDA use as root)",
        "ls -l /dev/nvidia-uvm",
    )


# ---------------------------------------------------------------- the TensorFlow a capped GPU runs


@record
class TensorflowCap:
    """What the GPUs' last driver branch leaves of TensorFlow: the newest CUDA that branch
    runs, and the newest TensorFlow series built for it (None when no series is)."""

    branch: int
    max_cuda: str
    release: knowledge.TfRelease | None
    gpus: tuple[str, ...]

    def note(self) -> str:
        names = ", ".join(self.gpus)
        if self.release is None:
            return (
                f"# {names}: the {self.branch} branch (its last) runs CUDA ≤ {self.max_cuda}, "
                "older than every TensorFlow envkit knows: train on the CPU"
            )
        return (
            f"# {names}: the {self.branch} branch (its last) runs CUDA ≤ {self.max_cuda}: "
            f"TensorFlow {self.release.series} (CUDA {self.release.cuda}) is the newest for it, "
            "not a TensorFlow built for a newer CUDA"
        )


def tensorflow_cap(snapshot: Snapshot) -> TensorflowCap | None:
    """The cap a GPU generation's last branch puts on TensorFlow, where it bites: the newest
    TensorFlow needs a newer CUDA than that branch runs (Kepler: 470, CUDA 11.4). NVML's GPUs
    where it answers, else the PCI bus; a GPU whose wheels have no code is stepped past."""
    limit = gpu_limit(snapshot)
    branch = limit.max_branch
    if branch is None:
        return None
    last_drivers = [
        g.last_driver for _, g in limit.gpus if g is not None and g.last_branch == str(branch)
    ]
    max_cuda = knowledge.max_cuda_for_driver(
        next((d for d in last_drivers if d), None) or f"{branch}.999.99"
    )
    releases = knowledge.tensorflow_releases()
    newest = next((r for r in reversed(releases) if r.cuda), None)
    if max_cuda is None or newest is None or newest.cuda is None:
        return None
    if facts.version(newest.cuda) is not None and not _cuda_newer(newest.cuda, max_cuda):
        return None
    capabilities = [
        g.compute_capability for g in facts.healthy_gpus(snapshot) if g.compute_capability
    ]
    release = next(
        (
            r
            for r in reversed(releases)
            if r.cuda
            and not _cuda_newer(r.cuda, max_cuda)
            and all(
                knowledge.tf_kernel_support(r, cc) != knowledge.KernelSupport.UNSUPPORTED
                for cc in capabilities
            )
        ),
        None,
    )
    return TensorflowCap(branch, max_cuda, release, limit.limiting)


def _cuda_newer(cuda: str, than: str) -> bool:
    mine, theirs = facts.version(cuda), facts.version(than)
    return mine is not None and theirs is not None and mine > theirs
