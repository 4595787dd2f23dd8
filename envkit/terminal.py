"""The terminal seam: what envkit prints passes through :func:`envkit.redact.escape_control`.

A snapshot, a fleet report, a package name or an environment variable can hold escape
sequences (recolour the terminal, retitle the window, hide text, move the cursor); envkit shows
them as visible ``\\x1b`` text. :class:`SafeConsole` escapes every text segment Rich renders,
while Rich's own styling, added after, still reaches the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

from envkit.redact import escape_control


class SafeConsole(Console):
    """A Rich console whose text can never carry a control character from its input."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        safe = (
            segment if segment.control else Segment(escape_control(segment.text), segment.style)
            for segment in buffer
        )
        return super()._render_buffer(safe)
