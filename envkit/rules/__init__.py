"""envkit doctor's checks: pure functions from a Snapshot to findings, each registered with a
stable id by ``@check`` (registry.py).

The rule modules are listed here, once: importing envkit.rules (or anything under it) imports
them, and that registers their checks. A new rule module is added to this import.
"""

from envkit.rules import environments, lifecycle, nvidia, probes, python, system, tensorflow
from envkit.rules.registry import all_checks, evaluate, finding_order

RULE_MODULES = (system, nvidia, python, tensorflow, lifecycle, probes, environments)

__all__ = ["RULE_MODULES", "all_checks", "evaluate", "finding_order"]
