"""The Python environments on this machine, found by their files: nothing is run.

The active one (VIRTUAL_ENV, CONDA_PREFIX), conda's environments, the interpreters Jupyter
kernels start, ``python3`` and ``python`` on PATH, and pyenv's versions that hold TensorFlow.
Each is listed once (by its folder) with the TensorFlow its site-packages hold.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Iterable, Mapping

from envkit.model import CondaInfo, JupyterKernel, KnownEnvironment, Unavailable
from envkit.probes.python_env import prefix_of, tensorflow_version_from_files

_ACTIVE = (("VIRTUAL_ENV", "the active venv"), ("CONDA_PREFIX", "the active conda env"))


def find_environments(
    environ: Mapping[str, str],
    conda: CondaInfo | Unavailable,
    kernels: Iterable[JupyterKernel],
    *,
    skip_prefixes: Iterable[str] = (),
) -> tuple[KnownEnvironment, ...]:
    """Every environment found, in the order above; ``skip_prefixes`` (envkit's own tool
    environment) are left out."""
    candidates: list[tuple[str, str]] = []
    for variable, label in _ACTIVE:
        if environ.get(variable):
            candidates.append((_python_in(environ[variable]), label))
    if isinstance(conda, CondaInfo):
        candidates += [
            (_python_in(env.prefix), f"conda env {env.name or env.prefix}")
            for env in conda.environments
        ]
    candidates += [
        (kernel.python, f"Jupyter kernel {kernel.name}")
        for kernel in kernels
        if kernel.python and kernel.python_exists
    ]
    for word in ("python3", "python"):
        found = shutil.which(word, path=environ.get("PATH"))
        if found and os.path.basename(os.path.dirname(found)) != "shims":  # pyenv's shell shims
            candidates.append((os.path.abspath(found), f"{word} on PATH"))
    candidates += _pyenv_versions(environ)
    return _unique(candidates, skip_prefixes)


def _python_in(prefix: str) -> str:
    for relative in ("bin/python", "bin/python3", "python.exe"):
        candidate = os.path.join(prefix, relative)
        if os.path.isfile(candidate):
            return candidate
    return os.path.join(prefix, "bin", "python")


def _pyenv_versions(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    root = environ.get("PYENV_ROOT") or os.path.expanduser(os.path.join("~", ".pyenv"))
    found = []
    for python in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))):
        version = os.path.basename(os.path.dirname(os.path.dirname(python)))
        if tensorflow_version_from_files(python) is not None:
            found.append((python, f"pyenv {version}"))
    return found


def _unique(
    candidates: list[tuple[str, str]], skip_prefixes: Iterable[str]
) -> tuple[KnownEnvironment, ...]:
    seen = {os.path.realpath(prefix) for prefix in skip_prefixes}
    found = []
    for python, label in candidates:
        prefix = prefix_of(python)
        key = os.path.realpath(prefix)
        if key in seen or not os.path.isfile(python):
            continue
        seen.add(key)
        version = tensorflow_version_from_files(python)
        found.append(KnownEnvironment(python, prefix, label, _kind(prefix), version))
    return tuple(found)


def _kind(prefix: str) -> str:
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        return "conda-env"
    return "venv" if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")) else "system"
