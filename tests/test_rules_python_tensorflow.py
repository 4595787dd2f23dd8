"""Python-environment and TensorFlow checks: each made to fire, and kept quiet."""

from __future__ import annotations

import dataclasses

import pytest

from envkit.model import Distribution, KnownEnvironment, Severity, Unavailable
from envkit.rules.registry import evaluate
from tests.rules_support import (
    cpu_build,
    healthy,
    replace_os,
    replace_python,
    run_check,
    with_env_vars,
    with_packages,
    with_tensorflow,
)

AND_CUDA_2_21 = (
    'nvidia-cublas-cu12<13.0,>=12.5.3.2; extra == "and-cuda"',
    'nvidia-cudnn-cu12<10.0,>=9.3.0.75; extra == "and-cuda"',
    "numpy>=1.26.0",
)


def test_conda_base_gets_a_fresh_env() -> None:
    snapshot = replace_python(healthy(), kind="conda-base", conda_env_name="base")
    [finding] = run_check("python.conda-base", snapshot)
    assert finding.fix[0] == "conda create -n tf python=3.12 --yes"
    assert finding.fix[-1] == 'pip install "tensorflow[and-cuda]==2.21.*"'
    assert run_check("python.conda-base", healthy()) == []


def test_conda_base_without_tensorflow_points_at_the_env_that_has_it() -> None:
    """The base env lacks TensorFlow while a conda env has it (the notebook-on-base threads of
    tests/cases/jupyter-kernel-*): the fix is to use that env, never a second install."""
    base = replace_python(healthy(), kind="conda-base", conda_env_name="base")
    base = dataclasses.replace(
        base,
        tensorflow=Unavailable("tensorflow-not-installed", "No TensorFlow distribution."),
        environments=(
            KnownEnvironment(
                "/home/user/miniconda3/envs/tf/bin/python",
                "/home/user/miniconda3/envs/tf",
                "conda env tf",
                "conda-env",
                "2.21.0",
            ),
        ),
    )
    [finding] = run_check("python.conda-base", base)
    assert "conda activate tf" in finding.fix
    assert not any("pip install" in line or "conda create" in line for line in finding.fix)
    # With TensorFlow in base itself, the advice stays: move it to an env of its own.
    with_tf = dataclasses.replace(base, tensorflow=healthy().tensorflow)
    [finding] = run_check("python.conda-base", with_tf)
    assert finding.fix[0].startswith("conda create -n tf ")


def test_pip_from_another_prefix() -> None:
    snapshot = replace_python(
        healthy(), pip_on_path="/usr/bin/pip", pip_on_path_python="/usr/bin/python3"
    )
    [finding] = run_check("python.pip-prefix", snapshot)
    assert "/usr/bin/python3" in finding.evidence
    assert finding.fix[0].startswith("/home/ada/miniconda3/envs/tf/bin/python -m pip")
    assert run_check("python.pip-prefix", healthy()) == []


def test_python_too_new_for_installed_tensorflow() -> None:
    snapshot = replace_python(with_tensorflow(healthy(), "2.15.0"), version="3.12.4")
    [finding] = run_check("python.version-for-tensorflow", snapshot)
    assert finding.severity is Severity.ERROR
    assert "Python 3.12" in finding.title
    assert "3.9, 3.10, 3.11" in finding.evidence


def test_python_outside_every_tensorflow() -> None:
    snapshot = dataclasses.replace(
        replace_python(healthy(), version="3.14.0"),
        tensorflow=Unavailable("tensorflow-not-installed", "none"),
    )
    [finding] = run_check("python.version-for-tensorflow", snapshot)
    assert finding.title == "No TensorFlow release is built for Python 3.14"
    assert finding.fix[0] == "conda create -n tf python=3.13 --yes"


def test_tutorial_stack_python_3_6_with_tf_1_12_is_fine() -> None:
    snapshot = replace_python(
        with_tensorflow(healthy(), "1.12.0", build=cpu_build()), version="3.6.15"
    )
    assert run_check("python.version-for-tensorflow", snapshot) == []


def test_tensorflow_missing() -> None:
    snapshot = dataclasses.replace(
        with_packages(healthy(), tensorflow=None),
        tensorflow=Unavailable("tensorflow-not-installed", "none"),
    )
    [finding] = run_check("tensorflow.installed", snapshot)
    assert finding.severity is Severity.WARNING
    assert finding.fix == (
        '/home/ada/miniconda3/envs/tf/bin/python -m pip install "tensorflow[and-cuda]==2.21.*"',
    )


def test_several_tensorflow_distributions() -> None:
    dists = (Distribution("tensorflow", "2.21.0"), Distribution("tensorflow-cpu", "2.20.0"))
    [finding] = run_check(
        "tensorflow.one-distribution", with_tensorflow(healthy(), "2.21.0", distributions=dists)
    )
    assert finding.severity is Severity.ERROR
    assert "tensorflow-cpu 2.20.0" in finding.evidence
    assert "uninstall --yes tensorflow tensorflow-cpu" in finding.fix[0]


