"""scripts/gpu_proof.sh run here, where there is no GPU: every GPU step records "no GPU", the
report step runs for real, and the script exits 0 with its summary line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_proof.sh"
GPU_STEPS = ("1-nvidia-smi-q-x", "2-record-nvml", "4-smoke-gpu", "5-validate-default")


def _run(out: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(SCRIPT), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _steps(out: Path) -> dict[str, str]:
    rows = (line.split("\t") for line in (out / "steps.tsv").read_text().splitlines())
    return {row[0]: row[1] for row in rows}


def test_without_nvidia_smi_every_gpu_step_records_no_gpu(tmp_path: Path) -> None:
    bare_path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "nvidia-smi").exists()
    )
    result = _run(tmp_path / "proof", bare_path)
    assert result.returncode == 0, result.stderr
    steps = _steps(tmp_path / "proof")
    assert all(steps[name] == "no GPU" for name in GPU_STEPS)
    assert steps["3-report-json"] == "ok"
    assert '"schema_version"' in (tmp_path / "proof" / "3-report-json.out").read_text()
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("gpu_proof: 5 steps") and "4 no GPU" in summary
    assert (tmp_path / "proof" / "summary.txt").read_text().strip() == summary


def test_a_failing_nvidia_smi_is_recorded_as_no_gpu_with_its_line(tmp_path: Path) -> None:
    # A stand-in nvidia-smi that prints the real failure line of
    # tests/fixtures/nvidia-smi/issue-tinygrad-ogkm-47-version-mismatch.txt and exits 18.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "nvidia-smi"
    fake.write_text(
        "#!/bin/sh\necho 'Failed to initialize NVML: Driver/library version mismatch'\nexit 18\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = _run(tmp_path / "proof", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert result.returncode == 0
    assert "version mismatch" in result.stdout.strip().splitlines()[-1]
    assert _steps(tmp_path / "proof")["4-smoke-gpu"] == "no GPU"


def test_without_out_dir_it_is_a_usage_error() -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2 and "usage" in result.stderr
