"""Describe the interpreter that runs this file, as one JSON object on stdout.

envkit runs this file with the TARGET interpreter, which may be any Python from 3.6 to 3.13,
so it uses the standard library only and no syntax newer than 3.6. It never imports
tensorflow: TensorFlow is located with importlib.util.find_spec and its build facts are read
from build_info.py with ast. Environment variables are reported from an allowlist only.
"""

import importlib.util
import json
import os
import shutil
import struct
import sys
import sysconfig

# ast and platform are imported where they are needed: the probe runs on every doctor and
# report, and most environments have no TensorFlow whose build_info.py needs parsing.

SCHEMA = 1

ENV_ALLOWLIST = (
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
)

# Distributions that install the importable `tensorflow` package (PEP 503 names).
TENSORFLOW_DISTRIBUTIONS = frozenset(
    (
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-gpu",
        "tensorflow-intel",
        "tensorflow-macos",
        "tensorflow-aarch64",
        "tensorflow-cpu-aws",
        "tensorflow-rocm",
        "tensorflow-directml",
        "intel-tensorflow",
        "intel-tensorflow-avx512",
        "tf-nightly",
        "tf-nightly-cpu",
        "tf-nightly-gpu",
        "tf-nightly-intel",
        "tf-nightly-macos",
        "tf-nightly-rocm",
    )
)

# TF 1.15 to 2.1 keep the real package in tensorflow_core; `tensorflow` is a thin shim.
BUILD_INFO_PACKAGES = ("tensorflow", "tensorflow_core")
BUILD_INFO_RELATIVE = os.path.join("python", "platform", "build_info.py")


def normalize(name):
    out = []
    previous_sep = False
    for char in name.lower():
        if char in "-_.":
            if not previous_sep:
                out.append("-")
            previous_sep = True
        else:
            out.append(char)
            previous_sep = False
    return "".join(out)


# ---------------------------------------------------------------- interpreter


def python_facts():
    prefix = sys.prefix
    kind = environment_kind(prefix)
    implementation = sys.implementation.name
    pip_path = shutil.which("pip")
    return {
        "version": sys.version.split()[0],
        "implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(
            implementation, implementation
        ),
        "executable": sys.executable,
        "prefix": prefix,
        "base_prefix": getattr(sys, "real_prefix", None) or sys.base_prefix,
        "kind": kind,
        "conda_env_name": conda_env_name(prefix, kind),
        "platform_tag": sysconfig.get_platform(),
        "pip_on_path": pip_path,
        "pip_on_path_python": script_interpreter(pip_path) if pip_path else None,
        "pointer_bits": struct.calcsize("P") * 8,
        "machine": machine() or None,
    }


def machine():
    if hasattr(os, "uname"):
        return os.uname().machine  # what platform.machine() returns on POSIX
    import platform

    return platform.machine()


def environment_kind(prefix):
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        is_base = os.path.isdir(os.path.join(prefix, "condabin")) or os.path.isdir(
            os.path.join(prefix, "envs")
        )
        return "conda-base" if is_base else "conda-env"
    if hasattr(sys, "real_prefix"):
        return "virtualenv"  # virtualenv < 20 sets sys.real_prefix instead of base_prefix
    if sys.prefix != sys.base_prefix:
        return "virtualenv" if created_by_virtualenv(prefix) else "venv"
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions_dir = os.path.join(os.path.realpath(pyenv_root), "versions") + os.sep
    if os.path.realpath(prefix).startswith(versions_dir):
        return "pyenv"
    return "system"


def created_by_virtualenv(prefix):
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as handle:
            for line in handle:
                if line.split("=", 1)[0].strip().lower() == "virtualenv":
                    return True
    except (OSError, UnicodeDecodeError):
        pass
    return False


def conda_env_name(prefix, kind):
    if kind == "conda-base":
        return "base"
    if kind != "conda-env":
        return None
    active_prefix = os.environ.get("CONDA_PREFIX")
    active_name = os.environ.get("CONDA_DEFAULT_ENV")
    if active_prefix and active_name and same_path(active_prefix, prefix):
        return active_name
    parent = os.path.dirname(os.path.normpath(prefix))
    if os.path.basename(parent) == "envs":
        return os.path.basename(os.path.normpath(prefix))
    return None


def same_path(left, right):
    return os.path.realpath(left) == os.path.realpath(right)


