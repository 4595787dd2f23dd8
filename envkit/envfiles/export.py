"""`envkit env export`: a working environment as an environment.yml another machine can use.

"Explicitly installed" means what the user asked for, pinned to what was installed:

* conda environment: the package names of ``conda-meta/history``'s ``# update specs`` lines
  (minus ``# remove specs``), at the version of their ``conda-meta`` record; its channels are
  those the records came from. pip packages are the distributions conda did not install
  (their ``INSTALLER`` is not conda) that no other installed distribution requires.
* any other Python (venv, virtualenv, pyenv, system): conda gets python=X.Y.Z and pip; pip
  gets every distribution no other one requires, except pip, setuptools and wheel.

``tensorflow[and-cuda]`` is written with its extra when NVIDIA wheels of the extra are
installed, since they are required by (only) that extra and would otherwise be lost.

Reading is separate from deciding: :func:`read_installed` and :func:`read_conda_meta` read
files (no program runs, nothing is imported); :func:`export_spec` is pure.
"""

from __future__ import annotations

import ast
import json
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from envkit.envfiles.spec import DEFAULT_CHANNELS, DEFAULT_FILE_NAME, EnvSpec
from envkit.model import PythonEnvInfo, normalize_name
from envkit.readers import read_json
from envkit.records import record

BASE_TOOLS = frozenset({"pip", "setuptools", "wheel", "distribute"})
_SPEC_NAME = re.compile(r"^(?:[^:\s]+::)?([A-Za-z0-9_][A-Za-z0-9_.\-]*)")
_DEFAULTS_URLS = ("repo.anaconda.com/pkgs/", "pkgs/main", "pkgs/r", "pkgs/free")

_MAX_SPEC_LINE = 64 * 1024
"""A ``# update specs:`` line longer than this is not conda's."""


@record
class InstalledDist:
    name: str
    """PEP 503-normalised."""
    version: str
    requires: tuple[str, ...]
    """Normalised names of its Requires-Dist, without its extras' (as pip list --not-required)."""
    installer: str | None
    """The dist-info's INSTALLER: pip, conda, uv, ...; None when absent."""
    extra_requires: tuple[str, ...] = ()
    """Names only its extras require."""
    local_source: str | None = None
    """Where an editable or local-path install came from (direct_url.json); an index has none."""


@record
class CondaPackage:
    name: str
    version: str
    channel: str
    """conda-forge, defaults, or the channel URL as recorded."""


@record
class CondaMeta:
    requested: tuple[str, ...]
    """Package names the user asked for, in the order first asked."""
    packages: tuple[CondaPackage, ...]


def export_spec(
    info: PythonEnvInfo,
    *,
    installed: tuple[InstalledDist, ...] = (),
    conda: CondaMeta | None = None,
    name: str | None = None,
    file_name: str = DEFAULT_FILE_NAME,
) -> EnvSpec:
    """The environment ``info`` describes, as an EnvSpec of its explicitly installed packages."""
    env_name = name or info.conda_env_name or _name_of(info.prefix)
    details = {dist.name: dist for dist in installed}
    conda_lines, channels, conda_names = _conda_part(info, conda)
    pip_lines = _pip_part(info, details, conda_names)
    return EnvSpec(
        name=env_name,
        channels=channels,
        conda=conda_lines,
        pip=pip_lines,
        header=_header(info, env_name, file_name, local_installs(installed)),
        python=info.version,
        tensorflow=info.version_of("tensorflow"),
    )


def _conda_part(
    info: PythonEnvInfo, conda: CondaMeta | None
) -> tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]:
    if conda is None:
        return (f"python={info.version}", "pip"), DEFAULT_CHANNELS, frozenset()
    by_name = {package.name: package for package in conda.packages}
    wanted = [n for n in conda.requested if n in by_name]
    for must in ("python", "pip"):
        if must in by_name and must not in wanted:
            wanted.append(must)
    lines = tuple(f"{n}={by_name[n].version}" for n in wanted)
    channels = tuple(dict.fromkeys(by_name[n].channel for n in wanted)) or DEFAULT_CHANNELS
    return lines, channels, frozenset(normalize_name(n) for n in by_name)


def _pip_part(
    info: PythonEnvInfo, details: dict[str, InstalledDist], conda_names: frozenset[str]
) -> tuple[str, ...]:
    # What a left-out local install requires stays: nothing else would install it.
    required = {
        name for dist in details.values() if dist.local_source is None for name in dist.requires
    }
    tensorflow = details.get("tensorflow")
    if tensorflow is not None and _extras("tensorflow", details):
        required.update(tensorflow.extra_requires)  # the extra written brings them
    lines = []
    for dist in info.distributions:
        key = normalize_name(dist.name)
        detail = details.get(key)
        by_conda = key in conda_names or (detail is not None and detail.installer == "conda")
        local = detail is not None and detail.local_source is not None
        if by_conda or local or key in BASE_TOOLS or key in required:
            continue
        lines.append(f"{key}{_extras(key, details)}=={dist.version}")
    return tuple(sorted(lines))


def local_installs(installed: tuple[InstalledDist, ...]) -> tuple[InstalledDist, ...]:
    """Distributions installed from a local folder: the export leaves them out."""
    return tuple(dist for dist in installed if dist.local_source is not None)


def _extras(key: str, details: dict[str, InstalledDist]) -> str:
    if key != "tensorflow":
        return ""
    tensorflow = details.get(key)
    nvidia = tensorflow is not None and any(
        name.startswith("nvidia-") and name.endswith(("-cu11", "-cu12", "-cu13"))
        for name in tensorflow.extra_requires
        if name in details
    )
    return "[and-cuda]" if nvidia else ""


