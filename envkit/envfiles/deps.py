"""One dependency line of an environment file, conda's or pip's, and what versions it admits.

conda's match specs (``python=3.6``, ``tensorflow-gpu 1.12.*``, ``conda-forge::numpy>=1.26``,
``cudnn[version='>=8']``) are translated into PEP 440 specifier sets, one per ``|`` alternative,
so that both kinds of line are asked the same questions: which series does this admit?
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envkit.model import normalize_name
from envkit.records import record

CONDA = "conda"
PIP = "pip"

_CONDA_SPEC = re.compile(
    r"^(?:(?P<channel>[A-Za-z0-9_.\-/:]+?)::)?"
    r"(?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)"
    r"(?P<rest>.*)$"
)
_BRACKET_VERSION = re.compile(r"""version\s*=\s*['"]?(?P<version>[^'",\]]+(?:,[^'"\]]+)*)['"]?""")
_OPERATOR = re.compile(r"^(===|==|!=|>=|<=|~=|>|<|=)?\s*(.+)$")
_UPPER_BOUNDING = {"==", "===", "~=", "<", "<="}


@record
class Dep:
    """One package line of an environment file."""

    raw: str
    """The line as written (without a trailing comment)."""
    name: str
    """PEP 503-normalised: tensorflow-gpu."""
    source: str
    """conda (a conda dependency) or pip (under pip: or in requirements.txt)."""
    line: int | None
    """1-based line in the file, where known."""
    alternatives: tuple[SpecifierSet, ...]
    """What versions it admits, one set per ``|`` alternative; one empty set admits any."""
    extras: tuple[str, ...] = ()
    channel: str | None = None

    @property
    def unpinned(self) -> bool:
        """No upper bound: the line admits whatever is newest when the file is used."""
        return not all(
            any(spec.operator in _UPPER_BOUNDING for spec in alternative)
            for alternative in self.alternatives
        )

    def admits(self, version: str) -> bool:
        return any(
            alternative.contains(version, prereleases=True) for alternative in self.alternatives
        )

    def named_versions(self) -> tuple[str, ...]:
        """The versions the line writes out, without wildcards: 1.12 for ``=1.12``."""
        return tuple(
            spec.version.removesuffix(".*")
            for alternative in self.alternatives
            for spec in alternative
        )

    def admits_series(self, series: str) -> bool:
        """Whether some version of ``series`` (2.16: 2.16.0, 2.16.1, ...) fits the line."""
        probes = [series, f"{series}.0", f"{series}.9999"]
        probes += [v for v in self.named_versions() if v == series or v.startswith(series + ".")]
        return any(self.admits(probe) for probe in probes if _is_version(probe))

    @property
    def where(self) -> str:
        return f"line {self.line}: {self.raw}" if self.line is not None else self.raw


def conda_dep(text: str, line: int | None) -> Dep | None:
    """A conda match spec, or None when conda could not read it as one."""
    match = _CONDA_SPEC.match(text.strip())
    if match is None:
        return None
    rest = match.group("rest").strip()
    version_text = _conda_version_text(rest)
    if version_text is None:
        return None
    alternatives = conda_version_alternatives(version_text) if version_text else (SpecifierSet(),)
    if alternatives is None:
        return None
    return Dep(
        raw=text.strip(),
        name=normalize_name(match.group("name")),
        source=CONDA,
        line=line,
        alternatives=alternatives,
        channel=match.group("channel"),
    )


def _conda_version_text(rest: str) -> str | None:
    """The version part of what follows the name: '' for none, None when unreadable."""
    if not rest:
        return ""
    if rest.startswith("["):
        found = _BRACKET_VERSION.search(rest)
        return found.group("version").strip() if found else ("" if rest.endswith("]") else None)
    if rest[0] == "=" and not rest.startswith("=="):
        version = rest[1:].split("=", 1)[0].strip()  # name=version=build
        return f"={version}" if version else None
    if rest[0] in "<>!~=":
        return rest.split("=", 2)[0] if rest.count("=") > 2 else rest.split()[0]
    if rest[0].isspace() or rest[0].isdigit():
        return rest.split()[0]  # name 1.2 build
    return None


def conda_version_alternatives(text: str) -> tuple[SpecifierSet, ...] | None:
    """``=1.12`` -> (==1.12.*,); ``>=3.9,<3.12|3.6`` -> two sets; None when unreadable."""
    alternatives = []
    for alternative in text.split("|"):
        specs = [_conda_clause(clause.strip()) for clause in alternative.split(",")]
        if any(spec is None for spec in specs):
            return None
        try:
            alternatives.append(SpecifierSet(",".join(str(s) for s in specs)))
        except InvalidSpecifier:
            return None
    return tuple(alternatives)


def _conda_clause(clause: str) -> str | None:
    match = _OPERATOR.match(clause)
    if match is None:
        return None
    operator, version = match.group(1) or "", match.group(2).strip()
    fuzzy = version.endswith("*")
    version = version.rstrip("*").rstrip(".")
    if not _is_version(version):
        return None
    if (operator in ("", "==") and fuzzy) or operator == "=":
        return f"=={version}.*"
    return f"{operator or '=='}{version}"


def pip_dep(text: str, line: int | None) -> Dep | None:
    """A PEP 508 requirement, or None when pip would not accept it."""
    try:
        requirement = Requirement(text.strip())
    except InvalidRequirement:
        return None
    return Dep(
        raw=text.strip(),
        name=normalize_name(requirement.name),
        source=PIP,
        line=line,
        alternatives=(requirement.specifier,),
        extras=tuple(sorted(requirement.extras)),
    )


def admitted_series(dep: Dep, candidates: Iterable[str]) -> tuple[str, ...]:
    """The candidate major.minor series the line admits, plus any series it names that is not
    among them (so that python=3.14 is seen even where no table lists 3.14)."""
    named = [_series(v) for v in dep.named_versions()]
    pool = list(dict.fromkeys([*candidates, *(s for s in named if s)]))
    return tuple(series for series in pool if dep.admits_series(series))


def admits_major(dep: Dep, major: int) -> bool:
    probes = [f"{major}", f"{major}.9999"]
    probes += [v for v in dep.named_versions() if v.split(".")[0] == str(major)]
    return any(dep.admits(probe) for probe in probes if _is_version(probe))


def only_majors(dep: Dep, majors: Iterable[int]) -> bool:
    """The line is pinned to these majors: it admits one of them and nothing outside them."""
    wanted = set(majors)
    candidates = {major for major in range(0, 10)} | {
        int(v.split(".")[0]) for v in dep.named_versions() if v.split(".")[0].isdigit()
    }
    admitted = {major for major in candidates if admits_major(dep, major)}
    return bool(admitted) and admitted <= wanted


def pin_specifier(specifier: str, version: str) -> bool:
    """Whether ``version`` satisfies a knowledge-base pin such as ``>=12.5.82,<13.0``."""
    try:
        return SpecifierSet(specifier).contains(version, prereleases=True)
    except InvalidSpecifier:
        return True


def exact_version(dep: Dep) -> str | None:
    """The version of a ``==X.Y.Z`` (not wildcard) pin, else None."""
    if len(dep.alternatives) != 1:
        return None
    specs = list(dep.alternatives[0])
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _series(version: str) -> str | None:
    parts = version.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def is_specifier(text: str) -> bool:
    try:
        Specifier(text)
    except InvalidSpecifier:
        return False
    return True
