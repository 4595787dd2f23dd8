"""The quick tier's per-GPU checks: identity, memory errors, clocks, link and hygiene."""

from __future__ import annotations

from typing import Any

from envkit.knowledge import GpuModel, gpu_model
from envkit.knowledge.gpus import MemoryBand, memory_band
from envkit.model import Unavailable
from envkit.model_health import GpuHealth, NotSupported
from envkit.validate.catalog import gpu_check, per_gpu_checks
from envkit.validate.model import CheckResult, Expectations, Verdict
from envkit.validate.quick_common import (
    GIB,
    MIB,
    RESET_ACTION,
    RMA_ACTION,
    QuickThresholds,
    gpu_name,
    make_result,
    not_read,
    value_of,
)

# --- per-GPU checks ----------------------------------------------------------------------------


@gpu_check(
    "gpu.nvml",
    "NVML can read the GPU (it has not fallen off the bus or needs a reset).",
    every_gpu=False,
)
def gpu_nvml(gpu: GpuHealth) -> CheckResult:
    if gpu.error is not None:
        return make_result(
            "gpu.nvml",
            Verdict.FAIL,
            f"GPU {gpu.index} cannot be read",
            f"{gpu.error.code}: {gpu.error.reason}",
            gpu,
            action=RMA_ACTION.replace(
                "reset the GPU", f"reset the GPU (`nvidia-smi -r -i {gpu.index}`)"
            ),
        )
    identity = gpu.identity
    return make_result(
        "gpu.nvml",
        Verdict.PASS,
        f"GPU {gpu.index}: {gpu_name(gpu)}",
        f"bus {identity.pci_bus_id}, {identity.uuid}",
        gpu,
    )


@gpu_check("gpu.model", "The GPU's name contains --expect-gpu-model.", every_gpu=False)
def gpu_model_check(gpu: GpuHealth, expected: str) -> CheckResult:
    name = gpu.identity.name
    if name is not None and expected.lower() in name.lower():
        return make_result(
            "gpu.model", Verdict.PASS, f"GPU {gpu.index}: {name}", f"contains {expected!r}", gpu
        )
    return make_result(
        "gpu.model",
        Verdict.FAIL,
        f"GPU {gpu.index}: {name or 'name unreadable'}, expected {expected}",
        f"NVML name {name!r} does not contain {expected!r}",
        gpu,
        action="this is not the GPU model ordered: release the instance or fix the instance type",
    )


@gpu_check(
    "gpu.memory",
    "The GPU's memory is the size --expect-memory-gib (else its model) says: within the totals "
    "drivers report for the model, else up to 10 % below, never above.",
    every_gpu=False,
)
def gpu_memory(gpu: GpuHealth, expectations: Expectations, limits: QuickThresholds) -> CheckResult:
    total = gpu.identity.memory_total_bytes
    if total is None:
        return make_result(
            "gpu.memory",
            Verdict.FAIL,
            f"GPU {gpu.index}: memory size unreadable",
            "nvmlDeviceGetMemoryInfo gave no answer",
            gpu,
        )
    gib = total / GIB
    model = gpu_model(gpu.identity.name or "")
    if expectations.memory_gib is not None:
        return _memory_against(gpu, total, expectations.memory_gib, model)
    if model is None:
        return make_result(
            "gpu.memory",
            Verdict.SKIP,
            f"GPU {gpu.index}: {gib:.1f} GiB; model unknown",
            f"{gpu_name(gpu)} is not in envkit's GPU table; pass --expect-memory-gib N to check",
            gpu,
            measured=round(gib, 2),
            unit="GiB",
        )
    band = memory_band(model.memory_gb, model)
    matches = band.holds(total)
    return make_result(
        "gpu.memory",
        Verdict.PASS if matches else Verdict.WARN,
        f"GPU {gpu.index}: {gib:.1f} GiB" + ("" if matches else f", not {model.memory_gb:g} GB"),
        f"{model.name} has {model.memory_gb:g} GB nominal; NVML total {_total_text(total)}; "
        f"{_band_text(band)}",
        gpu,
        measured=round(gib, 2),
        expected=model.memory_gb,
        unit="GiB",
    )


def _memory_against(
    gpu: GpuHealth, total: int, expected: float, model: GpuModel | None
) -> CheckResult:
    band = memory_band(expected, model)
    ok = band.holds(total)
    gib = total / GIB
    return make_result(
        "gpu.memory",
        Verdict.PASS if ok else Verdict.FAIL,
        f"GPU {gpu.index}: {gib:.1f} GiB" + ("" if ok else f", expected {expected:g} GiB"),
        f"NVML total {_total_text(total)}, expected {expected:g} GiB; {_band_text(band)}",
        gpu,
        measured=round(gib, 2),
        expected=expected,
        unit="GiB",
        action=None if ok else "this is not the GPU memory size ordered: check the instance type",
    )


