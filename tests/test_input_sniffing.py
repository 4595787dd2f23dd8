"""The shortcuts that decide what an input is without reading all of it the slow way: each gives
the answer the full reading gives (code fences, package lists, nvidia-smi failure lines)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from envkit.inputs import nvsmi_text, packages
from envkit.inputs.reader import fenced_blocks, read_inputs

# The definition of a fenced block: what fenced_blocks finds by string search.
FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)

FENCE_TEXT = st.lists(
    st.sampled_from(["```", "~~~", "````", "```python", " ", "\t", "\n", "\r", "x", "`", "~"]),
    max_size=40,
).map("".join)


@settings(max_examples=600, deadline=None)
@given(FENCE_TEXT)
def test_fenced_blocks_are_those_the_fence_regex_finds(text: str) -> None:
    expected = [(m.start(), m.start(2), m.end(2), m.end()) for m in FENCE.finditer(text)]
    assert [tuple(block) for block in fenced_blocks(text)] == expected


def test_a_pasted_report_is_cut_at_its_fences_with_line_numbers() -> None:
    text = (
        "My log:\n```\n2024-01-01 I tensorflow/core: hello\nKilled\n```\n"
        "and pip:\n~~~\nnumpy==1.26.4\ntensorflow==2.15.0\n~~~\n"
        "``` unclosed\nIllegal instruction (core dumped)\n"
    )
    reading = read_inputs([("report.md", text)])
    assert [part.kind for part in reading.parts] == ["pip-freeze"]
    (log,) = reading.logs
    lines = {event.cause: event.line.line_number for event in log.events}
    assert lines["killed"] == 4
    assert lines["illegal-instruction"] == 12


def _freeze(rows: int, others_first: int) -> str:
    other = [f"2024-01-01 12:00:0{n} step {n} loss 0.{n}" for n in range(others_first)]
    return "\n".join(other + [f"package{n}==1.{n}" for n in range(rows)]) + "\n"


def test_pip_freeze_takes_a_fifth_of_other_lines_and_no_more() -> None:
    # the other lines first: the reader gives up early only when the rest cannot make up for them
    accepted = packages.read_pip_freeze(_freeze(rows=8, others_first=2))
    assert accepted is not None and len(accepted.distributions) == 8
    assert packages.read_pip_freeze(_freeze(rows=8, others_first=3)) is None
    assert packages.read_pip_freeze(_freeze(rows=80, others_first=20)) is not None
    assert packages.read_pip_freeze(_freeze(rows=80, others_first=21)) is None


def test_every_nvidia_smi_failure_pattern_holds_a_gate_word() -> None:
    for pattern, _, _ in nvsmi_text._FAILURES:
        assert any(word in pattern.pattern.lower() for word in nvsmi_text._FAILURE_WORDS)


def test_a_failure_line_in_any_case_is_found() -> None:
    assert nvsmi_text.failure_found("log start\nfailed to initialize nvml: Unknown Error\n")
    assert nvsmi_text.failure_found("No devices were found\n")
    assert not nvsmi_text.failure_found("nvidia-smi shows two GPUs here\n")
