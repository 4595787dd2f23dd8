"""The program's entry point: the default target's probe starts first, then the CLI loads.

``envkit doctor`` and ``envkit report`` without an option that picks another target (or no
target) examine the default one. Its probe, a child process of the target's interpreter (through
a wrapper such as a pyenv shim, the longest step of the command), is started before Typer, the
commands and the rules are imported, and runs on another core meanwhile; the command later asks
for the same target and takes the probe already under way (``envkit.probes.start_collect``).
Any other command line starts nothing here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

_COLLECTING_COMMANDS = frozenset({"doctor", "report"})
_OTHER_TARGET_OR_NONE = frozenset(
    {"--python", "--env", "--kernel", "--from", "--snapshot", "--all-envs", "--list-checks"}
)
"""Options after which the command examines another interpreter, a recorded one, or none."""
_NO_COMMAND_RUN = frozenset({"--help", "-h", "--install-completion", "--show-completion"})


def main() -> None:
    _start_default_probe(sys.argv[1:], os.environ)
    from envkit.cli import main as run_cli

    run_cli()


def examines_default_target(args: list[str], environ: Mapping[str, str]) -> bool:
    """Whether these arguments run doctor or report on the default target."""
    if not args or args[0] not in _COLLECTING_COMMANDS:
        return False
    if any(name.startswith("_ENVKIT_COMPLETE") for name in environ):
        return False  # shell completion asks Typer for words; nothing runs
    options = {arg.split("=", 1)[0] for arg in args[1:]}
    return not options & (_OTHER_TARGET_OR_NONE | _NO_COMMAND_RUN)


def _start_default_probe(args: list[str], environ: Mapping[str, str]) -> None:
    if not examines_default_target(args, environ):
        return
    from envkit.probes import prefetch
    from envkit.target import TargetError, resolve_target

    try:
        target = resolve_target()
    except TargetError:
        return  # the command says so itself, in its own words
    prefetch(target)
