"""Recording what a real NVML answers, call by call, for the tests to replay strictly."""

from __future__ import annotations

import ctypes
import json
import platform
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from envkit import __version__
from envkit.model import NvmlInfo, Unavailable
from envkit.model_health import NodeHealth
from envkit.probes.nvml import Session, probe
from envkit.probes.nvml_health import probe_health


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
    recorder = RecordingNvml(nvml if nvml is not None else Session.bindings())
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


def record_health(
    path: Path | None = None,
    *,
    nvml: ModuleType | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Run :func:`probe_health` through a :class:`RecordingNvml`; write the recording to path."""
    recorder = RecordingNvml(nvml if nvml is not None else Session.bindings())
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


__all__ = ["RecordingNvml", "record", "record_health"]
