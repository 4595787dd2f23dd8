"""The lines that say what envkit examined and why, and the Jupyter kernels it found."""

from __future__ import annotations

from envkit.model import JupyterKernel, Snapshot


def target_line(snapshot: Snapshot) -> str | None:
    """'Examined /path/bin/python: the active venv /path (VIRTUAL_ENV)'; None in old snapshots."""
    if snapshot.target is None:
        return None
    return f"Examined {snapshot.target.python}: {snapshot.target.reason}"


def kernel_line(kernel: JupyterKernel) -> str:
    """'tf (Python (tf)) -> /envs/tf/bin/python -> TensorFlow 2.21.0', with what is wrong."""
    name = kernel.name
    if kernel.display_name and kernel.display_name != kernel.name:
        name += f" ({kernel.display_name})"
    if kernel.python is None:
        return f"{name} -> {kernel.problem or 'no interpreter'}"
    if not kernel.python_exists:
        tail = "missing (stale kernel)"
    elif kernel.tensorflow_version:
        tail = f"TensorFlow {kernel.tensorflow_version}"
    else:
        tail = "no TensorFlow"
    notes = [note for note in (kernel.problem, _shadow_note(kernel)) if note]
    extra = f" [{'; '.join(notes)}]" if notes else ""
    return f"{name} -> {kernel.python} -> {tail}{extra}"


def _shadow_note(kernel: JupyterKernel) -> str | None:
    return f"hidden by {kernel.shadowed_by}" if kernel.shadowed_by else None


def kernel_lines(snapshot: Snapshot) -> list[str]:
    return [kernel_line(kernel) for kernel in snapshot.kernels]
