"""Platform, packaging and Ubuntu driver-stack facts, each with its sources."""

from __future__ import annotations

from functools import cache

from envkit.knowledge import _data
from envkit.knowledge.versions import driver_at_least, major_minor, major_minor_key, numeric_parts
from envkit.records import record

# Keys of the facts other code relies on; platform_fact(KEY) never returns None for these.
AVX_REQUIRED = "avx-required"
WINDOWS_NATIVE_GPU_LAST = "windows-native-gpu-last"
WSL2_GPU = "wsl2-gpu"
AND_CUDA_EXTRA = "and-cuda-extra"
KERAS3_DEFAULT = "keras3-default"
LEGACY_KERAS_VARIABLE = "legacy-keras-variable"
LEGACY_KERAS_VALUES = "legacy-keras-values"
TF_KERAS_PAIRING = "tf-keras-pairing"
NUMPY2_SUPPORTED = "numpy2-supported"
TENSORFLOW_GPU_PACKAGE = "tensorflow-gpu-package"
GPU_IN_MAIN_PACKAGE = "gpu-in-main-package"
MACOS_APPLE_SILICON = "macos-apple-silicon"
UBUNTU_DRIVERS = "ubuntu-drivers"
SECURE_BOOT_MOK = "secure-boot-mok"
GRAPHICS_DRIVERS_PPA = "graphics-drivers-ppa"
NOUVEAU_BLACKLIST = "nouveau-blacklist"


@record
class Fact:
    key: str
    text: str
    """One or a few sentences a person can read as they are."""
    value: str | None
    """The machine-usable part: a TensorFlow version, a variable name, a path; None if none."""
    commands: tuple[str, ...]
    """What to run to act on the fact, in order."""
    sources: tuple[str, ...]
    verified: bool


@record
class UbuntuDriverBranch:
    branch: str
    """The NVIDIA branch in the package name: 580 for nvidia-driver-580."""
    status: str
    """available, transitional (an empty package moving you on), absent, or unknown."""
    version: str | None
    successor: str | None
    """For a transitional package, the branch it moves you to."""
    note: str | None
    verified: bool


@record
class UbuntuRelease:
    version_id: str
    """As /etc/os-release's VERSION_ID: 24.04."""
    codename: str
    lts: bool
    driver_branches: tuple[UbuntuDriverBranch, ...]
    """nvidia-driver-<branch> in the archive, newest branch first; only the ones checked."""
    note: str | None
    sources: tuple[str, ...]

    def branch(self, branch: str) -> UbuntuDriverBranch | None:
        return next((row for row in self.driver_branches if row.branch == branch), None)

    @property
    def available_branches(self) -> tuple[str, ...]:
        """Branches with a real (not transitional) nvidia-driver package, newest first."""
        return tuple(row.branch for row in self.driver_branches if row.status == "available")


# ---------------------------------------------------------------- facts


@cache
def _facts() -> dict[str, Fact]:
    data = _data.load("platform.json")
    rows = _data.objs(data, "facts") + _data.objs(_data.obj(data, "ubuntu"), "facts")
    return {fact.key: fact for fact in map(_fact, rows)}


def _fact(row: _data.Obj) -> Fact:
    return Fact(
        key=_data.text(row, "key"),
        text=_data.text(row, "text"),
        value=_data.opt_text(row, "value"),
        commands=_data.texts(row, "commands"),
        sources=_data.source_keys(row),
        verified=_data.verified(row),
    )


def platform_facts() -> tuple[Fact, ...]:
    return tuple(_facts().values())


def platform_fact(key: str) -> Fact | None:
    return _facts().get(key)


def _required(key: str) -> Fact:
    fact = _facts().get(key)
    if fact is None or fact.value is None:
        raise _data.KnowledgeDataError(f"platform.json lacks the value of fact {key!r}")
    return fact


def _tf_at_least(tf_version: str, key: str) -> bool:
    return major_minor_key(tf_version) >= major_minor_key(str(_required(key).value))


def requires_avx(tf_version: str) -> bool:
    """Whether the prebuilt wheels of ``tf_version`` need a CPU with AVX (1.6 and later)."""
    return _tf_at_least(tf_version, AVX_REQUIRED)


