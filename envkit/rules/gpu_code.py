"""Where native GPU code for a GPU comes from when the installed TensorFlow has only PTX for
it: a TensorFlow release whose wheel carries the GPU's sm_XY cubin, NVIDIA's NGC container, or
a build from source for that compute capability."""

from __future__ import annotations

from envkit import knowledge
from envkit.knowledge.versions import major_minor_key
from envkit.rules import tf_install

NGC_TENSORFLOW = "nvcr.io/nvidia/tensorflow"
SOURCE_BUILD_LINK = "https://www.tensorflow.org/install/source"


def first_release_with_code(compute_capability: str, after: str) -> knowledge.TfRelease | None:
    """The oldest series newer than ``after`` whose wheel carries sm_XY for the GPU (an sm_XY
    cubin runs on the same major with a minor of at least Y)."""
    major, _, minor = compute_capability.partition(".")
    for release in knowledge.tensorflow_releases():
        if major_minor_key(release.series) <= major_minor_key(after):
            continue
        for code in release.compute_capabilities:
            if not code.startswith("sm_"):
                continue
            digits = code.removeprefix("sm_")
            if digits[:-1] == major and minor.isdigit() and int(digits[-1]) <= int(minor):
                return release
    return None


def native_code_routes(compute_capability: str, tf_version: str) -> tuple[str, ...]:
    """Comment and command lines, most direct first."""
    cc = compute_capability
    routes: list[str] = []
    release = first_release_with_code(cc, tf_version)
    if release is not None:
        note = tf_install.newer_series_note(tf_version, release)
        routes.append(f"# native code: TensorFlow {release.series} carries code for {cc}:")
        routes.extend([note] if note else [])
        routes.append(f'pip install "tensorflow[and-cuda]=={release.series}.*"')
    else:
        newest = knowledge.newest_tensorflow()
        routes.append(
            f"# no TensorFlow wheel up to {newest.series} carries native code for {cc}; "
            "native code comes from:"
        )
    routes.append(
        f"# NVIDIA's NGC container: docker run --gpus all -it --rm {NGC_TENSORFLOW}:<YY.MM>-tf2-py3"
        f"   (pick a release whose notes list compute capability {cc})"
    )
    routes.append(
        f"# or a source build with compute capability {cc} set at ./configure ({SOURCE_BUILD_LINK})"
    )
    return tuple(routes)
