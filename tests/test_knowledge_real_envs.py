"""The table against reality: real TensorFlow installs agree with their release's row.

Reads the build facts and METADATA of the test environments made by
scripts/make_test_envs.sh (tf: TF 2.21 on Python 3.11; tf112: TF 1.12 on Python 3.6) through
envkit's own probe, then compares them with tensorflow_release(version).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from envkit import knowledge
from envkit.model import PythonEnvInfo, TensorflowBuild, TensorflowInfo, normalize_name
from envkit.probes import python_env
from tests.envs import require_test_env

ENV_NAMES = ["tf", "tf112"]


@cache
def _probe(python: str) -> tuple[PythonEnvInfo, TensorflowInfo]:
    env, tf = python_env.probe(python)
    assert isinstance(env, PythonEnvInfo), env
    assert isinstance(tf, TensorflowInfo), tf
    return env, tf


def _installed(name: str) -> tuple[PythonEnvInfo, TensorflowInfo, knowledge.TfRelease]:
    env, tf = _probe(require_test_env(name))
    release = knowledge.tensorflow_release(tf.version)
    assert release is not None, f"TensorFlow {tf.version} is not in the table"
    return env, tf, release


def _extra_requirements(tf: TensorflowInfo, extra: str) -> dict[str, SpecifierSet]:
    """Requires-Dist lines that only ``pip install tensorflow[extra]`` adds, by name."""
    found: dict[str, SpecifierSet] = {}
    for line in tf.requirements:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or "extra" not in str(marker):
            continue
        with_extra = marker.evaluate({"extra": extra})
        if with_extra and not marker.evaluate({"extra": ""}):
            found[normalize_name(requirement.name)] = requirement.specifier
    return found


def _base_requirements(tf: TensorflowInfo, python_version: str) -> dict[str, SpecifierSet]:
    found: dict[str, SpecifierSet] = {}
    environment = {"python_version": python_version, "python_full_version": f"{python_version}.0"}
    for line in tf.requirements:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is not None and "extra" in str(marker):
            continue
        if marker is None or marker.evaluate(environment):
            found[normalize_name(requirement.name)] = requirement.specifier
    return found


def _python_minor(env: PythonEnvInfo) -> str:
    minor = knowledge.major_minor(env.version)
    assert minor is not None
    return minor


@pytest.mark.parametrize("name", ENV_NAMES)
def test_build_facts_match_the_table(name: str) -> None:
    _, tf, release = _installed(name)
    build = tf.build
    assert isinstance(build, TensorflowBuild), build
    primary = normalize_name(tf.distributions[0].name) if len(tf.distributions) == 1 else None
    if not build.is_cuda_build:
        # Only a distribution other than the series' GPU package may be a CPU build.
        assert primary is not None and primary != release.gpu_package
        return
    assert primary == release.gpu_package
    assert build.cuda_version is not None and build.cudnn_version is not None
    assert knowledge.major_minor(build.cuda_version) == release.cuda
    assert build.cudnn_version.split(".")[0] == (release.cudnn or "").split(".")[0]
    if release.build_info_cuda is not None:
        assert build.cuda_version == release.build_info_cuda
    if release.compute_capabilities_verified:
        assert build.cuda_compute_capabilities == release.compute_capabilities


@pytest.mark.parametrize("name", ENV_NAMES)
def test_and_cuda_pins_match_metadata(name: str) -> None:
    _, tf, release = _installed(name)
    real = _extra_requirements(tf, "and-cuda")
    pins = release.and_cuda_for(tf.version)
    if pins is None:
        assert not real, f"METADATA of {tf.version} has and-cuda pins the table lacks"
        return
    assert real == {dist: SpecifierSet(spec) for dist, spec in pins.requirements}


@pytest.mark.parametrize("name", ENV_NAMES)
def test_keras_and_numpy_requirements_match_metadata(name: str) -> None:
    env, tf, release = _installed(name)
    base = _base_requirements(tf, _python_minor(env))
    if release.keras_requirement is not None:
        assert base.get("keras") == SpecifierSet(release.keras_requirement)
    elif release.keras_bundled:
        assert "keras" not in base
    numpy = release.numpy_requirement_for(env.version)
    if numpy is not None:
        assert base.get("numpy") == SpecifierSet(numpy)


@pytest.mark.parametrize("name", ENV_NAMES)
def test_requires_python_and_wheel_python_match(name: str) -> None:
    env, tf, release = _installed(name)
    # pip installed a binary wheel of this series for the env's Python.
    assert release.has_wheel_for(env.version)
    metadata = _metadata_file(tf)
    declared = [
        line.split(":", 1)[1].strip()
        for line in metadata.read_text("utf-8").splitlines()
        if line.startswith("Requires-Python:")
    ]
    if release.requires_python is not None:
        assert declared and SpecifierSet(declared[0]) == SpecifierSet(release.requires_python)
    if declared:
        assert env.version in SpecifierSet(declared[0])


def _metadata_file(tf: TensorflowInfo) -> Path:
    assert tf.package_path is not None
    site = Path(tf.package_path).parent
    stem = normalize_name(tf.distributions[0].name).replace("-", "_")
    found = [
        path
        for path in site.glob("*.dist-info")
        if path.name.lower().startswith(f"{stem}-{tf.version}")
    ]
    assert found, f"no dist-info for {tf.version} in {site}"
    return found[0] / "METADATA"
