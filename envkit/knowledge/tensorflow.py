"""TensorFlow releases: what each series was built and tested with, and what it requires."""

from __future__ import annotations

from functools import cache

from envkit.knowledge import _data, platform
from envkit.knowledge.versions import major_minor, major_minor_key, numeric_parts
from envkit.records import record

Pins = tuple[tuple[str, str], ...]


@record
class Note:
    text: str
    sources: tuple[str, ...]
    verified: bool = True


@record
class AndCudaPins:
    """The ``tensorflow[and-cuda]`` requirements of one exact TensorFlow version."""

    tf_version: str
    requirements: Pins
    """(distribution, specifier) pairs sorted by distribution, e.g. ("nvidia-cudnn-cu12", ...)."""
    sources: tuple[str, ...]
    verified: bool
    note: str | None


@record
class WindowsGpuBuild:
    """The tested native-Windows GPU configuration (TensorFlow 2.10 and earlier)."""

    python: tuple[str, ...]
    compiler: str
    cuda: str
    cudnn: str
    sources: tuple[str, ...]


@record
class TfRelease:
    """One TensorFlow series (major.minor), as the release named by ``version`` describes it."""

    version: str
    series: str
    gpu_package: str
    """The distribution with GPU support on Linux: tensorflow-gpu for 1.x, tensorflow later."""
    python_tested: tuple[str, ...]
    python_wheels: tuple[str, ...]
    """Pythons with a Linux x86_64 wheel of this series on PyPI."""
    requires_python: str | None
    compiler: str
    bazel_version: str
    cuda: str | None
    """CUDA major.minor of the tested Linux GPU build: 12.5."""
    cudnn: str | None
    """cuDNN of the tested Linux GPU build, as the table prints it: 9.3 (7 for 1.12)."""
    compute_capabilities: tuple[str, ...]
    """build_info's cuda_compute_capabilities: sm_XY cubins and compute_XY PTX; () if unknown."""
    and_cuda: Pins
    """``tensorflow[and-cuda]`` pins of ``version``; () before 2.14."""
    and_cuda_by_version: tuple[AndCudaPins, ...]
    """The pins of every release of the series the sources cover (patch releases differ)."""
    keras_requirement: str | None
    keras_bundled: bool
    """True where tf.keras lives inside TensorFlow and there is no keras requirement (< 2.6)."""
    keras_major_default: int
    """The Keras tf.keras is by default: 3 from 2.16, 2 before."""
    numpy_requirement: str | None
    """The numpy specifier of METADATA on the oldest supported Python."""
    numpy_requirement_from_python: tuple[tuple[str, str], ...]
    """(python major.minor, specifier): from that Python on, METADATA asks this instead."""
    supports_numpy_2: bool
    """Built against NumPy 2 (2.18 and later); older ones need numpy<2 whatever METADATA says."""
    manylinux_tag: str
    glibc_min: str
    windows_native_gpu: bool
    windows_gpu: WindowsGpuBuild | None
    build_info_cuda: str | None
    """cuda_version as the wheel's build_info spells it (12.5.1), where it was read."""
    build_info_cudnn: str | None
    notes: tuple[Note, ...]
    sources: tuple[str, ...]
    """Every source the release's facts cite, without repeats."""
    unverified: tuple[str, ...]
    """Names of the fields whose values the sources did not confirm."""

    @property
    def compute_capabilities_verified(self) -> bool:
        return "compute_capabilities" not in self.unverified

    def is_verified(self, field_name: str) -> bool:
        return field_name not in self.unverified

    def and_cuda_for(self, version: str) -> AndCudaPins | None:
        """The and-cuda pins of exactly ``version`` (2.15.0 and 2.15.1 differ), if known."""
        wanted = version.strip()
        return next((pins for pins in self.and_cuda_by_version if pins.tf_version == wanted), None)

    def numpy_requirement_for(self, python_version: str) -> str | None:
        chosen = self.numpy_requirement
        for python, specifier in self.numpy_requirement_from_python:
            if major_minor_key(python_version) >= major_minor_key(python):
                chosen = specifier
        return chosen

    def has_wheel_for(self, python_version: str) -> bool:
        return major_minor(python_version) in self.python_wheels


