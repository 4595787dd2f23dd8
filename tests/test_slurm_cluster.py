"""The Slurm scripts on a real one-node Slurm cluster: munged, slurmctld and slurmd from Debian's
packages on loopback, started by scripts/slurm_test_cluster.sh for this module and stopped after.

The batch script is submitted with sbatch and runs the repository's real `envkit` through srun;
the health check runs as slurmd would run it (root, with the cluster's SLURM_CONF) and drains the
node with the real scontrol. Skipped with the reason when Slurm is not installed or will not start
(failed instead when ENVKIT_REQUIRE_TEST_ENVS=1); CI installs it (see scripts/slurm/README.md).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from envkit.validate.report_json import load_validation

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPT = REPO / "scripts" / "slurm_test_cluster.sh"
SBATCH_SCRIPT = REPO / "scripts" / "slurm" / "validate.sbatch"
HEALTHCHECK = REPO / "scripts" / "slurm" / "healthcheck.sh"
TOOLS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol", "sinfo")
JOB_TIMEOUT_S = 300
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"}
NOT_IN_CLI = "the CLI has no `envkit validate` / `envkit fleet summarize` yet (lead's part of #6)"


@dataclass(frozen=True)
class Cluster:
    folder: Path
    env: dict[str, str]
    node: str

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def node_reason(self) -> str:
        return self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%E").stdout.strip()

    def node_state(self) -> str:
        return self.run("sinfo", "-h", "-N", "-n", self.node, "-o", "%t").stdout.strip()

    def resume(self) -> None:
        if self.node_reason() not in ("", "none"):
            self.run("scontrol", "update", f"nodename={self.node}", "state=resume")


def _unavailable(reason: str) -> None:
    if os.environ.get("ENVKIT_REQUIRE_TEST_ENVS"):
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port_pair() -> int:
    """A port whose successor is free too: slurmctld and slurmd listen on the two."""
    for port in range(16817, 17817, 2):
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair between 16817 and 17817")


def envkit_command() -> str:
    venv = REPO / ".venv" / "bin" / "envkit"
    return str(venv) if venv.exists() else f"{sys.executable} -m envkit"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        _unavailable(
            f"Slurm is not installed (no {', '.join(missing)}): "
            "apt-get install -y slurmctld slurmd slurm-client munge"
        )
    if os.geteuid() != 0:
        _unavailable("the test cluster needs root: slurmd starts job steps as their user")
    folder = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "ENVKIT_SLURM_PORT": str(_free_port_pair())}
    env["SLURM_CONF"] = str(folder / "slurm.conf")
    started = subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), "start", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        if started.returncode != 0:
            _unavailable(f"the one-node Slurm cluster did not start: {started.stderr.strip()}")
        yield Cluster(folder, env, socket.gethostname().split(".")[0])
    finally:
        subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "stop", str(folder)],
            env=env,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def slurm(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster with its node back in service after the test, whatever the test did to it."""
    cluster.resume()
    yield cluster
    cluster.resume()


