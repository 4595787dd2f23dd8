"""Checks on the NVIDIA driver and GPUs, and whether they suit the installed TensorFlow."""

from __future__ import annotations

from collections.abc import Iterator

from envkit import knowledge
from envkit.model import CheckInfo, Finding, GpuInfo, Severity, Snapshot, Unavailable
from envkit.rules import advice, drivers, facts, gpu_code
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
    container = facts.in_container(snapshot)
    if facts.os_family(snapshot) == "wsl2":
        yield info.finding(
            Severity.WARNING,
            "WSL 2 sees no NVIDIA driver from Windows",
            f"/usr/lib/wsl/lib has no libnvidia-ml.so.1; {failure.reason}",
            drivers.wsl_windows_driver_steps(),
            CUDA_ON_WSL,
        )
    elif container:
        yield _container_finding(snapshot, info, container, failure.reason)
    elif kernel is not None and kernel.pci_gpus:
        ids = ", ".join(f"{gpu.address} ({gpu.device_id})" for gpu in kernel.pci_gpus)
        nouveau = "; nouveau holds the GPU" if drivers.nouveau_holds_gpu(snapshot) else ""
        minimum = _min_driver_for_tensorflow(snapshot)
        yield info.finding(
            Severity.ERROR,
            "An NVIDIA GPU is installed but no NVIDIA driver is",
            f"PCI bus: {ids}{_generation_text(snapshot)}{nouveau}; NVML library: {failure.reason}",
            (
                *drivers.install_driver_steps(snapshot, minimum),
                *_beyond_limit_note(snapshot, minimum),
            ),
        )


def _container_finding(snapshot: Snapshot, info: CheckInfo, container: str, reason: str) -> Finding:
    """Inside a container the driver comes from the host: an error only where a GPU is meant."""
    signs = drivers.container_gpu_signs(snapshot)
    place = "Kubernetes pod" if container == "kubernetes" else f"{container} container"
    if signs:
        return info.finding(
            Severity.ERROR,
            f"This {place} is meant to have a GPU but cannot reach the driver",
            f"{'; '.join(signs)}; {reason}",
            drivers.container_host_steps(snapshot),
            drivers.CONTAINER_TOOLKIT_GUIDE,
        )
    return info.finding(
        Severity.INFO,
        f"No NVIDIA driver is visible inside this {place}",
        reason,
        drivers.container_host_steps(snapshot),
    )


def _generation_text(snapshot: Snapshot) -> str:
    limit = drivers.gpu_limit(snapshot)
    names = [g.architecture for _, g in limit.gpus if g is not None]
    return f" ({', '.join(dict.fromkeys(names))})" if names else ""


def _beyond_limit_note(snapshot: Snapshot, min_driver: str | None) -> tuple[str, ...]:
    """When TensorFlow's CUDA needs a newer driver than the GPU's last branch: the TensorFlow
    that branch runs (or the CPU), never a driver that drops the GPU."""
    limit = drivers.gpu_limit(snapshot)
    if min_driver is None or limit.allows(min_driver):
        return ()
    installed = facts.tensorflow(snapshot)
    name = f"TensorFlow {installed.version}" if installed else "This TensorFlow"
    head = (
        f"# {name} needs driver {min_driver} or newer, beyond the {limit.max_branch} branch: "
        "after this driver, use a TensorFlow for its CUDA"
    )
    cap = drivers.tensorflow_cap(snapshot)
    if cap is None:
        return (head + " (envkit doctor will name it)",)
    if cap.release is None:
        return (head, cap.note())
    return (
        head + ":",
        cap.note(),
        *advice.tensorflow_env_steps(
            snapshot, cap.release, gpu=True, env_name=f"tf{cap.release.series}"
        ),
        "# or keep this TensorFlow and train on the CPU",
    )


