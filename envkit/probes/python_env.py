"""The target Python environment and its TensorFlow, read out of process.

envkit runs ``_scripts/target_probe.py`` with the target interpreter and parses the one JSON
object it prints. Nothing here imports TensorFlow, and neither does the script.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from envkit.model import (
    Distribution,
    PythonEnvInfo,
    TensorflowBuild,
    TensorflowInfo,
    Unavailable,
    normalize_name,
)
from envkit.probes import _proc

TARGET_PROBE_SCRIPT = Path(__file__).with_name("_scripts") / "target_probe.py"
"""Run by path, beside this file (envkit installs unzipped)."""
OLDEST_PYTHON = (3, 6)
VERSION_CHECK_TIMEOUT_S = 10.0

ENVIRONMENT_ALLOWLIST = frozenset(
    {
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "LD_LIBRARY_PATH",
        "CUDA_HOME",
        "CUDA_PATH",
        "CUDNN_PATH",
        "TF_CPP_MIN_LOG_LEVEL",
        "TF_CPP_MAX_VLOG_LEVEL",
        "TF_USE_LEGACY_KERAS",
        "TF_FORCE_GPU_ALLOW_GROWTH",
        "TF_GPU_ALLOCATOR",
        "TF_ENABLE_ONEDNN_OPTS",
        "TF_XLA_FLAGS",
        "XLA_FLAGS",
        "KERAS_BACKEND",
        "KERAS_HOME",
        "CONDA_DEFAULT_ENV",
        "CONDA_PREFIX",
        "VIRTUAL_ENV",
        "PYTHONPATH",
    }
)
"""The only variables ever reported; the script applies the same list inside the target."""

_VERSION_RE = re.compile(r"^Python (\d+)\.(\d+)(?:\.(\d+))?", re.MULTILINE)

_T = TypeVar("_T")

ProbeResult = tuple[PythonEnvInfo | Unavailable, TensorflowInfo | Unavailable]


class _BadOutput(ValueError):
    """The script's JSON did not have the shape this module expects."""


# ---------------------------------------------------------------- finding the interpreter


def resolve_python(path: str) -> str | Unavailable:
    """An absolute path to run for ``path``: a file, a command on PATH, or an env's prefix."""
    expanded = os.path.expanduser(path)
    if os.sep not in expanded:
        found = shutil.which(expanded)
        if found is None:
            return Unavailable(
                "python-not-found", f"{path} is not a file and not a command on PATH."
            )
        expanded = found
    if os.path.isdir(expanded):
        return _python_in_prefix(path, expanded)
    if os.path.islink(expanded) and not os.path.exists(expanded):
        target = os.readlink(expanded)
        return Unavailable(
            "python-not-found",
            f"{path} is a link to {target}, which no longer exists "
            "(was the Python it was made from removed or upgraded?).",
        )
    if not os.path.exists(expanded):
        return Unavailable("python-not-found", f"{path} does not exist.")
    if not os.access(expanded, os.X_OK):
        return Unavailable("python-not-executable", f"{path} is not executable.")
    # abspath, not realpath: a venv's bin/python is a link to the base interpreter, and
    # following it would probe the base environment instead of the venv.
    return os.path.abspath(expanded)


def _python_in_prefix(path: str, prefix: str) -> str | Unavailable:
    for relative in ("bin/python", "bin/python3", "python.exe"):
        candidate = os.path.join(prefix, relative)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return Unavailable(
        "python-not-executable", f"{path} is a folder with no bin/python in it, not an interpreter."
    )


def check_interpreter(path: str, *, timeout_s: float = VERSION_CHECK_TIMEOUT_S) -> str | None:
    """One sentence saying why ``path`` cannot be probed, or None when it is a usable Python."""
    resolved = resolve_python(path)
    if isinstance(resolved, Unavailable):
        return resolved.reason
    version = interpreter_version(resolved, timeout_s=timeout_s)
    if isinstance(version, Unavailable):
        return version.reason
    return _too_old(resolved, version).reason if version < OLDEST_PYTHON else None


