"""The TensorFlow install lines envkit prints: they keep what the user means.

- A GPU user keeps a GPU package: TensorFlow 1.x's GPU build is ``tensorflow-gpu``; from 2.14
  on Linux and WSL 2 the ``and-cuda`` extra brings CUDA and cuDNN; a fix never names a CPU
  package for a GPU user.
- A line that moves to another TensorFlow major says so (see ``major_change_note``); callers put
  the version-keeping route first where one exists.
- The platform decides the package: macOS has no CUDA (tensorflow-metal for the GPU, or
  tensorflow-macos up to 2.12), native Windows has a GPU build only up to 2.10.
"""

from __future__ import annotations

from envkit import knowledge
from envkit.knowledge.versions import major_minor_key
from envkit.model import Snapshot, normalize_name
from envkit.records import record
from envkit.rules import drivers, facts

LINUX_FAMILIES = frozenset({"ubuntu", "debian", "fedora", "rhel", "wsl2", "linux"})
MIGRATE_LINK = "https://www.tensorflow.org/guide/migrate"
MACOS_METAL_FIRST_TF = "2.13"
"""From 2.13 the tensorflow package installs on Apple silicon; before it, tensorflow-macos."""


def gpu_intent(snapshot: Snapshot) -> bool:
    """The user means to use a GPU: one is in the machine, or a GPU build is what they installed."""
    if facts.nvidia_gpu_present(snapshot):
        return True
    installed = facts.tensorflow(snapshot)
    if installed is None:
        return False
    if any(
        normalize_name(d.name) in {"tensorflow-gpu", "tf-nightly-gpu"}
        for d in installed.distributions
    ):
        return True
    build = facts.tensorflow_build(snapshot)
    return build is not None and build.is_cuda_build is True and _is_1x(installed.version)


def package_name(snapshot: Snapshot, release: knowledge.TfRelease, *, gpu: bool) -> str:
    """The distribution to install, extras included: tensorflow-gpu, tensorflow[and-cuda], ..."""
    family = facts.os_family(snapshot)
    if family == "macos":
        return (
            "tensorflow" if _series_at_least(release, MACOS_METAL_FIRST_TF) else "tensorflow-macos"
        )
    if gpu and release.gpu_package != "tensorflow" and family in LINUX_FAMILIES | {"windows"}:
        return release.gpu_package  # 1.x: the GPU build is its own package
    if gpu and family in LINUX_FAMILIES and release.and_cuda:
        return "tensorflow[and-cuda]"
    return "tensorflow"


def package_for_version(version: str, *, gpu: bool) -> str:
    """For a version envkit's table lacks: tensorflow-gpu for a 1.x GPU install, else
    tensorflow (2.1 and later carry the GPU build)."""
    return "tensorflow-gpu" if gpu and _is_1x(version) else "tensorflow"


def pip_install_tensorflow(snapshot: Snapshot, release: knowledge.TfRelease, *, gpu: bool) -> str:
    """``pip install "<package>==<series>.*"`` for this platform and intent."""
    return _pip_line(snapshot, release, f"=={release.series}.*", gpu=gpu)


def pip_install_exact(
    snapshot: Snapshot, release: knowledge.TfRelease, version: str, *, gpu: bool
) -> str:
    """The same, pinned to one exact version (a reinstall of what is there)."""
    return _pip_line(snapshot, release, f"=={version}", gpu=gpu)


def _pip_line(snapshot: Snapshot, release: knowledge.TfRelease, pin: str, *, gpu: bool) -> str:
    name = package_name(snapshot, release, gpu=gpu)
    line = f'pip install "{name}{pin}"'
    if facts.os_family(snapshot) == "macos" and gpu_on_macos(release):
        line += " tensorflow-metal"
    return line


def gpu_on_macos(release: knowledge.TfRelease) -> bool:
    """tensorflow-metal exists for TensorFlow 2.5 and later (Apple's plugin table)."""
    return _series_at_least(release, "2.5")


