"""Checks across environments: the one examined, the others on the machine, Jupyter's kernels.

The general rule behind "TensorFlow sees the GPU in the terminal but not in the notebook" and
"TensorFlow is not installed" after `pipx install envkit`: the user's TensorFlow lives in
another interpreter than the one that runs. The fix is to run that one (activate it, put it
first on PATH, register it as a kernel), never a second install.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from envkit.model import (
    CheckInfo,
    Finding,
    JupyterKernel,
    KnownEnvironment,
    PythonEnvInfo,
    Severity,
    Snapshot,
)
from envkit.rules import facts
from envkit.rules.registry import check

KERNEL_LINK = "https://ipython.readthedocs.io/en/stable/install/kernel_install.html"
_KERNEL_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@check(
    "python.tensorflow-elsewhere",
    "python",
    "When the examined Python lacks TensorFlow, no other environment here has it.",
)
def tensorflow_elsewhere(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    others = facts.environments_with_tensorflow(snapshot)
    if env is None or facts.tensorflow(snapshot) is not None or not others:
        return
    best = others[0]
    listed = "; ".join(
        f"{o.found_as}: {o.python} (TensorFlow {o.tensorflow_version})" for o in others
    )
    yield info.finding(
        Severity.WARNING,
        f"TensorFlow is installed in {best.found_as}, not in the Python envkit examined",
        f"examined {env.executable} ({_why(snapshot)}), which has no TensorFlow; "
        f"found TensorFlow in {listed}",
        use_environment_steps(best),
    )


def use_environment_steps(other: KnownEnvironment) -> tuple[str, ...]:
    """Commands that make ``other`` the Python the user runs: activate it, or put it on PATH."""
    bin_dir = os.path.dirname(other.python)
    if other.kind == "conda-env":
        name = _conda_env_name(other)
        first = f"conda activate {name}" if name else f'conda activate "{other.prefix}"'
    elif other.kind == "venv":
        first = f'source "{os.path.join(bin_dir, "activate")}"'
    else:
        first = f'export PATH="{bin_dir}:$PATH"'
    return (
        "# use that environment instead of installing TensorFlow again:",
        first,
        "envkit doctor",
    )


def _conda_env_name(other: KnownEnvironment) -> str | None:
    prefix = os.path.normpath(other.prefix)
    if os.path.basename(os.path.dirname(prefix)) == "envs":
        return os.path.basename(prefix)
    return None


def _why(snapshot: Snapshot) -> str:
    return snapshot.target.reason if snapshot.target else "how it was chosen is not recorded"


# ---------------------------------------------------------------- Jupyter kernels


@check("python.kernel-stale", "python", "Every Jupyter kernel's interpreter exists.")
def kernel_stale(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    for kernel in snapshot.kernels:
        if kernel.python is None or kernel.python_exists:
            continue
        yield info.finding(
            Severity.WARNING,
            f"The Jupyter kernel {kernel.name} starts {kernel.python}, which no longer exists",
            f"{kernel.spec_file} names {kernel.python}; its environment was removed or moved, "
            "so the notebook cannot start this kernel",
            (
                f"jupyter kernelspec remove {kernel.name}   # or: rm -r "
                f'"{os.path.dirname(kernel.spec_file)}"',
                "# then register the environment you use now (it needs ipykernel):",
                f"{facts.python_command(snapshot)} -m ipykernel install --user --name "
                f"{kernel.name}",
            ),
            KERNEL_LINK,
        )


@check("python.kernel-readable", "python", "Every Jupyter kernelspec can be read.")
def kernel_readable(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    for kernel in snapshot.kernels:
        if kernel.problem is None or kernel.python is not None:
            continue
        yield info.finding(
            Severity.WARNING,
            f"The Jupyter kernel {kernel.name} cannot be used: {kernel.problem}",
            f"{kernel.spec_file}: {kernel.problem}",
            (
                f"# repair {kernel.spec_file}, or write it again with the Python it should run:",
                f"{facts.python_command(snapshot)} -m ipykernel install --user --name "
                f"{kernel.name}",
            ),
            KERNEL_LINK,
        )


@check("python.kernel-shadowed", "python", "No two Jupyter kernels share one name.")
def kernel_shadowed(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    by_file = {kernel.spec_file: kernel for kernel in snapshot.kernels}
    for hidden in snapshot.kernels:
        winner = by_file.get(hidden.shadowed_by or "")
        if winner is None:
            continue
        new_name = _kernel_name(f"{hidden.name}-{os.path.basename(_prefix_of(hidden))}")
        fix = [
            f"# Jupyter starts the kernel in {os.path.dirname(winner.spec_file)};",
            "# to keep the other one, register it under a name of its own:",
        ]
        if hidden.python and hidden.python_exists:
            fix.append(f"{hidden.python} -m ipykernel install --user --name {new_name}")
        fix.append(f'rm -r "{os.path.dirname(hidden.spec_file)}"')
        yield info.finding(
            Severity.WARNING,
            f"Two Jupyter kernels are named {hidden.name}; one hides the other",
            f"{winner.spec_file} ({winner.python or 'no interpreter'}) hides "
            f"{hidden.spec_file} ({hidden.python or 'no interpreter'})",
            tuple(fix),
            KERNEL_LINK,
        )


@check(
    "python.kernel-for-environment",
    "python",
    "A Jupyter kernel runs the examined environment when it has TensorFlow.",
)
def kernel_for_environment(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    usable = [k for k in snapshot.kernels if k.python_exists and k.shadowed_by is None]
    if env is None or facts.tensorflow(snapshot) is None or not usable:
        return
    if any(_runs(kernel, env) for kernel in usable):
        return
    without = [k for k in usable if k.tensorflow_version is None]
    if not without:
        return
    listed = ", ".join(f"{k.name} ({k.python})" for k in without)
    name = _kernel_name(env.conda_env_name or _env_folder_name(env))
    steps = []
    if env.version_of("ipykernel") is None:
        steps.append(f"{env.executable} -m pip install ipykernel")
    display = f'--display-name "Python ({name})"'
    steps.append(f"{env.executable} -m ipykernel install --user --name {name} {display}")
    steps.append(f"# then pick the kernel {name} in Jupyter (Kernel -> Change kernel)")
    yield info.finding(
        Severity.WARNING,
        "No Jupyter kernel runs this environment: TensorFlow works here, not in the notebook",
        f"{env.executable} has TensorFlow; the kernels found run other interpreters without "
        f"it: {listed}",
        tuple(steps),
        KERNEL_LINK,
    )


def _runs(kernel: JupyterKernel, env: PythonEnvInfo) -> bool:
    if kernel.python is None:
        return False
    same_prefix = os.path.normpath(_prefix_of(kernel)) == os.path.normpath(env.prefix)
    return same_prefix or os.path.normpath(kernel.python) == os.path.normpath(env.executable)


def _prefix_of(kernel: JupyterKernel) -> str:
    folder = os.path.dirname(kernel.python or kernel.spec_file)
    return os.path.dirname(folder) if os.path.basename(folder) in ("bin", "Scripts") else folder


def _env_folder_name(env: PythonEnvInfo) -> str:
    prefix = os.path.normpath(env.prefix)
    name = os.path.basename(prefix)
    if name in (".venv", "venv", "env", ".env"):  # a project's venv: the project's name
        name = os.path.basename(os.path.dirname(prefix)) or name
    return name


def _kernel_name(text: str) -> str:
    return _KERNEL_NAME_UNSAFE.sub("-", text).strip("-.").lower() or "tensorflow"
