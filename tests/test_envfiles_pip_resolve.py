"""Proof that generated files work: pip resolves each file's pip part on the Python it names.

conda's channels are out of reach here, PyPI is not: a throwaway venv made with pyenv's
interpreter of the file's Python runs ``pip install --dry-run --ignore-installed --report -``
on the pip list read back from the written YAML. A file pip cannot satisfy fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from envkit import envfiles
from envkit.envfiles import EnvSpec
from tests.envs import pyenv_python

REPO = Path(__file__).resolve().parent.parent
OLDER_PAIR = {"gpu": True, "tensorflow": "2.15", "python": "3.11"}


def _specs() -> list[Any]:
    cases = [pytest.param(envfiles.default_spec(name), id=name) for name in envfiles.ROOT_FILES]
    older = envfiles.spec_for(**OLDER_PAIR)  # type: ignore[arg-type]
    cases.append(pytest.param(older, id="gpu-tf2.15-py3.11"))
    return cases


def _pip_part(text: str) -> tuple[str, list[str]]:
    """(python series, pip requirements) read back from the YAML the generator wrote."""
    data = yaml.safe_load(text)
    python = next(d for d in data["dependencies"] if isinstance(d, str) and d.startswith("python="))
    pip = next(d["pip"] for d in data["dependencies"] if isinstance(d, dict))
    return python.removeprefix("python="), pip


def _resolve(python: Path, venv: Path, requirements: list[str]) -> dict[str, Any]:
    subprocess.run([str(python), "-m", "venv", str(venv)], check=True, timeout=300)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run"]
    command += ["--ignore-installed", "--quiet", "--report", "-", *requirements]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, f"pip cannot satisfy {requirements}:\n{done.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.mark.slow
@pytest.mark.parametrize("spec", _specs())
def test_pip_resolves_the_pip_part_on_the_named_python(spec: EnvSpec, tmp_path: Path) -> None:
    series, requirements = _pip_part(envfiles.to_yaml(spec))
    python = pyenv_python(series)
    if python is None:
        why = f"pyenv has no Python {series} to resolve the file's pip part with"
        if os.environ.get("ENVKIT_REQUIRE_TEST_ENVS") == "1":
            pytest.fail(why)  # CI prepared everything: a missing Python is no proof
        pytest.skip(why)
    report = _resolve(python, tmp_path / "venv", requirements)
    installed = {
        item["metadata"]["name"].lower().replace("_", "-"): item["metadata"]["version"]
        for item in report["install"]
    }
    assert spec.tensorflow is not None
    assert installed["tensorflow"].startswith(spec.tensorflow + ".")
    assert report["environment"]["python_version"] == series
    if spec.gpu:
        assert any(name.startswith("nvidia-cudnn-") for name in installed)
    if "numpy<2" in requirements:
        assert installed["numpy"].split(".")[0] == "1"
