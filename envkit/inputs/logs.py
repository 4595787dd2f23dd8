"""Reading a log or a pasted bug report: recognised lines, Python tracebacks, context clues.

``read_log`` is pure: text in, a ``LogReading`` out. It looks at every line, wherever it sits
(a log alone, or the "relevant log output" of an issue template between other parts), and
keeps every line it does not recognise, so that ``-v`` can list them. Terminal escape
sequences and control characters are removed before anything is kept, so nothing read here
can move the cursor or recolour a terminal when it is printed.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from envkit.knowledge import logs as log_table
from envkit.model import (
    LogClue,
    LogEvent,
    LogLine,
    LogReading,
    PythonException,
    TracebackFrame,
)

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS strings
    r"|\x1b[ -/]*[0-~]?"  # any other escape
)
# Removed from what is shown: C0 controls but tab and newline, DEL, C1 controls, and the Unicode
# bidirectional and line-separator marks that reorder or break a terminal line. A tab becomes a
# space. (One regex over the whole text: str.translate with a table was a tenth of reading a log.)
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]"
)


def _without_controls(text: str) -> str:
    return _CONTROLS.sub("", text).replace("\t", " ")


_QUOTE_PREFIX = re.compile(r"^\s*(?:>\s*)+")
_TRACEBACK_HEADER = re.compile(
    r"^(?:(?P<type>[A-Za-z_][\w.]*)\s+)?Traceback \(most recent call last\):?\s*(?P<rest>.*)$"
)
_FRAME_PATTERNS = (
    # CPython: File "/x/site-packages/tensorflow/__init__.py", line 37, in <module>
    re.compile(r'^File "(?P<path>[^"]+)", line (?P<lineno>\d+)(?:, in (?P<function>.+))?$'),
    # IPython 8: File /x/site-packages/keras/utils/traceback_utils.py:70, in error_handler(...)
    re.compile(r"^File (?P<path>\S.*?):(?P<lineno>\d+)(?:, in (?P<function>[\w<>.]+))?"),
    # IPython 7: ~/envs/tf/lib/python3.8/site-packages/x.py in fit(self, ...)
    re.compile(
        r"^(?P<path>(?:~|/|[A-Za-z]:\\|<ipython-input-)\S*\.py|<ipython-input-[\w-]+>)"
        r" in (?P<function>[\w<>.]+)"
    ),
    # IPython 8 notebook cell: Cell In[14], line 18
    re.compile(r"^(?P<path>Cell In\[\d+\]), line (?P<lineno>\d+)"),
)
_EXCEPTION = re.compile(
    r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failure))"
    r"(?:\s*\(see above for traceback\))?(?::\s*(?P<message>.*)|\s*)$"
)
_CHAINED = re.compile(
    r"^(?:During handling of the above exception, another exception occurred"
    r"|The above exception was the direct cause of the following exception):?$"
)
_MODULE_PATH = re.compile(r"[\\/](?:site|dist)-packages[\\/](?P<module>[^\"]+?)\.py[cw]?$")

# Clues: (name, gate, regex, value). The gate is lowercase substrings one of which the
# lowercased line must contain before the regex is tried; value None takes the first group.
_CLUES: tuple[tuple[str, tuple[str, ...], re.Pattern[str], str | None], ...] = (
    (
        "wsl",
        ("wsl", "microsoft-standard"),
        re.compile(r"/usr/lib/wsl/|microsoft-standard(?:-WSL2)?\b|\bWSL ?2\b"),
        "wsl2",
    ),
    (
        "container",
        ("hostname: ", "@"),
        re.compile(r"\bhostname: ([0-9a-f]{12})\s*$|^(?:\(\S+\) )?\w+@([0-9a-f]{12}):[~/]"),
        None,
    ),
    (
        "container",
        ("dockerenv", "docker", "podman", "nvidia_visible_devices="),
        re.compile(
            r"/\.dockerenv|\b(?:docker|podman|nvidia-docker) run\b|\bdocker (?:container|image)\b"
            r"|NVIDIA_VISIBLE_DEVICES="
        ),
        "container",
    ),
    (
        "windows",
        (":\\", "64_", "\\appdata\\"),
        re.compile(
            r"\b[A-Za-z]:\\(?:[^\\\n]+\\)*?(?:site-packages|Users|Program Files|AppData)\b"
            r"|\b(?:cudart|cudnn|cublas)64_\w+\.dll\b|^~\\AppData\\"
        ),
        "windows",
    ),
    (
        "macos",
        ("/opt/homebrew/", "python.framework", "macos"),
        re.compile(r"/opt/homebrew/|/Library/Frameworks/Python\.framework|\bmacOS\b"),
        "macos",
    ),
    (
        "python-version",
        ("-packages", "python version"),
        re.compile(r"python(\d\.\d+)[\\/](?:site|dist)-packages|Python version\W*(\d\.\d+)", re.I),
        None,
    ),
    (
        "tensorflow-version",
        ("version", "=="),
        re.compile(
            r"TensorFlow(?:-gpu)? version[^:\n\d]*:?\s*v?(\d+\.\d+(?:\.\d+)?)"
            r"|\btensorflow(?:-gpu|-cpu)?\s*==\s*(\d+\.\d+(?:\.\d+)?)",
            re.I,
        ),
        None,
    ),
    ("conda-env", ("envs",), re.compile(r"[\\/]envs[\\/]([\w.-]+)[\\/](?:lib|Lib)\b"), None),
)
_CLUE_GATE = log_table.substring_gate(word for _, gate, _, _ in _CLUES for word in gate)
_VERSION_HEADING = re.compile(r"^#+\s*TensorFlow version\s*$", re.I)
_VERSION_VALUE = re.compile(r"^v?(\d+\.\d+(?:\.\d+)?)\b")


def neutralise(text: str) -> str:
    """``text`` without terminal escape sequences or control characters (tabs become spaces)."""
    return _without_controls(_ESCAPES.sub("", text))


def read_log(text: str, source: str = "", first_line: int = 1) -> LogReading:
    """Every recognised line, exception and clue of ``text``, and the lines not recognised.

    ``source`` names the input in evidence (a file name); ``first_line`` is the number of the
    text's first line in that input, for a piece cut out of a longer one."""
    reader = _Reader()
    text = _ESCAPES.sub("", text)
    if "\r" in text:
        visible = [_visible(raw) for raw in text.split("\n")]
    else:  # the same, in one pass over the whole text
        visible = [line.rstrip() for line in _without_controls(text).split("\n")]
    for number, shown in enumerate(visible, start=first_line):
        reader.read(number, shown)
    return reader.reading(len(visible) if text else 0, source)


