"""The log lines envkit recognises: one table for the smoke run's stderr and for pasted logs.

The table is data/log_patterns.json. A line takes the first pattern it matches, so the order of
the file is part of the facts (the TensorRT line before the CUDA-library line it resembles, the
named cuInit errors before the generic one). Every pattern names the public threads where its
line appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from envkit.knowledge import _data

KINDS = ("tensorflow", "xla", "cuda", "cudnn", "cublas", "nccl", "python", "process-exit", "noise")
"""Who prints the line; ``noise`` for lines that are harmless whoever prints them."""
EFFECTS = ("noise", "gpu-setup", "problem")
"""noise: harmless; gpu-setup: explains a GPU left unused; problem: a failure in any case."""

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


@dataclass(frozen=True, slots=True)
class LogPattern:
    pattern_id: str
    """Stable id, the cause the smoke classifier and the log rules name: cudnn-version, ..."""
    kind: str
    effect: str
    regex: re.Pattern[str]
    meaning: str
    sources: tuple[str, ...]
    """URLs of public threads or docs where the line appears."""

    @property
    def link(self) -> str:
        return self.sources[0]


@cache
def log_patterns() -> tuple[LogPattern, ...]:
    """Every pattern, in matching order."""
    rows = _data.objs(_data.load("log_patterns.json"), "patterns")
    patterns = tuple(_pattern(row) for row in rows)
    ids = [pattern.pattern_id for pattern in patterns]
    if len(set(ids)) != len(ids):
        raise _data.KnowledgeDataError("log_patterns.json: a pattern id repeats")
    return patterns


def log_pattern(pattern_id: str) -> LogPattern | None:
    return next((p for p in log_patterns() if p.pattern_id == pattern_id), None)


def match_line(line: str) -> tuple[LogPattern, re.Match[str]] | None:
    """The first pattern ``line`` (one stripped line) matches, with its match; None if none."""
    if _any_pattern().search(line) is None:
        return None  # most lines of a long log: one search instead of one per pattern
    for pattern in log_patterns():
        found = pattern.regex.search(line)
        if found is not None:
            return pattern, found
    return None


@cache
def _any_pattern() -> re.Pattern[str]:
    """All patterns as one alternation (named groups dropped), to skip unknown lines fast."""
    parts = (_NAMED_GROUP.sub("(?:", p.regex.pattern) for p in log_patterns())
    return re.compile("|".join(f"(?:{part})" for part in parts))


def _pattern(row: _data.Obj) -> LogPattern:
    pattern_id = _data.text(row, "id")
    kind = _data.text(row, "kind")
    effect = _data.text(row, "effect")
    if kind not in KINDS or effect not in EFFECTS:
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r}: kind or effect unknown")
    sources = _data.texts(row, "sources")
    if not sources or not all(url.startswith("https://") for url in sources):
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r} cites no source URL")
    try:
        regex = re.compile(_data.text(row, "regex"))
    except re.error as error:
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r}: {error}") from error
    return LogPattern(pattern_id, kind, effect, regex, _data.text(row, "meaning"), sources)
