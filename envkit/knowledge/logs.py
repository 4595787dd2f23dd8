"""The log lines envkit recognises: one table for the smoke run's stderr and for pasted logs.

The table is data/log_patterns.json. A line takes the first pattern it matches, so the order of
the file is part of the facts (the TensorRT line before the CUDA-library line it resembles, the
named cuInit errors before the generic one). Every pattern names the public threads where its
line appears, and its hints: substrings one of which every line it matches holds, derived from
its regex by scripts/log_pattern_hints.py (a test checks that they are current). A regex is
compiled the first time a line holds one of its hints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from envkit.knowledge import _data
from envkit.records import record

KINDS = ("tensorflow", "xla", "cuda", "cudnn", "cublas", "nccl", "python", "process-exit", "noise")
"""Who prints the line; ``noise`` for lines that are harmless whoever prints them."""
EFFECTS = ("noise", "gpu-setup", "problem")
"""noise: harmless; gpu-setup: explains a GPU left unused; problem: a failure in any case."""


@record
class LogPattern:
    pattern_id: str
    """Stable id, the cause the smoke classifier and the log rules name: cudnn-version, ..."""
    kind: str
    effect: str
    regex_text: str
    meaning: str
    sources: tuple[str, ...]
    """URLs of public threads or docs where the line appears."""
    hints: tuple[str, ...] | None
    """Substrings of which a matching line has at least one (None: always try the regex)."""

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern_id, self.regex_text)

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


@cache
def _compiled(pattern_id: str, regex_text: str) -> re.Pattern[str]:
    """The pattern's regex, compiled the first time it is wanted and kept for the process."""
    try:
        return re.compile(regex_text)
    except re.error as error:
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r}: {error}") from error


def log_pattern(pattern_id: str) -> LogPattern | None:
    return next((p for p in log_patterns() if p.pattern_id == pattern_id), None)


def match_line(line: str) -> tuple[LogPattern, re.Match[str]] | None:
    """The first pattern ``line`` (one stripped line) matches, with its match; None if none."""
    patterns = log_patterns()
    hinted, always = _hint_index()
    if not always and _any_hint().search(line) is None:
        return None  # most lines of a long log: one search for every hint at once
    candidates = {index for hint, index in hinted if hint in line}
    for index in sorted(candidates.union(always)):
        found = patterns[index].regex.search(line)
        if found is not None:
            return patterns[index], found
    return None


@cache
def _hint_index() -> tuple[tuple[tuple[str, int], ...], frozenset[int]]:
    """(hint, pattern index) pairs, and the patterns without hints (always tried)."""
    pairs: list[tuple[str, int]] = []
    always: set[int] = set()
    for index, pattern in enumerate(log_patterns()):
        if pattern.hints is None:
            always.add(index)
        else:
            pairs.extend((hint, index) for hint in pattern.hints)
    return tuple(pairs), frozenset(always)


@cache
def _any_hint() -> re.Pattern[str]:
    return substring_gate(hint for hint, _ in _hint_index()[0])


def substring_gate(words: Iterable[str]) -> re.Pattern[str]:
    """One regex that finds any of ``words``, shaped as a trie so that each position of a line
    tries few branches (far faster than a plain alternation of many words)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(_trie_pattern(trie))


def _trie_pattern(node: dict[str, Any]) -> str:
    branches = [
        re.escape(char) + _trie_pattern(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def literal_hints(regex: re.Pattern[str]) -> tuple[str, ...] | None:
    """Substrings one of which every match of ``regex`` contains (the longest literal run, or
    one per alternative where that is longer). None where there is none, or the regex ignores
    case: callers then try the regex on every line."""
    if regex.flags & re.IGNORECASE:
        return None
    try:
        from re import _parser  # type: ignore[attr-defined]

        hints = _sequence_hints(list(_parser.parse(regex.pattern)), _parser)
    except Exception:  # noqa: BLE001 -- a private parser that changed: no shortcut, same result
        return None
    return hints or None


def _sequence_hints(sequence: list[Any], parser: Any) -> tuple[str, ...]:
    """Substrings one of which any match of ``sequence`` (parsed items) contains; () if none."""
    best: tuple[str, ...] = ()
    run = ""
    for op, argument in sequence:
        if op is parser.LITERAL:
            run += chr(argument)
            if len(run) > _shortest(best):
                best = (run,)
            continue
        run = ""
        inner: list[tuple[str, ...]] = []
        if op is parser.BRANCH:
            inner = [_sequence_hints(list(alternative), parser) for alternative in argument[1]]
        elif op is parser.SUBPATTERN:
            inner = [_sequence_hints(list(argument[-1]), parser)]
        if inner and all(inner):
            merged = tuple(hint for hints in inner for hint in hints)
            if _shortest(merged) > _shortest(best):
                best = merged
    return best


def _shortest(hints: tuple[str, ...]) -> int:
    return min((len(hint) for hint in hints), default=0)


def _pattern(row: _data.Obj) -> LogPattern:
    pattern_id = _data.text(row, "id")
    kind = _data.text(row, "kind")
    effect = _data.text(row, "effect")
    if kind not in KINDS or effect not in EFFECTS:
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r}: kind or effect unknown")
    sources = _data.texts(row, "sources")
    if not sources or not all(url.startswith("https://") for url in sources):
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r} cites no source URL")
    hints = None if row.get("hints") is None else _data.texts(row, "hints")
    if hints is not None and not all(hints):
        raise _data.KnowledgeDataError(f"log pattern {pattern_id!r}: an empty hint")
    meaning = _data.text(row, "meaning")
    regex = _data.text(row, "regex")
    return LogPattern(pattern_id, kind, effect, regex, meaning, sources, hints or None)
