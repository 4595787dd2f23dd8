"""A node's health through NVML (envkit validate), and telemetry sampled while tests run.

The readings are envkit.model_health's types; NVML itself is reached through
envkit.probes.nvml's Session, the one way into the bindings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from envkit.model import GpuProcess, Unavailable
from envkit.model_health import (
    EnabledPair,
    GpuHealth,
    GpuIdentity,
    NodeHealth,
    NotSupported,
    PcieLink,
    RemappedRows,
    RetiredPages,
    TelemetrySample,
)
from envkit.probes.nvml import Session

SAMPLE_INTERVAL_S = 1.0

# --- health (envkit validate --quick) ---------------------------------------------------------

# Field ids of nvmlDeviceGetFieldValues, as literals: older nvidia-ml-py lacks the constants.
FIELD_GPU_RECOVERY_ACTION = 230  # NVML_FI_DEV_GET_GPU_RECOVERY_ACTION (R570+)
FIELD_RESET_STATUS = 226  # NVML_FI_DEV_RESET_STATUS, deprecated in favour of 230
FIELD_DRAIN_AND_RESET_STATUS = 227  # NVML_FI_DEV_DRAIN_AND_RESET_STATUS, deprecated too
_RECOVERY_FIELDS = [FIELD_GPU_RECOVERY_ACTION, FIELD_RESET_STATUS, FIELD_DRAIN_AND_RESET_STATUS]
_RECOVERY_GPU_RESET = 1  # NVML_GPU_RECOVERY_ACTION_GPU_RESET
_RECOVERY_DRAIN_AND_RESET = 4  # NVML_GPU_RECOVERY_ACTION_DRAIN_AND_RESET

# Per-field answers that mean "this driver does not know the field".
_FIELD_UNKNOWN_RETURNS = frozenset(
    {2, 3, 13}
)  # INVALID_ARGUMENT, NOT_SUPPORTED, FUNCTION_NOT_FOUND

# nvmlValue_t member per nvmlValueType_t.
_VALUE_MEMBERS = {
    0: "dVal",
    1: "uiVal",
    2: "ulVal",
    3: "ullVal",
    4: "sllVal",
    5: "siVal",
    6: "usVal",
}

_CLOCK_REASON_FUNCTIONS = (
    "nvmlDeviceGetCurrentClocksEventReasons",  # R535+
    "nvmlDeviceGetCurrentClocksThrottleReasons",  # its older, deprecated name
)


class _GpuUnreadable(Exception):
    """This GPU answers nothing more (fallen off the bus, needs a reset)."""

    def __init__(self, error: Unavailable) -> None:
        super().__init__(error.reason)
        self.error = error


class NvmlSession(Session):
    """NVML started once, for any number of health reads and telemetry samples.

    ::

        with NvmlSession() as session:
            if session.failure is None:
                health = session.health()
                samples = session.sample(elapsed_s=1.5)

    Entering never raises for NVML's sake: ``failure`` says why NVML did not start (no library,
    driver not loaded, version mismatch), and then ``health()`` reports that failure and
    ``sample()`` returns nothing. Leaving shuts NVML down if it started.
    """

    def __init__(self, nvml: ModuleType | None = None) -> None:
        super().__init__(nvml)
        self._handles: dict[int, object | None] = {}
        self._count: int | None = None
        self._reason_functions = list(_CLOCK_REASON_FUNCTIONS)

    def health(self) -> NodeHealth:
        """Every GPU's health readings; one GPU that cannot be read never hides the others."""

        if self.nvml is None:
            failure = self.failure or Unavailable("nvml-not-started", "NVML was not started.")
            return NodeHealth(failure, None, None, ())
        nvml = self.nvml
        try:
            count = self.gpu_count()
            driver, cuda = Session.driver_versions(nvml)
        except nvml.NVMLError as error:
            return NodeHealth(_query_failure(error), None, None, ())
        gpus = tuple(_gpu_health(nvml, index, driver) for index in range(count))
        return NodeHealth(None, driver, cuda, gpus)

    def gpu_count(self) -> int:
        """How many GPUs NVML lists (raises NVMLError if it cannot say)."""
        if self.nvml is None:
            return 0
        if self._count is None:
            self._count = int(self.nvml.nvmlDeviceGetCount())
        return self._count

    def sample(
        self, elapsed_s: float, indices: Sequence[int] | None = None
    ) -> tuple[TelemetrySample, ...]:
        """Clocks, temperature, power and clock event reasons of each GPU, now.

        Cheap enough to call every second during a test: handles are kept, and a function the
        driver lacks is tried once. A reading that fails is None; this never raises NVMLError.
        """
        if self.nvml is None:
            return ()
        if indices is None:
            try:
                indices = range(self.gpu_count())
            except self.nvml.NVMLError:
                return ()
        return tuple(self._sample_gpu(index, elapsed_s) for index in indices)

    def _sample_gpu(self, index: int, elapsed_s: float) -> TelemetrySample:

        nvml = self.nvml
        handle = self._handle(index)
        if nvml is None or handle is None:
            return TelemetrySample(elapsed_s, index, None, None, None, None, None)
        power_mw = _quiet(nvml, "nvmlDeviceGetPowerUsage", handle)
        return TelemetrySample(
            elapsed_s=elapsed_s,
            gpu_index=index,
            sm_clock_mhz=_quiet(nvml, "nvmlDeviceGetClockInfo", handle, nvml.NVML_CLOCK_SM),
            memory_clock_mhz=_quiet(nvml, "nvmlDeviceGetClockInfo", handle, nvml.NVML_CLOCK_MEM),
            temperature_c=_quiet(
                nvml, "nvmlDeviceGetTemperature", handle, nvml.NVML_TEMPERATURE_GPU
            ),
            power_w=power_mw / 1000 if power_mw is not None else None,
            clock_event_reasons=self._clock_reasons(handle),
        )

    def _handle(self, index: int) -> object | None:
        if index not in self._handles and self.nvml is not None:
            self._handles[index] = _quiet(self.nvml, "nvmlDeviceGetHandleByIndex", index)
        return self._handles.get(index)

    def _clock_reasons(self, handle: object) -> int | None:
        nvml = self.nvml
        while nvml is not None and self._reason_functions:
            try:
                return int(getattr(nvml, self._reason_functions[0])(handle))
            except nvml.NVMLError as error:
                if error.value != nvml.NVML_ERROR_FUNCTION_NOT_FOUND:
                    return None
            except (AttributeError, nvml.NVMLLibraryMismatchError):
                pass
            self._reason_functions.pop(0)  # this driver or binding lacks it: do not ask again
        return None


