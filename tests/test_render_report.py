"""The human report, compared with golden text. Set ENVKIT_UPDATE_GOLDEN=1 to rewrite the files."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

from rich.console import Console

from envkit.model import Unavailable
from envkit.render.report import print_report, report_sections
from tests.snapshots import synthetic_gpu_workstation

GOLDEN = Path(__file__).parent / "golden"


def rendered(snapshot: object, *, verbose: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=110, color_system=None, highlight=False)
    print_report(console, snapshot, verbose=verbose)  # type: ignore[arg-type]
    return buffer.getvalue()


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ENVKIT_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_gpu_workstation_golden() -> None:
    assert_golden("report-gpu-workstation.txt", rendered(synthetic_gpu_workstation()))


def test_everything_unavailable_golden() -> None:
    missing = Unavailable("probe-crashed", "The probe failed.")
    snapshot = dataclasses.replace(
        synthetic_gpu_workstation(),
        os=missing,
        cpu=missing,
        memory=missing,
        nvidia_kernel=missing,
        nvml=Unavailable(
            "nvml-library-not-found", "The NVIDIA driver's NVML library is not installed."
        ),
        python=Unavailable("python-not-found", "No interpreter at /nope."),
        tensorflow=Unavailable(
            "tensorflow-not-installed", "No TensorFlow distribution is installed."
        ),
        conda=Unavailable("conda-not-found", "No conda was found."),
        disks=(),
    )
    text = rendered(snapshot)
    assert_golden("report-all-unavailable.txt", text)
    assert text.count("unavailable:") == 8


def test_lost_gpu_does_not_hide_the_others() -> None:
    rows = dict(report_sections(synthetic_gpu_workstation()))["NVIDIA"]
    labels = [label for label, _ in rows]
    assert labels.count("GPU 0") == 1
    assert labels.count("GPU 1") == 1
    gpu1 = dict(rows)["GPU 1"]
    assert "nvml-gpu-lost" in gpu1


def test_verbose_lists_every_distribution() -> None:
    text = rendered(synthetic_gpu_workstation(), verbose=True)
    for name in ("keras 3.12.0", "numpy 2.1.3", "nvidia-cublas-cu12 12.5.3.2"):
        assert name in text
    assert "build_info cuda_version" in text


def test_paths_with_brackets_are_not_markup() -> None:
    snapshot = synthetic_gpu_workstation()
    python = dataclasses.replace(snapshot.python, prefix="/home/ada/[bold]env")  # type: ignore[type-var]
    text = rendered(dataclasses.replace(snapshot, python=python))
    assert "/home/ada/[bold]env" in text
