"""What NVML says about a node's health, as ``envkit.probes.nvml_health`` reads it: the GPUs'
identities, their health readings and the telemetry sampled while tests run.

Every reading is a value, :class:`NotSupported` (this GPU or driver does not offer it: the check
is skipped and says why) or :class:`~envkit.model.Unavailable` (it exists but could not be read:
the check does not pass). Nothing here talks to NVML; the probe fills these in.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar, Union

from envkit.model import GpuProcess, Unavailable
from envkit.records import record


@record
class GpuIdentity:
    index: int
    name: str | None
    uuid: str | None
    pci_bus_id: str | None
    memory_total_bytes: int | None


@record
class TelemetrySample:
    """NVML readings taken while the active tests ran."""

    elapsed_s: float
    gpu_index: int
    sm_clock_mhz: int | None
    memory_clock_mhz: int | None
    temperature_c: int | None
    power_w: float | None
    clock_event_reasons: int | None
    """NVML clock event (throttle) reason bitmask."""


@record
class NotSupported:
    """The GPU or driver does not offer this reading (NVML: Not Supported, Function Not Found)."""

    function: str
    """The NVML call that said so, e.g. nvmlDeviceGetRemappedRows."""
    reason: str


T = TypeVar("T")
Reading = Union[T, NotSupported, Unavailable]  # noqa: UP007 -- a generic alias needs Union on 3.10
"""A value, or why there is none."""


@record
class EnabledPair:
    """A mode NVML reports as current and pending (after the next reboot or reset)."""

    current: bool
    pending: bool


@record
class RetiredPages:
    """Page retirement (Kepler to Turing): pages retired for ECC errors and whether one waits."""

    single_bit: int
    """Pages retired for multiple single-bit errors."""
    double_bit: int
    """Pages retired for a double-bit error."""
    pending: bool
    """A page waits for retirement; it happens at the next reboot or GPU reset."""

    @property
    def total(self) -> int:
        return self.single_bit + self.double_bit


@record
class RemappedRows:
    """Row remapping (Ampere and later HBM GPUs), as nvmlDeviceGetRemappedRows gives it."""

    correctable: int
    uncorrectable: int
    pending: bool
    """A remap waits for the next GPU reset."""
    failure: bool
    """A remap failed: the GPU has run out of spare rows."""


@record
class PcieLink:
    current_generation: Reading[int]
    max_generation: Reading[int]
    """The most the GPU and this system's slot together allow."""
    gpu_max_generation: Reading[int]
    """The most the GPU itself allows."""
    current_width: Reading[int]
    max_width: Reading[int]
    """The most the GPU and this system's slot together allow."""


@record
class GpuHealth:
    index: int
    identity: GpuIdentity
    error: Unavailable | None
    """Set when the GPU could not be read at all (fallen off the bus, needs a reset): every
    reading below is then that same Unavailable."""
    ecc_mode: Reading[EnabledPair]
    ecc_uncorrected_volatile: Reading[int]
    """Uncorrected ECC errors since the driver last loaded (all memory locations)."""
    ecc_corrected_volatile: Reading[int]
    retired_pages: Reading[RetiredPages]
    remapped_rows: Reading[RemappedRows]
    recovery_action: Reading[int]
    """nvmlGpuRecoveryAction_t: 0 none, 1 GPU reset, 2 node reboot, 3 drain P2P, 4 drain and reset
    (derived from the older reset-status fields on drivers without field 230)."""
    clock_event_reasons: Reading[int]
    """Bitmask of nvmlClocksEventReason* (formerly ThrottleReasons)."""
    pcie: PcieLink
    persistence_mode: Reading[bool]
    compute_mode: Reading[int]
    """NVML_COMPUTEMODE_*: 0 default, 1 exclusive thread, 2 prohibited, 3 exclusive process."""
    mig_mode: Reading[EnabledPair]
    processes: Reading[tuple[GpuProcess, ...]]
    power_limit_w: Reading[float]
    """Enforced power limit."""
    default_power_limit_w: Reading[float]
    temperature_c: Reading[int]
    slowdown_temperature_c: Reading[int]
    """Where the GPU starts to slow itself down (NVML_TEMPERATURE_THRESHOLD_SLOWDOWN)."""

    @property
    def lost(self) -> bool:
        return self.error is not None

    @classmethod
    def unreadable(cls, index: int, identity: GpuIdentity, error: Unavailable) -> GpuHealth:
        """A GPU NVML lists but cannot read: every reading is ``error``."""
        readings: dict[str, object] = {
            field.name: error for field in fields(cls) if field.name not in _NOT_READINGS
        }
        readings["pcie"] = PcieLink(error, error, error, error, error)
        return cls(index=index, identity=identity, error=error, **readings)  # type: ignore[arg-type]


_NOT_READINGS = frozenset({"index", "identity", "error"})


@record
class NodeHealth:
    failure: Unavailable | None
    """Why NVML could not start or list the GPUs; None when it did."""
    driver_version: str | None
    cuda_driver_version: str | None
    gpus: tuple[GpuHealth, ...] = ()

    @property
    def identities(self) -> tuple[GpuIdentity, ...]:
        return tuple(gpu.identity for gpu in self.gpus)


__all__ = [
    "EnabledPair",
    "GpuHealth",
    "GpuIdentity",
    "NodeHealth",
    "NotSupported",
    "PcieLink",
    "Reading",
    "RemappedRows",
    "RetiredPages",
    "TelemetrySample",
]