def _total_text(total: int) -> str:
    return f"{total / GIB:.2f} GiB ({total // MIB} MiB)"


def _band_text(band: MemoryBand) -> str:
    return f"{band.basis}: {band.low_gib:.2f} to {band.high_gib:.2f} GiB passes"


@gpu_check("gpu.ecc-mode", "ECC is on where the GPU has it, and no change waits for a reboot.")
def gpu_ecc_mode(gpu: GpuHealth) -> CheckResult:
    check, mode = "gpu.ecc-mode", gpu.ecc_mode
    if (skipped := not_read(check, "ECC mode", gpu, mode, Verdict.FAIL)) is not None:
        return skipped
    mode = value_of(mode)
    evidence = f"current {_on(mode.current)}, pending {_on(mode.pending)}"
    if not mode.current:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: ECC is off",
            evidence,
            gpu,
            action=f"`sudo nvidia-smi -i {gpu.index} -e 1`, then reboot",
        )
    if mode.pending != mode.current:
        return make_result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: ECC turns {_on(mode.pending)} at the next reboot",
            evidence,
            gpu,
        )
    return make_result(check, Verdict.PASS, f"GPU {gpu.index}: ECC on", evidence, gpu)


def _on(flag: bool) -> str:
    return "on" if flag else "off"


@gpu_check(
    "gpu.ecc-uncorrected",
    "No uncorrected ECC error since the driver loaded; corrected ones below Meta GCM's limit.",
)
def gpu_ecc_uncorrected(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, errors = "gpu.ecc-uncorrected", gpu.ecc_uncorrected_volatile
    if (skipped := not_read(check, "volatile ECC counts", gpu, errors, Verdict.FAIL)) is not None:
        return skipped
    corrected = gpu.ecc_corrected_volatile
    corrected_count = corrected if isinstance(corrected, int) else None
    evidence = f"volatile uncorrected {errors}, corrected {_text(corrected)} (since driver load)"
    errors = value_of(errors)
    if errors > 0:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {errors} uncorrected ECC error(s)",
            evidence,
            gpu,
            measured=errors,
            expected=0,
            unit="errors",
            action=RESET_ACTION.format(gpu=gpu.index) + "; if errors return, replace it (RMA)",
        )
    if corrected_count is not None and corrected_count > limits.ecc_corrected_volatile_warn:
        return make_result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: {corrected_count} corrected ECC errors",
            f"{evidence}; warns above {limits.ecc_corrected_volatile_warn} (Meta GCM)",
            gpu,
            measured=errors,
            unit="errors",
        )
    return make_result(
        check,
        Verdict.PASS,
        f"GPU {gpu.index}: no uncorrected ECC errors",
        evidence,
        gpu,
        measured=0,
        unit="errors",
    )


def _text(reading: object) -> str:
    if isinstance(reading, NotSupported):
        return "not reported"
    if isinstance(reading, Unavailable):
        return "unreadable"
    return str(reading)


@gpu_check(
    "gpu.retired-pages",
    "Retired memory pages below DCGM's limits, none pending (Kepler to Turing).",
)
def gpu_retired_pages(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, pages = "gpu.retired-pages", gpu.retired_pages
    if isinstance(pages, NotSupported):
        reason = f"{pages.reason} (Ampere and later GPUs remap rows instead: see gpu.row-remap)"
        return make_result(check, Verdict.SKIP, f"GPU {gpu.index}: no page retirement", reason, gpu)
    if (skipped := not_read(check, "retired pages", gpu, pages, Verdict.FAIL)) is not None:
        return skipped
    pages = value_of(pages)
    evidence = (
        f"{pages.single_bit} single-bit + {pages.double_bit} double-bit = {pages.total} retired, "
        f"pending {'yes' if pages.pending else 'no'}; fails at {limits.retired_pages_fail} "
        f"(DCGM), warns at {limits.retired_pages_warn}"
    )
    extra: dict[str, Any] = {"measured": pages.total, "unit": "pages", "gpu": gpu}
    if pages.pending:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: a page waits for retirement",
            evidence,
            action=RESET_ACTION.format(gpu=gpu.index) + " so the page is retired",
            **extra,
        )
    if pages.total >= limits.retired_pages_fail:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {pages.total} pages retired",
            evidence,
            action="drain the node and replace the GPU (RMA)",
            **extra,
        )
    verdict = Verdict.WARN if pages.total >= limits.retired_pages_warn else Verdict.PASS
    title = f"GPU {gpu.index}: {pages.total} pages retired, none pending"
    return make_result(check, verdict, title, evidence, **extra)


