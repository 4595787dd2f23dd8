"""The Kubernetes manifests: their structure (one pod per GPU node, the node's name from the
downward API, every GPU of the node, one shared volume) and each container's shell script, run
with bash and the real envkit against a local folder. No Kubernetes cluster can be started here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from envkit.validate.fleet import summarize
from envkit.validate.report_json import load_validation, validation_json
from tests.fixtures.validate.synthetic import healthy_results, node_report

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "scripts" / "k8s"
NOT_IN_CLI = "the CLI has no `envkit validate` / `envkit fleet summarize` yet (lead's part of #6)"


def load(name: str) -> list[dict[str, Any]]:
    try:
        import yaml
    except ImportError:
        if os.environ.get("ENVKIT_REQUIRE_TEST_ENVS"):
            pytest.fail("PyYAML is not installed: add pyyaml to the test extra")
        pytest.skip("PyYAML is not installed")
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def job(name: str) -> dict[str, Any]:
    return next(doc for doc in load(name) if doc["kind"] == "Job")


def container(name: str) -> dict[str, Any]:
    containers = job(name)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_of(spec: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in spec["env"]}


def test_validate_job_runs_one_pod_per_gpu_node() -> None:
    spec = job("validate-job.yaml")["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"]
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    rules = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert len(rules) == 1 and rules[0]["topologyKey"] == "kubernetes.io/hostname"
    labels = spec["template"]["metadata"]["labels"]
    assert rules[0]["labelSelector"]["matchLabels"].items() <= labels.items()


def test_validate_pod_names_its_node_and_takes_the_gpus() -> None:
    spec = container("validate-job.yaml")
    env = env_of(spec)
    assert env["NODE_NAME"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    script = spec["args"][0]
    assert '--node-name "$NODE_NAME"' in script
    assert '-o "$REPORTS/$NODE_NAME.json"' in script and "--json" in script
    assert int(spec["resources"]["limits"]["nvidia.com/gpu"]) >= 1


def test_both_jobs_share_the_claimed_volume() -> None:
    claim = next(d for d in load("validate-job.yaml") if d["kind"] == "PersistentVolumeClaim")
    assert "ReadWriteMany" in claim["spec"]["accessModes"]
    for name in ("validate-job.yaml", "summarize-job.yaml"):
        pod = job(name)["spec"]["template"]["spec"]
        assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        mount = pod["containers"][0]["volumeMounts"][0]
        assert mount["name"] == pod["volumes"][0]["name"]
        assert env_of(pod["containers"][0])["REPORTS"].startswith(mount["mountPath"] + "/")


@pytest.mark.parametrize("name", ["validate-job.yaml", "summarize-job.yaml"])
def test_manifests_are_valid_kubernetes(name: str) -> None:
    """Strict validation against the real API schemas that kubernetes-validate ships."""
    done = subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "--no-warn", str(K8S / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in done.stdout


def test_one_failing_node_never_stops_the_others() -> None:
    spec = job("validate-job.yaml")["spec"]
    assert spec["backoffLimitPerIndex"] == 0  # each node's pod has its own budget
    assert "backoffLimit" not in spec  # a Job-wide limit would end every index at once


def test_pods_run_unprivileged_with_resources() -> None:
    for name in ("validate-job.yaml", "summarize-job.yaml"):
        pod = job(name)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        spec = container(name)
        security = spec["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security.get("privileged", False) is False  # would expose unallocated GPUs
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"cpu", "memory"} <= spec["resources"]["requests"].keys()
        assert {"cpu", "memory"} <= spec["resources"]["limits"].keys()


def _minutes(text: str) -> float:
    value = float(text[:-1])
    return value / 60 if text.endswith("s") else value


def _wait_minutes(readme_or_yaml: str, job_name: str) -> float:
    matches = re.findall(rf"--timeout=(\d+[ms]) job/{job_name}\b", readme_or_yaml)
    assert matches, f"no kubectl wait for {job_name}"
    return min(_minutes(m) for m in matches)


def test_timeouts_nest() -> None:
    """envkit's own limit < the Job's deadline < how long `kubectl wait` waits for it."""
    for name, job_name in (
        ("validate-job.yaml", "envkit-validate"),
        ("summarize-job.yaml", "envkit-fleet-summarize"),
    ):
        deadline_min = job(name)["spec"]["activeDeadlineSeconds"] / 60
        for text in ((K8S / name).read_text(), (K8S / "README.md").read_text()):
            assert _wait_minutes(text, job_name) > deadline_min
    envkit_limit_s = int(env_of(container("validate-job.yaml"))["ENVKIT_TIMEOUT_S"])
    assert envkit_limit_s < job("validate-job.yaml")["spec"]["activeDeadlineSeconds"]
    assert (
        'timeout --kill-after=10 "${ENVKIT_TIMEOUT_S' in container("validate-job.yaml")["args"][0]
    )


def _tool(name: str) -> str:
    """A console script of the test extra, beside the running interpreter."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not installed: it is in the test extra (pip install -e '.[test]')")
    return str(path)


def run_script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The container's script, with envkit on the PATH as in the image."""
    spec = container(name)
    assert spec["command"] == ["/bin/bash", "-c"]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        ["bash", "-c", spec["args"][0]],
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def cli_has(*command: str) -> bool:
    probe = [sys.executable, "-m", "envkit", *command, "--help"]
    return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0


def test_validate_pod_script_with_the_real_envkit(tmp_path: Path) -> None:
    reports = tmp_path / "reports" / "nodes"
    env = {"NODE_NAME": "k8s-node-3", "REPORTS": str(reports), "ENVKIT_ARGS": "--tier quick"}
    done = run_script("validate-job.yaml", env)
    assert "envkit validate on k8s-node-3 exited" in done.stdout
    if not cli_has("validate"):
        assert done.returncode == 2  # no verdict: the pod fails
        pytest.xfail(NOT_IN_CLI)
    assert done.returncode == 0, done.stderr  # a verdict, pass or fail, is the pod's success
    report_path = reports / "k8s-node-3.json"
    report = load_validation(report_path.read_text(), str(report_path))
    assert report.node == "k8s-node-3" and report.tier.value == "quick"


def test_summarize_pod_script_with_the_real_envkit(tmp_path: Path) -> None:
    reports = tmp_path / "nodes"
    reports.mkdir()
    for node in ("k8s-node-1", "k8s-node-2"):
        (reports / f"{node}.json").write_text(validation_json(node_report(node)))
    (reports / "k8s-node-3.json").write_text(
        validation_json(node_report("k8s-node-3", healthy_results()))
    )
    summary_path = tmp_path / "fleet.json"
    done = run_script("summarize-job.yaml", {"REPORTS": str(reports), "SUMMARY": str(summary_path)})
    if not cli_has("fleet", "summarize"):
        assert done.returncode == 2
        pytest.xfail(NOT_IN_CLI)
    expected = summarize([reports])
    assert done.returncode == expected.exit_status == 1, done.stderr
    document = json.loads(summary_path.read_text())
    assert [n["node"] for n in document["nodes"]] == ["k8s-node-1", "k8s-node-2", "k8s-node-3"]
    assert "Fleet: FAIL" in done.stdout
