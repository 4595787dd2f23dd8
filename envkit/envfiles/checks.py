"""`envkit env check`: what would go wrong with an environment file, as the doctor's findings.

Every version the checks compare against comes from :mod:`envkit.knowledge`, the table the
doctor and the generator read, so a file :func:`envkit.envfiles.spec_for` writes passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from envkit import knowledge
from envkit.envfiles import catalog
from envkit.envfiles.deps import (
    CONDA,
    Dep,
    admitted_series,
    exact_version,
    only_majors,
    pin_specifier,
)
from envkit.envfiles.reading import EnvDocument, read_document
from envkit.exit_codes import ExitCode
from envkit.knowledge import lifecycle
from envkit.knowledge.versions import major_minor_key, numeric_parts
from envkit.model import Finding, Severity
from envkit.records import record

TENSORFLOW_NAMES = (
    "tensorflow",
    "tensorflow-gpu",
    "tensorflow-cpu",
    "tensorflow-macos",
    "tensorflow-intel",
    "tensorflow-aarch64",
    "tensorflow-cpu-aws",
)
"""Distributions that provide the tensorflow module (tensorflow-metal is a plugin, not one)."""
CONDA_CUDA_NAMES = ("cudatoolkit", "cudnn")
KERAS_3_LINK = "https://keras.io/getting_started/#tensorflow--keras-2-backwards-compatibility"
NUMPY_2_LINK = "https://github.com/tensorflow/tensorflow/issues/67291"
PIP_INSTALL_LINK = "https://www.tensorflow.org/install/pip"


@record
class EnvFileReport:
    """The findings on one file, and what the checks took the file to ask for."""

    document: EnvDocument
    findings: tuple[Finding, ...]
    """Errors first, then warnings, then infos; in file order within each."""
    release: knowledge.TfRelease | None
    """The TensorFlow series the file gets (the newest it admits for its Python); None if none."""
    python: str | None
    """The Python series the file gets; None where it does not say (requirements.txt)."""
    gpu: bool
    """The file asks for a GPU build (tensorflow-gpu, and-cuda, cudatoolkit, NVIDIA wheels)."""

    @property
    def path(self) -> str:
        return self.document.path

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    @property
    def exit_status(self) -> int:
        """As the doctor's: 0 when nothing is an error (warnings allowed), 1 otherwise."""
        return 1 if self.count(Severity.ERROR) else 0

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(self.exit_status)


CheckResult = EnvFileReport
"""The old name of EnvFileReport, kept while other branches move to the new one."""


@record
class _Context:
    doc: EnvDocument
    python: str | None
    tf_dep: Dep | None
    release: knowledge.TfRelease | None


def check_file(path: Path) -> CheckResult:
    """Read and check ``path``; EnvFileError (one line) when it is not an environment file."""
    return check_document(read_document(path))


def check_document(doc: EnvDocument) -> CheckResult:
    if not doc.readable:
        return CheckResult(doc, doc.problems, None, None, False)
    context = _context(doc)
    findings = [*doc.problems, *_python_findings(context), *_tensorflow_findings(context)]
    ordered = sorted(findings, key=lambda f: f.severity.rank)
    return CheckResult(doc, tuple(ordered), context.release, context.python, wants_gpu(doc))


def wants_gpu(doc: EnvDocument) -> bool:
    return any(
        dep.name == "tensorflow-gpu"
        or "and-cuda" in dep.extras
        or dep.name in CONDA_CUDA_NAMES
        or _is_nvidia_wheel(dep.name)
        for dep in doc.deps
    )


# ---------------------------------------------------------------- what the file gets


@cache
def python_series_known() -> tuple[str, ...]:
    series = {
        python
        for release in knowledge.tensorflow_releases()
        for python in (*release.python_wheels, *release.python_tested)
    }
    return tuple(sorted(series, key=major_minor_key))


def _context(doc: EnvDocument) -> _Context:
    python = _python_of(doc)
    tf_deps = doc.named(*TENSORFLOW_NAMES)
    tf_dep = tf_deps[0] if tf_deps else None
    release = _release_of(tf_dep, python) if tf_dep else None
    return _Context(doc, python, tf_dep, release)


def _python_deps(doc: EnvDocument) -> tuple[Dep, ...]:
    return tuple(dep for dep in doc.conda_deps() if dep.name == "python")


