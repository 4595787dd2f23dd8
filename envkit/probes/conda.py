"""conda itself: where it is, its version, and its environments.

The version comes from conda's own package record in ``<root>/conda-meta`` (no program run); the
environments from ``conda env list --json`` with a timeout, else from the files conda reads
(``~/.conda/environments.txt`` and each root's ``envs/`` folder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from envkit.model import CondaEnv, CondaInfo, Unavailable
from envkit.probes._proc import ProcResult, run

ENV_LIST_TIMEOUT_S = 10.0
USUAL_ROOT_NAMES = (
    "miniconda3",
    "anaconda3",
    "miniforge3",
    "mambaforge",
    "miniconda",
    "anaconda",
    "micromamba",
)
_CONDA_META_RECORD = re.compile(r"^conda-(\d[^-]*)-[^-]+\.json$")

Runner = Callable[..., ProcResult]


def probe_conda(
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    runner: Runner = run,
) -> CondaInfo | Unavailable:
    environ = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    located = _locate(environ, home)
    if located is None:
        return Unavailable(
            "conda-not-found",
            "No conda was found on PATH, in CONDA_EXE or in the usual install folders.",
        )
    executable, found_via, root = located
    environments, source = _environments(executable, root, home, runner)
    return CondaInfo(
        executable=str(executable) if executable else None,
        found_via=found_via,
        version=_version_from_meta(root) if root else None,
        root_prefix=str(root) if root else None,
        active_env_name=environ.get("CONDA_DEFAULT_ENV") or None,
        environments=environments,
        environments_source=source,
    )


def _locate(environ: Mapping[str, str], home: Path) -> tuple[Path | None, str, Path | None] | None:
    conda_exe = environ.get("CONDA_EXE")
    if conda_exe and Path(conda_exe).is_file():
        return Path(conda_exe), "CONDA_EXE", _root_of(Path(conda_exe))
    on_path = shutil.which("conda", path=environ.get("PATH"))
    if on_path:
        return Path(on_path), "PATH", _root_of(Path(on_path))
    for root in _usual_roots(home):
        if (root / "conda-meta").is_dir():
            executable = next(
                (p for p in (root / "bin/conda", root / "condabin/conda") if p.is_file()), None
            )
            return executable, "install-root", root
    return None


def _usual_roots(home: Path) -> list[Path]:
    roots = [home / name for name in USUAL_ROOT_NAMES]
    roots += [Path("/opt") / name for name in ("conda", *USUAL_ROOT_NAMES)]
    return roots


def _root_of(executable: Path) -> Path | None:
    """<root>/bin/conda or <root>/condabin/conda -> <root>, when it holds conda-meta."""
    root = executable.resolve().parent.parent
    return root if (root / "conda-meta").is_dir() else None


def _version_from_meta(root: Path) -> str | None:
    try:
        names = os.listdir(root / "conda-meta")
    except OSError:
        return None
    for name in names:
        match = _CONDA_META_RECORD.match(name)
        if match:
            return match.group(1)
    return None


def _environments(
    executable: Path | None, root: Path | None, home: Path, runner: Runner
) -> tuple[tuple[CondaEnv, ...], str]:
    if executable is not None:
        listed = _env_list(executable, runner)
        if listed is not None:
            return _named(listed, root), "conda-env-list"
    return _named(_env_prefixes_from_files(root, home), root), "files"


def _env_list(executable: Path, runner: Runner) -> list[str] | None:
    result = runner([str(executable), "env", "list", "--json"], timeout_s=ENV_LIST_TIMEOUT_S)
    if not result.ok:
        return None
    try:
        envs = json.loads(result.stdout).get("envs")
    except (ValueError, AttributeError):
        return None
    if not isinstance(envs, list):
        return None
    return [str(prefix) for prefix in envs]


def _env_prefixes_from_files(root: Path | None, home: Path) -> list[str]:
    prefixes: list[str] = []
    if root is not None:
        prefixes.append(str(root))
    text = _read(home / ".conda/environments.txt")
    prefixes += [line.strip() for line in text.splitlines() if line.strip()]
    for base in filter(None, (root, home / ".conda")):
        prefixes += [str(p) for p in _subdirs(base / "envs") if (p / "conda-meta").is_dir()]
    return [p for p in dict.fromkeys(prefixes) if Path(p).is_dir()]


def _named(prefixes: list[str], root: Path | None) -> tuple[CondaEnv, ...]:
    root_text = str(root) if root else None
    return tuple(CondaEnv(name=_env_name(prefix, root_text), prefix=prefix) for prefix in prefixes)


def _env_name(prefix: str, root: str | None) -> str | None:
    if root is not None and os.path.normpath(prefix) == os.path.normpath(root):
        return "base"
    parent = os.path.basename(os.path.dirname(os.path.normpath(prefix)))
    return os.path.basename(os.path.normpath(prefix)) if parent == "envs" else None


def find_env_prefix(conda: CondaInfo, name: str) -> str | None:
    for env in conda.environments:
        if env.name == name:
            return env.prefix
    return None


def python_in_prefix(prefix: str) -> str:
    windows = Path(prefix) / "python.exe"
    return str(windows) if windows.is_file() else str(Path(prefix) / "bin" / "python")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError:
        return []
