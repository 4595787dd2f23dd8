"""NVML, read through NVIDIA's own bindings (``nvidia-ml-py``, module ``pynvml``).

This is the only module in envkit that imports pynvml, and it does so inside functions: importing
envkit never loads the driver library. :func:`probe` takes the module as a parameter so tests can
pass ``ReplayNvml`` (tests/nvml_replay.py), and :class:`RecordingNvml` / :func:`record` capture
what a real machine answered, for those tests to replay.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import platform
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from envkit import __version__
from envkit.model import GpuInfo, GpuProcess, NvmlInfo, Unavailable

if TYPE_CHECKING:
    from envkit.validate.health import GpuHealth, NodeHealth, PcieLink
    from envkit.validate.model import GpuIdentity, TelemetrySample

# nvmlInit failures that have one well-known cause, keyed by pynvml's constant name.
_INIT_FAILURES: dict[str, tuple[str, str]] = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": (
        "nvml-library-not-found",
        "libnvidia-ml.so.1 was not found, so no NVIDIA driver is installed for this system; "
        "install the NVIDIA driver, or add the folder that holds libnvidia-ml.so.1 to "
        "LD_LIBRARY_PATH inside a container.",
    ),
    "NVML_ERROR_DRIVER_NOT_LOADED": (
        "nvml-driver-not-loaded",
        "The NVML library is installed but the NVIDIA kernel module is not loaded; load it "
        "with 'sudo modprobe nvidia', and if that fails reinstall the driver for the running "
        "kernel (and enroll its key or disable Secure Boot) and reboot.",
    ),
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": (
        "nvml-version-mismatch",
        "The NVML library and the loaded NVIDIA kernel module are different versions, usually "
        "because the driver was upgraded without a restart; reboot so the loaded kernel module "
        "matches the library.",
    ),
    "NVML_ERROR_NO_PERMISSION": (
        "nvml-no-permission",
        "NVML was denied access to the GPU device files; run as a user allowed to open "
        "/dev/nvidia* (or, in a container, start it with the GPUs passed through).",
    ),
}

# Errors that mean "this GPU or driver does not offer the field": the field becomes None.
_FIELD_ABSENT = (
    "NVML_ERROR_NOT_SUPPORTED",
    "NVML_ERROR_FUNCTION_NOT_FOUND",
    "NVML_ERROR_NO_PERMISSION",
)


def probe(nvml: ModuleType | None = None) -> NvmlInfo | Unavailable:
    """Driver, CUDA driver API version and every GPU, as ``nvidia-smi -q`` shows them."""
    module = nvml if nvml is not None else _pynvml()
    try:
        module.nvmlInit()
    except module.NVMLError as error:
        return _init_failure(module, error)
    try:
        return _read(module)
    except module.NVMLError as error:
        return Unavailable(
            "nvml-query-failed",
            f"NVML started but could not list the GPUs ({error}); run nvidia-smi to see the "
            "driver's own message and check the kernel log for Xid errors.",
        )
    finally:
        with contextlib.suppress(module.NVMLError):
            module.nvmlShutdown()


def _pynvml() -> ModuleType:
    import pynvml  # lazy by design: importing envkit must never load the driver library

    module: ModuleType = pynvml
    return module


def _init_failure(nvml: ModuleType, error: Any) -> Unavailable:
    for name, (code, reason) in _INIT_FAILURES.items():
        if error.value == getattr(nvml, name):
            return Unavailable(code, reason)
    return Unavailable(
        "nvml-init-failed",
        f"NVML failed to start (error {error.value}: {error}); run nvidia-smi to see the "
        "driver's own message.",
    )


def _read(nvml: ModuleType) -> NvmlInfo:
    """``nvidia-smi --query-gpu=driver_version`` plus the header's CUDA Version."""
    count = nvml.nvmlDeviceGetCount()
    return NvmlInfo(
        driver_version=_text(nvml.nvmlSystemGetDriverVersion()) or "",
        cuda_driver_version=_cuda_driver_version(nvml),
        nvml_version=_text(_optional(nvml, "nvmlSystemGetNVMLVersion")),
        gpus=tuple(_gpu(nvml, index) for index in range(count)),
    )


def _cuda_driver_version(nvml: ModuleType) -> str | None:
    # _v2 exists on newer drivers only; older ones raise FunctionNotFound and have the v1 call.
    version = _first(nvml, ("nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"))
    return format_cuda_version(version) if version is not None else None


def format_cuda_version(version: int) -> str:
    """CUDA's integer encoding (1000 * major + 10 * minor) as text: 12040 -> "12.4"."""
    return f"{version // 1000}.{version % 1000 // 10}"


