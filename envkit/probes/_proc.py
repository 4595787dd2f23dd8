"""Running other programs: every call has a timeout, a cap on what it reads back, a neutral
working directory, and never raises for the program's failure.

The working directory of every child is an empty folder envkit makes for itself, never the
user's: a target Python given an empty PYTHONPATH entry (``PYTHONPATH=:/opt/lib``, what
``export PYTHONPATH=$PYTHONPATH:/opt/lib`` makes) would otherwise import ``json.py``,
``tensorflow.py`` or ``sitecustomize.py`` from wherever envkit was started. PYTHONPATH and the
user site are kept, so the child sees what the user's own runs see.

Each child starts in its own session; at the timeout, or when it writes more than the cap,
its whole process group is killed before it is reaped, so a wrapper's grandchildren go too.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO

from envkit.records import record

MAX_OUTPUT_BYTES = 16 * 1024 * 1024
"""What envkit reads back from one stream of one program; a probe's answer is kilobytes."""
_DRAIN_AFTER_EXIT_S = 2.0
"""How long the pipes may stay open after the program exits (a grandchild holding them)."""


@record
class ProcResult:
    returncode: int | None
    """None when the program could not be started or was killed (timeout, output cap)."""
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: str | None = None
    over_limit: bool = False
    """It wrote more than MAX_OUTPUT_BYTES on one stream and was killed."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@functools.cache
def neutral_cwd() -> str:
    """An empty folder of envkit's own, the working directory of every child it starts."""
    folder = tempfile.mkdtemp(prefix="envkit-cwd-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def run(
    argv: Sequence[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    max_output_bytes: int = MAX_OUTPUT_BYTES,
) -> ProcResult:
    """Run ``argv`` and capture its output as text; failures come back as values."""
    try:
        process = subprocess.Popen(  # noqa: S603 -- argv is built by envkit, never a shell string
            list(argv),
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=neutral_cwd(),
            start_new_session=True,
        )
    except OSError as error:
        return ProcResult(None, "", "", start_error=error.strerror or str(error))
    try:
        return _supervise(process, timeout_s, stdin_text, max_output_bytes)
    except BaseException:  # Ctrl-C while waiting: the child does not outlive envkit
        _kill_group(process)
        raise


def _supervise(
    process: subprocess.Popen[bytes], timeout_s: float, stdin_text: str | None, cap: int
) -> ProcResult:
    if process.stdout is None or process.stderr is None:  # pragma: no cover -- both are PIPE
        raise RuntimeError("the child's output is not captured")
    readers = [_Reader(process.stdout, cap), _Reader(process.stderr, cap)]
    _feed(process, stdin_text)
    timed_out, over_limit = _wait(process, readers, time.monotonic() + timeout_s)
    if timed_out or over_limit:
        _kill_group(process)
    else:
        for reader in readers:
            reader.join(_DRAIN_AFTER_EXIT_S)
        if any(reader.alive for reader in readers):
            _kill_group(process)
    process.wait()
    for reader in readers:
        reader.join(_DRAIN_AFTER_EXIT_S)
    stdout, stderr = (reader.text() for reader in readers)
    if over_limit:
        note = f"\n[envkit: output over {cap // (1024 * 1024)} MiB; the program was stopped]"
        return ProcResult(None, stdout, stderr + note, over_limit=True)
    if timed_out:
        return ProcResult(None, stdout, stderr, timed_out=True)
    return ProcResult(process.returncode, stdout, stderr)


def _wait(
    process: subprocess.Popen[bytes], readers: Sequence[_Reader], deadline: float
) -> tuple[bool, bool]:
    """Wait for the exit; (timed out, wrote over the cap), the child then still unreaped."""
    while process.poll() is None:
        if any(reader.overflowed for reader in readers):
            return False, True
        step_s = min(0.05, max(deadline - time.monotonic(), 0.0))
        if step_s <= 0:
            return True, False
        open_pipes = [reader for reader in readers if reader.alive]
        if open_pipes:
            # A pipe's end wakes this at once; Popen.wait(timeout) would poll and sleep.
            open_pipes[0].join(step_s)
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=step_s)
    return False, False


def _feed(process: subprocess.Popen[bytes], stdin_text: str | None) -> None:
    if process.stdin is None:
        return
    with contextlib.suppress(OSError):
        process.stdin.write((stdin_text or "").encode("utf-8", "backslashreplace"))
    with contextlib.suppress(OSError):
        process.stdin.close()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the child's whole group while the child is still unreaped (so its pid,
    the group's id, cannot have been reused)."""
    if process.returncode is None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()
    else:  # reaped: the group id is still in use only if a grandchild still holds it
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        process.wait(timeout=5)


class _Reader:
    """Reads one pipe in a thread, keeping at most ``cap`` bytes."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self.stream = stream
        self.cap = cap
        self.chunks: list[bytes] = []
        self.size = 0
        self.overflowed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := self.stream.read1(65536):  # type: ignore[attr-defined]
                room = self.cap - self.size
                if room > 0:
                    self.chunks.append(chunk[:room])
                    self.size += min(len(chunk), room)
                if len(chunk) > room:
                    self.overflowed = True
        with contextlib.suppress(OSError):
            self.stream.close()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout_s: float) -> None:
        self.thread.join(timeout_s)

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", "replace")