def probe_health(nvml: ModuleType | None = None) -> NodeHealth:
    """NVML's view of every GPU's health, for ``envkit validate --quick``."""
    with NvmlSession(nvml) as session:
        return session.health()


def _query_failure(error: Any) -> Unavailable:
    return Unavailable(
        "nvml-query-failed",
        f"NVML started but could not list the GPUs ({error}); run nvidia-smi to see the "
        "driver's own message and check the kernel log for Xid errors.",
    )


def _quiet(nvml: ModuleType, function: str, *args: object) -> Any:
    """For telemetry: the answer, or None for any NVML error."""
    try:
        return getattr(nvml, function)(*args)
    except (nvml.NVMLError, nvml.NVMLLibraryMismatchError, AttributeError):
        return None


class _Reader:
    """Reads one GPU's fields, turning each NVML error into NotSupported or Unavailable."""

    def __init__(self, nvml: ModuleType, driver: str, index: int) -> None:
        self.nvml = nvml
        self.driver = driver
        self.index = index
        self.missing: set[str] = set()
        """Functions this driver or binding lacks (tried, then an older name is tried)."""

    def get(self, function: str, *args: object) -> Any:
        nvml = self.nvml
        try:
            return getattr(nvml, function)(*args)
        except nvml.NVMLError as error:
            return self._classify(function, error)
        except nvml.NVMLLibraryMismatchError as error:
            self.missing.add(function)
            return self.not_supported(
                function,
                f"nvidia-ml-py's {function} needs a newer driver "
                f"library than {self.driver} ({error})",
            )
        except AttributeError:
            self.missing.add(function)
            return self.not_supported(function, f"this nvidia-ml-py has no {function}; upgrade it")

    def first(self, functions: Sequence[str], *args: object) -> Any:
        """The first of several names of one call that this driver has."""
        answer: Any = None
        for function in functions:
            answer = self.get(function, *args)
            if function not in self.missing:
                return answer
        return answer

    def _classify(self, function: str, error: Any) -> Any:
        nvml, code = self.nvml, error.value
        if code in {nvml.NVML_ERROR_GPU_IS_LOST, nvml.NVML_ERROR_RESET_REQUIRED}:
            raise _GpuUnreadable(_fatal_gpu_error(nvml, self.index, error))
        if code == nvml.NVML_ERROR_NOT_SUPPORTED:
            return self.not_supported(function, f"this GPU or driver does not support {function}")
        if code == nvml.NVML_ERROR_FUNCTION_NOT_FOUND:
            self.missing.add(function)
            return self.not_supported(
                function, f"driver {self.driver} has no {function}; a newer driver has it"
            )
        if code == nvml.NVML_ERROR_NO_PERMISSION:
            return Unavailable(
                "nvml-no-permission",
                f"NVML refused {function} on GPU {self.index} (no permission); run as root.",
            )
        return Unavailable(
            "nvml-read-failed",
            f"{function} failed on GPU {self.index} (NVML error {code}: {error}); run "
            "nvidia-smi -q to see the driver's view.",
        )

    @staticmethod
    def not_supported(function: str, reason: str) -> Any:

        return NotSupported(function, reason)