def merged(readings: list[LogReading], source: str) -> LogReading:
    """The pieces of one input read as one log (their line numbers already count in the whole
    input), so that a cause seen in several pieces is one verdict, not one per piece."""
    clues: dict[tuple[str, str], LogClue] = {}
    for reading in readings:
        for clue in reading.clues:
            clues.setdefault((clue.name, clue.value), clue)
    return LogReading(
        line_count=sum(r.line_count for r in readings),
        events=tuple(e for r in readings for e in r.events),
        exceptions=tuple(x for r in readings for x in r.exceptions),
        clues=tuple(clues.values()),
        unrecognised=tuple(line for r in readings for line in r.unrecognised),
        source=source,
    )


def _visible(raw: str) -> str:
    """What a terminal shows of one line: the last carriage-return segment, controls removed."""
    if "\r" in raw:
        segments = [segment for segment in raw.split("\r") if segment.strip()]
        raw = segments[-1] if segments else ""
    return _without_controls(raw).rstrip()


def _clues_in(content: str, lowered: str) -> tuple[tuple[str, str], ...]:
    """(clue name, value) of every context clue the line shows."""
    if _CLUE_GATE.search(lowered) is None:
        return ()
    found: list[tuple[str, str]] = []
    for name, gate, regex, value in _CLUES:
        if not any(word in lowered for word in gate):
            continue
        match = regex.search(content)
        if match is None:
            continue
        chosen = value or next((g for g in match.groups() if g), None)
        if chosen is not None:
            found.append((name, chosen))
    return tuple(found)


class _Frame(NamedTuple):
    path: str
    module: str | None
    function: str | None
    source_line: int | None


class _LineFacts(NamedTuple):
    """What one line's text is, whatever the lines around it: read once per distinct text."""

    clues: tuple[tuple[str, str], ...]
    version_heading: bool
    """``## TensorFlow version``: the next line may be the version alone."""
    version_value: str | None
    """The version, where the line starts with one (after such a heading)."""
    traceback_rest: str | None
    """Where the line is a traceback header: what follows it on the line (often "")."""
    frame: _Frame | None
    chained: bool
    """"During handling of the above exception ...": part of the traceback around it."""
    matched: tuple[log_table.LogPattern, tuple[tuple[str, str], ...]] | None
    """The table's pattern and the named groups its match found."""
    exception: tuple[str, str] | None
    """(type, message) of a Python exception line."""


