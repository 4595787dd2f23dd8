"""An NVML that hangs (a real failure of broken GPUs) is nvml-timeout, a finding, and a failed
node, within the deadline (#12). The hang is real: a shared library built here with gcc, named
libnvidia-ml.so.1, whose init sleeps, loaded by pynvml's own loader through LD_LIBRARY_PATH,
as the tests load Debian's real libnvidia-ml."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HANGING_NVML = r"""
#include <unistd.h>
int nvmlInitWithFlags(unsigned int flags) { (void)flags; for (;;) sleep(600); return 0; }
int nvmlInit_v2(void) { for (;;) sleep(600); return 0; }
int nvmlInit(void) { for (;;) sleep(600); return 0; }
int nvmlShutdown(void) { return 0; }
"""


@pytest.fixture(scope="module")
def hanging_nvml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler to build the hanging libnvidia-ml.so.1")
    folder = tmp_path_factory.mktemp("hanging-nvml")
    source = folder / "hang.c"
    source.write_text(HANGING_NVML)
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-o", str(folder / "libnvidia-ml.so.1"), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return folder


def _envkit(library: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LD_LIBRARY_PATH": str(library),
        "ENVKIT_NVML_TIMEOUT_S": "2",
    }
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=240,  # the test's guard against a hang, not a timed assertion
        env=env,
        check=False,
    )


def test_report_shows_nvml_timeout(hanging_nvml: Path) -> None:
    result = _envkit(hanging_nvml, "report", "--json")
    assert result.returncode == 0, result.stderr
    nvml = json.loads(result.stdout)["nvml"]
    assert nvml["code"] == "nvml-timeout", nvml
    assert "within 2 s" in nvml["reason"]


def test_doctor_has_an_error_finding(hanging_nvml: Path) -> None:
    result = _envkit(hanging_nvml, "doctor", "--json", "--offline")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    hang = [f for f in findings if f["check_id"] == "nvidia.nvml-timeout"]
    assert len(hang) == 1 and hang[0]["severity"] == "error", findings


def test_validate_fails_the_node_with_the_reason(hanging_nvml: Path) -> None:
    result = _envkit(hanging_nvml, "validate", "--json")
    assert result.returncode == 1, result.stderr
    results = json.loads(result.stdout)["report"]["results"]
    node_nvml = next(r for r in results if r["check_id"] == "node.nvml")
    assert node_nvml["verdict"] == "fail"
    assert "nvml-timeout" in node_nvml["evidence"]
