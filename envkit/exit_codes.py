"""envkit's exit statuses, which a command's core returns with its report and the CLI exits with."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    """Nothing to act on (warnings allowed)."""
    FINDINGS = 1
    """The machine, node or file has a problem the report names: an error finding, a failed check
    or run."""
    USAGE = 2
    """The user's input is wrong (one line on stderr), not the machine."""


__all__ = ["ExitCode"]