# ---------------------------------------------------------------- loading


@cache
def _releases() -> tuple[TfRelease, ...]:
    data = _data.load("tensorflow.json")
    pin_sets = _data.obj(data, "and_cuda_pin_sets")
    return tuple(_release(row, pin_sets) for row in _data.objs(data, "releases"))


@cache
def _by_series() -> dict[str, TfRelease]:
    return {release.series: release for release in _releases()}


def _release(row: _data.Obj, pin_sets: _data.Obj) -> TfRelease:
    version = _data.text(row, "version")
    tested = _data.obj(row, "tested")
    wheels = _data.obj(row, "wheels")
    build = _data.opt_obj(row, "build_info") or {}
    keras = _data.opt_obj(row, "keras") or {}
    numpy = _data.opt_obj(row, "numpy") or {}
    and_cuda = tuple(_and_cuda(item, pin_sets) for item in _data.objs(row, "and_cuda"))
    windows = _data.opt_obj(row, "windows_gpu")
    groups = _groups(row)
    own_pins = next((pins for pins in and_cuda if pins.tf_version == version), None)
    return TfRelease(
        version=version,
        series=_series(version),
        gpu_package=_data.text(row, "gpu_package"),
        python_tested=_data.texts(tested, "python"),
        python_wheels=_data.texts(wheels, "python"),
        requires_python=_requires_python(row),
        compiler=_data.text(tested, "compiler"),
        bazel_version=_data.text(tested, "bazel"),
        cuda=_data.opt_text(tested, "cuda"),
        cudnn=_data.opt_text(tested, "cudnn"),
        compute_capabilities=_data.texts(build, "compute_capabilities"),
        and_cuda=own_pins.requirements if own_pins else (),
        and_cuda_by_version=and_cuda,
        keras_requirement=_data.opt_text(keras, "requirement"),
        keras_bundled=_data.flag(keras, "bundled", False),
        keras_major_default=platform.keras_major_default(version),
        numpy_requirement=_data.opt_text(numpy, "requirement"),
        numpy_requirement_from_python=_data.text_map(numpy, "from_python"),
        supports_numpy_2=platform.supports_numpy_2(version),
        manylinux_tag=_data.text(wheels, "manylinux"),
        glibc_min=_data.text(wheels, "glibc_min"),
        windows_native_gpu=windows is not None,
        windows_gpu=_windows_gpu(windows) if windows is not None else None,
        build_info_cuda=_data.opt_text(build, "cuda"),
        build_info_cudnn=_data.opt_text(build, "cudnn"),
        notes=tuple(map(_note, _data.objs(row, "notes"))),
        sources=_all_sources(groups, and_cuda),
        unverified=_unverified(groups, own_pins),
    )


def _series(version: str) -> str:
    series = major_minor(version)
    if series is None:
        raise _data.KnowledgeDataError(f"release version {version!r} is not a version")
    return series


def _requires_python(row: _data.Obj) -> str | None:
    group = _data.opt_obj(row, "requires_python")
    return _data.text(group, "value") if group is not None else None


_FIELD_OF_GROUP = {
    "tested": ("python_tested", "cuda", "cudnn"),
    "wheels": ("python_wheels", "manylinux_tag", "glibc_min"),
    "requires_python": ("requires_python",),
    "keras": ("keras_requirement",),
    "numpy": ("numpy_requirement",),
    "build_info": ("compute_capabilities",),
    "windows_gpu": ("windows_gpu",),
}
"""Which TfRelease fields each JSON group of a release feeds, for the unverified list."""


def _groups(row: _data.Obj) -> dict[str, _data.Obj]:
    return {name: group for name in _FIELD_OF_GROUP if (group := _data.opt_obj(row, name))}


def _unverified(groups: dict[str, _data.Obj], own_pins: AndCudaPins | None) -> tuple[str, ...]:
    fields = [
        field
        for name, group in groups.items()
        if not _data.verified(group)
        for field in _FIELD_OF_GROUP[name]
    ]
    if "build_info" not in groups:
        fields.append("compute_capabilities")
    if own_pins is not None and not own_pins.verified:
        fields.append("and_cuda")
    return tuple(fields)


