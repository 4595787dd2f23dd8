"""ReplayNvml: a pynvml stand-in that answers only what a recorded machine answered.

Recordings come from ``scripts/record_nvml.py`` (envkit.probes.nvml_record.RecordingNvml).
Constants, ``NVMLError`` and its subclasses are pynvml's own, an error is raised as
``pynvml.NVMLError(code)`` (which picks the real subclass), and a struct comes back as the real
pynvml ctypes class. A call that was never recorded fails the test: re-record rather than guess.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pynvml


class ReplayHandle:
    """Stands for the device handle that nvmlDeviceGetHandleByIndex(index) returned."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"<handle {self.index}>"


class ReplayNvml(ModuleType):
    def __init__(self, recording: dict[str, Any]) -> None:
        super().__init__("replay:pynvml")
        self.meta = recording["meta"]
        self._answers = {(c["fn"], _key(c["args"])): c for c in recording["calls"]}
        self._asked: set[tuple[str, str]] = set()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("NVML"):  # NVML_* constants, NVMLError*, NVMLLibraryMismatchError
            return getattr(pynvml, name)
        if not name.startswith("nvml"):
            raise AttributeError(name)
        return lambda *args: self._answer(name, args)

    def never_asked(self) -> list[tuple[str, str]]:
        """Recorded calls the code under test did not make: the recording has drifted too."""
        return sorted(set(self._answers) - self._asked)

    def _answer(self, name: str, args: tuple[Any, ...]) -> Any:
        key = (name, _key([_plain(arg) for arg in args]))
        entry = self._answers.get(key)
        if entry is None:
            raise AssertionError(
                f"{name}{args} was never recorded on {self.meta.get('gpus')} "
                f"(driver {self.meta.get('driver_version')}); re-record with scripts/record_nvml.py"
            )
        self._asked.add(key)
        if "error" in entry:
            raise pynvml.NVMLError(entry["error"])
        if "raised" in entry:
            raise getattr(pynvml, entry["raised"])(entry["message"])
        if "result" not in entry:
            raise AssertionError(f"{name}: the recording holds no replayable answer: {entry}")
        return _revive(entry["result"])


def _plain(arg: Any) -> Any:
    return {"handle": arg.index} if isinstance(arg, ReplayHandle) else arg


def _key(args: list[Any]) -> str:
    return json.dumps(args, sort_keys=True)


def _revive(value: Any) -> Any:
    if isinstance(value, list):
        return [_revive(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "handle" in value:
        return ReplayHandle(value["handle"])
    if "bytes" in value:
        return value["bytes"].encode("latin-1")
    if "struct" in value:
        return _struct(value["struct"], value["fields"])
    if "object" in value:
        return getattr(pynvml, value["object"])(_revive(value["fields"]))
    return {key: _revive(item) for key, item in value.items()}


def _struct(name: str, fields: dict[str, Any]) -> Any:
    struct = getattr(pynvml, name)()
    for field, recorded in fields.items():
        setattr(struct, field, _revive(recorded))
    return struct