# Once per distinct line of the process: logs repeat their lines (the same warning every step,
# the same error from every worker, one log pasted in several pieces).
@functools.lru_cache(maxsize=8192)
def _facts_of(content: str) -> _LineFacts:
    lowered = content.lower()
    version = _VERSION_VALUE.match(content)
    # the rarer regexes run only on lines holding the words they need
    header = _TRACEBACK_HEADER.match(content) if "Traceback" in content else None
    matched = log_table.match_line(content)
    exception = _EXCEPTION.match(content)
    return _LineFacts(
        clues=_clues_in(content, lowered),
        version_heading="tensorflow version" in lowered and bool(_VERSION_HEADING.match(content)),
        version_value=version.group(1) if version else None,
        traceback_rest=header.group("rest").strip() if header else None,
        frame=_frame_in(content),
        chained=content.startswith(("During handling", "The above"))
        and bool(_CHAINED.match(content)),
        matched=(matched[0], _named_groups(matched[1])) if matched else None,
        exception=(exception.group("type"), (exception.group("message") or "").strip())
        if exception
        else None,
    )


def _named_groups(found: re.Match[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in found.groupdict().items() if v is not None)


def _frame_in(content: str) -> _Frame | None:
    for regex in _FRAME_PATTERNS:
        found = regex.match(content)
        if found is None:
            continue
        groups = found.groupdict()
        path = groups["path"]
        lineno = groups.get("lineno")
        module = _MODULE_PATH.search(path)
        dotted = module.group("module").replace("/", ".").replace("\\", ".") if module else None
        return _Frame(path, dotted, groups.get("function"), int(lineno) if lineno else None)
    return None


class _Reader:
    def __init__(self) -> None:
        self.events: list[LogEvent] = []
        self.exceptions: list[PythonException] = []
        self.clues: dict[tuple[str, str], LogClue] = {}
        self.unrecognised: list[LogLine] = []
        self.frames: list[TracebackFrame] = []
        self.in_traceback = False
        self.heading_wants_version = False

    def read(self, number: int, shown: str) -> None:
        content = shown.strip()
        if content.startswith(">"):  # a quoted reply
            content = _QUOTE_PREFIX.sub("", content).strip()
        if not content:
            return
        facts = _facts_of(content)
        line = LogLine(number, shown)
        accounted = self._clue(line, facts)
        if facts.traceback_rest is not None:
            self.in_traceback, self.frames = True, []
            if facts.traceback_rest:
                self._frame(line, _frame_in(facts.traceback_rest))
            return
        if (self.in_traceback or content.startswith('File "')) and self._frame(line, facts.frame):
            return
        if facts.chained:
            return
        if facts.matched is not None:
            pattern, details = facts.matched
            self.events.append(LogEvent(pattern.pattern_id, pattern.kind, pattern.effect,
                                        line, details))  # fmt: skip
            accounted = True
        if facts.exception is not None:
            self._exception(line, *facts.exception)
            return
        if not accounted and not self.in_traceback:
            self.unrecognised.append(line)

    def _frame(self, line: LogLine, frame: _Frame | None) -> bool:
        if frame is None:
            return False
        self.frames.append(TracebackFrame(*frame, line))
        self.in_traceback = True
        return True

    def _exception(self, line: LogLine, type_name: str, message: str) -> None:
        self.exceptions.append(
            PythonException(type_name, message, line, tuple(self.frames), self.in_traceback)
        )
        self.in_traceback, self.frames = False, []

    def _clue(self, line: LogLine, facts: _LineFacts) -> bool:
        if self.heading_wants_version:
            self.heading_wants_version = False
            if facts.version_value is not None:
                self._add_clue("tensorflow-version", facts.version_value, line)
                return True
        if facts.version_heading:
            self.heading_wants_version = True
            return True
        for name, value in facts.clues:
            self._add_clue(name, value, line)
        return bool(facts.clues)

    def _add_clue(self, name: str, value: str, line: LogLine) -> None:
        if (name, value) not in self.clues:  # the first line that shows it
            self.clues[name, value] = LogClue(name, value, line)

    def reading(self, line_count: int, source: str) -> LogReading:
        return LogReading(
            line_count,
            tuple(self.events),
            tuple(self.exceptions),
            tuple(self.clues.values()),
            tuple(self.unrecognised),
            source,
        )
