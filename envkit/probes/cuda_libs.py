"""System CUDA: toolkits (nvcc) and the libcudart / libcudnn files the dynamic loader finds.

TensorFlow before 2.14 dlopens the CUDA and cuDNN of the system, searched on LD_LIBRARY_PATH and
in the loader's cache; later ones prefer the NVIDIA pip wheels, which a library on
LD_LIBRARY_PATH can still shadow. Nothing is run: the loader's cache (/etc/ld.so.cache) is read
for the paths it holds, and versions come from file names and a toolkit's version file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from envkit.model import CudaLibrariesInfo, CudaLibrary, CudaToolkit

LIBRARY_NAMES = ("libcudart", "libcudnn")
_LIBRARY_FILE = re.compile(r"^(?P<name>libcudart|libcudnn)\.so(?:\.(?P<version>\d+(?:\.\d+)*))?$")
_CACHE_PATH = re.compile(rb"(/[\x21-\x7e]*?/(?:libcudart|libcudnn)\.so(?:\.\d+)*)\x00")
_TOOLKIT_GLOBS = ("usr/local/cuda", "usr/local/cuda-*", "opt/cuda")
_VERSION_TXT = re.compile(r"CUDA Version\s+(\d+(?:\.\d+)*)")
_RUNTIME_DIST_INFO = re.compile(r"^nvidia_cuda_runtime(?:_cu\d+)?-(\d+(?:\.\d+)*)\.dist-info$")
MAX_CACHE_BYTES = 8 * 1024 * 1024


def probe_cuda_libraries(
    environ: Mapping[str, str] | None = None, root: Path = Path("/")
) -> CudaLibrariesInfo:
    env = os.environ if environ is None else environ
    return CudaLibrariesInfo(
        toolkits=_toolkits(env, root),
        libraries=_dedupe(
            [
                *_on_library_path(env.get("LD_LIBRARY_PATH", ""), root),
                *_in_loader_cache(root),
            ]
        ),
    )


# ---------------------------------------------------------------- libraries


def _on_library_path(value: str, root: Path) -> list[CudaLibrary]:
    found = []
    for folder in (part for part in value.split(os.pathsep) if part):
        found += _libraries_in(_under(root, folder), "LD_LIBRARY_PATH", root)
    return found


def _libraries_in(folder: Path, found_via: str, root: Path) -> list[CudaLibrary]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        match = _LIBRARY_FILE.match(name)
        if match is not None:
            found.append(_library(folder / name, match.group("name"), found_via, root))
    return found


def _in_loader_cache(root: Path) -> list[CudaLibrary]:
    try:
        with open(root / "etc/ld.so.cache", "rb") as cache:
            data = cache.read(MAX_CACHE_BYTES)
    except OSError:
        return []
    found = []
    for raw in dict.fromkeys(_CACHE_PATH.findall(data)):
        path = raw.decode("ascii", "replace")
        match = _LIBRARY_FILE.match(path.rsplit("/", 1)[-1])
        if match is not None:
            found.append(_library(_under(root, path), match.group("name"), "ldconfig", root))
    return found


def _library(path: Path, name: str, found_via: str, root: Path) -> CudaLibrary:
    """The version of the file the link chain ends at: libcudnn.so.8 -> libcudnn.so.8.9.7."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        target = path
    versions = [_LIBRARY_FILE.match(candidate.name) for candidate in (target, path)]
    version = next((m.group("version") for m in versions if m and m.group("version")), None)
    return CudaLibrary(name, version, _shown(path, root), found_via)


def _dedupe(libraries: Iterable[CudaLibrary]) -> tuple[CudaLibrary, ...]:
    seen: dict[tuple[str, str], CudaLibrary] = {}
    for library in libraries:
        seen.setdefault((library.name, library.path), library)
    return tuple(seen.values())


# ---------------------------------------------------------------- toolkits


def _toolkits(env: Mapping[str, str], root: Path) -> tuple[CudaToolkit, ...]:
    nvcc_on_path = _nvcc_on_path(env.get("PATH", ""), root)
    roots: dict[str, Path] = {}
    if nvcc_on_path is not None:
        nvcc_on_path = nvcc_on_path.resolve()
        roots[str(nvcc_on_path.parent.parent)] = nvcc_on_path.parent.parent
    for pattern in _TOOLKIT_GLOBS:
        for folder in sorted(root.glob(pattern)):
            if (folder / "bin" / "nvcc").is_file() or _version_file(folder) is not None:
                roots.setdefault(str(folder.resolve()), folder)
    on_path_root = str(nvcc_on_path.parent.parent) if nvcc_on_path else None
    return tuple(
        CudaToolkit(
            root=_shown(folder, root),
            version=_version_file(folder),
            nvcc=_shown(folder / "bin" / "nvcc", root) if (folder / "bin/nvcc").is_file() else None,
            on_path=resolved == on_path_root,
        )
        for resolved, folder in roots.items()
    )


def _nvcc_on_path(value: str, root: Path) -> Path | None:
    for folder in (part for part in value.split(os.pathsep) if part):
        candidate = _under(root, folder) / "nvcc"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _version_file(folder: Path) -> str | None:
    """version.json (CUDA 11.1 and later) or version.txt (before)."""
    try:
        data = json.loads((folder / "version.json").read_text("utf-8"))
        version = data.get("cuda", {}).get("version") if isinstance(data, dict) else None
        if isinstance(version, str):
            return version
    except (OSError, ValueError, AttributeError):
        pass
    try:
        match = _VERSION_TXT.search((folder / "version.txt").read_text("utf-8", "replace"))
    except OSError:
        match = None
    return match.group(1) if match else _dist_info_version(folder)


def _dist_info_version(folder: Path) -> str | None:
    """Toolkits assembled from NVIDIA's wheels keep their dist-info: nvidia_cuda_runtime-X."""
    try:
        names = os.listdir(folder / "dist-info")
    except OSError:
        return None
    for name in sorted(names):
        match = _RUNTIME_DIST_INFO.match(name)
        if match is not None:
            return match.group(1)
    return None


def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/") if root != Path("/") else Path(path)


def _shown(path: Path, root: Path) -> str:
    if root == Path("/"):
        return str(path)
    try:
        return "/" + str(path.relative_to(root))
    except ValueError:
        return str(path)
