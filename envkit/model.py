"""The vocabulary of envkit: frozen dataclasses that describe one machine at one moment.

Only the standard library is imported here. A value the machine did not report is ``None``;
a whole part that could not be read is an :class:`Unavailable` with a stable code.
"""

from __future__ import annotations

import enum
import re
from dataclasses import field
from typing import TYPE_CHECKING

from envkit.records import record

if TYPE_CHECKING:
    from envkit.exit_codes import ExitCode

SNAPSHOT_SCHEMA_VERSION = "2"
READABLE_SNAPSHOT_SCHEMA_VERSIONS = ("1", "2")
"""Version 1 lacks ``target``, ``kernels`` and ``environments``; it loads with their defaults."""
_ADDED_IN_SCHEMA_2 = {"optional_in_schema": True}
"""Field metadata (envkit.schema.OPTIONAL_IN_SCHEMA): added after version 2 was first written."""


@record
class Unavailable:
    """A part of the machine that could not be read, and why."""

    code: str
    reason: str


@record
class OsInfo:
    system: str
    """``platform.system()``: Linux, Darwin, Windows."""
    distro_id: str | None
    distro_version: str | None
    distro_pretty_name: str | None
    kernel_release: str
    architecture: str
    glibc_version: str | None
    wsl_version: int | None
    """1 or 2 inside Windows Subsystem for Linux, else None."""
    container: str | None
    """docker, podman, kubernetes, lxc, ... or None on bare metal or a VM."""
    virtualization: str | None
    """Hypervisor vendor when running in a VM (kvm, vmware, microsoft, ...), else None."""
    secure_boot: bool | None
    """None when the firmware does not say (legacy BIOS, no efivars access)."""
    hostname: str
    # distro (#16): fields with defaults, so snapshots written before them still load.
    distro_id_like: tuple[str, ...] = ()
    """/etc/os-release's ID_LIKE words, closest relative first: ("rhel", "centos", "fedora")."""
    container_gpu_env: tuple[tuple[str, str], ...] = ()
    """NVIDIA_VISIBLE_DEVICES, NVIDIA_DRIVER_CAPABILITIES and NVIDIA_REQUIRE_CUDA where set:
    the marks of an NVIDIA or CUDA container image, or of GPUs requested for a container."""


@record
class CpuInfo:
    model_name: str | None
    physical_cores: int | None
    logical_cores: int | None
    tensorflow_flags: tuple[str, ...]
    """Of avx, avx2, fma, avx512f: those the CPU has (x86 only)."""
    flags_known: bool
    """False where the CPU's flags could not be read (non-x86, no /proc/cpuinfo)."""

    def has_flag(self, flag: str) -> bool | None:
        return flag in self.tensorflow_flags if self.flags_known else None


@record
class MemoryInfo:
    total_bytes: int
    available_bytes: int
    swap_total_bytes: int
    swap_free_bytes: int


@record
class DiskInfo:
    label: str
    """What the path is to envkit: home, conda-root, target-prefix."""
    path: str
    total_bytes: int | None
    free_bytes: int | None


@record
class PciGpu:
    address: str
    """PCI address as in /sys/bus/pci/devices, e.g. 0000:01:00.0."""
    device_id: str
    """Hex device id, e.g. 0x2330."""
    driver: str | None
    """Kernel driver bound to it: nvidia, nouveau, vfio-pci, or None."""


@record
class NvidiaKernelInfo:
    """What the kernel says about NVIDIA, read from /proc, /sys and /dev without NVML."""

    module_version: str | None
    """From /proc/driver/nvidia/version, e.g. 550.54.15; None when the module is not loaded."""
    module_version_line: str | None
    nvidia_module_loaded: bool
    nouveau_loaded: bool
    device_nodes: tuple[str, ...]
    """/dev/nvidia* entries present."""
    uvm_present: bool
    pci_gpus: tuple[PciGpu, ...]
    """NVIDIA display/3D controllers on the PCI bus (vendor 0x10de)."""
    nvml_library_paths: tuple[str, ...]
    """libnvidia-ml.so.1 files in the system library folders (WSL's /usr/lib/wsl/lib included)."""
    # distro (#9): with a default, so snapshots written before it still load.
    unusable_device_nodes: tuple[str, ...] = ()
    """/dev/nvidia* nodes that exist but this user cannot open for reading and writing."""
    nvml_library_versions: tuple[str, ...] = ()
    """The driver versions the libnvidia-ml.so.1 links name (libnvidia-ml.so.550.54.15)."""


@record
class GpuProcess:
    pid: int
    used_memory_bytes: int | None
    kind: str
    """compute or graphics."""


