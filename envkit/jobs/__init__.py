"""envkit's child jobs: scripts run in a target interpreter that stream JSON-lines events.

Below the features (smoke, validate use it; probes may): the one launcher, which starts a job
in its own session (a process group of its own) with the child-side protocol module on its
PYTHONPATH; the supervisor, which reads events against a deadline, answers the child, captures
its stderr up to a cap, and kills and reaps the whole process group on a timeout or when envkit
is interrupted; and the event state the features extend.

Public API::

    launch(python, script, argument, env, *, answers=False) -> Popen | StartFailure
    Supervisor(process, state, deadline).run(reply=None)
    EventState(on_event).accept(raw) / .finish(returncode, stderr, timed_out)
    reaping_on_signals()  # context manager: SIGINT/SIGTERM/SIGHUP kill every live job first
    JobEvent, EventCallback
"""

from envkit.jobs.launch import (
    CHILD_FOLDER,
    STDERR_CAP_BYTES,
    StartFailure,
    kill_group,
    launch,
    reaping_on_signals,
)
from envkit.jobs.state import EventCallback, EventState, JobEvent
from envkit.jobs.supervisor import Supervisor

__all__ = [
    "CHILD_FOLDER",
    "STDERR_CAP_BYTES",
    "EventCallback",
    "EventState",
    "JobEvent",
    "StartFailure",
    "Supervisor",
    "kill_group",
    "launch",
    "reaping_on_signals",
]
