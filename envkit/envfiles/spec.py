"""What a generated environment holds, chosen from the knowledge base.

The route is TensorFlow's own: conda provides Python and pip, pip installs TensorFlow. On Linux
and WSL 2 a GPU environment asks for ``tensorflow[and-cuda]``, whose NVIDIA wheels bring CUDA
and cuDNN, so the host needs only the driver; releases before the extra (2.14) get conda-forge's
cudatoolkit and cudnn at the versions the release was tested with. Every version comes from
:mod:`envkit.knowledge`, the table the doctor's checks and advice read.
"""

from __future__ import annotations

import re
import textwrap

from envkit import knowledge
from envkit.envfiles.errors import SpecError
from envkit.knowledge.versions import major_minor, major_minor_key
from envkit.records import record

PLATFORMS = ("linux", "macos", "windows")
"""linux covers WSL 2."""
DEFAULT_CHANNELS = ("conda-forge", "nodefaults")
"""conda-forge only: the defaults channel's terms of service do not follow the file around."""
JUPYTER_PACKAGE = "notebook"
"""The tutorial runs `jupyter notebook`."""
DEFAULT_FILE_NAME = "environment.yml"
HEADER_WIDTH = 98
_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")


@record
class EnvSpec:
    """A conda environment file's content; :func:`envkit.envfiles.to_yaml` writes it."""

    name: str
    channels: tuple[str, ...]
    conda: tuple[str, ...]
    """conda match specs, in order: python=3.13, pip, ..."""
    pip: tuple[str, ...]
    """pip requirements, installed by conda after the conda packages."""
    variables: tuple[tuple[str, str], ...] = ()
    header: tuple[str, ...] = ()
    """Comment lines, without the leading '# '."""
    python: str | None = None
    tensorflow: str | None = None
    """The TensorFlow series or exact version the file pins; None if it installs none."""
    gpu: bool = False
    platform: str = "linux"
    min_driver: str | None = None
    """The oldest NVIDIA driver (Linux) the file's CUDA runs on; None for CPU files."""


@record
class _Choice:
    release: knowledge.TfRelease
    tf_pin: str
    """==2.21.* for a series, ==2.15.1 for an exact version."""
    python: str


def spec_for(
    *,
    gpu: bool,
    python: str | None = None,
    tensorflow: str | None = None,
    name: str | None = None,
    platform: str = "linux",
    jupyter: bool = True,
    file_name: str = DEFAULT_FILE_NAME,
) -> EnvSpec:
    """The environment for TensorFlow ``tensorflow`` (X.Y or X.Y.Z) on Python ``python`` (X.Y).

    Without them: the newest TensorFlow and the newest Python it has wheels for; with one, the
    best fit for it. Raises SpecError, naming what would fit, for a pair that does not.
    """
    options = _options(gpu, python, tensorflow, name, platform, jupyter)
    return build_spec(
        gpu=gpu,
        python=python,
        tensorflow=tensorflow,
        name=name,
        platform=platform,
        jupyter=jupyter,
        file_name=file_name,
        origin=f"Written by `envkit env generate {options}` from envkit's knowledge base: "
        "these versions are known to fit together.",
    )


def build_spec(
    *,
    gpu: bool,
    python: str | None,
    tensorflow: str | None,
    name: str | None,
    platform: str,
    jupyter: bool,
    file_name: str,
    origin: str,
) -> EnvSpec:
    """spec_for with the header's second line (where the file comes from) given."""
    if platform not in PLATFORMS:
        raise SpecError(f"platform must be one of {', '.join(PLATFORMS)}, not {platform!r}")
    choice = choose(python, tensorflow)
    _check_gpu_platform(choice.release, gpu=gpu, platform=platform)
    env_name = name or f"tf-{'gpu' if gpu else 'cpu'}"
    _check_name(env_name)
    conda = (f"python={choice.python}", "pip", *_conda_cuda(choice.release, gpu, platform))
    pip = (*_tensorflow_lines(choice, gpu, platform), *_numpy_lines(choice.release))
    pip += (JUPYTER_PACKAGE,) if jupyter else ()
    return EnvSpec(
        name=env_name,
        channels=DEFAULT_CHANNELS,
        conda=conda,
        pip=pip,
        header=_header(choice, gpu, platform, jupyter, env_name, file_name, origin),
        python=choice.python,
        tensorflow=choice.tf_pin.removeprefix("==").removesuffix(".*"),
        gpu=gpu,
        platform=platform,
        min_driver=_min_driver(choice.release, platform) if gpu else None,
    )


# ---------------------------------------------------------------- choosing the pair


