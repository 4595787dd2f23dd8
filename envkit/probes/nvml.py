"""NVML, read through NVIDIA's own bindings (``nvidia-ml-py``, module ``pynvml``).

This is the only module in envkit that imports pynvml, and it does so inside functions: importing
envkit never loads the driver library. :func:`probe` takes the module as a parameter so tests can
pass ``ReplayNvml`` (tests/nvml_replay.py). nvml_health.py reads a node's health and samples it
through the same module; nvml_record.py captures what a real machine answered, for the tests.
"""

from __future__ import annotations

import contextlib
import sys
from types import ModuleType
from typing import Any, TypeVar

from envkit.model import GpuInfo, GpuProcess, NvmlInfo, Unavailable

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
    """Driver, CUDA driver API version and every GPU, as ``nvidia-smi -q`` shows them; within
    the NVML watchdog's deadline (a hang is ``nvml-timeout``, see nvml_watchdog.py)."""
    from envkit.probes import nvml_watchdog

    try:
        return nvml_watchdog.call("the probe", _probe, nvml)
    except nvml_watchdog.NvmlTimeout as timeout:
        return timeout.unavailable


def _probe(nvml: ModuleType | None) -> NvmlInfo | Unavailable:
    if nvml is None and not driver_library_loads():
        return Unavailable(*_INIT_FAILURES["NVML_ERROR_LIBRARY_NOT_FOUND"])
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


def driver_library_loads() -> bool:
    """Whether the loader finds the driver's libnvidia-ml.so.1, the name pynvml's nvmlInit opens
    on Linux. Where it does not, nvmlInit can only answer LIBRARY_NOT_FOUND, and the bindings
    (a twelfth of a doctor run's start-up) are not imported for that. Elsewhere pynvml decides."""
    if not sys.platform.startswith("linux"):
        return True
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


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
    draw_mw = _optional(nvml, "nvmlDeviceGetPowerUsage", handle)  # power.draw
    utilization = _optional(nvml, "nvmlDeviceGetUtilizationRates", handle)  # utilization.gpu
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
        utilization_gpu_percent=utilization.gpu if utilization is not None else None,
        power_draw_watts=draw_mw / 1000 if draw_mw is not None else None,
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


_S = TypeVar("_S", bound="Session")


class Session:
    """NVML started for as long as a ``with`` lasts: the one way the other NVML probes
    (nvml_health.py, nvml_record.py) reach the bindings and this module's readings.

    Entering never raises for NVML's sake: ``failure`` says why NVML did not start (bindings
    missing, no library, driver not loaded, version mismatch) and ``nvml`` is then None. Leaving
    shuts NVML down if it started.
    """

    def __init__(self, nvml: ModuleType | None = None) -> None:
        self._module = nvml
        self.nvml: ModuleType | None = None
        self.failure: Unavailable | None = None

    def __enter__(self: _S) -> _S:
        from envkit.probes import nvml_watchdog

        try:
            if self._module is None and not nvml_watchdog.call("dlopen", driver_library_loads):
                self.failure = Unavailable(*_INIT_FAILURES["NVML_ERROR_LIBRARY_NOT_FOUND"])
                return self
            module = self._module if self._module is not None else self.bindings()
        except nvml_watchdog.NvmlTimeout as timeout:
            self.failure = timeout.unavailable
            return self
        except ImportError as error:
            self.failure = Unavailable(
                "nvml-bindings-missing",
                f"NVIDIA's Python bindings could not be imported ({error}); install nvidia-ml-py.",
            )
            return self
        try:
            nvml_watchdog.call("nvmlInit", module.nvmlInit)  # a hang is nvml-timeout (#12)
        except nvml_watchdog.NvmlTimeout as timeout:
            self.failure = timeout.unavailable
            return self
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

    @staticmethod
    def bindings() -> ModuleType:
        """pynvml itself, not started (raises ImportError where nvidia-ml-py is missing)."""
        return _pynvml()

    @staticmethod
    def driver_versions(nvml: ModuleType) -> tuple[str, str | None]:
        """The driver's version and the CUDA driver API version it offers (raises NVMLError)."""
        return _text(nvml.nvmlSystemGetDriverVersion()) or "", _cuda_driver_version(nvml)

    @staticmethod
    def gpu_error(nvml: ModuleType, index: int, error: Any) -> Unavailable:
        """What an NVMLError on GPU ``index`` means for the user."""
        return _gpu_error(nvml, index, error)

    @staticmethod
    def text(value: str | bytes | None) -> str | None:
        """An NVML string as text (old bindings, and char arrays in structs, give bytes)."""
        return _text(value)


__all__ = ["Session", "format_cuda_version", "probe"]
