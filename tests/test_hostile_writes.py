"""The one writer (envkit/files.py): nothing at the output path but a regular file is replaced,
modes are kept, all outputs are checked before any is written, no temp file is left behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from envkit.files import OutputFileError, check_outputs, output_path, write_text_atomic


def test_fifo_is_refused_even_with_force(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    with pytest.raises(OutputFileError, match="is a FIFO, not a regular file"):
        write_text_atomic(fifo, "x", force=True)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(tmp_path.iterdir()) == [fifo]


def _private_null(tmp_path: Path) -> Path:
    """A device node of the test's own: a regression replaces it, never the machine's /dev/null."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return node


def test_device_node_is_refused_even_with_force(tmp_path: Path) -> None:
    node = _private_null(tmp_path)
    with pytest.raises(OutputFileError, match="is a device"):
        write_text_atomic(node, "x", force=True)
    assert stat.S_ISCHR(node.lstat().st_mode)


def test_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "out.txt"
    link.symlink_to(_private_null(tmp_path))
    with pytest.raises(OutputFileError, match="device"):
        write_text_atomic(link, "x", force=True)
    assert link.is_symlink()


def test_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_text("old")
    target.chmod(0o600)
    write_text_atomic(target, "new", force=True)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_symlink_to_a_file_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text_atomic(link, "new", force=True)
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_dangling_symlink_needs_force(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputFileError, match="symlink to nothing; pass --force"):
        write_text_atomic(link, "x", force=False)
    assert link.is_symlink()
    assert not (tmp_path / "nowhere").exists()
    write_text_atomic(link, "x", force=True)
    assert not link.is_symlink()
    assert link.read_text() == "x"


def test_trailing_slash_names_a_directory() -> None:
    with pytest.raises(OutputFileError, match="names a directory"):
        output_path("newdir/")
    with pytest.raises(OutputFileError, match="empty"):
        output_path("")


def test_two_outputs_that_are_one_file_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "x.xml"
    with pytest.raises(OutputFileError, match="are the same file"):
        check_outputs([target, tmp_path / "." / "x.xml"], force=True)
    assert not target.exists()


def test_lone_surrogate_and_undecodable_path_text_are_written(tmp_path: Path) -> None:
    target = tmp_path / "odd.txt"
    write_text_atomic(target, "a\ud800b /opt/\udcff/python\n", force=False)
    assert target.read_bytes() == b"a\\ud800b /opt/\\udcff/python\n"


_SLOW_WRITE = """
import os, sys, pathlib
from envkit import files
real = os.fdopen
def slow_fdopen(*args, **kwargs):
    handle = real(*args, **kwargs)
    sys.stdout.write("temp\\n"); sys.stdout.flush()
    import time; time.sleep(60)
    return handle
files.os.fdopen = slow_fdopen
files.write_text_atomic(pathlib.Path(sys.argv[1]), "x", force=False)
"""


def test_ctrl_c_during_a_write_leaves_no_temp_file(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_SLOW_WRITE)
    out = tmp_path / "out" / "report.txt"
    out.parent.mkdir()
    child = subprocess.Popen(
        [sys.executable, str(script), str(out)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "temp\n"
    assert len(list(out.parent.iterdir())) == 1  # the temp file exists while it writes
    child.send_signal(signal.SIGINT)
    child.wait(timeout=60)
    assert child.returncode != 0
    assert list(out.parent.iterdir()) == []


def _envkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert lines[0].startswith("envkit: error: ")
    assert fragment in lines[0]


def test_cli_output_and_junit_the_same_file_writes_nothing(tmp_path: Path) -> None:
    result = _envkit(
        "fleet", "summarize", str(tmp_path), "-o", "x.xml", "--junit", "x.xml", cwd=tmp_path
    )
    _one_line_error(result, "are the same file")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_trailing_slash_output_is_a_usage_error(tmp_path: Path) -> None:
    result = _envkit("env", "generate", "--cpu", "-o", "newdir/", cwd=tmp_path)
    _one_line_error(result, "names a directory")
    assert list(tmp_path.iterdir()) == []


def test_cli_fifo_output_with_force_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "env.yml")
    result = _envkit("env", "generate", "--cpu", "-o", "env.yml", "--force", cwd=tmp_path)
    _one_line_error(result, "FIFO")
    assert stat.S_ISFIFO((tmp_path / "env.yml").lstat().st_mode)
