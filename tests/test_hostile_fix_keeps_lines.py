"""`env check --fix` keeps every line it does not manage, verbatim and in place (#12)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from envkit.envfiles import check_file, fix

KEPT_PIP_LINES = [
    "--index-url https://pypi.example.com/simple",
    "--extra-index-url https://download.pytorch.org/whl/cu121",
    "-e .",
    "-r other-requirements.txt",
    "git+https://github.com/org/repo.git@v1.2#egg=repo",
    "./local/pkg",
    "/abs/wheels/mylib-1.0-py3-none-any.whl",
    "requests>=2.0  # a comment after a kept requirement",
]


def _fixed(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return fix(check_file(path))


def _yml(pip_line: str) -> str:
    return (
        "# my project, read by our CI\n"
        "name: proj\n"
        "channels:\n"
        "  - conda-forge  # the one channel\n"
        "dependencies:\n"
        "  - python=3.9\n"
        "  - tensorflow-gpu=2.4  # old\n"
        "  - pandas>=1.3  # keep me\n"
        "  - pip\n"
        "  - pip:\n"
        f"    - {pip_line}\n"
        "    - tensorflow==2.4.1\n"
        "\n"
        "# the prefix is our cluster's\n"
        "prefix: /opt/envs/proj\n"
    )


@pytest.mark.parametrize("pip_line", KEPT_PIP_LINES)
def test_environment_yml_keeps_pip_line_in_place(tmp_path: Path, pip_line: str) -> None:
    fixed = _fixed(tmp_path, "environment.yml", _yml(pip_line))
    lines = fixed.splitlines()
    assert f"    - {pip_line}" in lines
    assert lines.index(f"    - {pip_line}") == lines.index("  - pip:") + 1  # where it was
    for kept in (
        "# my project, read by our CI",
        "  - conda-forge  # the one channel",
        "  - pandas>=1.3  # keep me",
        "# the prefix is our cluster's",
        "prefix: /opt/envs/proj",
        "",
    ):
        assert kept in lines, kept
    assert lines[-1] == "prefix: /opt/envs/proj"
    assert "tensorflow-gpu" not in fixed.split("# my project")[1]
    data = yaml.safe_load(fixed)
    assert data["prefix"] == "/opt/envs/proj"
    assert any("tensorflow==" in str(dep) for dep in data["dependencies"][-1]["pip"])


def test_environment_yml_fix_checks_clean_and_is_stable(tmp_path: Path) -> None:
    fixed = _fixed(tmp_path, "environment.yml", _yml(KEPT_PIP_LINES[0]))
    again = check_file(tmp_path / "environment.yml")
    assert again.document.readable
    (tmp_path / "fixed.yml").write_text(fixed)
    result = check_file(tmp_path / "fixed.yml")
    assert not [f for f in result.findings if f.severity.name == "ERROR"], result.findings


@pytest.mark.parametrize("kept", KEPT_PIP_LINES)
def test_requirements_file_keeps_line_in_place(tmp_path: Path, kept: str) -> None:
    text = f"# top comment\n{kept}\ntensorflow==2.4.1  # pinned\nnumpy==1.19.5\n\n# tail comment\n"
    fixed = _fixed(tmp_path, "requirements.txt", text)
    body = fixed.splitlines()
    start = body.index("# top comment")
    assert body[start : start + 2] == ["# top comment", kept]
    assert body[start + 2].startswith("tensorflow==")
    assert body[-2:] == ["", "# tail comment"]
    assert "numpy==1.19.5" not in body


def test_requirements_continuation_is_replaced_whole_and_others_kept(tmp_path: Path) -> None:
    text = "tensorflow==2.11.0 \\\n    --hash=sha256:abc\nrequests \\\n  >=2.0\n"
    fixed = _fixed(tmp_path, "requirements.txt", text)
    assert "--hash=sha256:abc" not in fixed
    assert fixed.endswith("requests \\\n  >=2.0\n")


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    text = "--index-url https://pypi.example.com/simple\r\ntensorflow==2.4.1\r\n"
    path = tmp_path / "requirements.txt"
    path.write_bytes(text.encode())
    fixed = fix(check_file(path))
    assert "--index-url https://pypi.example.com/simple\r\n" in fixed
    assert "\n" not in fixed.replace("\r\n", "")


def test_environment_yml_without_pip_section_gets_one(tmp_path: Path) -> None:
    text = (
        "name: proj  # ours\n"
        "dependencies:\n"
        "  - python=3.9\n"
        "  - tensorflow=2.4\n"
        "  - scipy  # kept\n"
        "variables:\n"
        "  MY_VAR: '1'\n"
    )
    fixed = _fixed(tmp_path, "environment.yml", text)
    data = yaml.safe_load(fixed)
    assert "name: proj  # ours" in fixed.splitlines()
    assert "  - scipy  # kept" in fixed.splitlines()
    assert "  MY_VAR: '1'" in fixed.splitlines()
    assert data["variables"]["MY_VAR"] == "1"
    pip = next(dep["pip"] for dep in data["dependencies"] if isinstance(dep, dict))
    assert any(line.startswith("tensorflow") for line in pip)
    assert data["channels"]  # the file named none; the fix's own are added


def test_flow_style_falls_back_to_a_whole_rewrite(tmp_path: Path) -> None:
    text = "name: proj\ndependencies: [python=3.9, tensorflow=2.4, scipy]\n"
    data = yaml.safe_load(_fixed(tmp_path, "environment.yml", text))
    assert "scipy" in data["dependencies"]
