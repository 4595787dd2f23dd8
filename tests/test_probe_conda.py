"""Finding conda and its environments.

No conda can be installed on these machines (its channels are out of reach), so each test lays
out a conda install the way the installers do (conda-meta/, bin/conda, envs/NAME/conda-meta/) and,
where conda itself must answer, a stand-in `conda` script (labelled below) that prints what
`conda env list --json` prints.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from envkit.model import CondaInfo, Unavailable
from envkit.probes import conda


def _conda_root(base: Path, name: str = "miniconda3", version: str = "24.7.1") -> Path:
    root = base / name
    (root / "conda-meta").mkdir(parents=True)
    (root / "conda-meta" / f"conda-{version}-py312h06a4308_0.json").write_text("{}")
    (root / "conda-meta" / "python-3.12.4-h5148396_1.json").write_text("{}")
    (root / "bin").mkdir()
    for env in ("tf", "torch"):
        (root / "envs" / env / "conda-meta").mkdir(parents=True)
    return root


def _standin_conda(root: Path, script_body: str) -> Path:
    """A synthetic `conda` executable: a shell script, not conda."""
    executable = root / "bin" / "conda"
    executable.write_text("#!/bin/sh\n" + script_body)
    executable.chmod(executable.stat().st_mode | stat.S_IEXEC)
    return executable


def _env_list_script(prefixes: list[str]) -> str:
    payload = json.dumps({"envs": prefixes})
    return f"[ \"$1 $2 $3\" = 'env list --json' ] || exit 3\necho '{payload}'\n"


def test_no_conda_anywhere(tmp_path: Path) -> None:
    result = conda.probe_conda(environ={"PATH": str(tmp_path)}, home=tmp_path)
    assert isinstance(result, Unavailable)
    assert result.code == "conda-not-found"


def test_conda_exe_and_env_list(tmp_path: Path) -> None:
    root = _conda_root(tmp_path)
    prefixes = [str(root), str(root / "envs/tf"), str(root / "envs/torch"), "/elsewhere/myenv"]
    executable = _standin_conda(root, _env_list_script(prefixes))

    info = conda.probe_conda(
        environ={"CONDA_EXE": str(executable), "CONDA_DEFAULT_ENV": "tf", "PATH": ""},
        home=tmp_path,
    )

    assert isinstance(info, CondaInfo)
    assert info.found_via == "CONDA_EXE"
    assert info.version == "24.7.1"
    assert info.root_prefix == str(root)
    assert info.active_env_name == "tf"
    assert info.environments_source == "conda-env-list"
    assert [(e.name, e.prefix) for e in info.environments] == [
        ("base", str(root)),
        ("tf", str(root / "envs/tf")),
        ("torch", str(root / "envs/torch")),
        (None, "/elsewhere/myenv"),
    ]
    assert conda.find_env_prefix(info, "tf") == str(root / "envs/tf")
    assert conda.find_env_prefix(info, "nope") is None


def test_conda_on_path(tmp_path: Path) -> None:
    root = _conda_root(tmp_path, "miniforge3", "24.9.2")
    _standin_conda(root, _env_list_script([str(root)]))
    info = conda.probe_conda(environ={"PATH": str(root / "bin")}, home=tmp_path)
    assert isinstance(info, CondaInfo)
    assert (info.found_via, info.version) == ("PATH", "24.9.2")


def test_falls_back_to_files_when_conda_fails(tmp_path: Path) -> None:
    root = _conda_root(tmp_path)
    _standin_conda(root, "echo 'CondaError: broken' >&2\nexit 1\n")
    outside = tmp_path / "projects/venv-like-conda"
    (outside / "conda-meta").mkdir(parents=True)
    (tmp_path / ".conda").mkdir()
    (tmp_path / ".conda/environments.txt").write_text(f"{root}\n{outside}\n/gone/env\n")

    info = conda.probe_conda(environ={"PATH": str(root / "bin")}, home=tmp_path)

    assert isinstance(info, CondaInfo)
    assert info.environments_source == "files"
    prefixes = [e.prefix for e in info.environments]
    assert prefixes[0] == str(root)
    assert str(outside) in prefixes
    assert str(root / "envs/tf") in prefixes
    assert "/gone/env" not in prefixes


def test_falls_back_to_files_when_conda_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conda, "ENV_LIST_TIMEOUT_S", 0.5)
    root = _conda_root(tmp_path)
    _standin_conda(root, "sleep 30\n")
    info = conda.probe_conda(environ={"PATH": str(root / "bin")}, home=tmp_path)
    assert isinstance(info, CondaInfo)
    assert info.environments_source == "files"
    assert {e.name for e in info.environments} == {"base", "tf", "torch"}


def test_install_root_without_conda_on_path(tmp_path: Path) -> None:
    root = _conda_root(tmp_path, "anaconda3", "23.7.4")
    info = conda.probe_conda(environ={"PATH": ""}, home=tmp_path)
    assert isinstance(info, CondaInfo)
    assert info.found_via == "install-root"
    assert info.executable is None
    assert info.root_prefix == str(root)
    assert info.environments_source == "files"


def test_python_in_prefix() -> None:
    assert conda.python_in_prefix("/opt/conda/envs/tf") == os.path.join(
        "/opt/conda/envs/tf", "bin", "python"
    )
