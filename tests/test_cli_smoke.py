"""`envkit smoke` and `envkit doctor --smoke` as a user runs them, with real TensorFlow (CPU)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from envkit.envelope import SMOKE
from envkit.schema import schema_path
from tests.envs import require_test_env
from tests.test_cli import assert_one_line_usage_error, envkit
from tests.test_smoke_data import write_idx_folder


def envkit_with_env(extra: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **extra},
        check=False,
    )


@pytest.fixture(scope="module")
def tf_python() -> str:
    return require_test_env("tf")


def test_quick_smoke_json(tf_python: str, tmp_path: Path) -> None:
    result = envkit("smoke", "--python", tf_python, "--quick", "--offline", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert list(document)[:2] == ["schema", "envkit_version"]
    assert document["schema"] == "envkit.smoke/2"
    jsonschema.validate(document, json.loads(schema_path(SMOKE).read_text()))
    runs = document["result"]["runs"]
    assert [run["model"] for run in runs] == ["mlp"]
    assert runs[0]["device"] == "cpu"
    assert "synthetic" in document["data_label"].lower()
    # the live progress went to stderr, not into the JSON
    assert "epoch" in result.stderr


def test_smoke_text_to_file(tf_python: str, tmp_path: Path) -> None:
    target = tmp_path / "smoke.txt"
    result = envkit(
        "smoke", "--python", tf_python, "--quick", "--offline", "--model", "mlp", "-o", str(target)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = target.read_text()
    assert "mlp" in text
    assert "\x1b[" not in text


def test_bad_data_is_one_line_and_trains_nothing(tf_python: str, tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "mnist")
    broken = folder / "train-images-idx3-ubyte.gz"
    broken.write_bytes(broken.read_bytes()[:40])
    result = envkit("smoke", "--python", tf_python, "--data", str(folder), "--json")
    assert_one_line_usage_error(result, "train-images-idx3-ubyte.gz")


def test_missing_data_path(tmp_path: Path) -> None:
    assert_one_line_usage_error(envkit("smoke", "--data", str(tmp_path / "nope.npz")), "nope.npz")


def test_unknown_interpreter(tmp_path: Path) -> None:
    assert_one_line_usage_error(envkit("smoke", "--python", str(tmp_path / "py")), "py")


def test_doctor_smoke_folds_the_run_into_the_findings(tf_python: str) -> None:
    result = envkit("doctor", "--python", tf_python, "--smoke", "--offline", "--json")
    document = json.loads(result.stdout)
    smoke = [f for f in document["findings"] if f["area"] == "smoke"]
    assert any(f["check_id"] == "smoke.trains" for f in smoke)
    assert result.returncode == document["summary"]["exit_status"] == 0


def test_doctor_smoke_needs_a_live_machine(tmp_path: Path) -> None:
    saved = tmp_path / "node.json"
    assert envkit("report", "--json", "-o", str(saved)).returncode == 0
    assert_one_line_usage_error(envkit("doctor", "--snapshot", str(saved), "--smoke"), "--smoke")


def test_list_checks_includes_the_smoke_checks() -> None:
    result = envkit("doctor", "--list-checks")
    assert "smoke.trains" in result.stdout
    assert "smoke.import-sigill" in result.stdout


@pytest.mark.parametrize(
    ("env_name", "backend", "model"), [("keras-torch", "torch", "cnn"), ("keras-jax", "jax", "mlp")]
)
def test_keras_3_backends_without_tensorflow(
    env_name: str, backend: str, model: str, tmp_path: Path
) -> None:
    python = require_test_env(env_name)
    # a keras.json naming TensorFlow, as Keras writes it by itself, must not send us there
    (tmp_path / "keras.json").write_text('{"backend": "tensorflow"}')
    result = envkit_with_env(
        {"KERAS_HOME": str(tmp_path)},
        "smoke",
        "--python",
        python,
        "--quick",
        "--offline",
        "--model",
        "cnn",
        "--json",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads(result.stdout)
    assert document["result"]["stack"]["backend"] == backend
    assert document["result"]["stack"]["tensorflow_version"] is None
    [run] = document["result"]["runs"]
    assert run["placement"]["on_requested_device"] is True
    assert run["placement"]["variable_devices"]


def test_explicit_backend_that_is_missing_is_reported(tmp_path: Path) -> None:
    python = require_test_env("keras-torch")
    result = envkit("smoke", "--python", python, "--quick", "--offline", "--backend", "jax")
    assert result.returncode == 1
    assert "jax" in result.stdout