def _name_of(prefix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", Path(prefix).name).strip(".-") or "exported"


def _header(
    info: PythonEnvInfo, name: str, file_name: str, local: tuple[InstalledDist, ...]
) -> tuple[str, ...]:
    where = info.conda_env_name or info.prefix
    left_out = tuple(
        f"Left out, installed from a local folder: {dist.name} ({dist.local_source})."
        for dist in local
    )
    return (
        f"Exported by `envkit env export` from {where} (Python {info.version}, {info.kind}).",
        "Explicitly installed packages only, pinned to the installed versions; their",
        "dependencies are resolved again where the file is used.",
        *left_out,
        "Use it:",
        f"  conda env create -f {file_name}",
        f"  conda activate {name}",
        "  envkit doctor --smoke",
    )


# ---------------------------------------------------------------- reading the prefix


def site_packages(prefix: str, python_version: str) -> Path:
    windows = Path(prefix) / "Lib" / "site-packages"
    if windows.is_dir():
        return windows
    series = ".".join(python_version.split(".")[:2])
    return Path(prefix) / "lib" / f"python{series}" / "site-packages"


def read_installed(prefix: str, python_version: str) -> tuple[InstalledDist, ...]:
    """Every distribution in the prefix's site-packages, from its metadata files only."""
    folder = site_packages(prefix, python_version)
    result = []
    for dist in metadata.distributions(path=[str(folder)]):
        name = dist.metadata["Name"] if dist.metadata else None
        if not name:
            continue
        installer = (dist.read_text("INSTALLER") or "").strip() or None
        base, extras = _required(dist.requires)
        result.append(
            InstalledDist(
                normalize_name(name),
                dist.version,
                base,
                installer,
                extras,
                _local_source(dist.read_text("direct_url.json")),
            )
        )
    return tuple(sorted(result, key=lambda d: d.name))


def _required(lines: list[str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names required always, names required only by an extra)."""
    base: list[str] = []
    extras: list[str] = []
    for line in lines or ():
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        by_extra = requirement.marker is not None and "extra" in str(requirement.marker)
        (extras if by_extra else base).append(normalize_name(requirement.name))
    return tuple(base), tuple(extras)


def _local_source(direct_url: str | None) -> str | None:
    """The path of an editable or file:// install; None for an index or a VCS/URL install."""
    try:
        data = json.loads(direct_url) if direct_url else None
    except ValueError:
        return None
    url = data.get("url") if isinstance(data, dict) else None
    if isinstance(url, str) and url.startswith("file://"):
        return url.removeprefix("file://")
    return None


def read_conda_meta(prefix: str) -> CondaMeta | None:
    """What conda-meta/ says of a conda prefix; None for a prefix conda did not make."""
    folder = Path(prefix) / "conda-meta"
    if not folder.is_dir():
        return None
    history = folder / "history"
    text = _history_text(history) if history.is_file() else ""
    return CondaMeta(requested_names(text), _packages(folder))


def _history_text(history: Path) -> str:
    from envkit.readers import InputError, read_bytes

    try:  # bounded, regular files only (#12)
        return read_bytes(history).decode("utf-8", "replace")
    except InputError:
        return ""


def requested_names(history: str) -> tuple[str, ...]:
    """Names asked for by ``# update specs:`` lines and not removed by a later ``# remove``."""
    wanted: dict[str, None] = {}
    for line in history.splitlines():
        for prefix, adding in (("# update specs:", True), ("# remove specs:", False)):
            if line.startswith(prefix):
                for name in _spec_names(line[len(prefix) :]):
                    if adding:
                        wanted[name] = None
                    else:
                        wanted.pop(name, None)
    return tuple(wanted)


def _spec_names(text: str) -> list[str]:
    if len(text) > _MAX_SPEC_LINE:
        return []  # conda writes one flat list; anything else is not its history (#12)
    try:
        specs = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        return []
    names = []
    for spec in specs if isinstance(specs, list) else []:
        match = _SPEC_NAME.match(str(spec).strip())
        if match:
            names.append(match.group(1).lower())
    return names


def _packages(folder: Path) -> tuple[CondaPackage, ...]:
    packages = []
    for record_file in sorted(folder.glob("*.json")):
        try:  # bounded, depth- and number-limited; a bad record is passed over (#12)
            data = read_json(record_file)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            packages.append(
                CondaPackage(
                    data["name"].lower(),
                    str(data.get("version", "")),
                    channel_name(str(data.get("channel", ""))),
                )
            )
    return tuple(packages)


def channel_name(channel: str) -> str:
    """https://conda.anaconda.org/conda-forge/linux-64 -> conda-forge; pkgs/main -> defaults."""
    if any(marker in channel for marker in _DEFAULTS_URLS):
        return "defaults"
    trimmed = channel.rstrip("/")
    if "://" in trimmed:
        parts = trimmed.split("://", 1)[1].split("/")
        subdirs = {"noarch", "linux-64", "linux-aarch64", "osx-64", "osx-arm64", "win-64"}
        parts = [p for p in parts[1:] if p not in subdirs]
        return parts[-1] if parts else trimmed
    return trimmed or "defaults"


def export_env(
    info: PythonEnvInfo, *, name: str | None = None, file_name: str = DEFAULT_FILE_NAME
) -> EnvSpec:
    """export_spec with the prefix's files read: what `envkit env export` runs."""
    return export_spec(
        info,
        installed=read_installed(info.prefix, info.version),
        conda=read_conda_meta(info.prefix) if info.kind.startswith("conda") else None,
        name=name,
        file_name=file_name,
    )
