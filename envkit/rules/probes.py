"""A probe that fails is a finding, never a quiet "unavailable" (#12).

A target interpreter whose probe crashes (a segfault in a .pth file or sitecustomize), hangs,
writes more than envkit reads, or answers with something that is not the probe's JSON cannot
be judged: the doctor says so as an error in the Python area, with the signal or the first
bytes it printed, escaped.
"""

from __future__ import annotations

from collections.abc import Iterator

from envkit.controls import escape_control
from envkit.model import CheckInfo, Finding, Severity, Snapshot, Unavailable
from envkit.rules.registry import check

PROBE_FAILURES = {
    "python-probe-timeout": "did not finish its probe",
    "python-probe-crashed": "crashed while probed",
    "python-probe-bad-output": "answered the probe with garbage",
    "python-not-an-interpreter": "does not run as a Python interpreter",
}
"""The Unavailable codes of python_env.probe that mean the target misbehaved."""


@check("python.probe", "python", "The examined Python answers envkit's probe.")
def python_probe_answers(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = snapshot.python
    if not isinstance(failure, Unavailable) or failure.code not in PROBE_FAILURES:
        return
    yield info.finding(
        Severity.ERROR,
        f"The examined Python {PROBE_FAILURES[failure.code]}; envkit cannot judge it",
        f"{failure.code}: {escape_control(failure.reason)[:300]}",
        (
            "# run the interpreter by hand, from an empty folder, to see what it does at startup:",
            'cd "$(mktemp -d)" && PYTHON -X importtime -c pass 2>&1 | tail -20',
            "# a .pth file or sitecustomize.py in its site-packages runs at every start",
        ),
    )


@check("nvidia.nvml-timeout", "nvidia", "NVML answers within envkit's deadline.")
def nvml_answers(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    failure = snapshot.nvml
    if not isinstance(failure, Unavailable) or failure.code != "nvml-timeout":
        return
    yield info.finding(
        Severity.ERROR,
        "NVML hangs: the NVIDIA driver or a GPU does not answer",
        escape_control(failure.reason),
        (
            "sudo dmesg | grep -iE 'xid|nvrm'   # the driver's own account of the hang",
            "# then reset the GPU (sudo nvidia-smi -r -i N, with nothing running on it) or reboot",
        ),
    )