def _python_dep(doc: EnvDocument) -> Dep | None:
    """The bounded python line where there is one (else the first): the one that decides."""
    found = _python_deps(doc)
    bounded = [dep for dep in found if not dep.unpinned]
    chosen = bounded or list(found)
    return chosen[0] if chosen else None


def _python_of(doc: EnvDocument) -> str | None:
    """The series conda installs: the newest that every python line admits, where one is
    bounded; None when none is bounded or the lines admit no common series."""
    deps = _python_deps(doc)
    if not deps or all(dep.unpinned for dep in deps):
        return None
    common = _common_python_series(deps)
    return max(common, key=major_minor_key) if common else None


def _common_python_series(deps: tuple[Dep, ...]) -> list[str]:
    pool = {series for dep in deps for series in admitted_series(dep, python_series_known())}
    return [series for series in pool if all(dep.admits_series(series) for dep in deps)]


def admitted_releases(dep: Dep) -> tuple[knowledge.TfRelease, ...]:
    exact = exact_version(dep)
    if exact is not None:
        release = knowledge.tensorflow_release(exact)
        return (release,) if release is not None else ()
    return tuple(r for r in knowledge.tensorflow_releases() if dep.admits_series(r.series))


def _release_of(dep: Dep, python: str | None) -> knowledge.TfRelease | None:
    """The series pip (or conda) would pick: the newest admitted, with a wheel for the Python."""
    admitted = admitted_releases(dep)
    fitting = [r for r in admitted if python is None or r.has_wheel_for(python)]
    chosen = fitting or list(admitted)
    return chosen[-1] if chosen else None


# ---------------------------------------------------------------- Python


def _python_findings(context: _Context) -> Iterator[Finding]:
    doc = context.doc
    if doc.kind != CONDA:
        return
    conflict = _python_conflict(doc)
    if conflict is not None:
        yield conflict
        return
    dep = _python_dep(doc)
    target = context.release or knowledge.newest_tensorflow()
    if dep is not None and context.python is not None:
        yield from _python_eol_findings(dep, context.python, context.release)
    if dep is None or dep.unpinned:
        shown = dep.where if dep else "no python among the dependencies"
        yield catalog.PYTHON_UNPINNED.finding(
            Severity.WARNING,
            "Python is not pinned; conda will install the newest it has",
            f"{shown}; TensorFlow {target.series} has wheels for Python "
            f"{', '.join(target.python_wheels)} only, and a newer Python breaks pip's step",
            (f"- python={target.python_wheels[-1]}   # in dependencies:",),
        )
        return
    release = context.release
    if release is None or context.python is None or release.has_wheel_for(context.python):
        return
    yield _python_version_finding(dep, context.python, release, context.tf_dep)


def _python_conflict(doc: EnvDocument) -> Finding | None:
    """Two python lines no one version satisfies: conda refuses to solve the file."""
    deps = _python_deps(doc)
    if len(deps) < 2 or _common_python_series(deps):
        return None
    blocking = next(
        (
            (first, second)
            for index, first in enumerate(deps)
            for second in deps[index + 1 :]
            if not _common_python_series((first, second))
        ),
        (deps[0], deps[1]),
    )
    first, second = blocking
    return catalog.PYTHON_CONFLICT.finding(
        Severity.ERROR,
        f"The python pins conflict: {first.raw} and {second.raw}",
        f"{first.where} and {second.where} admit no common Python, so conda cannot solve "
        "the environment",
        (f"# keep one of them: remove {second.where}, or {first.where}",),
    )


def _python_eol_findings(
    dep: Dep, python: str, release: knowledge.TfRelease | None
) -> Iterator[Finding]:
    today = dt.datetime.now(dt.timezone.utc).date()
    life = lifecycle.python_lifetime(python)
    if life is None or not life.ended(today) or life.eol is None:
        return
    newest = knowledge.newest_tensorflow()
    current = newest.python_wheels[-2] if len(newest.python_wheels) > 1 else newest.python_wheels[0]
    yield catalog.PYTHON_EOL.finding(
        Severity.WARNING,
        f"Python {python} reached its end of life on {life.eol.isoformat()}",
        f"{dep.where}: Python {python} gets no security fixes since {life.eol.isoformat()}; "
        f"TensorFlow {newest.series} supports Python {', '.join(newest.python_wheels)}",
        _python_eol_fix(dep, current, release),
        "https://devguide.python.org/versions/",
    )