@record
class GpuInfo:
    """One GPU as NVML reports it. Fields the GPU does not support are None."""

    index: int
    error: Unavailable | None = None
    """Set when this GPU could not be read (lost, unknown error); the other fields are then None."""
    name: str | None = None
    uuid: str | None = None
    pci_bus_id: str | None = None
    memory_total_bytes: int | None = None
    memory_used_bytes: int | None = None
    compute_capability: str | None = None
    """Major.minor, e.g. 9.0 (nvidia-smi --query-gpu=compute_cap)."""
    persistence_mode: bool | None = None
    mig_mode_current: bool | None = None
    mig_mode_pending: bool | None = None
    power_limit_watts: float | None = None
    temperature_c: int | None = None
    processes: tuple[GpuProcess, ...] = ()
    # Added within snapshot schema 2: documents written before them still validate.
    utilization_gpu_percent: int | None = field(default=None, metadata=_ADDED_IN_SCHEMA_2)
    """Of the last sample period, the percent during which a kernel ran (utilization.gpu)."""
    power_draw_watts: float | None = field(default=None, metadata=_ADDED_IN_SCHEMA_2)
    """What the board draws now (power.draw); a one-second average on Ampere and newer but
    the A100, instantaneous before."""


@record
class NvmlInfo:
    driver_version: str
    cuda_driver_version: str | None
    """Highest CUDA the driver supports, e.g. 12.4. Not the CUDA TensorFlow was built with."""
    nvml_version: str | None
    gpus: tuple[GpuInfo, ...]


@record
class VisibleDevices:
    """CUDA_VISIBLE_DEVICES and the NVML GPUs it exposes to CUDA programs."""

    raw: str | None
    """The variable's value; None when it is not set (every GPU is visible)."""
    entries: tuple[str, ...]
    visible_gpu_indices: tuple[int, ...] | None
    """NVML indices of the GPUs exposed, in CUDA order; None when NVML could not be read."""
    unmatched: tuple[str, ...]
    """Entries that name no GPU; CUDA ignores them and every entry after them."""
    hides_all: bool


@record(many=True)  # made by the thousand: one per package, per log line
class Distribution:
    name: str
    version: str


@record
class PythonEnvInfo:
    """The target interpreter, as a small script run inside it reported."""

    executable: str
    version: str
    implementation: str
    prefix: str
    base_prefix: str
    kind: str
    """conda-env, conda-base, venv, virtualenv, pyenv or system."""
    conda_env_name: str | None
    platform_tag: str
    pip_on_path: str | None
    """The pip found first on PATH, for spotting a pip that installs elsewhere."""
    pip_on_path_python: str | None
    """The interpreter named in that pip's shebang line."""
    distributions: tuple[Distribution, ...]
    environment: tuple[tuple[str, str], ...]
    """Allowlisted environment variables only, as (name, value) pairs."""
    pointer_bits: int | None = None
    """64 or 32: the pointer size, struct.calcsize("P") * 8; None in old snapshots."""
    machine: str | None = None
    """platform.machine() of the interpreter: x86_64, AMD64, aarch64, arm64, i686, armv7l, ..."""

    def version_of(self, name: str) -> str | None:
        wanted = normalize_name(name)
        for dist in self.distributions:
            if normalize_name(dist.name) == wanted:
                return dist.version
        return None

    def nvidia_wheels(self) -> tuple[Distribution, ...]:
        return tuple(d for d in self.distributions if _is_nvidia_cuda_wheel(d.name))


@record
class TensorflowBuild:
    """Facts parsed from tensorflow/python/platform/build_info.py, never from importing TF."""

    source_file: str
    is_cuda_build: bool | None
    is_rocm_build: bool | None
    cuda_version: str | None
    cudnn_version: str | None
    cuda_compute_capabilities: tuple[str, ...]
    raw: tuple[tuple[str, str], ...]
    """Every key of the file, value as its Python literal text."""


@record
class TensorflowInfo:
    distributions: tuple[Distribution, ...]
    """Every TensorFlow distribution installed: tensorflow, tensorflow-cpu, tensorflow-gpu, ..."""
    version: str
    """Version of the package that provides the importable tensorflow module."""
    package_path: str | None
    requirements: tuple[str, ...]
    """Requires-Dist lines of the primary distribution, extras' markers included."""
    build: TensorflowBuild | Unavailable


@record
class CondaEnv:
    name: str | None
    prefix: str


@record
class CondaInfo:
    executable: str | None
    found_via: str
    """CONDA_EXE, PATH, or install-root."""
    version: str | None
    root_prefix: str | None
    active_env_name: str | None
    environments: tuple[CondaEnv, ...]
    environments_source: str
    """conda-env-list, or files (environments.txt and envs/ folders) when conda did not answer."""


