"""Recognise each input by its content, never by its name, and read every part of it.

:func:`read_inputs` takes (source, text) pairs; a pasted bug report is split at its code fences
and each piece is read on its own, the text around them too. A piece that no reader claims is
handed to :func:`leftover_text` and read as a log (TensorFlow/CUDA lines, tracebacks, process
exits) by :func:`envkit.inputs.logs.read_log`, with its line numbers in the whole input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import NamedTuple

from envkit import codec
from envkit.inputs import envreports, nvsmi_text, nvsmi_xml, packages
from envkit.inputs.logs import merged, read_log
from envkit.inputs.model import KINDS, InputReading, PackageList, Part
from envkit.model import LogReading, Snapshot

MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Larger inputs are refused before reading (a 100-GPU -q -x dump is about 4 MB)."""


class InputError(ValueError):
    """An input envkit cannot use; the message is one sentence naming the source."""


def kinds_sentence() -> str:
    return "; ".join(KINDS.values())


def read_inputs(sources: Iterable[tuple[str, str]]) -> InputReading:
    parts: list[Part] = []
    leftover: list[tuple[str, str]] = []
    logs: list[LogReading] = []
    unrecognised: list[str] = []
    for source, text in sources:
        found, rest = read_one(source, text)
        parts += found
        leftover += ((log.source, text) for log, text in rest)
        log = merged([log for log, _ in rest], source) if rest else None
        if log is not None:
            logs.append(log)
        if not found and not (log and log.recognised):
            unrecognised.append(source)
    return InputReading(tuple(parts), tuple(leftover), tuple(unrecognised), tuple(logs))


