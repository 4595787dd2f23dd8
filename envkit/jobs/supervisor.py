"""Reads a job's events against a deadline, answers it, captures its stderr, reaps its group."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from envkit.jobs.launch import STDERR_CAP_BYTES, forget, kill_group
from envkit.jobs.state import EventState, JobEvent

LINE_CAP_BYTES = 1024 * 1024
"""An event line longer than this is cut there (and is then a protocol error, not an event)."""
REAP_GRACE_S = 5.0

Reply = Callable[[JobEvent], "dict[str, Any] | None"]
"""Given each event, the message to answer it with (once; stdin closes after), or None."""


class _CappedBytes:
    """A stream's head and tail up to a cap, with a note of what was dropped between them."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 8
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail: deque[bytes] = deque()
        self.tail_bytes = 0
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail.append(chunk)
        self.tail_bytes += len(chunk)
        while self.tail_bytes - len(self.tail[0]) >= self.tail_cap:
            self.dropped += len(self.tail[0])
            self.tail_bytes -= len(self.tail.popleft())

    def text(self) -> str:
        gap = (
            f"\n[envkit: {self.dropped} bytes of stderr left out]\n".encode()
            if self.dropped
            else b""
        )
        return (bytes(self.head) + gap + b"".join(self.tail)).decode("utf-8", "replace")


class Supervisor:
    """One started job: its events go to ``state`` until EOF or ``deadline`` (monotonic)."""

    def __init__(
        self, process: subprocess.Popen[bytes], state: EventState, deadline: float
    ) -> None:
        self.process = process
        self.state = state
        self.deadline = deadline
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.stderr = _CappedBytes(STDERR_CAP_BYTES)
        self.readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        self._started = False

    def run(self, reply: Reply | None = None) -> None:
        """Start, pump, stop on the deadline, reap, and tell the state how it ended."""
        self.start()
        try:
            timed_out = self.pump(reply)
        except BaseException:
            self.stop()
            raise
        if timed_out:
            self.kill()
        returncode = self.reap()
        self.state.finish(returncode, self.stderr.text(), timed_out)

    def start(self) -> None:
        if not self._started:
            self._started = True
            for reader in self.readers:
                reader.start()

    def pump(self, reply: Reply | None = None) -> bool:
        """Handle events until the child closes stdout; True when the deadline passed first."""
        answered = False
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                return True
            try:
                raw = self.lines.get(timeout=remaining)
            except queue.Empty:
                return True
            if raw is None:
                return False
            event = self.state.accept(raw)
            if event is not None and reply is not None and not answered:
                message = reply(event)
                if message is not None:
                    answered = True
                    self.answer(message)

    def answer(self, message: dict[str, Any]) -> None:
        """One JSON line on the child's stdin, which then closes."""
        stdin = self.process.stdin
        if stdin is None:
            return
        try:
            stdin.write((json.dumps(message) + "\n").encode())
            stdin.close()
        except OSError:
            pass  # the child is gone; its exit status will say why

    def running(self) -> bool:
        """The job has not exited (without reaping it, so that its group stays addressable)."""
        if not hasattr(os, "waitid"):
            return self.process.poll() is None
        try:
            result = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        except ChildProcessError:
            return False  # reaped already
        return result is None

    def kill(self) -> None:
        """SIGKILL the job's whole process group now."""
        kill_group(self.process)

    def stop(self) -> None:
        """Kill the group and reap it (an exception, or a caller that gives up)."""
        self.kill()
        self.reap()

    def reap(self) -> int | None:
        """Wait for the job (until the deadline, at least a grace), then kill what is left of
        its group: a wrapper's children die with it. Returns the job's exit status."""
        self._wait_exit(max(REAP_GRACE_S, self.deadline - time.monotonic()))
        kill_group(self.process)  # the job is a zombie at most: its group id is still its own
        returncode = self.process.wait()
        forget(self.process)
        for reader in self.readers:
            if reader.is_alive():
                reader.join(timeout=REAP_GRACE_S)
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        return returncode

    def _wait_exit(self, timeout_s: float) -> None:
        """Until the job has exited (unreaped) or ``timeout_s`` passed; then it is killed."""
        end = time.monotonic() + timeout_s
        delay = 0.001
        while self.running():
            if time.monotonic() >= end:
                kill_group(self.process)
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None  # noqa: S101 -- Popen was given PIPE
        while True:
            raw = stream.readline(LINE_CAP_BYTES)
            if not raw:
                break
            if len(raw) == LINE_CAP_BYTES and not raw.endswith(b"\n"):
                while (rest := stream.readline(LINE_CAP_BYTES)) and not rest.endswith(b"\n"):
                    pass  # the rest of an over-long line is dropped
            self.lines.put(raw)
        self.lines.put(None)

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None  # noqa: S101 -- Popen was given PIPE
        for chunk in iter(lambda: stream.read(65536), b""):
            self.stderr.add(chunk)