def choose(python: str | None, tensorflow: str | None) -> _Choice:
    if python is not None:
        _check_version(python, "--python", "3.12")
    if tensorflow is not None:
        _check_version(tensorflow, "--tensorflow", "2.21")
    release = _release_for(python, tensorflow)
    series = major_minor(python) if python else release.python_wheels[-1]
    if series is None or series not in release.python_wheels:
        raise SpecError(_unfit_message(release, python or ""))
    exact = tensorflow is not None and tensorflow.count(".") >= 2
    return _Choice(
        release, f"=={tensorflow}" if exact else f"=={release.series}.*", python or series
    )


def _release_for(python: str | None, tensorflow: str | None) -> knowledge.TfRelease:
    if tensorflow is not None:
        release = knowledge.tensorflow_release(tensorflow)
        if release is None:
            known = knowledge.tensorflow_releases()
            raise SpecError(
                f"envkit knows no TensorFlow {tensorflow}; it knows "
                f"{known[0].series} to {known[-1].series}"
            )
        return release
    if python is not None:
        release = knowledge.newest_tensorflow_for_python(python)
        if release is None:
            newest = knowledge.newest_tensorflow()
            raise SpecError(
                f"no TensorFlow has wheels for Python {python}; the newest, "
                f"{newest.series}, supports Python {', '.join(newest.python_wheels)}"
            )
        return release
    return knowledge.newest_tensorflow()


def _unfit_message(release: knowledge.TfRelease, python: str) -> str:
    message = (
        f"TensorFlow {release.series} has no wheels for Python {python}; it supports Python "
        f"{', '.join(release.python_wheels)}"
    )
    other = knowledge.newest_tensorflow_for_python(python)
    if other is not None:
        message += f", and the newest TensorFlow for Python {python} is {other.series}"
    return message


def _check_version(text: str, option: str, example: str) -> None:
    if not _VERSION.match(text):
        raise SpecError(f"{option} takes a version such as {example}, not {text!r}")


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise SpecError(f"an environment name has letters, digits, . _ and - only, not {name!r}")


def _check_gpu_platform(release: knowledge.TfRelease, *, gpu: bool, platform: str) -> None:
    if not gpu:
        return
    if platform == "macos":
        raise SpecError("macOS has no CUDA; --cpu on macOS adds tensorflow-metal for Apple GPUs")
    if platform == "windows" and not release.windows_native_gpu:
        last = knowledge.platform_fact("windows-native-gpu-last")
        newest = last.value if last and last.value else "2.10"
        raise SpecError(
            f"TensorFlow {release.series} uses no GPU on native Windows; use --platform linux "
            f"inside WSL 2, or --tensorflow {newest} (the last with native Windows GPU support)"
        )


def _options(
    gpu: bool,
    python: str | None,
    tensorflow: str | None,
    name: str | None,
    platform: str,
    jupyter: bool,
) -> str:
    parts = ["--gpu" if gpu else "--cpu"]
    parts += [f"--python {python}"] if python else []
    parts += [f"--tensorflow {tensorflow}"] if tensorflow else []
    parts += [f"--name {name}"] if name else []
    parts += [f"--platform {platform}"] if platform != "linux" else []
    parts += [] if jupyter else ["--no-jupyter"]
    return " ".join(parts)


# ---------------------------------------------------------------- the packages


def _conda_cuda(release: knowledge.TfRelease, gpu: bool, platform: str) -> tuple[str, ...]:
    """conda-forge's CUDA and cuDNN, only for GPU releases before the and-cuda extra."""
    if not gpu or release.and_cuda:
        return ()
    if platform == "windows" and release.windows_gpu is not None:
        return (f"cudatoolkit={release.windows_gpu.cuda}", f"cudnn={release.windows_gpu.cudnn}")
    if release.cuda and release.cudnn:
        return (f"cudatoolkit={release.cuda}", f"cudnn={release.cudnn}")
    return ()


def _tensorflow_lines(choice: _Choice, gpu: bool, platform: str) -> tuple[str, ...]:
    release = choice.release
    if platform == "macos":
        return _macos_lines(choice)
    if gpu and platform == "linux" and release.and_cuda:
        return (f"tensorflow[and-cuda]{choice.tf_pin}",)
    package = release.gpu_package if gpu else "tensorflow"
    return (f"{package}{choice.tf_pin}",)


def _macos_lines(choice: _Choice) -> tuple[str, ...]:
    metal = metal_version(choice.release.series)
    apple_silicon = knowledge.platform_fact("macos-apple-silicon")
    first = apple_silicon.value if apple_silicon and apple_silicon.value else None
    before_tensorflow = first is not None and major_minor_key(
        choice.release.series
    ) < major_minor_key(first)
    package = "tensorflow-macos" if metal and before_tensorflow else "tensorflow"
    lines = (f"{package}{choice.tf_pin}",)
    return (*lines, f"tensorflow-metal=={metal}") if metal else lines


