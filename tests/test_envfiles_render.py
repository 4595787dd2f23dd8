"""envkit env check output: the doctor's lines for one file, and the --fix hint."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from envkit.envfiles import check_file, spec_for, to_yaml
from envkit.envfiles.render import fix_hint, print_check

FIXTURES = Path(__file__).parent / "fixtures" / "envfiles"


def _render(path: Path, *, verbose: bool = False) -> str:
    console = Console(record=True, width=100, color_system=None)
    print_check(console, check_file(path), verbose=verbose)
    return console.export_text()


def test_findings_print_as_the_doctors_with_fix_lines_whole() -> None:
    text = _render(FIXTURES / "broken-mix.yml")
    assert "[✗] Python" not in text  # Python 3.9 is past its end of life: a warning, no error
    assert "[✗] TensorFlow: tensorflow-gpu==2.15.* → TensorFlow 2.15" in text
    assert "line 9: numpy=2.0; TensorFlow before 2.18 fails" in text
    assert "\n" + " " * 12 + "- tensorflow[and-cuda]==2.15.*\n" in text  # indentation kept
    assert "System" not in text and "NVIDIA" not in text
    assert "5 errors, 1 warning in 2 areas." in text
    assert "--fix -o " in text and "broken-mix.fixed.yml" in text


def test_a_clean_file_says_so_and_offers_no_fix(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(to_yaml(spec_for(gpu=True)))
    result = check_file(path)
    assert fix_hint(result) is None
    text = _render(path)
    assert "No issues found." in text
    assert "[✓] Python: Python " in text
