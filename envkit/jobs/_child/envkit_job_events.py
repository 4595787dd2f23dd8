# (Python 3.6 code run by the target interpreter: no newer syntax, no envkit imports.)
"""envkit's child-job protocol, the child's side: JSON lines on the original stdout.

Shared by every job script envkit runs in a target interpreter (smoke/_scripts/job.py,
validate/_scripts/workload_job.py). envkit's launcher (envkit/jobs/launch.py) puts this file's
folder first on the child's PYTHONPATH, so a job script imports it by its name, which no other
distribution uses: ``import envkit_job_events``. The folder holds nothing else, so it can shadow
nothing of the target environment's.

Protocol (version 1): one JSON object per line, each with "event" and "t" (seconds since the job
started); everything else that writes to stdout (frameworks, C++) is sent to stderr.
"""

import json
import math
import os
import sys
import threading
import time
import traceback

T0 = time.time()


class Events(object):
    """JSON lines on a private copy of stdout; fd 1 itself becomes stderr."""

    def __init__(self):
        private = os.dup(1)
        os.dup2(2, 1)
        self._out = os.fdopen(private, "w")
        self._lock = threading.Lock()

    def emit(self, name, **fields):
        fields["event"] = name
        fields["t"] = round(time.time() - T0, 3)
        line = json.dumps(fields, sort_keys=True)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def hello(self, protocol):
        """The first event of every job: who is running it."""
        self.emit(
            "hello",
            protocol=protocol,
            python=sys.version.split()[0],
            executable=sys.executable,
            pid=os.getpid(),
        )


def error_fields(error, stage=None):
    """An exception as the fields of an "error" event (with "stage" where given)."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    fields = {
        "type": type(error).__name__,
        "message": str(error)[:4000],
        "traceback": "".join(lines)[-6000:],
    }
    if stage is not None:
        fields["stage"] = stage
    return fields


def finite(value):
    """A float for JSON, or None where it is NaN or infinite (a diverged loss)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def peak_rss_bytes():
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def drop_script_folder(script):
    """Take envkit's script folder (sys.path[0]) off the path: nothing of envkit's may shadow
    the target's modules."""
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(script)):
        del sys.path[0]