def windows_native_gpu(tf_version: str) -> bool:
    """Whether ``tf_version`` can use a GPU on native Windows (2.10 and earlier)."""
    last = str(_required(WINDOWS_NATIVE_GPU_LAST).value)
    return major_minor_key(tf_version) <= major_minor_key(last)


def keras_major_default(tf_version: str) -> int:
    """3 from TensorFlow 2.16 (tf.keras is Keras 3), 2 before."""
    return 3 if _tf_at_least(tf_version, KERAS3_DEFAULT) else 2


def supports_numpy_2(tf_version: str) -> bool:
    """Whether ``tf_version`` was built against NumPy 2 (2.18 and later)."""
    return _tf_at_least(tf_version, NUMPY2_SUPPORTED)


def has_and_cuda_extra(tf_version: str) -> bool:
    return _tf_at_least(tf_version, AND_CUDA_EXTRA)


def tf_keras_requirement(tf_version: str) -> str | None:
    """``tf-keras~=2.16`` for TensorFlow 2.16.x (Keras 2 on Keras-3 TensorFlow); None before."""
    if keras_major_default(tf_version) != 3:
        return None
    return f"tf-keras~={major_minor(tf_version)}"


def legacy_keras_environment() -> tuple[str, tuple[str, ...]]:
    """The variable that selects Keras 2 on TF >= 2.16 and the values that switch it on."""
    name = str(_required(LEGACY_KERAS_VARIABLE).value)
    values = tuple(str(_required(LEGACY_KERAS_VALUES).value).split(","))
    return name, values


# ---------------------------------------------------------------- Ubuntu


@cache
def _ubuntu_releases() -> tuple[UbuntuRelease, ...]:
    ubuntu = _data.obj(_data.load("platform.json"), "ubuntu")
    sources = _data.source_keys(ubuntu, "releases_source")
    return tuple(_ubuntu_release(row, sources) for row in _data.objs(ubuntu, "releases"))


def _ubuntu_release(row: _data.Obj, sources: tuple[str, ...]) -> UbuntuRelease:
    return UbuntuRelease(
        version_id=_data.text(row, "version_id"),
        codename=_data.text(row, "codename"),
        lts=_data.flag(row, "lts", False),
        driver_branches=tuple(map(_driver_branch, _data.objs(row, "branches"))),
        note=_data.opt_text(row, "note"),
        sources=sources,
    )


def _driver_branch(row: _data.Obj) -> UbuntuDriverBranch:
    return UbuntuDriverBranch(
        branch=_data.text(row, "branch"),
        status=_data.text(row, "status"),
        version=_data.opt_text(row, "version"),
        successor=_data.opt_text(row, "to"),
        note=_data.opt_text(row, "note"),
        verified=_data.verified(row),
    )


def ubuntu_releases() -> tuple[UbuntuRelease, ...]:
    return _ubuntu_releases()


def ubuntu_release(version_id: str) -> UbuntuRelease | None:
    """The release for /etc/os-release's VERSION_ID ("24.04"), or its codename ("noble")."""
    wanted = version_id.strip().strip('"').lower()
    for release in _ubuntu_releases():
        if wanted in (release.version_id, release.codename):
            return release
    return None


def ubuntu_driver_branch(version_id: str | None, min_driver: str | None = None) -> str | None:
    """The newest nvidia-driver-<branch> Ubuntu ``version_id`` ships for real that meets
    ``min_driver`` (by the archive's package version where known, else by branch number).

    None for an unknown release, or when no checked branch is new enough.
    """
    release = ubuntu_release(version_id) if version_id else None
    if release is None:
        return None
    for row in release.driver_branches:
        if row.status == "available" and _meets(row, min_driver):
            return row.branch
    return None


def _meets(row: UbuntuDriverBranch, min_driver: str | None) -> bool:
    if min_driver is None:
        return True
    if row.version is not None:
        return driver_at_least(row.version, min_driver)
    return int(row.branch) >= numeric_parts(min_driver)[0]
