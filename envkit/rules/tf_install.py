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
from envkit.model import Snapshot, normalize_name
from envkit.rules import facts

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


def unsupported_architecture(snapshot: Snapshot) -> str | None:
    """Why no TensorFlow wheel installs into the examined interpreter, or None when one does
    (or when an old snapshot does not say)."""
    env = facts.python_env(snapshot)
    if env is None:
        return None
    if env.pointer_bits is not None and env.pointer_bits < 64:
        return f"this Python is {env.pointer_bits}-bit ({env.machine or 'machine unknown'})"
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
