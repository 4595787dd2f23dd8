"""A cuDNN (or CUDA) library of another version than TensorFlow was built with: which way the
mismatch goes, both versions named, and a fix that keeps the user's TensorFlow.

cuDNN's rule, as TensorFlow states it when it refuses: the loaded library needs the same major
version and an equal or higher minor version than the one the source was compiled with. So an
older library, or one of another major, fails; a newer minor of the same major loads.
"""

from __future__ import annotations

import re

from envkit import knowledge
from envkit.knowledge.versions import numeric_parts
from envkit.records import record
from envkit.rules import tf_install

_LOADED_VS_COMPILED = re.compile(
    r"Loaded runtime CuDNN library:\s*(?P<loaded>[\d.]+).*?compiled with:?\s*(?P<compiled>[\d.]+)",
    re.IGNORECASE,
)


@record
class Mismatch:
    loaded: str
    built: str
    direction: str
    """older, newer-major (a newer major: incompatible), older-major, newer-minor (loads)."""

    @property
    def compatible(self) -> bool:
        return self.direction == "newer-minor"

    def describe(self, library: str = "cuDNN") -> str:
        """'The cuDNN loaded (8.0.5) is older than the 8.1.0 TensorFlow was built with'."""
        what = {
            "older": "older than",
            "older-major": "an older major version than",
            "newer-major": "a newer major version than",
            "newer-minor": "newer (same major) than",
        }[self.direction]
        return (
            f"The {library} loaded ({self.loaded}) is {what} the {self.built} TensorFlow "
            "was built with"
        )


def compare(loaded: str, built: str) -> Mismatch | None:
    """None when the two are the same version (to the digits both give)."""
    have, want = numeric_parts(loaded), numeric_parts(built)
    if not have or not want:
        return None
    width = min(len(have), len(want))
    if have[:width] == want[:width]:
        return None
    if have[0] != want[0]:
        direction = "newer-major" if have[0] > want[0] else "older-major"
    else:
        direction = "newer-minor" if have > want else "older"
    return Mismatch(loaded, built, direction)


def from_log_line(line: str) -> Mismatch | None:
    """The versions of TensorFlow's 'Loaded runtime CuDNN library: X but source was compiled
    with: Y' line (1.x and 2.x spell it alike)."""
    match = _LOADED_VS_COMPILED.search(line)
    if match is None:
        return None
    return compare(_dotted(match.group("loaded")), _dotted(match.group("compiled")))


def _dotted(version: str) -> str:
    """TensorFlow before 1.13 printed cuDNN as one number: 7201 is 7.2.1, 5103 is 5.1.3."""
    version = version.rstrip(".")
    if "." in version or len(version) < 4 or not version.isdigit():
        return version
    number = int(version)
    return f"{number // 1000}.{number % 1000 // 100}.{number % 100}"


def keep_tensorflow_fix(mismatch: Mismatch, python: str, tf_version: str | None) -> tuple[str, ...]:
    """Steps that bring the cuDNN TensorFlow ``tf_version`` was built with, keeping it."""
    release = knowledge.tensorflow_release(tf_version) if tf_version else None
    built_major = str(numeric_parts(mismatch.built)[0])
    steps: list[str] = []
    if release is not None and release.and_cuda:
        steps.append(
            f'{python} -m pip install "tensorflow[and-cuda]=={tf_version}"   '
            "# its pins bring the matching cuDNN wheel"
        )
    elif release is not None and release.cudnn:
        steps.append(
            f"conda install -c conda-forge cudatoolkit={release.cuda} cudnn={release.cudnn} "
            f"--yes   # the CUDA/cuDNN TensorFlow {release.series} was tested with"
        )
    else:
        steps.append(
            f"# install cuDNN {mismatch.built} (major {built_major}), as TensorFlow was built with"
        )
    loader = (
        "# and make sure no other libcudnn (system /usr/lib, /usr/local/cuda, conda, another "
        "framework's pin) comes first on LD_LIBRARY_PATH or in ldconfig -p"
    )
    steps.append(loader)
    if mismatch.direction == "newer-major" and release is not None:
        newer = _newest_built_with_cudnn_major(numeric_parts(mismatch.loaded)[0])
        if newer is not None and newer.series != release.series:
            note = tf_install.newer_series_note(tf_version, newer)
            steps.append(
                f"# or keep cuDNN {mismatch.loaded} and move to TensorFlow {newer.series}, "
                f"built with cuDNN {newer.cudnn}" + (f" ({note.lstrip('# ')})" if note else "")
            )
    return tuple(steps)


def _newest_built_with_cudnn_major(major: int) -> knowledge.TfRelease | None:
    fitting = [
        release
        for release in knowledge.tensorflow_releases()
        if release.cudnn and numeric_parts(release.cudnn)[:1] == (major,)
    ]
    return fitting[-1] if fitting else None
