"""The command line: each command parses options, calls one core function and one renderer.

envkit/cli/_app.py holds the Typer app and what the commands share; each command lives in its own
module, imported here so that it registers itself.
"""

from __future__ import annotations

from envkit.cli import doctor, env, report, smoke, validate
from envkit.cli._app import ExitCode, app

__all__ = ["ExitCode", "app", "doctor", "env", "main", "report", "smoke", "validate"]


def main() -> None:
    app(prog_name="envkit")
