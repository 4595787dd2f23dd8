"""The steps that fix things, chosen for the detected OS. envkit prints them; it never runs sudo.

Versions come from the knowledge base and the snapshot, never from literals here.
"""

from __future__ import annotations

from envkit import knowledge
from envkit.model import Snapshot
from envkit.rules import facts
from envkit.rules.drivers import install_driver_steps

# The driver steps live in drivers.py, generated per distribution family and context.
__all__ = ["install_driver_steps", "pip_install_tensorflow", "tensorflow_env_steps"]


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