def _fatal_gpu_error(nvml: ModuleType, index: int, error: Any) -> Unavailable:
    if error.value == nvml.NVML_ERROR_RESET_REQUIRED:
        return Unavailable(
            "nvml-gpu-reset-required",
            f"GPU {index} needs a reset before NVML can read it ({error}); drain the node, then "
            f"run 'nvidia-smi -r -i {index}' or reboot.",
        )
    return Session.gpu_error(nvml, index, error)


def _is_value(reading: Any) -> bool:

    return not isinstance(reading, (NotSupported, Unavailable))


def _convert(reading: Any, convert: Callable[[Any], Any]) -> Any:
    """``convert(reading)`` for a value; NotSupported and Unavailable pass through."""
    return convert(reading) if _is_value(reading) else reading


def _gpu_health(nvml: ModuleType, index: int, driver: str) -> GpuHealth:

    reader = _Reader(nvml, driver, index)
    identity = GpuIdentity(index, None, None, None, None)
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except nvml.NVMLError as error:
        return GpuHealth.unreadable(index, identity, _fatal_gpu_error(nvml, index, error))
    try:
        identity = _identity(reader, handle)
        return _read_health(reader, handle, identity)
    except _GpuUnreadable as unreadable:
        return GpuHealth.unreadable(index, identity, unreadable.error)


def _identity(reader: _Reader, handle: object) -> GpuIdentity:

    def value(reading: Any) -> Any:
        return reading if _is_value(reading) else None

    pci = value(reader.get("nvmlDeviceGetPciInfo", handle))
    memory = value(reader.get("nvmlDeviceGetMemoryInfo", handle))
    return GpuIdentity(
        index=reader.index,
        name=Session.text(value(reader.get("nvmlDeviceGetName", handle))),
        uuid=Session.text(value(reader.get("nvmlDeviceGetUUID", handle))),
        pci_bus_id=Session.text(pci.busId) if pci is not None else None,
        memory_total_bytes=int(memory.total) if memory is not None else None,
    )


def _read_health(reader: _Reader, handle: object, identity: GpuIdentity) -> GpuHealth:
    """Each reading names its ``nvidia-smi -q`` section in the comment beside it."""

    nvml, get = reader.nvml, reader.get
    memory_errors = nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nvml.NVML_MEMORY_ERROR_TYPE_CORRECTED
    uncorrected, corrected = (
        get("nvmlDeviceGetTotalEccErrors", handle, kind, nvml.NVML_VOLATILE_ECC)  # ECC Errors
        for kind in memory_errors
    )
    return GpuHealth(
        index=reader.index,
        identity=identity,
        error=None,
        ecc_mode=_enabled_pair(nvml, get("nvmlDeviceGetEccMode", handle)),  # ECC Mode
        ecc_uncorrected_volatile=uncorrected,
        ecc_corrected_volatile=corrected,
        retired_pages=_retired_pages(reader, handle),  # Retired Pages
        remapped_rows=_remapped_rows(get("nvmlDeviceGetRemappedRows", handle)),  # Remapped Rows
        recovery_action=_recovery_action(reader, handle),  # GPU Recovery Action / Reset Status
        clock_event_reasons=reader.first(_CLOCK_REASON_FUNCTIONS, handle),  # Clocks Event Reasons
        pcie=_pcie(reader, handle),  # PCI > GPU Link Info
        persistence_mode=_convert(  # Persistence Mode
            get("nvmlDeviceGetPersistenceMode", handle), lambda v: v == nvml.NVML_FEATURE_ENABLED
        ),
        compute_mode=get("nvmlDeviceGetComputeMode", handle),  # Compute Mode
        mig_mode=_mig_mode(nvml, get("nvmlDeviceGetMigMode", handle)),  # MIG Mode
        processes=_processes_reading(reader, handle),  # Processes
        power_limit_w=_convert(get("nvmlDeviceGetEnforcedPowerLimit", handle), _watts),
        default_power_limit_w=_convert(  # GPU Power Readings > Default Power Limit
            get("nvmlDeviceGetPowerManagementDefaultLimit", handle), _watts
        ),
        temperature_c=get("nvmlDeviceGetTemperature", handle, nvml.NVML_TEMPERATURE_GPU),
        slowdown_temperature_c=get(
            "nvmlDeviceGetTemperatureThreshold", handle, nvml.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN
        ),
    )


def _watts(milliwatts: int) -> float:
    return milliwatts / 1000


