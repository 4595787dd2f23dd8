"""Jupyter kernels: kernelspecs read as files, --kernel, and the doctor's kernel warnings.

Kernelspecs written by the real `ipykernel install --prefix` (from PyPI, into a venv made by
the test) cover --kernel and the notebook-without-TensorFlow case; the stale, shadowed, broken
and wrapper (`conda run`, `env`) specs are hand-made, as labelled in each test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envkit.model import Snapshot
from envkit.probes.kernels import find_kernel, find_kernels, interpreter_from_argv
from tests.envs import make_venv, require_test_env
from tests.test_cli import assert_one_line_usage_error

LAUNCH = ("-m", "ipykernel_launcher", "-f", "{connection_file}")


def write_spec(data_dir: Path, name: str, spec: object) -> Path:
    """A hand-made kernelspec folder <data_dir>/kernels/<name>/kernel.json."""
    folder = data_dir / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    text = spec if isinstance(spec, str) else json.dumps(spec)
    (folder / "kernel.json").write_text(text)
    return folder / "kernel.json"


def isolated_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment with Jupyter's user dir moved into tmp_path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    environ.pop("VIRTUAL_ENV", None)
    environ.pop("CONDA_PREFIX", None)
    environ["JUPYTER_DATA_DIR"] = str(tmp_path / "user-data")
    environ.update(extra)
    return environ


def run_envkit(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        check=False,
    )


def doctor_json(environ: dict[str, str], *args: str) -> dict[str, object]:
    result = run_envkit(environ, "doctor", "--json", *args)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def finding_ids(document: dict[str, object]) -> list[str]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return [finding["check_id"] for finding in findings]


def findings_of(document: dict[str, object], check_id: str) -> list[dict[str, object]]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return [finding for finding in findings if finding["check_id"] == check_id]


# ---------------------------------------------------------------- argv forms (hand-made)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("/envs/a/bin/python", *LAUNCH), "/envs/a/bin/python"),
        (("/envs/a/bin/python", "-Xfrozen_modules=off", *LAUNCH), "/envs/a/bin/python"),
        (("/envs/a/bin/python", "-X", "dev", *LAUNCH), "/envs/a/bin/python"),
        (
            ("/usr/bin/env", "TF_CPP_MIN_LOG_LEVEL=2", "/envs/a/bin/python3", *LAUNCH),
            "/envs/a/bin/python3",
        ),
        (("/opt/conda/bin/conda", "run", "-p", "/envs/b", "python", *LAUNCH), "/envs/b/bin/python"),
        (("conda", "run", "-n", "tf", "python", *LAUNCH), "/opt/conda/envs/tf/bin/python"),
        (("conda", "run", "--name=tf", "python", *LAUNCH), "/opt/conda/envs/tf/bin/python"),
        (
            ("/envs/a/bin/python", "-m", "ipykernel", "-f", "{connection_file}"),
            "/envs/a/bin/python",
        ),
        (("bash", "-c", "source activate tf && python -m ipykernel_launcher"), None),
        (("/usr/lib/R/bin/R", "--slave", "-e", "IRkernel::main()"), None),
    ],
)
def test_interpreter_from_argv(argv: tuple[str, ...], expected: str | None) -> None:
    conda_envs = {"tf": "/opt/conda/envs/tf"}
    assert interpreter_from_argv(argv, {"PATH": ""}, conda_envs) == expected


def test_bare_python_is_the_environment_s_own_or_path_s(tmp_path: Path) -> None:
    # A bare "python" is what ipykernel's wheel ships in <env>/share/jupyter/kernels/python3.
    env_python = tmp_path / "env" / "bin" / "python"
    env_python.parent.mkdir(parents=True)
    env_python.write_text("")
    argv = ("python", *LAUNCH)
    assert interpreter_from_argv(argv, {"PATH": ""}, {}, str(tmp_path / "env")) == str(env_python)
    on_path = interpreter_from_argv(argv, {"PATH": str(env_python.parent)}, {})
    assert on_path is None  # not executable: which() skips it
    env_python.chmod(0o755)
    assert interpreter_from_argv(argv, {"PATH": str(env_python.parent)}, {}) == str(env_python)


# ---------------------------------------------------------------- the data dirs (hand-made)


def test_kernels_are_found_in_jupyters_order_and_named_by_folder(tmp_path: Path) -> None:
    python = sys.executable
    first = tmp_path / "jp"
    user = tmp_path / "user-data"
    env_prefix = tmp_path / "env"
    write_spec(first, "tf", {"argv": [python, *LAUNCH], "display_name": "TF (first)"})
    write_spec(user, "tf", {"argv": ["/gone/bin/python", *LAUNCH], "display_name": "TF (user)"})
    write_spec(user, "plain", {"argv": [python, *LAUNCH], "display_name": "Python 3"})
    write_spec(env_prefix / "share" / "jupyter", "python3", {"argv": ["python", *LAUNCH]})
    environ = isolated_environ(tmp_path, JUPYTER_PATH=str(first))
    kernels = find_kernels(environ, [str(env_prefix)], {}, home=str(tmp_path))
    named = [(k.name, k.source) for k in kernels]
    assert named[:3] == [("tf", "JUPYTER_PATH"), ("plain", "user"), ("tf", "user")]
    assert ("python3", "env") in named
    chosen = find_kernel(kernels, "tf")
    assert chosen is not None and chosen.display_name == "TF (first)"
    hidden = [k for k in kernels if k.shadowed_by]
    assert [k.display_name for k in hidden] == ["TF (user)"]
    assert hidden[0].shadowed_by == str(first / "kernels" / "tf" / "kernel.json")
    assert not hidden[0].python_exists


def test_broken_specs_are_a_problem_of_that_kernel_never_a_crash(tmp_path: Path) -> None:
    user = tmp_path / "user-data"
    write_spec(user, "truncated", '{"argv": [')
    write_spec(user, "no-argv", {"display_name": "no argv"})
    write_spec(user, "not-object", "[1, 2]")
    write_spec(user, "binary", "").write_bytes(b"\xff\xfe\x00garbage")
    kernels = {k.name: k for k in find_kernels(isolated_environ(tmp_path), [], {})}
    assert "not valid JSON" in (kernels["truncated"].problem or "")
    assert "no argv" in (kernels["no-argv"].problem or "")
    assert "not a JSON object" in (kernels["not-object"].problem or "")
    assert kernels["binary"].problem
    assert all(k.python is None for k in kernels.values())


def test_doctor_warns_about_stale_shadowed_and_broken_kernels(tmp_path: Path) -> None:
    first = tmp_path / "jp"
    user = tmp_path / "user-data"
    write_spec(first, "dup", {"argv": [sys.executable, *LAUNCH]})
    write_spec(user, "dup", {"argv": [sys.executable, *LAUNCH]})
    write_spec(user, "deleted-env", {"argv": [str(tmp_path / "gone/bin/python"), *LAUNCH]})
    write_spec(user, "broken", '{"argv": ["python",')
    environ = isolated_environ(tmp_path, JUPYTER_PATH=str(first))
    document = doctor_json(environ, "--python", sys.executable)
    stale = findings_of(document, "python.kernel-stale")
    assert len(stale) == 1 and "deleted-env" in str(stale[0]["title"])
    assert any("kernelspec remove deleted-env" in line for line in stale[0]["fix"])  # type: ignore[attr-defined]
    shadowed = findings_of(document, "python.kernel-shadowed")
    assert len(shadowed) == 1 and str(first) in str(shadowed[0]["evidence"])
    assert len(findings_of(document, "python.kernel-readable")) == 1
    snapshot = document["snapshot"]
    assert isinstance(snapshot, dict)
    assert {k["name"] for k in snapshot["kernels"]} >= {"dup", "deleted-env", "broken"}
    text = run_envkit(environ, "doctor", "--python", sys.executable)
    assert "Jupyter kernels:" in text.stdout
    assert "deleted-env -> " in text.stdout and "stale" in text.stdout


def test_unknown_kernel_lists_the_existing_ones_on_one_line(tmp_path: Path) -> None:
    user = tmp_path / "user-data"
    write_spec(user, "alpha", {"argv": [sys.executable, *LAUNCH]})
    write_spec(user, "beta", {"argv": [sys.executable, *LAUNCH]})
    environ = isolated_environ(tmp_path)
    for command in ("report", "doctor", "smoke", "validate"):
        result = run_envkit(environ, command, "--kernel", "gamma")
        assert_one_line_usage_error(result, "'gamma'", "alpha", "beta")


def test_python_with_kernel_is_a_usage_error(tmp_path: Path) -> None:
    result = run_envkit(
        isolated_environ(tmp_path), "doctor", "--python", sys.executable, "--kernel", "x"
    )
    assert_one_line_usage_error(result, "--python and --kernel")


def test_a_stale_kernel_cannot_be_examined(tmp_path: Path) -> None:
    write_spec(tmp_path / "user-data", "old", {"argv": ["/gone/bin/python", *LAUNCH]})
    result = run_envkit(isolated_environ(tmp_path), "report", "--kernel", "old")
    assert_one_line_usage_error(result, "no longer exists", "jupyter kernelspec remove old")


def test_tensorflow_in_a_kernels_interpreter_is_the_fix_not_a_new_install(tmp_path: Path) -> None:
    tf_python = require_test_env("tf")
    bare = make_venv(tmp_path / "bare")
    write_spec(tmp_path / "user-data", "tf", {"argv": [tf_python, *LAUNCH]})  # hand-made spec
    document = doctor_json(isolated_environ(tmp_path), "--python", str(bare))
    elsewhere = findings_of(document, "python.tensorflow-elsewhere")
    assert len(elsewhere) == 1
    fix = "\n".join(elsewhere[0]["fix"])  # type: ignore[arg-type]
    assert "activate" in fix and str(Path(tf_python).parent) in fix
    assert "pip install" not in fix
    assert "tensorflow.installed" not in finding_ids(document)


# ---------------------------------------------------------------- real ipykernel


@pytest.fixture(scope="module")
def ipykernel_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the real ipykernel from PyPI."""
    venv = tmp_path_factory.mktemp("ipykernel") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "ipykernel"],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return python