def test_tensorflow_gpu_package_2x_but_not_1x() -> None:
    dists = (Distribution("tensorflow-gpu", "2.10.0"),)
    assert run_check(
        "tensorflow.gpu-package", with_tensorflow(healthy(), "2.10.0", distributions=dists)
    )
    old = (Distribution("tensorflow-gpu", "1.12.0"),)
    assert (
        run_check("tensorflow.gpu-package", with_tensorflow(healthy(), "1.12.0", distributions=old))
        == []
    )


def test_keras_3_with_tensorflow_2_15() -> None:
    snapshot = with_packages(with_tensorflow(healthy(), "2.15.0"), keras="3.3.3")
    [finding] = run_check("tensorflow.keras", snapshot)
    assert finding.severity is Severity.ERROR
    assert "keras>=2.15.0,<2.16" in finding.fix[0].replace(" ", "") or "keras" in finding.fix[0]


def test_keras_2_with_tensorflow_2_21() -> None:
    [finding] = run_check("tensorflow.keras", with_packages(healthy(), keras="2.15.0"))
    assert "Keras 2" in finding.title
    assert ">=3" in finding.fix[0]


def test_legacy_keras_without_tf_keras() -> None:
    snapshot = with_env_vars(healthy(), {"TF_USE_LEGACY_KERAS": "1"})
    [finding] = run_check("tensorflow.keras", snapshot)
    assert finding.fix[0].endswith('install "tf-keras==2.21.*"')
    assert run_check("tensorflow.keras", with_packages(snapshot, tf_keras="2.21.0")) == []


def test_matching_keras_is_quiet() -> None:
    assert run_check("tensorflow.keras", healthy()) == []
    assert (
        run_check(
            "tensorflow.keras", with_packages(with_tensorflow(healthy(), "2.15.0"), keras="2.15.0")
        )
        == []
    )


@pytest.mark.parametrize(
    ("tf", "numpy", "fires"),
    [("2.15.0", "2.0.1", True), ("2.18.0", "2.0.1", False), ("2.15.0", "1.26.4", False)],
)
def test_numpy_2_with_older_tensorflow(tf: str, numpy: str, fires: bool) -> None:
    snapshot = with_packages(with_tensorflow(healthy(), tf), numpy=numpy)
    findings = run_check("tensorflow.numpy", snapshot)
    assert bool(findings) == fires
    if fires:
        assert findings[0].fix[0].endswith('install "numpy<2"')


def test_cpu_build_on_a_gpu_machine() -> None:
    dists = (Distribution("tensorflow-cpu", "2.21.0"),)
    snapshot = with_tensorflow(healthy(), "2.21.0", distributions=dists, build=cpu_build())
    [finding] = run_check("tensorflow.gpu-build", snapshot)
    assert "CPU-only" in finding.title
    assert finding.fix[0].endswith("uninstall --yes tensorflow-cpu")
    assert finding.fix[-1].endswith('pip install "tensorflow[and-cuda]==2.21.*"')


def test_cpu_build_on_windows_points_to_wsl2() -> None:
    snapshot = replace_os(
        with_tensorflow(healthy(), "2.21.0", build=cpu_build()), system="Windows", distro_id=None
    )
    [finding] = run_check("tensorflow.gpu-build", snapshot)
    assert any("wsl --install" in line for line in finding.fix)


def test_cuda_wheels_missing_or_rejected() -> None:
    base = with_tensorflow(healthy(), "2.21.0", requirements=AND_CUDA_2_21)
    none = with_packages(base, nvidia_cublas_cu12=None)
    [missing] = run_check("tensorflow.cuda-wheels", none)
    assert missing.severity is Severity.WARNING
    old = with_packages(base, nvidia_cublas_cu12="12.2.5.6", nvidia_cudnn_cu12="9.3.0.75")
    [rejected] = run_check("tensorflow.cuda-wheels", old)
    assert rejected.severity is Severity.ERROR
    assert "nvidia-cublas-cu12 12.2.5.6 (needs <13.0,>=12.5.3.2)" in rejected.evidence
    good = with_packages(base, nvidia_cublas_cu12="12.5.3.2", nvidia_cudnn_cu12="9.3.0.75")
    assert run_check("tensorflow.cuda-wheels", good) == []


def test_tutorial_stack_on_cpu_machine_only_warns_about_nothing_fatal() -> None:
    snapshot = replace_python(
        with_packages(
            with_tensorflow(healthy(), "1.12.0", build=cpu_build()), keras="2.2.4", numpy="1.16.6"
        ),
        version="3.6.15",
    )
    errors = [f for f in evaluate(snapshot) if f.severity is Severity.ERROR]
    assert errors == []


def test_transformers_with_keras_3_needs_tf_keras() -> None:
    snapshot = with_packages(healthy(), transformers="4.46.0")
    [finding] = run_check("tensorflow.keras", snapshot)
    assert finding.severity is Severity.WARNING
    assert finding.fix[0].endswith('install "tf-keras==2.21.*"')
    legacy = with_env_vars(with_packages(snapshot, tf_keras="2.21.0"), {"TF_USE_LEGACY_KERAS": "1"})
    assert run_check("tensorflow.keras", legacy) == []