@check("nvidia.kernel-module", "nvidia", "The NVIDIA kernel module is loaded.")
def kernel_module_loaded(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = _nvml_failure(snapshot, "nvml-driver-not-loaded")
    if failure is None:
        return
    family = facts.os_family(snapshot)
    container = facts.in_container(snapshot)
    if family == "wsl2":
        if not _linux_driver_in_wsl(snapshot):  # else nvidia.wsl-linux-driver says what is wrong
            yield info.finding(
                Severity.ERROR,
                "WSL 2 cannot reach the GPU through the Windows driver",
                f"{failure.reason} Under WSL 2 there is no Linux kernel module: the Windows "
                "driver (and a Windows build that supports WSL GPU access) provides the GPU",
                drivers.wsl_windows_driver_steps(),
                CUDA_ON_WSL,
            )
        return
    if container:
        yield _container_finding(snapshot, info, container, failure.reason)
        return
    if _dropping_driver(snapshot) is not None:
        return  # nvidia.driver-drops-gpu names the cause: the branch no longer drives the GPU
    if family in {"windows", "macos"}:
        yield info.finding(
            Severity.ERROR,
            "The NVIDIA driver library is present but the driver does not answer",
            failure.reason,
            drivers.install_driver_steps(snapshot),
        )
        return
    causes, steps = drivers.kernel_module_steps(snapshot)
    yield info.finding(
        Severity.ERROR,
        "The NVIDIA driver is installed but its kernel module is not loaded",
        f"{failure.reason} Likely: " + "; ".join(causes),
        steps,
        facts.distro_family(snapshot).docs,
    )


@check(
    "nvidia.driver-drops-gpu",
    "nvidia",
    "The installed driver branch still drives every GPU's generation.",
)
def driver_drives_every_gpu(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    dropped = _dropping_driver(snapshot)
    if dropped is None:
        return
    installed, limit = dropped
    architectures = ", ".join(
        dict.fromkeys(g.architecture for _, g in limit.gpus if g is not None and g.last_branch)
    )
    yield info.finding(
        Severity.ERROR,
        f"Driver {installed} no longer drives the {architectures} GPU: its last branch is "
        f"{limit.max_branch}",
        f"{', '.join(limit.limiting)}; installed driver {installed}; NVIDIA's driver "
        f"branches after {limit.max_branch} dropped {architectures}",
        (
            *drivers.install_driver_steps(snapshot),
            *_beyond_limit_note(snapshot, _min_driver_for_tensorflow(snapshot)),
        ),
        "https://docs.nvidia.com/datacenter/tesla/drivers/cuda-toolkit-driver-and-architecture-matrix.html",
    )


def _dropping_driver(snapshot: Snapshot) -> tuple[str, drivers.GpuLimit] | None:
    """The installed driver and the PCI GPUs' limit, where that driver's branch no longer
    drives one of them (its module then refuses the GPU: the cause, not a build problem)."""
    installed = _installed_driver_version(snapshot)
    kernel = facts.kernel(snapshot)
    if installed is None or kernel is None or not kernel.pci_gpus or facts.in_container(snapshot):
        return None
    limit = drivers.GpuLimit(
        tuple(
            (f"PCI {gpu.address} ({gpu.device_id})", drivers.pci_generation(gpu))
            for gpu in kernel.pci_gpus
        )
    )
    return None if limit.allows(installed) else (installed, limit)


def _installed_driver_version(snapshot: Snapshot) -> str | None:
    """NVML's driver version, else the installed library's, else the loaded module's."""
    nvml_info = facts.nvml(snapshot)
    if nvml_info is not None:
        return nvml_info.driver_version
    kernel = facts.kernel(snapshot)
    if kernel is None:
        return None
    versions = (*kernel.nvml_library_versions, kernel.module_version)
    return next((v for v in versions if v), None)


@check("nvidia.version-mismatch", "nvidia", "The driver's library and kernel module match.")
def library_matches_module(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = _nvml_failure(snapshot, "nvml-version-mismatch")
    if failure is None:
        return
    kernel = facts.kernel(snapshot)
    loaded = kernel.module_version if kernel else None
    libraries = ", ".join(kernel.nvml_library_versions) if kernel else ""
    library_text = f"; userspace library {libraries}" if libraries else ""
    yield info.finding(
        Severity.ERROR,
        "Driver/library version mismatch: the driver was upgraded but the old module is loaded",
        f"loaded kernel module {loaded or 'unknown'}{library_text}; {failure.reason}",
        drivers.mismatch_steps(snapshot),
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
        _permission_steps(snapshot),
    )


def _permission_steps(snapshot: Snapshot) -> tuple[str, ...]:
    if facts.in_container(snapshot):
        return (
            "ls -l /dev/nvidia*   # the devices the container was given",
            *drivers.container_host_steps(snapshot),
        )
    return (
        "ls -l /dev/nvidia*   # owner, group and mode of each device",
        "sudo usermod -aG video $USER   # where the nodes belong to group video; then log in again",
    )


@check(
    "nvidia.cuda-devices",
    "nvidia",
    "The device nodes CUDA opens (/dev/nvidia-uvm, /dev/nvidia*) exist and may be opened.",
)
def cuda_devices_usable(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    kernel = facts.kernel(snapshot)
    if kernel is None or facts.os_family(snapshot) not in _NODE_FAMILIES:
        return
    if not facts.healthy_gpus(snapshot) or not kernel.device_nodes:
        return  # NVML's own failures say what is wrong first
    causes = drivers.cuda_init_causes(snapshot)
    if not kernel.uvm_present:
        yield info.finding(
            Severity.ERROR,
            "/dev/nvidia-uvm is missing: CUDA (and TensorFlow) will fail to start",
            f"/dev has {' '.join(kernel.device_nodes)}; without nvidia-uvm cuInit fails with "
            "CUDA_ERROR_UNKNOWN or 'no CUDA-capable device is detected'. " + causes,
            drivers.uvm_steps(snapshot),
        )
    if kernel.unusable_device_nodes:
        nodes = " ".join(f"/dev/{node}" for node in kernel.unusable_device_nodes)
        yield info.finding(
            Severity.ERROR,
            f"This user cannot open {nodes}: CUDA will fail to start",
            f"{nodes} exist but are not readable and writable for this user",
            _permission_steps(snapshot),
        )


_NODE_FAMILIES = {"ubuntu", "debian", "fedora", "rhel", "linux"}


@check("nvidia.mig", "nvidia", "No GPU is split into MIG instances unnoticed.")
def mig_instances(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    for gpu in facts.healthy_gpus(snapshot):
        if gpu.mig_mode_current is not True:
            continue
        yield info.finding(
            Severity.WARNING,
            f"GPU {gpu.index} ({gpu.name}) has MIG enabled: TensorFlow sees one MIG slice, "
            "not the whole GPU",
            f"NVML: MIG mode current=on on GPU {gpu.index}; CUDA exposes MIG instances as separate "
            "devices and a process uses only the first one it is given, with that slice's "
            "memory and compute",
            (
                "nvidia-smi -L   # the GPU and its MIG devices (MIG-... UUIDs)",
                "export CUDA_VISIBLE_DEVICES=MIG-<uuid>   # pick the slice TensorFlow uses",
                "# for the whole GPU, an admin turns MIG off (the GPU then resets):",
                f"#   sudo nvidia-smi -i {gpu.index} -mig 0",
            ),
            "https://docs.nvidia.com/datacenter/tesla/mig-user-guide/",
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
            _lost_gpu_steps(snapshot, gpu.index),
        )


def _lost_gpu_steps(snapshot: Snapshot, index: int) -> tuple[str, ...]:
    steps = (
        "sudo dmesg | grep -i xid   # the driver's error codes for this GPU",
        f"sudo nvidia-smi -r -i {index}   # reset it when nothing uses it, else reboot",
    )
    if facts.in_container(snapshot) or facts.os_family(snapshot) == "wsl2":
        where = "Windows (restart it)" if facts.os_family(snapshot) == "wsl2" else "the host"
        return (f"# the GPU belongs to {where}; there:", *(f"#   {step}" for step in steps))
    return steps


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
    windows_side = " Windows" if _driver_platform(snapshot) == "windows" else ""
    evidence = (
        f"{windows_side.strip() + ' ' if windows_side else ''}driver {nvml_info.driver_version} "
        f"supports CUDA ≤ {driver_cuda}; TensorFlow "
        f"{installed.version} needs CUDA {requirement.cuda} → driver ≥ "
        f"{requirement.minor_compat_min_driver} (any {requirement.cuda.split('.')[0]}.x driver, "
        f"by minor-version compatibility), ≥ {requirement.toolkit_min_driver} for full support"
    )
    limit = drivers.gpu_limit(snapshot)
    floor = requirement.minor_compat_min_driver or requirement.toolkit_min_driver
    if not limit.allows(floor):
        yield info.finding(
            Severity.ERROR,
            f"No driver for {', '.join(limit.limiting)} supports the CUDA {requirement.cuda} "
            f"TensorFlow {installed.version} needs",
            f"{evidence}; the {limit.max_branch} branch is the last that drives this GPU",
            _gpu_routes(snapshot, nvml_info.driver_version),
            requirement.source,
        )
        return
    fix = drivers.install_driver_steps(snapshot, requirement.toolkit_min_driver)
    if same_major:
        yield info.finding(
            Severity.WARNING,
            f"The{windows_side} driver is older than CUDA {requirement.cuda}; it runs only by "
            "minor-version compatibility (kernels compiled at run time from PTX may fail)",
            evidence,
            fix,
            requirement.source,
        )
        return
    older = knowledge.newest_tensorflow_for_cuda(driver_cuda)
    if older is not None and _has_code_for_all_gpus(snapshot, older):
        fix = (
            *fix,
            f"# or keep this driver and use TensorFlow {older.series}, in a new environment:",
            *advice.tensorflow_env_steps(snapshot, older, gpu=True, env_name=f"tf{older.series}"),
        )
    yield info.finding(
        Severity.ERROR,
        f"The{windows_side} driver is too old for TensorFlow {installed.version} "
        f"(needs CUDA {requirement.cuda})",
        evidence,
        fix,
        requirement.source,
    )


def _has_code_for_all_gpus(snapshot: Snapshot, release: knowledge.TfRelease) -> bool:
    """Whether ``release``'s wheels carry code for every GPU (unknown lists count as yes)."""
    for gpu in facts.healthy_gpus(snapshot):
        support = knowledge.tf_kernel_support(release, gpu.compute_capability or "")
        if support == knowledge.KernelSupport.UNSUPPORTED:
            return False
    return True


def _newest_tensorflow_for_gpu(
    compute_capability: str, max_cuda: str | None
) -> tuple[knowledge.TfRelease, bool] | None:
    """The newest series whose CUDA is ≤ max_cuda and whose wheels may carry code for
    ``compute_capability``, and whether its capability list confirms that (False: unknown)."""
    fitting = (knowledge.KernelSupport.NATIVE, knowledge.KernelSupport.PTX_JIT)
    for release in reversed(knowledge.tensorflow_releases()):
        if release.cuda is None or (max_cuda is not None and _older(max_cuda, release.cuda)):
            continue
        support = knowledge.tf_kernel_support(release, compute_capability)
        if support in fitting:
            return release, True
        if support == knowledge.KernelSupport.UNKNOWN:
            return release, False
    return None


def _gpu_routes(
    snapshot: Snapshot, driver_version: str | None, gpus: tuple[GpuInfo, ...] | None = None
) -> tuple[str, ...]:
    """The routes that work for GPUs no current TensorFlow (or driver) serves: the last
    TensorFlow line with code for them on the last driver that drives them, or the CPU."""
    steps: list[str] = []
    for gpu in facts.healthy_gpus(snapshot) if gpus is None else gpus:
        generation = drivers.gpu_generation_of(gpu)
        capability = gpu.compute_capability
        if capability is None:
            continue
        last = generation.last_branch if generation else None
        max_cuda = (
            knowledge.max_cuda_for_driver(generation.last_driver or f"{last}.999.99")
            if generation is not None and last
            else None
        )
        found = _newest_tensorflow_for_gpu(capability, max_cuda)
        label = f"GPU {gpu.index} ({gpu.name}, compute capability {capability})"
        if found is None:
            steps.append(f"# no TensorFlow envkit knows has GPU code for {label} on its driver")
            continue
        release, confirmed = found
        branch_text = f" on the {last} driver" if last else ""
        if confirmed:
            steps.append(
                f"# {label}: TensorFlow {release.series} is the newest with code for it that "
                f"runs{branch_text} (CUDA {release.cuda}):"
            )
        else:
            steps.append(
                f"# {label}: TensorFlow {release.series} is the newest whose CUDA "
                f"{release.cuda} runs{branch_text}; envkit's table does not list its GPU code: "
                "check the GPU column of https://www.tensorflow.org/install/source#gpu first"
            )
        if last and driver_version and _older(driver_version, f"{last}.0"):
            steps += drivers.install_driver_steps(snapshot)
        steps += advice.tensorflow_env_steps(
            snapshot, release, gpu=True, env_name=f"tf{release.series}"
        )
    steps.append(
        "# or keep this TensorFlow and train on the CPU: it leaves a GPU it cannot use idle"
    )
    return tuple(dict.fromkeys(steps))


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
        finding = _architecture_finding(
            snapshot, info, gpu, installed.version, capabilities, support
        )
        if finding is not None:
            yield finding


def _architecture_finding(
    snapshot: Snapshot,
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
                *_gpu_routes(snapshot, None, (gpu,)),
                "# or build TensorFlow from source for this architecture: "
                "https://www.tensorflow.org/install/source#gpu",
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
                *gpu_code.native_code_routes(gpu.compute_capability or "", tf_version),
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
    linux_copies = _linux_driver_in_wsl(snapshot)
    if linux_copies:
        yield info.finding(
            Severity.ERROR,
            "A Linux NVIDIA driver is installed inside WSL 2, where it breaks the Windows driver",
            f"found {', '.join(linux_copies)}; under WSL 2 the driver comes from Windows "
            "(/usr/lib/wsl/lib)",
            drivers.wsl_linux_driver_removal(snapshot),
            CUDA_ON_WSL,
        )


def _linux_driver_in_wsl(snapshot: Snapshot) -> tuple[str, ...]:
    kernel = facts.kernel(snapshot)
    if facts.os_family(snapshot) != "wsl2" or kernel is None:
        return ()
    return tuple(p for p in kernel.nvml_library_paths if not p.startswith("/usr/lib/wsl/"))


# ---------------------------------------------------------------- drivers2 (#9): WSL, images


@check(
    "nvidia.wsl-windows-driver",
    "nvidia",
    "Under WSL 2, the Windows driver is one that supports CUDA on WSL.",
)
def windows_driver_supports_wsl(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    nvml_info = facts.nvml(snapshot)
    if facts.os_family(snapshot) != "wsl2" or nvml_info is None:
        return
    branch = drivers.branch_of(nvml_info.driver_version)
    if branch is None or branch >= drivers.WSL_CUDA_MIN_BRANCH:
        return
    preview = branch >= drivers.WSL_CUDA_PREVIEW_BRANCH
    kernel = facts.kernel(snapshot)
    where = next(
        (p for p in (kernel.nvml_library_paths if kernel else ()) if p.startswith("/usr/lib/wsl/")),
        "NVML",
    )
    yield info.finding(
        Severity.WARNING if preview else Severity.ERROR,
        f"The Windows driver {nvml_info.driver_version} is "
        + (
            "a preview-era driver for CUDA on WSL 2"
            if preview
            else "too old for CUDA on WSL 2: WSL will not see the GPU"
        ),
        f"{where} reports Windows driver {nvml_info.driver_version} (under WSL 2 the driver is "
        f"the Windows one); NVIDIA's Windows drivers support CUDA on WSL 2 from the "
        f"R{drivers.WSL_CUDA_MIN_BRANCH} branch (preview drivers from "
        f"{drivers.WSL_CUDA_PREVIEW_DRIVER}); Windows Update can put back an older driver",
        drivers.wsl_windows_driver_steps(),
        CUDA_ON_WSL,
    )


@check(
    "nvidia.container-cuda",
    "nvidia",
    "In a container, the host's driver supports the CUDA the image requires (NVIDIA_REQUIRE_CUDA).",
)
def host_driver_runs_image_cuda(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    nvml_info = facts.nvml(snapshot)
    required = drivers.image_required_cuda(snapshot)
    if not facts.in_container(snapshot) or nvml_info is None or required is None:
        return
    driver_cuda = nvml_info.cuda_driver_version
    if driver_cuda is None or not _older(driver_cuda, required):
        return
    limit = drivers.gpu_limit(snapshot)
    capped = limit.max_branch is not None and not limit.allows(
        _min_driver_for_cuda(required) or f"{limit.max_branch + 1}.0"
    )
    evidence = (
        f"NVIDIA_REQUIRE_CUDA asks for CUDA ≥ {required}; the host's driver "
        f"{nvml_info.driver_version} supports CUDA ≤ {driver_cuda}"
    )
    if capped:
        evidence += (
            f"; {', '.join(limit.limiting)}: the {limit.max_branch} branch is the last that "
            "drives it, so the host's driver cannot be upgraded"
        )
        cap = drivers.tensorflow_cap(snapshot)
        fix = (
            f"# use an image built for CUDA {driver_cuda} or older (for example an "
            f"nvidia/cuda:{driver_cuda}.x tag), and a TensorFlow built for that CUDA:",
            *((cap.note(),) if cap else ()),
            *(
                advice.tensorflow_env_steps(
                    snapshot, cap.release, gpu=True, env_name=f"tf{cap.release.series}"
                )
                if cap and cap.release
                else ()
            ),
        )
        title = (
            f"This image needs CUDA {required}, beyond what the {limit.max_branch} driver "
            f"(the GPU's last branch) supports: CUDA {driver_cuda}"
        )
    else:
        minimum = _min_driver_for_cuda(required)
        fix = (
            f"# on the host: a driver ≥ {minimum or 'the one CUDA ' + required + ' needs'}"
            " (nothing to install in this container)",
            f"# or use an image built for CUDA {driver_cuda} or older",
        )
        title = f"This image needs CUDA {required}; the host's driver supports CUDA {driver_cuda}"
    yield info.finding(
        Severity.ERROR,
        title,
        evidence,
        fix,
        "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/docker-specialized.html",
    )


def _min_driver_for_cuda(cuda: str) -> str | None:
    requirement = knowledge.driver_requirement(cuda, "linux")
    return requirement.toolkit_min_driver if requirement else None
