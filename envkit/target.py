"""Which interpreter envkit examines: resolved once, at the command line's edge.

The order is what the user would run themselves:

1. an explicit ``--python`` (an interpreter, a command on PATH or an environment's folder),
   ``--env`` (a conda environment) or ``--kernel`` (a Jupyter kernel's interpreter);
2. the activated environment, ``VIRTUAL_ENV`` then ``CONDA_PREFIX``, unless it is envkit's own;
3. envkit's own interpreter, when envkit is installed there as a library next to a framework
   (TensorFlow, Keras, PyTorch, JAX): the README's ``.venv/bin/envkit doctor``;
4. else envkit runs from an isolated tool environment (pipx, ``uv tool``, or any environment
   with envkit and no framework): the ``python3`` on PATH, which is what the user runs.

Nothing below the command line picks an interpreter on its own; every feature takes a Target.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterable, Mapping

from envkit.model import JupyterKernel, KnownEnvironment, Target, Unavailable
from envkit.probes import python_env
from envkit.records import record

FRAMEWORK_MODULES = ("tensorflow", "keras", "torch", "jax")
"""A module of these next to envkit makes envkit's environment the one to examine."""


class TargetError(ValueError):
    """The user's choice of interpreter cannot be used; the message is one line."""


@record
class Own:
    """envkit's own interpreter and what its environment is."""

    python: str
    prefix: str
    tool: str | None
    """pipx, uv tool, or 'an environment without TensorFlow'; None when envkit is a library."""


def own_environment() -> Own:
    prefix = sys.prefix
    return Own(sys.executable, prefix, _tool_kind(prefix, _has_framework()))


def _has_framework() -> bool:
    # find_spec locates a top-level module without running any of its code.
    return any(importlib.util.find_spec(name) is not None for name in FRAMEWORK_MODULES)


def _tool_kind(prefix: str, has_framework: bool) -> str | None:
    tool = python_env.tool_environment_kind(prefix)
    if tool is not None:
        return tool
    return None if has_framework else "an environment without TensorFlow"


def resolve_target(
    python: str | None = None,
    env: str | None = None,
    kernel: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    own: Own | None = None,
) -> Target:
    """The Target for these options and this environment; TargetError for bad input."""
    environ = os.environ if environ is None else environ
    own = own_environment() if own is None else own
    options = {"--python": python, "--env": env, "--kernel": kernel}
    chosen = [name for name, value in options.items() if value]
    if len(chosen) > 1:
        raise TargetError(f"give one of --python, --env and --kernel, not {' and '.join(chosen)}")
    if python:
        return _explicit(python, "--python", f"--python {python}", own)
    if env:
        return _explicit(_python_of_conda_env(env), "--env", f"the conda env {env} (--env)", own)
    if kernel:
        return _kernel_target(kernel, environ, own)
    return default_target(environ, own)


def default_target(environ: Mapping[str, str], own: Own) -> Target:
    active = _active_environment(environ, own)
    if active is not None:
        return active
    if own.tool is None:
        return _target(
            own.python,
            "envkit-env",
            f"envkit's own environment {own.prefix}, where envkit is installed as a library",
            own,
        )
    on_path = _python_on_path(environ, own)
    if on_path is not None:
        word, path = on_path
        return _target(
            path, "python3-on-path", f"{word} on PATH; envkit itself runs from {own.tool}", own
        )
    return _target(
        own.python,
        "envkit-fallback",
        f"envkit's own interpreter ({own.tool}): no python3 on PATH",
        own,
    )


def _active_environment(environ: Mapping[str, str], own: Own) -> Target | None:
    for variable, label in (("VIRTUAL_ENV", "venv"), ("CONDA_PREFIX", "conda env")):
        prefix = environ.get(variable)
        if not prefix or _same_path(prefix, own.prefix):
            continue
        resolved = python_env.resolve_python(prefix)
        if isinstance(resolved, Unavailable):
            continue  # a stale variable from a deleted env: fall through to the next choice
        name = environ.get("CONDA_DEFAULT_ENV") if variable == "CONDA_PREFIX" else None
        shown = name or prefix
        return _target(resolved, variable, f"the active {label} {shown} ({variable})", own)
    return None


