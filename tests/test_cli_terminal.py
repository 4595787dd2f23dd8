"""The terminal as a user meets it: version, shell completion; a real envkit process each time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envkit import __version__


def envkit(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


def test_short_v_is_version() -> None:
    result = envkit("-V")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"envkit {__version__}"


def test_help_offers_completion() -> None:
    result = envkit("--help", env={"COLUMNS": "120"})
    assert result.returncode == 0
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_show_completion_prints_a_script_for_the_shell(shell: str) -> None:
    result = envkit("--show-completion", shell)
    assert result.returncode == 0, result.stderr
    assert "_ENVKIT_COMPLETE" in result.stdout


def test_bash_completion_completes_commands_and_options() -> None:
    words = {"_ENVKIT_COMPLETE": "complete_bash", "COMP_WORDS": "envkit do", "COMP_CWORD": "1"}
    assert envkit(env=words).stdout.split() == ["doctor"]
    words = {**words, "COMP_WORDS": "envkit doctor --smo", "COMP_CWORD": "2"}
    assert "--smoke" in envkit(env=words).stdout.split()


def test_install_completion_writes_the_users_shell_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# the user's own line\n")
    result = envkit("--install-completion", "bash", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    bashrc = (home / ".bashrc").read_text()
    assert bashrc.startswith("# the user's own line\n")
    assert "envkit" in bashrc
    assert list((home / ".bash_completions").glob("envkit*"))


# ---- the smoke run from the terminal (the real TensorFlow of the test envs, real MNIST)

TF_PYTHON = (
    Path(os.environ.get("ENVKIT_TEST_ENVS", "/root/.cache/envkit/test-envs")) / "tf/bin/python"
)
MNIST = Path("/work/shared/data/mnist")
needs_tf = pytest.mark.skipif(
    not TF_PYTHON.exists() or not MNIST.is_dir(), reason="needs the tf test env and MNIST"
)


@needs_tf
def test_quick_honours_epochs() -> None:
    result = envkit(
        "smoke", "--python", str(TF_PYTHON), "--quick", "--epochs", "2", "--device", "cpu",
        "--data", str(MNIST), "--json",
    )  # fmt: skip
    import json

    (run,) = json.loads(result.stdout)["result"]["runs"]
    assert run["epochs_planned"] == 2
    assert len(run["epochs"]) == 2


@needs_tf
def test_gpu_without_a_gpu_is_one_finding_and_no_internal_name() -> None:
    result = envkit(
        "smoke", "--python", str(TF_PYTHON), "--quick", "--device", "gpu", "--data", str(MNIST),
        env={"COLUMNS": "100"},
    )  # fmt: skip
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, result.stdout
    assert "GpuNotVisible" not in result.stdout + result.stderr
    assert "gpu-not-visible" not in result.stdout + result.stderr
    import json

    document = json.loads(
        envkit(
            "smoke", "--python", str(TF_PYTHON), "--quick", "--device", "gpu",
            "--data", str(MNIST), "--json",
        ).stdout
    )  # fmt: skip
    (error,) = [f for f in document["findings"] if f["severity"] == "error"]
    assert "lists no GPU" in error["evidence"]  # the consequences, folded into the root cause
    assert "cuInit" in error["evidence"]


@needs_tf
def test_doctor_smoke_prints_the_checks_before_it_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import envkit.cli.doctor as doctor_cli
    from envkit.cli import app
    from envkit.smoke import SmokeResult, SmokeSpec

    printed_before: list[str] = []
    real = doctor_cli.run_smoke_live

    def watched(target: str | None, spec: SmokeSpec) -> SmokeResult:
        import sys

        sys.stdout.flush()
        printed_before.append(sys.stdout.buffer.getvalue().decode())  # type: ignore[attr-defined]
        assert spec.quick is True
        return real(target, spec)

    monkeypatch.setattr(doctor_cli, "run_smoke_live", watched)
    args = ["doctor", "--python", str(TF_PYTHON), "--smoke", "--quick", "--smoke-data", str(MNIST)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
    assert "[✓] TensorFlow" in printed_before[0]
    assert "Smoke test" not in printed_before[0]
    out = result.stdout
    assert out.index("TensorFlow") < out.index("Smoke test") < out.index("trains")
    assert out.count("Run envkit doctor -v") <= 1


def test_doctor_quick_needs_smoke() -> None:
    result = envkit("doctor", "--quick")
    assert result.returncode == 2
    assert "--quick is for --smoke" in result.stderr


def test_json_with_a_control_character_says_at_line_once(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text('{"os": "a\tb"}')  # json's own message: "Invalid control character at"
    result = envkit("doctor", "--snapshot", str(snapshot))
    assert result.returncode == 2
    assert "at at" not in result.stderr
    assert "Invalid control character at line 1" in result.stderr