def read_one(source: str, text: str) -> tuple[list[Part], list[tuple[LogReading, str]]]:
    """The parts of one input, and its pieces no reader claimed, each read as a log."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        json_part = _read_json(source, stripped)
        if json_part is not None:
            return [json_part], []
    pieces = _pieces(text)
    parts: list[Part] = []
    rest: list[tuple[LogReading, str]] = []
    for number, (first_line, piece) in enumerate(pieces, start=1):
        name = source if len(pieces) == 1 else f"{source}#{number}"
        found = read_piece(name, piece)
        if found:
            parts += found
        elif piece.strip():
            rest.append((leftover_text(source, piece, first_line), piece))
    return parts, rest


def leftover_text(source: str, text: str, first_line: int = 1) -> LogReading:
    """A piece no other reader claims, read as a log; its line numbers count in the whole input."""
    return read_log(text, source, first_line)


def _pieces(text: str) -> list[tuple[int, str]]:
    """The input cut at its code fences: (number of the piece's first line, piece)."""
    blocks = fenced_blocks(text)
    if not blocks:
        return [(1, text)]
    pieces: list[tuple[int, int, int]] = []  # (first line's offset, start, end)
    last = 0
    for block in blocks:
        pieces.append((last, last, block.start))
        pieces.append((block.body_start, block.body_start, block.body_end))
        last = block.end
    pieces.append((last, last, len(text)))
    numbered: list[tuple[int, str]] = []
    line, counted_to = 1, 0
    for first_offset, start, end in pieces:
        line += text.count("\n", counted_to, first_offset)
        counted_to = first_offset
        if text[start:end].strip():
            numbered.append((line, text[start:end]))
    return numbered


class FencedBlock(NamedTuple):
    """Offsets of one fenced code block in the text."""

    start: int
    """The opening fence line's first character."""
    body_start: int
    body_end: int
    end: int
    """Just after the closing fence line (its newline, or the end of the text)."""


def fenced_blocks(text: str) -> list[FencedBlock]:
    """The code blocks of a Markdown paste: each from a line that begins (after blanks) with
    ``` or ~~~ to the next line that holds the same three characters alone; an opening never
    closed is text. Found by string search: a regex for them is tried at every offset of the
    text, and took a tenth of the time of reading a long log."""
    lines = _fence_lines(text)
    closing_after = _next_closing(lines)
    blocks: list[FencedBlock] = []
    searched_to = 0
    for index, (line_start, line_end, _, _) in enumerate(lines):
        closing = closing_after[index]
        if line_start < searched_to or line_end == len(text) or closing is None:
            continue
        close_start, close_end, _, _ = lines[closing]
        blocks.append(FencedBlock(line_start, line_end + 1, close_start, close_end))
        searched_to = close_end
    return blocks


def _fence_lines(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, mark, nothing else on the line) of each line that begins with a fence mark."""
    found: dict[int, tuple[int, int, str, bool]] = {}
    for mark in ("```", "~~~"):
        at = text.find(mark)
        while at >= 0:
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line_end = len(text) if line_end < 0 else line_end
            if not text[line_start:at].strip(" \t"):
                bare = not text[at + len(mark) : line_end].strip(" \t")
                found[line_start] = (line_start, line_end, mark, bare)
            at = text.find(mark, line_end)
    return [found[start] for start in sorted(found)]


def _next_closing(lines: list[tuple[int, int, str, bool]]) -> list[int | None]:
    """For each fence line, the index of the first later line that can close it."""
    closing_after: list[int | None] = [None] * len(lines)
    latest: dict[str, int] = {}
    for index in range(len(lines) - 1, -1, -1):
        _, _, mark, bare = lines[index]
        closing_after[index] = latest.get(mark)
        if bare:
            latest[mark] = index
    return closing_after


def read_piece(source: str, text: str) -> list[Part]:
    """Every part one piece holds; [] when no reader claims it."""
    if nvsmi_xml.looks_like(text):
        return [_xml_part(source, text)]
    if envreports.looks_like_tf_env_collect(text):
        return _tf_env_collect(source, text)
    if envreports.looks_like_torch_collect_env(text):
        return [Part(source, "torch-collect-env", envreports.read_torch_collect_env(text))]
    found = _smi_text_parts(source, text)
    for reader in _PACKAGE_READERS:
        listed = reader(text)
        if listed is not None:
            found.append(Part(source, listed.kind, listed))
            break
    return found


_PACKAGE_READERS: tuple[Callable[[str], PackageList | None], ...] = (
    packages.read_conda_env_export,
    packages.read_conda_list,
    packages.read_pip_list,
    packages.read_pip_freeze,
)


def _smi_text_parts(source: str, text: str) -> list[Part]:
    found: list[Part] = []
    if nvsmi_text.looks_like_query(text):
        dump, warnings = nvsmi_text.read_query(text)
        found.append(Part(source, dump.kind, dump, warnings))
    if nvsmi_text.looks_like_table(text):
        dump, warnings = nvsmi_text.read_table(text)
        found.append(Part(source, dump.kind, dump, warnings))
    if nvsmi_text.failure_found(text):
        dump = nvsmi_text.read_failure(text)
        found.append(Part(source, dump.kind, dump))
    return found


def _xml_part(source: str, text: str) -> Part:
    try:
        dump, warnings = nvsmi_xml.read_xml(text)
    except nvsmi_xml.XmlRefused as error:
        raise InputError(f"{source}: {error}") from None
    except ValueError as error:
        raise InputError(f"{source}: not readable as nvidia-smi -q -x ({error})") from None
    return Part(source, dump.kind, dump, warnings)


def _tf_env_collect(source: str, text: str) -> list[Part]:
    report, smi_section = envreports.read_tf_env_collect(text)
    found = [Part(source, report.kind, report)]
    if smi_section:
        found += _smi_text_parts(source, smi_section)
    return found


def _read_json(source: str, text: str) -> Part | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(data, dict) and isinstance(data.get("meta"), dict) and "calls" in data:
        return Part(source, "nvml-recording", data["meta"])
    if isinstance(data, dict) and "schema_version" in data and "nvml" in data:
        try:
            snapshot = codec.decode(Snapshot, data)
        except codec.DecodeError as error:
            raise InputError(f"{source}: an envkit report, but not a valid one ({error})") from None
        return Part(source, "envkit-report", snapshot)
    return None
