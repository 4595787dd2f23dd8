"""Xid history from the kernel log: real-format lines, real programs, a real unreadable log.

Format sources (the NVRM text is quoted; where the source showed another log prefix, the prefix
of the program envkit runs is put in front, as journalctl(1) -o short-iso and dmesg(1) write it):

* Azure/azurehpc-health-checks distributed_nhc/README.md, "real outputs from .health.log files":
  ``[ 3606.832215] NVRM: Xid (PCI:0002:00:00): 119, pid=67769, name=nvidia-smi, Timeout waiting
  for RPC from GSP1! Expected function 76 (GSP_RM_CONTROL) (0x2080014b 0x5).``
* A Fedora 44 journal (``journalctl -b``) quoted in a public blog post on suspend crashes (its
  timestamp is rewritten here in short-iso form):
  ``Aug 19 21:36:23 fedora kernel: NVRM: Xid (PCI:0000:23:00): 120, GSP task exception: load
  access page fault (cause:0xd) @ pc:0x13636b2, partition:2#0, task:3, gfid: 0``
* leptonai/gpud components/.../xid (comments quoting dmesg): ``NVRM: Xid (PCI:0000:05:00): 79,
  pid='<unknown>', name=<unknown>, GPU has fallen off the bus.`` and the old form without ``PCI:``
  ``NVRM: Xid (0000:03:00): 14, Channel 00000001``.
* NVIDIA/NVSentinel#155 (dmesg, driver 570.158.01): a GPU that fell off the bus with no Xid line.
* A syslog line (``Nov  4 17:34:16 host kernel: [ 3224.864246] NVRM: Xid (PCI:0000:01:00): 69,
  Class Error: ChId 0003, ...``) quoted in a public bug report's logs (found by text search; the
  report itself was not recorded).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envkit.model import Unavailable
from envkit.probes import _proc
from envkit.probes.kernel_log import (
    Runner,
    XidHistory,
    nvml_bus_key,
    parse_xid_lines,
    read_xid_history,
)

REPO = Path(__file__).resolve().parents[1]

AZURE_119 = (
    "[ 3606.832215] NVRM: Xid (PCI:0002:00:00): 119, pid=67769, name=nvidia-smi, Timeout waiting "
    "for RPC from GSP1! Expected function 76 (GSP_RM_CONTROL) (0x2080014b 0x5)."
)
FEDORA_120 = (
    "2026-08-19T21:36:23+0100 fedora kernel: NVRM: Xid (PCI:0000:23:00): 120, GSP task "
    "exception: load access page fault (cause:0xd) @ pc:0x13636b2, partition:2#0, task:3, gfid: 0"
)
GPUD_79 = (
    "[ 812.100000] NVRM: Xid (PCI:0000:05:00): 79, pid='<unknown>', name=<unknown>, "
    "GPU has fallen off the bus."
)
GPUD_OLD_14 = "[ 12.000000] NVRM: Xid (0000:03:00): 14, Channel 00000001"
NVSENTINEL_FALLEN = """\
[ 1843.308145] NVRM: The NVIDIA GPU 0000:b3:00.0
               NVRM: (PCI ID: 10de:26b5) installed in this system has
               NVRM: fallen off the bus and is not responding to commands.
