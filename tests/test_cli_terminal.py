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
