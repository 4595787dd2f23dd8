"""Checks on the TensorFlow install: one distribution, a matching Keras and NumPy, a GPU build
where there is a GPU, and the NVIDIA wheels its `and-cuda` extra pins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from packaging.version import Version

from envkit import knowledge
from envkit.model import (
    CheckInfo,
    CudaLibrariesInfo,
    Distribution,
    Finding,
    PythonEnvInfo,
    Severity,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
    normalize_name,
)
from envkit.rules import cudnn_mismatch, facts, tf_install
from envkit.rules.registry import check

if TYPE_CHECKING:
    from packaging.requirements import Requirement

KERAS_3_LINK = "https://keras.io/getting_started/#tensorflow--keras-2-backwards-compatibility"
NUMPY_2_LINK = "https://github.com/tensorflow/tensorflow/issues/67291"
PIP_INSTALL_LINK = "https://www.tensorflow.org/install/pip"


def _installed(snapshot: Snapshot) -> tuple[PythonEnvInfo, TensorflowInfo] | None:
    env, installed = facts.python_env(snapshot), facts.tensorflow(snapshot)
    return (env, installed) if env is not None and installed is not None else None


def _cuda_install(
    snapshot: Snapshot,
) -> tuple[PythonEnvInfo, TensorflowInfo, TensorflowBuild] | None:
    """The examined TensorFlow, when it is a CUDA build whose build facts were read."""
    pair = _installed(snapshot)
    build = facts.tensorflow_build(snapshot)
    if pair is None or build is None or not build.is_cuda_build:
        return None
    return (*pair, build)


@check("tensorflow.installed", "tensorflow", "TensorFlow is installed in the examined environment.")
def tensorflow_installed(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    if env is None or facts.tensorflow(snapshot) is not None:
        return
    if facts.environments_with_tensorflow(snapshot):
        return  # python.tensorflow-elsewhere: use that environment, no second install
    if tf_install.unsupported_architecture(snapshot) is not None:
        return  # python.architecture says no wheel exists, and what to install instead
    newest_for_python = knowledge.newest_tensorflow_for_python(env.version)
    if newest_for_python is None:
        return  # python.version-for-tensorflow says why, and what to do
    release, held_back = tf_install.release_for_machine(snapshot, env.version)
    if release is None and held_back:
        other, _ = tf_install.release_for_machine(snapshot, None)
        if other is not None:  # another Python has a release the GPUs run: a new environment
            yield info.finding(
                Severity.WARNING,
                f"TensorFlow is not installed in {env.prefix}",
                f"no TensorFlow distribution among {len(env.distributions)} installed; this "
                f"machine's GPUs run TensorFlow {other.series} at most, which has no wheel for "
                f"Python {facts.series(env.version)}",
                (
                    held_back,
                    *tf_install.tensorflow_env_steps(
                        snapshot, other, gpu=True, env_name=f"tf{other.series}"
                    ),
                ),
                PIP_INSTALL_LINK,
            )
            return
    gpu = tf_install.gpu_intent(snapshot) and release is not None
    chosen = release or newest_for_python
    fix: tuple[str, ...] = (
        *((held_back,) if held_back else ()),
        f"{env.executable} -m {tf_install.pip_install_tensorflow(snapshot, chosen, gpu=gpu)}",
    )
    linux = facts.os_family(snapshot) in tf_install.LINUX_FAMILIES
    if gpu and linux and not chosen.and_cuda and chosen.cuda and chosen.cudnn:
        conda_cuda = (
            f"conda install -c conda-forge cudatoolkit={chosen.cuda} cudnn={chosen.cudnn} --yes"
        )
        fix = (*fix[:-1], conda_cuda, fix[-1])
    if gpu and facts.os_family(snapshot) == "windows" and not chosen.windows_native_gpu:
        fix = (*fix, *tf_install.windows_wsl_steps())
    if facts.examines_envkit_tool_env(snapshot):  # pipx/uv's private venv: never install there
        fix = tf_install.tensorflow_env_steps(snapshot, chosen, gpu=gpu)
    which = (
        "that this machine's GPUs run" if held_back else "for Python " + facts.series(env.version)
    )
    yield info.finding(
        Severity.WARNING,
        f"TensorFlow is not installed in {env.prefix}",
        f"no TensorFlow distribution among {len(env.distributions)} installed; "
        f"the newest {which} is {chosen.version}",
        fix,
        PIP_INSTALL_LINK,
    )


@check(
    "tensorflow.one-distribution", "tensorflow", "Exactly one TensorFlow distribution is installed."
)
def one_distribution(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    pair = _installed(snapshot)
    if pair is None:
        return
    env, installed = pair
    clashing = _clashing_distributions(installed)
    if len(clashing) < 2:
        return
    names = [d.name for d in clashing]
    listed = ", ".join(f"{d.name} {d.version}" for d in clashing)
    release = knowledge.tensorflow_release(installed.version)
    gpu = tf_install.gpu_intent(snapshot)
    reinstall = (
        tf_install.pip_install_exact(snapshot, release, installed.version, gpu=gpu)
        if release is not None
        else f'pip install "{tf_install.package_for_version(installed.version, gpu=gpu)}'
        f'=={installed.version}"'
    )
    yield info.finding(
        Severity.ERROR,
        "Several TensorFlow distributions are installed over one another",
        f"{listed} all unpack into the same tensorflow/ folder; the files come from whichever "
        "was installed last",
        (
            f"{env.executable} -m pip uninstall --yes {' '.join(names)}",
            f"{env.executable} -m {reinstall}",
        ),
        "https://github.com/tensorflow/tensorflow/issues/51451",
    )


def _clashing_distributions(installed: TensorflowInfo) -> list[Distribution]:
    """The TensorFlow distributions minus those the primary one itself requires.

    On native Windows ``tensorflow`` 2.10-2.18 is a small package that requires
    ``tensorflow-intel`` of its own version (on Linux aarch64, ``tensorflow-cpu-aws``; on
    Apple silicon 2.13-2.16, ``tensorflow-macos``): that pair is one install, not a clash.
    """
    if len(installed.distributions) < 2:
        return list(installed.distributions)
    required = {normalize_name(name) for name in _required_names(installed.requirements)}
    required |= _PLATFORM_BUILDS if not installed.requirements else set()
    primary = min(installed.distributions, key=lambda d: normalize_name(d.name) in required)
    return [
        d
        for d in installed.distributions
        if d is primary or normalize_name(d.name) not in required or d.version != installed.version
    ]


_PLATFORM_BUILDS = frozenset({"tensorflow-intel", "tensorflow-cpu-aws", "tensorflow-macos"})
"""What tensorflow requires on Windows (2.10-2.18), Linux aarch64 and Apple silicon, for
snapshots whose Requires-Dist lines are missing."""


def _required_names(requirements: tuple[str, ...]) -> Iterator[str]:
    """Names of the unconditional (no extra) requirements, whatever their platform marker."""
    from packaging.requirements import InvalidRequirement, Requirement  # only with several

    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or "extra" not in str(requirement.marker):
            yield requirement.name


@check("tensorflow.gpu-package", "tensorflow", "The obsolete tensorflow-gpu package is not used.")
def no_tensorflow_gpu_package(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    pair = _installed(snapshot)
    if pair is None:
        return
    env, installed = pair
    for dist in installed.distributions:
        parsed = facts.version(dist.version)
        if dist.name.lower().replace("_", "-") != "tensorflow-gpu" or parsed is None:
            continue
        if parsed.major < 2:
            continue  # in 1.x, tensorflow-gpu was the GPU build
        yield info.finding(
            Severity.WARNING,
            f"tensorflow-gpu {dist.version} is obsolete; the tensorflow package has the GPU build",
            "since TensorFlow 2.1 the tensorflow package supports GPUs; tensorflow-gpu stopped at "
            "2.11 and later versions are empty packages that refuse to install",
            (
                f"{env.executable} -m pip uninstall --yes tensorflow-gpu",
                f'{env.executable} -m pip install "tensorflow=={dist.version}"',
            ),
            PIP_INSTALL_LINK,
        )


@check(
    "tensorflow.keras", "tensorflow", "The Keras installed is the major version TensorFlow expects."
)
def keras_matches(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    pair = _installed(snapshot)
    release = knowledge.tensorflow_release(pair[1].version) if pair else None
    if pair is None or release is None:
        return
    env, installed = pair
    keras = facts.version(env.version_of("keras"))
    legacy = dict(env.environment).get("TF_USE_LEGACY_KERAS", "").lower() in {"1", "true", "yes"}
    if keras is not None and keras.major >= 3 and release.keras_major_default < 3:
        yield _keras_pin_finding(info, env, installed, release, f"Keras {keras} is Keras 3")
    elif keras is not None and keras.major < 3 and release.keras_major_default >= 3:
        yield _keras_pin_finding(info, env, installed, release, f"Keras {keras} is Keras 2")
    if release.keras_major_default >= 3:
        for package in knowledge.keras2_packages():
            yield from _keras_2_package(info, env, installed, release, package, legacy=legacy)
    if legacy and release.keras_major_default >= 3 and env.version_of("tf-keras") is None:
        yield info.finding(
            Severity.ERROR,
            "TF_USE_LEGACY_KERAS is set but tf-keras is not installed",
            f"TensorFlow {installed.version} will look for tf_keras to provide Keras 2 and fail",
            (f'{env.executable} -m pip install "tf-keras=={release.series}.*"',),
            KERAS_3_LINK,
        )


def _keras_2_package(
    info: CheckInfo,
    env: PythonEnvInfo,
    installed: TensorflowInfo,
    release: knowledge.TfRelease,
    package: knowledge.Keras2Package,
    *,
    legacy: bool,
) -> Iterator[Finding]:
    """A package that needs Keras 2 under a TensorFlow whose tf.keras is Keras 3."""
    version = env.version_of(package.package)
    parsed = facts.version(version)
    if version is None or parsed is None:
        return
    if package.keras_3_from is not None and parsed >= Version(package.keras_3_from):
        return
    tf_keras = f'{env.executable} -m pip install "tf-keras=={release.series}.*"'
    legacy_line = "export TF_USE_LEGACY_KERAS=1   # before TensorFlow is imported"
    link = package.sources[0] if package.sources else KERAS_3_LINK
    if package.breaks_before is not None and parsed < Version(package.breaks_before):
        yield info.finding(
            Severity.ERROR,
            f"{package.package} {version} does not work with TensorFlow {installed.version} "
            "(Keras 3)",
            package.text,
            (
                f'{env.executable} -m pip install "{package.install}" '
                f'"tf-keras=={release.series}.*"',
                f"# or keep {package.package} {version} with TensorFlow 2.15 or older, "
                "in another environment",
            ),
            link,
        )
        return
    missing_tf_keras = env.version_of("tf-keras") is None
    missing_variable = package.legacy_variable and not legacy
    if not missing_tf_keras and not missing_variable:
        return
    fix = ((tf_keras,) if missing_tf_keras else ()) + ((legacy_line,) if missing_variable else ())
    needs = "Keras 2 (tf-keras" + (
        " and TF_USE_LEGACY_KERAS=1)" if package.legacy_variable else ")"
    )
    yield info.finding(
        Severity.WARNING,
        f"{package.package} {version} needs {needs} under TensorFlow {installed.version}",
        f"TensorFlow {installed.version} brings Keras 3; {package.text}",
        fix,
        link,
    )


def _keras_pin_finding(
    info: CheckInfo,
    env: PythonEnvInfo,
    installed: TensorflowInfo,
    release: knowledge.TfRelease,
    found: str,
) -> Finding:
    wanted = release.keras_requirement or ("<3" if release.keras_major_default < 3 else ">=3")
    return info.finding(
        Severity.ERROR,
        f"{found}, but TensorFlow {installed.version} needs Keras {release.keras_major_default}",
        f"{found}; TensorFlow {release.series} requires keras{wanted}",
        (f'{env.executable} -m pip install "keras{wanted}"',),
        KERAS_3_LINK,
    )


@check(
    "tensorflow.numpy", "tensorflow", "NumPy is a version the installed TensorFlow was built for."
)
def numpy_matches(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    pair = _installed(snapshot)
    if pair is None:
        return
    env, installed = pair
    numpy = facts.version(env.version_of("numpy"))
    tf = facts.version(installed.version)
    if (
        numpy is None
        or tf is None
        or numpy.major < 2
        or knowledge.supports_numpy_2(installed.version)
    ):
        return
    yield info.finding(
        Severity.ERROR,
        f"NumPy {numpy} with TensorFlow {installed.version}, which was built for NumPy 1",
        "TensorFlow before 2.18 fails with '_ARRAY_API not found' under NumPy 2",
        (f'{env.executable} -m pip install "numpy<2"',),
        NUMPY_2_LINK,
    )


@check(
    "tensorflow.gpu-build",
    "tensorflow",
    "On a machine with an NVIDIA GPU, the installed TensorFlow is a build that can use it.",
)
def gpu_build_on_gpu_machine(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    pair = _installed(snapshot)
    build = facts.tensorflow_build(snapshot)
    if (
        pair is None
        or build is None
        or build.is_cuda_build
        or not facts.nvidia_gpu_present(snapshot)
    ):
        return
    env, installed = pair
    release = knowledge.tensorflow_release(installed.version)
    names = " ".join(d.name for d in installed.distributions)
    evidence = f"{names}: build_info says is_cuda_build={build.is_cuda_build}"
    title = (
        f"TensorFlow {installed.version} here is a CPU-only build; this machine has an NVIDIA GPU"
    )
    fix: tuple[str, ...] = (f"{env.executable} -m pip uninstall --yes {names}",)
    if facts.os_family(snapshot) == "windows" and (
        release is None or not release.windows_native_gpu
    ):
        title = f"TensorFlow {installed.version} on native Windows has no GPU build; use WSL 2"
        evidence += "; from 2.11 TensorFlow uses the GPU on Windows only inside WSL 2"
        fix = tf_install.windows_wsl_steps()
    elif release is not None:
        steps = tf_install.tensorflow_env_steps(snapshot, release, gpu=True)
        fix = (*fix, f"{env.executable} -m {steps[-1]}")
    else:
        package = tf_install.package_for_version(installed.version, gpu=True)
        fix = (*fix, f'{env.executable} -m pip install "{package}=={installed.version}"')
    yield info.finding(Severity.WARNING, title, evidence, fix, PIP_INSTALL_LINK)


@check(
    "tensorflow.cuda-wheels",
    "tensorflow",
    "The NVIDIA CUDA wheels are installed at the versions TensorFlow's `and-cuda` extra pins.",
)
def cuda_wheels_match_pins(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    found = _cuda_install(snapshot)
    if found is None:
        return
    if facts.os_family(snapshot) in {"windows", "macos"} or not facts.nvidia_gpu_present(snapshot):
        return
    env, installed, _ = found
    pins = and_cuda_pins(installed.requirements)
    if not pins:
        return
    missing = [pin for pin in pins if env.version_of(pin.name) is None]
    rejected = [
        f"{pin.name} {env.version_of(pin.name)} (needs {pin.specifier})"
        for pin in pins
        if env.version_of(pin.name) is not None
        and not pin.specifier.contains(env.version_of(pin.name) or "", prereleases=True)
    ]
    pip = f'{env.executable} -m pip install "tensorflow[and-cuda]=={installed.version}"'
    if rejected:
        yield info.finding(
            Severity.ERROR,
            "NVIDIA CUDA wheels are installed at versions TensorFlow's pins reject",
            "; ".join(rejected),
            (pip,),
            "https://github.com/tensorflow/tensorflow/issues/60913",
        )
    elif len(missing) == len(pins):
        yield info.finding(
            Severity.WARNING,
            "The NVIDIA CUDA wheels are not installed; TensorFlow will look for system CUDA",
            f"none of {len(pins)} wheels of the and-cuda extra (e.g. {pins[0].name}) is installed",
            (pip,),
            PIP_INSTALL_LINK,
        )


def and_cuda_pins(requirements: tuple[str, ...]) -> list[Requirement]:
    from packaging.requirements import InvalidRequirement, Requirement  # only for CUDA GPUs

    pins = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = requirement.marker
        if (
            marker is not None
            and marker.evaluate({"extra": "and-cuda"})
            and not marker.evaluate({"extra": ""})
        ):
            pins.append(requirement)
    return pins


@check(
    "tensorflow.system-cuda",
    "tensorflow",
    "The system cuDNN the loader finds is the one TensorFlow loads (before 2.14) or does not "
    "shadow its pip wheels (2.14 and later).",
)
def system_cuda_matches(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    found = _cuda_install(snapshot)
    libraries = snapshot.cuda_libraries
    if found is None:
        return
    if not isinstance(libraries, CudaLibrariesInfo) or not facts.nvidia_gpu_present(snapshot):
        return
    env, installed, _ = found
    release = knowledge.tensorflow_release(installed.version)
    wheel = env.version_of("nvidia-cudnn-cu12") or env.version_of("nvidia-cudnn-cu11")
    if release is not None and release.and_cuda and wheel is not None:
        yield from _shadowed_wheel(info, env, installed, libraries, wheel)
    elif release is not None and not release.and_cuda and release.cudnn:
        yield from _system_cudnn_for_old_tensorflow(info, env, installed, release, libraries)


def _shadowed_wheel(
    info: CheckInfo,
    env: PythonEnvInfo,
    installed: TensorflowInfo,
    libraries: CudaLibrariesInfo,
    wheel: str,
) -> Iterator[Finding]:
    for library in libraries.libraries:
        if library.name != "libcudnn" or library.found_via != "LD_LIBRARY_PATH":
            continue
        mismatch = cudnn_mismatch.compare(library.version or "", wheel)
        if mismatch is None:
            continue
        folder = library.path.rsplit("/", 1)[0]
        yield info.finding(
            Severity.WARNING,
            f"A cuDNN {library.version} on LD_LIBRARY_PATH shadows the cuDNN wheel "
            f"TensorFlow {installed.version} installed ({wheel})",
            f"{library.path} comes first on the loader's path; TensorFlow then loads it "
            f"instead of nvidia-cudnn-cu12 {wheel}, and fails if it is older or of another major",
            (
                f"# drop {folder} from LD_LIBRARY_PATH, e.g. for this shell:",
                f'export LD_LIBRARY_PATH="$(echo "$LD_LIBRARY_PATH" | tr : "\\n" '
                f'| grep -v -x "{folder}" | paste -sd:)"',
                f'{env.executable} -c "import tensorflow as tf; '
                "print(tf.config.list_physical_devices('GPU'))\"",
            ),
            "https://github.com/tensorflow/tensorflow/issues/60750",
        )
        return


def _system_cudnn_for_old_tensorflow(
    info: CheckInfo,
    env: PythonEnvInfo,
    installed: TensorflowInfo,
    release: knowledge.TfRelease,
    libraries: CudaLibrariesInfo,
) -> Iterator[Finding]:
    built = release.cudnn or ""
    found = [v for v in libraries.versions_of("libcudnn") if len(v.split(".")) >= 1]
    if not found:
        return  # nothing on the loader's path: conda's own lib folder may hold it
    comparisons = [cudnn_mismatch.compare(version, built) for version in found]
    if any(c is None or c.compatible for c in comparisons):
        return  # a fitting cuDNN is among those the loader finds
    mismatch = next(c for c in comparisons if c is not None)
    yield info.finding(
        Severity.WARNING,
        mismatch.describe("system cuDNN"),
        f"TensorFlow {installed.version} loads the system's cuDNN (before 2.14 it brings none); "
        f"the loader finds cuDNN {', '.join(found)}; TensorFlow {release.series} was built "
        f"with cuDNN {built} and CUDA {release.cuda}",
        cudnn_mismatch.keep_tensorflow_fix(mismatch, env.executable, installed.version),
        "https://www.tensorflow.org/install/source#gpu",
    )


@check(
    "tensorflow.release-defect",
    "tensorflow",
    "The installed TensorFlow release has no known defect that this setup runs into.",
)
def known_release_defects(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    pair = _installed(snapshot)
    if pair is None or not facts.nvidia_gpu_present(snapshot):
        return
    env, installed = pair
    family = facts.os_family(snapshot)
    library_path = dict(env.environment).get("LD_LIBRARY_PATH", "")
    for defect in knowledge.release_facts(installed.version, "defect"):
        if defect.platform == "linux" and family in {"windows", "macos"}:
            continue
        if defect.needs_nvidia_wheels and (not env.nvidia_wheels() or "/nvidia/" in library_path):
            continue
        yield info.finding(
            Severity.WARNING,
            f"TensorFlow {installed.version} has a known defect here: {defect.key}",
            defect.text,
            tuple(line.replace("{python}", env.executable) for line in defect.fix),
            defect.sources[0] if defect.sources else None,
        )


@check(
    "tensorflow.gpu-minimum",
    "tensorflow",
    "Each GPU meets the lowest compute capability the installed TensorFlow's wheels run on.",
)
def gpu_meets_release_minimum(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    found = _cuda_install(snapshot)
    if found is None:
        return
    _, installed, build = found
    if build.cuda_compute_capabilities:
        return  # the wheel's own list is known: nvidia.gpu-architecture judges it
    minimum = knowledge.min_compute_capability(installed.version)
    floor = facts.version(minimum.key) if minimum else None
    if minimum is None or floor is None:
        return
    for gpu in facts.healthy_gpus(snapshot):
        have = gpu.compute_capability
        parsed = facts.version(have)
        if have is None or parsed is None or parsed >= floor:
            continue
        yield info.finding(
            Severity.ERROR,
            f"GPU {gpu.index} ({gpu.name}, compute capability {have}) is older than TensorFlow "
            f"{installed.version} supports (≥ {minimum.key})",
            f"TensorFlow {installed.version}: {minimum.text}",
            _older_gpu_route(snapshot, have, installed.version),
            "https://www.tensorflow.org/install/pip#hardware_requirements",
        )


def _older_gpu_route(
    snapshot: Snapshot, compute_capability: str, installed: str
) -> tuple[str, ...]:
    last = knowledge.last_release_for_compute_capability(compute_capability)
    if last is None:
        return (
            f"# no TensorFlow release runs on compute capability {compute_capability}: "
            "TensorFlow can use only the CPU on this machine",
        )
    steps = [f"# TensorFlow {last.series} is the newest whose wheels run on {compute_capability}:"]
    steps.extend(
        tf_install.tensorflow_env_steps(snapshot, last, gpu=True, env_name=f"tf{last.series}")
    )
    return tuple(steps)
