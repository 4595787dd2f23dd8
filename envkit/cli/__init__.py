"""The command line: each command parses options, calls one core function and one renderer.

envkit/cli/_app.py holds the Typer app and what the commands share; each command lives in its own
module, imported here so that it registers itself.
"""

from __future__ import annotations

from envkit.cli import doctor, env, report, smoke, validate
from envkit.cli._app import app
from envkit.exit_codes import ExitCode

__all__ = ["ExitCode", "app", "doctor", "env", "main", "report", "smoke", "validate"]


def main() -> None:
    import errno
    import sys

    from typer.exceptions import Abort, TyperException

    try:
        status = app(prog_name="envkit", standalone_mode=False)
    except TyperException as error:  # click's usage errors: one line and the hint, not a box
        sys.exit(_usage_error(error))
    except Abort:
        print("envkit: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)


def _usage_error(error: Exception) -> int:
    import sys

    ctx = getattr(error, "ctx", None)
    message = getattr(error, "format_message", lambda: str(error))()
    if type(error).__name__ == "NoArgsIsHelpError":  # `envkit env`: the help, as before
        print(message, file=sys.stderr)
        return int(ExitCode.USAGE)
    print(f"envkit: error: {' '.join(str(message).split())}", file=sys.stderr)
    command = ctx.command_path if ctx is not None else _command_words(sys.argv[1:])
    print(f"Try '{command} --help'.", file=sys.stderr)
    return int(getattr(error, "exit_code", ExitCode.USAGE))


def _command_words(args: list[str]) -> str:
    """`envkit fleet summarize` from the arguments, for a hint when click has no context."""
    words = ["envkit"]
    for arg in args[:2]:
        if arg.startswith("-") or not arg.isidentifier():
            break
        words.append(arg)
    return " ".join(words)