def _gpu(nvml: ModuleType, index: int) -> GpuInfo:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        return _read_gpu(nvml, index, handle)
    except nvml.NVMLError as error:
        return GpuInfo(index=index, error=_gpu_error(nvml, index, error))


def _gpu_error(nvml: ModuleType, index: int, error: Any) -> Unavailable:
    if error.value == nvml.NVML_ERROR_GPU_IS_LOST:
        reason = (
            f"GPU {index} has fallen off the bus (NVML: {error}); check the kernel log for "
            "Xid 79, then reset the GPU or reboot the machine."
        )
    else:
        reason = (
            f"GPU {index} could not be read (NVML error {error.value}: {error}); check the "
            "kernel log for Xid errors and run nvidia-smi to see the driver's view."
        )
    return Unavailable("nvml-gpu-lost", reason)


def _read_gpu(nvml: ModuleType, index: int, handle: object) -> GpuInfo:
    """One GPU; each field names its ``nvidia-smi --query-gpu=`` key in the comment beside it."""
    memory = _optional(nvml, "nvmlDeviceGetMemoryInfo", handle)  # memory.total, memory.used
    pci = _optional(nvml, "nvmlDeviceGetPciInfo", handle)  # pci.bus_id
    capability = _optional(nvml, "nvmlDeviceGetCudaComputeCapability", handle)  # compute_cap
    persistence = _optional(nvml, "nvmlDeviceGetPersistenceMode", handle)  # persistence_mode
    mig = _optional(nvml, "nvmlDeviceGetMigMode", handle)  # mig.mode.current, mig.mode.pending
    power_mw = _optional(nvml, "nvmlDeviceGetEnforcedPowerLimit", handle)  # enforced.power.limit
    return GpuInfo(
        index=index,
        name=_text(_optional(nvml, "nvmlDeviceGetName", handle)),  # name
        uuid=_text(_optional(nvml, "nvmlDeviceGetUUID", handle)),  # uuid
        pci_bus_id=_text(pci.busId) if pci is not None else None,
        memory_total_bytes=memory.total if memory is not None else None,
        memory_used_bytes=memory.used if memory is not None else None,
        compute_capability=f"{capability[0]}.{capability[1]}" if capability else None,
        persistence_mode=_is(persistence, nvml.NVML_FEATURE_ENABLED),
        mig_mode_current=_is(mig[0] if mig else None, nvml.NVML_DEVICE_MIG_ENABLE),
        mig_mode_pending=_is(mig[1] if mig else None, nvml.NVML_DEVICE_MIG_ENABLE),
        power_limit_watts=power_mw / 1000 if power_mw is not None else None,
        temperature_c=_optional(  # temperature.gpu
            nvml, "nvmlDeviceGetTemperature", handle, nvml.NVML_TEMPERATURE_GPU
        ),
        processes=_processes(nvml, handle),  # nvidia-smi --query-compute-apps=pid,used_memory
    )


def _processes(nvml: ModuleType, handle: object) -> tuple[GpuProcess, ...]:
    found: list[GpuProcess] = []
    for kind in ("compute", "graphics"):
        function = f"nvmlDeviceGet{kind.title()}RunningProcesses"
        # The unversioned call needs the _v3 symbol (R510+); older drivers may have _v2.
        running = _first(nvml, (function, f"{function}_v2"), handle)
        found.extend(
            GpuProcess(pid=proc.pid, used_memory_bytes=proc.usedGpuMemory, kind=kind)
            for proc in running or ()
        )
    return tuple(found)


def _first(nvml: ModuleType, functions: tuple[str, ...], *args: object) -> Any:
    """The answer of the first of several versions of a call that this driver can give."""
    for function in functions:
        value = _optional(nvml, function, *args)
        if value is not None:
            return value
    return None


def _optional(nvml: ModuleType, function: str, *args: object) -> Any:
    """Call an NVML function; None when this GPU, driver or user cannot read that field."""
    try:
        return getattr(nvml, function)(*args)
    except nvml.NVMLError as error:
        if error.value in {getattr(nvml, name) for name in _FIELD_ABSENT}:
            return None
        raise
    except nvml.NVMLLibraryMismatchError:
        # pynvml's unversioned wrappers raise this when the driver lacks the versioned symbol.
        return None


def _is(value: int | None, enabled: int) -> bool | None:
    return None if value is None else value == enabled