def _python_eol_fix(dep: Dep, current: str, release: knowledge.TfRelease | None) -> tuple[str, ...]:
    fix: tuple[str, ...] = (f"# {dep.where} ->", f"- python={current}")
    if release is not None and not release.has_wheel_for(current):
        fix += (
            f"# together with a TensorFlow for Python {current} (TensorFlow {release.series} "
            f"stops at Python {release.python_wheels[-1]}): see the TensorFlow findings",
        )
    return fix


def _python_version_finding(
    dep: Dep, python: str, release: knowledge.TfRelease, tf_dep: Dep | None
) -> Finding:
    fix = [f"# {dep.where} -> a Python TensorFlow {release.series} supports:"]
    fix.append(f"- python={release.python_wheels[-1]}")
    other = knowledge.newest_tensorflow_for_python(python)
    if other is not None and tf_dep is not None:
        fix.append(f"# or keep Python {python} with TensorFlow {other.series}, the newest for it:")
        fix.append(f"- {_with_version(tf_dep, other.series)}")
    return catalog.PYTHON_VERSION.finding(
        Severity.ERROR,
        f"TensorFlow {release.series} has no wheels for Python {python}",
        f"{dep.where}; TensorFlow {release.series} supports Python "
        f"{', '.join(release.python_wheels)}, so pip finds no TensorFlow to install",
        tuple(fix),
        "https://www.tensorflow.org/install/pip#software_requirements",
    )


def _with_version(dep: Dep, series: str) -> str:
    """The line ``dep`` rewritten to pin ``series``."""
    if dep.source == CONDA:
        return f"{dep.name}={series}"
    extras = f"[{','.join(dep.extras)}]" if dep.extras else ""
    return f"{dep.name}{extras}=={series}.*"


# ---------------------------------------------------------------- TensorFlow


def _tensorflow_findings(context: _Context) -> Iterator[Finding]:
    dep, release = context.tf_dep, context.release
    if dep is None:
        yield catalog.TENSORFLOW_MISSING.finding(
            Severity.INFO,
            "The file installs no TensorFlow",
            "no tensorflow, tensorflow-gpu or tensorflow-cpu line; the TensorFlow checks are "
            "skipped",
        )
        return
    if release is None:
        yield _unknown_finding(dep)
        return
    if dep.unpinned:
        yield _unpinned_finding(dep, release, context.python)
    yield from _tensorflow_gpu_findings(context.doc, release)
    yield from _cuda_findings(context.doc, release, dep)
    yield from _keras_findings(context.doc, release)
    yield from _numpy_findings(context.doc, release, context.python)


def _unknown_finding(dep: Dep) -> Finding:
    known = knowledge.tensorflow_releases()
    newest = known[-1]
    return catalog.TENSORFLOW_UNKNOWN.finding(
        Severity.WARNING,
        "The TensorFlow asked for is not a release envkit knows",
        f"{dep.where} admits none of TensorFlow {known[0].series} to {newest.series}",
        (f"- {_with_version(dep, newest.series)}",),
        "https://pypi.org/project/tensorflow/#history",
    )


def _unpinned_finding(dep: Dep, release: knowledge.TfRelease, python: str | None) -> Finding:
    today = f" (today {release.series}" + (f" for Python {python})" if python else ")")
    return catalog.TENSORFLOW_UNPINNED.finding(
        Severity.WARNING,
        "TensorFlow is not pinned; the file installs whatever is newest when it is used",
        f"{dep.where} has no upper bound, so the same file gives another TensorFlow{today} "
        "next year, with another Keras, NumPy and CUDA",
        (f"# {dep.where} ->", f"- {_with_version(dep, release.series)}"),
    )


