"""CUDA toolkits and the NVIDIA drivers they need."""

from __future__ import annotations

from functools import cache

from envkit.knowledge import _data
from envkit.knowledge.sources import source
from envkit.knowledge.versions import (
    driver_at_least,
    major_minor,
    major_minor_key,
    numeric_parts,
    parse_driver_version,
)
from envkit.records import record

PLATFORMS = ("linux", "windows")


@record
class DriverRequirement:
    """What a CUDA toolkit major.minor asks of the NVIDIA driver on one platform."""

    cuda: str
    platform: str
    toolkit_min_driver: str | None
    """Minimum driver of the toolkit's GA release; None where NVIDIA gives only a branch."""
    minor_compat_min_driver: str | None
    """Floor of the toolkit's major family under minor version compatibility (CUDA 11 and
    later): programs built with this toolkit run, with a limited feature set, on drivers
    between this and ``toolkit_min_driver``. None before CUDA 11."""
    driver_branch: str | None
    """R580 for CUDA 13.0; only CUDA 13 rows name one."""
    update_min_drivers: tuple[tuple[str, str], ...]
    """(release, minimum driver) for the toolkit's later updates, where they differ."""
    verified: bool
    sources: tuple[str, ...]
    note: str | None

    @property
    def source(self) -> str:
        """A link for the requirement: the URL (or description) of its first source."""
        first = source(self.sources[0]) if self.sources else None
        if first is None:
            return self.sources[0] if self.sources else ""
        return first.url or first.describe()


@record
class DatacenterBranch:
    branch: str
    kind: str
    """LTSB, Production Branch or New Feature Branch."""
    end_of_life: str
    """Year and month, 2028-06."""
    cuda_major: int
    """The newest CUDA major the branch supports."""
    note: str | None
    sources: tuple[str, ...]


@record
class BranchNote:
    branch: str
    text: str
    sources: tuple[str, ...]
    verified: bool


@record
class CudaNote:
    text: str
    sources: tuple[str, ...]
    verified: bool


# ---------------------------------------------------------------- loading


@cache
def _toolkits() -> dict[str, _data.Obj]:
    rows = _data.objs(_data.load("cuda.json"), "toolkits")
    return {_data.text(row, "cuda"): row for row in rows}


@cache
def _families() -> tuple[_data.Obj, tuple[_data.Obj, ...]]:
    group = _data.obj(_data.load("cuda.json"), "minor_version_compatibility")
    return group, _data.objs(group, "families")


def _platform_key(platform: str) -> str:
    key = platform.lower()
    if key not in PLATFORMS:
        raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    return key


def _minor_compat(cuda: str, platform: str) -> tuple[str | None, tuple[str, ...]]:
    group, families = _families()
    major = numeric_parts(cuda)[0]
    for family in families:
        if _data.opt_int(family, "major") == major:
            return _data.opt_text(family, platform), _data.source_keys(group)
    return None, ()


def _requirement(row: _data.Obj, platform: str) -> DriverRequirement:
    cuda = _data.text(row, "cuda")
    releases = _data.objs(row, "releases")
    minimums = [(_data.text(item, "release"), _data.opt_text(item, platform)) for item in releases]
    ga = minimums[0][1] if minimums else None
    updates = tuple((name, driver) for name, driver in minimums[1:] if driver and driver != ga)
    floor, floor_sources = _minor_compat(cuda, platform)
    return DriverRequirement(
        cuda=cuda,
        platform=platform,
        toolkit_min_driver=ga,
        minor_compat_min_driver=floor,
        driver_branch=_data.opt_text(row, "branch"),
        update_min_drivers=updates,
        verified=_data.verified(row),
        sources=tuple(dict.fromkeys(_data.source_keys(row) + floor_sources)),
        note=_data.opt_text(row, "note"),
    )


# ---------------------------------------------------------------- lookups


def cuda_versions() -> tuple[str, ...]:
    """Every CUDA toolkit major.minor the table knows, oldest first."""
    return tuple(_toolkits())


def driver_requirement(cuda: str, platform: str = "linux") -> DriverRequirement | None:
    """The driver needs of CUDA ``cuda`` (12.5, or 12.5.1 as build_info spells it).

    A bare major such as "9" (TensorFlow 1.12's table) reads as 9.0. None for a toolkit the
    table does not know (there is no CUDA 12.7). Raises ValueError for an unknown platform.
    """
    key = _platform_key(platform)
    version = major_minor(cuda)
    row = _toolkits().get(version) if version is not None else None
    return _requirement(row, key) if row is not None else None


