"""What the job's stderr and its death mean: harmless noise, a missing GPU's cause, or a failure.

The patterns are envkit's one table of log lines (knowledge/data/log_patterns.json, each with
the public threads where the line appears); ``envkit doctor --from`` reads pasted logs with the
same table, so a line means the same in both.
"""

from __future__ import annotations

import re
import signal

from envkit.knowledge import logs as log_table
from envkit.records import record
from envkit.smoke.model import Diagnosis, LineKind


@record
class Pattern:
    cause: str
    kind: LineKind
    regex: re.Pattern[str]


NOISE, GPU_SETUP, PROBLEM = LineKind.NOISE, LineKind.GPU_SETUP, LineKind.PROBLEM
_EFFECTS = {"noise": NOISE, "gpu-setup": GPU_SETUP, "problem": PROBLEM}

PATTERNS: tuple[Pattern, ...] = tuple(
    Pattern(row.pattern_id, _EFFECTS[row.effect], row.regex) for row in log_table.log_patterns()
)
_BY_CAUSE = {pattern.cause: pattern for pattern in PATTERNS}


def classify_line(line: str) -> Pattern | None:
    """The first pattern ``line`` matches, or None for a line envkit has no opinion on."""
    matched = log_table.match_line(line)
    return None if matched is None else _BY_CAUSE[matched[0].pattern_id]


def classify(text: str) -> tuple[Diagnosis, ...]:
    """Every class of line in ``text``, in order of first appearance, with counts."""
    first: dict[str, tuple[Pattern, str]] = {}
    counts: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        pattern = classify_line(line)
        if pattern is None:
            continue
        first.setdefault(pattern.cause, (pattern, line))
        counts[pattern.cause] = counts.get(pattern.cause, 0) + 1
    return tuple(
        Diagnosis(cause, pattern.kind, _trimmed(line), counts[cause])
        for cause, (pattern, line) in first.items()
    )


def signal_name(returncode: int | None) -> str | None:
    """SIGILL for -4, and so on; None for a normal exit."""
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def fatal_line(stderr: str) -> str | None:
    """TensorFlow's last fatal log line (``F...] Check failed``) or Python's last exception line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if (
            re.match(r"^F\d{4} |^F0000 |^\d{4}-\d\d-\d\d [\d:.]+: F ", line)
            or "Check failed" in line
        ):
            return _trimmed(line)
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt)\b", line):
            return _trimmed(line)
    return None


def stderr_tail(stderr: str, lines: int = 25) -> str:
    """The last lines of stderr that are not known noise."""
    kept = []
    for raw in stderr.splitlines():
        pattern = classify_line(raw.strip())
        if raw.strip() and (pattern is None or pattern.kind is not LineKind.NOISE):
            kept.append(raw.rstrip())
    return "\n".join(kept[-lines:])


def _trimmed(line: str, limit: int = 400) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