def _tensorflow_gpu_findings(doc: EnvDocument, release: knowledge.TfRelease) -> Iterator[Finding]:
    for dep in doc.named("tensorflow-gpu"):
        one_x = release.gpu_package == "tensorflow-gpu"
        newest = knowledge.newest_tensorflow()
        if one_x:
            title = f"tensorflow-gpu {release.series} is TensorFlow 1.x, end of life"
            evidence = (
                f"{dep.where}: TensorFlow 1.x gets no fixes; {release.series} has wheels for "
                f"Python {', '.join(release.python_wheels)} only and needs CUDA {release.cuda}. "
                f"TensorFlow {newest.series} has the GPU build in the tensorflow package"
            )
        else:
            title = "tensorflow-gpu is obsolete; the tensorflow package has the GPU build"
            evidence = (
                f"{dep.where}: since TensorFlow 2.1 tensorflow supports GPUs; tensorflow-gpu "
                "stopped at 2.11 and later versions are empty packages that refuse to install"
            )
        fix = (f"# {dep.where} ->", *_gpu_line(doc, newest if one_x else release))
        if one_x:
            fix = (
                f"# to keep TensorFlow {release.series} (old code), leave {dep.where}: conda's "
                f"tensorflow-gpu brings its CUDA {release.cuda} and cuDNN {release.cudnn}",
                f"# or move to TensorFlow {newest.series}, a new major: 1.x code needs changes "
                "(https://www.tensorflow.org/guide/migrate):",
                *fix,
            )
        yield catalog.TENSORFLOW_GPU.finding(
            Severity.WARNING if one_x else Severity.ERROR,
            title,
            evidence,
            fix,
            PIP_INSTALL_LINK,
        )


def _gpu_line(doc: EnvDocument, release: knowledge.TfRelease) -> tuple[str, ...]:
    extra = "[and-cuda]" if release.and_cuda else ""
    return _pip_lines(doc, f"tensorflow{extra}=={release.series}.*")


def _pip_lines(doc: EnvDocument, *requirements: str) -> tuple[str, ...]:
    """Requirements as the file writes them: under - pip: in a conda file, bare in pip's."""
    if doc.kind != CONDA:
        return requirements
    return ("- pip:", *(f"    - {requirement}" for requirement in requirements))


def _cuda_findings(
    doc: EnvDocument, release: knowledge.TfRelease, tf_dep: Dep
) -> Iterator[Finding]:
    wanted = {"cudatoolkit": release.cuda, "cudnn": release.cudnn}
    for dep in doc.named(*CONDA_CUDA_NAMES):
        version = wanted[dep.name]
        if version is None:
            continue
        named = dep.named_versions()
        if named and any(_same_prefix(v, version) for v in named):
            continue
        how = (
            f"admits the newest {dep.name}"
            if not named
            else f"asks for {dep.name} {', '.join(named)}"
        )
        if release.and_cuda:
            fix: tuple[str, ...] = (
                f"# remove {dep.where}: tensorflow[and-cuda] installs CUDA as pip wheels",
                *_gpu_line(doc, release),
            )
        else:
            fix = (f"# {dep.where} ->", f"- {dep.name}={version}")
        yield catalog.CUDA_PINS.finding(
            Severity.ERROR,
            f"{dep.name} does not match TensorFlow {release.series}, built with "
            f"CUDA {release.cuda} and cuDNN {release.cudnn}",
            f"{dep.where} {how}; TensorFlow {release.series} loads {dep.name} {version}",
            fix,
            "https://www.tensorflow.org/install/source#gpu",
        )
    yield from _wheel_pin_findings(doc, release, tf_dep)


def _wheel_pin_findings(
    doc: EnvDocument, release: knowledge.TfRelease, tf_dep: Dep
) -> Iterator[Finding]:
    exact = exact_version(tf_dep)
    pins = release.and_cuda_for(exact) if exact else None
    wanted = dict(pins.requirements if pins else release.and_cuda)
    for dep in doc.pip_deps():
        specifier = wanted.get(dep.name)
        if specifier is None or not dep.named_versions() or _overlaps(dep, specifier):
            continue
        yield catalog.CUDA_PINS.finding(
            Severity.ERROR,
            f"{dep.name} is pinned to a version TensorFlow {release.series} rejects",
            f"{dep.where}; tensorflow[and-cuda] {release.series} needs {dep.name}{specifier}, "
            "so pip cannot install both",
            (f"# remove {dep.where}; tensorflow[and-cuda] pins it",),
            "https://github.com/tensorflow/tensorflow/issues/60913",
        )


def _overlaps(dep: Dep, specifier: str) -> bool:
    """Some version fits both the line and the pin: ``==9.*`` and ``>=9.3.0.75,<10.0`` do
    (9.3.0.75 itself), ``==8.9.7.29`` and that pin do not. The candidates are the versions
    either side writes, and the top of each wildcard's range."""
    written = [*dep.named_versions(), *_specifier_versions(specifier)]
    candidates = {*written, *(f"{version}.9999" for version in written)}
    return any(
        dep.admits(candidate) and pin_specifier(specifier, candidate)
        for candidate in candidates
        if _is_version_text(candidate)
    )


