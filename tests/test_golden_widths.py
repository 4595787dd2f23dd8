"""Every text view at 60, 80 and 120 columns, compared with golden text (tests/golden/*-<width>.txt;
ENVKIT_UPDATE_GOLDEN=1 rewrites them), and the rules every width keeps: no line wider than the
console unless it is one unbreakable token or a command, and no fix comment continued without `#`.

The doctor's findings, the validate results and the fleet are SYNTHETIC (tests/snapshots.py,
tests/fixtures/validate/synthetic.py); the smoke result is a real CPU run of envkit smoke --quick
with the tf test env and the real MNIST (tests/fixtures/smoke/cpu-quick-mlp-cnn.json).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from envkit.codec import decode
from envkit.model import Finding
from envkit.render.doctor import print_doctor
from envkit.render.report import print_report
from envkit.render.wrap import comment_start, fix_lines, prose_lines
from envkit.smoke.model import SmokeResult
from envkit.smoke.render import print_result
from envkit.validate.fleet import summarize
from envkit.validate.render import print_validation
from envkit.validate.render_fleet import print_fleet
from envkit.validate.report_json import validation_json
from tests.fixtures.validate.synthetic import healthy_results, node_report, skipped_only
from tests.snapshots import synthetic_gpu_workstation
from tests.test_render_doctor import synthetic_report

GOLDEN = Path(__file__).parent / "golden"
SMOKE = Path(__file__).parent / "fixtures" / "smoke" / "cpu-quick-mlp-cnn.json"
WIDTHS = (60, 80, 120)
LONG_COMMENT = (
    "# install the NVIDIA driver for that OS and GPU; `envkit doctor` run there prints the "
    "exact steps, and a reboot loads it"
)


def _smoke() -> tuple[SmokeResult, tuple[Finding, ...]]:
    document = json.loads(SMOKE.read_text())
    findings = tuple(decode(Finding, f) for f in document["findings"])
    return decode(SmokeResult, document["result"]), findings


def _fleet(console: Console, folder: Path) -> None:
    for node, tflops in {"gpu-node-1": (712.0, 708.0), "gpu-node-2": (600.0, 709.0)}.items():
        (folder / f"{node}.json").write_text(
            validation_json(node_report(node, healthy_results(tflops)))
        )
    (folder / "gpu-node-4.json").write_text(validation_json(node_report("gpu-node-4")))
    (folder / "gpu-node-5.json").write_text(
        validation_json(node_report("gpu-node-5", skipped_only()))
    )
    print_fleet(console, summarize([folder], expected_nodes=["gpu-node-11"]))


def _views(folder: Path) -> dict[str, Callable[[Console], None]]:
    result, findings = _smoke()
    return {
        "doctor-verbose": lambda c: print_doctor(c, synthetic_report(), verbose=True),
        "report-gpu-workstation": lambda c: print_report(c, synthetic_gpu_workstation()),
        "validate-mixed-verbose": lambda c: print_validation(c, node_report(), verbose=True),
        "smoke-cpu-quick": lambda c: print_result(c, result, findings),
        "fleet": lambda c: _fleet(c, folder),
    }


def rendered(draw: Callable[[Console], None], width: int) -> str:
    buffer = io.StringIO()
    draw(Console(file=buffer, width=width, color_system=None, highlight=False))
    return buffer.getvalue()


VIEWS = (
    "doctor-verbose",
    "report-gpu-workstation",
    "validate-mixed-verbose",
    "smoke-cpu-quick",
    "fleet",
)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", VIEWS)
def test_golden_at_width(view: str, width: int, tmp_path: Path) -> None:
    text = rendered(_views(tmp_path)[view], width)
    path = GOLDEN / f"{view}-{width}.txt"
    if os.environ.get("ENVKIT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def _too_wide(line: str, width: int) -> bool:
    """Wider than the console, and breakable: more than one word outside a command."""
    if len(line) <= width:
        return False
    start = comment_start(line.strip())
    if (start != 0 and start is not None) or line.strip().startswith(("sudo ", "/", "nvidia-smi")):
        return False  # a command whole on its line, as it must be
    return len(line.split()) > 1 and start is None and not line.startswith(" " * 8)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", ["doctor-verbose", "validate-mixed-verbose", "smoke-cpu-quick"])
def test_no_breakable_line_is_wider_than_the_console(view: str, width: int, tmp_path: Path) -> None:
    for line in rendered(_views(tmp_path)[view], width).splitlines():
        assert not _too_wide(line, width), line


def test_validate_at_60_never_splits_a_word() -> None:
    text = rendered(lambda c: print_validation(c, node_report(), verbose=True), 60)
    lines = text.splitlines()
    for before, after in itertools.pairwise(lines):
        assert not (before.endswith("NVM") and after.lstrip().startswith("L")), (before, after)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "view", ["doctor-verbose", "validate-mixed-verbose", "report-gpu-workstation"]
)
def test_a_command_in_backticks_is_never_split_across_lines(
    view: str, width: int, tmp_path: Path
) -> None:
    """An action's command (`sudo nvidia-smi -r -i 1`) once broke after "sudo" at 60 columns:
    the second half, pasted alone, resets nothing."""
    for line in rendered(_views(tmp_path)[view], width).splitlines():
        assert line.count("`") % 2 == 0, line


@pytest.mark.parametrize("width", [20, 40, 60])
def test_prose_wraps_at_spaces_outside_backticks(width: int) -> None:
    text = (
        "drain the node, then reset the GPU (`nvidia-smi -r -i 3`) or reboot it and validate again"
    )
    lines = prose_lines(text, width)
    assert " ".join(lines) == text
    assert any("(`nvidia-smi -r -i 3`)" in line for line in lines)
    assert all(len(line) <= width or "`" in line for line in lines)


def test_smoke_table_never_truncates_its_headers() -> None:
    result, findings = _smoke()
    narrow = rendered(lambda c: print_result(c, result, findings), 60)
    assert "…" not in narrow
    assert "mlp on CPU: PASS" in narrow and "train acc 0.8497" in narrow  # stacked
    header = rendered(lambda c: print_result(c, result, findings), 80).splitlines()[0]
    for name in ("model", "device", "epochs", "train acc", "test acc", "samples/s", "verdict"):
        assert name in header


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_the_fleet_fits_100_columns_and_stacks_when_narrower(width: int, tmp_path: Path) -> None:
    text = rendered(lambda c: _fleet(c, tmp_path), width)
    table = text.split("\n\n")[1].splitlines()
    assert max(len(line) for line in table) <= min(width, 100)
    if width == 40:
        assert "\n    FAIL  gpu.ecc-uncorrected\n" in text  # one node, then its checks


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_a_wrapped_comment_keeps_its_hash(width: int) -> None:
    for line in (LONG_COMMENT, "nvidia-smi   " + LONG_COMMENT):
        lines = fix_lines(line, width)
        assert all(part.lstrip().startswith("#") or part.startswith("nvidia-smi") for part in lines)
        rejoined = lines[0].split() + [w for p in lines[1:] for w in p.split()[1:]]
        assert rejoined == line.split()  # every word once, in order; each continuation a `#`
        assert all(len(part) <= max(width, 40) for part in lines)


def test_a_command_is_never_broken() -> None:
    command = "python -c \"import tensorflow as tf; print(tf.config.list_physical_devices('GPU'))\""
    assert fix_lines(command, 30) == [command]
    quoted_hash = "echo '# not a comment' && nvidia-smi"
    assert fix_lines(quoted_hash, 10) == [quoted_hash]


def test_doctor_piped_keeps_comments_comments() -> None:
    """Piped output (no terminal): the doctor's fix comments wrap with # at 60 columns too."""
    text = rendered(lambda c: print_doctor(c, synthetic_report(), verbose=True), 60)
    fixes = [line for line in text.splitlines() if line.startswith(" " * 8)]
    assert fixes and all(
        line.lstrip().startswith("#") or comment_start(line.strip()) != 0 for line in fixes
    )