@gpu_check(
    "gpu.row-remap",
    "Row remapping (Ampere and later): none failed or pending, uncorrectable ones below DCGM's "
    "limit.",
)
def gpu_row_remap(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, rows = "gpu.row-remap", gpu.remapped_rows
    if isinstance(rows, NotSupported):
        reason = (
            f"{rows.reason} (GPUs before Ampere retire pages instead; a MIG-enabled GPU with "
            "active instances does not report remaps)"
        )
        return make_result(
            check, Verdict.SKIP, f"GPU {gpu.index}: row remap not reported", reason, gpu
        )
    if (skipped := not_read(check, "row remapping", gpu, rows, Verdict.FAIL)) is not None:
        return skipped
    rows = value_of(rows)
    evidence = (
        f"remapped rows: {rows.correctable} correctable, {rows.uncorrectable} uncorrectable, "
        f"pending {'yes' if rows.pending else 'no'}, failure {'yes' if rows.failure else 'no'}"
    )
    extra: dict[str, Any] = {"measured": rows.uncorrectable, "unit": "rows", "gpu": gpu}
    if rows.failure:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: row remapping failed",
            evidence,
            action="drain the node and replace the GPU (RMA): it has no spare rows left",
            **extra,
        )
    if rows.pending:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: a row remap waits for a GPU reset",
            evidence,
            action=RESET_ACTION.format(gpu=gpu.index),
            **extra,
        )
    if rows.uncorrectable >= limits.remapped_uncorrectable_fail:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {rows.uncorrectable} rows remapped for uncorrectable errors",
            f"{evidence}; fails at {limits.remapped_uncorrectable_fail} (DCGM)",
            action="drain the node and replace the GPU (RMA)",
            **extra,
        )
    return make_result(check, Verdict.PASS, f"GPU {gpu.index}: no remap pending", evidence, **extra)


_RECOVERY_ACTIONS: dict[int, tuple[str, str]] = {
    1: ("GPU reset", "drain the node, then reset the GPU: `nvidia-smi -r -i {gpu}`"),
    2: ("node reboot", "drain the node, then reboot it"),
    3: ("drain peer-to-peer", "stop multi-GPU jobs on this node, then reset the GPU"),
    4: ("drain and reset", "drain the node, then reset the GPU: `nvidia-smi -r -i {gpu}`"),
    5: ("recover IMEX domain", "drain the node and restart the IMEX domain"),
    6: ("bus reset", "drain the node, then reset the GPU's PCIe bus (or reboot)"),
    7: ("system reboot", "drain the node, then reboot it"),
}


@gpu_check(
    "gpu.recovery-action",
    "NVML asks for no recovery action (GPU reset, node reboot, drain).",
)
def gpu_recovery_action(gpu: GpuHealth) -> CheckResult:
    check, action = "gpu.recovery-action", gpu.recovery_action
    if (skipped := not_read(check, "recovery action", gpu, action, Verdict.FAIL)) is not None:
        return skipped
    value = int(value_of(action))
    if value == 0:
        return make_result(
            check, Verdict.PASS, f"GPU {gpu.index}: no recovery action", "NVML: none", gpu
        )
    name, todo = _RECOVERY_ACTIONS.get(value, (f"action {value}", "drain the node and reboot"))
    return make_result(
        check,
        Verdict.FAIL,
        f"GPU {gpu.index}: the driver asks for a {name}",
        f"NVML GPU recovery action {value} ({name})",
        gpu,
        measured=value,
        expected=0,
        action=todo.format(gpu=gpu.index),
    )


CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "GPU idle",
    0x2: "applications clocks setting",
    0x4: "SW power cap",
    0x8: "HW slowdown",
    0x10: "sync boost",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake slowdown",
    0x100: "display clock setting",
}
"""nvmlClocksEventReason* bits (nvml.h; reference §2 row 8)."""
_CLOCK_FAIL = 0x8 | 0x40 | 0x80
_CLOCK_WARN = 0x20


