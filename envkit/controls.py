"""Control characters made visible: what envkit prints from any input reaches a terminal as text,
and what the stream cannot encode reaches it escaped.

Apart from :mod:`envkit.redact` (which it used to sit in) so that printing, which every command
does, does not load the redaction patterns, which only shared reports need.
"""

from __future__ import annotations

import re
from typing import TextIO

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""C0 (but newline and tab), DEL, C1, the bidirectional overrides and lone surrogates."""


def escape_control(text: str) -> str:
    """``text`` with every character that could move the cursor, recolour the terminal, reorder
    what is shown or fail to encode written as ``\\xNN`` / ``\\uNNNN``: what a snapshot, a report
    or a probe answer holds reaches a terminal only as visible text. Newlines and tabs stay."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def encodable(text: str, encoding: str) -> str:
    """``text`` with what ``encoding`` cannot write as ``\\uNNNN`` (a stream set to ASCII gets the
    marks escaped, never a traceback)."""
    if encoding.lower() in ("utf-8", "utf8"):
        return text
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding Python does not know: leave the text to the stream
        return text


def write_shown(stream: TextIO, text: str) -> None:
    """``text`` written with its control characters made visible, and what the stream cannot
    encode escaped."""
    shown = escape_control(text)
    try:
        stream.write(shown)
    except UnicodeEncodeError:
        stream.write(encodable(shown, getattr(stream, "encoding", None) or "utf-8"))