def _python_on_path(environ: Mapping[str, str], own: Own) -> tuple[str, str] | None:
    for word in ("python3", "python"):
        found = shutil.which(word, path=environ.get("PATH"))
        if found is None:
            continue
        path = os.path.abspath(found)
        if _same_path(python_env.prefix_of(path), own.prefix):
            continue
        return word, path
    return None


def _explicit(python: str, how: str, reason: str, own: Own) -> Target:
    problem = python_env.check_interpreter(python)
    if problem:
        raise TargetError(problem)
    resolved = python_env.resolve_python(python)
    assert not isinstance(resolved, Unavailable)  # noqa: S101 -- check_interpreter said so
    return _target(resolved, how, reason, own)


def _target(python: str, how: str, reason: str, own: Own, kernel: str | None = None) -> Target:
    prefix = python_env.prefix_of(python)
    return Target(
        python=python,
        prefix=prefix,
        kind=environment_kind(prefix, own),
        how_chosen=how,
        reason=reason,
        kernel=kernel,
    )


def environment_kind(prefix: str, own: Own | None = None) -> str:
    if own is not None and own.tool is not None and _same_path(prefix, own.prefix):
        return "tool-env"
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        return "conda-env"
    if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        return "venv"
    return "system"


def _same_path(one: str, other: str) -> bool:
    return os.path.realpath(one) == os.path.realpath(other)


def _python_of_conda_env(name: str) -> str:
    from envkit.probes import conda

    info = conda.probe_conda()
    if isinstance(info, Unavailable):
        raise TargetError(f"--env {name}: {info.reason}")
    prefix = conda.find_env_prefix(info, name)
    if prefix is None:
        known = ", ".join(sorted(e.name for e in info.environments if e.name)) or "none"
        raise TargetError(f"no conda environment named {name!r} (known: {known})")
    return conda.python_in_prefix(prefix)


def _kernel_target(name: str, environ: Mapping[str, str], own: Own) -> Target:
    from envkit.probes.kernels import find_kernel

    kernels = machine_kernels(environ, own)
    chosen = find_kernel(kernels, name)
    if chosen is None:
        known = ", ".join(sorted({k.name for k in kernels})) or "none found"
        raise TargetError(f"no Jupyter kernel named {name!r} (kernels: {known})")
    if chosen.python is None:
        raise TargetError(f"the Jupyter kernel {name!r} cannot be examined: {chosen.problem}")
    if not chosen.python_exists:
        raise TargetError(
            f"the Jupyter kernel {name!r} runs {chosen.python}, which no longer exists "
            f"(stale kernel; remove it with `jupyter kernelspec remove {name}`)"
        )
    resolved = python_env.resolve_python(chosen.python)
    if isinstance(resolved, Unavailable):
        raise TargetError(f"the Jupyter kernel {name!r}: {resolved.reason}")
    reason = f"the Jupyter kernel {name} (--kernel), from {chosen.spec_file}"
    return _target(resolved, "--kernel", reason, own, kernel=name)


def machine_kernels(environ: Mapping[str, str], own: Own) -> tuple[JupyterKernel, ...]:
    """The kernels of every data dir, the conda environments' included."""
    from envkit.probes import conda
    from envkit.probes import machine_kernels as find

    return find([own.prefix], conda.probe_conda(environ))


def environment_targets(environments: Iterable[KnownEnvironment], first: Target) -> list[Target]:
    """``envkit doctor --all-envs``: a Target for each environment found, besides ``first``."""
    seen = {os.path.realpath(first.prefix), os.path.realpath(first.python)}
    targets = []
    for found in environments:
        if os.path.realpath(found.prefix) in seen:
            continue
        seen.add(os.path.realpath(found.prefix))
        targets.append(
            Target(
                python=found.python,
                prefix=found.prefix,
                kind=found.kind,
                how_chosen="--all-envs",
                reason=f"{found.found_as} (--all-envs)",
            )
        )
    return targets
