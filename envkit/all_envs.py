"""``envkit doctor --all-envs``: every environment envkit can find, judged side by side.

The machine (OS, driver, GPUs, conda) is probed once; each environment's interpreter is probed
in parallel, and each snapshot is judged by every check, as ``envkit doctor --python`` would.
"""

from __future__ import annotations

from envkit.doctor import diagnose
from envkit.model import DoctorReport, Target
from envkit.probes import collect_many
from envkit.target import environment_targets


def examine_all(first: Target) -> tuple[DoctorReport, ...]:
    """``first`` (the default target) and every other environment found, in that order."""
    snapshots = collect_many(first, lambda found: environment_targets(found, first))
    return tuple(diagnose(snapshot) for snapshot in snapshots)


def exit_status(reports: tuple[DoctorReport, ...]) -> int:
    """1 when any environment has an error, as the doctor exits for one."""
    return max((report.exit_status for report in reports), default=0)