def interpreter_version(python: str, *, timeout_s: float) -> tuple[int, ...] | Unavailable:
    """The version ``python -V`` reports; works on every Python, 2.x included."""
    result = _proc.run([python, "-V"], timeout_s=timeout_s, stdin_text="")
    if result.timed_out:
        return Unavailable(
            "python-probe-timeout", f"{python} -V did not answer in {timeout_s:g} s."
        )
    if result.start_error is not None:
        return Unavailable("python-not-executable", f"{python} cannot run: {result.start_error}.")
    # Python 2 prints its version on stderr, Python 3 on stdout.
    match = _VERSION_RE.search(result.stdout + "\n" + result.stderr)
    if match is None and result.returncode != 0:
        first = _first_line(result.stderr + "\n" + result.stdout) or "no output"
        return Unavailable(
            "python-not-an-interpreter",
            f"{python} -V failed with status {result.returncode}: {first}",
        )
    if match is None:
        shown = _last_line(result.stdout + result.stderr) or "nothing"
        return Unavailable(
            "python-not-an-interpreter",
            f"{python} does not look like a Python interpreter (`-V` printed {shown}).",
        )
    return tuple(int(part) for part in match.groups() if part is not None)


def _too_old(python: str, version: tuple[int, ...]) -> Unavailable:
    shown = ".".join(str(part) for part in version)
    oldest = ".".join(str(part) for part in OLDEST_PYTHON)
    return Unavailable(
        "python-too-old",
        f"{python} is Python {shown}; envkit can inspect Python {oldest} or newer.",
    )


# ---------------------------------------------------------------- running the script


def probe(
    python: str, *, timeout_s: float = 20.0, env: Mapping[str, str] | None = None
) -> ProbeResult:
    """Describe ``python``'s environment and the TensorFlow it would import.

    ``env`` replaces the child's environment (tests use it); by default the child inherits
    envkit's, as the user's own ``python`` would.
    """
    resolved = resolve_python(python)
    if isinstance(resolved, Unavailable):
        return resolved, resolved
    # No -I, -E or -S: the user's own `python` sees PYTHONPATH, user site-packages and
    # .pth files, so the probe must see them too. -B keeps the probe from writing .pyc
    # files into the target. The script goes by path, not -c or stdin, so sys.path[0] is
    # envkit's script folder (which the script drops), not the current directory, where
    # a stray json.py would shadow the standard library.
    result = _proc.run(
        [resolved, "-B", str(TARGET_PROBE_SCRIPT)], timeout_s=timeout_s, env=env, stdin_text=""
    )
    failure = _run_failure(resolved, result, timeout_s)
    if failure is not None:
        return failure, failure
    try:
        payload = json.loads(result.stdout)
        return _python_info(payload), _tensorflow_info(payload)
    except (ValueError, _BadOutput) as error:
        failure = _explain_bad_output(resolved, result, error)
        return failure, failure


def _run_failure(python: str, result: _proc.ProcResult, timeout_s: float) -> Unavailable | None:
    if result.timed_out:
        return Unavailable(
            "python-probe-timeout", f"{python} did not finish the probe in {timeout_s:g} s."
        )
    if result.start_error is not None:
        return Unavailable("python-not-executable", f"{python} cannot run: {result.start_error}.")
    if result.returncode == 0:
        return None
    version = interpreter_version(python, timeout_s=VERSION_CHECK_TIMEOUT_S)
    if isinstance(version, Unavailable):
        return version
    if version < OLDEST_PYTHON:
        return _too_old(python, version)
    last = _last_line(result.stderr)
    how = f"exited with status {result.returncode}"
    if result.returncode is not None and result.returncode < 0:
        how = f"was killed by signal {-result.returncode}"
    return Unavailable("python-probe-crashed", f"{python} {how}: {last or 'no error output'}")


