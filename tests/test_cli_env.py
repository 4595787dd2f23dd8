"""`envkit env generate | check | export` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from envkit.envfiles import ROOT_FILES
from tests.envs import require_test_env
from tests.test_cli import assert_one_line_usage_error, envkit

REPO = Path(__file__).resolve().parents[1]
TUTORIAL = """\
# The tutorial's setup, written as a file
name: tf3.6
channels:
  - defaults
dependencies:
  - python=3.6
  - tensorflow-gpu=1.12
  - keras
"""


@pytest.mark.parametrize("file_name", sorted(ROOT_FILES))
def test_generate_matches_the_committed_root_files(file_name: str, tmp_path: Path) -> None:
    flag = "--gpu" if ROOT_FILES[file_name] else "--cpu"
    target = tmp_path / file_name
    result = envkit("env", "generate", flag, "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == (REPO / file_name).read_text()


def test_generate_refuses_a_pair_that_does_not_fit() -> None:
    result = envkit("env", "generate", "--gpu", "--python-version", "3.8", "--tensorflow", "2.21")
    assert_one_line_usage_error(result, "3.8")


def test_generate_needs_one_of_gpu_and_cpu() -> None:
    assert_one_line_usage_error(envkit("env", "generate"), "--gpu")
    assert_one_line_usage_error(envkit("env", "generate", "--gpu", "--cpu"), "--gpu")


def test_check_the_tutorial_file_and_fix_it(tmp_path: Path) -> None:
    source = tmp_path / "environment.yml"
    source.write_text(TUTORIAL)
    fixed = tmp_path / "fixed.yml"
    result = envkit("env", "check", str(source), "--fix", "-o", str(fixed))
    assert result.returncode in (0, 1), result.stderr
    assert "tensorflow-gpu" in result.stdout
    assert source.read_text() == TUTORIAL  # the input is never touched
    again = envkit("env", "check", str(fixed))
    assert again.returncode == 0, again.stdout
    assert "tensorflow[and-cuda]==" in fixed.read_text()


def test_fix_never_overwrites_without_force(tmp_path: Path) -> None:
    source = tmp_path / "environment.yml"
    source.write_text(TUTORIAL)
    result = envkit("env", "check", str(source), "--fix", "-o", str(source))
    assert_one_line_usage_error(result, "already exists")
    assert source.read_text() == TUTORIAL


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "environment.yml"),
        (b"just: a mapping\n", "environment.yml"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "environment.yml"
    path.write_bytes(content)
    assert_one_line_usage_error(envkit("env", "check", str(path)), fragment)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = tmp_path / "environment.yml"
    path.write_text("\n".join(lines) + "\n")
    assert_one_line_usage_error(envkit("env", "check", str(path)), "environment.yml")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    assert_one_line_usage_error(envkit("env", "check", str(tmp_path / "gone.yml")), "gone.yml")
    assert_one_line_usage_error(envkit("env", "check", str(tmp_path)), str(tmp_path))


def test_export_the_real_tensorflow_env(tmp_path: Path) -> None:
    python = require_test_env("tf")
    target = tmp_path / "exported.yml"
    result = envkit("env", "export", "--python", python, "-o", str(target))
    assert result.returncode == 0, result.stderr
    text = target.read_text()
    assert "tensorflow==2.21" in text
    assert "python=3.11" in text
    checked = envkit("env", "check", str(target))
    assert checked.returncode == 0, checked.stdout


def test_env_python_is_a_deprecated_alias_of_python_version(tmp_path: Path) -> None:
    new = envkit("env", "generate", "--cpu", "--python-version", "3.12", "-o", str(tmp_path / "a"))
    old = envkit("env", "generate", "--cpu", "--python", "3.12", "-o", str(tmp_path / "b"))
    assert new.returncode == old.returncode == 0, old.stderr
    assert (tmp_path / "a").read_text().replace("name: a", "") != ""
    assert "python=3.12" in (tmp_path / "b").read_text()
    assert "deprecated" in old.stderr and "--python-version" in old.stderr
    assert "deprecated" not in new.stderr
    both = envkit("env", "generate", "--cpu", "--python-version", "3.12", "--python", "3.11")
    assert_one_line_usage_error(both, "--python-version")