def _text(value: str | bytes | None) -> str | None:
    # nvidia-ml-py decodes most strings, but not char arrays inside structs, and old releases
    # returned bytes everywhere.
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class RecordingNvml(ModuleType):
    """Wraps a pynvml-like module and logs each ``nvml*`` call: name, arguments, result or error.

    Device handles are written as ``{"handle": index}``, ctypes structs as their ``_fields_``,
    bytes with a type tag, so that tests/nvml_replay.py can answer the same calls later.
    """

    def __init__(self, module: ModuleType) -> None:
        super().__init__(f"recording:{module.__name__}")
        self.wrapped = module
        self.calls: list[dict[str, Any]] = []
        self._handles: list[tuple[object, int]] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.wrapped, name)
        if not (name.startswith("nvml") and callable(attribute)):
            return attribute
        return self._logged(name, attribute)

    def _logged(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: object) -> Any:
            entry: dict[str, Any] = {"fn": name, "args": [self._encode(a) for a in args]}
            self.calls.append(entry)
            try:
                result = function(*args)
            except Exception as error:
                entry.update(self._encode_error(error))
                raise
            if name == "nvmlDeviceGetHandleByIndex":
                self._handles.append((result, int(args[0])))  # type: ignore[call-overload]
            entry["result"] = self._encode(result)
            return result

        return call

    def _encode_error(self, error: Exception) -> dict[str, Any]:
        if isinstance(error, self.wrapped.NVMLError):
            return {"error": error.value}
        if getattr(self.wrapped, type(error).__name__, None) is type(error):
            return {"raised": type(error).__name__, "message": str(error)}
        return {"raised_unrecordable": repr(error)}

    def _encode(self, value: Any) -> Any:
        for handle, index in self._handles:
            if value is handle:
                return {"handle": index}
        if isinstance(value, bytes):
            return {"bytes": value.decode("latin-1")}  # latin-1 maps every byte, so it round-trips
        if isinstance(value, ctypes.Structure):
            fields = {f[0]: self._encode(getattr(value, f[0])) for f in value._fields_}
            return {"struct": type(value).__name__, "fields": fields}
        if isinstance(value, ctypes.Union):
            # Every member shares the same bytes: the first integer that spans them all is enough
            # (c_nvmlValue_t inside the field values of nvmlDeviceGetFieldValues).
            member = _widest_integer_member(value)
            return {"struct": type(value).__name__, "fields": {member: getattr(value, member)}}
        if isinstance(value, (list, tuple, ctypes.Array)):
            return [self._encode(item) for item in value]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        # pynvml's nvmlFriendlyObject (process lists): a plain object with attributes.
        fields = {key: self._encode(item) for key, item in vars(value).items()}
        return {"object": type(value).__name__, "fields": fields}


def _widest_integer_member(union: ctypes.Union) -> str:
    size = ctypes.sizeof(union)
    for member in union._fields_:
        name, kind = member[0], member[1]
        if ctypes.sizeof(kind) == size and getattr(kind, "_type_", "") in _INTEGER_CODES:
            return str(name)
    raise TypeError(f"{type(union).__name__} has no integer member as wide as itself")


_INTEGER_CODES = frozenset("bBhHiIlLqQ")


