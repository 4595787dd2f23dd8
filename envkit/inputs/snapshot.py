"""The inputs as one :class:`Snapshot` for the doctor, and what they could not tell.

A part no input gives is ``Unavailable("not-in-input", ...)``. Where two inputs disagree (two
driver versions) the first is used and :func:`conflict_findings` says so; nothing is picked
silently. An envkit report in the inputs supplies every part it holds; the other inputs then
replace only what they hold themselves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from envkit import __version__
from envkit.inputs.model import EnvReport, InputReading, PackageList, SmiDump, SmiGpu
from envkit.inputs.values import decimal, enabled, mib_bytes, number, parsed, plain
from envkit.model import (
    SNAPSHOT_SCHEMA_VERSION,
    CheckInfo,
    Distribution,
    Finding,
    GpuInfo,
    NvmlInfo,
    PythonEnvInfo,
    Severity,
    Snapshot,
    TensorflowInfo,
    Unavailable,
    VisibleDevices,
    normalize_name,
)

NOT_IN_INPUT = "not-in-input"
_DUMP_RANK = {"nvidia-smi-xml": 0, "nvidia-smi-query": 1, "nvidia-smi-table": 2}
_TENSORFLOW_NAMES = (
    "tensorflow",
    "tensorflow-gpu",
    "tensorflow-cpu",
    "tf-nightly",
    "tensorflow-intel",
    "tensorflow-macos",
    "intel-tensorflow",
)


NOT_CHECKED = CheckInfo(
    "input.not-checked", "system", "With --from: the parts of the machine no input gives."
)
CONFLICTING_DRIVER = CheckInfo(
    "input.conflicting-driver", "nvidia", "With --from: two inputs name different driver versions."
)
TRUNCATED = CheckInfo(
    "input.truncated", "system", "With --from: an input was cut short and read as far as it goes."
)
INPUT_CHECKS = (NOT_CHECKED, CONFLICTING_DRIVER, TRUNCATED)


def not_in_input(what: str) -> Unavailable:
    return Unavailable(NOT_IN_INPUT, f"no input gives {what}")


def snapshot_from(reading: InputReading) -> Snapshot:
    base = _envkit_report(reading)
    nvml = _nvml(reading)
    python, tensorflow = _python_and_tensorflow(reading)
    if base is None:
        return Snapshot(
            schema_version=SNAPSHOT_SCHEMA_VERSION,
            envkit_version=__version__,
            taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            os=not_in_input("the operating system"),
            cpu=not_in_input("the CPU"),
            memory=not_in_input("the memory"),
            disks=(),
            nvidia_kernel=not_in_input("the NVIDIA kernel module"),
            nvml=nvml or not_in_input("the NVIDIA driver or GPUs"),
            cuda_visible_devices=VisibleDevices(None, (), None, (), False),
            python=python or not_in_input("the Python environment"),
            tensorflow=tensorflow or not_in_input("TensorFlow"),
            conda=not_in_input("conda"),
        )
    return replace(
        base,
        nvml=nvml or base.nvml,
        python=python or base.python,
        tensorflow=tensorflow or base.tensorflow,
    )


def missing_parts(snapshot: Snapshot) -> tuple[str, ...]:
    """The parts of the snapshot no input gave, by name."""
    parts = {
        "operating system": snapshot.os,
        "CPU": snapshot.cpu,
        "memory": snapshot.memory,
        "NVIDIA kernel module": snapshot.nvidia_kernel,
        "NVIDIA driver and GPUs": snapshot.nvml,
        "Python environment": snapshot.python,
        "TensorFlow": snapshot.tensorflow,
        "conda": snapshot.conda,
    }
    return tuple(
        name
        for name, part in parts.items()
        if isinstance(part, Unavailable) and part.code == NOT_IN_INPUT
    )


def input_findings(reading: InputReading, snapshot: Snapshot) -> tuple[Finding, ...]:
    """What the doctor says about the inputs themselves: conflicts and what it could not check."""
    found = list(conflict_findings(reading))
    missing = missing_parts(snapshot)
    if missing:
        found.append(
            NOT_CHECKED.finding(
                Severity.INFO,
                f"Not checked for lack of input: {', '.join(missing)}",
                "the inputs hold no " + "; no ".join(missing) + "; the checks that need them "
                "found nothing to judge",
                (
                    "# run `envkit doctor` on the machine itself, or add `envkit report --json` "
                    "output with another --from",
                ),
            )
        )
    for warning in reading.warnings:
        found.append(TRUNCATED.finding(Severity.WARNING, "An input was cut short", warning))
    return tuple(found)


def conflict_findings(reading: InputReading) -> tuple[Finding, ...]:
    versions: dict[str, list[str]] = {}
    for source, version in _driver_versions(reading):
        versions.setdefault(version, []).append(source)
    if len(versions) < 2:
        return ()
    listed = "; ".join(
        f"{version} in {', '.join(sources)}" for version, sources in versions.items()
    )
    first = next(iter(versions))
    return (
        CONFLICTING_DRIVER.finding(
            Severity.WARNING,
            "The inputs disagree on the NVIDIA driver version",
            f"{listed}; judged with {first}, the first one given",
            ("# check that every input comes from the same machine and the same boot",),
        ),
    )


def _driver_versions(reading: InputReading) -> list[tuple[str, str]]:
    found = []
    for part in reading.parts:
        content = part.content
        if isinstance(content, SmiDump) and content.driver_version:
            found.append((part.source, content.driver_version))
        elif isinstance(content, EnvReport) and content.facts.get("driver_version"):
            found.append((part.source, content.facts["driver_version"]))
        elif isinstance(content, Snapshot) and isinstance(content.nvml, NvmlInfo):
            found.append((part.source, content.nvml.driver_version))
        elif isinstance(content, dict) and isinstance(content.get("driver_version"), str):
            found.append((part.source, content["driver_version"]))
    return found


def best_dump(reading: InputReading) -> SmiDump | None:
    """The richest nvidia-smi output: -q -x, then -q, then the table, then a failure line."""
    dumps = [part.content for part in reading.parts if isinstance(part.content, SmiDump)]
    if not dumps:
        return None
    return sorted(dumps, key=lambda dump: _DUMP_RANK.get(dump.kind, 3))[0]


def recording_failure(reading: InputReading) -> Unavailable | None:
    """The NVML failure state an NVML recording's meta names (probe_result nvml-...)."""
    for part in reading.of_kind("nvml-recording"):
        meta = part.content
        result = meta.get("probe_result") if isinstance(meta, dict) else None
        if isinstance(result, str) and result.startswith("nvml-"):
            return Unavailable(result, f"the NVML recording {part.source} ended in {result}")
    return None


