"""Jupyter kernels, read as files: Jupyter itself is never imported or run.

A kernel is a folder ``<data dir>/kernels/<name>/`` holding ``kernel.json``; Jupyter names it by
the folder. The data dirs are searched in Jupyter's order (``jupyter --paths``): JUPYTER_PATH,
the user's data dir (JUPYTER_DATA_DIR or the platform default), each environment's
``share/jupyter``, then the system dirs. For one name the first folder found wins and hides the
others in the dirs every Jupyter searches. Environment dirs are seen only by the Jupyter that
runs from that environment, so two of them never hide each other.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace

from envkit.model import JupyterKernel
from envkit.probes.python_env import tensorflow_version_from_files
from envkit.records import record

SYSTEM_DATA_DIRS = ("/usr/local/share/jupyter", "/usr/share/jupyter")
MAX_SPEC_BYTES = 1 << 20
_PYTHON_NAMES = ("python", "python3", "python2")
_LAUNCHER_MODULES = ("ipykernel_launcher", "ipykernel")
_OPTIONS_WITH_VALUE = ("-X", "-W")


@record
class DataDir:
    path: str
    source: str
    """JUPYTER_PATH, user, env or system."""


def data_dirs(
    environ: Mapping[str, str], env_prefixes: Iterable[str], home: str | None = None
) -> list[DataDir]:
    """Jupyter's data dirs in its order of precedence, each once."""
    home = home or os.path.expanduser("~")
    dirs = [DataDir(p, "JUPYTER_PATH") for p in environ.get("JUPYTER_PATH", "").split(os.pathsep)]
    dirs.append(DataDir(environ.get("JUPYTER_DATA_DIR") or _user_data_dir(environ, home), "user"))
    dirs += [DataDir(os.path.join(p, "share", "jupyter"), "env") for p in env_prefixes]
    dirs += [DataDir(p, "system") for p in SYSTEM_DATA_DIRS]
    seen: set[str] = set()
    unique = []
    for entry in dirs:
        key = os.path.normpath(entry.path) if entry.path else ""
        if key and key not in seen:
            seen.add(key)
            unique.append(entry)
    return unique


def _user_data_dir(environ: Mapping[str, str], home: str) -> str:
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Jupyter")
    if sys.platform == "win32":
        return os.path.join(environ.get("APPDATA", home), "jupyter")
    xdg = environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return os.path.join(xdg, "jupyter")


def find_kernels(
    environ: Mapping[str, str] | None = None,
    env_prefixes: Iterable[str] = (),
    conda_envs: Mapping[str, str] | None = None,
    home: str | None = None,
) -> tuple[JupyterKernel, ...]:
    """Every kernelspec in the data dirs, in Jupyter's order; ``conda_envs`` maps conda env
    names to prefixes, for ``conda run -n NAME`` kernels."""
    environ = os.environ if environ is None else environ
    kernels: list[JupyterKernel] = []
    for entry in data_dirs(environ, env_prefixes, home):
        kernels += _kernels_in(entry, environ, conda_envs or {})
    return _mark_shadowed(kernels)


def _kernels_in(
    entry: DataDir, environ: Mapping[str, str], conda_envs: Mapping[str, str]
) -> list[JupyterKernel]:
    folder = os.path.join(entry.path, "kernels")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        spec_file = os.path.join(folder, name, "kernel.json")
        if os.path.isfile(spec_file):
            found.append(read_kernel(name, spec_file, entry, environ, conda_envs))
    return found


def read_kernel(
    name: str,
    spec_file: str,
    entry: DataDir,
    environ: Mapping[str, str],
    conda_envs: Mapping[str, str],
) -> JupyterKernel:
    """One kernel.json; what cannot be read becomes the kernel's ``problem``, never an error."""
    spec, problem = _load_spec(spec_file)
    argv = _argv(spec)
    if problem is None and not argv:
        problem = "its kernel.json has no argv (the command that starts the kernel)"
    language = _text(spec, "language")
    display = _text(spec, "display_name")
    python = None
    if argv and (language or "python").lower().startswith("python"):
        env_prefix = os.path.dirname(os.path.dirname(entry.path)) if entry.source == "env" else None
        python = interpreter_from_argv(argv, environ, conda_envs, env_prefix)
        if python is None and problem is None:
            problem = f"envkit cannot tell which Python its argv runs: {' '.join(argv)}"
    exists = python is not None and os.path.isfile(python) and os.access(python, os.X_OK)
    return JupyterKernel(
        name=name,
        display_name=display,
        spec_file=spec_file,
        source=entry.source,
        language=language,
        argv=argv,
        python=python,
        python_exists=exists,
        tensorflow_version=tensorflow_version_from_files(python) if python and exists else None,
        problem=problem,
        shadowed_by=None,
    )