@gpu_check(
    "gpu.clock-events",
    "No clock slowdown for a hardware reason (thermal, power brake) at idle.",
)
def gpu_clock_events(gpu: GpuHealth) -> CheckResult:
    check, reasons = "gpu.clock-events", gpu.clock_event_reasons
    if (skipped := not_read(check, "clock event reasons", gpu, reasons, Verdict.WARN)) is not None:
        return skipped
    mask = int(value_of(reasons))
    active = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit] or ["none"]
    evidence = f"active: {', '.join(active)} (mask {mask:#x})"
    if mask & _CLOCK_FAIL:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: hardware is slowing the clocks down",
            evidence,
            gpu,
            measured=mask,
            action="drain; check cooling and power delivery (`nvidia-smi -q -d PERFORMANCE,"
            "TEMPERATURE,POWER`); reseat power cables or replace the GPU if it persists",
        )
    if mask & _CLOCK_WARN:
        return make_result(
            check, Verdict.WARN, f"GPU {gpu.index}: thermal slowdown", evidence, gpu, measured=mask
        )
    return make_result(
        check, Verdict.PASS, f"GPU {gpu.index}: no hardware slowdown", evidence, gpu, measured=mask
    )


@gpu_check(
    "gpu.pcie-link",
    "The PCIe link runs at the generation and width the GPU and slot allow.",
)
def gpu_pcie_link(gpu: GpuHealth) -> CheckResult:
    check, link = "gpu.pcie-link", gpu.pcie
    for reading in (link.current_width, link.max_width):
        if (skipped := not_read(check, "PCIe link width", gpu, reading, Verdict.WARN)) is not None:
            return skipped
    width, max_width = int(value_of(link.current_width)), int(value_of(link.max_width))
    evidence = (
        f"width x{width} of x{max_width}; generation {_text(link.current_generation)} now, "
        f"{_text(link.max_generation)} max with this slot, {_text(link.gpu_max_generation)} GPU "
        "max (the current generation drops at idle by design, so it is not judged here)"
    )
    extra: dict[str, Any] = {"measured": width, "expected": max_width, "unit": "lanes", "gpu": gpu}
    if width < max_width:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: PCIe link at x{width} of x{max_width}",
            evidence,
            action="drain; reseat the GPU or riser, or move it to another slot",
            **extra,
        )
    slot, gpu_max = link.max_generation, link.gpu_max_generation
    if isinstance(slot, int) and isinstance(gpu_max, int) and slot < gpu_max:
        return make_result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: slot allows PCIe Gen{slot}, the GPU Gen{gpu_max}",
            evidence,
            action="host-to-GPU copies run at the slot's generation; check BIOS PCIe settings",
            **extra,
        )
    if max_width < 16:
        return make_result(
            check, Verdict.WARN, f"GPU {gpu.index}: the slot gives x{max_width}", evidence, **extra
        )
    return make_result(check, Verdict.PASS, f"GPU {gpu.index}: PCIe x{width}", evidence, **extra)


@gpu_check("gpu.persistence", "Persistence mode is on, so the driver stays loaded between jobs.")
def gpu_persistence(gpu: GpuHealth) -> CheckResult:
    check, mode = "gpu.persistence", gpu.persistence_mode
    if (skipped := not_read(check, "persistence mode", gpu, mode, Verdict.WARN)) is not None:
        return skipped
    if value_of(mode):
        return make_result(check, Verdict.PASS, f"GPU {gpu.index}: persistence mode on", "on", gpu)
    return make_result(
        check,
        Verdict.WARN,
        f"GPU {gpu.index}: persistence mode off",
        "off: the driver tears down between jobs, so each job starts slower",
        gpu,
        action="`sudo systemctl enable --now nvidia-persistenced` (or `sudo nvidia-smi -pm 1`)",
    )


@gpu_check(
    "gpu.mig", "MIG is off (the whole GPU for one job), and does not turn on at the next reset."
)
def gpu_mig(gpu: GpuHealth) -> CheckResult:
    check, mode = "gpu.mig", gpu.mig_mode
    if (skipped := not_read(check, "MIG mode", gpu, mode, Verdict.WARN)) is not None:
        return skipped
    mode = value_of(mode)
    evidence = f"current {_on(mode.current)}, pending {_on(mode.pending)}"
    if mode.current:
        return make_result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: MIG is on",
            evidence + "; TensorFlow sees MIG instances, not the whole GPU",
            gpu,
            action=f"for the whole GPU: `sudo nvidia-smi -i {gpu.index} -mig 0`, then reset it",
        )
    if mode.pending:
        return make_result(
            check, Verdict.WARN, f"GPU {gpu.index}: MIG turns on at the next reset", evidence, gpu
        )
    return make_result(check, Verdict.PASS, f"GPU {gpu.index}: MIG off", evidence, gpu)


_COMPUTE_MODES = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}


