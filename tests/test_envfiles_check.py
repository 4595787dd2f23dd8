"""envkit env check: findings on real files, bad input, and --fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envkit import knowledge
from envkit.envfiles import CHECKS, EnvFileError, check_file, fix, spec_for
from envkit.envfiles.reading import MAX_BYTES, MAX_NODES
from envkit.model import Finding, Severity

FIXTURES = Path(__file__).parent / "fixtures" / "envfiles"


def _write(tmp_path: Path, text: str, name: str = "environment.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _ids(findings: tuple[Finding, ...], severity: Severity | None = None) -> list[str]:
    return [f.check_id for f in findings if severity is None or f.severity is severity]


def _one(findings: tuple[Finding, ...], check_id: str) -> Finding:
    found = [f for f in findings if f.check_id == check_id]
    assert len(found) == 1, _ids(findings)
    return found[0]


def test_check_ids_are_unique_dotted_and_in_doctor_areas() -> None:
    ids = [check.check_id for check in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("envfile.") for i in ids)
    assert {check.area for check in CHECKS} <= {"python", "tensorflow"}


# ---------------------------------------------------------------- the tutorial


def test_tutorial_setup_is_flagged_with_the_upgrade_path() -> None:
    result = check_file(FIXTURES / "tutorial.yml")
    assert result.release is not None and result.release.series == "1.12"
    assert result.python == "3.6"
    assert result.gpu
    finding = _one(result.findings, "envfile.tensorflow-gpu")
    assert "line 8: tensorflow-gpu=1.12" in finding.evidence
    newest = knowledge.newest_tensorflow()
    assert f"    - tensorflow[and-cuda]=={newest.series}.*" in finding.fix


def test_tutorial_fix_is_the_upgrade_path_and_checks_clean(tmp_path: Path) -> None:
    result = check_file(FIXTURES / "tutorial.yml")
    text = fix(result, file_name="tf.yml")
    data = yaml.safe_load(text)
    newest = knowledge.newest_tensorflow()
    assert data["name"] == "tf3.6"  # the user's name is kept
    assert f"python={newest.python_wheels[-1]}" in data["dependencies"]
    pip = next(d["pip"] for d in data["dependencies"] if isinstance(d, dict))
    assert pip[0] == f"tensorflow[and-cuda]=={newest.series}.*"
    assert not any("tensorflow-gpu" in str(d) or d == "keras" for d in data["dependencies"])
    again = check_file(_write(tmp_path, text, "tf.yml"))
    assert _ids(again.findings, Severity.ERROR) + _ids(again.findings, Severity.WARNING) == []


# ---------------------------------------------------------------- each check


def test_a_file_mixing_every_mistake(tmp_path: Path) -> None:
    result = check_file(FIXTURES / "broken-mix.yml")
    assert result.exit_status == 1
    release = result.release
    assert release is not None and release.series == "2.15"
    errors = _ids(result.findings, Severity.ERROR)
    assert errors.count("envfile.cuda-pins") == 2
    for check_id in ("envfile.tensorflow-gpu", "envfile.keras", "envfile.numpy"):
        assert check_id in errors
    assert result.findings == tuple(sorted(result.findings, key=lambda f: f.severity.rank))
    cuda = [f for f in result.findings if f.check_id == "envfile.cuda-pins"]
    assert f"CUDA {release.cuda}" in cuda[0].title
    fixed = fix(result)
    again = check_file(_write(tmp_path, fixed))
    assert again.exit_status == 0
    assert again.release is not None and again.release.series == "2.15"  # series kept


def test_python_outside_the_tensorflows_range(tmp_path: Path) -> None:
    newest = knowledge.newest_tensorflow()
    python = "3.9"
    assert python not in newest.python_wheels
    path = _write(
        tmp_path,
        f"name: x\ndependencies:\n  - python={python}\n  - pip\n  - pip:\n"
        f"    - tensorflow=={newest.series}.*\n",
    )
    result = check_file(path)
    finding = _one(result.findings, "envfile.python-version")
    assert finding.severity is Severity.ERROR
    assert "line 3: python=3.9" in finding.evidence
    other = knowledge.newest_tensorflow_for_python(python)
    assert other is not None
    assert f"- python={newest.python_wheels[-1]}" in finding.fix
    assert f"- tensorflow=={other.series}.*" in finding.fix


def test_unpinned_tensorflow_and_python_are_warnings(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "name: x\ndependencies:\n  - python\n  - pip\n  - pip:\n    - tensorflow\n"
    )
    result = check_file(path)
    assert result.exit_status == 0
    warnings = _ids(result.findings, Severity.WARNING)
    assert "envfile.tensorflow-unpinned" in warnings
    assert "envfile.python-unpinned" in warnings
    assert result.release == knowledge.newest_tensorflow()


def test_a_range_resolves_to_the_newest_series_for_the_python(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ndependencies:\n  - python=3.8\n  - pip\n  - pip:\n    - tensorflow>=2.0\n",
    )
    result = check_file(path)
    expected = knowledge.newest_tensorflow_for_python("3.8")
    assert result.release == expected
    assert "envfile.python-version" not in _ids(result.findings)


@pytest.mark.parametrize(
    ("keras", "tensorflow", "flagged"),
    [
        ("keras==2.15.0", "2.16", True),
        ("keras<3", "2.17", True),
        ("keras>=3", "2.17", False),
        ("keras==3.3.3", "2.15", True),
        ("keras~=2.15.0", "2.15", False),
        ("keras", "2.18", False),
    ],
)
def test_keras_major_against_tensorflow(
    keras: str, tensorflow: str, flagged: bool, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        f"name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        f"    - tensorflow=={tensorflow}.*\n    - {keras}\n",
    )
    assert ("envfile.keras" in _ids(check_file(path).findings, Severity.ERROR)) is flagged


def test_keras_2_fix_keeps_keras_2_through_tf_keras(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        "    - tensorflow==2.17.*\n    - keras==2.15.0\n    - pandas==2.2.2\n",
    )
    data = yaml.safe_load(fix(check_file(path)))
    variable, values = knowledge.legacy_keras_environment()
    assert data["variables"] == {variable: values[0]}
    pip = next(d["pip"] for d in data["dependencies"] if isinstance(d, dict))
    assert knowledge.tf_keras_requirement("2.17.0") in pip
    assert "pandas==2.2.2" in pip  # what envkit does not manage is kept
    assert not any(line.startswith("keras") for line in pip)


@pytest.mark.parametrize(
    ("numpy", "tensorflow", "severity"),
    [
        ("numpy==2.0.1", "2.17", Severity.ERROR),
        ("numpy>=2", "2.16", Severity.ERROR),
        ("numpy==2.0.1", "2.18", None),
        ("numpy<2", "2.15", None),
    ],
)
def test_numpy_2_against_tensorflow(
    numpy: str, tensorflow: str, severity: Severity | None, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        f"name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n"
        f"    - tensorflow=={tensorflow}.*\n    - {numpy}\n",
    )
    found = [f.severity for f in check_file(path).findings if f.check_id == "envfile.numpy"]
    assert found == ([severity] if severity else [])


def test_numpy_unpinned_where_metadata_allows_2(tmp_path: Path) -> None:
    release = knowledge.tensorflow_release("2.14")
    assert release is not None and release.numpy_requirement is not None
    path = _write(
        tmp_path,
        "name: x\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n    - tensorflow==2.14.*\n",
    )
    finding = _one(check_file(path).findings, "envfile.numpy")
    assert finding.severity is Severity.WARNING
    assert release.numpy_requirement in finding.evidence


def test_conda_cuda_pins_against_the_tested_versions(tmp_path: Path) -> None:
    release = knowledge.tensorflow_release("2.10")
    assert release is not None and release.cuda and release.cudnn
    good = _write(
        tmp_path,
        f"name: x\ndependencies:\n  - python=3.10\n  - cudatoolkit={release.cuda}\n"
        f"  - cudnn={release.cudnn}.0\n  - pip\n  - pip:\n"
        "    - tensorflow==2.10.*\n    - numpy<2\n",
    )
    assert "envfile.cuda-pins" not in _ids(check_file(good).findings)
    bad = _write(
        tmp_path,
        "name: x\ndependencies:\n  - python=3.10\n  - cudatoolkit=10.1\n  - cudnn\n  - pip\n"
        "  - pip:\n    - tensorflow==2.10.*\n",
        "bad.yml",
    )
    findings = [f for f in check_file(bad).findings if f.check_id == "envfile.cuda-pins"]
    assert len(findings) == 2
    assert f"- cudatoolkit={release.cuda}" in findings[0].fix


def test_nvidia_wheel_pins_against_and_cuda(tmp_path: Path) -> None:
    release = knowledge.newest_tensorflow()
    pins = dict(release.and_cuda)
    assert "nvidia-cudnn-cu12" in pins
    path = _write(
        tmp_path,
        f"name: x\ndependencies:\n  - python={release.python_wheels[-1]}\n  - pip\n  - pip:\n"
        f"    - tensorflow[and-cuda]=={release.series}.*\n    - nvidia-cudnn-cu12==8.9.4.25\n",
    )
    finding = _one(check_file(path).findings, "envfile.cuda-pins")
    assert pins["nvidia-cudnn-cu12"] in finding.evidence


# ---------------------------------------------------------------- YAML and structure


def test_yaml_syntax_error_is_a_finding_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndependencies:\n  - python=3.11\n - pip\n")
    result = check_file(path)
    finding = _one(result.findings, "envfile.yaml-syntax")
    assert finding.severity is Severity.ERROR
    assert "line 4" in finding.title
    assert result.exit_status == 1
    with pytest.raises(EnvFileError, match="not valid YAML"):
        fix(result)


def test_duplicate_keys_and_bad_shapes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\nchannels: conda-forge\ndependencies:\n  - python=3.11\n  - 3.6\n"
        "  - {a: 1}\n  - pip:\n    - tensorflow==2.17.*\n    - 'numpy>>2'\nname: y\nextra: 1\n",
    )
    findings = check_file(path).findings
    assert "line 10" in _one(findings, "envfile.duplicate-key").title
    structure = [f.title for f in findings if f.check_id == "envfile.structure"]
    assert any(t.startswith("line 2: channels") for t in structure)
    assert any(t.startswith("line 5: the dependency '3.6'") for t in structure)
    assert any(t.startswith("line 6: a dependency") for t in structure)
    assert "line 9" in _one(findings, "envfile.requirement-syntax").title
    assert "'extra'" in _one(findings, "envfile.unknown-key").title
    assert _one(findings, "envfile.pip-missing").severity is Severity.WARNING


def test_conda_spec_forms_are_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ndependencies:\n  - conda-forge::python >=3.10,<3.12\n  - pip\n"
        "  - tensorflow 2.15.*\n  - numpy=1.26=py311h0\n  - cudnn[version='>=8.9']\n",
    )
    result = check_file(path)
    assert result.python == "3.11"
    assert result.release is not None and result.release.series == "2.15"
    assert "envfile.structure" not in _ids(result.findings)


# ---------------------------------------------------------------- requirements.txt


def test_requirements_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "# pinned\n-r base.txt\ntensorflow-gpu==2.11.0 \\\n    --hash=sha256:abc\n"
        "numpy==2.1.0  # new\nnot a requirement!\n",
        "requirements.txt",
    )
    result = check_file(path)
    assert result.document.kind == "requirements"
    ids = _ids(result.findings)
    assert "envfile.include" in ids
    assert "line 6" in _one(result.findings, "envfile.requirement-syntax").title
    gpu = _one(result.findings, "envfile.tensorflow-gpu")
    assert gpu.severity is Severity.ERROR
    assert gpu.fix[1:] == ("tensorflow==2.11.*",)  # a requirements line, not YAML
    assert "envfile.numpy" in ids
    assert "envfile.python-unpinned" not in ids
    fixed = fix(result)
    assert "tensorflow[and-cuda]==2.11.0" not in fixed  # 2.11 predates the extra
    lines = [line for line in fixed.splitlines() if line and not line.startswith("#")]
    # the lines envkit does not manage stay where they were (#12); its own take the old ones' place
    assert lines[:2] == ["-r base.txt", "tensorflow==2.11.0"]
    assert "numpy<2" in lines
    assert "numpy==2.1.0" not in lines
    assert lines[-1] == "not a requirement!"
    release = knowledge.tensorflow_release("2.11")
    assert release is not None
    assert f"conda install -c conda-forge cudatoolkit={release.cuda} cudnn={release.cudnn}" in fixed


# ---------------------------------------------------------------- bad input


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\nname: bomb\ndependencies: [python=3.11]\n"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: p / "missing.yml", "does not exist"),
        (lambda p: p, "is a directory"),
        (lambda p: _bytes(p, b"\x7fELF\x00\x01"), "binary"),
        (lambda p: _bytes(p, b"\xff\xfe\xfa"), "not UTF-8"),
        (lambda p: _bytes(p, b"  \n\n"), "is empty"),
        (lambda p: _bytes(p, b"# only a comment\n"), "only comments"),
        (lambda p: _bytes(p, _bomb(9).encode()), f"more than {MAX_NODES} YAML nodes"),
        (lambda p: _bytes(p, b"name: &a [*a]\n"), "recursive"),
        (lambda p: _bytes(p, b"- just\n- a list\n"), "not a conda environment file"),
        (lambda p: _bytes(p, b"title: a web page\n"), "not a conda environment file"),
        (lambda p: _bytes(p, b"x" * (MAX_BYTES + 1)), "KiB"),
        (lambda p: _bytes(p, b"no requirement here!\n", "reqs.txt"), "neither"),
    ],
)
def test_bad_input_is_one_line_error(make: object, words: str, tmp_path: Path) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    before = sorted(tmp_path.iterdir())
    with pytest.raises(EnvFileError) as raised:
        check_file(path)
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)
    assert sorted(tmp_path.iterdir()) == before


def _bytes(folder: Path, data: bytes, name: str = "environment.yml") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_a_small_alias_is_fine(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nchannels: &c [conda-forge]\ndependencies:\n  - python=3.11\n")
    assert check_file(path).document.channels == ("conda-forge",)


def test_fix_of_a_file_without_tensorflow_refuses(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndependencies:\n  - python=3.11\n")
    result = check_file(path)
    assert _ids(result.findings, Severity.INFO) == ["envfile.tensorflow-missing"]
    with pytest.raises(EnvFileError, match="installs no TensorFlow"):
        fix(result)


def test_fix_override_that_does_not_fit_is_a_spec_error(tmp_path: Path) -> None:
    from envkit.envfiles import SpecError

    result = check_file(FIXTURES / "tutorial.yml")
    with pytest.raises(SpecError):
        fix(result, tensorflow="2.21", python="3.6")
    assert "tensorflow==2.15.*" in fix(result, tensorflow="2.15", gpu=False)
    assert spec_for(gpu=False, tensorflow="2.15").python in fix(result, tensorflow="2.15")
