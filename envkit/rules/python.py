"""Checks on the Python environment TensorFlow lives in."""

from __future__ import annotations

import os
from collections.abc import Iterator

from envkit import knowledge
from envkit.model import CheckInfo, Finding, Severity, Snapshot
from envkit.rules import advice, facts
from envkit.rules.registry import check


@check("python.conda-base", "python", "TensorFlow is not installed into conda's base environment.")
def not_in_conda_base(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    if env is None or env.kind != "conda-base":
        return
    release = knowledge.newest_tensorflow_for_python(env.version) or knowledge.newest_tensorflow()
    yield info.finding(
        Severity.WARNING,
        "This is conda's base environment; TensorFlow belongs in an environment of its own",
        f"{env.executable} is the base environment at {env.prefix}; an upgrade of conda itself "
        "can then break TensorFlow, and the reverse",
        advice.tensorflow_env_steps(snapshot, release, gpu=facts.nvidia_gpu_present(snapshot)),
    )


@check("python.pip-prefix", "python", "The pip on PATH installs into the examined environment.")
def pip_matches_python(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    if env is None or env.pip_on_path_python is None:
        return
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
    newest = knowledge.newest_tensorflow_for_python(python)
    fix = advice.tensorflow_env_steps(
        snapshot, newest or release, gpu=facts.nvidia_gpu_present(snapshot)
    )
    yield info.finding(
        Severity.ERROR,
        f"TensorFlow {release.version} is not built for Python {python}",
        f"TensorFlow {release.series} has wheels for Python {', '.join(release.python_wheels)}; "
        f"this is Python {env.version}",
        fix,
        "https://www.tensorflow.org/install/source#gpu",
    )


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
        advice.tensorflow_env_steps(snapshot, newest, gpu=facts.nvidia_gpu_present(snapshot)),
        "https://www.tensorflow.org/install/pip",
    )