def max_cuda_for_driver(driver_version: str, platform: str = "linux") -> str | None:
    """The newest CUDA toolkit whose GA minimum driver is at most ``driver_version``.

    Only toolkits with a known minimum count: a 610 driver gets 13.2, not the unconfirmed 13.3.
    None when the driver is older than every toolkit in the table or is not a version.
    """
    if parse_driver_version(driver_version) is None:
        return None
    fitting = [
        cuda
        for cuda, need in _ga_minimums(_platform_key(platform))
        if driver_at_least(driver_version, need)
    ]
    return max(fitting, key=major_minor_key, default=None)


@cache
def _ga_minimums(platform: str) -> tuple[tuple[str, str], ...]:
    requirements = (_requirement(row, platform) for row in _toolkits().values())
    return tuple(
        (req.cuda, req.toolkit_min_driver) for req in requirements if req.toolkit_min_driver
    )


def tensorflow_docs_min_driver(platform: str = "linux") -> str:
    """The driver TensorFlow's pip page asks for: 525.60.13 on Linux, 528.33 for WSL2."""
    group = _data.obj(_data.load("cuda.json"), "tensorflow_docs_min_driver")
    return _data.text(group, "wsl" if platform.lower() in ("wsl", "windows") else "linux")


def ptx_jit_caveat() -> CudaNote:
    group = _data.obj(_data.load("cuda.json"), "ptx_jit_caveat")
    return CudaNote(_data.text(group, "text"), _data.source_keys(group), _data.verified(group))


def minor_compat_text() -> CudaNote:
    group, _ = _families()
    return CudaNote(_data.text(group, "about"), _data.source_keys(group), _data.verified(group))


@cache
def datacenter_branches() -> tuple[DatacenterBranch, ...]:
    group = _data.obj(_data.load("cuda.json"), "datacenter_branches")
    sources = _data.source_keys(group)
    return tuple(
        DatacenterBranch(
            branch=_data.text(row, "branch"),
            kind=_data.text(row, "kind"),
            end_of_life=_data.text(row, "end_of_life"),
            cuda_major=_data.opt_int(row, "cuda_major") or 0,
            note=_data.opt_text(row, "note"),
            sources=sources,
        )
        for row in _data.objs(group, "branches")
    )


@cache
def driver_branch_notes() -> tuple[BranchNote, ...]:
    group = _data.obj(_data.load("cuda.json"), "branch_support")
    return tuple(
        BranchNote(
            _data.text(row, "branch"),
            _data.text(row, "text"),
            _data.source_keys(row),
            _data.verified(row),
        )
        for row in _data.objs(group, "notes")
    )


# ---------------------------------------------------------------- GPU generations


@record
class GpuGeneration:
    """What the NVIDIA driver branches do for one GPU architecture."""

    architecture: str
    last_branch: str | None
    """The newest branch that still drives it (470 for Kepler); None while every branch does."""
    open_modules: bool
    """Whether NVIDIA's open kernel modules run on it (Turing and newer)."""
    open_modules_required: bool
    capabilities: str
    last_driver: str | None
    sources: tuple[str, ...]

    def allows_branch(self, branch: int) -> bool:
        return self.last_branch is None or branch <= int(self.last_branch)


@cache
def gpu_generations() -> tuple[GpuGeneration, ...]:
    group = _data.obj(_data.load("cuda.json"), "gpu_generations")
    sources = _data.source_keys(group)
    return tuple(
        GpuGeneration(
            architecture=_data.text(row, "architecture"),
            last_branch=_data.opt_text(row, "last_branch"),
            open_modules=_data.flag(row, "open_modules", False),
            open_modules_required=_data.flag(row, "open_modules_required", False),
            capabilities=_data.text(row, "capabilities"),
            last_driver=_data.opt_text(row, "last_driver"),
            sources=sources,
        )
        for row in _data.objs(group, "generations")
    )


def gpu_generation(architecture: str) -> GpuGeneration | None:
    """The driver facts for "Kepler", "Ada Lovelace", ...; None for a name the table lacks."""
    wanted = architecture.strip().lower()
    return next((g for g in gpu_generations() if g.architecture.lower() == wanted), None)
