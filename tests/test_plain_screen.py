"""The plain screen prints what rich prints where no style can show, without loading rich.

Each view is drawn twice, on envkit's SafeConsole (rich) without colour and on a PlainScreen, at
several widths; the texts must be the same, character for character. The findings are the
SYNTHETIC ones of tests/test_render_doctor.py, plus one from a real log excerpt read by --from.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from envkit.cli._from import read_from
from envkit.doctor import diagnose_inputs
from envkit.model import DoctorReport, Finding, Severity
from envkit.render.doctor import print_doctor
from envkit.render.lines import (
    Line,
    PlainScreen,
    Screen,
    cell_len,
    plain_stdout,
    terminal_width,
)
from envkit.terminal import SafeConsole
from tests.test_render_doctor import GPU_LOST, synthetic_report

LOGS = Path(__file__).parent / "fixtures" / "logs"
WIDTHS = (40, 60, 80, 120)

ODD_TEXT = Finding(
    check_id="system.odd-text",
    severity=Severity.ERROR,
    area="system",
    title="A title with 日本語の文字, a tab\there, [bold]markup[/bold] and \x1b[31mescapes",
    evidence="evidence\twith tabs · ünïcödé · a-word-far-too-long-to-fit-on-any-line-at-all-here",
    fix=("# a comment that goes on and on past the edge of a narrow terminal window, for sure",),
    link="https://example.org/a/link",
)


def _rich(draw: Callable[[Screen], None], width: int) -> str:
    buffer = io.StringIO()
    draw(SafeConsole(file=buffer, width=width, color_system=None, highlight=False))
    return buffer.getvalue()


def _plain(draw: Callable[[Screen], None], width: int) -> str:
    buffer = io.StringIO()
    draw(PlainScreen(buffer, width))
    return buffer.getvalue()


def _log_report() -> DoctorReport:
    return diagnose_inputs(read_from([str(LOGS / "cannot-dlopen-wsl.txt")]))


VIEWS: dict[str, Callable[[Screen], None]] = {
    "doctor": lambda screen: print_doctor(screen, synthetic_report(), verbose=False),
    "doctor -v": lambda screen: print_doctor(screen, synthetic_report(), verbose=True),
    "doctor odd text -v": lambda screen: print_doctor(
        screen, synthetic_report(ODD_TEXT, GPU_LOST), verbose=True
    ),
    "doctor --from log -v": lambda screen: print_doctor(screen, _log_report(), verbose=True),
    "doctor --from log": lambda screen: print_doctor(screen, _log_report(), verbose=False),
}
"""The views a plain screen prints (report's rows are folded by rich, and stay on it)."""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", VIEWS)
def test_plain_screen_prints_what_rich_prints_without_colour(view: str, width: int) -> None:
    draw = VIEWS[view]
    assert _plain(draw, width) == _rich(draw, width)


def test_line_cells_count_wide_and_combining_characters() -> None:
    assert cell_len("abc") == 3
    assert cell_len("日本") == 4
    assert cell_len("e\u0301") == 1  # e and a combining acute accent
    assert (Line("[✗]", "bold red") + Line(" NVIDIA")).cell_len == 10


def test_stdout_is_plain_only_where_no_colour_is_forced() -> None:
    # under pytest stdout is captured, not a terminal
    assert isinstance(plain_stdout({}), PlainScreen)
    assert plain_stdout({"FORCE_COLOR": "1"}) is None
    assert plain_stdout({"TTY_COMPATIBLE": "1"}) is None


def test_width_is_columns_where_given() -> None:
    assert terminal_width({"COLUMNS": "57"}) == 57
    assert terminal_width({"COLUMNS": "wide"}) in range(1, 10_000)


def test_doctor_on_a_pipe_loads_no_rich_and_prints_the_same(tmp_path: Path) -> None:
    log = LOGS / "oom-gpu.txt"
    program = (
        "import sys, runpy\n"
        "sys.argv = ['envkit', 'doctor', '--from', sys.argv[1]]\n"
        "try:\n"
        "    runpy.run_module('envkit', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(str('rich' in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run(
        [sys.executable, "-c", program, str(log)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
        env={**env, "COLUMNS": "80"},
    )
    assert done.stderr.strip().endswith("False")
    report = diagnose_inputs(read_from([str(log)]))
    assert done.stdout == _rich(lambda screen: print_doctor(screen, report, verbose=False), 80)


def test_forced_colour_on_a_pipe_still_colours(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", "--from", str(LOGS / "oom-gpu.txt")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "FORCE_COLOR": "1"},
    )
    assert "\x1b[" in done.stdout


@pytest.mark.parametrize("colour", [False, True])
def test_a_stream_that_is_not_utf8_gets_the_marks_escaped(colour: bool) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    screen: Screen = (
        SafeConsole(file=stream, force_terminal=True, highlight=False, width=80)
        if colour
        else PlainScreen(stream, 80)
    )
    print_doctor(screen, synthetic_report(), verbose=False)
    stream.flush()
    shown = re.sub(r"\x1b\[[0-9;]*m", "", raw.getvalue().decode("ascii"))  # colours off
    assert "[\\u2717] NVIDIA" in shown and "GPU 1 has fallen off the bus" in shown


def test_a_linked_span_links_on_a_terminal_and_prints_its_text_on_a_pipe() -> None:
    line = Line.assemble(
        ("See ", "dim"), ("https://example.org/x", "blue", "https://example.org/x")
    )
    buffer = io.StringIO()
    SafeConsole(file=buffer, force_terminal=True, color_system="standard").print(line)
    assert "\x1b]8;" in buffer.getvalue()  # the terminal hyperlink
    plain = io.StringIO()
    PlainScreen(plain, 80).print(line)
    assert plain.getvalue() == "See https://example.org/x\n"