def _load_spec(spec_file: str) -> tuple[dict[str, object], str | None]:
    try:
        with open(spec_file, "rb") as handle:
            raw = handle.read(MAX_SPEC_BYTES)
    except OSError as error:
        return {}, f"its kernel.json cannot be read ({error.strerror})"
    try:
        spec = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as error:
        return {}, f"its kernel.json is not valid JSON ({error})"
    if not isinstance(spec, dict):
        return {}, "its kernel.json is not a JSON object"
    return spec, None


def _text(spec: Mapping[str, object], key: str) -> str | None:
    value = spec.get(key)
    return value if isinstance(value, str) else None


def _argv(spec: Mapping[str, object]) -> tuple[str, ...]:
    argv = spec.get("argv")
    if not isinstance(argv, list) or not all(isinstance(item, str) for item in argv):
        return ()
    return tuple(argv)


def interpreter_from_argv(
    argv: tuple[str, ...],
    environ: Mapping[str, str],
    conda_envs: Mapping[str, str],
    env_prefix: str | None = None,
) -> str | None:
    """The Python a kernel's argv starts.

    The general form is ``... PYTHON -m ipykernel_launcher ...``: the word before
    ``-m ipykernel*`` is the interpreter, whatever wraps it (``env VAR=1``, nb_conda_kernels'
    runner, ``conda run -n NAME``). A bare ``python`` is resolved as Jupyter does: the
    environment's own when the spec lives in one (``conda run`` names it), else PATH.
    """
    word = _word_before_launcher(argv)
    if word is None:
        return None
    if os.sep in word or (os.altsep and os.altsep in word):
        return os.path.abspath(os.path.expanduser(word))
    prefix = _conda_run_prefix(argv, conda_envs) or env_prefix
    if prefix is not None:
        for folder in ("bin", "Scripts", ""):
            candidate = os.path.join(prefix, folder, word)
            if os.path.isfile(candidate):
                return candidate
        return os.path.join(prefix, "bin", word)
    found = shutil.which(word, path=environ.get("PATH"))
    return os.path.abspath(found) if found else None


def _word_before_launcher(argv: tuple[str, ...]) -> str | None:
    for index in range(1, len(argv) - 1):
        if argv[index] == "-m" and argv[index + 1].split(".")[0] in _LAUNCHER_MODULES:
            return _interpreter_before(argv, index)
    first = os.path.basename(argv[0]) if argv else ""
    if first.startswith(_PYTHON_NAMES) and not first.startswith("pythonw"):
        return argv[0]
    return None


def _interpreter_before(argv: tuple[str, ...], index: int) -> str | None:
    """The word before the interpreter's own options (``-Xfrozen_modules=off``, ``-X dev``)."""
    position = index - 1
    while position >= 0:
        word = argv[position]
        if word.startswith("-"):
            position -= 1
        elif position >= 1 and argv[position - 1] in _OPTIONS_WITH_VALUE:
            position -= 2
        else:
            return word
    return None


def _conda_run_prefix(argv: tuple[str, ...], conda_envs: Mapping[str, str]) -> str | None:
    words = list(argv)
    for index, word in enumerate(words[:-1]):
        if word != "run" or index == 0:
            continue
        if not os.path.basename(words[index - 1]).startswith(("conda", "mamba", "micromamba")):
            continue
        rest = words[index + 1 :]
        for flag_index, flag in enumerate(rest[:-1]):
            value = rest[flag_index + 1]
            if flag in ("-p", "--prefix"):
                return value
            if flag in ("-n", "--name"):
                return conda_envs.get(value)
        for flag in rest:
            if flag.startswith("--prefix="):
                return flag.split("=", 1)[1]
            if flag.startswith("--name="):
                return conda_envs.get(flag.split("=", 1)[1])
    return None


def _mark_shadowed(kernels: list[JupyterKernel]) -> tuple[JupyterKernel, ...]:
    """Mark each kernel that a same-named one earlier in Jupyter's order hides.

    Only the dirs every Jupyter searches count (JUPYTER_PATH, user, system): an environment's
    own dir is searched only by the Jupyter of that environment, and before or after the user
    dir depending on JUPYTER_PREFER_ENV_PATH and jupyter_core's version.
    """
    winners: dict[str, JupyterKernel] = {}
    marked = []
    for kernel in kernels:
        if kernel.source == "env":
            marked.append(kernel)
            continue
        winner = winners.setdefault(kernel.name, kernel)
        marked.append(kernel if winner is kernel else replace(kernel, shadowed_by=winner.spec_file))
    return tuple(marked)


def find_kernel(kernels: Iterable[JupyterKernel], name: str) -> JupyterKernel | None:
    """The kernel Jupyter would start for ``name``: the first one not hidden by another
    (environments' dirs in the order given to :func:`find_kernels`, the active one first)."""
    return next((k for k in kernels if k.name == name and k.shadowed_by is None), None)