# ---------------------------------------------------------------- the examined environment
# (issue #10: which interpreter envkit examines, the Jupyter kernels, the other environments)


@record
class Target:
    """The interpreter envkit examines, resolved once at the command line's edge."""

    python: str
    """Absolute path of the interpreter to run (a venv's bin/python, not its base)."""
    prefix: str
    """The environment's folder: the interpreter's folder's parent."""
    kind: str
    """conda-env, venv, tool-env (pipx, uv tool: envkit's own, isolated) or system."""
    how_chosen: str
    """--python, --env, --kernel, VIRTUAL_ENV, CONDA_PREFIX, envkit-env, python3-on-path or
    envkit-fallback."""
    reason: str
    """One line for people: 'the active conda env tf-gpu (CONDA_PREFIX)'."""
    kernel: str | None = None
    """The Jupyter kernel's name when chosen with --kernel."""


@record
class JupyterKernel:
    """One kernelspec folder (``<data dir>/kernels/<name>/kernel.json``), read as a file."""

    name: str
    """The folder's name: the name Jupyter and ``--kernel`` use."""
    display_name: str | None
    spec_file: str
    source: str
    """Where Jupyter looks: JUPYTER_PATH, user, env, system."""
    language: str | None
    argv: tuple[str, ...]
    python: str | None
    """The interpreter read from argv; None when argv names none that can be read."""
    python_exists: bool
    tensorflow_version: str | None
    """From the interpreter's site-packages metadata; None without TensorFlow or interpreter."""
    problem: str | None
    """Broken JSON, no argv, ...: why this kernel cannot be used as it is."""
    shadowed_by: str | None
    """The spec file of the kernel of the same name that Jupyter picks instead."""


@record
class KnownEnvironment:
    """A Python environment on this machine other than (or besides) the examined one."""

    python: str
    prefix: str
    found_as: str
    """For people: 'conda env tf', 'python3 on PATH', 'Jupyter kernel tf', 'pyenv 3.11.9'."""
    kind: str
    """conda-env, venv or system: how to activate it."""
    tensorflow_version: str | None


@record
class CudaLibrary:
    """One CUDA runtime or cuDNN library file the dynamic loader can find."""

    name: str
    """libcudart or libcudnn."""
    version: str | None
    """From the file name the link resolves to: libcudnn.so.8.9.7 -> 8.9.7; None if bare."""
    path: str
    found_via: str
    """LD_LIBRARY_PATH, ldconfig (the loader's cache) or toolkit (a CUDA toolkit's lib64)."""


@record
class CudaToolkit:
    root: str
    """/usr/local/cuda-11.8, or the folder above the bin/ of the nvcc on PATH."""
    version: str | None
    """From version.json or version.txt: 11.8.89."""
    nvcc: str | None
    on_path: bool
    """Its nvcc is the first on PATH."""


@record
class CudaLibrariesInfo:
    """System CUDA the loader can find: TensorFlow before 2.14 loads these, and they can
    shadow the NVIDIA pip wheels of later ones."""

    toolkits: tuple[CudaToolkit, ...]
    libraries: tuple[CudaLibrary, ...]

    def versions_of(self, name: str) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(lib.version for lib in self.libraries if lib.name == name and lib.version)
        )


@record
class Snapshot:
    schema_version: str
    envkit_version: str
    taken_at: str
    """UTC, ISO 8601."""
    os: OsInfo | Unavailable
    cpu: CpuInfo | Unavailable
    memory: MemoryInfo | Unavailable
    disks: tuple[DiskInfo, ...]
    nvidia_kernel: NvidiaKernelInfo | Unavailable
    nvml: NvmlInfo | Unavailable
    cuda_visible_devices: VisibleDevices
    python: PythonEnvInfo | Unavailable
    tensorflow: TensorflowInfo | Unavailable
    conda: CondaInfo | Unavailable
    cuda_libraries: CudaLibrariesInfo | Unavailable | None = None
    """System CUDA toolkits and libraries on the loader's path; None in older snapshots."""
    target: Target | None = None
    """How the examined interpreter was chosen; None in version-1 snapshots."""
    kernels: tuple[JupyterKernel, ...] = ()
    environments: tuple[KnownEnvironment, ...] = ()
    """Other environments found on the machine, with the TensorFlow each holds."""


ALL_ENVS_SCHEMA_VERSION = "2"
"""`envkit doctor --all-envs --json`: a list of doctor envelopes."""


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: Tensorflow_GPU and tensorflow-gpu are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_nvidia_cuda_wheel(name: str) -> bool:
    normalized = normalize_name(name)
    return normalized.startswith("nvidia-") and normalized.rsplit("-", 1)[-1] in {
        "cu11",
        "cu12",
        "cu13",
    }


