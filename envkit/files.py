"""Writing the user's files: the one writer of every output (-o, --junit, --fix -o).

Atomic (a temp file beside the target, then a rename), never over an existing file without
--force, and never over anything but a regular file: a FIFO, a device node, a directory or a
dangling symlink is refused whatever the flags. An existing file keeps its mode; a symlink to
a regular file keeps pointing at it (the file it names is replaced). The temp file is removed
on every way out, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

from envkit.readers import file_kind
from envkit.records import record


class OutputFileError(ValueError):
    """A file envkit will not write; the message is one sentence with the way out."""


@record
class _Plan:
    """Where the bytes go (a symlink's target) and the mode they get."""

    destination: Path
    mode: int | None
    """The existing file's permission bits; None for a new file (the umask decides)."""


def output_path(text: str) -> Path:
    """A command-line FILE: a trailing ``/`` names a directory, which is refused here because
    Path() would drop the slash and write a file of that name."""
    if not text:
        raise OutputFileError("the output file name is empty; give a file name")
    if text.endswith(("/", os.sep)):
        raise OutputFileError(f"{text} names a directory; give a file name")
    return Path(text)


def check_writable(path: Path, *, force: bool) -> None:
    """Refuse, before any work is done, a path that write_text_atomic would refuse."""
    _plan(path, force=force)


def check_outputs(paths: Sequence[Path | None], *, force: bool) -> None:
    """All the outputs of one command, before anything is written: each writable, no two the
    same file (``-o X --junit X`` would write half and then fail)."""
    seen: dict[str, Path] = {}
    for path in paths:
        if path is None:
            continue
        plan = _plan(path, force=force)
        key = os.path.realpath(plan.destination)
        if key in seen:
            raise OutputFileError(f"{seen[key]} and {path} are the same file; give two names")
        seen[key] = path


def write_text_atomic(path: Path, text: str, *, force: bool) -> None:
    plan = _plan(path, force=force)
    data = text.encode("utf-8", "backslashreplace")  # lone surrogates from odd input stay text
    parent = _parent(plan.destination)
    try:
        descriptor, temp_name = tempfile.mkstemp(prefix=f".{plan.destination.name}.", dir=parent)
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temp_name, plan.mode if plan.mode is not None else 0o666 & ~_umask())
        _recheck(plan, path, force=force)
        os.replace(temp_name, plan.destination)
    except OSError as error:
        _remove(temp_name)
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:  # Ctrl-C, or the refusal of _recheck: no temp file left behind
        _remove(temp_name)
        raise


def _plan(path: Path, *, force: bool) -> _Plan:
    try:
        link = path.lstat()
    except FileNotFoundError:
        _check_parent(path)
        return _Plan(path, None)
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None
    destination = path
    if stat.S_ISLNK(link.st_mode):
        try:
            target = path.stat()
        except OSError:
            if not force:
                raise OutputFileError(
                    f"{path} is a symlink to nothing; pass --force to replace the link"
                ) from None
            return _Plan(path, None)
        destination = Path(os.path.realpath(path))
    else:
        target = link
    if stat.S_ISDIR(target.st_mode):
        raise OutputFileError(f"{path} is a directory; give a file name")
    if not stat.S_ISREG(target.st_mode):
        raise OutputFileError(
            f"{path} is {file_kind(target.st_mode)}, not a regular file; envkit writes only files"
        )
    if not force:
        raise OutputFileError(f"{path} already exists; pass --force to overwrite it")
    return _Plan(destination, stat.S_IMODE(target.st_mode))


def _check_parent(path: Path) -> None:
    parent = _parent(path)
    if not parent.is_dir():
        raise OutputFileError(f"cannot write {path}: folder {parent} does not exist")


def _recheck(plan: _Plan, path: Path, *, force: bool) -> None:
    """The path may have changed while the text was written (a FIFO planted meanwhile)."""
    if _plan(path, force=force).destination != plan.destination:
        raise OutputFileError(f"{path} changed while envkit wrote it; try again")


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(name)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