def ipykernel_install(python: Path, prefix: Path, name: str) -> Path:
    subprocess.run(
        [str(python), "-m", "ipykernel", "install", "--prefix", str(prefix), "--name", name],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return prefix / "share" / "jupyter"


@pytest.mark.slow
def test_kernel_installed_by_ipykernel_is_examined_with_kernel(
    ipykernel_python: Path, tmp_path: Path
) -> None:
    data_dir = ipykernel_install(ipykernel_python, tmp_path / "prefix", "realk")
    spec = json.loads((data_dir / "kernels" / "realk" / "kernel.json").read_text())
    assert spec["argv"][0] == str(ipykernel_python)  # the real file, as ipykernel wrote it
    environ = isolated_environ(tmp_path, JUPYTER_PATH=str(data_dir))
    document = doctor_json(environ, "--kernel", "realk")
    snapshot = document["snapshot"]
    assert isinstance(snapshot, dict)
    assert snapshot["target"]["how_chosen"] == "--kernel"
    assert snapshot["target"]["kernel"] == "realk"
    assert snapshot["python"]["executable"] == str(ipykernel_python)
    assert [k["python"] for k in snapshot["kernels"] if k["name"] == "realk"] == [
        str(ipykernel_python)
    ]
    for command in ("report", "smoke", "validate"):
        result = run_envkit(environ, command, "--kernel", "realk", "--help")
        assert result.returncode == 0


@pytest.mark.slow
def test_notebook_kernel_without_tensorflow_while_the_env_has_it(
    ipykernel_python: Path, tmp_path: Path
) -> None:
    tf_python = require_test_env("tf")
    data_dir = ipykernel_install(ipykernel_python, tmp_path / "prefix", "python3")
    environ = isolated_environ(tmp_path, JUPYTER_PATH=str(data_dir))
    document = doctor_json(environ, "--python", tf_python)
    found = findings_of(document, "python.kernel-for-environment")
    assert len(found) == 1, finding_ids(document)
    fix = list(found[0]["fix"])  # type: ignore[call-overload]
    assert any(f"{tf_python} -m ipykernel install --user --name" in line for line in fix)
    assert any(line == f"{tf_python} -m pip install ipykernel" for line in fix)
    # Registering the env as a kernel (the fix) makes the warning go away.
    ipykernel_install(ipykernel_python, tmp_path / "prefix2", "tf")
    spec_file = tmp_path / "prefix2" / "share" / "jupyter" / "kernels" / "tf" / "kernel.json"
    spec = json.loads(spec_file.read_text())
    spec["argv"][0] = tf_python  # what `tf/bin/python -m ipykernel install` would write
    spec_file.write_text(json.dumps(spec))
    both = os.pathsep.join([str(data_dir), str(tmp_path / "prefix2" / "share" / "jupyter")])
    fixed = doctor_json(isolated_environ(tmp_path, JUPYTER_PATH=both), "--python", tf_python)
    assert "python.kernel-for-environment" not in finding_ids(fixed)


def test_snapshot_kernels_round_trip(tmp_path: Path) -> None:
    from envkit.render.json_doc import snapshot_from_json

    write_spec(tmp_path / "user-data", "k", {"argv": [sys.executable, *LAUNCH]})
    result = run_envkit(isolated_environ(tmp_path), "report", "--json", "--python", sys.executable)
    assert result.returncode == 0, result.stderr
    snapshot: Snapshot = snapshot_from_json(result.stdout, "report")
    assert [k.name for k in snapshot.kernels if k.source == "user"] == ["k"]
