"""envkit.jobs: the one launcher and supervisor of child jobs, run for real.

The hanging children here are shell scripts standing in for an interpreter (tests/envs.py's
fake_python): a wrapper that starts a grandchild and waits, as ``conda run`` or a site's python
wrapper does. What is asserted is the process table: no member of the job's group survives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from envkit import jobs
from envkit.jobs.launch import SIGNALS_NUMBERS
from envkit.smoke import SmokeSpec, run_smoke
from envkit.validate.workloads import plan_cpu_workloads, run_workloads
from tests.envs import fake_python, pyenv_python

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")

WRAPPER = """\
sleep 600 &
echo "$$ $!" > "$ENVKIT_TEST_PIDS"
wait
"""
"""A child that starts a grandchild and hangs; it writes both pids (itself, the grandchild)."""


def _dead(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet (this container's init may not reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _wait_for_pids(path: Path, process: subprocess.Popen[bytes] | None = None) -> list[int]:
    """The wrapper's two pids, once it has written them (polled; no time is asserted)."""
    for _ in range(600):
        text = path.read_text() if path.exists() else ""
        if text.endswith("\n"):
            return [int(pid) for pid in text.split()]
        if process is not None and process.poll() is not None:
            raise AssertionError(f"envkit exited first: {process.stderr}")
        time.sleep(0.1)
    raise AssertionError("the wrapper never started")


