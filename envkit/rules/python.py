"""Checks on the Python environment TensorFlow lives in."""

from __future__ import annotations

import os
from collections.abc import Iterator

from envkit import knowledge
from envkit.model import CheckInfo, Finding, Severity, Snapshot
from envkit.rules import facts, tf_install
from envkit.rules.environments import use_environment_steps
from envkit.rules.registry import check


@check("python.conda-base", "python", "TensorFlow is not installed into conda's base environment.")
def not_in_conda_base(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    if env is None or env.kind != "conda-base":
        return
    release = knowledge.newest_tensorflow_for_python(env.version) or knowledge.newest_tensorflow()
    elsewhere = facts.environments_with_tensorflow(snapshot)
    steps = (
        # an environment of its own already holds TensorFlow: use it, never install again
        use_environment_steps(elsewhere[0])
        if elsewhere and facts.tensorflow(snapshot) is None
        else tf_install.tensorflow_env_steps(snapshot, release, gpu=tf_install.gpu_intent(snapshot))
    )
    yield info.finding(
        Severity.WARNING,
        "This is conda's base environment; TensorFlow belongs in an environment of its own",
        f"{env.executable} is the base environment at {env.prefix}; an upgrade of conda itself "
        "can then break TensorFlow, and the reverse",
        steps,
    )


@check("python.pip-prefix", "python", "The pip on PATH installs into the examined environment.")
def pip_matches_python(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    if env is None or env.pip_on_path_python is None or facts.examines_envkit_tool_env(snapshot):
        return  # (nothing is to be installed into envkit's own pipx/uv environment)
    pip_python = os.path.realpath(env.pip_on_path_python)
    prefix = os.path.realpath(env.prefix)
    if pip_python.startswith(prefix + os.sep) or pip_python == os.path.realpath(env.executable):
        return
    yield info.finding(
        Severity.WARNING,
        "The pip on PATH installs into another environment than this Python",
        f"pip on PATH ({env.pip_on_path}) belongs to {env.pip_on_path_python}; "
        f"the examined Python is {env.executable}",
        (f"{env.executable} -m pip install ...   # always install with the python you run",),
    )


@check(
    "python.version-for-tensorflow",
    "python",
    "The Python version is one the installed TensorFlow (and some TensorFlow) is built for.",
)
def python_fits_tensorflow(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    if env is None:
        return
    python = facts.series(env.version)
    installed = facts.tensorflow(snapshot)
    release = knowledge.tensorflow_release(installed.version) if installed else None
    if release is None:
        yield from _python_fits_any_tensorflow(snapshot, info, python)
        return
    if python in release.python_wheels:
        return
    yield info.finding(
        Severity.ERROR,
        f"TensorFlow {release.version} is not built for Python {python}",
        f"TensorFlow {release.series} has wheels for Python {', '.join(release.python_wheels)}; "
        f"this is Python {env.version}",
        _keep_or_move_steps(snapshot, installed.version if installed else None, release, python),
        "https://www.tensorflow.org/install/source#gpu",
    )


def _keep_or_move_steps(
    snapshot: Snapshot, installed: str | None, release: knowledge.TfRelease, python: str
) -> tuple[str, ...]:
    """First the route that keeps this TensorFlow (an environment with a Python it supports),
    then, said as such, the newest TensorFlow for this Python."""
    gpu = tf_install.gpu_intent(snapshot)
    keep = tf_install.tensorflow_env_steps(
        snapshot, release, gpu=gpu, env_name=f"tf{release.series}"
    )
    steps = [
        f"# keep TensorFlow {release.series}: a new environment with a Python it supports",
        *keep,
    ]
    newest = knowledge.newest_tensorflow_for_python(python)
    if newest is not None and newest.series != release.series:
        note = tf_install.newer_series_note(installed, newest)
        steps.append(f"# or keep Python {python} and move to TensorFlow {newest.series}:")
        if note:
            steps.append(note)
        steps.extend(tf_install.tensorflow_env_steps(snapshot, newest, gpu=gpu))
    return tuple(steps)


def _python_fits_any_tensorflow(
    snapshot: Snapshot, info: CheckInfo, python: str
) -> Iterator[Finding]:
    if knowledge.newest_tensorflow_for_python(python) is not None:
        return
    newest = knowledge.newest_tensorflow()
    yield info.finding(
        Severity.ERROR,
        f"No TensorFlow release is built for Python {python}",
        f"the newest, TensorFlow {newest.version}, supports Python "
        f"{', '.join(newest.python_wheels)}",
        tf_install.tensorflow_env_steps(snapshot, newest, gpu=tf_install.gpu_intent(snapshot)),
        "https://www.tensorflow.org/install/pip",
    )


@check(
    "python.architecture",
    "python",
    "The interpreter is 64-bit on an architecture TensorFlow publishes wheels for.",
)
def python_architecture(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    reason = tf_install.unsupported_architecture(snapshot)
    if env is None or reason is None:
        return
    yield info.finding(
        Severity.ERROR,
        "No TensorFlow wheel exists for this interpreter's architecture",
        f"{reason} ({env.executable}); pip finds no TensorFlow for it "
        "('No matching distribution found for tensorflow')",
        tf_install.sixty_four_bit_python_steps(snapshot),
        "https://www.tensorflow.org/install/pip#software_requirements",
    )