class Severity(enum.Enum):
    """How bad a finding is. Ordered: errors first."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


AREAS = ("system", "nvidia", "python", "tensorflow", "smoke")
"""The doctor's lines, in the order a person fixes them: the machine, the driver, the env, TF."""


@record
class Finding:
    """One verdict of the doctor: what is wrong (or worth knowing) and the exact way to fix it."""

    check_id: str
    """Stable, dotted kebab-case: nvidia.driver-too-old."""
    severity: Severity
    area: str
    """One of AREAS."""
    title: str
    """One line, no markup."""
    evidence: str
    """Found versus required, with the numbers."""
    fix: tuple[str, ...] = ()
    """Copy-pasteable commands in the order to run them; lines starting with # are comments."""
    link: str | None = None


@record
class CheckInfo:
    """What `envkit doctor --list-checks` prints for one check."""

    check_id: str
    area: str
    description: str

    def finding(
        self,
        severity: Severity,
        title: str,
        evidence: str,
        fix: tuple[str, ...] = (),
        link: str | None = None,
    ) -> Finding:
        return Finding(self.check_id, severity, self.area, title, evidence, fix, link)


DOCTOR_SCHEMA_VERSION = "2"


@record
class DoctorReport:
    """A snapshot and the findings the checks drew from it, errors first."""

    snapshot: Snapshot
    findings: tuple[Finding, ...]

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    @property
    def exit_status(self) -> int:
        """0 when nothing is an error (warnings allowed), 1 otherwise."""
        return 1 if self.count(Severity.ERROR) else 0

    @property
    def exit_code(self) -> ExitCode:
        # stdlib-only too; imported here to keep this module's imports as they are
        from envkit.exit_codes import ExitCode

        return ExitCode(self.exit_status)


# ---------------------------------------------------------------- pasted logs (issue #15)
# What envkit.inputs.logs.read_log finds in a log or bug report; envkit.rules.logs judges it.


@record(many=True)  # made by the thousand: one per package, per log line
class LogLine:
    """One line of the input, as printed (escape sequences and control characters removed)."""

    line_number: int
    """1-based, counted in the input as given."""
    text: str


@record(many=True)  # made by the thousand: one per package, per log line
class LogEvent:
    """A line a pattern of knowledge/data/log_patterns.json recognises."""

    cause: str
    """The pattern id, as the smoke classifier names it: cudnn-version, cuda-library-missing."""
    kind: str
    """Who prints it: tensorflow, xla, cuda, cudnn, cublas, nccl, python, process-exit, noise."""
    effect: str
    """noise, gpu-setup or problem."""
    line: LogLine
    details: tuple[tuple[str, str], ...] = ()
    """What the line names (the pattern's named groups): ("library", "libcudnn.so.8"), ..."""

    def detail(self, name: str) -> str | None:
        return next((value for key, value in self.details if key == name), None)


@record(many=True)  # made by the thousand: one per package, per log line
class TracebackFrame:
    path: str
    """The file as the frame names it (a path, <stdin>, <ipython-input-...>)."""
    module: str | None
    """The dotted module for a file under site-packages/dist-packages, else None."""
    function: str | None
    source_line: int | None
    """The line number in that file."""
    line: LogLine


@record
class PythonException:
    """A Python exception line, with the traceback frames above it when the input has them."""

    type_name: str
    """As printed: ModuleNotFoundError, tensorflow.python.framework.errors_impl.UnknownError."""
    message: str
    line: LogLine
    frames: tuple[TracebackFrame, ...]
    has_header: bool
    """False for a bare exception line without its ``Traceback (most recent call last):``."""

    @property
    def short_type(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]

    @property
    def failing_module(self) -> str | None:
        """The innermost frame that names an installed module: the package that raised."""
        return next((f.module for f in reversed(self.frames) if f.module), None)


@record
class LogClue:
    """A fact about the machine that wrote the log, as the log shows it."""

    name: str
    """wsl, container, windows, macos, python-version, tensorflow-version, conda-env."""
    value: str
    line: LogLine


@record
class LogReading:
    """Everything envkit recognised in a log, and every line it did not."""

    line_count: int
    events: tuple[LogEvent, ...]
    exceptions: tuple[PythonException, ...]
    clues: tuple[LogClue, ...]
    unrecognised: tuple[LogLine, ...]
    """Non-blank lines no pattern, traceback or clue accounts for (for ``-v``); never dropped."""
    source: str = ""
    """The input's name (a file, ``-``), for evidence; empty for text without one."""

    def clue(self, name: str) -> LogClue | None:
        return next((clue for clue in self.clues if clue.name == name), None)

    @property
    def recognised(self) -> bool:
        return bool(self.events or self.exceptions)
