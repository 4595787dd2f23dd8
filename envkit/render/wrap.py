"""Fix lines fitted to a width: a command is never broken, a comment wraps with ``#`` kept.

Pasting a printed fix must never run prose as a command. A command (and a path) stays whole on
its line, even wider than the terminal; a comment, alone or after a command, wraps at spaces and
every continuation line starts with ``#`` again, under the first one.
"""

from __future__ import annotations

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