def _recorded_nvml(reading: InputReading) -> NvmlInfo | Unavailable | None:
    failure = recording_failure(reading)
    if failure is not None:
        return failure
    for part in reading.of_kind("nvml-recording"):
        meta = part.content
        if isinstance(meta, dict) and isinstance(meta.get("driver_version"), str):
            names = [name for name in meta.get("gpus", []) if isinstance(name, str)]
            return NvmlInfo(
                driver_version=meta["driver_version"],
                cuda_driver_version=None,
                nvml_version=None,
                gpus=tuple(GpuInfo(index=i, name=name) for i, name in enumerate(names)),
            )
    return None


def _nvml(reading: InputReading) -> NvmlInfo | Unavailable | None:
    dump = best_dump(reading)
    if dump is None:
        return _recorded_nvml(reading)
    if dump.failure is not None:
        return dump.failure
    return NvmlInfo(
        driver_version=dump.driver_version or "",
        cuda_driver_version=dump.cuda_version or _cuda_of_driver(dump.driver_version),
        nvml_version=None,
        gpus=tuple(gpu_info(gpu) for gpu in dump.gpus),
    )


def _cuda_of_driver(driver_version: str | None) -> str | None:
    """Drivers before R410 print no CUDA version; NVIDIA's driver table gives the highest."""
    from envkit.knowledge.cuda import max_cuda_for_driver

    return max_cuda_for_driver(driver_version) if driver_version else None


