"""The doctor's text, compared with golden text. Set ENVKIT_UPDATE_GOLDEN=1 to rewrite the files.

The findings here are SYNTHETIC: typed in to exercise the renderer, not drawn by the checks.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest
from rich.console import Console

from envkit.model import CheckInfo, DoctorReport, Finding, Severity, Unavailable
from envkit.render.doctor import area_summary, print_checks, print_doctor, summary_line
from tests.snapshots import synthetic_gpu_workstation

GOLDEN = Path(__file__).parent / "golden"
LONG_COMMAND = (
    "sudo apt-get install -y nvidia-driver-560 nvidia-utils-560 nvidia-dkms-560 "
    "linux-headers-$(uname -r) && sudo reboot"
)

GPU_LOST = Finding(
    check_id="nvidia.gpu-lost",
    severity=Severity.ERROR,
    area="nvidia",
    title="GPU 1 has fallen off the bus",
    evidence="NVML reports GPU 1 as lost (nvml-gpu-lost).\nThe kernel still lists 0000:2a:00.0.",
    fix=("# A reboot brings a lost GPU back; check dmesg for Xid 79 first", "sudo reboot"),
    link="https://docs.nvidia.com/deploy/xid-errors/",
)
CUDA_TOO_NEW = Finding(
    check_id="tensorflow.cuda-newer-than-driver",
    severity=Severity.ERROR,
    area="tensorflow",
    title="TensorFlow 2.21.0 was built for CUDA 12.5.1; the driver supports at most CUDA 12.4",
    evidence="build_info cuda_version 12.5.1 > driver 550.54.15 (CUDA 12.4)",
    fix=(LONG_COMMAND,),
)
UNMATCHED_DEVICE = Finding(
    check_id="nvidia.visible-devices-unmatched",
    severity=Severity.WARNING,
    area="nvidia",
    title="CUDA_VISIBLE_DEVICES names a GPU that does not exist: 7",
    evidence="CUDA_VISIBLE_DEVICES='0,7'; NVML knows GPUs 0 and 1",
    fix=("export CUDA_VISIBLE_DEVICES=0",),
)
NO_SWAP = Finding(
    check_id="system.no-swap",
    severity=Severity.INFO,
    area="system",
    title="No swap space",
    evidence="swap total 0 bytes",
)


def synthetic_report(*findings: Finding) -> DoctorReport:
    chosen = findings or (GPU_LOST, CUDA_TOO_NEW, UNMATCHED_DEVICE, NO_SWAP)
    ordered = tuple(sorted(chosen, key=lambda f: f.severity.rank))
    return DoctorReport(synthetic_gpu_workstation(), ordered)


def rendered(report: DoctorReport, *, verbose: bool = False, width: int = 100) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    print_doctor(console, report, verbose=verbose)
    return buffer.getvalue()


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ENVKIT_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def area_line(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if line[4:].startswith(title + ":"))


def test_default_golden() -> None:
    assert_golden("doctor-default.txt", rendered(synthetic_report()))


def test_verbose_golden() -> None:
    assert_golden("doctor-verbose.txt", rendered(synthetic_report(), verbose=True))


def test_healthy_golden() -> None:
    text = rendered(synthetic_report(NO_SWAP))
    assert_golden("doctor-healthy.txt", text)
    assert "\nNo issues found.\n" in text


def test_marks_per_area() -> None:
    text = rendered(synthetic_report())
    assert area_line(text, "System").startswith("[✓]")  # info only
    assert area_line(text, "NVIDIA").startswith("[✗]")  # an error and a warning
    assert area_line(text, "Python").startswith("[✓]")
    assert area_line(text, "TensorFlow").startswith("[✗]")
    warning_only = rendered(synthetic_report(UNMATCHED_DEVICE))
    assert area_line(warning_only, "NVIDIA").startswith("[!]")


def test_areas_in_order_and_smoke_only_when_it_has_a_finding() -> None:
    text = rendered(synthetic_report())
    starts = [line[4:].split(":")[0] for line in text.splitlines() if line.startswith("[")]
    assert starts == ["System", "NVIDIA", "Python", "TensorFlow"]
    smoke = Finding("smoke.mnist-failed", Severity.ERROR, "smoke", "MNIST did not train", "")
    assert "Smoke test" in rendered(synthetic_report(smoke))


def test_findings_worst_first_within_an_area() -> None:
    text = rendered(synthetic_report(UNMATCHED_DEVICE, GPU_LOST))
    assert text.index("✗ GPU 1 has fallen") < text.index("! CUDA_VISIBLE_DEVICES")


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ((), "No issues found."),
        ((NO_SWAP,), "No issues found."),
        ((GPU_LOST,), "1 error in 1 area."),
        ((UNMATCHED_DEVICE,), "1 warning in 1 area."),
        ((GPU_LOST, UNMATCHED_DEVICE), "1 error, 1 warning in 1 area."),
        ((GPU_LOST, CUDA_TOO_NEW, UNMATCHED_DEVICE, NO_SWAP), "2 errors, 1 warning in 2 areas."),
        (
            (UNMATCHED_DEVICE, dataclasses.replace(UNMATCHED_DEVICE, area="python")),
            "2 warnings in 2 areas.",
        ),
    ],
)
def test_summary_line(findings: tuple[Finding, ...], expected: str) -> None:
    report = DoctorReport(synthetic_gpu_workstation(), findings)
    assert summary_line(report) == expected


def test_long_fix_command_is_never_wrapped() -> None:
    text = rendered(synthetic_report(CUDA_TOO_NEW), width=80)
    assert len(LONG_COMMAND) > 80
    assert "        " + LONG_COMMAND + "\n" in text


def test_evidence_for_errors_always_for_others_only_verbose() -> None:
    default = rendered(synthetic_report())
    assert "The kernel still lists 0000:2a:00.0." in default
    assert "NVML knows GPUs 0 and 1" not in default
    assert "swap total 0 bytes" not in default
    assert "envkit doctor -v" in default
    verbose = rendered(synthetic_report(), verbose=True)
    assert "NVML knows GPUs 0 and 1" in verbose
    assert "swap total 0 bytes" in verbose
    assert "envkit doctor -v" not in verbose


def test_markup_looking_text_prints_literally() -> None:
    snapshot = synthetic_gpu_workstation()
    python = dataclasses.replace(snapshot.python, executable="/home/ada/[bold]env/bin/python")  # type: ignore[type-var]
    finding = Finding(
        "python.odd",
        Severity.ERROR,
        "python",
        "Title with [red]markup[/red]",
        "evidence [link=x]y[/link]",
        ("echo '[bold]not bold[/bold]'",),
    )
    report = DoctorReport(dataclasses.replace(snapshot, python=python), (finding,))
    text = rendered(report)
    for literal in (
        "/home/ada/[bold]env/bin/python",
        "Title with [red]markup[/red]",
        "evidence [link=x]y[/link]",
        "echo '[bold]not bold[/bold]'",
    ):
        assert literal in text


def test_colours_come_from_styles() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=True, color_system="standard")
    print_doctor(console, synthetic_report(), verbose=False)
    text = buffer.getvalue()
    assert "\x1b[1;31m[✗]" in text  # red
    assert "\x1b[1;32m[✓]" in text  # green


def test_unavailable_parts_summarise_in_a_few_words() -> None:
    snapshot = dataclasses.replace(
        synthetic_gpu_workstation(),
        nvml=Unavailable("nvml-library-not-found", "No NVIDIA driver is installed."),
        tensorflow=Unavailable("tensorflow-not-installed", "No TensorFlow is installed."),
    )
    assert area_summary(snapshot, "nvidia") == ("no NVIDIA driver · 2 NVIDIA GPUs on the PCI bus")
    assert area_summary(snapshot, "tensorflow") == "not installed"
    odd = dataclasses.replace(snapshot, nvml=Unavailable("nvml-init-failed", "Unknown error."))
    assert area_summary(odd, "nvidia").startswith("NVML unavailable [nvml-init-failed]")


def test_list_checks() -> None:
    checks = (
        CheckInfo(
            "tensorflow.cuda-newer-than-driver", "tensorflow", "TF's CUDA needs a newer driver."
        ),
        CheckInfo("system.avx", "system", "The CPU has the instructions TensorFlow's wheels use."),
        CheckInfo("nvidia.gpu-lost", "nvidia", "Every GPU answers NVML."),
    )
    buffer = io.StringIO()
    print_checks(Console(file=buffer, width=100, color_system=None), checks)
    text = buffer.getvalue()
    assert text.index("System\n") < text.index("\nNVIDIA\n") < text.index("\nTensorFlow\n")
    assert "  system.avx                         The CPU has" in text
    assert text.rstrip().endswith("3 checks.")
