"""Checks on the NVIDIA driver and GPUs, and whether they suit the installed TensorFlow."""

from __future__ import annotations

from collections.abc import Iterator

from envkit import knowledge
from envkit.model import CheckInfo, Finding, GpuInfo, OsInfo, Severity, Snapshot, Unavailable
from envkit.rules import advice, facts
from envkit.rules.registry import check

BUSY_MEMORY_FRACTION = 0.5
CUDA_ON_WSL = "https://docs.nvidia.com/cuda/wsl-user-guide/index.html"
VISIBLE_DEVICES_DOC = "https://docs.nvidia.com/cuda/cuda-c-programming-guide/index.html#env-vars"


def _nvml_failure(snapshot: Snapshot, code: str) -> Unavailable | None:
    """NVML's failure to start, when it failed with ``code``."""
    failure = snapshot.nvml
    return failure if isinstance(failure, Unavailable) and failure.code == code else None


@check("nvidia.driver-installed", "nvidia", "An NVIDIA GPU on the PCI bus has a driver installed.")
def driver_installed(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = _nvml_failure(snapshot, "nvml-library-not-found")
    if failure is None:
        return
    kernel = facts.kernel(snapshot)
    if kernel is not None and kernel.pci_gpus:
        ids = ", ".join(f"{gpu.address} ({gpu.device_id})" for gpu in kernel.pci_gpus)
        yield info.finding(
            Severity.ERROR,
            "An NVIDIA GPU is installed but no NVIDIA driver is",
            f"PCI bus: {ids}; NVML library: {failure.reason}",
            advice.install_driver_steps(snapshot, _min_driver_for_tensorflow(snapshot)),
        )
    elif facts.os_family(snapshot) == "wsl2":
        yield info.finding(
            Severity.WARNING,
            "WSL 2 sees no NVIDIA driver from Windows",
            f"/usr/lib/wsl/lib has no libnvidia-ml.so.1; {failure.reason}",
            advice.install_driver_steps(snapshot),
            CUDA_ON_WSL,
        )
    elif isinstance(snapshot.os, OsInfo) and snapshot.os.container:
        yield info.finding(
            Severity.INFO,
            f"No NVIDIA driver is visible inside this {snapshot.os.container} container",
            failure.reason,
            (
                "# on the host: install nvidia-container-toolkit, then start the container with:",
                "docker run --gpus all ...",
            ),
        )


@check("nvidia.kernel-module", "nvidia", "The NVIDIA kernel module is loaded.")
def kernel_module_loaded(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = _nvml_failure(snapshot, "nvml-driver-not-loaded")
    if failure is None:
        return
    kernel = facts.kernel(snapshot)
    causes: list[str] = []
    steps: list[str] = []
    if kernel is not None and kernel.nouveau_loaded:
        causes.append("nouveau (the open-source driver) holds the GPU")
        steps += [
            "echo 'blacklist nouveau' | sudo tee /etc/modprobe.d/blacklist-nouveau.conf",
            "echo 'options nouveau modeset=0' | sudo tee -a /etc/modprobe.d/blacklist-nouveau.conf",
            "sudo update-initramfs -u",
        ]
    if isinstance(snapshot.os, OsInfo) and snapshot.os.secure_boot:
        causes.append("Secure Boot is on and may reject an unsigned module")
        steps += ["mokutil --sb-state", "sudo mokutil --import /var/lib/shim-signed/mok/MOK.der"]
    causes.append("the module may not be built for this kernel")
    steps += ["dkms status   # is nvidia built for $(uname -r)?", "sudo dkms autoinstall"]
    steps.append("sudo reboot")
    yield info.finding(
        Severity.ERROR,
        "The NVIDIA driver is installed but its kernel module is not loaded",
        f"{failure.reason} Likely: " + "; ".join(causes),
        tuple(steps),
    )


@check("nvidia.version-mismatch", "nvidia", "The driver's library and kernel module match.")
def library_matches_module(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = _nvml_failure(snapshot, "nvml-version-mismatch")
    if failure is None:
        return
    kernel = facts.kernel(snapshot)
    loaded = kernel.module_version if kernel else None
    yield info.finding(
        Severity.ERROR,
        "Driver/library version mismatch: the driver was upgraded but the old module is loaded",
        f"loaded kernel module {loaded or 'unknown'}; {failure.reason}",
        (
            "sudo reboot",
            "# to stop unattended upgrades from doing it again on a training box:",
            "sudo apt-mark hold $(dpkg-query -W -f='${Package}\\n' 'nvidia-*' 'libnvidia-*')",
        ),
        "https://github.com/NVIDIA/nvidia-container-toolkit/issues/394",
    )


@check("nvidia.permission", "nvidia", "This user may open the NVIDIA devices.")
def may_open_devices(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = _nvml_failure(snapshot, "nvml-no-permission")
    if failure is None:
        return
    yield info.finding(
        Severity.ERROR,
        "This user has no permission to use the NVIDIA devices",
        failure.reason,
        ("ls -l /dev/nvidia*", "sudo usermod -aG video $USER   # then log out and back in"),
    )


@check("nvidia.gpu-readable", "nvidia", "Every GPU answers NVML (none has fallen off the bus).")
def every_gpu_answers(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    info_nvml = facts.nvml(snapshot)
    for gpu in info_nvml.gpus if info_nvml else ():
        if gpu.error is None:
            continue
        yield info.finding(
            Severity.ERROR,
            f"GPU {gpu.index} does not answer: {gpu.error.reason}",
            f"NVML: {gpu.error.code}",
            (
                "sudo dmesg | grep -i xid   # the driver's error codes for this GPU",
                f"sudo nvidia-smi -r -i {gpu.index}   # reset it when nothing uses it, else reboot",
            ),
        )


def _min_driver_for_tensorflow(snapshot: Snapshot) -> str | None:
    requirement = _driver_requirement(snapshot)
    return requirement.minor_compat_min_driver if requirement else None


def _tensorflow_cuda(snapshot: Snapshot) -> str | None:
    """The CUDA the installed TensorFlow was built with: build_info first, then the table."""
    build = facts.tensorflow_build(snapshot)
    if build is not None and not build.is_cuda_build:
        return None
    if build is not None and build.cuda_version:
        return facts.series(build.cuda_version)
    installed = facts.tensorflow(snapshot)
    release = knowledge.tensorflow_release(installed.version) if installed else None
    return release.cuda if release else None


def _driver_requirement(snapshot: Snapshot) -> knowledge.DriverRequirement | None:
    cuda = _tensorflow_cuda(snapshot)
    return knowledge.driver_requirement(cuda, _driver_platform(snapshot)) if cuda else None


def _older(version: str, than: str) -> bool:
    mine, theirs = facts.version(version), facts.version(than)
    return mine is not None and theirs is not None and mine < theirs


def _driver_platform(snapshot: Snapshot) -> str:
    return "windows" if facts.os_family(snapshot) in {"windows", "wsl2"} else "linux"


@check(
    "nvidia.driver-too-old",
    "nvidia",
    "The driver supports the CUDA version the installed TensorFlow was built with.",
)
def driver_supports_tensorflow_cuda(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    nvml_info = facts.nvml(snapshot)
    installed = facts.tensorflow(snapshot)
    requirement = _driver_requirement(snapshot)
    if nvml_info is None or installed is None or requirement is None:
        return
    driver_cuda = nvml_info.cuda_driver_version
    if driver_cuda is None or not _older(driver_cuda, requirement.cuda):
        return
    same_major = driver_cuda.split(".")[0] == requirement.cuda.split(".")[0]
    evidence = (
        f"driver {nvml_info.driver_version} supports CUDA ≤ {driver_cuda}; TensorFlow "
        f"{installed.version} needs CUDA {requirement.cuda} → driver ≥ "
        f"{requirement.minor_compat_min_driver} (any {requirement.cuda.split('.')[0]}.x driver, "
        f"by minor-version compatibility), ≥ {requirement.toolkit_min_driver} for full support"
    )
    fix = advice.install_driver_steps(snapshot, requirement.toolkit_min_driver)
    if same_major:
        yield info.finding(
            Severity.WARNING,
            f"The driver is older than CUDA {requirement.cuda}; it runs only by minor-version "
            "compatibility (kernels compiled at run time from PTX may fail)",
            evidence,
            fix,
            requirement.source,
        )
        return
    older = knowledge.newest_tensorflow_for_cuda(driver_cuda)
    if older is not None:
        fix = (
            *fix,
            f"# or keep this driver and use TensorFlow {older.series}, in a new environment:",
            *advice.tensorflow_env_steps(snapshot, older, gpu=True, env_name=f"tf{older.series}"),
        )
    yield info.finding(
        Severity.ERROR,
        f"The driver is too old for TensorFlow {installed.version} (needs CUDA {requirement.cuda})",
        evidence,
        fix,
        requirement.source,
    )


@check(
    "nvidia.gpu-architecture",
    "nvidia",
    "The installed TensorFlow carries GPU code for each GPU's compute capability.",
)
def tensorflow_has_code_for_gpus(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    build = facts.tensorflow_build(snapshot)
    installed = facts.tensorflow(snapshot)
    if build is None or installed is None or not build.is_cuda_build:
        return
    capabilities = build.cuda_compute_capabilities
    for gpu in facts.healthy_gpus(snapshot):
        if gpu.compute_capability is None or not capabilities:
            continue
        support = knowledge.kernel_support(capabilities, gpu.compute_capability)
        finding = _architecture_finding(info, gpu, installed.version, capabilities, support)
        if finding is not None:
            yield finding


def _architecture_finding(
    info: CheckInfo,
    gpu: GpuInfo,
    tf_version: str,
    capabilities: tuple[str, ...],
    support: str,
) -> Finding | None:
    arch = knowledge.architecture_for(gpu.compute_capability or "") or "unknown architecture"
    evidence = (
        f"GPU {gpu.index} {gpu.name} has compute capability {gpu.compute_capability} ({arch}); "
        f"TensorFlow {tf_version} carries {' '.join(capabilities)}"
    )
    if support == "unsupported":
        return info.finding(
            Severity.ERROR,
            f"TensorFlow {tf_version} has no GPU code for GPU {gpu.index} ({gpu.name})",
            evidence,
            (
                "# an older GPU needs an older TensorFlow, or a build from source for its arch",
                "# see the GPU column of https://www.tensorflow.org/install/source#gpu",
            ),
        )
    if support == "ptx-jit" and _same_major_as_ptx(capabilities, gpu.compute_capability or ""):
        return info.finding(
            Severity.INFO,
            f"GPU {gpu.index} ({gpu.name}) runs TensorFlow {tf_version} from PTX of its own "
            "architecture, compiled on first use",
            evidence + "; the first run compiles the kernels (slow once), then they are cached",
            ("export CUDA_CACHE_MAXSIZE=4294967296   # keep the compiled kernels",),
        )
    if support == "ptx-jit":
        return info.finding(
            Severity.WARNING,
            f"GPU {gpu.index} ({gpu.name}) runs TensorFlow only through PTX compiled at run time",
            evidence + "; the first run is slow, and a driver that cannot JIT this PTX fails with "
            "CUDA_ERROR_INVALID_PTX",
            (
                "# warm the JIT cache once, and keep it:",
                "export CUDA_CACHE_MAXSIZE=4294967296",
                "# for newer GPUs than the wheel knows, NVIDIA's NGC TensorFlow container has code",
            ),
            "https://github.com/tensorflow/tensorflow/issues/89272",
        )
    return None


def _same_major_as_ptx(capabilities: tuple[str, ...], compute_capability: str) -> bool:
    major = compute_capability.split(".")[0]
    return any(
        c.startswith("compute_") and c.removeprefix("compute_")[:-1] == major for c in capabilities
    )


@check("nvidia.visible-devices", "nvidia", "CUDA_VISIBLE_DEVICES exposes the GPUs it names.")
def visible_devices_make_sense(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    visible = snapshot.cuda_visible_devices
    if visible.raw is None or not facts.healthy_gpus(snapshot):
        return
    if visible.hides_all or visible.visible_gpu_indices == ():
        yield info.finding(
            Severity.ERROR,
            f"CUDA_VISIBLE_DEVICES={visible.raw!r} hides every GPU from TensorFlow",
            f"NVML sees {len(facts.healthy_gpus(snapshot))} GPU(s); CUDA programs will see none",
            (
                "unset CUDA_VISIBLE_DEVICES",
                "# or name GPUs that exist: export CUDA_VISIBLE_DEVICES=0",
            ),
            VISIBLE_DEVICES_DOC,
        )
    elif visible.unmatched:
        yield info.finding(
            Severity.WARNING,
            f"CUDA_VISIBLE_DEVICES names GPUs that do not exist: {', '.join(visible.unmatched)}",
            f"CUDA_VISIBLE_DEVICES={visible.raw!r}; CUDA ignores these entries and any after them",
            ("nvidia-smi -L   # the GPUs that exist", "unset CUDA_VISIBLE_DEVICES"),
            VISIBLE_DEVICES_DOC,
        )


@check("nvidia.gpu-memory-free", "nvidia", "No other process holds most of a GPU's memory.")
def gpu_memory_is_free(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    for gpu in facts.healthy_gpus(snapshot):
        if not gpu.memory_total_bytes or gpu.memory_used_bytes is None:
            continue
        used_fraction = gpu.memory_used_bytes / gpu.memory_total_bytes
        if used_fraction < BUSY_MEMORY_FRACTION:
            continue
        pids = ", ".join(str(p.pid) for p in gpu.processes) or "not visible from here"
        yield info.finding(
            Severity.WARNING,
            f"GPU {gpu.index} already has {used_fraction:.0%} of its memory in use",
            f"{gpu.memory_used_bytes / facts.GIB:.1f} of {gpu.memory_total_bytes / facts.GIB:.1f} "
            f"GiB used; processes: {pids}",
            (
                f"nvidia-smi -i {gpu.index}   # who holds it",
                "export TF_FORCE_GPU_ALLOW_GROWTH=true   # so TensorFlow takes only what it needs",
            ),
        )


@check("nvidia.wsl-linux-driver", "nvidia", "Under WSL 2, no Linux NVIDIA driver is installed.")
def no_linux_driver_in_wsl(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    kernel = facts.kernel(snapshot)
    if facts.os_family(snapshot) != "wsl2" or kernel is None:
        return
    linux_copies = [p for p in kernel.nvml_library_paths if not p.startswith("/usr/lib/wsl/")]
    if linux_copies:
        yield info.finding(
            Severity.ERROR,
            "A Linux NVIDIA driver is installed inside WSL 2, where it breaks the Windows driver",
            f"found {', '.join(linux_copies)}; under WSL 2 the driver comes from Windows "
            "(/usr/lib/wsl/lib)",
            (
                "sudo apt purge 'nvidia-driver-*' 'libnvidia-*'",
                "sudo apt autoremove",
                "# then restart WSL: wsl --shutdown   (in Windows PowerShell)",
            ),
            CUDA_ON_WSL,
        )
