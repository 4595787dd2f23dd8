"""An nvidia-smi dump as the :class:`NodeHealth` the quick tier of ``envkit validate`` judges.

Every quick check then runs unchanged: a reading nvidia-smi shows as N/A, or that the output does
not hold, is NotSupported (the check is skipped and says why); "Unknown Error" is Unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from envkit.inputs.model import SmiDump, SmiGpu
from envkit.inputs.values import (
    NOT_REPORTED,
    SOURCE,
    decimal,
    enabled,
    first_key,
    mib_bytes,
    number,
    plain,
)
from envkit.model import Unavailable
from envkit.model_health import (
    EnabledPair,
    GpuHealth,
    NodeHealth,
    NotSupported,
    PcieLink,
    Reading,
    RemappedRows,
    RetiredPages,
)
from envkit.validate.model import GpuIdentity

_CLOCK_BITS = {
    "gpu_idle": 0x1,
    "applications_clocks_setting": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal_slowdown": 0x20,
    "hw_thermal_slowdown": 0x40,
    "hw_power_brake_slowdown": 0x80,
    "display_clocks_setting": 0x100,
}
_COMPUTE_MODES = {"default": 0, "exclusive_thread": 1, "prohibited": 2, "exclusive_process": 3}
_RECOVERY = {
    "none": 0,
    "gpu reset": 1,
    "reset": 1,
    "node reboot": 2,
    "reboot": 2,
    "drain p2p": 3,
    "drain and reset": 4,
}
_LINK = "pci/pci_gpu_link_info/"
T = TypeVar("T")


def absent(key: str) -> NotSupported:
    return NotSupported(SOURCE, f"not in the input (no {key} in the nvidia-smi output)")


def reading(values: dict[str, str], key: str, convert: Callable[[str], T]) -> Reading[T]:
    if key not in values:
        return absent(key)
    raw = values[key].strip()
    if raw.lower() in NOT_REPORTED:
        return NotSupported(SOURCE, f"nvidia-smi shows {raw!r} for {key}")
    if "error" in raw.lower() or raw.lower() in ("unknown", "[unknown]"):
        return Unavailable("nvml-read-failed", f"nvidia-smi could not read {key}: {raw}")
    try:
        return convert(raw)
    except ValueError:
        return Unavailable("nvml-read-failed", f"nvidia-smi printed {raw!r} for {key}")


def is_value(item: object) -> bool:
    return not isinstance(item, (NotSupported, Unavailable))


def node_health(dump: SmiDump) -> NodeHealth:
    return NodeHealth(
        failure=dump.failure,
        driver_version=dump.driver_version,
        cuda_driver_version=dump.cuda_version,
        gpus=tuple(gpu_health(gpu) for gpu in dump.gpus),
    )


def identity(gpu: SmiGpu) -> GpuIdentity:
    total = reading(gpu.values, "fb_memory_usage/total", mib_bytes)
    return GpuIdentity(
        index=gpu.index,
        name=plain(gpu.values, "product_name"),
        uuid=plain(gpu.values, "uuid"),
        pci_bus_id=plain(gpu.values, "pci/pci_bus_id"),
        memory_total_bytes=total if isinstance(total, int) else None,
    )


def gpu_health(gpu: SmiGpu) -> GpuHealth:
    if gpu.error is not None:
        return GpuHealth.unreadable(gpu.index, identity(gpu), gpu.error)
    values = gpu.values
    return GpuHealth(
        index=gpu.index,
        identity=identity(gpu),
        error=None,
        ecc_mode=_pair(values, "ecc_mode/current_ecc", "ecc_mode/pending_ecc"),
        ecc_uncorrected_volatile=_ecc_count(values, uncorrected=True),
        ecc_corrected_volatile=_ecc_count(values, uncorrected=False),
        retired_pages=_retired(values),
        remapped_rows=_remapped(values),
        recovery_action=_recovery(values),
        clock_event_reasons=_clock_events(values),
        pcie=PcieLink(
            current_generation=reading(values, _LINK + "pcie_gen/current_link_gen", number),
            max_generation=reading(values, _LINK + "pcie_gen/max_link_gen", number),
            gpu_max_generation=reading(values, _LINK + "pcie_gen/max_device_link_gen", number),
            current_width=reading(values, _LINK + "link_widths/current_link_width", number),
            max_width=reading(values, _LINK + "link_widths/max_link_width", number),
        ),
        persistence_mode=reading(values, "persistence_mode", enabled),
        compute_mode=reading(values, "compute_mode", _compute_mode),
        mig_mode=_mig(values),
        processes=gpu.processes if gpu.processes is not None else absent("process list"),
        power_limit_w=reading(
            values,
            first_key(
                values,
                "power_readings/enforced_power_limit",
                "gpu_power_readings/current_power_limit",
            ),
            decimal,
        ),
        default_power_limit_w=reading(
            values,
            first_key(
                values,
                "power_readings/default_power_limit",
                "gpu_power_readings/default_power_limit",
            ),
            decimal,
        ),
        temperature_c=reading(values, "temperature/gpu_temp", number),
        slowdown_temperature_c=reading(values, "temperature/gpu_temp_slow_threshold", number),
    )


def _pair(values: dict[str, str], current_key: str, pending_key: str) -> Reading[EnabledPair]:
    current = reading(values, current_key, enabled)
    pending = reading(values, pending_key, enabled)
    if not isinstance(current, bool):
        return current
    if not isinstance(pending, bool):
        return pending
    return EnabledPair(current, pending)


def _mig(values: dict[str, str]) -> Reading[EnabledPair]:
    if "mig_mode/pending_mig" not in values and "mig_mode/current_mig" in values:
        # The default table shows only the current mode ("MIG M."); nothing is pending there.
        current = reading(values, "mig_mode/current_mig", enabled)
        return EnabledPair(current, current) if isinstance(current, bool) else current
    return _pair(values, "mig_mode/current_mig", "mig_mode/pending_mig")


_UNCORRECTED = (
    "ecc_errors/volatile/dram_uncorrectable",
    "ecc_errors/volatile/sram_uncorrectable",
    "ecc_errors/volatile/sram_uncorrectable_parity",
    "ecc_errors/volatile/sram_uncorrectable_secded",
    "ecc_errors/volatile/double_bit/total",
)
_CORRECTED = (
    "ecc_errors/volatile/dram_correctable",
    "ecc_errors/volatile/sram_correctable",
    "ecc_errors/volatile/single_bit/total",
)


def _ecc_count(values: dict[str, str], *, uncorrected: bool) -> Reading[int]:
    keys = [key for key in (_UNCORRECTED if uncorrected else _CORRECTED) if key in values]
    if not keys and uncorrected and "table/volatile_uncorrected_ecc" in values:
        raw = values["table/volatile_uncorrected_ecc"]
        if raw.isdigit():
            return int(raw)
        keys = ["table/volatile_uncorrected_ecc"] if raw.upper() in ("N/A", "[N/A]") else []
    if not keys:
        return absent("volatile ECC counts")
    total = 0
    for key in keys:
        count = reading(values, key, number)
        if not isinstance(count, int):
            return count
        total += count
    return total


def _retired(values: dict[str, str]) -> Reading[RetiredPages]:
    base = "retired_pages/"
    if "retired_pages" in values:
        return _leaf(values, "retired_pages")
    single = reading(values, base + "multiple_single_bit_retirement/retired_count", number)
    double = reading(values, base + "double_bit_retirement/retired_count", number)
    pending = reading(
        values, first_key(values, base + "pending_retirement", base + "pending_blacklist"), enabled
    )
    for part in (single, double, pending):
        if not is_value(part):
            return part  # type: ignore[return-value]
    return RetiredPages(int(single), int(double), bool(pending))  # type: ignore[arg-type]


def _remapped(values: dict[str, str]) -> Reading[RemappedRows]:
    if "remapped_rows" in values:
        return _leaf(values, "remapped_rows")  # a leaf: "N/A"
    base = "remapped_rows/"
    parts = (
        reading(values, base + "remapped_row_corr", number),
        reading(values, base + "remapped_row_unc", number),
        reading(values, base + "remapped_row_pending", enabled),
        reading(values, base + "remapped_row_failure", enabled),
    )
    for part in parts:
        if not is_value(part):
            return part  # type: ignore[return-value]
    corr, unc, pending, failure = parts
    return RemappedRows(int(corr), int(unc), bool(pending), bool(failure))  # type: ignore[arg-type]


def _leaf(values: dict[str, str], key: str) -> NotSupported | Unavailable:
    """A section nvidia-smi printed as one word ("N/A") instead of its fields."""
    found = reading(values, key, str)
    if isinstance(found, (NotSupported, Unavailable)):
        return found
    return Unavailable("nvml-read-failed", f"nvidia-smi printed {found!r} for {key}")


def _recovery(values: dict[str, str]) -> Reading[int]:
    if "gpu_recovery_action" in values:
        return reading(values, "gpu_recovery_action", _recovery_code)
    reset = reading(values, "gpu_reset_status/reset_required", enabled)
    drain = reading(values, "gpu_reset_status/drain_and_reset_recommended", enabled)
    if not isinstance(reset, bool):
        return reset
    if isinstance(drain, bool) and drain:
        return 4
    return 1 if reset else 0


def _recovery_code(raw: str) -> int:
    code = _RECOVERY.get(raw.strip().lower())
    if code is None:
        raise ValueError(raw)
    return code


def _clock_events(values: dict[str, str]) -> Reading[int]:
    for group in ("clocks_event_reasons", "clocks_throttle_reasons"):
        if group in values:
            return _leaf(values, group)  # a leaf: "N/A"
        prefix = group + "/" + group.replace("_reasons", "_reason") + "_"
        found = {key[len(prefix) :]: raw for key, raw in values.items() if key.startswith(prefix)}
        if found:
            return _mask(values, prefix, found)
    return absent("clock event reasons")


def _mask(values: dict[str, str], prefix: str, found: dict[str, str]) -> Reading[int]:
    mask = 0
    for name, bit in _CLOCK_BITS.items():
        if name not in found:
            continue
        active = reading(values, prefix + name, enabled)
        if isinstance(active, NotSupported):
            continue
        if not isinstance(active, bool):
            return active
        mask |= bit if active else 0
    return mask


def _compute_mode(raw: str) -> int:
    code = _COMPUTE_MODES.get(raw.strip().lower().replace(" ", "_"))
    if code is None:
        raise ValueError(raw)
    return code
