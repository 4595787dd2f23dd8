"""Interpreters and environments the python_env probe runs against in the tests.

The real TensorFlow environments come from ``scripts/make_test_envs.sh``. A missing one skips
its tests, unless ENVKIT_REQUIRE_TEST_ENVS=1 (CI), where it fails them; an optional env the
script skipped on purpose leaves a NAME.skipped note, and its tests skip with that reason.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

TEST_ENVS = Path(
    os.environ.get("ENVKIT_TEST_ENVS") or Path.home() / ".cache" / "envkit" / "test-envs"
)
COMPLETE_MARKER = ".envkit-test-env-complete"
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"


def require_test_env(name: str) -> str:
    """The python of the test env ``name``, or skip (fail under ENVKIT_REQUIRE_TEST_ENVS=1)."""
    env_dir = TEST_ENVS / name
    python = env_dir / "bin" / "python"
    if (env_dir / COMPLETE_MARKER).is_file() and python.exists():
        return str(python)
    skipped_note = TEST_ENVS / f"{name}.skipped"
    if skipped_note.is_file():
        pytest.skip(f"test env {name} skipped by make_test_envs.sh: {skipped_note.read_text()}")
    why = f"test env {name} is missing at {env_dir}; run scripts/make_test_envs.sh"
    if os.environ.get("ENVKIT_REQUIRE_TEST_ENVS") == "1":
        pytest.fail(why)
    pytest.skip(why)


def pyenv_python(version_prefix: str) -> Path | None:
    """pyenv's interpreter for e.g. "3.6" (its newest patch release), or None."""
    found = sorted(PYENV_VERSIONS.glob(f"{version_prefix}.*/bin/python"))
    return found[-1] if found else None


def fake_python(directory: Path, body: str, name: str = "python") -> Path:
    """A stand-in interpreter: a shell script that behaves as ``body`` says, not a Python."""
    path = directory / name
    path.write_text("#!/bin/sh\n# FAKE python for envkit's tests, not an interpreter\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_venv(directory: Path) -> Path:
    """A fresh venv of the running interpreter, without pip (fast); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    return directory / "bin" / "python"


def python_without_tensorflow(directory: Path) -> str:
    """An interpreter certain to have no TensorFlow: envkit's own venv may have it (the
    README's first command installs envkit with its tensorflow extra)."""
    return str(make_venv(directory))


def installed_by_pip(python: str) -> dict[str, str] | None:
    """Independent oracle: what ``pip list`` in that interpreter reports, names normalised.

    None where that interpreter has no pip.
    """
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=False,
        cwd="/",  # `-m` puts the current folder on sys.path, and this repo holds envkit.egg-info
    )
    if listed.returncode != 0 and "No module named pip" in listed.stderr:
        return None
    listed.check_returncode()
    return {_normal(row["name"]): row["version"] for row in json.loads(listed.stdout)}


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def add_distribution(
    site: Path, name: str, version: str, requires: tuple[str, ...] = (), record: str = ""
) -> Path:
    """A *.dist-info folder as pip leaves it, with a long description after the headers."""
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    headers = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    headers += [f"Requires-Dist: {line}" for line in requires]
    body = "\n".join(headers) + "\n\nName: not-a-header\nVersion: 0\n"
    (folder / "METADATA").write_text(body)
    (folder / "RECORD").write_text(record)
    return folder


def add_package_file(site: Path, relative: str, text: str) -> Path:
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
