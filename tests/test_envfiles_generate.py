"""envkit env generate: files from the knowledge base, deterministic, and the root files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from envkit import knowledge
from envkit.envfiles import (
    ROOT_FILES,
    SpecError,
    check_file,
    default_spec,
    spec_for,
    to_yaml,
)
from envkit.envfiles.emit import scalar
from envkit.envfiles.spec import metal_version
from envkit.model import Severity

REPO = Path(__file__).resolve().parent.parent


def _load(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _pip(data: dict[str, Any]) -> list[str]:
    return next(d["pip"] for d in data["dependencies"] if isinstance(d, dict))


@pytest.mark.parametrize("name", sorted(ROOT_FILES))
def test_root_files_are_what_the_generator_writes(name: str) -> None:
    """Fails when environment-gpu.yml / environment-cpu.yml drift from the generator."""
    written = (REPO / name).read_text(encoding="utf-8")
    assert written == to_yaml(default_spec(name)), (
        f"{name} is stale; regenerate it: envkit env generate "
        f"{'--gpu' if ROOT_FILES[name] else '--cpu'} -o {name} --force"
    )


def test_defaults_are_the_newest_tensorflow_and_its_newest_python() -> None:
    newest = knowledge.newest_tensorflow()
    data = _load(to_yaml(spec_for(gpu=True)))
    assert f"python={newest.python_wheels[-1]}" in data["dependencies"]
    assert "pip" in data["dependencies"]
    assert f"tensorflow[and-cuda]=={newest.series}.*" in _pip(data)
    assert data["name"] == "tf-gpu"
    cpu = _pip(_load(to_yaml(spec_for(gpu=False))))
    assert f"tensorflow=={newest.series}.*" in cpu
    assert not any("and-cuda" in line for line in cpu)


def test_output_is_deterministic_and_reads_back() -> None:
    spec = spec_for(gpu=True, python="3.11", tensorflow="2.15", name="old")
    assert to_yaml(spec) == to_yaml(
        spec_for(gpu=True, python="3.11", tensorflow="2.15", name="old")
    )
    data = _load(to_yaml(spec))
    assert data["name"] == "old"
    assert data["channels"] == list(spec.channels)
    assert data["dependencies"][: len(spec.conda)] == list(spec.conda)
    assert _pip(data) == list(spec.pip)


def test_header_names_the_minimum_driver_and_how_to_use_the_file() -> None:
    newest = knowledge.newest_tensorflow()
    assert newest.cuda is not None
    requirement = knowledge.driver_requirement(newest.cuda)
    assert requirement is not None and requirement.minor_compat_min_driver
    spec = spec_for(gpu=True, file_name="my-env.yml", name="work")
    text = to_yaml(spec)
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert requirement.minor_compat_min_driver in header
    assert str(requirement.toolkit_min_driver) in header
    assert spec.min_driver == requirement.minor_compat_min_driver
    for command in (
        "conda env create -f my-env.yml",
        "conda activate work",
        "envkit doctor --smoke",
    ):
        assert f"#   {command}" in text
    assert "notebook" in _pip(_load(text))
    assert "notebook" not in to_yaml(spec_for(gpu=True, jupyter=False)).split("name:")[1]
    assert all(len(line) <= 100 for line in text.splitlines())


def test_python_alone_picks_the_newest_tensorflow_for_it() -> None:
    release = knowledge.newest_tensorflow_for_python("3.9")
    assert release is not None
    spec = spec_for(gpu=True, python="3.9")
    assert spec.tensorflow == release.series
    assert "python=3.9" in spec.conda


def test_tensorflow_alone_picks_its_newest_python() -> None:
    release = knowledge.tensorflow_release("2.12")
    assert release is not None
    spec = spec_for(gpu=False, tensorflow="2.12")
    assert spec.python == release.python_wheels[-1]
    assert "numpy<2" in spec.pip  # 2.12 was built against NumPy 1
    exact = spec_for(gpu=False, tensorflow="2.15.1")
    assert "tensorflow==2.15.1" in exact.pip


def test_a_pair_that_does_not_fit_names_what_would() -> None:
    newest = knowledge.newest_tensorflow()
    old_python = "3.9"
    assert old_python not in newest.python_wheels
    fits = knowledge.newest_tensorflow_for_python(old_python)
    assert fits is not None
    with pytest.raises(SpecError) as raised:
        spec_for(gpu=True, python=old_python, tensorflow=newest.series)
    message = str(raised.value)
    assert ", ".join(newest.python_wheels) in message
    assert f"newest TensorFlow for Python {old_python} is {fits.series}" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"python": "3.99"}, "no TensorFlow has wheels for Python 3.99"),
        ({"tensorflow": "9.1"}, "knows no TensorFlow 9.1"),
        ({"python": "three"}, "--python takes a version"),
        ({"platform": "solaris"}, "platform must be one of"),
        ({"name": "my env"}, "environment name"),
    ],
)
def test_bad_requests_are_one_line_errors(options: dict[str, str], words: str) -> None:
    with pytest.raises(SpecError, match=words):
        spec_for(gpu=False, **options)  # type: ignore[arg-type]


def test_gpu_before_the_and_cuda_extra_gets_condas_cuda_at_the_tested_versions() -> None:
    release = knowledge.tensorflow_release("2.12")
    assert release is not None and not release.and_cuda
    spec = spec_for(gpu=True, tensorflow="2.12")
    assert f"cudatoolkit={release.cuda}" in spec.conda
    assert f"cudnn={release.cudnn}" in spec.conda
    assert f"tensorflow=={release.series}.*" in spec.pip
    one = spec_for(gpu=True, tensorflow="1.12", python="3.6")
    assert "tensorflow-gpu==1.12.*" in one.pip


def test_macos_gets_metal_and_no_cuda() -> None:
    metal = metal_version(knowledge.newest_tensorflow().series)
    spec = spec_for(gpu=False, platform="macos")
    if metal:
        assert f"tensorflow-metal=={metal}" in spec.pip
    old = spec_for(gpu=False, platform="macos", tensorflow="2.12")
    assert any(line.startswith("tensorflow-macos==2.12") for line in old.pip)
    assert metal_version("2.12") in {line.split("==")[1] for line in old.pip if "metal" in line}
    with pytest.raises(SpecError, match="macOS has no CUDA"):
        spec_for(gpu=True, platform="macos")


def test_native_windows_gpu_stops_where_the_knowledge_base_says() -> None:
    last = knowledge.platform_fact("windows-native-gpu-last")
    assert last is not None and last.value
    with pytest.raises(SpecError, match=f"--tensorflow {last.value}"):
        spec_for(gpu=True, platform="windows")
    release = knowledge.tensorflow_release(last.value)
    assert release is not None and release.windows_gpu is not None
    spec = spec_for(gpu=True, platform="windows", tensorflow=last.value)
    assert f"cudatoolkit={release.windows_gpu.cuda}" in spec.conda


@pytest.mark.parametrize(
    "gpu_tf_python",
    [(True, None, None), (False, None, None), (True, "2.15", "3.11"), (True, "2.12", None)],
)
def test_generated_files_pass_env_check(
    gpu_tf_python: tuple[bool, str | None, str | None], tmp_path: Path
) -> None:
    """The generator and the checker read one knowledge base, so they cannot disagree."""
    gpu, tensorflow, python = gpu_tf_python
    path = tmp_path / "environment.yml"
    path.write_text(to_yaml(spec_for(gpu=gpu, tensorflow=tensorflow, python=python)))
    result = check_file(path)
    assert [f for f in result.findings if f.severity is not Severity.INFO] == []
    assert result.exit_status == 0
    assert result.gpu is gpu


@pytest.mark.parametrize(
    "text", ["plain", "tensorflow[and-cuda]==2.21.*", "true", "1", "3.10", "a: b", "#x", "", " x"]
)
def test_scalars_read_back_as_the_same_text(text: str) -> None:
    assert yaml.safe_load(f"key: {scalar(text)}") == {"key": text}