@gpu_check(
    "gpu.compute-mode", "The compute mode is Default (Prohibited fails; the exclusive modes warn)."
)
def gpu_compute_mode(gpu: GpuHealth) -> CheckResult:
    check, mode = "gpu.compute-mode", gpu.compute_mode
    if (skipped := not_read(check, "compute mode", gpu, mode, Verdict.WARN)) is not None:
        return skipped
    value = int(value_of(mode))
    name = _COMPUTE_MODES.get(value, str(value))
    fix = f"`sudo nvidia-smi -i {gpu.index} -c DEFAULT`"
    if value == 0:
        return make_result(check, Verdict.PASS, f"GPU {gpu.index}: compute mode Default", name, gpu)
    if value == 2:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: compute is prohibited",
            f"compute mode {name}: no CUDA context can be created",
            gpu,
            action=fix,
        )
    return make_result(
        check,
        Verdict.WARN,
        f"GPU {gpu.index}: compute mode {name}",
        f"compute mode {name}: one process at a time, so multi-process jobs fail",
        gpu,
        action=fix,
    )


@gpu_check("gpu.processes", "No process holds the GPU before a job starts.")
def gpu_processes(gpu: GpuHealth) -> CheckResult:
    check, processes = "gpu.processes", gpu.processes
    if (skipped := not_read(check, "process list", gpu, processes, Verdict.WARN)) is not None:
        return skipped
    processes = value_of(processes)
    if not processes:
        return make_result(check, Verdict.PASS, f"GPU {gpu.index}: idle", "no processes", gpu)
    listed = ", ".join(
        f"pid {proc.pid} ({proc.kind}, "
        + (f"{proc.used_memory_bytes / MIB:.0f} MiB)" if proc.used_memory_bytes else "memory ?)")
        for proc in processes
    )
    return make_result(
        check,
        Verdict.WARN,
        f"GPU {gpu.index}: {len(processes)} other process(es)",
        listed + " (host pids; a container may not see them)",
        gpu,
        measured=len(processes),
        expected=0,
        unit="processes",
        action="stop them or use another node: they share the GPU's memory and time",
    )


@gpu_check(
    "gpu.power-limit",
    "The enforced power limit is at least 95 % of the default (no power-capped instance).",
)
def gpu_power_limit(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, enforced, default = "gpu.power-limit", gpu.power_limit_w, gpu.default_power_limit_w
    for reading in (enforced, default):
        if (skipped := not_read(check, "power limit", gpu, reading, Verdict.WARN)) is not None:
            return skipped
    watts, full = float(value_of(enforced)), float(value_of(default))
    evidence = f"enforced {watts:g} W, default {full:g} W"
    extra: dict[str, Any] = {"measured": watts, "expected": full, "unit": "W", "gpu": gpu}
    if watts < full * limits.power_limit_warn_fraction:
        return make_result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: power capped at {watts:g} W of {full:g} W",
            f"{evidence}; warns below {limits.power_limit_warn_fraction:.0%} of the default",
            action=f"`sudo nvidia-smi -i {gpu.index} -pl {full:g}`, or ask the provider",
            **extra,
        )
    return make_result(
        check, Verdict.PASS, f"GPU {gpu.index}: power limit {watts:g} W", evidence, **extra
    )


@gpu_check("gpu.temperature", "The idle GPU is more than 10 C below its slowdown temperature.")
def gpu_temperature(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, now, slowdown = "gpu.temperature", gpu.temperature_c, gpu.slowdown_temperature_c
    for reading in (now, slowdown):
        if (skipped := not_read(check, "temperature", gpu, reading, Verdict.WARN)) is not None:
            return skipped
    celsius, limit = int(value_of(now)), int(value_of(slowdown))
    extra: dict[str, Any] = {"measured": celsius, "expected": limit, "unit": "C", "gpu": gpu}
    if limit <= 0:
        return make_result(
            check,
            Verdict.SKIP,
            f"GPU {gpu.index}: {celsius} C; no usable slowdown threshold",
            f"the driver reports a slowdown threshold of {limit} C",
            **extra,
        )
    evidence = (
        f"{celsius} C, slowdown at {limit} C; warns within {limits.temperature_margin_warn_c} C"
    )
    if celsius >= limit:
        return make_result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {celsius} C, at its slowdown temperature",
            evidence,
            action="drain; check the node's cooling (fans, airflow, inlet temperature)",
            **extra,
        )
    if celsius >= limit - limits.temperature_margin_warn_c:
        return make_result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: {celsius} C, near its slowdown temperature",
            evidence,
            action="check the node's cooling before long jobs",
            **extra,
        )
    return make_result(check, Verdict.PASS, f"GPU {gpu.index}: {celsius} C", evidence, **extra)


GPU_CHECKS = per_gpu_checks()
"""The checks gpu_checks runs on every readable GPU, in the order declared above."""
