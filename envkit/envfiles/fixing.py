"""`envkit env check --fix`: the checked file, rewritten so that its versions fit.

The TensorFlow part (Python, TensorFlow, its CUDA, Keras and NumPy lines) is replaced by what
the generator writes for the file's TensorFlow series; a 1.x, unknown or unpinned TensorFlow
is upgraded to the newest release (the upgrade path). Everything else the file asks for (its
name, channels, variables and other packages) is kept as written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from envkit import knowledge
from envkit.envfiles import line_edit
from envkit.envfiles.checks import (
    CONDA_CUDA_NAMES,
    TENSORFLOW_NAMES,
    CheckResult,
    admitted_releases,
)
from envkit.envfiles.deps import PIP, Dep, exact_version, only_majors
from envkit.envfiles.emit import to_yaml
from envkit.envfiles.errors import EnvFileError
from envkit.envfiles.reading import REQUIREMENTS
from envkit.envfiles.spec import DEFAULT_FILE_NAME, EnvSpec, build_spec

_ALWAYS_REPLACED = frozenset(
    {*TENSORFLOW_NAMES, *CONDA_CUDA_NAMES, "python", "pip", "tensorflow-metal", "tf-keras"}
)


def fix(
    result: CheckResult,
    *,
    tensorflow: str | None = None,
    python: str | None = None,
    gpu: bool | None = None,
    platform: str = "linux",
    file_name: str | None = None,
) -> str:
    """The corrected text of the checked file: an environment.yml, or a requirements.txt for
    a requirements file. ``gpu`` defaults to what the file asks for; ``tensorflow`` and
    ``python`` override the choice. Raises EnvFileError when the file cannot be fixed (YAML
    that does not parse, no TensorFlow in it) and SpecError for an override that does not fit.
    """
    doc = result.document
    if not doc.readable:
        raise EnvFileError(f"{doc.path} is not valid YAML; fix the line the error names first")
    tf_dep = next((dep for dep in doc.deps if dep.name in TENSORFLOW_NAMES), None)
    if tf_dep is None:
        raise EnvFileError(f"{doc.path} installs no TensorFlow; there is nothing envkit can fix")
    target, target_python = _target(result, tf_dep, tensorflow, python)
    spec = build_spec(
        gpu=result.gpu if gpu is None else gpu,
        python=target_python,
        tensorflow=target,
        name=doc.name,
        platform=platform,
        jupyter=False,
        file_name=file_name or Path(doc.path).name or DEFAULT_FILE_NAME,
        origin=f"Corrected by `envkit env check --fix` from {Path(doc.path).name}; the lines "
        "envkit does not manage are kept as they were.",
    )
    managed = _managed(spec, result)
    if doc.text and doc.kind == REQUIREMENTS:
        return line_edit.edit_requirements(doc.text, managed)
    edited = line_edit.edit_conda(doc.text, managed) if doc.text else None
    if edited is not None:
        return edited
    merged = _merge(spec, result)  # a layout line edits cannot keep: the whole file, rewritten
    return to_yaml(merged) if doc.kind != REQUIREMENTS else _requirements_text(merged)


def _target(
    result: CheckResult, tf_dep: Dep, tensorflow: str | None, python: str | None
) -> tuple[str | None, str | None]:
    """(TensorFlow, Python) for spec_for: the file's series where it is a 2.x release envkit
    knows, else None (the newest); the file's Python where that series has wheels for it."""
    if tensorflow is None:
        release = result.release
        keep = (
            release is not None
            and release.gpu_package == "tensorflow"
            and not tf_dep.unpinned
            and bool(admitted_releases(tf_dep))
        )
        exact = exact_version(tf_dep)
        tensorflow = (exact or release.series) if keep and release else None
    if python is None and result.python is not None:
        chosen = knowledge.tensorflow_release(tensorflow) if tensorflow else None
        fits = (chosen or knowledge.newest_tensorflow()).has_wheel_for(result.python)
        python = result.python if fits else None
    return tensorflow, python


