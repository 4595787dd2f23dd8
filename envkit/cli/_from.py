"""``--from FILE`` on report, doctor and validate: the inputs read from files or stdin.

The size is checked before anything is read (a small local check; envkit.files gains a shared
bounded reader). Every file must hold at least one part envkit recognises, else exit 2 with the
kinds it reads.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envkit.cli._app import fail

if TYPE_CHECKING:
    from envkit.inputs.model import InputReading

FromOption = Annotated[
    list[str] | None,
    typer.Option(
        "--from",
        metavar="FILE",
        help="Judge what a file holds instead of this machine: nvidia-smi output (-q -x, -q, "
        "the table), pip/conda lists, tf_env_collect.sh or torch collect_env output, envkit "
        "JSON, or a pasted bug report. Repeatable; - reads stdin.",
    ),
]


def input_texts(paths: list[str]) -> list[tuple[str, str]]:
    return [(path, _read_text(path)) for path in paths]


def read_from(paths: list[str]) -> InputReading:
    """Every input read and recognised; bad input ends the command with exit 2."""
    from envkit.inputs import InputError, kinds_sentence, read_inputs

    try:
        reading = read_inputs(input_texts(paths))
    except InputError as error:
        fail(str(error))
    if reading.unrecognised:
        fail(
            f"{', '.join(reading.unrecognised)}: nothing envkit reads was recognised; "
            f"it reads {kinds_sentence()}"
        )
    for warning in reading.warnings:
        typer.echo(f"envkit: warning: {warning}", err=True)
    return reading


def _read_text(path: str) -> str:
    from envkit.inputs import MAX_INPUT_BYTES

    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            fail(f"stdin holds more than {_mb(MAX_INPUT_BYTES)}; envkit reads inputs up to that")
        return _decoded("stdin", data)
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError:
        fail(f"{path} does not exist")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    if file.is_dir():
        fail(f"{path} is a directory; give a file (a folder of dumps needs --output-dir)")
    if size > MAX_INPUT_BYTES:
        fail(f"{path} is {_mb(size)}; envkit reads inputs up to {_mb(MAX_INPUT_BYTES)}")
    from envkit.readers import InputError as ReadError
    from envkit.readers import read_bytes

    try:  # the one bounded reader: a FIFO or a device is refused, never blocks (#12)
        data = read_bytes(file, limit=MAX_INPUT_BYTES)
    except ReadError as error:
        fail(str(error))
    return _decoded(path, data)


def _decoded(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        fail(f"{name} is not a text file")
    return data.decode("utf-8", errors="replace")


def _mb(size: int) -> str:
    return f"{size / 1024**2:,.0f} MB"


def dump_files(paths: list[str]) -> list[str]:
    """The files under --from (folders expanded, sorted), for one report each."""
    found: list[str] = []
    for path in paths:
        folder = Path(path)
        if folder.is_dir():
            found += sorted(str(p) for p in folder.iterdir() if p.is_file())
        else:
            found.append(path)
    if not found:
        fail(f"no files in {', '.join(paths)}")
    return found
