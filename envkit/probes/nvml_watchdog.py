"""A hard deadline on NVML calls: an nvmlInit that hangs (a real failure of broken GPUs and
wedged drivers) must not hang envkit, nor the Slurm health check that runs envkit validate.

NVML is a C library called through ctypes, which releases the GIL, so the call runs in a daemon
thread and the caller waits for it at most :data:`NVML_DEADLINE_S`. A call that misses the
deadline is left behind (no thread can be killed, and the library holds its own lock, so every
later call would hang too): from then on this process answers ``nvml-timeout`` at once, and the
stuck thread ends with the process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from envkit.model import Unavailable

T = TypeVar("T")

NVML_DEADLINE_S = 10.0
"""nvmlInit and a full read of eight GPUs take well under a second on a healthy node."""
_DEADLINE_VARIABLE = "ENVKIT_NVML_TIMEOUT_S"
_hung = threading.Event()


class NvmlTimeout(Exception):
    """NVML did not answer within the deadline."""

    def __init__(self, what: str, deadline_s: float) -> None:
        super().__init__(what)
        self.unavailable = timeout_unavailable(what, deadline_s)


def deadline_s() -> float:
    """The deadline, shortened (never lengthened past 10 minutes) by ENVKIT_NVML_TIMEOUT_S."""
    try:
        value = float(os.environ.get(_DEADLINE_VARIABLE, NVML_DEADLINE_S))
    except ValueError:
        return NVML_DEADLINE_S
    return min(max(value, 0.1), 600.0) if value == value else NVML_DEADLINE_S


def timeout_unavailable(what: str, deadline: float) -> Unavailable:
    return Unavailable(
        "nvml-timeout",
        f"NVML did not answer {what} within {deadline:g} s: the driver or a GPU is hung; "
        "check the kernel log for Xid errors (sudo dmesg | grep -i xid), and drain the node "
        "until a reset or reboot (nvidia-smi will likely hang too).",
    )


def call(what: str, function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` within the deadline; NvmlTimeout when it does not return in time
    (or an earlier call already hung). Its exceptions are raised here, in the caller."""
    deadline = deadline_s()
    if _hung.is_set():
        raise NvmlTimeout(what, deadline)
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function(*args))
        except BaseException as error:  # noqa: BLE001 -- re-raised in the caller below
            failure.append(error)

    worker = threading.Thread(target=run, name=f"envkit-nvml-{what}", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        _hung.set()
        raise NvmlTimeout(what, deadline)
    if failure:
        raise failure[0]
    return outcome[0]


def hung() -> bool:
    """An NVML call of this process missed its deadline; NVML must not be called again."""
    return _hung.is_set()