def metal_version(series: str) -> str | None:
    """The tensorflow-metal release for a TensorFlow series, from the knowledge base's table."""
    fact = knowledge.platform_fact("tensorflow-metal-versions")
    chosen = None
    for entry in (fact.value or "").split(",") if fact else ():
        version, _, covered = entry.partition(":")
        if _covers(covered.strip(), series):
            chosen = version.strip()
    return chosen


def _covers(covered: str, series: str) -> bool:
    key = major_minor_key(series)
    if covered.endswith("+"):
        return key >= major_minor_key(covered[:-1])
    low, _, high = covered.partition("-")
    return major_minor_key(low) <= key <= major_minor_key(high or low)


def _numpy_lines(release: knowledge.TfRelease) -> tuple[str, ...]:
    """numpy<2 for releases built against NumPy 1, whatever their metadata allows."""
    return () if release.supports_numpy_2 else ("numpy<2",)


# ---------------------------------------------------------------- the header


def _min_driver(release: knowledge.TfRelease, platform: str) -> str | None:
    requirement = _driver(release, platform)
    if requirement is None:
        return None
    return requirement.minor_compat_min_driver or requirement.toolkit_min_driver


def _driver(release: knowledge.TfRelease, platform: str) -> knowledge.DriverRequirement | None:
    if platform == "windows" and release.windows_gpu is not None:
        return knowledge.driver_requirement(release.windows_gpu.cuda, "windows")
    return knowledge.driver_requirement(release.cuda, "linux") if release.cuda else None


def _driver_text(requirement: knowledge.DriverRequirement | None) -> str:
    if requirement is None:
        return "an NVIDIA driver (envkit's table has no minimum for this CUDA)"
    full = requirement.toolkit_min_driver
    floor = requirement.minor_compat_min_driver
    major = requirement.cuda.split(".")[0]
    if floor and full and floor != full:
        return (
            f"NVIDIA driver {floor} or newer (any CUDA {major} driver, by minor version "
            f"compatibility); {full} or newer for full CUDA {requirement.cuda} support"
        )
    shown = full or floor or "?"
    return f"NVIDIA driver {shown} or newer (CUDA {requirement.cuda})"


def _header(
    choice: _Choice,
    gpu: bool,
    platform: str,
    jupyter: bool,
    name: str,
    file_name: str,
    origin: str,
) -> tuple[str, ...]:
    release = choice.release
    where = {"linux": "Linux or WSL 2", "macos": "macOS", "windows": "native Windows"}[platform]
    metal = platform == "macos" and metal_version(release.series)
    kind = "NVIDIA GPU" if gpu else ("CPU and Apple GPU (tensorflow-metal)" if metal else "CPU")
    shown = choice.tf_pin.removeprefix("==").removesuffix(".*")
    lines = [
        f"{file_name}: TensorFlow {shown} for {kind} on {where}, Python {choice.python}.",
        origin,
        *_gpu_lines(release, gpu, platform),
        "Jupyter: the notebook package is included (--no-jupyter leaves it out)."
        if jupyter
        else "Jupyter is not included (generate without --no-jupyter to add it).",
        "Use it:",
        f"  conda env create -f {file_name}",
        f"  conda activate {name}",
        "  envkit doctor --smoke",
    ]
    return tuple(wrapped for line in lines for wrapped in _wrap(line))


def _wrap(line: str) -> list[str]:
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    return textwrap.wrap(
        line, HEADER_WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    ) or [line]


# distro (#16): the driver comes from the machine's own distribution.
_DRIVER_ROUTE = (
    "  Install it from your distribution (Ubuntu: sudo ubuntu-drivers install; Debian, Fedora, "
    "RHEL, Arch, openSUSE: their own packages): `envkit doctor` prints the commands for this "
    "machine and its GPU's last driver branch."
)


def _gpu_lines(release: knowledge.TfRelease, gpu: bool, platform: str) -> list[str]:
    if not gpu:
        return []
    if release.and_cuda and platform == "linux":
        wsl = knowledge.driver_requirement(release.cuda or "", "windows")
        return [
            "CUDA and cuDNN come as pip wheels (tensorflow[and-cuda]); the host needs only the "
            "NVIDIA driver:",
            f"  Linux: {_driver_text(_driver(release, platform))}.",
            _DRIVER_ROUTE,
            f"  WSL 2: the Windows {_driver_text(wsl)}; install no NVIDIA driver inside WSL.",
        ]
    cuda, cudnn = _conda_cuda(release, gpu, platform)
    return [
        f"CUDA and cuDNN come from conda-forge ({cuda}, {cudnn}): TensorFlow "
        f"{release.series} predates the and-cuda extra. The host needs the "
        f"{_driver_text(_driver(release, platform))}.",
        _DRIVER_ROUTE,
        "If TensorFlow does not find them: export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:"
        "$LD_LIBRARY_PATH",
    ]
