"""The terminal seam: what envkit prints passes through :func:`envkit.redact.escape_control`.

A snapshot, a fleet report, a package name or an environment variable can hold escape
sequences (recolour the terminal, retitle the window, hide text, move the cursor); envkit shows
them as visible ``\\x1b`` text. :class:`SafeConsole` escapes every text segment Rich renders,
while Rich's own styling, added after, still reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment

from envkit.controls import encodable, escape_control


class SafeConsole(Console):
    """A Rich console whose text can never carry a control character from its input.

    Whether it writes to a terminal is decided once, and so is the width where it does not (a
    file or a pipe never changes size): Rich asks the environment, the file and the terminal
    again on every print, over half of the time of printing a long doctor view.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._force_terminal is None:
            self._force_terminal = self.is_terminal
        if not self.is_terminal:
            self.size = self.size

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        safe = (
            segment if segment.control else Segment(escape_control(segment.text), segment.style)
            for segment in buffer
        )
        return encodable(super()._render_buffer(safe), self.encoding)
