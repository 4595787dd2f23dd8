"""tensorflow_gpu_count: TensorFlow's GPU list, asked in the target interpreter by a script file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envkit.model import Unavailable
from envkit.probes.tf_devices import tensorflow_gpu_count
from tests.envs import fake_python, require_test_env


def test_the_real_tensorflow_on_this_gpu_less_machine_lists_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = require_test_env("tf")
    # A working directory with a module that would shadow the standard library under -c.
    (tmp_path / "json.py").write_text("raise SystemExit('envkit ran code from the cwd')\n")
    monkeypatch.chdir(tmp_path)
    assert tensorflow_gpu_count(python) == 0


def test_an_interpreter_without_tensorflow_says_why(tmp_path: Path) -> None:
    python = fake_python(
        tmp_path, "echo \"ModuleNotFoundError: No module named 'tensorflow'\" >&2\nexit 1\n"
    )
    result = tensorflow_gpu_count(str(python))
    assert isinstance(result, Unavailable)
    assert result.code == "tensorflow-failed"
    assert "No module named 'tensorflow'" in result.reason


def test_the_question_is_a_script_file_not_dash_c(tmp_path: Path) -> None:
    argv_file = tmp_path / "argv"
    python = fake_python(tmp_path, f'echo "$@" > {argv_file}\necho \'{{"gpus": 3}}\'\n')
    assert tensorflow_gpu_count(str(python)) == 3
    argv = argv_file.read_text().split()
    assert "-c" not in argv and argv[0] == "-B"
    assert os.path.basename(argv[1]) == "tf_gpu_count.py"
