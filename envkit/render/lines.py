"""Styled lines for the text views, and a screen that prints them without rich.

A renderer builds each line as a :class:`Line` of (text, style) spans and prints it on a
:class:`Screen`: a rich console (a Line is a rich renderable, through ``__rich__``) where colour
can show, or a :class:`PlainScreen` where it cannot. On a pipe or in a file rich prints the same
characters without styles; the plain screen prints them without importing rich at all, which
with drawing the lines was a sixth of the time of ``envkit doctor --from`` on a long log.

Renderers wrap their own lines (``envkit.render.wrap``) and print each one with
``soft_wrap=True``, so both screens print exactly the lines they are given.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from envkit.controls import write_shown

if TYPE_CHECKING:
    from rich.text import Text

Span = tuple[str, str, str]
"""(text, style, link): a rich style definition ("bold red", "dim"), "" for none; the URL the
text links to on a terminal that shows links, "" for none."""


class Screen(Protocol):
    """What the text renderers print on: a rich ``Console`` or a :class:`PlainScreen`."""

    @property
    def width(self) -> int: ...

    def print(self, *objects: Any, soft_wrap: bool | None = None) -> None: ...


class Line:
    """One line of text in styled spans; immutable."""

    __slots__ = ("spans",)

    def __init__(self, text: str = "", style: str = "", link: str = "") -> None:
        self.spans: tuple[Span, ...] = ((text, style, link),) if text else ()

    @classmethod
    def assemble(cls, *parts: str | tuple[str, str] | Span) -> Line:
        """A line of parts: plain text, (text, style) or (text, style, link)."""
        line = cls()
        line.spans = tuple(_span(part) for part in parts)
        return line

    def __add__(self, other: Line) -> Line:
        return Line.assemble(*self.spans, *other.spans)

    @property
    def plain(self) -> str:
        return "".join(text for text, _, _ in self.spans)

    @property
    def cell_len(self) -> int:
        """Terminal cells the line takes: two for a wide (East Asian) character, none for a
        combining one."""
        return cell_len(self.plain)

    def __rich__(self) -> Text:
        from rich.style import Style
        from rich.text import Text

        def rich_span(span: Span) -> tuple[str, str | Style]:
            text, style, link = span
            return (text, Style.parse(style) + Style(link=link)) if link else (text, style)

        return Text.assemble(*(rich_span(span) for span in self.spans))

    def __repr__(self) -> str:
        return f"Line({self.plain!r})"


def _span(part: str | tuple[str, str] | Span) -> Span:
    if isinstance(part, str):
        return (part, "", "")
    if len(part) == 2:
        return (part[0], part[1], "")
    return part


def cell_len(text: str) -> int:
    if text.isascii():
        return len(text)
    return sum(_char_cells(char) for char in text)


def _char_cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


class PlainScreen:
    """Lines as plain text, control characters made visible (as :class:`SafeConsole` does)."""

    def __init__(self, file: TextIO, width: int) -> None:
        self.file = file
        self.width = width

    def print(self, *objects: Any, soft_wrap: bool | None = None) -> None:
        text = " ".join(item.plain if isinstance(item, Line) else str(item) for item in objects)
        write_shown(self.file, text.expandtabs(8) + "\n")


def plain_stdout(environ: Mapping[str, str] = os.environ) -> PlainScreen | None:
    """A plain screen on stdout where rich would print no style either: stdout is not a terminal
    and nothing forces colour (FORCE_COLOR, TTY_COMPATIBLE); None where it may show."""
    if "FORCE_COLOR" in environ or "TTY_COMPATIBLE" in environ:
        return None
    try:
        if sys.stdout.isatty():
            return None
    except ValueError:  # a closed stdout
        return None
    return PlainScreen(sys.stdout, terminal_width(environ))


def terminal_width(environ: Mapping[str, str] = os.environ) -> int:
    """The width rich gives a console that is not a terminal: COLUMNS, else the size of the first
    of stdin, stdout and stderr that is a terminal (a pipe is as wide as the terminal the command
    runs in), else 80."""
    columns = environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns):
        return int(columns)
    for descriptor in (0, 1, 2):
        try:
            width = os.get_terminal_size(descriptor).columns
        except (AttributeError, ValueError, OSError):
            continue
        return width or 80
    return 80
