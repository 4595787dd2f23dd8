"""Fix lines fitted to a width: a command is never broken, a comment wraps with ``#`` kept.

Pasting a printed fix must never run prose as a command. A command (and a path) stays whole on
its line, even wider than the terminal; a comment, alone or after a command, wraps at spaces and
every continuation line starts with ``#`` again, under the first one.
"""

from __future__ import annotations

import re
import textwrap


def comment_start(line: str) -> int | None:
    """Where the shell comment of ``line`` starts (``#`` outside quotes, at a word's start)."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"`":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return index
    return None


def fix_lines(line: str, width: int) -> list[str]:
    """``line`` as one or more lines of at most ``width`` cells where its words allow."""
    start = comment_start(line)
    if start is None or len(line) <= width:
        return [line]
    command, comment = line[:start], line[start:].removeprefix("#").strip()
    room = max(20, width - len(command) - 2)
    words = textwrap.wrap(comment, room, break_long_words=False, break_on_hyphens=False) or [""]
    hang = " " * len(command)
    return [f"{command}# {words[0]}", *(f"{hang}# {more}" for more in words[1:])]


_WORD = re.compile(r"(?:[^\s`]*`[^`]*`)+[^\s`]*|\S+")
"""A word, where a `span in backticks` with its spaces and the punctuation around it is one."""


def prose_lines(text: str, width: int) -> list[str]:
    """``text`` wrapped at spaces into lines of at most ``width`` where its words allow; a command
    in backticks is one word, so it is never split across lines (a pasted half runs something
    else). A word wider than the line stands alone on its own line."""
    lines: list[str] = []
    for word in _WORD.findall(text):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]
