"""Taking a snapshot: every probe runs isolated, the slow ones side by side.

A probe that crashes becomes an ``Unavailable("probe-crashed", ...)`` and the rest of the
snapshot still stands.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from envkit import __version__
from envkit.model import (
    SNAPSHOT_SCHEMA_VERSION,
    CondaInfo,
    DiskInfo,
    JupyterKernel,
    KnownEnvironment,
    NvmlInfo,
    PythonEnvInfo,
    Snapshot,
    Target,
    TensorflowInfo,
    Unavailable,
)
from envkit.probes._threads import Pending

T = TypeVar("T")
PythonProbeResult = tuple[PythonEnvInfo | Unavailable, TensorflowInfo | Unavailable]


def collect(target: Target) -> Snapshot:
    """Snapshot this machine, with ``target`` as the examined interpreter."""
    return collect_many(target)[0]


_PREFETCHED: dict[Target, Pending[Snapshot]] = {}
"""Collections started before the command asked (see envkit/entry.py), by target."""


def prefetch(target: Target) -> None:
    """Start collecting for ``target`` now; the next ``start_collect(target)`` takes it."""
    _PREFETCHED[target] = _collecting(target)


def start_collect(target: Target) -> Pending[Snapshot]:
    """``collect`` in the background: the caller imports what judging needs while the target's
    interpreter runs its probe on another core. A prefetched collection for the same target is
    taken over, once."""
    started = _PREFETCHED.pop(target, None)
    return started if started is not None else _collecting(target)


def _collecting(target: Target) -> Pending[Snapshot]:
    return Pending(lambda: collect(target), "envkit-collect")


MoreTargets = Callable[[tuple[KnownEnvironment, ...]], Sequence[Target]]
MAX_PARALLEL_PYTHON_PROBES = 10


def collect_many(target: Target, more: MoreTargets | None = None) -> tuple[Snapshot, ...]:
    """One snapshot per target: ``target``, then those ``more`` picks among the environments
    found. The machine is probed once; the interpreters are probed side by side."""
    from envkit.probes import conda, nvidia_kernel, nvml, python_env, system, visible_devices
    from envkit.probes.cuda_libs import probe_cuda_libraries

    pythons = [_probing(python_env.probe, target.python)]
    conda_pending = Pending(lambda: guarded("conda", conda.probe_conda))
    nvml_pending = Pending(lambda: guarded("nvml", nvml.probe))
    os_info = guarded("os", system.probe_os)
    cpu = guarded("cpu", system.probe_cpu)
    memory = guarded("memory", system.probe_memory)
    kernel = guarded("nvidia-kernel", nvidia_kernel.probe_nvidia_kernel)
    cuda_libraries = guarded("cuda-libraries", probe_cuda_libraries)
    conda_info = conda_pending.result()
    kernels, environments = _kernels_and_environments(target, conda_info)
    targets = [target, *(more(environments) if more else ())]
    others = [other.python for other in targets[1:]]
    for start in range(0, len(others), MAX_PARALLEL_PYTHON_PROBES):
        batch = [
            _probing(python_env.probe, python)
            for python in others[start : start + MAX_PARALLEL_PYTHON_PROBES]
        ]
        for pending in batch:  # at most MAX_PARALLEL_PYTHON_PROBES interpreters at a time
            pending.result()
        pythons += batch
    nvml_info = nvml_pending.result()
    python_results = [pending.result() for pending in pythons]
    gpus = nvml_info.gpus if isinstance(nvml_info, NvmlInfo) else None
    taken_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    visible = visible_devices.parse_visible_devices(os.environ.get("CUDA_VISIBLE_DEVICES"), gpus)
    return tuple(
        Snapshot(
            schema_version=SNAPSHOT_SCHEMA_VERSION,
            envkit_version=__version__,
            taken_at=taken_at,
            os=os_info,
            cpu=cpu,
            memory=memory,
            disks=_disks(system.probe_disks, python_info, conda_info),
            nvidia_kernel=kernel,
            nvml=nvml_info,
            cuda_visible_devices=visible,
            python=python_info,
            tensorflow=tensorflow,
            conda=conda_info,
            cuda_libraries=cuda_libraries,
            target=examined,
            kernels=kernels,
            environments=environments,
        )
        for examined, (python_info, tensorflow) in zip(targets, python_results, strict=True)
    )


def _kernels_and_environments(
    target: Target, conda_info: CondaInfo | Unavailable
) -> tuple[tuple[JupyterKernel, ...], tuple[KnownEnvironment, ...]]:
    """The Jupyter kernels and the other environments; a failure leaves them empty."""
    result = guarded("kernels", lambda: _find_kernels_and_environments(target, conda_info))
    return ((), ()) if isinstance(result, Unavailable) else result


def _find_kernels_and_environments(
    target: Target, conda_info: CondaInfo | Unavailable
) -> tuple[tuple[JupyterKernel, ...], tuple[KnownEnvironment, ...]]:
    import sys

    from envkit.probes import environments, python_env

    found = machine_kernels([target.prefix, sys.prefix], conda_info)
    skip = [sys.prefix] if python_env.tool_environment_kind(sys.prefix) else []
    return found, environments.find_environments(os.environ, conda_info, found, skip_prefixes=skip)


def machine_kernels(
    first_prefixes: list[str], conda_info: CondaInfo | Unavailable
) -> tuple[JupyterKernel, ...]:
    """Every Jupyter kernel: environments' dirs in this order, the active one's, conda's."""
    from envkit.probes import kernels

    envs = conda_info.environments if isinstance(conda_info, CondaInfo) else ()
    names = {env.name: env.prefix for env in envs if env.name}
    active = [os.environ[v] for v in ("VIRTUAL_ENV", "CONDA_PREFIX") if os.environ.get(v)]
    prefixes = [*active, *first_prefixes, *(env.prefix for env in envs)]
    return kernels.find_kernels(os.environ, prefixes, names)


def guarded(name: str, probe: Callable[[], T]) -> T | Unavailable:
    try:
        return probe()
    except Exception as error:  # noqa: BLE001 -- one broken probe must not take the snapshot down
        return Unavailable("probe-crashed", f"The {name} probe failed: {error!r}.")


def _probing(probe: Callable[[str], PythonProbeResult], python: str) -> Pending[PythonProbeResult]:
    return Pending(lambda: _python_probe(probe, python))


def _python_probe(probe: Callable[[str], PythonProbeResult], target: str) -> PythonProbeResult:
    result = guarded("python", lambda: probe(target))
    if isinstance(result, Unavailable):
        return result, result
    return result


def _disks(
    probe_disks: Callable[[dict[str, str | None]], tuple[DiskInfo, ...]],
    python_info: PythonEnvInfo | Unavailable,
    conda_info: CondaInfo | Unavailable,
) -> tuple[DiskInfo, ...]:
    places: dict[str, str | None] = {
        "home": str(Path.home()),
        "conda-root": conda_info.root_prefix if isinstance(conda_info, CondaInfo) else None,
        "target-prefix": python_info.prefix if isinstance(python_info, PythonEnvInfo) else None,
    }
    return probe_disks(places)
