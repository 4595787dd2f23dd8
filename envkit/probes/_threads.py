"""One call in its own thread, its answer waited for: what the probes run side by side.

Threads, not ``concurrent.futures``: that module imports ``logging``, and the probes run on
every doctor. The threads are not daemons, so envkit's exit waits for a probe (each has its own
timeout) rather than leaving its child program behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """``call()`` running in a thread; :meth:`result` waits, then returns or raises as it did."""

    def __init__(self, call: Callable[[], T], name: str = "envkit-probe") -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as error:  # noqa: BLE001 -- handed to the waiting thread
            self._error = error

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: no error was raised
