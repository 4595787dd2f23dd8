"""The human view of a snapshot: sections of (label, text) rows, printed on a screen.

Building the rows is pure and testable as plain strings; only :func:`print_report` prints.
"""

from __future__ import annotations

from collections.abc import Iterable

from envkit.model import (
    CondaInfo,
    CpuInfo,
    DiskInfo,
    GpuInfo,
    MemoryInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    OsInfo,
    PythonEnvInfo,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
    Unavailable,
    VisibleDevices,
)
from envkit.render.lines import Line, Screen
from envkit.render.wrap import prose_lines

Row = tuple[str, str]
Section = tuple[str, list[Row]]
GIB = 1024**3
SEPARATOR = " · "
SHOWN_PACKAGES = ("tensorflow", "keras", "tf-keras", "numpy", "jax", "torch", "pip")


def report_sections(snapshot: Snapshot, *, verbose: bool = False) -> list[Section]:
    return [
        ("GPUs", gpu_view_rows(snapshot)),
        ("System", _system_rows(snapshot)),
        ("NVIDIA", _nvidia_rows(snapshot)),
        ("Python", _python_rows(snapshot.python, verbose=verbose)),
        ("TensorFlow", _tensorflow_rows(snapshot.tensorflow, verbose=verbose)),
        ("conda", _conda_rows(snapshot.conda, verbose=verbose)),
        *_kernel_section(snapshot),
    ]


def _kernel_section(snapshot: Snapshot) -> list[Section]:
    from envkit.render.target import kernel_line

    rows = [(kernel.name, kernel_line(kernel)) for kernel in snapshot.kernels]
    return [("Jupyter kernels", rows)] if rows else []


def print_report(console: Screen, snapshot: Snapshot, *, verbose: bool = False) -> None:
    from envkit.render.target import target_line

    console.print(Line(f"envkit {snapshot.envkit_version} · snapshot taken {snapshot.taken_at}"))
    line = target_line(snapshot)
    if line:
        first, *rest = wrap_parts(line, max(20, console.width))
        console.print(Line(first), soft_wrap=True)
        for more in wrap_parts(" ".join(rest), max(20, console.width - 2)) if rest else []:
            console.print(Line("  " + more), soft_wrap=True)
    for title, rows in report_sections(snapshot, verbose=verbose):
        console.print()
        console.print(Line(title, style="bold"))
        label_width = max((len(label) for label, _ in rows), default=0)
        text_width = max(20, console.width - label_width - 4)
        for label, text in rows:
            for number, line in enumerate(wrap_parts(text, text_width)):
                shown_label = label if number == 0 else ""
                console.print(
                    Line("  ")
                    + Line(shown_label.ljust(label_width), style="cyan")
                    + Line("  " + line)
                )


def wrap_parts(text: str, width: int) -> list[str]:
    """Wrap at the " · " separators first, so that one fact stays on one line."""
    lines: list[str] = []
    for part in text.split(SEPARATOR):
        if lines and len(lines[-1]) + len(SEPARATOR) + len(part) <= width:
            lines[-1] += SEPARATOR + part
        else:
            lines += prose_lines(part, width)
    return lines


def unavailable_text(value: Unavailable) -> str:
    return f"unavailable: {value.reason} [{value.code}]"


def gib(count_bytes: int | None) -> str:
    return "?" if count_bytes is None else f"{count_bytes / GIB:.1f} GiB"


def _join(parts: Iterable[str | None]) -> str:
    return SEPARATOR.join(part for part in parts if part)


def _system_rows(snapshot: Snapshot) -> list[Row]:
    rows: list[Row] = []
    rows += _os_rows(snapshot.os)
    rows.append(("CPU", _cpu_text(snapshot.cpu)))
    rows.append(("Memory", _memory_text(snapshot.memory)))
    rows += [("Disk", _disk_text(disk)) for disk in snapshot.disks]
    return rows


def _os_rows(os_info: OsInfo | Unavailable) -> list[Row]:
    if isinstance(os_info, Unavailable):
        return [("OS", unavailable_text(os_info))]
    name = os_info.distro_pretty_name or os_info.system
    glibc = f"glibc {os_info.glibc_version}" if os_info.glibc_version else None
    wsl = f"WSL {os_info.wsl_version}" if os_info.wsl_version else None
    where = _join(
        [
            wsl,
            f"container {os_info.container}" if os_info.container else None,
            f"virtualisation {os_info.virtualization}" if os_info.virtualization else None,
            f"Secure Boot {_on_off(os_info.secure_boot)}",
        ]
    )
    return [
        ("OS", _join([name, f"kernel {os_info.kernel_release}", os_info.architecture, glibc])),
        ("Host", _join([os_info.hostname, where])),
    ]


def _on_off(value: bool | None) -> str:
    return "unknown" if value is None else ("on" if value else "off")


