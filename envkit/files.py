"""Writing the user's files: atomically, and never over an existing file without --force."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputFileError(ValueError):
    """A file envkit will not write; the message is one sentence with the way out."""


def check_writable(path: Path, *, force: bool) -> None:
    """Refuse, before any work is done, a path that write_text_atomic would refuse."""
    if path.is_dir():
        raise OutputFileError(f"{path} is a directory; give a file name")
    if path.exists() and not force:
        raise OutputFileError(f"{path} already exists; pass --force to overwrite it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputFileError(f"cannot write {path}: folder {parent} does not exist")


def write_text_atomic(path: Path, text: str, *, force: bool) -> None:
    check_writable(path, force=force)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(temp_name, path)
    except OSError as error:
        Path(temp_name).unlink(missing_ok=True)
        raise OutputFileError(f"cannot write {path}: {error.strerror}") from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
