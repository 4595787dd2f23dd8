"""The one output seam: a command's typed report, a table of renderers, a chosen format.

A command builds ``Renderers`` once (text draws on a rich Console; json, markdown and junit
return text) and hands its report to ``emit_report`` with the format the user chose. The
renderers live in ``render/`` or the feature's ``render.py``, never in a core; the exit status
comes from the report (``report.exit_code``), never from a renderer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from envkit.cli._app import emit, emit_rich
from envkit.records import record

if TYPE_CHECKING:
    from rich.console import Console

R = TypeVar("R")
FORMATS = ("text", "json", "markdown", "junit")


@record
class Renderers(Generic[R]):
    """What a command's report can be written as; None where it has no such format."""

    text: Callable[[Console, R], None]
    json: Callable[[R], str] | None = None
    markdown: Callable[[R], str] | None = None
    junit: Callable[[R], str] | None = None


def emit_report(
    report: R, renderers: Renderers[R], fmt: str, output: Path | None, force: bool
) -> None:
    """Write ``report`` as ``fmt`` to ``output`` (None: stdout)."""
    if fmt == "text":
        draw = renderers.text
        emit_rich(lambda console: draw(console, report), output, force)
        return
    render: Callable[[R], str] | None = getattr(renderers, fmt)
    if render is None:
        raise ValueError(f"this command has no {fmt} output")
    emit(render(report), output, force)