def _managed(spec: EnvSpec, result: CheckResult) -> line_edit.Managed:
    """The lines the fix writes and the file's lines they replace; all others are kept."""
    doc = result.document
    release = knowledge.tensorflow_release(spec.tensorflow or "")
    replaced = frozenset(
        dep.line for dep in doc.deps if dep.line is not None and _replaced(dep, spec, release)
    )
    pip_extra: list[str] = []
    variables: list[tuple[str, str]] = []
    if release is not None and _wants_keras_2(doc.deps, release):
        requirement = knowledge.tf_keras_requirement(release.version)
        pip_extra += [requirement] if requirement else []
        name, values = knowledge.legacy_keras_environment()
        variables.append((name, values[0]))
    header = tuple(line for line in spec.header if not line.startswith("Jupyter"))
    if doc.kind == REQUIREMENTS:
        return line_edit.Managed(
            conda=(),
            pip=spec.pip + tuple(pip_extra),
            replaced_lines=replaced,
            header=_requirements_header(spec),
        )
    return line_edit.Managed(
        conda=spec.conda,
        pip=spec.pip + tuple(pip_extra),
        replaced_lines=replaced,
        channels=() if doc.channels else spec.channels,
        variables=tuple(variables),
        header=header,
        name=spec.name,
    )


def _merge(spec: EnvSpec, result: CheckResult) -> EnvSpec:
    doc = result.document
    release = knowledge.tensorflow_release(spec.tensorflow or "")
    keep = [dep for dep in doc.deps if not _replaced(dep, spec, release)]
    pip_extra: list[str] = []
    variables = list(doc.variables)
    if release is not None and _wants_keras_2(doc.deps, release):
        requirement = knowledge.tf_keras_requirement(release.version)
        pip_extra += [requirement] if requirement else []
        name, values = knowledge.legacy_keras_environment()
        variables = [(k, v) for k, v in variables if k != name] + [(name, values[0])]
    header = tuple(line for line in spec.header if not line.startswith("Jupyter"))
    return dataclasses.replace(
        spec,
        channels=doc.channels or spec.channels,
        conda=spec.conda + tuple(dep.raw for dep in keep if dep.source != PIP),
        pip=spec.pip + tuple(pip_extra) + tuple(dep.raw for dep in keep if dep.source == PIP),
        variables=tuple(variables),
        header=header,
    )


def _replaced(dep: Dep, spec: EnvSpec, release: knowledge.TfRelease | None) -> bool:
    if dep.name in _ALWAYS_REPLACED or _is_cuda_wheel(dep.name):
        return True
    if dep.name == "numpy":
        return "numpy<2" in spec.pip or only_majors(dep, (0, 1))
    if dep.name == "keras":
        return dep.source != PIP or release is None or not _keras_fits(dep, release)
    return False


def _keras_fits(dep: Dep, release: knowledge.TfRelease) -> bool:
    if release.keras_bundled:
        return False
    majors = (0, 1, 2) if release.keras_major_default < 3 else range(3, 10)
    return only_majors(dep, majors)


def _wants_keras_2(deps: tuple[Dep, ...], release: knowledge.TfRelease) -> bool:
    """The file pinned Keras 2 (or tf-keras), and the target's tf.keras is Keras 3."""
    if release.keras_major_default < 3:
        return False
    return any(
        dep.name == "tf-keras" or (dep.name == "keras" and only_majors(dep, (0, 1, 2)))
        for dep in deps
    )


def _is_cuda_wheel(name: str) -> bool:
    return (
        name.startswith("nvidia-") and name.rsplit("-", 1)[-1] in {"cu11", "cu12", "cu13"}
    ) or name.startswith("tensorrt")


def _requirements_text(spec: EnvSpec) -> str:
    return "\n".join([*(f"# {line}" for line in _requirements_header(spec)), *spec.pip]) + "\n"


def _requirements_header(spec: EnvSpec) -> tuple[str, ...]:
    skip = ("Use it:", "  conda ", "  envkit ", "Jupyter")
    header = [line for line in spec.header if not line.startswith(skip)]
    header.append(f"Python {spec.python}: pip install -r this file in a fresh environment.")
    from_conda = [line for line in spec.conda if line.split("=")[0] not in ("python", "pip")]
    if from_conda:
        header.append(
            "Not installable by pip, install first: "
            f"conda install -c conda-forge {' '.join(from_conda)}"
        )
    return tuple(header)