def submit(
    cluster: Cluster,
    workdir: Path,
    envkit: str,
    *args: str,
    drain: bool = False,
    gres_optional: bool = True,
) -> tuple[int, str]:
    """Submit the batch script and wait for the job; its exit status and its output. The test
    cluster schedules no GPUs, so the script's GPU allocation check is waived unless asked."""
    env = {**cluster.env, "ENVKIT": envkit, "ENVKIT_OUT": str(workdir / "out")}
    env["ENVKIT_DRAIN"] = "1" if drain else "0"
    env["ENVKIT_ALLOW_NO_GRES"] = "1" if gres_optional else "0"
    output = workdir / "job.out"
    done = subprocess.run(
        [
            *("sbatch", "--parsable", f"--chdir={workdir}", f"--output={output}"),
            *(str(SBATCH_SCRIPT), *args),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    job = done.stdout.strip().split(";")[0]
    assert job.isdigit(), f"sbatch did not submit: {done.stderr}"
    return wait_for_job(cluster, job), output.read_text()


def wait_for_job(cluster: Cluster, job: str) -> int:
    """The job's exit status once it has ended (sbatch --wait polls only every few seconds)."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        fields = dict(
            item.split("=", 1)
            for item in cluster.run("scontrol", "-o", "show", "job", job).stdout.split()
            if "=" in item
        )
        if fields.get("JobState") in ENDED:
            return int(fields["ExitCode"].split(":")[0])
        time.sleep(0.2)
    raise AssertionError(f"job {job} did not end within {JOB_TIMEOUT_S} s")


def cli_has(*command: str) -> bool:
    probe = subprocess.run(
        [*envkit_command().split(), *command, "--help"], capture_output=True, timeout=60
    )
    return probe.returncode == 0


def test_cluster_runs_a_step_on_its_node(slurm: Cluster) -> None:
    done = slurm.run("srun", "-N1", "bash", "-c", "echo $SLURMD_NODENAME", timeout=JOB_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == slurm.node


def test_node_without_envkit_is_failed_and_drained(slurm: Cluster, tmp_path: Path) -> None:
    status, output = submit(slurm, tmp_path, "/nonexistent/envkit", "--tier", "quick", drain=True)
    assert status == 1, output
    assert f"envkit-validate: node {slurm.node}: envkit validate exited 127" in output
    assert f"node {slurm.node} wrote no report; treat it as failed" in output
    assert f"draining {slurm.node}: envkit: no report" in output
    assert slurm.node_reason() == "envkit: no report"
    assert slurm.node_state().startswith("drain")


def test_validate_sbatch_refuses_a_job_without_gpus(slurm: Cluster, tmp_path: Path) -> None:
    status, output = submit(slurm, tmp_path, envkit_command(), gres_optional=False)
    assert status == 2, output
    assert "this job holds no GPUs; submit it with --gres=gpu:N" in output
    assert not (tmp_path / "out" / "nodes").exists()  # no node was validated, none failed


def test_validate_sbatch_with_the_real_envkit(slurm: Cluster, tmp_path: Path) -> None:
    status, output = submit(slurm, tmp_path, envkit_command(), "--tier", "quick")
    assert "envkit-validate: job " in output and f"on 1 node(s): {slurm.node}" in output
    assert f"envkit-validate: node {slurm.node}: envkit validate exited" in output
    if not (cli_has("validate") and cli_has("fleet", "summarize")):
        assert status == 1  # no report is never a pass
        pytest.xfail(NOT_IN_CLI)
    report_path = tmp_path / "out" / "nodes" / f"{slurm.node}.json"
    report = load_validation(report_path.read_text(), str(report_path))
    assert report.node == slurm.node  # --node-name from SLURMD_NODENAME
    assert report.tier.value == "quick"
    fleet = json.loads((tmp_path / "out" / "fleet.json").read_text())
    assert [node["node"] for node in fleet["nodes"]] == [slurm.node]
    assert fleet["nodes"][0]["verdict"] == report.verdict.value
    assert status == fleet["exit_status"] == report.exit_status, output
    assert f"Fleet: {'FAIL' if status else 'PASS'}" in output


def healthcheck(
    slurm: Cluster, tmp_path: Path, envkit: str, args: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**slurm.env, "ENVKIT": envkit, "ENVKIT_HC_DIR": str(tmp_path), "ENVKIT_NODE": slurm.node}
    env["ENVKIT_HC_ARGS"] = args
    env["ENVKIT_HC_CONFIG"] = "/nonexistent"
    return subprocess.run(
        ["bash", str(HEALTHCHECK)], env=env, capture_output=True, text=True, timeout=120
    )


# This machine has no GPU: expecting eight is a real failed check, with a report.
FAILING_EXPECTATION = "--expect-gpus 8"


@pytest.mark.parametrize(
    ("envkit", "args", "status"),
    [
        ("/nonexistent/envkit", "", 127),  # envkit not installed where the config says
        (None, "--expect-gpus many", 2),  # a bad option in ENVKIT_HC_ARGS
    ],
)
def test_healthcheck_never_drains_for_envkits_own_failure(
    slurm: Cluster, tmp_path: Path, envkit: str | None, args: str, status: int
) -> None:
    done = healthcheck(slurm, tmp_path, envkit or envkit_command(), args)
    assert done.returncode == 0, done.stderr
    assert f"could not check {slurm.node} (exit {status})" in done.stderr
    assert "not draining" in done.stderr
    assert slurm.node_reason() in ("", "none")
    assert not slurm.node_state().startswith("drain")


def test_healthcheck_drains_a_node_that_fails_a_check(slurm: Cluster, tmp_path: Path) -> None:
    done = healthcheck(slurm, tmp_path, envkit_command(), FAILING_EXPECTATION)
    assert done.returncode == 1, done.stderr
    report = load_validation((tmp_path / "healthcheck.json").read_text(), "healthcheck.json")
    failed = {r.check_id for r in report.results if r.verdict.value == "fail"}
    assert failed
    reason = slurm.node_reason()
    assert reason.startswith("envkit: ") and all(check in reason for check in failed)
    assert slurm.node_state().startswith("drain")


def test_healthcheck_leaves_an_operator_drain_alone(slurm: Cluster, tmp_path: Path) -> None:
    slurm.run("scontrol", "update", f"nodename={slurm.node}", "state=drain", "reason=admin: RMA")
    done = healthcheck(slurm, tmp_path, envkit_command(), FAILING_EXPECTATION)
    assert done.returncode == 1
    assert "already drained by someone else (admin: RMA)" in done.stderr
    assert slurm.node_reason() == "admin: RMA"


def test_healthcheck_with_the_real_envkit(slurm: Cluster, tmp_path: Path) -> None:
    done = healthcheck(slurm, tmp_path, envkit_command())
    if not cli_has("validate"):
        assert done.returncode == 1  # could not check: drained, never passed
        reason = slurm.node_reason()
        assert reason == "envkit: validate could not run (exit 2): No such command 'validate'."
        pytest.xfail(NOT_IN_CLI)
    report = load_validation((tmp_path / "healthcheck.json").read_text(), "healthcheck.json")
    assert report.tier.value == "quick" and report.node == slurm.node
    assert done.returncode == report.exit_status
    if report.exit_status:
        failed = {r.check_id for r in report.results if r.verdict.value == "fail"}
        reason = slurm.node_reason()
        assert reason.startswith("envkit: ")
        assert all(check in reason for check in failed) or "skipped" in reason
    else:
        assert slurm.node_reason() in ("", "none")


def test_slurmd_runs_the_healthcheck_program(tmp_path: Path) -> None:
    """slurm.conf names a wrapper (slurmd gives the program no environment) that runs
    healthcheck.sh with the real envkit; slurmd runs it as soon as it starts."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        _unavailable(f"Slurm is not installed (no {', '.join(missing)}) or this is not root")
    folder = tmp_path / "cluster"
    done_marker = tmp_path / "healthcheck.done"
    wrapper = tmp_path / "envkit-healthcheck"
    wrapper.write_text(
        "#!/bin/bash\n"
        f"export SLURM_CONF={folder / 'slurm.conf'} ENVKIT='{envkit_command()}'\n"
        f"export ENVKIT_HC_DIR={tmp_path / 'hc'} ENVKIT_HC_CONFIG=/nonexistent\n"
        f"bash {HEALTHCHECK}\n"
        f"echo $? > {done_marker}\n"
    )
    wrapper.chmod(0o755)
    env = {**os.environ, "ENVKIT_SLURM_PORT": str(_free_port_pair())}
    env |= {"ENVKIT_SLURM_HEALTHCHECK": str(wrapper), "SLURM_CONF": str(folder / "slurm.conf")}
    cluster = Cluster(folder, env, socket.gethostname().split(".")[0])
    started = cluster.run("bash", str(CLUSTER_SCRIPT), "start", str(folder), timeout=120)
    try:
        if started.returncode != 0:
            _unavailable(f"the one-node Slurm cluster did not start: {started.stderr.strip()}")
        deadline = time.monotonic() + 120
        while not done_marker.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        status = int(done_marker.read_text())
        reason = cluster.node_reason()
        if not cli_has("validate"):
            assert status == 1
            assert reason == "envkit: validate could not run (exit 2): No such command 'validate'."
            pytest.xfail(NOT_IN_CLI)
        report = load_validation((tmp_path / "hc" / "healthcheck.json").read_text(), "hc.json")
        assert report.node == cluster.node  # from SLURMD_NODENAME
        assert status == report.exit_status
        assert reason.startswith("envkit: ") if status else reason in ("", "none")
    finally:
        cluster.run("bash", str(CLUSTER_SCRIPT), "stop", str(folder), timeout=120)
