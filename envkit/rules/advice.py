"""The steps that fix things, chosen for the detected OS. envkit prints them; it never runs sudo.

Versions come from the knowledge base and the snapshot, never from literals here.
"""

from __future__ import annotations

from envkit import knowledge
from envkit.model import OsInfo, Snapshot
from envkit.rules import facts

NVIDIA_DOWNLOADS = "https://www.nvidia.com/Download/index.aspx"
GRAPHICS_DRIVERS_PPA = "ppa:graphics-drivers/ppa"


def install_driver_steps(snapshot: Snapshot, min_driver: str | None = None) -> tuple[str, ...]:
    """How to install (or upgrade to) an NVIDIA driver of at least ``min_driver`` on this OS."""
    family = facts.os_family(snapshot)
    if family == "ubuntu":
        return _ubuntu_driver_steps(snapshot, min_driver)
    steps = {
        "debian": (
            "# enable the contrib non-free non-free-firmware components in /etc/apt/sources.list",
            "sudo apt update",
            "sudo apt install linux-headers-$(uname -r) nvidia-driver firmware-misc-nonfree",
            "sudo reboot",
        ),
        "fedora": (
            "# with the RPM Fusion nonfree repository enabled:",
            "sudo dnf install akmod-nvidia xorg-x11-drv-nvidia-cuda",
            "sudo reboot",
        ),
        "rhel": (
            "# with NVIDIA's CUDA repository for your release enabled:",
            "sudo dnf module install nvidia-driver:latest-dkms",
            "sudo reboot",
        ),
        "wsl2": (
            "# install or update the NVIDIA driver on the Windows side, never inside WSL:",
            f"# {NVIDIA_DOWNLOADS}",
            "wsl --update   # in Windows PowerShell",
        ),
        "windows": (f"# install the NVIDIA driver from {NVIDIA_DOWNLOADS}",),
        "macos": (
            "# macOS has no NVIDIA driver for current GPUs; TensorFlow uses tensorflow-metal",
        ),
    }
    return steps.get(family, (f"# install your distribution's NVIDIA driver ({NVIDIA_DOWNLOADS})",))


def _ubuntu_driver_steps(snapshot: Snapshot, min_driver: str | None) -> tuple[str, ...]:
    branch = knowledge.ubuntu_driver_branch(facts.ubuntu_version(snapshot), min_driver)
    install = (
        f"sudo apt install nvidia-driver-{branch}"
        if branch
        else "sudo ubuntu-drivers install   # installs the recommended driver"
    )
    steps = ["ubuntu-drivers devices   # the GPU and the driver Ubuntu recommends", install]
    if branch is None and min_driver:
        steps.append(
            f"# Ubuntu's archive may lack a driver ≥ {min_driver}; the PPA carries newer ones:"
        )
        steps.append(f"sudo add-apt-repository {GRAPHICS_DRIVERS_PPA} && sudo apt update")
    if _secure_boot_on(snapshot):
        steps.append(
            "# Secure Boot is on: set a MOK password when asked, enroll it at the next boot"
        )
    steps.append("sudo reboot")
    return tuple(steps)


def _secure_boot_on(snapshot: Snapshot) -> bool:
    return isinstance(snapshot.os, OsInfo) and snapshot.os.secure_boot is True


def tensorflow_env_steps(
    snapshot: Snapshot, release: knowledge.TfRelease, *, gpu: bool, env_name: str = "tf"
) -> tuple[str, ...]:
    """A fresh conda environment with TensorFlow ``release``: the tutorial's route, updated."""
    python = _python_for(snapshot, release)
    family = facts.os_family(snapshot)
    if family == "windows" and gpu and not release.windows_native_gpu:
        return (
            "# TensorFlow 2.11 and newer use the GPU on Windows only inside WSL 2:",
            "wsl --install   # in Windows PowerShell, then run envkit doctor inside WSL",
        )
    steps = [f"conda create -n {env_name} python={python} --yes", f"conda activate {env_name}"]
    if gpu and not release.and_cuda and release.cuda and family not in {"macos", "windows"}:
        # Before the and-cuda extra (TF < 2.14), CUDA and cuDNN came from conda-forge.
        steps.append(
            f"conda install -c conda-forge cudatoolkit={release.cuda} cudnn={release.cudnn} --yes"
        )
    steps.append(pip_install_tensorflow(snapshot, release, gpu=gpu))
    return tuple(steps)


def pip_install_tensorflow(snapshot: Snapshot, release: knowledge.TfRelease, *, gpu: bool) -> str:
    pin = f"=={release.series}.*"
    family = facts.os_family(snapshot)
    if family == "macos":
        return f'pip install "tensorflow{pin}" tensorflow-metal'
    if (
        gpu
        and family in {"ubuntu", "debian", "fedora", "rhel", "wsl2", "linux"}
        and release.and_cuda
    ):
        return f'pip install "tensorflow[and-cuda]{pin}"'
    return f'pip install "tensorflow{pin}"'


def _python_for(snapshot: Snapshot, release: knowledge.TfRelease) -> str:
    """The examined Python when the release supports it, else the newest it supports."""
    current = facts.python_series(snapshot)
    if current and current in release.python_wheels:
        return current
    return release.python_wheels[-1]