def _explain_bad_output(python: str, result: _proc.ProcResult, error: Exception) -> Unavailable:
    version = interpreter_version(python, timeout_s=VERSION_CHECK_TIMEOUT_S)
    if isinstance(version, Unavailable):
        return version  # /bin/true and friends: exit 0, no JSON, no version
    if version < OLDEST_PYTHON:
        return _too_old(python, version)
    shown = _last_line(result.stdout)[:120] or "nothing"
    return Unavailable(
        "python-probe-bad-output", f"{python} printed {shown!r}, not the probe's JSON ({error})."
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- parsing the JSON


def _python_info(payload: Any) -> PythonEnvInfo:
    facts = _field(payload, "python", dict)
    return PythonEnvInfo(
        executable=_field(facts, "executable", str),
        version=_field(facts, "version", str),
        implementation=_field(facts, "implementation", str),
        prefix=_field(facts, "prefix", str),
        base_prefix=_field(facts, "base_prefix", str),
        kind=_field(facts, "kind", str),
        conda_env_name=_optional(facts, "conda_env_name", str),
        platform_tag=_field(facts, "platform_tag", str),
        pip_on_path=_optional(facts, "pip_on_path", str),
        pip_on_path_python=_optional(facts, "pip_on_path_python", str),
        distributions=_distributions(_field(payload, "distributions", list)),
        environment=_environment(_field(payload, "environment", list)),
        pointer_bits=_optional(facts, "pointer_bits", int),
        machine=_optional(facts, "machine", str),
    )


def _distributions(rows: list[Any]) -> tuple[Distribution, ...]:
    dists = (Distribution(_text(row, 0), _text(row, 1)) for row in rows)
    return tuple(sorted(dists, key=lambda d: (normalize_name(d.name), d.version)))


def _environment(rows: list[Any]) -> tuple[tuple[str, str], ...]:
    pairs = ((_text(row, 0), _text(row, 1)) for row in rows)
    return tuple(sorted(pair for pair in pairs if pair[0] in ENVIRONMENT_ALLOWLIST))


def _tensorflow_info(payload: Any) -> TensorflowInfo | Unavailable:
    facts = _optional(payload, "tensorflow", dict)
    python = _field(_field(payload, "python", dict), "executable", str)
    if facts is None:
        return Unavailable(
            "tensorflow-not-installed",
            f"No TensorFlow distribution is installed for {python}, "
            "and `import tensorflow` would find nothing.",
        )
    version = _optional(facts, "version", str)
    package_path = _optional(facts, "package_path", str)
    if version is None:
        return Unavailable(
            "tensorflow-metadata-missing",
            f"tensorflow is importable from {package_path} for {python}, "
            "but no installed distribution (*.dist-info) provides it.",
        )
    rows = _field(facts, "distributions", list)
    dists = (Distribution(_text(row, 0), _text(row, 1)) for row in rows)
    return TensorflowInfo(
        distributions=tuple(sorted(dists, key=lambda d: normalize_name(d.name))),
        version=version,
        package_path=package_path,
        requirements=tuple(_text(item) for item in _field(facts, "requirements", list)),
        build=_build(_field(facts, "build", dict), package_path),
    )


def _build(facts: dict[str, Any], package_path: str | None) -> TensorflowBuild | Unavailable:
    error = _optional(facts, "error", str)
    source_file = _optional(facts, "source_file", str)
    if error == "missing":
        where = package_path or "the tensorflow package"
        return Unavailable(
            "tensorflow-build-info-missing",
            f"No python/platform/build_info.py under {where}; the install may be incomplete.",
        )
    if error is not None or source_file is None:
        detail = _optional(facts, "detail", str) or "unknown problem"
        return Unavailable("tensorflow-build-info-unreadable", f"{source_file}: {detail}")
    raw = tuple((_text(row, 0), _text(row, 1)) for row in _field(facts, "entries", list))
    return build_from_entries(source_file, raw)


def build_from_entries(source_file: str, raw: tuple[tuple[str, str], ...]) -> TensorflowBuild:
    """Interpret build_info.py's keys; TF 1.12-2.2 name two of them *_version_number."""
    values = {key: _literal(text) for key, text in raw}
    capabilities = values.get("cuda_compute_capabilities")
    return TensorflowBuild(
        source_file=source_file,
        is_cuda_build=_bool_or_none(values.get("is_cuda_build")),
        is_rocm_build=_bool_or_none(values.get("is_rocm_build")),
        cuda_version=_str_or_none(values.get("cuda_version", values.get("cuda_version_number"))),
        cudnn_version=_str_or_none(values.get("cudnn_version", values.get("cudnn_version_number"))),
        cuda_compute_capabilities=(
            tuple(str(item) for item in capabilities)
            if isinstance(capabilities, list | tuple)
            else ()
        ),
        raw=raw,
    )


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _bool_or_none(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _field(container: Any, key: str, kind: type[_T]) -> _T:
    value = container.get(key) if isinstance(container, dict) else None
    if not isinstance(value, kind):
        raise _BadOutput(f"{key!r} is missing or not a {kind.__name__}")
    return value


def _optional(container: Any, key: str, kind: type[_T]) -> _T | None:
    value = container.get(key) if isinstance(container, dict) else None
    if value is None:
        return None
    if not isinstance(value, kind):
        raise _BadOutput(f"{key!r} is not a {kind.__name__}")
    return value


def _text(row: Any, index: int | None = None) -> str:
    if index is None:
        value = row
    else:
        value = row[index] if isinstance(row, list) and len(row) > index else None
    if not isinstance(value, str):
        raise _BadOutput(f"expected text, got {value!r}")
    return value


# ---------------------------------------------------------------- versions read from files

_TENSORFLOW_DIST_NAMES = frozenset(
    {"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos"}
    | {"tensorflow-aarch64", "tensorflow-rocm", "intel-tensorflow", "tf-nightly"}
)
_PY_SERIES_RE = re.compile(r"^python(\d+\.\d+)")


def prefix_of(python: str) -> str:
    """The environment folder of an interpreter path: <prefix>/bin/python or <prefix>/python.exe."""
    folder = os.path.dirname(os.path.abspath(python))
    return os.path.dirname(folder) if os.path.basename(folder) in ("bin", "Scripts") else folder


def site_packages_dirs(python: str) -> list[str]:
    """The folders the interpreter's distributions live in, found by path, nothing run."""
    prefix = prefix_of(python)
    series = _series_of(python) or "*"
    folders = [
        os.path.join(prefix, "lib", f"python{series}", "site-packages"),
        os.path.join(prefix, "lib", f"python{series}", "dist-packages"),
        os.path.join(prefix, "Lib", "site-packages"),
    ]
    if prefix == "/usr":  # Debian's pip installs into /usr/local
        folders.append(os.path.join("/usr/local/lib", f"python{series}", "dist-packages"))
    if series != "*" and not os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        user = os.path.join("~", ".local", "lib", f"python{series}", "site-packages")
        folders.append(os.path.expanduser(user))
    return [found for pattern in folders for found in sorted(glob.glob(pattern))]


def _series_of(python: str) -> str | None:
    for candidate in (python, os.path.realpath(python)):
        match = _PY_SERIES_RE.match(os.path.basename(candidate))
        if match:
            return match.group(1)
    return None


def tensorflow_version_from_files(python: str) -> str | None:
    """The TensorFlow version installed for ``python``, from *.dist-info names; None if none."""
    for folder in site_packages_dirs(python):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            dist, _, rest = name.rpartition(".")[0].partition("-")
            if normalize_name(dist) in _TENSORFLOW_DIST_NAMES and rest:
                return rest.split("-", 1)[0]
    return None


TOOL_ENV_MARKERS = {"pipx_metadata.json": "pipx", "uv-receipt.toml": "uv tool"}
"""Files pipx and ``uv tool`` write into the environments they make for one tool."""


def tool_environment_kind(prefix: str) -> str | None:
    """pipx or 'uv tool' when ``prefix`` is an environment one of them made, else None."""
    for marker, tool in TOOL_ENV_MARKERS.items():
        if os.path.isfile(os.path.join(prefix, marker)):
            return tool
    return None