[ 1843.439662] NVRM: The NVIDIA probe routine failed for 1 device(s)."""
KERN_LOG_69 = (
    "Nov  4 17:34:16 james-VPCF22M0E kernel: [ 3224.864246] NVRM: Xid (PCI:0000:01:00): 69, "
    "Class Error: ChId 0003, Class 00009197, Offset 00002480, Data 3c5f1928, ErrorCode 0000000c"
)


def test_a_gsp_timeout_with_pid_and_name() -> None:
    (event,) = parse_xid_lines(AZURE_119)
    assert (event.xid, event.pci_bus_id, event.pid, event.process) == (
        119,
        "0002:00:00",
        67769,
        "nvidia-smi",
    )
    assert event.message.startswith("Timeout waiting for RPC from GSP1!")
    assert event.when == "3606.832215 s after boot"


def test_journal_short_iso_line_without_pid() -> None:
    (event,) = parse_xid_lines(FEDORA_120)
    assert (event.xid, event.pci_bus_id, event.pid, event.process) == (
        120,
        "0000:23:00",
        None,
        None,
    )
    assert event.message.startswith("GSP task exception")
    assert event.when == "2026-08-19T21:36:23+0100"


def test_unknown_pid_and_the_old_form_without_pci() -> None:
    fallen, old = parse_xid_lines(f"{GPUD_79}\n{GPUD_OLD_14}")
    assert (fallen.xid, fallen.pid, fallen.process) == (79, None, None)
    assert fallen.message == "GPU has fallen off the bus."
    assert (old.xid, old.pci_bus_id, old.message) == (14, "0000:03:00", "Channel 00000001")


def test_a_gpu_off_the_bus_without_an_xid_counts_as_79() -> None:
    (event,) = parse_xid_lines(NVSENTINEL_FALLEN)
    assert (event.xid, event.pci_bus_id) == (79, "0000:b3:00")
    assert "without an Xid line" in event.message


def test_the_same_gpu_off_the_bus_is_not_counted_twice() -> None:
    text = (
        NVSENTINEL_FALLEN
        + "\n[ 1843.5] NVRM: Xid (PCI:0000:b3:00): 79, GPU has fallen off the bus."
    )
    assert [event.xid for event in parse_xid_lines(text)] == [79]


def test_syslog_kern_log_line_and_ordinary_lines() -> None:
    text = "\n".join(
        [
            "Nov  4 17:34:10 host kernel: [ 3219.1] nvidia 0000:01:00.0: enabling device",
            KERN_LOG_69,
            "Nov  4 17:34:17 host kernel: [ 3225.0] NVRM: GPU at PCI:0000:01:00: GPU-0f1e",
        ]
    )
    (event,) = parse_xid_lines(text)
    assert (event.xid, event.pci_bus_id) == (69, "0000:01:00")
    assert event.when == "3224.864246 s after boot"


@pytest.mark.parametrize(
    ("nvml", "key"),
    [
        ("00000000:19:00.0", "0000:19:00"),
        ("00000002:00:00.0", "0002:00:00"),
        ("00000000:3B:00.0", "0000:3b:00"),
        ("garbage", None),
    ],
)
def test_nvml_bus_ids_meet_the_kernel_form(nvml: str, key: str | None) -> None:
    assert nvml_bus_key(nvml) == key


# --- reading, with the sources replaced ----------------------------------------------------


def _runner(answers: dict[str, _proc.ProcResult]) -> Runner:
    def run(argv: list[str], *, timeout_s: float) -> _proc.ProcResult:
        assert timeout_s > 0
        return answers[argv[0]]

    return run


NO_JOURNAL = _proc.ProcResult(0, "-- No entries --\n", "No journal files were found.\n")
DMESG_DENIED = _proc.ProcResult(
    1, "", "dmesg: read kernel buffer failed: Operation not permitted\n"
)


def test_journalctl_is_read_first() -> None:
    answers = {"journalctl": _proc.ProcResult(0, FEDORA_120 + "\n", "")}
    history = read_xid_history(run=_runner(answers))
    assert isinstance(history, XidHistory)
    assert history.source == "journalctl -k -b --no-pager -o short-iso"
    assert [event.xid for event in history.events] == [120]


def test_an_empty_journal_falls_back_to_dmesg() -> None:
    answers = {"journalctl": NO_JOURNAL, "dmesg": _proc.ProcResult(0, AZURE_119 + "\n", "")}
    history = read_xid_history(run=_runner(answers))
    assert isinstance(history, XidHistory)
    assert (history.source, history.window) == ("dmesg", "since this boot")
    assert [event.xid for event in history.events] == [119]


def test_kern_log_is_read_from_the_last_boot(tmp_path: Path) -> None:
    kern_log = tmp_path / "kern.log"
    kern_log.write_text(
        "Nov  3 09:00:00 host kernel: [    0.000000] Linux version 6.8.0-45-generic\n"
        "Nov  3 10:00:00 host kernel: [ 3600.1] NVRM: Xid (PCI:0000:01:00): 79, GPU has fallen\n"
        "Nov  4 16:40:00 host kernel: [    0.000000] Linux version 6.8.0-45-generic\n"
        f"{KERN_LOG_69}\n",
        encoding="utf-8",
    )
    answers = {"journalctl": NO_JOURNAL, "dmesg": DMESG_DENIED}
    history = read_xid_history(run=_runner(answers), kern_log=kern_log)
    assert isinstance(history, XidHistory)
    assert [event.xid for event in history.events] == [69]  # the 79 was in the boot before
    assert history.window.startswith("since this boot")


def test_nothing_readable_is_unavailable_with_every_reason(tmp_path: Path) -> None:
    answers = {
        "journalctl": _proc.ProcResult(None, "", "", start_error="No such file or directory"),
        "dmesg": DMESG_DENIED,
    }
    result = read_xid_history(run=_runner(answers), kern_log=tmp_path / "absent.log")
    assert isinstance(result, Unavailable)
    assert result.code == "kernel-log-unreadable"
    assert "journalctl: No such file or directory" in result.reason
    assert "Operation not permitted" in result.reason
    assert "absent.log" in result.reason
    assert "dmesg_restrict" in result.reason


def test_a_hung_journal_is_given_up_on() -> None:
    answers = {
        "journalctl": _proc.ProcResult(None, "", "", timed_out=True),
        "dmesg": _proc.ProcResult(0, "[    0.000000] Linux version 6.8.0\n", ""),
    }
    history = read_xid_history(run=_runner(answers), timeout_s=2)
    assert isinstance(history, XidHistory)
    assert (history.source, history.events) == ("dmesg", ())


# --- the real programs on this machine -----------------------------------------------------


def test_this_machine_gives_a_history_or_a_reason() -> None:
    result = read_xid_history()
    if isinstance(result, Unavailable):
        assert result.reason
    else:
        assert result.source and result.window
        assert all(event.xid > 0 for event in result.events)


def test_an_unprivileged_user_with_dmesg_restrict_gets_a_reason() -> None:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to run the reader as nobody")
    if Path("/proc/sys/kernel/dmesg_restrict").read_text().strip() != "1":
        pytest.skip("dmesg is not restricted here")
    if Path("/var/log/kern.log").exists():
        pytest.skip("/var/log/kern.log exists and may be readable")
    code = (
        "from envkit.probes.kernel_log import read_xid_history; r = read_xid_history(); "
        "print(type(r).__name__); print(getattr(r, 'reason', ''))"
    )
    # nobody may not enter the checkout (a clone made with mktemp -d is 0700): give it a copy.
    readable = Path(tempfile.mkdtemp(prefix="envkit-nobody-"))
    try:
        readable.chmod(0o755)
        shutil.copytree(REPO / "envkit", readable / "envkit")
        as_nobody = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run(
            [*as_nobody, sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=readable,
            env={**os.environ, "PYTHONPATH": str(readable)},
        )
    finally:
        shutil.rmtree(readable, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    kind, reason = done.stdout.split("\n", 1)
    if kind == "XidHistory":
        pytest.skip("the journal is readable by nobody here")
    assert kind == "Unavailable"
    assert "dmesg (exit 1): dmesg: read kernel buffer failed: Operation not permitted" in reason