def _cpu_text(cpu: CpuInfo | Unavailable) -> str:
    if isinstance(cpu, Unavailable):
        return unavailable_text(cpu)
    cores = f"{cpu.physical_cores or '?'} cores / {cpu.logical_cores or '?'} threads"
    if not cpu.flags_known:
        flags = "instruction-set flags unknown"
    else:
        flags = "flags: " + (" ".join(cpu.tensorflow_flags) or "no AVX")
    return _join([cpu.model_name or "unknown model", cores, flags])


def _memory_text(memory: MemoryInfo | Unavailable) -> str:
    if isinstance(memory, Unavailable):
        return unavailable_text(memory)
    swap = "no swap" if not memory.swap_total_bytes else f"swap {gib(memory.swap_total_bytes)}"
    return _join(
        [f"{gib(memory.total_bytes)} total", f"{gib(memory.available_bytes)} available", swap]
    )


def _disk_text(disk: DiskInfo) -> str:
    if disk.free_bytes is None:
        return f"{disk.label} {disk.path}: unreadable"
    return f"{disk.label} {disk.path}: {gib(disk.free_bytes)} free of {gib(disk.total_bytes)}"


def _nvidia_rows(snapshot: Snapshot) -> list[Row]:
    rows = [("Kernel", _kernel_text(snapshot.nvidia_kernel))]
    if not isinstance(snapshot.nvml, Unavailable):  # unavailable: said once, in the GPU view
        rows.append(("Driver", _driver_text(snapshot.nvml)))
        rows += [(f"GPU {gpu.index}", _gpu_text(gpu)) for gpu in snapshot.nvml.gpus]
    rows.append(("CUDA_VISIBLE_DEVICES", _visible_text(snapshot.cuda_visible_devices)))
    return rows


def gpu_view_rows(snapshot: Snapshot) -> list[Row]:
    """What nvidia-smi shows first: the driver and the CUDA it supports, a line per GPU (memory
    used of total, temperature, power limit), and the processes on the GPUs. GPU utilisation
    and power draw are not in the snapshot, so they are not shown."""
    nvml = snapshot.nvml
    if isinstance(nvml, Unavailable):
        return [("NVML", unavailable_text(nvml))]
    cuda = f"CUDA ≤ {nvml.cuda_driver_version}" if nvml.cuda_driver_version else "CUDA ≤ ?"
    rows = [("Driver", _join([nvml.driver_version, cuda]))]
    rows += [(f"GPU {gpu.index}", _gpu_view_text(gpu)) for gpu in nvml.gpus] or [("GPUs", "none")]
    processes = [
        f"GPU {gpu.index}: pid {p.pid} {p.kind} {gib(p.used_memory_bytes)}"
        for gpu in nvml.gpus
        for p in gpu.processes
    ]
    rows.append(("Processes", _join(processes) or "none"))
    return rows


def _gpu_view_text(gpu: GpuInfo) -> str:
    if gpu.error is not None:
        return unavailable_text(gpu.error)
    used = gib(gpu.memory_used_bytes).removesuffix(" GiB")
    return _join(
        [
            gpu.name,
            f"{used} / {gib(gpu.memory_total_bytes)} used",
            _utilization_text(gpu),
            _temperature_text(gpu),
            _power_text(gpu),
        ]
    )


def _temperature_text(gpu: GpuInfo) -> str | None:
    return f"{gpu.temperature_c} °C" if gpu.temperature_c is not None else None


def _utilization_text(gpu: GpuInfo) -> str | None:
    percent = gpu.utilization_gpu_percent
    return f"{percent} % util" if percent is not None else None


def _power_text(gpu: GpuInfo) -> str | None:
    """nvidia-smi's Pwr:Usage/Cap: "72 W / 700 W", or whichever half the GPU reports."""
    draw, limit = gpu.power_draw_watts, gpu.power_limit_watts
    if draw is not None and limit is not None:
        return f"{draw:.0f} W / {limit:.0f} W"
    if draw is not None:
        return f"{draw:.0f} W"
    return f"{limit:.0f} W limit" if limit is not None else None


def _kernel_text(kernel: NvidiaKernelInfo | Unavailable) -> str:
    if isinstance(kernel, Unavailable):
        return unavailable_text(kernel)
    module = f"module {kernel.module_version}" if kernel.module_version else "module not loaded"
    pci = ", ".join(
        f"{g.address} ({g.device_id}, driver {g.driver or 'none'})" for g in kernel.pci_gpus
    )
    return _join(
        [
            module,
            "nouveau loaded" if kernel.nouveau_loaded else None,
            "/dev: " + (" ".join(kernel.device_nodes) or "no nvidia nodes"),
            "PCI GPUs: " + (pci or "none"),
        ]
    )


def _driver_text(nvml: NvmlInfo) -> str:
    cuda = f"supports CUDA ≤ {nvml.cuda_driver_version}" if nvml.cuda_driver_version else None
    count = _count(len(nvml.gpus), "GPU", "GPUs")
    return _join([f"driver {nvml.driver_version}", cuda, count])


