"""Xid history: the NVIDIA driver's error reports in the kernel log since this boot.

The driver writes one line per Xid, e.g. (Azure/azurehpc-health-checks, distributed_nhc/README.md,
"real outputs")::

    [ 3606.832215] NVRM: Xid (PCI:0002:00:00): 119, pid=67769, name=nvidia-smi, Timeout ...

Older drivers leave out ``PCI:`` and ``pid``/``name``; newer ones write ``pid='<unknown>'``. A GPU
that falls off the bus may instead be reported over three lines with no Xid (NVIDIA/NVSentinel#155,
driver 570.158.01); that is read as Xid 79.

The log is read with ``journalctl -k -b``, else ``dmesg``, else /var/log/kern.log (from the last
boot banner on); every program runs through :func:`envkit.probes._proc.run` with a timeout. A log
that none of them can read (``kernel.dmesg_restrict``, no journal group, a container) comes back
as :class:`~envkit.model.Unavailable`, never as an empty history.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from envkit.model import Unavailable
from envkit.probes import _proc
from envkit.records import record

JOURNALCTL = ("journalctl", "-k", "-b", "--no-pager", "-o", "short-iso")
DMESG = ("dmesg",)
KERN_LOG = Path("/var/log/kern.log")

Runner = Callable[..., _proc.ProcResult]
"""``_proc.run``'s shape: (argv, *, timeout_s) -> ProcResult."""

_XID = re.compile(
    r"NVRM: Xid \((?:PCI:)?(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2})"
    r"(?:\.[0-9A-Fa-f])?\): (?P<xid>\d+),?\s*(?P<rest>.*)$"
)
_PID = re.compile(r"^pid=(?:'?(?P<pid>\d+)'?|'?<unknown>'?),\s*")
_NAME = re.compile(r"^name=(?P<name>[^,]*),\s*")
_FALLEN_GPU = re.compile(
    r"NVRM: The NVIDIA GPU (?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2})"
)
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T[0-9:.+\-]+)\s")
_BOOT_TIME = re.compile(r"\[\s*(\d+\.\d+)\]")
_BOOT_BANNER = re.compile(r"\bLinux version \d")


@record
class XidEvent:
    xid: int
    pci_bus_id: str
    """As the driver wrote it, normalised to lowercase ``dddd:bb:dd`` (domain:bus:device)."""
    pid: int | None
    process: str | None
    message: str
    """The driver's text after the Xid number (and pid, name)."""
    when: str | None
    """The journal's ISO time, or the kernel's seconds since boot, as logged."""
    line: str


@record
class XidHistory:
    source: str
    """What was read: the journalctl or dmesg command line, or the file."""
    window: str
    """Which stretch of time the events cover, in words."""
    events: tuple[XidEvent, ...]


def read_xid_history(
    *, timeout_s: float = 10.0, run: Runner = _proc.run, kern_log: Path = KERN_LOG
) -> XidHistory | Unavailable:
    """Every Xid the NVIDIA driver logged since this boot, from the first source that reads."""
    failures: list[str] = []
    for argv in (JOURNALCTL, DMESG):
        text = _command_text(run, argv, timeout_s, failures)
        if text is not None:
            return XidHistory(" ".join(argv), "since this boot", parse_xid_lines(text))
    lines = _kern_log_lines(kern_log, failures)
    if lines is not None:
        since, window = _since_last_boot(lines)
        return XidHistory(str(kern_log), window, parse_xid_lines("\n".join(since)))
    return Unavailable(
        "kernel-log-unreadable",
        "The kernel log could not be read (" + "; ".join(failures) + "), so Xid errors since "
        "boot are unknown; run as root (kernel.dmesg_restrict hides dmesg from other users), add "
        "the user to the adm or systemd-journal group, or, in a container, check the host's log.",
    )