def _specifier_versions(specifier: str) -> list[str]:
    return [part.strip().lstrip("<>=!~").removesuffix(".*") for part in specifier.split(",")]


def _is_version_text(text: str) -> bool:
    return bool(numeric_parts(text)) and all(part.isdigit() for part in text.split("."))


def _same_prefix(version: str, wanted: str) -> bool:
    """9.0 matches 9.0.176; cuDNN 7 matches 7.6.5; 8.9 does not match 8.6."""
    mine, theirs = numeric_parts(version), numeric_parts(wanted)
    width = min(len(mine), len(theirs))
    return width > 0 and mine[:width] == theirs[:width]


def _keras_findings(doc: EnvDocument, release: knowledge.TfRelease) -> Iterator[Finding]:
    for dep in doc.named("keras"):
        if release.keras_major_default >= 3 and only_majors(dep, (0, 1, 2)):
            yield _keras_2_finding(doc, dep, release)
        elif release.keras_major_default < 3 and only_majors(dep, range(3, 10)):
            yield catalog.KERAS.finding(
                Severity.ERROR,
                f"Keras 3 is pinned, but TensorFlow {release.series} needs Keras 2",
                f"{dep.where}; tf.keras of TensorFlow {release.series} is Keras 2"
                + (f" (keras{release.keras_requirement})" if release.keras_requirement else ""),
                (f"# remove {dep.where}: TensorFlow installs the Keras it needs",),
                KERAS_3_LINK,
            )
    for dep in doc.named("tf-keras"):
        if release.keras_major_default >= 3 and not dep.admits_series(release.series):
            yield catalog.KERAS.finding(
                Severity.ERROR,
                f"tf-keras is pinned to another series than TensorFlow {release.series}",
                f"{dep.where}; each tf-keras X.Y requires TensorFlow X.Y",
                _pip_lines(doc, str(knowledge.tf_keras_requirement(release.version))),
                KERAS_3_LINK,
            )


def _keras_2_finding(doc: EnvDocument, dep: Dep, release: knowledge.TfRelease) -> Finding:
    variable, values = knowledge.legacy_keras_environment()
    tf_keras = str(knowledge.tf_keras_requirement(release.version))
    if doc.kind == CONDA:
        keep: tuple[str, ...] = (
            *_pip_lines(doc, tf_keras),
            "variables:",
            f'  {variable}: "{values[0]}"',
        )
    else:
        keep = (tf_keras, f"export {variable}={values[0]}   # before Python starts")
    return catalog.KERAS.finding(
        Severity.ERROR,
        f"Keras 2 is pinned, but TensorFlow {release.series} is built for Keras 3",
        f"{dep.where}; from TensorFlow 2.16 tf.keras is Keras 3 "
        f"(keras{release.keras_requirement or '>=3'}), so pip cannot install both",
        (
            f"# remove {dep.where} to use Keras 3, or keep Keras 2 code working with:",
            *keep,
        ),
        KERAS_3_LINK,
    )


def _numpy_findings(
    doc: EnvDocument, release: knowledge.TfRelease, python: str | None
) -> Iterator[Finding]:
    if release.supports_numpy_2:
        return
    numpys = doc.named("numpy")
    for dep in numpys:
        if only_majors(dep, range(2, 10)):
            yield catalog.NUMPY.finding(
                Severity.ERROR,
                f"NumPy 2 is pinned, but TensorFlow {release.series} was built for NumPy 1",
                f"{dep.where}; TensorFlow before 2.18 fails with '_ARRAY_API not found' "
                "under NumPy 2",
                (f"# {dep.where} ->", *_pip_lines(doc, "numpy<2")),
                NUMPY_2_LINK,
            )
    metadata = release.numpy_requirement_for(python or release.python_wheels[-1])
    if numpys or metadata is None or not pin_specifier(metadata, "2.0.0"):
        return
    yield catalog.NUMPY.finding(
        Severity.WARNING,
        f"NumPy is not pinned below 2; pip may install NumPy 2 with TensorFlow {release.series}",
        f"TensorFlow {release.series} asks only numpy{metadata}, but was built for NumPy 1",
        _pip_lines(doc, "numpy<2"),
        NUMPY_2_LINK,
    )


def _is_nvidia_wheel(name: str) -> bool:
    return name.startswith("nvidia-") and name.rsplit("-", 1)[-1] in {"cu11", "cu12", "cu13"}
