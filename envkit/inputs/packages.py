"""Package lists: ``pip list``, ``pip freeze``, ``conda list`` (plain, --export, --explicit) and
``conda env export``. Each reader takes the text and returns a :class:`PackageList`, or None
when the text is not of its kind."""

from __future__ import annotations

import re

from envkit.inputs.model import PackageList
from envkit.model import Distribution

_NAME = r"[A-Za-z0-9_][A-Za-z0-9._+-]*"
_PIP_LIST_HEADER = re.compile(r"^Package\s+Version(\s+.*)?$")
_PIP_LIST_GATE = re.compile(r"Package\s+Version")  # a fast search: the header starts with a word
_PIP_LIST_RULE = re.compile(r"^-{3,}\s+-{3,}")
_PIP_LIST_ROW = re.compile(rf"^({_NAME})\s+(\S+)(?:\s+.*)?$")
_FREEZE_ROW = re.compile(rf"^({_NAME})(?:\[[^\]]*\])?\s*===?\s*(\S+?)\s*(?:;.*)?$")
_FREEZE_URL = re.compile(rf"^({_NAME})\s+@\s+\S+")
_CONDA_PLAIN_HEADER = re.compile(r"^#\s*packages in environment at\s+(.+?):?\s*$")
_CONDA_PLAIN_ROW = re.compile(rf"^({_NAME})\s+(\S+)\s+(\S+)(?:\s+(\S+))?\s*$")
_CONDA_EXPORT_ROW = re.compile(rf"^({_NAME})=([^=\s]+)=(\S+)$")
_CONDA_EXPLICIT_URL = re.compile(rf"/({_NAME})-([^-/]+)-([^-/]+)\.(?:conda|tar\.bz2)(?:#\S*)?$")
_ENV_DEP = re.compile(rf"^\s*-\s+({_NAME})(?:==?([^=\s]+))?(?:=(\S+))?\s*$")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def read_pip_list(text: str) -> PackageList | None:
    if _PIP_LIST_GATE.search(text) is None:
        return None
    lines = _lines(text)
    for at, line in enumerate(lines[:-1]):
        if _PIP_LIST_HEADER.match(line.strip()) and _PIP_LIST_RULE.match(lines[at + 1].strip()):
            rows = []
            for row in lines[at + 2 :]:
                match = _PIP_LIST_ROW.match(row.strip())
                if match is None or not row.strip():
                    break
                rows.append(Distribution(match.group(1), match.group(2)))
            return PackageList("pip-list", tuple(rows)) if rows else None
    return None


def read_pip_freeze(text: str) -> PackageList | None:
    """A list where at most a fifth of the lines are something else (a log is not one)."""
    rows, other = [], 0
    lines = [line.strip() for line in text.splitlines()]
    for at, line in enumerate(lines):
        if not line or line.startswith("#"):
            continue
        match = _FREEZE_ROW.match(line)
        if match:
            rows.append(Distribution(match.group(1), match.group(2)))
        elif _FREEZE_URL.match(line) or line.startswith("-e "):
            continue
        else:
            other += 1
            if other > (len(rows) + len(lines) - at - 1) // 4:
                return None  # even if every line left were a row
    if len(rows) < 2 or other > len(rows) // 4:
        return None
    return PackageList("pip-freeze", tuple(rows))


def read_conda_list(text: str) -> PackageList | None:
    # each form is looked for only in a text holding its marker: most texts are none of them
    if "@EXPLICIT" in text:
        lines = _lines(text)
        if any(line.strip() == "@EXPLICIT" for line in lines):
            return _conda_explicit(lines)
    header = None
    if "packages in environment at" in text:
        lines = _lines(text)
        header = next((m for m in map(_CONDA_PLAIN_HEADER.match, lines) if m), None)
    if header is None:
        return _conda_export(text)
    rows = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        match = _CONDA_PLAIN_ROW.match(line.strip())
        if match:
            rows.append(Distribution(match.group(1), match.group(2)))
    prefix = header.group(1).strip()
    listed = PackageList("conda-list", tuple(rows), prefix=prefix)
    return _with_python(listed) if rows else None


def _conda_export(text: str) -> PackageList | None:
    """``conda list --export``: name=version=build rows under a ``# platform:`` line."""
    if "platform:" not in text:
        return None
    lines = _lines(text)
    if not any("platform:" in line for line in lines[:6]):
        return None
    exported = [m for m in map(_CONDA_EXPORT_ROW.match, (x.strip() for x in lines)) if m]
    if len(exported) < 2:
        return None
    exported_rows = tuple(Distribution(m.group(1), m.group(2)) for m in exported)
    return _with_python(PackageList("conda-list", exported_rows))


def _conda_explicit(lines: list[str]) -> PackageList | None:
    rows = []
    for line in lines:
        match = _CONDA_EXPLICIT_URL.search(line.strip())
        if match:
            rows.append(Distribution(match.group(1), match.group(2)))
    return _with_python(PackageList("conda-list", tuple(rows))) if rows else None


def read_conda_env_export(text: str) -> PackageList | None:
    if "dependencies:" not in text:
        return None
    lines = _lines(text)
    if not any(line.startswith("dependencies:") for line in lines):
        return None
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("name:")), None)
    prefix = next(
        (line.split(":", 1)[1].strip() for line in lines if line.startswith("prefix:")), None
    )
    rows = []
    in_dependencies = False
    for line in lines:
        if line.startswith("dependencies:"):
            in_dependencies = True
            continue
        if in_dependencies and line and not line.startswith((" ", "-")):
            in_dependencies = False
        if not in_dependencies or line.strip().rstrip(":") == "- pip":
            continue
        match = _ENV_DEP.match(line)
        if match and match.group(2):
            rows.append(Distribution(match.group(1), match.group(2)))
    listed = PackageList("conda-env-export", tuple(rows), env_name=name, prefix=prefix)
    return _with_python(listed)


def _with_python(listed: PackageList) -> PackageList:
    python = next((d.version for d in listed.distributions if d.name == "python"), None)
    return PackageList(listed.kind, listed.distributions, python, listed.env_name, listed.prefix)