def _enabled_pair(nvml: ModuleType, reading: Any) -> Any:

    enabled = nvml.NVML_FEATURE_ENABLED
    return _convert(reading, lambda pair: EnabledPair(pair[0] == enabled, pair[1] == enabled))


def _mig_mode(nvml: ModuleType, reading: Any) -> Any:

    enabled = nvml.NVML_DEVICE_MIG_ENABLE
    return _convert(reading, lambda pair: EnabledPair(pair[0] == enabled, pair[1] == enabled))


def _retired_pages(reader: _Reader, handle: object) -> Any:

    pending = reader.get("nvmlDeviceGetRetiredPagesPendingStatus", handle)
    if not _is_value(pending):
        return pending  # Ampere and later HBM GPUs remap rows instead: Not Supported
    causes = (
        reader.nvml.NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS,
        reader.nvml.NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR,
    )
    single, double = (reader.get("nvmlDeviceGetRetiredPages", handle, cause) for cause in causes)
    for pages in (single, double):
        if not _is_value(pages):
            return pages
    return RetiredPages(single_bit=len(single), double_bit=len(double), pending=bool(pending))


def _remapped_rows(reading: Any) -> Any:

    return _convert(
        reading,
        lambda rows: RemappedRows(int(rows[0]), int(rows[1]), bool(rows[2]), bool(rows[3])),
    )


def _recovery_action(reader: _Reader, handle: object) -> Any:
    """Field 230 where the driver has it, else what the older reset-status fields 226/227 say."""
    values = reader.get("nvmlDeviceGetFieldValues", handle, list(_RECOVERY_FIELDS))
    if not _is_value(values):
        return values
    action, reset, drain = (_field_int(value) for value in values)
    if action is not None:
        return action
    if drain is not None or reset is not None:
        if drain:
            return _RECOVERY_DRAIN_AND_RESET
        return _RECOVERY_GPU_RESET if reset else 0
    returns = ", ".join(f"field {value.fieldId} -> {value.nvmlReturn}" for value in values)
    if all(value.nvmlReturn in _FIELD_UNKNOWN_RETURNS for value in values):
        return reader.not_supported(
            "nvmlDeviceGetFieldValues",
            f"driver {reader.driver} reports neither the GPU recovery action (field 230) nor the "
            f"older reset status (fields 226, 227) ({returns})",
        )
    return Unavailable(
        "nvml-read-failed",
        f"NVML could not read GPU {reader.index}'s recovery action ({returns}); run "
        "nvidia-smi -q and look for GPU Recovery Action or GPU Reset Status.",
    )


def _field_int(value: Any) -> int | None:
    """One nvmlFieldValue_t as an integer; None when the driver did not answer that field."""
    if value.nvmlReturn != 0:
        return None
    member = _VALUE_MEMBERS.get(value.valueType, "ullVal")
    return int(getattr(value.value, member))


def _pcie(reader: _Reader, handle: object) -> PcieLink:

    get = reader.get
    return PcieLink(
        current_generation=get("nvmlDeviceGetCurrPcieLinkGeneration", handle),
        max_generation=get("nvmlDeviceGetMaxPcieLinkGeneration", handle),
        gpu_max_generation=get("nvmlDeviceGetGpuMaxPcieLinkGeneration", handle),
        current_width=get("nvmlDeviceGetCurrPcieLinkWidth", handle),
        max_width=get("nvmlDeviceGetMaxPcieLinkWidth", handle),
    )


def _processes_reading(reader: _Reader, handle: object) -> Any:
    found: list[GpuProcess] = []
    for kind in ("compute", "graphics"):
        function = f"nvmlDeviceGet{kind.title()}RunningProcesses"
        # The unversioned call needs the _v3 symbol (R510+); older drivers may have _v2.
        running = reader.first((function, f"{function}_v2"), handle)
        if not _is_value(running):
            return running
        found.extend(
            GpuProcess(pid=proc.pid, used_memory_bytes=proc.usedGpuMemory, kind=kind)
            for proc in running
        )
    return tuple(found)


__all__ = [
    "FIELD_DRAIN_AND_RESET_STATUS",
    "FIELD_GPU_RECOVERY_ACTION",
    "FIELD_RESET_STATUS",
    "NvmlSession",
    "probe_health",
]


class NvmlSampler:
    """Samples clocks, temperatures, power and clock event reasons once a second, in a thread."""

    def __init__(self, session: NvmlSession, indices: Sequence[int]) -> None:
        self._session = session
        self._indices = tuple(indices)
        self._samples: list[TelemetrySample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="envkit-nvml-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> Sequence[TelemetrySample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return tuple(self._samples)

    def _loop(self) -> None:
        while not self._stop.is_set():
            elapsed_s = round(time.monotonic() - self._started, 3)
            self._samples.extend(self._session.sample(elapsed_s, self._indices))
            self._stop.wait(SAMPLE_INTERVAL_S)
