"""pip lines that name where to install from, not what: wheel and sdist URLs, local paths,
``file://`` URLs and VCS URLs. pip accepts them; `env check` must too.

A wheel's or sdist's file name says its project and version (PEP 427 / PEP 625), so such a
line is read as ``name==version`` and checked like one; any other location is noted, not
judged.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from envkit.envfiles import catalog
from envkit.envfiles.deps import Dep, pip_dep
from envkit.model import Finding, Severity

_SCHEMES = ("http://", "https://", "file:", "git+", "hg+", "svn+", "bzr+")
_PATH_STARTS = ("./", "../", "/", "~", ".\\", "..\\")
_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
_WHEEL = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.]*)-(?P<version>\d[^-]*)-.+\.whl$")
_SDIST = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.\-]*?)-(?P<version>\d[^-]*)\.(tar\.gz|zip|tar\.bz2|tgz)$"
)


def is_location(text: str) -> bool:
    """The line is a URL or a path (what pip installs from), not a requirement."""
    stripped = text.strip()
    return (
        stripped.lower().startswith(_SCHEMES)
        or stripped.startswith(_PATH_STARTS)
        or stripped in (".", "..")
        or stripped.lower().endswith(_ARCHIVES)
    )


def location_dep(text: str, line: int | None) -> Dep | None:
    """``name==version`` read from a wheel's or sdist's file name, keeping the line as written;
    None when the location does not say (a directory, a VCS URL)."""
    stripped = text.strip()
    path = (
        urlsplit(stripped).path if "://" in stripped or stripped.startswith("file:") else stripped
    )
    base = unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    match = _WHEEL.match(base) or _SDIST.match(base)
    if match is None:
        return None
    name = match.group("name").replace("_", "-")
    dep = pip_dep(f"{name}=={match.group('version')}", line)
    if dep is None:
        return None
    return Dep(
        raw=stripped,
        name=dep.name,
        source=dep.source,
        line=line,
        alternatives=dep.alternatives,
    )


def unchecked_location(text: str, line: int) -> Finding:
    return catalog.LOCATION.finding(
        Severity.INFO,
        f"line {line}: {text.strip()} installs from a path or URL; envkit does not check it",
        f"line {line}: pip installs what that location holds; its version is not in the line",
    )