def tensorflow_env_steps(
    snapshot: Snapshot, release: knowledge.TfRelease, *, gpu: bool, env_name: str = "tf"
) -> tuple[str, ...]:
    """A fresh conda environment with TensorFlow ``release``: the tutorial's route, updated."""
    python = python_for(snapshot, release)
    family = facts.os_family(snapshot)
    if family == "windows" and gpu and not release.windows_native_gpu:
        return windows_wsl_steps()
    steps = [f"conda create -n {env_name} python={python} --yes", f"conda activate {env_name}"]
    if gpu and not release.and_cuda and release.cuda and family not in {"macos", "windows"}:
        # Before the and-cuda extra (TF < 2.14), CUDA and cuDNN came from conda-forge.
        steps.append(
            f"conda install -c conda-forge cudatoolkit={release.cuda} cudnn={release.cudnn} --yes"
        )
    windows = release.windows_gpu
    if gpu and family == "windows" and windows is not None:
        steps.append(
            f"conda install -c conda-forge cudatoolkit={windows.cuda} cudnn={windows.cudnn} --yes"
        )
    steps.append(pip_install_tensorflow(snapshot, release, gpu=gpu))
    return tuple(steps)


def windows_wsl_steps() -> tuple[str, ...]:
    return (
        "# TensorFlow 2.11 and newer use the GPU on Windows only inside WSL 2:",
        "wsl --install   # in Windows PowerShell, then run envkit doctor inside WSL",
    )


def python_for(snapshot: Snapshot, release: knowledge.TfRelease) -> str:
    """The examined Python when the release supports it, else the newest it supports."""
    current = facts.python_series(snapshot)
    if current and current in release.python_wheels:
        return current
    return release.python_wheels[-1]


def major_change_note(installed_version: str | None, release: knowledge.TfRelease) -> str | None:
    """A comment line for a fix that moves from one TensorFlow major to another, else None."""
    installed = facts.version(installed_version)
    target = facts.version(release.version)
    if installed is None or target is None or installed.major == target.major:
        return None
    return (
        f"# this moves from TensorFlow {installed.major}.x to {release.series}, a new major: "
        f"{installed.major}.x code needs changes ({MIGRATE_LINK})"
    )


def newer_series_note(installed_version: str | None, release: knowledge.TfRelease) -> str | None:
    """The same for a newer minor of one major: code written for an old minor may need changes."""
    note = major_change_note(installed_version, release)
    if note is not None:
        return note
    installed = facts.version(installed_version)
    if installed is None or facts.series(str(installed)) == release.series:
        return None
    return f"# this replaces TensorFlow {installed_version} by {release.series}"


def _is_1x(version: str) -> bool:
    parsed = facts.version(version)
    return parsed is not None and parsed.major < 2


def _series_at_least(release: knowledge.TfRelease, series: str) -> bool:
    have, want = facts.version(release.series), facts.version(series)
    return have is not None and want is not None and have >= want


# ---------------------------------------------------------------- architectures with wheels

_WHEEL_MACHINES = {
    "linux": frozenset({"x86_64", "aarch64"}),
    "windows": frozenset({"amd64", "x86_64"}),
    "macos": frozenset({"arm64", "x86_64"}),
}
"""Machines PyPI has TensorFlow wheels for, per platform (compat.md section 7: Linux x86_64 and
aarch64, Windows x86-64, macOS Apple silicon and, to 2.16, Intel)."""


_32_BIT_TAG_ENDINGS = ("-i386", "-i586", "-i686", "-x86", "-armv7l", "-armv6l", "-arm")
"""sysconfig.get_platform() of 32-bit interpreters: win32, linux-i686, linux-armv7l, ..."""


def unsupported_architecture(snapshot: Snapshot) -> str | None:
    """Why no TensorFlow wheel installs into the examined interpreter, or None when one does
    (or when an old snapshot does not say)."""
    env = facts.python_env(snapshot)
    if env is None:
        return None
    if env.pointer_bits is not None and env.pointer_bits < 64:
        return f"this Python is {env.pointer_bits}-bit ({env.machine or 'machine unknown'})"
    tag = env.platform_tag.lower()
    if env.pointer_bits is None and (tag == "win32" or tag.endswith(_32_BIT_TAG_ENDINGS)):
        return f"this Python is 32-bit (platform {env.platform_tag})"
    if env.machine is None:
        return None
    family = facts.os_family(snapshot)
    platform_key = family if family in _WHEEL_MACHINES else "linux"
    if env.machine.lower() not in _WHEEL_MACHINES[platform_key]:
        return f"this Python runs on {env.machine}"
    return None


