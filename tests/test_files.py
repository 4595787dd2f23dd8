from __future__ import annotations

import os
from pathlib import Path

import pytest

from envkit.files import OutputFileError, write_text_atomic


def test_writes_new_file_with_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "node.json"
    write_text_atomic(target, "{}\n", force=False)
    assert target.read_text() == "{}\n"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert list(tmp_path.iterdir()) == [target]


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "node.json"
    target.write_text("the user's data")
    with pytest.raises(OutputFileError, match="already exists; pass --force"):
        write_text_atomic(target, "new", force=False)
    assert target.read_text() == "the user's data"


def test_overwrites_with_force(tmp_path: Path) -> None:
    target = tmp_path / "node.json"
    target.write_text("old")
    write_text_atomic(target, "new", force=True)
    assert target.read_text() == "new"


def test_directory_and_missing_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputFileError, match="is a directory"):
        write_text_atomic(tmp_path, "x", force=True)
    with pytest.raises(OutputFileError, match="does not exist"):
        write_text_atomic(tmp_path / "no/such/folder/file.json", "x", force=False)


def test_unwritable_folder_is_one_clear_error() -> None:
    # /proc refuses new files even to root, so this runs the same for every user.
    with pytest.raises(OutputFileError, match=r"cannot write /proc/envkit-test\.json"):
        write_text_atomic(Path("/proc/envkit-test.json"), "x", force=False)