def _command_text(
    run: Runner, argv: Sequence[str], timeout_s: float, failures: list[str]
) -> str | None:
    done = run(list(argv), timeout_s=timeout_s)
    name = argv[0]
    if done.start_error is not None:
        failures.append(f"{name}: {done.start_error}")
        return None
    if done.timed_out:
        failures.append(f"{name}: no answer within {timeout_s:g} s")
        return None
    messages = [line for line in done.stdout.splitlines() if line and not line.startswith("-- ")]
    if done.returncode != 0 or not messages:
        said = _last_line(done.stderr) or _last_line(done.stdout) or "no kernel messages"
        failures.append(f"{name} (exit {done.returncode}): {said}")
        return None
    return "\n".join(messages)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _kern_log_lines(path: Path, failures: list[str]) -> list[str] | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        failures.append(f"{path}: {error.strerror or error}")
        return None
    return text.splitlines()


def _since_last_boot(lines: list[str]) -> tuple[list[str], str]:
    banners = [i for i, line in enumerate(lines) if _BOOT_BANNER.search(line)]
    if not banners:
        return lines, "the whole file (no boot banner found, so earlier boots may be included)"
    return lines[banners[-1] :], "since this boot (from the last 'Linux version' banner)"


def parse_xid_lines(text: str) -> tuple[XidEvent, ...]:
    """The Xid reports in kernel-log text from journalctl, dmesg or a syslog file."""
    lines = text.splitlines()
    events = [event for line in lines if (event := _xid_event(line)) is not None]
    fallen = {event.pci_bus_id for event in events if event.xid == 79}
    for index, line in enumerate(lines):
        match = _FALLEN_GPU.search(line)
        following = " ".join(lines[index : index + 4])
        if match and "fallen off the bus" in following:
            bus = _bus_id(match.group("bus"))
            if bus not in fallen:
                fallen.add(bus)
                events.append(_fallen_off_event(bus, line))
    return tuple(events)


def _xid_event(line: str) -> XidEvent | None:
    match = _XID.search(line)
    if match is None:
        return None
    rest, pid, process = match.group("rest"), None, None
    if found := _PID.match(rest):
        pid = int(found.group("pid")) if found.group("pid") else None
        rest = rest[found.end() :]
    if found := _NAME.match(rest):
        process = found.group("name") if found.group("name") != "<unknown>" else None
        rest = rest[found.end() :]
    return XidEvent(
        xid=int(match.group("xid")),
        pci_bus_id=_bus_id(match.group("bus")),
        pid=pid,
        process=process,
        message=rest.strip(),
        when=_when(line[: match.start()]),
        line=line.strip(),
    )


def _fallen_off_event(bus: str, line: str) -> XidEvent:
    return XidEvent(
        xid=79,
        pci_bus_id=bus,
        pid=None,
        process=None,
        message="GPU has fallen off the bus (reported without an Xid line)",
        when=_when(line[: line.find("NVRM:")]),
        line=line.strip(),
    )


def _bus_id(text: str) -> str:
    """``0000:18:00`` from ``0000:18:00``, ``00000000:18:00`` or upper case."""
    domain, bus, device = text.lower().split(":")
    return f"{int(domain, 16):04x}:{bus}:{device}"


def _when(prefix: str) -> str | None:
    if match := _ISO_TIME.match(prefix):
        return match.group(1)
    if match := _BOOT_TIME.search(prefix):
        return f"{match.group(1)} s after boot"
    return None


def nvml_bus_key(nvml_bus_id: str) -> str | None:
    """NVML's ``00000000:18:00.0`` in :attr:`XidEvent.pci_bus_id`'s form, ``0000:18:00``."""
    parts = nvml_bus_id.lower().split(".")[0].split(":")
    if len(parts) != 3:
        return None
    try:
        return _bus_id(":".join(parts))
    except ValueError:
        return None


__all__ = [
    "XidEvent",
    "XidHistory",
    "nvml_bus_key",
    "parse_xid_lines",
    "read_xid_history",
]
