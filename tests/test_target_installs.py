"""Which interpreter envkit examines, when installed as users install it.

Real pipx and real uv (from PyPI, the `test` extra) install envkit from this checkout into
temporary folders (PIPX_HOME/PIPX_BIN_DIR, UV_TOOL_DIR/UV_TOOL_BIN_DIR); the TensorFlow venv is
the real one of scripts/make_test_envs.sh. The README route is a venv with envkit installed by
pip, next to TensorFlow (the test env's site-packages, made importable with a .pth file: the
same TensorFlow without a second 600 MB download).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.envs import require_test_env

REPO = Path(__file__).resolve().parents[1]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"

pytestmark = pytest.mark.slow


def _run(argv: list[str], env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def base_environ(home: Path) -> dict[str, str]:
    """A login shell's environment: nothing activated, the system's PATH."""
    keep = ("LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL")
    environ = {key: os.environ[key] for key in keep if key in os.environ}
    environ.update(HOME=str(home), PATH=SYSTEM_PATH, JUPYTER_DATA_DIR=str(home / "jupyter"))
    return environ


@pytest.fixture(scope="module")
def tool_bins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """envkit installed by the real pipx and by the real uv: tool -> its bin dir."""
    root = tmp_path_factory.mktemp("tools")
    environ = {
        **os.environ,
        "PIPX_HOME": str(root / "pipx"),
        "PIPX_BIN_DIR": str(root / "pipx-bin"),
    }
    environ.pop("VIRTUAL_ENV", None)
    _run([sys.executable, "-m", "pipx", "install", str(REPO)], environ)
    environ.update(UV_TOOL_DIR=str(root / "uv"), UV_TOOL_BIN_DIR=str(root / "uv-bin"))
    _run([sys.executable, "-m", "uv", "tool", "install", str(REPO)], environ)
    return {"pipx": root / "pipx-bin", "uv tool": root / "uv-bin"}


def doctor_document(envkit: Path, environ: dict[str, str], *args: str) -> dict[str, object]:
    done = subprocess.run(
        [str(envkit), "doctor", "--json", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


def snapshot_of(document: dict[str, object]) -> dict[str, object]:
    snapshot = document["snapshot"]
    assert isinstance(snapshot, dict)
    return snapshot


def all_fixes(document: dict[str, object]) -> str:
    findings = document["findings"]
    assert isinstance(findings, list)
    return "\n".join(line for finding in findings for line in finding["fix"])


@pytest.mark.parametrize("tool", ["pipx", "uv tool"])
def test_an_activated_tensorflow_venv_is_examined(
    tool: str, tool_bins: dict[str, Path], tmp_path: Path
) -> None:
    tf_python = require_test_env("tf")
    tf_prefix = str(Path(tf_python).parent.parent)
    environ = base_environ(tmp_path)
    environ.update(VIRTUAL_ENV=tf_prefix, PATH=f"{tf_prefix}/bin:{SYSTEM_PATH}")
    snapshot = snapshot_of(doctor_document(tool_bins[tool] / "envkit", environ))
    target = snapshot["target"]
    assert isinstance(target, dict)
    assert target["how_chosen"] == "VIRTUAL_ENV"
    assert target["python"] == tf_python
    assert snapshot["python"]["executable"] == tf_python  # type: ignore[index]
    assert snapshot["tensorflow"]["version"].startswith("2.")  # type: ignore[index]


@pytest.mark.parametrize("tool", ["pipx", "uv tool"])
def test_without_activation_python3_on_path_is_examined_and_said(
    tool: str, tool_bins: dict[str, Path], tmp_path: Path
) -> None:
    environ = base_environ(tmp_path)
    envkit = tool_bins[tool] / "envkit"
    document = doctor_document(envkit, environ)
    target = snapshot_of(document)["target"]
    assert isinstance(target, dict)
    expected = subprocess.run(
        ["sh", "-c", "command -v python3"], capture_output=True, text=True, env=environ
    ).stdout.strip()
    assert target["how_chosen"] == "python3-on-path"
    assert target["python"] == expected
    assert target["reason"] == f"python3 on PATH; envkit itself runs from {tool}"
    text = subprocess.run(
        [str(envkit), "doctor"], capture_output=True, text=True, env=environ, timeout=120
    ).stdout
    assert f"Examined {expected}: python3 on PATH; envkit itself runs from {tool}" in text
    tool_env = str(envkit.resolve().parent.parent)
    assert tool_env not in all_fixes(document)


@pytest.mark.parametrize("tool", ["pipx", "uv tool"])
def test_a_fix_never_installs_into_envkits_tool_environment(
    tool: str, tool_bins: dict[str, Path], tmp_path: Path
) -> None:
    envkit = tool_bins[tool] / "envkit"
    tool_python = envkit.resolve().parent / "python"
    document = doctor_document(envkit, base_environ(tmp_path), "--python", str(tool_python))
    target = snapshot_of(document)["target"]
    assert isinstance(target, dict)
    assert target["kind"] == "tool-env"
    fixes = all_fixes(document)
    assert "-m pip install" not in fixes
    assert "conda create" in fixes  # a fresh environment for TensorFlow instead


def test_the_readme_route_examines_envkits_own_venv(tmp_path: Path) -> None:
    tf_python = require_test_env("tf")
    venv = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    environ = base_environ(tmp_path)
    _run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], {**os.environ, **environ})
    # Next to TensorFlow: the real test env's site-packages, importable from this venv.
    tf_site = next(Path(tf_python).parent.parent.glob("lib/python3*/site-packages"))
    own_site = next(venv.glob("lib/python3*/site-packages"))
    (own_site / "tensorflow-from-test-env.pth").write_text(f"{tf_site}\n")
    document = doctor_document(venv / "bin" / "envkit", environ)
    snapshot = snapshot_of(document)
    target = snapshot["target"]
    assert isinstance(target, dict)
    assert target["how_chosen"] == "envkit-env"
    assert target["prefix"] == str(venv)
    assert Path(snapshot["python"]["executable"]).parent == venv / "bin"  # type: ignore[index]
    assert snapshot["tensorflow"]["version"].startswith("2.")  # type: ignore[index]
    # The same venv without TensorFlow is a tool environment: python3 on PATH is examined.
    (own_site / "tensorflow-from-test-env.pth").unlink()
    bare = snapshot_of(doctor_document(venv / "bin" / "envkit", environ))["target"]
    assert isinstance(bare, dict)
    assert bare["how_chosen"] == "python3-on-path"
    assert bare["reason"].endswith("envkit itself runs from an environment without TensorFlow")
