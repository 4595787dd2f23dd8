"""The one launcher of child jobs, and what kills them: a timeout, or a signal to envkit.

Every job starts in a session of its own (``start_new_session``), so its process group holds
the job, a wrapper's children (``conda run``, a shell script standing in for python) and
anything they start; a kill goes to the group, never only to the one process envkit started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from envkit.records import record

CHILD_FOLDER = Path(__file__).parent / "_child"
"""Holds envkit_job_events.py, the child side of the protocol; first on the job's PYTHONPATH.
A path rather than a copy beside each script: one implementation, and a job script stays a plain
file run by its path (no ``-c``, no sys.path edits)."""
STDERR_CAP_BYTES = 8 * 1024 * 1024
"""Of a job's stderr envkit keeps the first eighth and the last seven eighths of this."""
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
SIGNALS_NUMBERS = tuple(getattr(signal, name) for name in SIGNALS if hasattr(signal, name))

_live: set[subprocess.Popen[bytes]] = set()
_live_lock = threading.Lock()


@record
class StartFailure:
    """The job's process could not be started."""

    message: str


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the protocol module's folder first on PYTHONPATH."""
    result = dict(env)
    rest = result.get("PYTHONPATH")
    result["PYTHONPATH"] = str(CHILD_FOLDER) + (os.pathsep + rest if rest else "")
    return result


def launch(
    python: str,
    script: Path,
    argument: str,
    env: Mapping[str, str],
    *,
    answers: bool = False,
    cwd: str | None = None,
) -> subprocess.Popen[bytes] | StartFailure:
    """Start ``python -B script argument`` as a job; ``answers``: its stdin is a pipe; ``cwd``:
    its working directory (the features pass probes._proc.neutral_cwd())."""
    try:
        process = subprocess.Popen(  # noqa: S603 -- argv built by envkit
            [python, "-B", str(script), argument],
            stdin=subprocess.PIPE if answers else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(env),
            cwd=cwd,
            start_new_session=os.name == "posix",
        )
    except OSError as error:
        return StartFailure(f"{python} cannot run: {error.strerror or error}")
    with _live_lock:
        _live.add(process)
    return process


def forget(process: subprocess.Popen[bytes]) -> None:
    """The job is reaped and its group killed: a signal no longer concerns it."""
    with _live_lock:
        _live.discard(process)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the job's whole process group (the job itself where there are no groups)."""
    if os.name != "posix":
        with contextlib.suppress(OSError):
            process.kill()
        return
    # The group's id is the job's pid, which stays reserved while the job is unreaped or any
    # member of its group lives: this never reaches another process.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def kill_all() -> None:
    """Kill every live job's group and reap the jobs themselves."""
    with _live_lock:
        processes = list(_live)
    for process in processes:
        kill_group(process)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            process.wait(timeout=5.0)


_previous: dict[int, Any] = {}
_depth = 0


def _on_signal(signum: int, frame: FrameType | None) -> None:
    kill_all()
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # SIGINT's default raises KeyboardInterrupt
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # die of it, as without envkit's handler


@contextlib.contextmanager
def reaping_on_signals() -> Iterator[None]:
    """While inside, SIGINT, SIGTERM and SIGHUP to envkit first kill every live job's group.

    A no-op off the main thread (only it may set handlers; an outer caller there covers it).
    Nested uses keep the outermost handlers; leaving the outermost restores the previous ones.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _depth == 0:
        for number in SIGNALS_NUMBERS:
            previous = signal.signal(number, _on_signal)
            _previous[number] = signal.SIG_DFL if previous is None else previous
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for number, previous in _previous.items():
                signal.signal(number, previous)
            _previous.clear()
