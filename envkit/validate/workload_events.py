"""The workloads' progress: every child's events, tagged with their source, to one callback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from envkit.jobs import JobEvent
from envkit.records import record

ENVKIT_SOURCE = "envkit"


@record
class WorkloadEvent:
    source: str
    """envkit (stage starts and ends), smoke gpu:N, smoke cpu, job, worker 0, worker 1."""
    event: JobEvent


WorkloadCallback = Callable[[WorkloadEvent], None]


class Notifier:
    """Serialises events from the threads (parallel smoke runs, two workers) to the callback."""

    def __init__(self, callback: WorkloadCallback | None, origin: float) -> None:
        self.callback = callback
        self.origin = origin
        self.lock = threading.Lock()

    def for_source(self, source: str) -> Callable[[JobEvent], None]:
        def forward(event: JobEvent) -> None:
            if self.callback is not None:
                with self.lock:
                    self.callback(WorkloadEvent(source, event))

        return forward

    def stage(self, stage: str, status: str) -> None:
        fields = {"stage": stage, "status": status}
        self.for_source(ENVKIT_SOURCE)(JobEvent("stage", fields, time.time() - self.origin))