def _all_sources(
    groups: dict[str, _data.Obj], and_cuda: tuple[AndCudaPins, ...]
) -> tuple[str, ...]:
    keys = [key for group in groups.values() for key in _data.source_keys(group)]
    keys += [key for pins in and_cuda for key in pins.sources]
    return tuple(dict.fromkeys(keys))


def _and_cuda(row: _data.Obj, pin_sets: _data.Obj) -> AndCudaPins:
    return AndCudaPins(
        tf_version=_data.text(row, "version"),
        requirements=tuple(sorted(_pin_set(_data.text(row, "pin_set"), pin_sets).items())),
        sources=_data.source_keys(row),
        verified=_data.verified(row),
        note=_data.opt_text(row, "note"),
    )


def _pin_set(name: str, pin_sets: _data.Obj) -> dict[str, str]:
    """A named pin set; one with ``like`` starts from that set and replaces or adds pins."""
    entry = _data.obj(pin_sets, name)
    base = _data.opt_text(entry, "like")
    pins = _pin_set(base, pin_sets) if base is not None else {}
    pins.update(_data.text_map(entry, "pins"))
    return pins


def _windows_gpu(group: _data.Obj) -> WindowsGpuBuild:
    return WindowsGpuBuild(
        python=_data.texts(group, "python"),
        compiler=_data.text(group, "compiler"),
        cuda=_data.text(group, "cuda"),
        cudnn=_data.text(group, "cudnn"),
        sources=_data.source_keys(group),
    )


def _note(row: _data.Obj) -> Note:
    return Note(_data.text(row, "text"), _data.source_keys(row), _data.verified(row))


# ---------------------------------------------------------------- lookups


def tensorflow_releases() -> tuple[TfRelease, ...]:
    """Every known series, oldest first."""
    return _releases()


def tensorflow_release(version: str) -> TfRelease | None:
    """The row of ``version``'s major.minor series (2.21.1 -> 2.21); None for an unknown series."""
    series = major_minor(version) if numeric_parts(version)[1:] else None
    return _by_series().get(series) if series is not None else None


def newest_tensorflow() -> TfRelease:
    return _releases()[-1]


def newest_tensorflow_for_python(python_version: str) -> TfRelease | None:
    """The newest series with a Linux x86_64 wheel for ``python_version`` (3.11 or 3.11.7)."""
    return next((r for r in reversed(_releases()) if r.has_wheel_for(python_version)), None)


def newest_tensorflow_for_cuda(cuda: str) -> TfRelease | None:
    """The newest series whose tested CUDA is at most ``cuda`` (a driver's maximum CUDA, 12.2).

    Strict: minor version compatibility would let newer series run too, with limits.
    """
    limit = major_minor_key(cuda)
    fitting = (r for r in reversed(_releases()) if r.cuda and major_minor_key(r.cuda) <= limit)
    return next(fitting, None)


def python_range_text(release: TfRelease) -> str:
    """The tested Pythons as people write them: 3.10-3.13, or 2.7, 3.3-3.6."""
    runs: list[list[tuple[int, int]]] = []
    for key in sorted(major_minor_key(python) for python in release.python_tested):
        if runs and runs[-1][-1] == (key[0], key[1] - 1):
            runs[-1].append(key)
        else:
            runs.append([key])
    return ", ".join(_run_text(run) for run in runs)


def _run_text(run: list[tuple[int, int]]) -> str:
    first, last = run[0], run[-1]
    text = f"{first[0]}.{first[1]}"
    return text if first == last else f"{text}-{last[0]}.{last[1]}"


# ---------------------------------------------------------------- packages that need Keras 2


@record
class Keras2Package:
    """A package whose TensorFlow side needs Keras 2 (tf-keras) under TensorFlow 2.16+."""

    package: str
    keras_3_from: str | None
    """The first release that works with Keras 3; None where none does."""
    breaks_before: str | None
    """Releases before this one fail under TensorFlow 2.16 whatever is installed."""
    install: str | None
    """The requirement that brings a working release: tensorflow-probability[tf]>=0.24."""
    legacy_variable: bool
    """It reads tf.keras, so TF_USE_LEGACY_KERAS=1 must point tf.keras at tf-keras."""
    text: str
    sources: tuple[str, ...]
    """URLs."""


