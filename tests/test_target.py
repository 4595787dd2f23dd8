"""The Target: which interpreter envkit examines and why, resolved once at the command line.

Resolution runs against real interpreters (this one, fresh venvs, the real TF test env); the
environment variables are passed in, as the shell would set them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

from envkit.schema import all_envs_schema_path, all_envs_schema_text
from envkit.target import Own, TargetError, resolve_target
from tests.envs import make_venv, require_test_env
from tests.test_cli import assert_one_line_usage_error, envkit
from tests.test_kernels import LAUNCH, isolated_environ, run_envkit, write_spec

TOOL = Own(sys.executable, sys.prefix, "pipx")
LIBRARY = Own(sys.executable, sys.prefix, None)


def test_explicit_python_accepts_an_interpreter_a_command_or_a_prefix(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    for given in (str(python), str(tmp_path / "venv")):
        target = resolve_target(python=given, environ={}, own=TOOL)
        assert target.python == str(python)
        assert target.prefix == str(tmp_path / "venv")
        assert target.kind == "venv"
        assert target.how_chosen == "--python"
        assert target.reason == f"--python {given}"


def test_one_of_python_env_kernel() -> None:
    with pytest.raises(TargetError, match="not --python and --kernel"):
        resolve_target(python=sys.executable, kernel="tf", environ={}, own=TOOL)


def test_the_active_venv_comes_first_unless_it_is_envkits_own(tmp_path: Path) -> None:
    venv = tmp_path / "active"
    python = make_venv(venv)
    target = resolve_target(environ={"VIRTUAL_ENV": str(venv), "PATH": ""}, own=TOOL)
    assert (target.how_chosen, target.python) == ("VIRTUAL_ENV", str(python))
    assert target.reason == f"the active venv {venv} (VIRTUAL_ENV)"
    own = resolve_target(environ={"VIRTUAL_ENV": sys.prefix, "PATH": ""}, own=LIBRARY)
    assert own.how_chosen == "envkit-env"


def test_an_active_conda_env_is_named(tmp_path: Path) -> None:
    prefix = tmp_path / "envs" / "tf-gpu"
    make_venv(prefix)  # a real interpreter where a conda env keeps it
    (prefix / "conda-meta").mkdir()
    environ = {"CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": "tf-gpu", "PATH": ""}
    target = resolve_target(environ=environ, own=TOOL)
    assert target.how_chosen == "CONDA_PREFIX"
    assert target.kind == "conda-env"
    assert target.reason == "the active conda env tf-gpu (CONDA_PREFIX)"


def test_a_stale_activation_falls_through(tmp_path: Path) -> None:
    environ = {"VIRTUAL_ENV": str(tmp_path / "deleted"), "PATH": str(Path(sys.executable).parent)}
    target = resolve_target(environ=environ, own=LIBRARY)
    assert target.how_chosen == "envkit-env"


def test_from_a_tool_env_python3_on_path_is_examined(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "user")
    target = resolve_target(environ={"PATH": str(python.parent)}, own=TOOL)
    assert target.how_chosen == "python3-on-path"
    assert target.python == str(python.parent / "python3")
    assert target.reason == "python3 on PATH; envkit itself runs from pipx"


def test_without_any_python_on_path_envkits_own_is_the_last_resort(tmp_path: Path) -> None:
    target = resolve_target(environ={"PATH": str(tmp_path)}, own=TOOL)
    assert target.how_chosen == "envkit-fallback"
    assert target.python == sys.executable
    assert "no python3 on PATH" in target.reason


def test_validate_and_smoke_accept_a_prefix_for_python(tmp_path: Path) -> None:
    make_venv(tmp_path / "venv")
    result = envkit("validate", "--python", str(tmp_path / "venv"), "--json")
    assert result.returncode in (0, 1), result.stderr
    assert f"envkit: examining {tmp_path / 'venv' / 'bin' / 'python'}" in result.stderr
    missing = envkit("validate", "--python", str(tmp_path / "nothing"))
    assert_one_line_usage_error(missing, "does not exist")


def test_env_export_says_what_it_exported(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    result = envkit("env", "export", "--python", str(tmp_path / "venv"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"envkit: examining {python}: --python {tmp_path / 'venv'}"


# ---------------------------------------------------------------- --all-envs


def test_all_envs_lists_each_environment_once_with_its_verdict(tmp_path: Path) -> None:
    tf_python = require_test_env("tf")
    bare = make_venv(tmp_path / "bare")
    user = tmp_path / "user-data"
    write_spec(user, "tf", {"argv": [tf_python, *LAUNCH]})
    write_spec(user, "tf-again", {"argv": [tf_python, *LAUNCH]})  # one env, two kernels
    write_spec(user, "bare", {"argv": [str(bare), *LAUNCH]})
    environ = isolated_environ(tmp_path, VIRTUAL_ENV=str(tmp_path / "bare"))
    done = run_envkit(environ, "doctor", "--all-envs", "--json")
    assert done.returncode in (0, 1), done.stderr
    document = json.loads(done.stdout)
    assert document["schema"] == "envkit.doctor-all-envs/2"
    targets = document["targets"]
    jsonschema.validate(document, json.loads(all_envs_schema_path().read_text()))
    pythons = [t["snapshot"]["target"]["python"] for t in targets]
    assert pythons[0] == str(bare)  # the default target (the active venv) first
    assert pythons.count(tf_python) == 1
    assert document["summary"]["targets"] == len(targets)
    tf_envelope = targets[pythons.index(tf_python)]
    assert tf_envelope["snapshot"]["tensorflow"]["version"].startswith("2.")
    assert tf_envelope["snapshot"]["target"]["how_chosen"] == "--all-envs"

    text = run_envkit(environ, "doctor", "--all-envs").stdout
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Environment"))
    rows = lines[header + 1 : header + 1 + len(targets)]
    tf_row = next(row for row in rows if row.startswith("Jupyter kernel tf "))
    assert "2.21" in tf_row and ("yes" in tf_row or " no " in tf_row)
    assert rows[0].startswith(f"the active venv {tmp_path / 'bare'} (VIRTUAL_ENV)")
    assert "— / —" in rows[0]


def test_all_envs_does_not_go_with_an_explicit_choice() -> None:
    result = envkit("doctor", "--all-envs", "--python", sys.executable)
    assert_one_line_usage_error(result, "--all-envs", "--python")


def test_doctor_says_what_it_examined_in_every_format(tmp_path: Path) -> None:
    environ = isolated_environ(tmp_path)
    line = f"Examined {sys.executable}: --python {sys.executable}"
    text = run_envkit(environ, "doctor", "--python", sys.executable).stdout
    assert line in " ".join(text.split())  # the line wraps with a hanging indent where long
    markdown = run_envkit(environ, "doctor", "--python", sys.executable, "--markdown").stdout
    assert "Examined " in markdown and "--python" in markdown
    report = run_envkit(environ, "report", "--python", sys.executable).stdout
    assert line in " ".join(report.split())


def test_committed_all_envs_schema_matches_the_code() -> None:
    assert all_envs_schema_path().read_text() == all_envs_schema_text(), (
        "run `python -m envkit.schema` to rewrite envkit/schemas/doctor-all-envs-2.schema.json"
    )