def _gpu_text(gpu: GpuInfo) -> str:
    if gpu.error is not None:
        return unavailable_text(gpu.error)
    memory = f"{gib(gpu.memory_total_bytes)} ({gib(gpu.memory_used_bytes)} used)"
    return _join(
        [
            gpu.name,
            memory,
            f"compute {gpu.compute_capability}" if gpu.compute_capability else None,
            gpu.pci_bus_id,
            _utilization_text(gpu),
            _temperature_text(gpu),
            _power_text(gpu),
            _flag_text("persistence", gpu.persistence_mode),
            _flag_text("MIG", gpu.mig_mode_current),
            _count(len(gpu.processes), "process", "processes"),
        ]
    )


def _count(number: int, singular: str, plural: str) -> str:
    return f"{number} {singular if number == 1 else plural}"


def _flag_text(name: str, value: bool | None) -> str | None:
    return None if value is None else f"{name} {_on_off(value)}"


def _visible_text(visible: VisibleDevices) -> str:
    if visible.raw is None:
        return "not set (every GPU visible)"
    if visible.hides_all:
        return f"{visible.raw!r}: hides every GPU"
    indices = visible.visible_gpu_indices
    if indices is None:
        shown = "GPUs unknown (no NVML)"
    elif not indices:
        shown = "no GPU"
    else:
        shown = ("GPU " if len(indices) == 1 else "GPUs ") + ", ".join(map(str, indices))
    unmatched = f"names nothing: {', '.join(visible.unmatched)}" if visible.unmatched else None
    return _join([f"{visible.raw!r}", f"exposes {shown}", unmatched])


def _python_rows(python: PythonEnvInfo | Unavailable, *, verbose: bool) -> list[Row]:
    if isinstance(python, Unavailable):
        return [("Interpreter", unavailable_text(python))]
    env_name = f"conda env {python.conda_env_name}" if python.conda_env_name else None
    rows: list[Row] = [
        (
            "Interpreter",
            _join([python.executable, f"Python {python.version}", python.kind, env_name]),
        ),
        ("Prefix", python.prefix),
        ("Packages", _packages_text(python)),
    ]
    wheels = python.nvidia_wheels()
    if wheels:
        rows.append(("NVIDIA wheels", ", ".join(f"{d.name} {d.version}" for d in wheels)))
    if python.pip_on_path:
        rows.append(("pip on PATH", _join([python.pip_on_path, python.pip_on_path_python])))
    rows += [(f"${name}", value) for name, value in python.environment]
    if verbose:
        rows += [("", f"{d.name} {d.version}") for d in python.distributions]
    return rows


def _packages_text(python: PythonEnvInfo) -> str:
    shown = [
        f"{name} {python.version_of(name)}" for name in SHOWN_PACKAGES if python.version_of(name)
    ]
    return _join([f"{len(python.distributions)} distributions", *shown])


def _tensorflow_rows(tensorflow: TensorflowInfo | Unavailable, *, verbose: bool) -> list[Row]:
    if isinstance(tensorflow, Unavailable):
        return [("Installed", unavailable_text(tensorflow))]
    dists = ", ".join(f"{d.name} {d.version}" for d in tensorflow.distributions)
    rows: list[Row] = [("Installed", _join([dists, tensorflow.package_path]))]
    rows.append(("Build", _build_text(tensorflow.build)))
    cuda_pins = [r for r in tensorflow.requirements if "and-cuda" in r or "and_cuda" in r]
    if cuda_pins:
        rows.append(("and-cuda pins", ", ".join(r.split(";")[0].strip() for r in cuda_pins)))
    if verbose:
        rows += [("Requires", r) for r in tensorflow.requirements]
        if isinstance(tensorflow.build, TensorflowBuild):
            rows += [(f"build_info {key}", value) for key, value in tensorflow.build.raw]
    return rows


def _build_text(build: TensorflowBuild | Unavailable) -> str:
    if isinstance(build, Unavailable):
        return unavailable_text(build)
    if not build.is_cuda_build:
        kind = "ROCm build" if build.is_rocm_build else "CPU-only build (no CUDA)"
        return kind
    capabilities = " ".join(build.cuda_compute_capabilities) or "unknown"
    return _join(
        [
            f"built with CUDA {build.cuda_version or '?'}",
            f"cuDNN {build.cudnn_version or '?'}",
            f"GPU code for {capabilities}",
        ]
    )


def _conda_rows(conda: CondaInfo | Unavailable, *, verbose: bool) -> list[Row]:
    if isinstance(conda, Unavailable):
        return [("conda", unavailable_text(conda))]
    rows: list[Row] = [
        ("Executable", _join([conda.executable or "not found", f"via {conda.found_via}"])),
        ("Version", conda.version or "unknown"),
        ("Root", conda.root_prefix or "unknown"),
        ("Active", conda.active_env_name or "none"),
        ("Environments", f"{len(conda.environments)} (from {conda.environments_source})"),
    ]
    shown = conda.environments if verbose else conda.environments[:10]
    rows += [("", _join([env.name or "(unnamed)", env.prefix])) for env in shown]
    return rows