def script_interpreter(path):
    """The interpreter a console script's shebang names, or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return None
    lines = head.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0].startswith("#!"):
        return None
    command = lines[0][2:].strip()
    # pip writes this two-line form when the interpreter path is too long or has spaces:
    #   #!/bin/sh
    #   '''exec' "/very/long/path/bin/python" "$0" "$@"
    if command in ("/bin/sh", "/bin/bash") and len(lines) > 1 and lines[1].startswith("'''exec'"):
        rest = lines[1][len("'''exec'") :].strip()
        if rest.startswith('"'):
            return rest[1:].split('"', 1)[0]
        return rest.split()[0] if rest else None
    words = command.split()
    if words and os.path.basename(words[0]) == "env":
        words = words[1:]
    if not words or not looks_like_python(words[0]):
        return None  # a wrapper such as a pyenv shim (#!/usr/bin/env bash), not an interpreter
    return words[0]


def looks_like_python(command):
    return os.path.basename(command).startswith(("python", "pypy"))


def environment():
    return [[name, os.environ[name]] for name in ENV_ALLOWLIST if name in os.environ]


# ---------------------------------------------------------------- distributions


class Dist(object):
    """One installed distribution: name, version, and where its metadata lives."""

    def __init__(self, name, version, location, reader):
        self.name = name
        self.version = version
        self.location = location
        self.reader = reader  # reader(filename) -> text or None

    def requirements(self):
        metadata = self.reader("METADATA") or self.reader("PKG-INFO")
        requirements = header_values(metadata or "", "Requires-Dist")
        if requirements:
            return requirements
        return requires_txt_lines(self.reader("requires.txt") or "")


def installed_distributions():
    """Every distribution on sys.path, first one wins per name, as the import system does."""
    found = scan_sys_path()
    seen = set()
    unique = []
    for dist in found:
        key = normalize(dist.name)
        if key not in seen:
            seen.add(key)
            unique.append(dist)
    return unique


def scan_sys_path():
    """The Name/Version headers of every *.dist-info and *.egg-info on sys.path, read directly.

    This is the search importlib.metadata's path finder makes, without importing it: that
    import (the email package) is a third of the probe's time on 3.8 and later, and 3.6/3.7
    do not have it.
    """
    found = []
    for entry in sys.path:
        directory = entry or os.getcwd()
        egg = read_egg(directory)
        if egg is not None:
            found.append(egg)
            continue
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue  # zip files, missing entries
        for folder in names:
            dist = read_metadata_folder(directory, folder)
            if dist is not None:
                found.append(dist)
    return found


def read_egg(entry):
    """A setuptools egg folder put on sys.path whole (``foo-1.0-py3.11.egg/EGG-INFO``)."""
    if not entry.lower().endswith(".egg"):
        return None
    reader = folder_reader(os.path.join(entry, "EGG-INFO"))
    return dist_from_text(reader("PKG-INFO"), os.path.dirname(entry), reader)


def read_metadata_folder(directory, folder):
    path = os.path.join(directory, folder)
    suffix = folder.lower()
    if suffix.endswith(".dist-info"):
        reader = folder_reader(path)
        text = reader("METADATA")
    elif suffix.endswith(".egg-info"):
        if os.path.isdir(path):
            reader = folder_reader(path)
            text = reader("PKG-INFO")
        else:  # distutils writes a single PKG-INFO file named *.egg-info
            text = read_text(path)
            reader = single_file_reader(text)
    else:
        return None
    return dist_from_text(text, directory, reader)


def dist_from_text(text, location, reader):
    if not text:
        return None
    headers = header_block(text)
    name = first_header(headers, "Name")
    if not name:
        return None  # metadata folder without a usable METADATA file
    return Dist(name, first_header(headers, "Version") or "", location, reader)


def folder_reader(path):
    return lambda filename: read_text(os.path.join(path, filename))


def single_file_reader(text):
    return lambda filename: text if filename == "PKG-INFO" else None


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def header_block(text):
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    end = text.find("\n\n")
    return text if end < 0 else text[:end]


def first_header(headers, field):
    values = header_values(headers, field)
    return values[0] if values else None


def header_values(text, field):
    prefix = field.lower() + ":"
    values = []
    for line in header_block(text).splitlines():
        if line.lower().startswith(prefix):
            values.append(line[len(prefix) :].strip())
    return values


def requires_txt_lines(text):
    """Turn setuptools' requires.txt sections into Requires-Dist style lines."""
    lines = []
    marker = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            marker = section_marker(line[1:-1])
            continue
        lines.append(line + "; " + marker if marker else line)
    return lines


def section_marker(section):
    extra, _, condition = section.partition(":")
    parts = []
    if condition:
        parts.append("(" + condition + ")" if extra else condition)
    if extra:
        parts.append('extra == "' + extra + '"')
    return " and ".join(parts) or None


# ---------------------------------------------------------------- tensorflow


def tensorflow_facts(dists):
    tf_dists = [d for d in dists if normalize(d.name) in TENSORFLOW_DISTRIBUTIONS]
    package_dir = package_directory("tensorflow")
    if not tf_dists and package_dir is None:
        return None
    primary = primary_distribution(tf_dists, package_dir)
    return {
        "distributions": [[d.name, d.version, d.location] for d in tf_dists],
        "primary": primary.name if primary else None,
        "version": primary.version if primary else None,
        "package_path": package_dir,
        "requirements": primary.requirements() if primary else [],
        "build": build_facts(package_dir),
    }


