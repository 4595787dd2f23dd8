"""Reading the user's input files: the one bounded reader of every input (#12).

Snapshots (``doctor --snapshot``), fleet reports, ``smoke --data``, environment files and
conda-meta records all come through here:

* regular files only (a symlink to one is fine); a FIFO, a device (``/dev/zero``), a socket
  or a directory is refused without blocking, since the file is opened non-blocking and
  checked with fstat before a byte is read; ``-`` reads stdin where a command allows it;
* at most :data:`MAX_INPUT_BYTES` (64 MiB) unless the caller asks for less;
* text must be UTF-8; JSON may nest at most :data:`MAX_JSON_DEPTH` deep, its integers have at
  most :data:`MAX_JSON_INT_DIGITS` digits, its numbers are finite (no NaN, no 1e999), and a lone
  surrogate (``"\\ud800"``) becomes U+FFFD instead of failing later when it is printed.

Every refusal is an :class:`InputError` whose message is one line naming the file and the
limit; commands print it and exit 2.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_JSON_INT_DIGITS = 30
_READ_CHUNK = 1024 * 1024
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InputError(ValueError):
    """An input envkit will not read; one line that names the file and the limit."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def read_bytes(path: Path | str, *, limit: int = MAX_INPUT_BYTES, stdin: bool = False) -> bytes:
    """The file's bytes; InputError for anything but a regular file within ``limit``."""
    name = str(path)
    if stdin and name == "-":
        return _bounded(sys.stdin.buffer, name, limit)
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{name} does not exist", "not-found") from None
    except IsADirectoryError:
        raise InputError(f"{name} is a directory, not a file", "not-regular") from None
    except OSError as error:
        raise InputError(f"cannot read {name}: {error.strerror or error}", "unreadable") from None
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise InputError(
                f"{name} is {file_kind(mode)}, not a regular file; envkit reads only files",
                "not-regular",
            )
        os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        return _bounded(handle, name, limit)


def read_text(path: Path | str, *, limit: int = MAX_INPUT_BYTES, stdin: bool = False) -> str:
    """The file as UTF-8 text (a leading BOM dropped); InputError otherwise."""
    data = read_bytes(path, limit=limit, stdin=stdin)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path} is not a text file "
            f"(not UTF-8: byte {error.start} is {data[error.start]:#04x})",
            "not-utf8",
        ) from None


def read_json(path: Path | str, *, limit: int = MAX_INPUT_BYTES, stdin: bool = False) -> Any:
    return load_json(read_text(path, limit=limit, stdin=stdin), str(path))


def load_json(text: str, source: str) -> Any:
    """``json.loads`` within the depth and number limits; lone surrogates made U+FFFD."""
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InputError(
            f"{source} nests {depth} levels deep; envkit reads at most {MAX_JSON_DEPTH}", "too-deep"
        )
    try:
        data = json.loads(
            text,
            parse_int=lambda digits: _int(digits, source),
            parse_float=lambda digits: _float(digits, source),
            parse_constant=lambda word: _constant(word, source),
        )
    except json.JSONDecodeError as error:
        raise InputError(
            # json's own message for a control character ends in "at": not "at at line 1"
            f"{source} is not JSON ({error.msg.removesuffix(' at')} at line {error.lineno})",
            "not-json",
        ) from None
    except RecursionError:  # pragma: no cover -- json_depth caught it first
        raise InputError(f"{source} is nested too deeply", "too-deep") from None
    if _SURROGATE_ESCAPE.search(text):
        data = _replace_surrogates(data)
    return data


def json_depth(text: str) -> int:
    """How deep the brackets of ``text`` nest, strings left out (without a recursive parse)."""
    level = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        level += 1 if bracket in "[{" else -1
        deepest = max(deepest, level)
    return deepest


def _bounded(handle: Any, name: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := handle.read(min(_READ_CHUNK, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise InputError(
                    f"{name} is over {_size(limit)}, the most envkit reads", "too-large"
                )
    except OSError as error:
        raise InputError(f"cannot read {name}: {error.strerror or error}", "unreadable") from None
    return b"".join(chunks)


def _int(digits: str, source: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise InputError(
            f"{source} has an integer of {len(digits)} digits; "
            f"envkit reads at most {MAX_JSON_INT_DIGITS}",
            "number-too-long",
        )
    return int(digits)


def _float(digits: str, source: str) -> float:
    value = float(digits)
    if value in (float("inf"), float("-inf")):
        raise InputError(f"{source} has the number {digits[:40]}, too large to be finite", "number")
    return value


def _constant(word: str, source: str) -> Any:
    raise InputError(f"{source} has {word}, which is not a JSON number", "number")


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


def file_kind(mode: int) -> str:
    """What a non-regular file is, for a one-line refusal: a directory, a FIFO, a device, ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _size(limit: int) -> str:
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"
