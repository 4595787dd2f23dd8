"""The parent's view of a job's events: parsed lines, dispatched to ``_on_<event>`` handlers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from envkit.records import record


@record
class JobEvent:
    """One line of the job's protocol, as the progress display receives it."""

    name: str
    """hello, phase, ready, data, run_start, batch, epoch, run_end, error, done (smoke); the
    workload job adds devices, test_start, gemm, determinism, bandwidth, step, skip."""
    fields: Mapping[str, Any]
    t: float
    """Seconds since the job started, by the job's clock."""


EventCallback = Callable[[JobEvent], None]


class EventState:
    """What a job's events have said so far; a feature subclasses it with its handlers."""

    def __init__(self, on_event: EventCallback | None) -> None:
        self.on_event = on_event
        self.stage = "start"
        self.protocol_errors: list[str] = []

    def accept(self, raw: bytes) -> JobEvent | None:
        """Parse one line; None (and a protocol error noted) where it is not an event."""
        try:
            payload = json.loads(raw)
            name = str(payload.pop("event"))
            event = JobEvent(name, payload, float(payload.pop("t", 0.0)))
        except (ValueError, KeyError, TypeError, AttributeError):
            self.protocol_errors.append(raw.decode("utf-8", "replace").strip()[:200])
            return None
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(event.fields)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def finish(self, returncode: int | None, stderr: str, timed_out: bool) -> None:
        """Called once, after the job's process is reaped."""
        raise NotImplementedError