def test_no_color_means_no_colour_codes() -> None:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "FORCE_COLOR": "1",
        "TERM": "xterm-256color",
        "COLUMNS": "80",
    }
    result = subprocess.run(
        [sys.executable, "-m", "envkit", "report"], capture_output=True, text=True, env=env,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "\x1b[3" not in result.stdout and "\x1b[9" not in result.stdout
    env.pop("NO_COLOR")
    coloured = subprocess.run(
        [sys.executable, "-m", "envkit", "report"], capture_output=True, text=True, env=env,
        timeout=120, check=False,
    )  # fmt: skip
    assert "\x1b[" in coloured.stdout  # the test can tell: colour is on without NO_COLOR


# ---- the smoke progress line: rich's columns, honest phases, one width throughout


def _progress_frames() -> list[str]:
    from envkit.jobs.state import JobEvent
    from envkit.smoke.render import SmokeProgress

    console = Console(file=io.StringIO(), width=150, color_system=None)
    show = SmokeProgress(console)
    frames: list[str] = []

    def frame() -> None:
        with console.capture() as captured:
            console.print(show.progress.get_renderable())
        frames.append(captured.get().rstrip("\n").splitlines()[-1])  # the live line

    run = {"model": "mlp", "device": "cpu"}
    events = [
        ("hello", {}),
        ("phase", {"phase": "import", "backend": "tensorflow"}),
        ("ready", {"backend": "tensorflow", "versions": {}, "gpus": []}),
        ("data", {"source": "file"}),
        ("run_start", {**run, "epochs": 2, "steps_per_epoch": 469}),
        ("batch", {**run, "batch": 1, "loss": 2.3, "acc": 0.1}),
        ("batch", {**run, "batch": 300, "loss": 0.31234, "acc": 0.91234}),
        ("epoch", {**run, "epoch": 1, "loss": 0.3, "acc": 0.9, "seconds": 2.0}),
        ("batch", {**run, "batch": 469, "loss": 0.1, "acc": 0.97}),
        ("epoch", {**run, "epoch": 2, "loss": 0.1, "acc": 0.97, "seconds": 2.0}),
        ("run_end", run),
    ]
    with show:
        for number, (name, fields) in enumerate(events):
            show(JobEvent(name, fields, float(number)))
            frame()
    return frames


def test_progress_phases_are_honest_and_the_width_steady() -> None:
    frames = _progress_frames()
    text = "\n".join(frames)
    assert "None" not in text and "next" not in text
    for phase in ("starting the interpreter", "importing tensorflow", "loading the data",
                  "building the network", "mlp on CPU · epoch 1/2", "mlp on CPU · epoch 2/2",
                  "mlp on CPU · testing", "mlp on CPU done"):  # fmt: skip
        assert phase in text, text
    assert "300/469" in text  # rich's M of N
    assert len({len(line) for line in frames}) == 1, frames  # one width, first to last


def test_report_starts_with_the_nvidia_smi_view() -> None:
    text = rendered(lambda c: print_report(c, synthetic_gpu_workstation()), 100)
    lines = text.splitlines()
    assert lines[2] == "GPUs"
    assert lines[3].split() == ["Driver", "550.54.15", "·", "CUDA", "≤", "12.4"]
    gpu0 = next(line for line in lines if line.startswith("  GPU 0"))
    assert "0.5 / 80.0 GiB used" in gpu0 and "°C" in gpu0
    assert "87 % util" in gpu0 and "612 W / 700 W" in gpu0  # utilisation and power, as nvidia-smi
    processes = next(line for line in lines if line.startswith("  Processes"))
    assert "pid 4242 compute" in processes
    assert lines.index("GPUs") < lines.index("System") < lines.index("NVIDIA")