def gpu_info(gpu: SmiGpu) -> GpuInfo:
    if gpu.error is not None:
        return GpuInfo(
            index=gpu.index, error=gpu.error, pci_bus_id=plain(gpu.values, "pci/pci_bus_id")
        )
    values = gpu.values
    return GpuInfo(
        index=gpu.index,
        name=plain(values, "product_name"),
        uuid=plain(values, "uuid"),
        pci_bus_id=plain(values, "pci/pci_bus_id"),
        memory_total_bytes=parsed(values, "fb_memory_usage/total", mib_bytes),
        memory_used_bytes=parsed(values, "fb_memory_usage/used", mib_bytes),
        persistence_mode=parsed(values, "persistence_mode", enabled),
        mig_mode_current=parsed(values, "mig_mode/current_mig", enabled),
        mig_mode_pending=parsed(values, "mig_mode/pending_mig", enabled),
        power_limit_watts=parsed(values, "power_readings/enforced_power_limit", decimal)
        or parsed(values, "gpu_power_readings/current_power_limit", decimal),
        temperature_c=parsed(values, "temperature/gpu_temp", number),
        processes=gpu.processes or (),
        utilization_gpu_percent=parsed(values, "utilization/gpu_util", number),
        power_draw_watts=_power_draw(values),
    )


_POWER_DRAW_KEYS = (
    "power_readings/power_draw",  # before R530
    "gpu_power_readings/power_draw",  # R530 to R550
    "gpu_power_readings/average_power_draw",  # R555 and later: what NVML's power usage gives
    "gpu_power_readings/instant_power_draw",
)


def _power_draw(values: dict[str, str]) -> float | None:
    for key in _POWER_DRAW_KEYS:
        watts = parsed(values, key, decimal)
        if watts is not None:
            return watts
    return None


def _python_and_tensorflow(
    reading: InputReading,
) -> tuple[PythonEnvInfo | None, TensorflowInfo | Unavailable | None]:
    distributions: list[Distribution] = []
    python_version = None
    env_name = prefix = None
    kind = "unknown"
    for part in reading.parts:
        content = part.content
        if isinstance(content, PackageList):
            distributions += content.distributions
            python_version = python_version or content.python_version
            env_name, prefix = env_name or content.env_name, prefix or content.prefix
            if content.kind.startswith("conda"):
                kind = "conda-base" if env_name == "base" else "conda-env"
        elif isinstance(content, EnvReport):
            distributions += content.distributions
            python_version = python_version or content.facts.get("python")
            if content.facts.get("tensorflow"):
                distributions.append(Distribution("tensorflow", content.facts["tensorflow"]))
    if python_version is None and not distributions:
        return None, None
    unique = tuple({normalize_name(d.name): d for d in reversed(distributions)}.values())[::-1]
    python = None
    if python_version is not None:
        python = PythonEnvInfo(
            executable="python",
            version=python_version,
            implementation="CPython",
            prefix=prefix or "",
            base_prefix=prefix or "",
            kind=kind,
            conda_env_name=env_name,
            platform_tag="",
            pip_on_path=None,
            pip_on_path_python=None,
            distributions=unique,
            environment=(),
        )
    return python, _tensorflow(unique)


def _tensorflow(distributions: tuple[Distribution, ...]) -> TensorflowInfo | None:
    installed = tuple(d for d in distributions if normalize_name(d.name) in _TENSORFLOW_NAMES)
    if not installed:
        return None
    return TensorflowInfo(
        distributions=installed,
        version=installed[0].version,
        package_path=None,
        requirements=(),
        build=not_in_input("TensorFlow's build facts (build_info.py)"),
    )


def _envkit_report(reading: InputReading) -> Snapshot | None:
    return next(
        (part.content for part in reading.parts if isinstance(part.content, Snapshot)), None
    )


def hostname_of(reading: InputReading) -> str | None:
    for part in reading.parts:
        if isinstance(part.content, Snapshot) and not isinstance(part.content.os, Unavailable):
            return part.content.os.hostname
        if part.kind == "nvml-recording" and isinstance(part.content, dict):
            name = part.content.get("hostname")
            if isinstance(name, str) and name and name != "REDACTED":
                return name
    return None