def sixty_four_bit_python_steps(snapshot: Snapshot) -> tuple[str, ...]:
    """Where a 64-bit interpreter for TensorFlow comes from on this platform."""
    family = facts.os_family(snapshot)
    release = knowledge.newest_tensorflow()
    python = release.python_wheels[-1]
    if family == "windows":
        return (
            f"# install the 64-bit (x86-64) Python {python} from https://www.python.org/downloads/"
            " or 64-bit Miniconda, then:",
            f"conda create -n tf python={python} --yes",
            "conda activate tf",
            pip_install_tensorflow(snapshot, release, gpu=False),
        )
    return (
        "# TensorFlow publishes wheels for 64-bit x86-64 and aarch64 (Linux), x86-64 (Windows) "
        "and Apple silicon (macOS) only:",
        "# use a 64-bit OS and Python on one of these (Miniconda's x86_64 or aarch64 installer),",
        "# or build TensorFlow from source: https://www.tensorflow.org/install/source",
    )


# ---------------------------------------------------------------- a release this machine runs


def release_for_machine(
    snapshot: Snapshot, python_version: str | None
) -> tuple[knowledge.TfRelease | None, str | None]:
    """The newest TensorFlow with a wheel for ``python_version`` (any, when None) that every
    GPU here can run: its compute capability meets the release's minimum, and the last driver
    branch of the GPU's generation reaches the release's CUDA. With a comment line when the
    GPUs held the choice back, and (None, comment) when no release runs on them."""
    releases = [
        r
        for r in knowledge.tensorflow_releases()
        if python_version is None or r.has_wheel_for(python_version)
    ]
    if not releases:
        return None, None
    limits = _gpu_limits(snapshot)
    fitting = [r for r in releases if all(limit.runs(r) for limit in limits)]
    newest = releases[-1]
    if fitting and fitting[-1] is newest:
        return newest, None
    held_by = "; ".join(limit.describe() for limit in limits if not limit.runs(newest))
    if not fitting:
        where = f" with Python {facts.series(python_version)}" if python_version else ""
        return None, f"# {held_by}: no TensorFlow release{where} runs on it"
    chosen = fitting[-1]
    return chosen, f"# {held_by}: TensorFlow {chosen.series} is the newest that runs on it"


@record
class _GpuLimit:
    name: str
    compute_capability: str | None
    architecture: str | None
    last_branch: str | None
    max_cuda: str | None

    def runs(self, release: knowledge.TfRelease) -> bool:
        have = facts.version(self.compute_capability)
        minimum = knowledge.min_compute_capability(release.version)
        floor = facts.version(minimum.key) if minimum else None
        if have is not None and floor is not None and have < floor:
            return False
        if self.max_cuda and release.cuda:
            return major_minor_key(release.cuda) <= major_minor_key(self.max_cuda)
        return True

    def describe(self) -> str:
        parts = [self.name]
        if self.compute_capability:
            parts.append(f"compute capability {self.compute_capability}")
        else:
            parts.append("compute capability unknown until a driver runs (check it then)")
        if self.last_branch and self.max_cuda:
            parts.append(
                f"driver branch {self.last_branch} is the last for {self.architecture}, "
                f"and it reaches CUDA {self.max_cuda}"
            )
        return ", ".join(parts)


def _gpu_limits(snapshot: Snapshot) -> list[_GpuLimit]:
    """One limit per GPU: NVML's (compute capability and generation), else the PCI bus's
    (generation only: the compute capability is unknown until a driver runs)."""
    nvml_gpus = facts.healthy_gpus(snapshot)
    if nvml_gpus:
        return [
            _gpu_limit(
                f"GPU {gpu.index} {gpu.name or ''}".strip(),
                gpu.compute_capability,
                drivers.gpu_generation_of(gpu),
            )
            for gpu in nvml_gpus
        ]
    kernel = facts.kernel(snapshot)
    return [
        _gpu_limit(f"the GPU at PCI {pci.address}", None, drivers.pci_generation(pci))
        for pci in (kernel.pci_gpus if kernel else ())
    ]


def _gpu_limit(
    name: str, compute_capability: str | None, generation: knowledge.GpuGeneration | None
) -> _GpuLimit:
    branch = generation.last_branch if generation else None
    max_cuda = knowledge.max_cuda_for_driver(f"{branch}.999.99") if branch else None
    return _GpuLimit(
        name, compute_capability, generation.architecture if generation else None, branch, max_cuda
    )