def package_directory(name):
    """Where `import name` would load the package from; imports nothing."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return locations[0]
    if spec.origin and spec.origin not in ("namespace", "built-in", "frozen"):
        return os.path.dirname(spec.origin)
    return None


def primary_distribution(tf_dists, package_dir):
    """The distribution whose files are the importable `tensorflow` package."""
    if not tf_dists:
        return None
    if package_dir is None:
        return tf_dists[0]
    site_dir = os.path.dirname(os.path.normpath(package_dir))
    beside = [d for d in tf_dists if same_path(d.location, site_dir)]
    if len(beside) == 1:
        return beside[0]
    if len(beside) > 1:
        # Several share one folder (say tensorflow and tensorflow-gpu, the last install
        # overwrote the other's files): the owner is the one whose RECORD hash matches.
        owner = record_owner(beside, site_dir)
        return owner or beside[0]
    return tf_dists[0]


def record_owner(candidates, site_dir):
    for package in BUILD_INFO_PACKAGES:
        relative = package + "/python/platform/build_info.py"
        digest = file_digest(os.path.join(site_dir, relative))
        if digest is None:
            continue
        owners = [d for d in candidates if record_hash(d, relative) == digest]
        if len(owners) == 1:
            return owners[0]
    return None


def file_digest(path):
    import base64  # only needed when several TensorFlow distributions share a folder
    import hashlib

    try:
        with open(path, "rb") as handle:
            digest = hashlib.sha256(handle.read()).digest()
    except OSError:
        return None
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def record_hash(dist, relative):
    record = dist.reader("RECORD") or ""
    start = record.find("\n" + relative + ",")
    if start < 0:
        return None
    line = record[start + 1 : record.find("\n", start + 1)]
    parts = line.split(",")
    return parts[1] if len(parts) > 1 else None


def build_facts(package_dir):
    import ast

    path = build_info_path(package_dir)
    if path is None:
        return {"error": "missing", "source_file": None, "detail": "no build_info.py found"}
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read(), path)
    except (OSError, SyntaxError, ValueError) as error:
        return {"error": "unreadable", "source_file": path, "detail": describe(error)}
    entries = build_info_entries(tree)
    if not entries:
        detail = "no literal assignments found"
        return {"error": "unreadable", "source_file": path, "detail": detail}
    return {"error": None, "source_file": path, "entries": entries}


def build_info_path(package_dir):
    candidates = []
    if package_dir is not None:
        candidates.append(os.path.join(package_dir, BUILD_INFO_RELATIVE))
        parent = os.path.dirname(os.path.normpath(package_dir))
        candidates.append(os.path.join(parent, "tensorflow_core", BUILD_INFO_RELATIVE))
    core_dir = package_directory("tensorflow_core")
    if core_dir is not None:
        candidates.append(os.path.join(core_dir, BUILD_INFO_RELATIVE))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    return None


def build_info_entries(tree):
    """[key, literal text] for every key, whatever shape the file has.

    Shapes seen in real wheels: module-level assignments (1.12 to 2.2: `is_cuda_build = True`,
    `cuda_version_number = '10.1'`), a dict literal (2.3), and
    `build_info = collections.OrderedDict([...])` (2.4 and later).
    """
    import ast

    entries = []
    for node in tree.body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name):
            continue
        if target.id == "build_info":
            entries.extend(mapping_entries(node.value))
            continue
        value = literal(node.value)
        if value is not NOT_LITERAL:
            entries.append([target.id, repr(value)])
    return entries


NOT_LITERAL = object()


def literal(node):
    import ast

    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def mapping_entries(node):
    import ast

    value = literal(node)
    if isinstance(value, dict):
        return [[str(key), repr(item)] for key, item in value.items()]
    if isinstance(node, ast.Call):  # OrderedDict([...]) or dict(...)
        entries = []
        for argument in node.args:
            pairs = literal(argument)
            if isinstance(pairs, (list, tuple)):
                entries.extend(
                    [str(pair[0]), repr(pair[1])]
                    for pair in pairs
                    if isinstance(pair, (list, tuple)) and len(pair) == 2
                )
            elif isinstance(pairs, dict):
                entries.extend([str(key), repr(item)] for key, item in pairs.items())
        for keyword in node.keywords:
            value = literal(keyword.value)
            if keyword.arg and value is not NOT_LITERAL:
                entries.append([keyword.arg, repr(value)])
        return entries
    return []


def describe(error):
    return type(error).__name__ + ": " + str(error)


# ---------------------------------------------------------------- main


def main():
    own_dir = os.path.dirname(os.path.abspath(__file__))
    if sys.path and sys.path[0] and same_path(sys.path[0], own_dir):
        del sys.path[0]  # envkit's folder is not part of what the user's code sees
    dists = installed_distributions()
    report = {
        "schema": SCHEMA,
        "python": python_facts(),
        "distributions": [[d.name, d.version] for d in dists],
        "environment": environment(),
        "tensorflow": tensorflow_facts(dists),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }
    sys.stdout.write(json.dumps(report))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
