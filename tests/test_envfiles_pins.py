"""env check on the lines real files carry: pip locations, and-cuda pins, python pins, EOL.

The wheel names are PyPI's real file names (tensorflow 2.21.0, numpy 1.26.4); the tutorial file
is tests/fixtures/envfiles/tutorial.yml (the tutorial's three conda commands).
"""

from __future__ import annotations

from pathlib import Path

from envkit.envfiles import check_file, fix
from envkit.envfiles.checks import check_document
from envkit.envfiles.reading import parse_conda
from envkit.model import Finding, Severity

FIXTURES = Path(__file__).parent / "fixtures" / "envfiles"
TF_WHEEL = "tensorflow-2.21.0-cp312-cp312-manylinux_2_27_x86_64.whl"


def _write(tmp_path: Path, text: str, name: str = "environment.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _ids(findings: tuple[Finding, ...], severity: Severity | None = None) -> list[str]:
    return [f.check_id for f in findings if severity is None or f.severity is severity]


def test_pip_locations_are_never_errors(tmp_path: Path) -> None:
    text = "\n".join(
        (
            f"https://files.pythonhosted.org/packages/ab/cd/{TF_WHEEL}",
            "./vendor/mypkg",
            "file:///opt/wheels/numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl",
            "-e git+https://github.com/keras-team/keras.git#egg=keras",
            "-e .",
            "../other/pkg-1.0.tar.gz",
        )
    )
    result = check_file(_write(tmp_path, text + "\n", "requirements.txt"))
    assert _ids(result.findings, Severity.ERROR) == []
    assert result.release is not None and result.release.series == "2.21"
    assert "envfile.location" in _ids(result.findings, Severity.INFO)  # ./vendor/mypkg
    names = {dep.name for dep in result.document.deps}
    assert {"tensorflow", "numpy", "pkg"} <= names


def test_conda_pip_section_accepts_a_local_path(tmp_path: Path) -> None:
    text = (
        "name: t\ndependencies:\n  - python=3.12\n  - pip\n  - pip:\n"
        "      - tensorflow==2.21.*\n      - ./tools\n"
    )
    result = check_file(_write(tmp_path, text))
    assert _ids(result.findings, Severity.ERROR) == []
    bad = check_file(_write(tmp_path, text.replace("./tools", "numpy>=1,,<2"), "bad.yml"))
    assert "envfile.requirement-syntax" in _ids(bad.findings, Severity.ERROR)


def test_a_version_inside_the_and_cuda_pins_is_not_rejected(tmp_path: Path) -> None:
    inside = "tensorflow[and-cuda]==2.21.0\nnvidia-cudnn-cu12==9.*\n"
    result = check_file(_write(tmp_path, inside, "requirements.txt"))
    assert "envfile.cuda-pins" not in _ids(result.findings)
    outside = "tensorflow[and-cuda]==2.21.0\nnvidia-cudnn-cu12==8.9.7.29\n"
    rejected = check_file(_write(tmp_path, outside, "req2.txt"))
    assert "envfile.cuda-pins" in _ids(rejected.findings, Severity.ERROR)


def test_conflicting_python_pins(tmp_path: Path) -> None:
    text = "name: t\ndependencies:\n  - python=3.6\n  - python>=3.10\n  - tensorflow=2.21\n"
    result = check_file(_write(tmp_path, text))
    [finding] = [f for f in result.findings if f.check_id == "envfile.python-conflict"]
    assert finding.severity is Severity.ERROR
    assert "python=3.6" in finding.title and "python>=3.10" in finding.title


def test_compatible_python_pins_pick_a_common_python_and_fix_keeps_it(tmp_path: Path) -> None:
    text = (
        "name: t\ndependencies:\n  - python>=3.10\n  - python<3.12\n  - pip\n  - pip:\n"
        "      - tensorflow==2.21.*\n"
    )
    result = check_file(_write(tmp_path, text))
    assert "envfile.python-conflict" not in _ids(result.findings)
    assert result.python == "3.11"
    fixed = fix(result)
    assert "  - python=3.11\n" in fixed


def test_end_of_life_python_is_flagged_and_current_is_quiet(tmp_path: Path) -> None:
    old = check_file(_write(tmp_path, "name: t\ndependencies:\n  - python=3.6\n  - pip\n"))
    [finding] = [f for f in old.findings if f.check_id == "envfile.python-eol"]
    assert finding.severity is Severity.WARNING
    assert "2021-12-23" in finding.title
    new = check_file(_write(tmp_path, "name: t\ndependencies:\n  - python=3.12\n", "new.yml"))
    assert "envfile.python-eol" not in _ids(new.findings)


def test_tutorial_file_is_flagged_for_both_and_its_fix_checks_clean(tmp_path: Path) -> None:
    result = check_file(FIXTURES / "tutorial.yml")
    warnings = _ids(result.findings, Severity.WARNING)
    assert "envfile.python-eol" in warnings and "envfile.tensorflow-gpu" in warnings
    [gpu] = [f for f in result.findings if f.check_id == "envfile.tensorflow-gpu"]
    assert gpu.fix[0].startswith("# to keep TensorFlow 1.12")
    assert "a new major" in gpu.fix[1]
    fixed = fix(result)
    again = check_document(parse_conda(str(tmp_path / "fixed.yml"), fixed))
    assert [f for f in again.findings if f.severity is not Severity.INFO] == []