def _settle(pids: list[int]) -> list[int]:
    """Those of ``pids`` still alive after SIGKILL had a moment to land."""
    for _ in range(100):
        alive = [pid for pid in pids if not _dead(pid)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


@pytest.fixture
def wrapper(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    pids = tmp_path / "pids"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ENVKIT_TEST_PIDS": str(pids)}
    return fake_python(tmp_path, WRAPPER), pids, env


def test_a_timeout_kills_the_wrappers_grandchild_too(
    wrapper: tuple[Path, Path, dict[str, str]],
) -> None:
    python, pids_file, env = wrapper
    spec = SmokeSpec(offline=True, timeout_s=2.0)
    result = run_smoke(str(python), spec, env=env)
    assert result.failure is not None and result.failure.cause == "timeout"
    pids = [int(pid) for pid in pids_file.read_text().split()]
    assert len(pids) == 2
    assert _settle(pids) == []


_ENVKIT_SMOKE = """
import sys
from envkit.smoke import SmokeSpec, run_smoke
run_smoke(sys.argv[1], SmokeSpec(offline=True, timeout_s=600.0))
"""
_ENVKIT_WORKLOADS = """
import sys
from envkit.validate.workloads import plan_cpu_workloads, run_workloads
run_workloads(sys.argv[1], plan_cpu_workloads(1, tests=("gemm",), multiworker=False))
"""


@pytest.mark.parametrize(
    ("program", "signum"),
    [
        (_ENVKIT_SMOKE, signal.SIGTERM),
        (_ENVKIT_SMOKE, signal.SIGINT),
        (_ENVKIT_WORKLOADS, signal.SIGHUP),
        (_ENVKIT_WORKLOADS, signal.SIGTERM),
    ],
    ids=["smoke-SIGTERM", "smoke-SIGINT", "workloads-SIGHUP", "workloads-SIGTERM"],
)
def test_a_signal_to_envkit_kills_the_jobs_whole_group(
    wrapper: tuple[Path, Path, dict[str, str]], program: str, signum: int
) -> None:
    python, pids_file, env = wrapper
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    envkit = subprocess.Popen(
        [sys.executable, "-c", program, str(python)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        pids = _wait_for_pids(pids_file, envkit)
        os.kill(envkit.pid, signum)
        _, stderr = envkit.communicate(timeout=60)
    finally:
        if envkit.poll() is None:
            envkit.kill()
            envkit.wait()
    assert _settle(pids) == []
    if signum == signal.SIGINT:
        assert b"KeyboardInterrupt" in stderr  # Python's own handling, after envkit's
    else:
        assert envkit.returncode == -signum  # envkit dies of the signal, as it would without


def test_the_handlers_are_restored_after_the_run(
    wrapper: tuple[Path, Path, dict[str, str]],
) -> None:
    before = {number: signal.getsignal(number) for number in SIGNALS_NUMBERS}
    python, _, env = wrapper
    run_smoke(str(python), SmokeSpec(offline=True, timeout_s=0.5), env=env)
    assert {number: signal.getsignal(number) for number in before} == before


class _Recorder(jobs.EventState):
    def __init__(self) -> None:
        super().__init__(None)
        self.events: list[jobs.JobEvent] = []
        self.ended: tuple[int | None, str, bool] | None = None

    def accept(self, raw: bytes) -> jobs.JobEvent | None:
        event = super().accept(raw)
        if event is not None:
            self.events.append(event)
        return event

    def finish(self, returncode: int | None, stderr: str, timed_out: bool) -> None:
        self.ended = (returncode, stderr, timed_out)


def _run_script(python: str, tmp_path: Path, body: str, timeout_s: float = 120.0) -> _Recorder:
    script = tmp_path / "job.py"
    script.write_text(body)
    process = jobs.launch(python, script, json.dumps({"x": 1}), {"PATH": os.environ["PATH"]})
    assert not isinstance(process, jobs.StartFailure)
    state = _Recorder()
    jobs.Supervisor(process, state, time.monotonic() + timeout_s).run()
    return state


CHILD = """\
import os, sys
import envkit_job_events
events = envkit_job_events.Events()
events.hello(1)
print("to stderr, not to the protocol")
events.emit("done", cwd_has_envkit=os.path.isdir("envkit"), argv=sys.argv[1:])
"""


@pytest.mark.parametrize("version", ["3.6", "running"])
def test_a_job_script_imports_the_protocol_module_by_name(tmp_path: Path, version: str) -> None:
    python = sys.executable if version == "running" else pyenv_python(version)
    if python is None:
        pytest.skip(f"no pyenv Python {version}")
    state = _run_script(str(python), tmp_path, CHILD)
    assert [event.name for event in state.events] == ["hello", "done"]
    assert state.events[1].fields["argv"] == ['{"x": 1}']
    assert state.ended is not None
    returncode, stderr, timed_out = state.ended
    assert (returncode, timed_out) == (0, False)
    assert "to stderr, not to the protocol" in stderr


def test_stderr_is_kept_up_to_a_cap_with_its_head_and_tail(tmp_path: Path) -> None:
    body = (
        "import sys\n"
        "sys.stderr.write('FIRST\\n')\n"
        f"sys.stderr.write('x' * {3 * jobs.STDERR_CAP_BYTES})\n"
        "sys.stderr.write('\\nLAST\\n')\n"
    )
    state = _run_script(sys.executable, tmp_path, body)
    assert state.ended is not None
    stderr = state.ended[1]
    assert stderr.startswith("FIRST\n") and stderr.endswith("\nLAST\n")
    assert "bytes of stderr left out" in stderr
    assert len(stderr) < jobs.STDERR_CAP_BYTES + 128 * 1024


def test_an_overlong_event_line_is_a_protocol_error_not_a_memory_sink(tmp_path: Path) -> None:
    body = (
        "import sys\n"
        'sys.stdout.write(\'{"event": "big", "x": "\' + \'y\' * (5 * 1024 * 1024) + \'"}\\n\')\n'
        'sys.stdout.write(\'{"event": "done"}\\n\')\n'
    )
    state = _run_script(sys.executable, tmp_path, body)
    assert [event.name for event in state.events] == ["done"]
    assert len(state.protocol_errors) == 1


def test_a_script_that_cannot_start_is_a_start_failure(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-python"
    failure = jobs.launch(str(missing), tmp_path / "job.py", "{}", {})
    assert isinstance(failure, jobs.StartFailure)
    assert str(missing) in failure.message


def test_run_workloads_still_reports_a_job_that_cannot_import(tmp_path: Path) -> None:
    python = fake_python(tmp_path, "echo 'no TensorFlow here' >&2\nexit 3\n")
    plan = plan_cpu_workloads(1, tests=("gemm",), multiworker=False)
    results = run_workloads(str(python), plan, env={"PATH": os.environ["PATH"]})
    (job,) = results.jobs
    assert job.failure is not None and job.failure.returncode == 3