def record(
    path: Path | None = None,
    *,
    nvml: ModuleType | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Run :func:`probe` through a :class:`RecordingNvml`; write the recording as JSON to path."""
    recorder = RecordingNvml(nvml if nvml is not None else _pynvml())
    result = probe(recorder)
    recording = {"meta": _provenance(result, note), "calls": recorder.calls}
    if path is not None:
        path.write_text(json.dumps(recording, indent=1) + "\n", encoding="utf-8")
    return recording


def _provenance(result: NvmlInfo | Unavailable, note: str | None) -> dict[str, Any]:
    info = result if isinstance(result, NvmlInfo) else None
    return {
        "synthetic": False,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": "REDACTED",
        "gpus": [gpu.name for gpu in info.gpus] if info else [],
        "driver_version": info.driver_version if info else None,
        "probe_result": result.code if isinstance(result, Unavailable) else "NvmlInfo",
        "nvidia_ml_py_version": _distribution_version("nvidia-ml-py"),
        "envkit_version": __version__,
        "python_version": platform.python_version(),
        "note": note,
    }


def _distribution_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- health (envkit validate --quick) ---------------------------------------------------------
#
# The health types live in envkit.validate; they are imported inside the functions so that
# importing this module never imports envkit.validate (whose __init__ may import this module).

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


class NvmlSession:
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
        self._module = nvml
        self.nvml: ModuleType | None = None
        self.failure: Unavailable | None = None
        self._handles: dict[int, object | None] = {}
        self._count: int | None = None
        self._reason_functions = list(_CLOCK_REASON_FUNCTIONS)

    def __enter__(self) -> NvmlSession:
        try:
            module = self._module if self._module is not None else _pynvml()
        except ImportError as error:
            self.failure = Unavailable(
                "nvml-bindings-missing",
                f"NVIDIA's Python bindings could not be imported ({error}); install nvidia-ml-py.",
            )
            return self
        try:
            module.nvmlInit()
        except module.NVMLError as error:
            self.failure = _init_failure(module, error)
            return self
        self.nvml = module
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.nvml is not None:
            with contextlib.suppress(self.nvml.NVMLError):
                self.nvml.nvmlShutdown()
            self.nvml = None

    def health(self) -> NodeHealth:
        """Every GPU's health readings; one GPU that cannot be read never hides the others."""
        from envkit.validate.health import NodeHealth

        if self.nvml is None:
            failure = self.failure or Unavailable("nvml-not-started", "NVML was not started.")
            return NodeHealth(failure, None, None, ())
        nvml = self.nvml
        try:
            count = self.gpu_count()
            driver = _text(nvml.nvmlSystemGetDriverVersion()) or ""
            cuda = _cuda_driver_version(nvml)
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
        from envkit.validate.model import TelemetrySample

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
        from envkit.validate.health import NotSupported

        return NotSupported(function, reason)


def _fatal_gpu_error(nvml: ModuleType, index: int, error: Any) -> Unavailable:
    if error.value == nvml.NVML_ERROR_RESET_REQUIRED:
        return Unavailable(
            "nvml-gpu-reset-required",
            f"GPU {index} needs a reset before NVML can read it ({error}); drain the node, then "
            f"run 'nvidia-smi -r -i {index}' or reboot.",
        )
    return _gpu_error(nvml, index, error)


def _is_value(reading: Any) -> bool:
    from envkit.validate.health import NotSupported

    return not isinstance(reading, (NotSupported, Unavailable))


def _convert(reading: Any, convert: Callable[[Any], Any]) -> Any:
    """``convert(reading)`` for a value; NotSupported and Unavailable pass through."""
    return convert(reading) if _is_value(reading) else reading


def _gpu_health(nvml: ModuleType, index: int, driver: str) -> GpuHealth:
    from envkit.validate.health import GpuHealth
    from envkit.validate.model import GpuIdentity

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
    from envkit.validate.model import GpuIdentity

    def value(reading: Any) -> Any:
        return reading if _is_value(reading) else None

    pci = value(reader.get("nvmlDeviceGetPciInfo", handle))
    memory = value(reader.get("nvmlDeviceGetMemoryInfo", handle))
    return GpuIdentity(
        index=reader.index,
        name=_text(value(reader.get("nvmlDeviceGetName", handle))),
        uuid=_text(value(reader.get("nvmlDeviceGetUUID", handle))),
        pci_bus_id=_text(pci.busId) if pci is not None else None,
        memory_total_bytes=int(memory.total) if memory is not None else None,
    )


def _read_health(reader: _Reader, handle: object, identity: GpuIdentity) -> GpuHealth:
    """Each reading names its ``nvidia-smi -q`` section in the comment beside it."""
    from envkit.validate.health import GpuHealth

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
    from envkit.validate.health import EnabledPair

    enabled = nvml.NVML_FEATURE_ENABLED
    return _convert(reading, lambda pair: EnabledPair(pair[0] == enabled, pair[1] == enabled))


def _mig_mode(nvml: ModuleType, reading: Any) -> Any:
    from envkit.validate.health import EnabledPair

    enabled = nvml.NVML_DEVICE_MIG_ENABLE
    return _convert(reading, lambda pair: EnabledPair(pair[0] == enabled, pair[1] == enabled))


def _retired_pages(reader: _Reader, handle: object) -> Any:
    from envkit.validate.health import RetiredPages

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
    from envkit.validate.health import RemappedRows

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
    from envkit.validate.health import PcieLink

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


def record_health(
    path: Path | None = None,
    *,
    nvml: ModuleType | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Run :func:`probe_health` through a :class:`RecordingNvml`; write the recording to path."""
    recorder = RecordingNvml(nvml if nvml is not None else _pynvml())
    health = probe_health(recorder)
    recording = {"meta": _health_provenance(health, note), "calls": recorder.calls}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(recording, indent=1) + "\n", encoding="utf-8")
    return recording


def _health_provenance(health: NodeHealth, note: str | None) -> dict[str, Any]:
    return {
        "synthetic": False,
        "recorded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": "REDACTED",
        "probe": "probe_health",
        "gpus": [gpu.identity.name for gpu in health.gpus],
        "driver_version": health.driver_version,
        "probe_result": health.failure.code if health.failure else "NodeHealth",
        "nvidia_ml_py_version": _distribution_version("nvidia-ml-py"),
        "envkit_version": __version__,
        "python_version": platform.python_version(),
        "note": note,
    }


__all__ = [
    "FIELD_DRAIN_AND_RESET_STATUS",
    "FIELD_GPU_RECOVERY_ACTION",
    "FIELD_RESET_STATUS",
    "NvmlSession",
    "RecordingNvml",
    "format_cuda_version",
    "probe",
    "probe_health",
    "record",
    "record_health",
]
