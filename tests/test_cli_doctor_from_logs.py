"""``envkit doctor --from`` on pasted logs: real excerpts from public threads (tests/fixtures/logs,
each with its URL in the README there), alone and inside a pasted report beside real nvidia-smi
output, judged through the real CLI with the one pattern table the smoke run uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
LOGS = FIXTURES / "logs"
SMI = FIXTURES / "nvidia-smi"


def doctor(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def findings(done: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    document = json.loads(done.stdout)
    return list(document["findings"])


def by_check(done: subprocess.CompletedProcess[str], check_id: str) -> dict[str, object]:
    found = [f for f in findings(done) if f["check_id"] == check_id]
    assert found, f"no {check_id} in {[f['check_id'] for f in findings(done)]}"
    return found[0]


def test_a_log_alone_is_an_input_and_its_line_is_the_evidence() -> None:
    done = doctor("--from", str(LOGS / "min-capability-k520.txt"), "--json")
    assert done.returncode == 0, done.stderr  # TensorFlow trains on, on the CPU: a warning
    finding = by_check(done, "log.gpu-min-capability")
    assert finding["severity"] == "warning"
    assert "3.0" in str(finding["title"]) and "3.5" in str(finding["title"])
    assert "line 9" in str(finding["evidence"])  # the Ignoring-visible-gpu line, counted by hand
    assert "min-capability-k520.txt" in str(finding["evidence"])


def test_stdin_is_read_like_a_file() -> None:
    text = (LOGS / "cuinit-no-device.txt").read_text()
    done = doctor("--from", "-", "--json", stdin=text)
    assert done.returncode == 0, done.stderr
    assert by_check(done, "log.cuinit-no-device")["severity"] == "warning"


def test_a_pasted_report_keeps_line_numbers_of_the_whole_paste(tmp_path: Path) -> None:
    """A report as people paste it: prose, the nvidia-smi table in one fence, the log in another.
    The log's line numbers count from the top of the whole paste."""
    table = (SMI / "doc-centos-rtx4090-550-table.txt").read_text()
    log = (LOGS / "cudnn-version-kohya.txt").read_text()
    head = f"My GPU is not used.\n\n```\n{table.rstrip()}\n```\n\nand the log:\n\n```\n"
    report = tmp_path / "issue.md"
    report.write_text(f"{head}{log.rstrip()}\n```\n")
    first_log_line = head.count("\n") + 1
    done = doctor("--from", str(report), "--json")
    assert done.returncode == 1, done.stderr
    finding = by_check(done, "log.cudnn-version")
    assert f"line {first_log_line}:" in str(finding["evidence"])
    assert "older" in str(finding["title"]) + str(finding["evidence"])  # 8.7.0 < 8.9.4
    snapshot = json.loads(done.stdout)["snapshot"]
    assert snapshot["nvml"]["driver_version"] == "550.120"  # the table was read too


def test_unrecognised_lines_are_listed_in_verbose_never_dropped(tmp_path: Path) -> None:
    log = (LOGS / "cuinit-no-device.txt").read_text()
    paste = tmp_path / "paste.txt"
    paste.write_text(f"{log.rstrip()}\nmy own note about the run\n")
    done = doctor("--from", str(paste), "-v")
    assert done.returncode == 0, done.stderr
    assert "not recognised" in done.stdout
    assert "my own note about the run" in done.stdout


def test_text_with_nothing_envkit_reads_is_refused_naming_what_it_reads(tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("Dear diary,\ntoday I bought a new keyboard.\n")
    done = doctor("--from", str(prose))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "nothing envkit reads was recognised" in done.stderr
    assert "log lines" in done.stderr and "nvidia-smi" in done.stderr


def test_binary_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blob = tmp_path / "core"
    blob.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    done = doctor("--from", str(blob))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not a text file" in done.stderr


@pytest.mark.parametrize("escape", ["\x1b]0;owned\x07", "\x1b[2J", "\x1b[31m"])
def test_terminal_escapes_in_a_paste_never_reach_the_terminal(tmp_path: Path, escape: str) -> None:
    log = (LOGS / "cuinit-no-device.txt").read_text()
    paste = tmp_path / "paste.txt"
    paste.write_text(escape + log.replace("cuInit", f"{escape}cuInit", 1))
    done = doctor("--from", str(paste), "-v")
    assert done.returncode == 0, done.stderr
    assert "CUDA_ERROR_NO_DEVICE" in done.stdout
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout


def test_a_failed_import_title_keeps_the_names_it_starts_with() -> None:
    """TF 1.x loads CUDA when imported: the title says so and then names TensorFlow as written
    (it once read "TensorFlow fails to import: tensorFlow ...")."""
    done = doctor("--from", str(LOGS / "importerror-libcudart-tf1.txt"), "--json")
    title = str(by_check(done, "log.cuda-library-missing")["title"])
    assert title.startswith("TensorFlow fails to import: TensorFlow cannot load libcudart.so.8.0")
