"""Nothing from the working directory runs (#12): report, doctor, smoke and validate, run from a
folder holding tensorflow.py, json.py and sitecustomize.py that each leave a marker if executed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envkit.probes import _proc

PLANTED = ("tensorflow.py", "json.py", "sitecustomize.py")


def _plant(folder: Path, markers: Path) -> None:
    for name in PLANTED:
        marker = markers / f"{name}.ran"
        (folder / name).write_text(
            f"open({str(marker)!r}, 'w').write('executed from the working directory')\n"
        )


def _envkit_script() -> str:
    # The console script, as a user runs it: `python -m envkit` would itself put the cwd first
    # on sys.path of envkit's own process, which is the user's choice, not envkit's.
    script = Path(sys.executable).with_name("envkit")
    if not script.exists():
        pytest.skip("envkit's console script is not installed beside this interpreter")
    return str(script)


COMMANDS = [
    ("report", "--json"),
    ("doctor", "--offline"),
    ("smoke", "--quick", "--offline", "--timeout", "120"),
    ("validate",),
    ("validate", "--python", sys.executable),
    ("env", "export"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a[:2]) for a in COMMANDS])
def test_command_runs_nothing_from_the_working_directory(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    cwd, markers = tmp_path / "cwd", tmp_path / "markers"
    cwd.mkdir()
    markers.mkdir()
    _plant(cwd, markers)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    result = subprocess.run(
        [_envkit_script(), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    assert sorted(p.name for p in markers.iterdir()) == []


def test_children_start_in_an_empty_folder_even_with_an_empty_pythonpath_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    _plant(tmp_path, markers)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "probe.py"
    script.write_text("import json, os\nprint(json.dumps(os.getcwd()))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep + str(tmp_path / "nowhere"))
    result = _proc.run([sys.executable, str(script)], timeout_s=60, env=env)
    assert result.ok, result.stderr
    assert result.stdout.strip().strip('"') == _proc.neutral_cwd()
    assert os.listdir(_proc.neutral_cwd()) == []
    assert sorted(p.name for p in markers.iterdir()) == []


def test_output_is_capped_and_the_writer_stopped() -> None:
    result = _proc.run(
        [sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x' * 65536)"],
        timeout_s=120,
        max_output_bytes=1024 * 1024,
    )
    assert result.over_limit
    assert not result.ok
    assert len(result.stdout) == 1024 * 1024


def test_timeout_kills_the_grandchildren_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    wrapper = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    result = _proc.run([sys.executable, "-c", wrapper], timeout_s=3)
    assert result.timed_out
    grandchild = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        _wait_gone(grandchild)


def _wait_gone(pid: int) -> None:
    """Raises ProcessLookupError once ``pid`` is gone or a zombie (killed, not yet reaped)."""
    for _ in range(400):
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            raise ProcessLookupError(pid)
        time.sleep(0.05)
