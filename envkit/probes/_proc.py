"""Running other programs: every call has a timeout and never raises for the program's failure."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcResult:
    returncode: int | None
    """None when the program could not be started or was killed at the timeout."""
    stdout: str
    stderr: str
    timed_out: bool = False
    start_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    argv: Sequence[str],
    *,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
) -> ProcResult:
    """Run ``argv`` and capture its output as text; failures come back as values."""
    try:
        completed = subprocess.run(  # noqa: S603 -- argv is built by envkit, never a shell string
            list(argv),
            input=stdin_text,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        return ProcResult(None, _text(expired.stdout), _text(expired.stderr), timed_out=True)
    except OSError as error:
        return ProcResult(None, "", "", start_error=error.strerror or str(error))
    return ProcResult(completed.returncode, completed.stdout, completed.stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data