@cache
def keras2_packages() -> tuple[Keras2Package, ...]:
    data = _data.load("keras2_packages.json")
    urls = dict(_data.text_map(data, "sources"))
    return tuple(
        Keras2Package(
            package=_data.text(row, "package"),
            keras_3_from=_data.opt_text(row, "keras_3_from"),
            breaks_before=_data.opt_text(row, "breaks_before"),
            install=_data.opt_text(row, "install"),
            legacy_variable=_data.flag(row, "legacy_variable", False),
            text=_data.text(row, "text"),
            sources=tuple(urls[key] for key in _data.source_keys(row)),
        )
        for row in _data.objs(data, "packages")
    )


# ---------------------------------------------------------------- release facts


@record
class ReleaseFact:
    """A fact that holds for a range of series: CPU instructions, a minimum compute
    capability, or a known defect with its fix."""

    kind: str
    """cpu-instructions, min-compute-capability or defect."""
    key: str
    """The instructions (avx), the minimum (6.0) or the defect's id."""
    first_series: str
    last_series: str | None
    text: str
    fix: tuple[str, ...]
    """For a defect: the fix, ``{python}`` standing for the interpreter."""
    platform: str | None
    needs_nvidia_wheels: bool
    sources: tuple[str, ...]
    """Keys of sources.json, or URLs."""
    verified: bool

    def covers(self, version: str) -> bool:
        key = major_minor_key(version)
        if key < major_minor_key(self.first_series):
            return False
        return self.last_series is None or key <= major_minor_key(self.last_series)


@cache
def _release_facts() -> tuple[ReleaseFact, ...]:
    data = _data.load("tf_release_facts.json")
    facts: list[ReleaseFact] = []
    for row in _data.objs(data, "cpu_instructions"):
        facts.append(
            _release_fact("cpu-instructions", ",".join(_data.texts(row, "instructions")), row)
        )
    for row in _data.objs(data, "min_compute_capability"):
        facts.append(_release_fact("min-compute-capability", _data.text(row, "min"), row))
    for row in _data.objs(data, "defects"):
        facts.append(_release_fact("defect", _data.text(row, "id"), row))
    return tuple(facts)


def _release_fact(kind: str, key: str, row: _data.Obj) -> ReleaseFact:
    sources = _data.texts(row, "urls") if "urls" in row else _data.source_keys(row)
    return ReleaseFact(
        kind=kind,
        key=key,
        first_series=_data.text(row, "from"),
        last_series=_data.opt_text(row, "to"),
        text=_data.text(row, "text"),
        fix=_data.texts(row, "fix"),
        platform=_data.opt_text(row, "platform"),
        needs_nvidia_wheels=_data.flag(row, "needs_nvidia_wheels", False),
        sources=sources,
        verified=_data.verified(row),
    )


def release_facts(version: str, kind: str) -> tuple[ReleaseFact, ...]:
    """The facts of ``kind`` that hold for TensorFlow ``version``."""
    return tuple(f for f in _release_facts() if f.kind == kind and f.covers(version))


def cpu_instructions(version: str) -> tuple[str, ...]:
    """The CPU instructions TensorFlow ``version``'s prebuilt wheels need: ("avx",)."""
    return tuple(
        instruction
        for fact in release_facts(version, "cpu-instructions")
        for instruction in fact.key.split(",")
    )


def min_compute_capability(version: str) -> ReleaseFact | None:
    found = release_facts(version, "min-compute-capability")
    return found[-1] if found else None


def last_release_for_compute_capability(compute_capability: str) -> TfRelease | None:
    """The newest series whose minimum compute capability the GPU meets."""
    have = major_minor_key(compute_capability)
    fitting = [
        release
        for release in _releases()
        if (fact := min_compute_capability(release.version)) is not None
        and major_minor_key(fact.key) <= have
    ]
    return fitting[-1] if fitting else None
