"""Verdicts on a pasted log: what its recognised lines mean here, and the fix that fits.

``log_findings`` judges a ``LogReading`` (envkit.inputs.logs.read_log) with the causes of the
one pattern table the smoke run also uses (knowledge/data/log_patterns.json), combined with
what the snapshot knows (TensorFlow version, GPU, driver, CPU flags, OS, container or WSL) and
what the log itself shows (its context clues). Each finding quotes the line and its number.
Where the facts do not single out one cause, the finding lists the candidates, most likely
first, each with the command that tells them apart.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from envkit import knowledge
from envkit.knowledge import logs as log_table
from envkit.model import (
    CheckInfo,
    CpuInfo,
    Finding,
    LogEvent,
    LogReading,
    OsInfo,
    PythonException,
    Severity,
    Snapshot,
)
from envkit.records import record
from envkit.rules import advice, facts

_AREAS = {
    "cuda": "nvidia",
    "nccl": "nvidia",
    "cudnn": "tensorflow",
    "cublas": "tensorflow",
    "xla": "tensorflow",
    "tensorflow": "tensorflow",
    "python": "python",
    "process-exit": "system",
    "noise": "tensorflow",
}
_QUOTE_LIMIT = 300
NOISE_CHECK = CheckInfo("log.noise", "tensorflow", "Lines of a pasted log known to be harmless.")
EXCEPTION_CHECK = CheckInfo(
    "log.python-exception", "python", "A Python exception in a pasted log that no pattern names."
)
UNRECOGNISED_CHECK = CheckInfo(
    "log.not-recognised", "tensorflow", "Lines of a pasted log that no pattern names (listed)."
)
_UNRECOGNISED_SHOWN = 40
_DRIVER_DOWNLOADS = "https://www.nvidia.com/Download/index.aspx"
_CONTAINER_TOOLKIT = "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/"


def check_info(cause: str) -> CheckInfo:
    """The check that findings about ``cause`` (a log pattern id) carry: log.<cause>."""
    pattern = log_table.log_pattern(cause)
    area = _AREAS[pattern.kind] if pattern else "tensorflow"
    meaning = pattern.meaning if pattern else cause
    return CheckInfo(f"log.{cause}", area, meaning)


def log_checks() -> tuple[CheckInfo, ...]:
    """Every check a pasted log can produce, for ``--list-checks``."""
    causes = tuple(p.pattern_id for p in log_table.log_patterns() if p.effect != "noise")
    return (
        *(check_info(cause) for cause in causes),
        NOISE_CHECK,
        EXCEPTION_CHECK,
        UNRECOGNISED_CHECK,
    )


def unrecognised_lines_finding(readings: tuple[LogReading, ...]) -> Finding | None:
    """One info finding listing, as evidence, the log lines no pattern knows: never dropped
    silently, shown with ``-v``. None when every line was recognised, or no piece looked like
    a log at all (no recognised line in it: then it is prose around the other parts)."""
    lines = [(log.source, line) for log in readings if log.recognised for line in log.unrecognised]
    if not lines:
        return None
    shown = [
        f'{source}:{line.line_number}: "{_trim(line.text.strip(), 120)}"' for source, line in lines
    ]
    more = len(shown) - _UNRECOGNISED_SHOWN
    evidence = "; ".join(shown[:_UNRECOGNISED_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return UNRECOGNISED_CHECK.finding(
        Severity.INFO,
        f"{len(lines)} line(s) of the log are not recognised (not judged)",
        evidence,
    )


# ---------------------------------------------------------------- the facts a verdict uses


@record
class _Facts:
    snapshot: Snapshot | None
    context: str
    """wsl2, container, windows, macos, or linux (also where nothing says otherwise)."""
    context_evidence: str | None
    release: knowledge.TfRelease | None
    tf_version: str | None
    tf_version_from: str | None
    python: str
    conda_env: str | None
    gpu_present: bool | None
    """True or False where the snapshot knows; None without one."""
    context_read: bool
    """The snapshot read the OS (so a plain Linux context is known, not assumed)."""
    source: str
    """The log's name, for evidence."""

    @property
    def version(self) -> str:
        """The TensorFlow version as installed (or as the log gives it), for messages."""
        return self.tf_version or (self.release.version if self.release else "?")

    @property
    def context_known(self) -> bool:
        return self.snapshot is not None or self.context_evidence is not None

    def conda_target(self) -> str:
        return f" -n {self.conda_env}" if self.conda_env else ""


def _facts(reading: LogReading, snapshot: Snapshot | None) -> _Facts:
    context, context_evidence = _context(reading, snapshot)
    tf_version, tf_from = _tf_version(reading, snapshot)
    release = knowledge.tensorflow_release(tf_version) if tf_version else None
    env = facts.python_env(snapshot) if snapshot else None
    conda_env = env.conda_env_name if env else None
    if conda_env is None and reading.clue("conda-env") is not None:
        conda_env = reading.clue("conda-env").value  # type: ignore[union-attr]
    return _Facts(
        snapshot,
        context,
        context_evidence,
        release,
        tf_version,
        tf_from,
        facts.python_command(snapshot) if snapshot else "python",
        conda_env,
        _gpu_present(snapshot),
        snapshot is not None and isinstance(snapshot.os, OsInfo),
        reading.source,
    )


def _gpu_present(snapshot: Snapshot | None) -> bool | None:
    """True or False only where the snapshot read the machine (NVML or the PCI bus); None where
    it could not (a snapshot built from pasted parts often has neither)."""
    if snapshot is None:
        return None
    if facts.nvidia_gpu_present(snapshot):
        return True
    read_bus = facts.kernel(snapshot) is not None
    return False if read_bus or facts.nvml(snapshot) is not None else None


def _context(reading: LogReading, snapshot: Snapshot | None) -> tuple[str, str | None]:
    info = snapshot.os if snapshot else None
    if isinstance(info, OsInfo):
        if info.wsl_version == 2:
            return "wsl2", "the snapshot: WSL 2"
        if info.container:
            return "container", f"the snapshot: a {info.container} container"
        if info.system == "Windows":
            return "windows", "the snapshot: native Windows"
        if info.system == "Darwin":
            return "macos", "the snapshot: macOS"
        return "linux", None
    for name in ("wsl", "container", "windows", "macos"):
        clue = reading.clue(name)
        if clue is not None:
            shown = _trim(clue.line.text, 120)
            return ("wsl2" if name == "wsl" else name), f'line {clue.line.line_number}: "{shown}"'
    return "linux", None


def _tf_version(reading: LogReading, snapshot: Snapshot | None) -> tuple[str | None, str | None]:
    installed = facts.tensorflow(snapshot) if snapshot else None
    if installed is not None:
        return installed.version, "the snapshot"
    clue = reading.clue("tensorflow-version")
    if clue is not None:
        return clue.value, f"line {clue.line.line_number}"
    return None, None


# ---------------------------------------------------------------- the entry point


def log_findings(reading: LogReading, snapshot: Snapshot | None = None) -> tuple[Finding, ...]:
    """The verdicts on ``reading``, errors first, then in the order their lines appear."""
    known = _facts(reading, snapshot)
    by_cause: dict[str, list[LogEvent]] = {}
    for event in reading.events:
        by_cause.setdefault(event.cause, []).append(event)
    ordered: list[tuple[int, Finding]] = []
    noise: list[LogEvent] = []
    for cause, events in by_cause.items():
        pattern = log_table.log_pattern(cause)
        if pattern is None or pattern.effect == "noise":
            noise.extend(events)
            continue
        judge = _JUDGES.get(cause, _generic)
        ordered.append((events[0].line.line_number, judge(events, reading, known)))
    event_lines = sorted(e.line.line_number for e in reading.events if e.effect != "noise")
    for exception in _unexplained(reading, event_lines):
        ordered.append((exception.line.line_number, _exception_finding(exception, reading.source)))
    if noise:
        ordered.append((noise[0].line.line_number, _noise_finding(noise, reading.source)))
    ordered.sort(key=lambda item: (item[1].severity.rank, item[0]))
    return tuple(finding for _, finding in ordered)


# ---------------------------------------------------------------- shared pieces


def _says_in(source: str) -> str:
    return f"{source} says, " if source else "the log says, "


def _trim(text: str, limit: int = _QUOTE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(events: list[LogEvent]) -> str:
    first = events[0].line
    quoted = f'line {first.line_number}: "{_trim(first.text.strip())}"'
    if len(events) > 1:
        more = ", ".join(str(e.line.line_number) for e in events[1:6])
        tail = ", …" if len(events) > 6 else ""
        quoted += f" (and {len(events) - 1} more such lines: {more}{tail})"
    return quoted


def _severity(events: list[LogEvent], known: _Facts) -> Severity:
    if events[0].effect == "problem":
        return Severity.ERROR
    return Severity.INFO if known.gpu_present is False else Severity.WARNING


def _make(
    events: list[LogEvent],
    known: _Facts,
    title: str,
    fix: tuple[str, ...],
    more_evidence: str = "",
    severity: Severity | None = None,
) -> Finding:
    cause = events[0].cause
    pattern = log_table.log_pattern(cause)
    chosen = severity or _severity(events, known)
    if events[0].effect == "gpu-setup" and _fails_import(events):
        chosen = Severity.ERROR  # TensorFlow 1.x loads CUDA at import: no import, not no GPU
        title = "TensorFlow fails to import: " + _lowered_start(title)
    if chosen is Severity.INFO and events[0].effect == "gpu-setup":
        title += " (harmless on this machine: it has no NVIDIA GPU)"
    evidence = _says_in(known.source) + _quote(events) + more_evidence
    if known.context_evidence:
        evidence += f"; context {known.context} from {known.context_evidence}"
    link = pattern.link if pattern else None
    return check_info(cause).finding(chosen, title, evidence, fix, link)


def _fails_import(events: list[LogEvent]) -> bool:
    """The line is an ImportError (TensorFlow 1.x loaded CUDA at import), not a warning."""
    return any(e.line.text.lstrip(" >").startswith("ImportError") for e in events)


def _tf_note(known: _Facts) -> str:
    if known.tf_version is None:
        return ""
    return f"; TensorFlow {known.tf_version} (from {known.tf_version_from})"


def _details(events: list[LogEvent], name: str) -> list[str]:
    found: list[str] = []
    for event in events:
        value = event.detail(name)
        if value and value not in found:
            found.append(value)
    return found


def _first_line_of(reading: LogReading, cause: str) -> int | None:
    return next((e.line.line_number for e in reading.events if e.cause == cause), None)


def _driver_fix(known: _Facts, min_driver: str | None = None) -> tuple[str, ...]:
    """Getting a (new enough) NVIDIA driver, on the side of the machine that owns it."""
    need = f" {min_driver} or newer" if min_driver else ""
    if known.context == "wsl2":
        return (
            f"# WSL 2 uses the Windows driver: install or update the NVIDIA driver{need} on "
            "Windows, never a Linux driver inside WSL",
            f"# {_DRIVER_DOWNLOADS}",
            "wsl --update   # in Windows PowerShell, then wsl --shutdown",
            "ls -l /usr/lib/wsl/lib/libcuda.so*   # back in WSL: the Windows driver's libcuda",
        )
    if known.context == "container":
        return (
            f"# on the host, not in the container: a driver{need} and the NVIDIA Container Toolkit",
            "nvidia-smi   # on the host",
            "docker run --gpus all ...   # start the container with GPU access",
            "# Kubernetes: a pod limit nvidia.com/gpu: 1 and the NVIDIA device plugin on the node",
        )
    if known.context == "macos":
        return ("# macOS has no CUDA: TensorFlow uses the GPU through tensorflow-metal",)
    if known.snapshot is not None:
        return advice.install_driver_steps(known.snapshot, min_driver)
    return (
        "nvidia-smi   # on that machine: no output or an error means no working driver",
        f"# install the NVIDIA driver{need} for that OS and GPU; `envkit doctor` run there "
        "prints the exact steps",
    )


def _conda_cuda(known: _Facts, release: knowledge.TfRelease) -> tuple[str, ...]:
    """CUDA and cuDNN from conda for a TensorFlow that loads them from the system (< 2.14)."""
    channel = "" if release.series.startswith("1.") else " -c conda-forge"
    return (
        f"conda install{known.conda_target()}{channel} cudatoolkit={release.cuda} "
        f"cudnn={release.cudnn}",
        f"conda search{channel} 'cudnn={release.cudnn}'   # the builds there are, if the "
        "install finds none",
        "export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH   # in the activated env",
    )


def _and_cuda(known: _Facts, version: str) -> str:
    return f'{known.python} -m pip install "tensorflow[and-cuda]=={version}"'


def _install_series(known: _Facts, release: knowledge.TfRelease) -> str:
    """Installing another TensorFlow series with its GPU support (the and-cuda extra from 2.14)."""
    if knowledge.has_and_cuda_extra(release.version):
        return f'{known.python} -m pip install "tensorflow[and-cuda]=={release.series}.*"'
    return (
        f'{known.python} -m pip install "{release.gpu_package}=={release.series}.*"   # with '
        f"CUDA {release.cuda} and cuDNN {release.cudnn}"
    )


def _moving_to(known: _Facts, release: knowledge.TfRelease) -> str:
    current = known.tf_version
    if current and current.split(".")[0] != release.series.split(".")[0]:
        return f"a new major release (from {current}): code may need changes"
    return "a different release than this one"


# ---------------------------------------------------------------- CUDA libraries


_LIBRARY_NAMES = {
    "cudart": "the CUDA runtime",
    "cublas": "cuBLAS",
    "cublaslt": "cuBLAS",
    "cufft": "cuFFT",
    "curand": "cuRAND",
    "cusolver": "cuSOLVER",
    "cusparse": "cuSPARSE",
    "cudnn": "cuDNN",
    "cupti": "CUPTI",
}
_SONAME = re.compile(r"^(?:lib)?(?P<name>[a-zA-Z]+)(?:64_(?P<win>\d+))?(?:\.so\.(?P<so>[\d.]+))?")


def _library_versions(
    libraries: list[str],
) -> tuple[list[str], str | None, str | None, str | None]:
    """Names for people, the CUDA and cuDNN majors the sonames ask for, and the exact CUDA
    where the soname gives it."""
    named: list[str] = []
    cuda_major = cudnn_major = cuda_exact = None
    for library in libraries:
        found = _SONAME.match(library)
        if found is None:
            continue
        name = found.group("name").lower()
        version = found.group("so") or found.group("win") or ""
        named.append(_LIBRARY_NAMES.get(name, name) + (f" {version}" if version else ""))
        if found.group("so"):
            major = found.group("so").split(".")[0]
        else:  # Windows: cudart64_110.dll is CUDA 11.0, cudart64_12.dll CUDA 12
            win = found.group("win") or ""
            major = win[:-1] if len(win) >= 3 else win
        if name == "cudnn" and major:
            cudnn_major = major
        elif name == "cudart" and major:
            cuda_major = major
            so = found.group("so") or ""
            # before CUDA 11 the soname carries the minor too: libcudart.so.10.1 is CUDA 10.1
            cuda_exact = so if so.count(".") == 1 and int(major) < 11 else None
    return named, cuda_major, cudnn_major, cuda_exact


def _releases_for(cuda_major: str | None, cudnn_major: str | None) -> list[knowledge.TfRelease]:
    chosen = []
    for release in knowledge.tensorflow_releases():
        if cuda_major and (release.cuda or "").split(".")[0] != cuda_major:
            continue
        if cudnn_major and (release.cudnn or "").split(".")[0] != cudnn_major:
            continue
        chosen.append(release)
    return chosen


def _cuda_library_missing(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    libraries = _details(events, "library")
    named, cuda_major, cudnn_major, cuda_exact = _library_versions(libraries)
    what = ", ".join(libraries) if libraries else "some GPU libraries"
    release = known.release
    if known.context == "windows":
        return _make(
            events,
            known,
            f"TensorFlow cannot load {what} on native Windows",
            _windows_gpu_fix(known),
            _tf_note(known),
        )
    if release is not None and knowledge.has_and_cuda_extra(release.version):
        return _make(
            events,
            known,
            f"TensorFlow {known.version} cannot load {what}: the NVIDIA pip wheels it loads "
            "CUDA from are missing",
            (
                _and_cuda(known, known.version) + "   # keeps this TensorFlow",
                f'{known.python} -m pip list 2>/dev/null | grep -i "^nvidia-"   # then: '
                "the wheels and their versions",
                *_wheel_path_lines(known),
            ),
            _tf_note(known),
        )
    if release is not None and release.cuda and release.cudnn:
        return _make(
            events,
            known,
            f"TensorFlow {known.version} cannot load {what}: it needs CUDA {release.cuda} and "
            f"cuDNN {release.cudnn} on the loader path",
            (
                f"# keeps {release.gpu_package} {known.version}: CUDA {release.cuda} and cuDNN "
                f"{release.cudnn} into its environment",
                *_conda_cuda(known, release),
                "# the other route is a new release: TensorFlow 2.14 or newer brings its CUDA "
                'with pip install "tensorflow[and-cuda]"',
            ),
            _tf_note(known),
        )
    return _make(
        events,
        known,
        f"TensorFlow cannot load {what}; the fix depends on its version",
        _library_candidates(known, _releases_for(cuda_major, cudnn_major), named, cuda_exact),
    )


def _wheel_path_lines(known: _Facts) -> tuple[str, ...]:
    """When the NVIDIA wheels are installed and still not found (reported for 2.16, #63362)."""
    folders = (
        f'{known.python} -c "import glob, nvidia; '
        "print(':'.join(glob.glob(list(nvidia.__path__)[0] + '/*/lib')))\""
    )
    return (
        "# the wheels are there and the line stays (reported for TensorFlow 2.16, "
        "tensorflow/tensorflow#63362): put their lib folders on the loader path",
        f"export LD_LIBRARY_PATH=$({folders}):$LD_LIBRARY_PATH",
    )


def _library_candidates(
    known: _Facts, releases: list[knowledge.TfRelease], named: list[str], cuda_wanted: str | None
) -> tuple[str, ...]:
    """Unknown TensorFlow: the routes for the releases these sonames fit, most of them first."""
    py = known.python
    lines = [
        "# which TensorFlow is it? (pip tells without importing it; its row in "
        "https://www.tensorflow.org/install/source#gpu gives its CUDA and cuDNN)",
        f"{py} -m pip list 2>/dev/null | grep -i -E '^tensorflow'",
    ]
    if releases:
        span = (
            releases[0].series
            if len(releases) == 1
            else (f"{releases[0].series}-{releases[-1].series}")
        )
        lines.append(f"# {', '.join(named)}: what TensorFlow {span} load")
    new = [r for r in releases if knowledge.has_and_cuda_extra(r.version)]
    old = [r for r in releases if not knowledge.has_and_cuda_extra(r.version)]
    wheels = (
        "# TensorFlow 2.14 or newer on Linux: its CUDA wheels, same version",
        f'{py} -m pip install "tensorflow[and-cuda]==<its version>"',
    )
    cuda = cuda_wanted or "<its cuda>"
    before_11 = cuda_wanted is not None and int(cuda_wanted.split(".")[0]) < 11
    channel = "" if before_11 else " -c conda-forge"  # the old cudatoolkits are on defaults
    system = (
        f"# TensorFlow 2.13 or older: the CUDA {cuda} and cuDNN of its row, into the env",
        f"conda install{known.conda_target()}{channel} cudatoolkit={cuda} cudnn=<its cudnn>",
        "export LD_LIBRARY_PATH=$CONDA_PREFIX/lib:$LD_LIBRARY_PATH",
    )
    if before_11 or (releases and not new):
        routes: tuple[tuple[str, ...], ...] = (system,)
    elif releases and not old:
        routes = (wheels,)
    else:
        routes = (system, wheels) if len(old) > len(new) else (wheels, system)
    for route in routes:
        lines.extend(route)
    lines.append(
        "ldconfig -p | grep -E 'libcudart|libcudnn'   # installed but not found? "
        "then its folder is missing from LD_LIBRARY_PATH"
    )
    return tuple(lines)


def _windows_gpu_fix(known: _Facts) -> tuple[str, ...]:
    release = known.release
    if release is not None and not knowledge.windows_native_gpu(release.version):
        last = knowledge.tensorflow_release("2.10")
        keep = (
            f'# or the last native-Windows GPU release: pip install "tensorflow<2.11" with CUDA '
            f"{last.windows_gpu.cuda} and cuDNN {last.windows_gpu.cudnn}"
            if last is not None and last.windows_gpu is not None
            else '# or the last native-Windows GPU release: pip install "tensorflow<2.11"'
        )
        return (
            f"# TensorFlow {known.version} has no GPU support on native Windows (2.10 was "
            "the last); the GPU route is WSL 2:",
            "wsl --install   # in Windows PowerShell, then in WSL:",
            'python3 -m pip install "tensorflow[and-cuda]"',
            keep,
        )
    if release is not None and release.windows_gpu is not None:
        gpu = release.windows_gpu
        return (
            f"# TensorFlow {known.version} on Windows needs CUDA {gpu.cuda} and cuDNN {gpu.cudnn}:",
            f"conda install{known.conda_target()} -c conda-forge cudatoolkit={gpu.cuda} "
            f"cudnn={gpu.cudnn}",
        )
    return (
        f'{known.python} -c "import tensorflow as tf; print(tf.__version__)"',
        "# 2.11 or newer: no GPU on native Windows; use WSL 2 (pip install "
        '"tensorflow[and-cuda]" there)',
        "# 2.10 or older: the CUDA and cuDNN of its row in TensorFlow's Windows build table",
    )


# ---------------------------------------------------------------- driver and cuInit


def _no_cuda_driver(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    fix = _driver_fix(known)
    if _fails_import(events):
        fix += (
            "# a machine without an NVIDIA GPU: a GPU build of TensorFlow needs libcuda to "
            "import; there the CPU package is the one to use",
        )
    return _make(events, known, "TensorFlow finds no NVIDIA driver (libcuda)", fix)


_IMPORT_CAUSES = ("cuda-library-missing", "no-cuda-driver", "numpy-abi", "illegal-instruction")


def _native_runtime_failed(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    cause = next((e for e in reading.events if e.cause in _IMPORT_CAUSES), None)
    if cause is not None:
        line = cause.line.line_number
        return _make(
            events,
            known,
            "TensorFlow's native runtime does not load: the line it names is the cause",
            (f"# see the finding for line {line} ({cause.cause}): fixing it fixes this",),
            f"; line {line} names what is missing",
        )
    lines = [
        "# the ImportError just above this line names the file that did not load:",
        "# a CUDA library (lib...so.N: install the version TensorFlow was built for), or libcuda "
        "(no NVIDIA driver, or a GPU build on a machine without one: use the CPU package)",
    ]
    if known.context == "windows":
        lines.append(
            "# on Windows (DLL load failed): the Microsoft Visual C++ Redistributable for Visual "
            "Studio 2015-2022 (x64) is the usual missing piece"
        )
    return _make(events, known, "TensorFlow's native runtime does not load", tuple(lines))


def _gpu_busy(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    lines = [
        "# 1. the GPU is in an exclusive compute mode and another process holds it: tell by",
        "nvidia-smi --query-gpu=index,compute_mode --format=csv; nvidia-smi   # its processes",
        "# then end that process, or (an admin choice) sudo nvidia-smi -c DEFAULT",
    ]
    if known.context == "wsl2":
        lines = ["# under WSL 2 the Windows driver makes the GPU available:", *_driver_fix(known)]
    elif known.context == "container":
        lines += ["# in a container: the host decides which GPUs it gets", *_driver_fix(known)[1:3]]
    return _make(events, known, "CUDA finds the GPU busy or unavailable", tuple(lines))


def _visible_devices_hide_all(known: _Facts) -> bool:
    snapshot = known.snapshot
    return snapshot is not None and snapshot.cuda_visible_devices.hides_all


_DRIVER_CAUSES = ("driver-library-mismatch", "driver-too-old")


def _driver_line_first(
    events: list[LogEvent], reading: LogReading, known: _Facts, title: str
) -> Finding | None:
    """A driver line elsewhere in the log (a module/library mismatch, a driver too old) is the
    evident cause of a CUDA start failure: point at it instead of guessing."""
    driver = next((e for e in reading.events if e.cause in _DRIVER_CAUSES), None)
    if driver is None:
        return None
    line = driver.line.line_number
    return _make(
        events,
        known,
        f"{title}: the driver problem on line {line} is the cause",
        (f"# see the finding for line {line} ({driver.cause}): fixing it fixes this",),
        f"; line {line} names the driver problem",
    )


def _cuinit_no_device(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    evident = _driver_line_first(events, reading, known, "CUDA sees no device")
    if evident is not None:
        return evident
    if _visible_devices_hide_all(known):
        raw = known.snapshot.cuda_visible_devices.raw if known.snapshot else ""
        return _make(
            events,
            known,
            f"CUDA sees no device because CUDA_VISIBLE_DEVICES={raw!r} hides every GPU",
            ("unset CUDA_VISIBLE_DEVICES   # or set it to an index nvidia-smi lists",),
        )
    lines = [
        '# 1. CUDA_VISIBLE_DEVICES hides the GPUs (a script setting it to "", -1 or an index '
        "that does not exist): tell by printing it",
        'echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-<unset>}"; nvidia-smi -L',
        "unset CUDA_VISIBLE_DEVICES   # or an index nvidia-smi -L lists; also look for "
        'os.environ["CUDA_VISIBLE_DEVICES"] in the code',
    ]
    if known.context == "container":
        lines += [
            "# 2. the container was started without GPUs: on the host",
            *_driver_fix(known)[1:],
        ]
    elif known.context == "wsl2":
        lines += ["# 2. the Windows driver does not expose the GPU to WSL:", *_driver_fix(known)]
    else:
        lines += [
            "# 2. the driver's kernel module is not running: tell by",
            "cat /proc/driver/nvidia/version   # missing: `envkit doctor` on that machine",
        ]
    return _make(events, known, "CUDA sees no device (cuInit: CUDA_ERROR_NO_DEVICE)", tuple(lines))


def _uvm_missing(known: _Facts) -> bool:
    kernel = facts.kernel(known.snapshot) if known.snapshot else None
    return kernel is not None and kernel.nvidia_module_loaded and not kernel.uvm_present


def _cuinit_unknown(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    title = "CUDA fails to initialise (cuInit) without saying why"
    evident = _driver_line_first(events, reading, known, "CUDA fails to initialise (cuInit)")
    if evident is not None:
        return evident
    if known.context == "wsl2":
        return _make(
            events,
            known,
            title + ": under WSL 2 the Windows driver is the place",
            _driver_fix(known),
        )
    if known.context == "container":
        return _make(
            events,
            known,
            title + ": in a container, the host's devices are the place",
            (
                "# on the host, before the container starts: /dev/nvidia-uvm must exist",
                "ls -l /dev/nvidia-uvm || sudo nvidia-modprobe -u -c 0",
                "docker run --gpus all ...   # then restart the container with GPU access",
            ),
        )
    if _uvm_missing(known):
        return _make(
            events,
            known,
            title + ": /dev/nvidia-uvm is missing",
            ("sudo nvidia-modprobe -u -c 0   # or: sudo modprobe nvidia_uvm",),
            "; the snapshot shows the nvidia module loaded but no /dev/nvidia-uvm",
        )
    return _make(
        events,
        known,
        title,
        (
            "# 1. /dev/nvidia-uvm is missing (nothing created it since boot): tell by",
            "ls -l /dev/nvidia-uvm || sudo nvidia-modprobe -u -c 0",
            "# 2. the machine was suspended and resumed since CUDA last worked: reload the UVM "
            "module",
            "sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm",
            "# 3. this user may not open the devices: tell by running once with sudo",
            "ls -l /dev/nvidia*; id -nG",
            *_container_candidate(known, 4),
        ),
    )


def _container_candidate(known: _Facts, number: int) -> tuple[str, ...]:
    """Where nothing says whether the log came from a container, that it did is a candidate."""
    if known.context_read or known.context != "linux":
        return ()
    return (
        f"# {number}. a container started without GPU access: tell by `ls /dev/nvidia*` in it; "
        "then on the host",
        "docker run --gpus all ...   # with the NVIDIA Container Toolkit installed on the host",
    )


def _cuinit_failed(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    finding = _cuinit_unknown(events, reading, known)
    evident = any(e.cause in _DRIVER_CAUSES for e in reading.events)
    if evident or known.context in ("wsl2", "container") or _uvm_missing(known):
        return finding
    fix = ("nvidia-smi   # fails too? then the driver is the cause", *finding.fix)
    return _make(events, known, "CUDA fails to initialise (cuInit)", fix)


_REPORTED_VERSION = re.compile(r"(libcuda|kernel) reported version is: (\S+)")


def _driver_library_mismatch(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    reported: dict[str, str] = {}
    for line in reading.unrecognised:
        found = _REPORTED_VERSION.search(line.text)
        if found is not None:
            reported.setdefault(found.group(1), found.group(2))
    more = ""
    if reported:
        more = "; " + ", ".join(f"{name} {version}" for name, version in sorted(reported.items()))
    title = "The NVIDIA kernel module and the driver library are different versions (a mismatch)"
    if known.context == "wsl2":
        fix: tuple[str, ...] = _driver_fix(known)
    elif known.context == "container":
        fix = (
            "# the container gets the host's driver library when it starts: on the host, a "
            "reboot if its driver was upgraded since boot (nvidia-smi there shows the mismatch "
            "too), then start the container again",
        )
    else:
        fix = (
            "sudo reboot   # a driver upgrade replaced the library while the old module runs",
            "# mismatched after the reboot too: the driver packages are half installed; list "
            "them and reinstall those of one version (Debian, Ubuntu):",
            "dpkg -l 'nvidia*' | grep -E '^(ii|iU|iF|rc)'",
            "sudo apt install --reinstall nvidia-driver-<the branch listed>",
        )
    return _make(events, known, title, fix, more)


def _avx_missing(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    return _make(
        events,
        known,
        "TensorFlow needs AVX, which this CPU (or the VM it runs in) does not offer",
        (
            "grep -o -w -E 'avx|avx2' /proc/cpuinfo | sort -u   # empty: no AVX here",
            *_NO_AVX_ROUTE,
        ),
    )


_NO_AVX_ROUTE = (
    "# in a VM the hypervisor may hide AVX: give the VM the host's CPU flags (KVM/QEMU: -cpu "
    "host; VirtualBox on Windows: turn Hyper-V off on the host)",
    "# otherwise a machine whose CPU has AVX, or a TensorFlow built without AVX (a source build)",
)


def _driver_too_old(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    release = known.release
    cuda = release.cuda if release else None
    requirement = knowledge.driver_requirement(cuda) if cuda else None
    min_driver = requirement.toolkit_min_driver if requirement else None
    info = facts.nvml(known.snapshot) if known.snapshot else None
    driver = info.driver_version if info else None
    evidence = _tf_note(known)
    lines: list[str] = []
    if driver:
        evidence += f"; driver {driver}"
        max_cuda = knowledge.max_cuda_for_driver(driver)
        fitting = knowledge.newest_tensorflow_for_cuda(max_cuda) if max_cuda else None
        if fitting is not None and release is not None and fitting.series != release.series:
            lines += [
                f"# keeps the driver: TensorFlow {fitting.series} is built for CUDA "
                f"{fitting.cuda}, which driver {driver} runs ({_moving_to(known, fitting)})",
                _install_series(known, fitting),
                "# or keep TensorFlow and upgrade the driver:",
            ]
    if cuda:
        evidence += f"; its CUDA {cuda} needs driver {min_driver or '(unknown)'} or newer"
    lines += list(_driver_fix(known, min_driver))
    return _make(
        events,
        known,
        "The NVIDIA driver is older than the CUDA runtime TensorFlow uses",
        tuple(lines),
        evidence,
    )


# ---------------------------------------------------------------- cuDNN, cuBLAS


def _version_tuple(text: str) -> tuple[int, ...]:
    if "." not in text and len(text) >= 4:  # cuDNN 7 spelling: 7201 is 7.2.1
        return (int(text[0]), int(text[1:-2] or 0), int(text[-2:]))
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _shown(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def _cudnn_version(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    loaded_text, compiled_text = events[0].detail("loaded"), events[0].detail("compiled")
    if not loaded_text or not compiled_text:
        return _generic(events, reading, known)
    loaded, compiled = _version_tuple(loaded_text), _version_tuple(compiled_text)
    direction = "older" if loaded < compiled else "newer"
    other_major = loaded[:1] != compiled[:1]
    want = _shown(compiled[:2])
    title = (
        f"cuDNN {_shown(loaded)} is loaded, TensorFlow was built with cuDNN "
        f"{_shown(compiled)}: the loaded one is {direction}"
        + (", of another major version" if other_major else "")
    )
    lines = [
        "# which libcudnn comes first on the loader path (system, conda, another framework's "
        "pip wheel)?",
        'ldconfig -p | grep libcudnn; echo "$LD_LIBRARY_PATH"',
        f"{known.python} -m pip list 2>/dev/null | grep -i cudnn; conda list cudnn",
    ]
    release = known.release
    if release is not None and knowledge.has_and_cuda_extra(release.version):
        lines += [
            _and_cuda(known, known.version) + "   # pins the cuDNN it was built with",
            "# and take the other cuDNN's folder off LD_LIBRARY_PATH",
        ]
    elif release is not None and not release.series.startswith("1."):
        lines.append(
            f"conda install{known.conda_target()} -c conda-forge cudnn={want}   "
            f"# keeps TensorFlow {known.version}"
        )
    elif direction == "older" and not other_major:
        lines.append(
            f"# install cuDNN {want} (or a newer {compiled[0]}.x) and put it first on the "
            "loader path"
        )
    else:
        lines.append(
            f"# install cuDNN {want}, the version TensorFlow was built with, and put it "
            "first on the loader path (or use a TensorFlow built with the loaded cuDNN)"
        )

    return _make(events, known, title, tuple(lines), _tf_note(known))


def _memory_growth_lines(known: _Facts) -> tuple[str, ...]:
    return (
        "nvidia-smi   # GPU memory held by other processes?",
        "export TF_FORCE_GPU_ALLOW_GROWTH=true   # TensorFlow then takes memory as it needs it",
    )


def _cudnn_init(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    mismatch = _first_line_of(reading, "cudnn-version")
    if mismatch is not None:
        return _make(
            events,
            known,
            "cuDNN fails to initialise because the loaded cuDNN does not match TensorFlow's",
            (f"# see the cuDNN version finding for line {mismatch}: fixing it fixes this",),
            f"; line {mismatch} names the cuDNN versions",
        )
    missing = next(
        (
            e
            for e in reading.events
            if e.cause == "cuda-library-missing" and "cudnn" in (e.detail("library") or "")
        ),
        None,
    )
    if missing is not None:
        line = missing.line.line_number
        return _make(
            events,
            known,
            "cuDNN fails to initialise because libcudnn is not loaded",
            (f"# see the CUDA library finding for line {line}: fixing it fixes this",),
            f"; line {line} says libcudnn could not be loaded",
        )
    return _make(
        events,
        known,
        "cuDNN fails to initialise: most often GPU memory already taken, else a cuDNN mismatch",
        (
            "# 1. GPU memory already taken (by TensorFlow's default grab or another process):",
            *_memory_growth_lines(known),
            "# 2. a cuDNN of the wrong version or none: tell by a 'Loaded runtime CuDNN' or "
            "'libcudnn' line in the full log, or",
            "ldconfig -p | grep libcudnn",
        ),
    )


def _cublas_init(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    return _make(
        events,
        known,
        "cuBLAS fails to initialise: most often GPU memory already taken",
        (
            *_memory_growth_lines(known),
            "# still failing with free memory: a cuBLAS of another CUDA version is loaded first",
            "ldconfig -p | grep libcublas",
        ),
    )


# ---------------------------------------------------------------- GPU code


def _capability_key(text: str) -> tuple[int, int]:
    digits = re.sub(r"\D", "", text)
    return (int(digits[:-1] or 0), int(digits[-1:] or 0))


def _releases_with_code_for(capability: str) -> list[knowledge.TfRelease]:
    want = _capability_key(capability)
    found = []
    for release in knowledge.tensorflow_releases():
        caps = [c for c in release.compute_capabilities if c.startswith(("sm_", "compute_"))]
        if caps and min(_capability_key(c) for c in caps) <= want:
            found.append(release)
    return found


def _gpu_min_capability(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    capability = events[0].detail("capability") or "?"
    minimum = events[0].detail("minimum") or "?"
    lines = ["# no driver or CUDA change helps: this TensorFlow build has no code for the GPU"]
    fitting = _releases_with_code_for(capability) if capability != "?" else []
    if fitting:
        newest = fitting[-1]
        lines += [
            f"# TensorFlow {newest.series} has code for compute capability {capability} "
            f"({_moving_to(known, newest)}), in an environment whose Python it supports:",
            _install_series(known, newest),
        ]
    lines += [
        f"# or a source build with TF_CUDA_COMPUTE_CAPABILITIES={capability} (./configure), or "
        "train on the CPU (what TensorFlow does now)",
    ]
    return _make(
        events,
        known,
        f"TensorFlow ignores the GPU: compute capability {capability} is below the {minimum} "
        "this build needs",
        tuple(lines),
        _tf_note(known),
    )


def _gpu_arch(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    return _make(
        events,
        known,
        "TensorFlow has no native code for this GPU (a GPU newer than the wheel)",
        (
            "# the first run JIT-compiles PTX (slow) or fails; builds with code for the GPU:",
            "# a newer TensorFlow release, NVIDIA's NGC TensorFlow container, tf-nightly, or a "
            "source build",
        ),
        _tf_note(known),
    )


def _xla_toolchain(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    what = {"xla-ptxas": "ptxas", "xla-libdevice": "libdevice"}.get(events[0].cause)
    title = (
        f"XLA cannot find CUDA's {what}"
        if what
        else "TensorFlow could not compile GPU code at run time (JIT)"
    )
    release = known.release
    nvcc = release is not None and any(
        name == "nvidia-cuda-nvcc-cu12" for name, _ in release.and_cuda
    )
    point_xla = (
        "find / -path '*nvvm/libdevice*' -name 'libdevice*.bc' 2>/dev/null | head -n 3",
        "export XLA_FLAGS=--xla_gpu_cuda_data_dir=/usr/local/cuda   # a CUDA folder that has "
        "nvvm/libdevice and bin/ptxas",
    )
    if nvcc and release is not None:
        lines: tuple[str, ...] = (
            _and_cuda(known, known.version) + "   # brings nvidia-cuda-nvcc-cu12 (ptxas, "
            "libdevice)",
        )
    elif release is not None:
        lines = (
            f"# TensorFlow {known.version} uses a CUDA {release.cuda} toolkit's tools:",
            *point_xla,
        )
    else:
        lines = (
            "# TensorFlow 2.14 or newer: the nvcc wheel of its and-cuda extra has them",
            f'{known.python} -m pip install "tensorflow[and-cuda]==<its version>"',
            "# older: point XLA at a CUDA toolkit that has them",
            *point_xla,
        )
    return _make(events, known, title, lines, _tf_note(known))


def _nccl_error(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    infiniband = any("ibv_" in e.line.text for e in events)
    candidates = [
        (
            "# the network transport (InfiniBand verbs fail): tell by rerunning without it",
            "NCCL_IB_DISABLE=1 NCCL_DEBUG=INFO <the same command>",
        ),
        (
            "# GPU peer-to-peer between the cards: tell by",
            "NCCL_P2P_DISABLE=1 NCCL_DEBUG=INFO <the same command>",
        ),
    ]
    if known.context == "container":
        candidates.insert(
            0,
            (
                "# the container's small /dev/shm: start it (on the host) with",
                "docker run --gpus all --ipc=host ...   # or --shm-size=8g",
            ),
        )
    elif not infiniband:
        candidates.reverse()
    lines = [line for candidate in candidates for line in candidate]
    lines.append("# NCCL_DEBUG=INFO prints which transport and which call failed")
    return _make(events, known, "NCCL, the all-reduce between GPUs, failed", tuple(lines))


# ---------------------------------------------------------------- memory, Python, the process


def _gpu_memory(events: list[LogEvent]) -> bool:
    text = " ".join(e.line.text for e in events)
    return bool(re.search(r"GPU|gpu_|CUDA_ERROR_OUT_OF_MEMORY|from device|bfc", text))


def _out_of_memory(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    if _gpu_memory(events):
        return _make(
            events,
            known,
            "The run ran out of GPU memory",
            (
                "nvidia-smi   # GPU memory held by other processes (another notebook)?",
                "# then a smaller batch size (or model); TF_FORCE_GPU_ALLOW_GROWTH=true helps "
                "only where several processes share the GPU",
            ),
        )
    return _make(
        events,
        known,
        "The run ran out of host memory",
        (
            "free -h",
            "# a smaller batch size, or data read in pieces (tf.data) instead of held in memory",
        ),
    )


_NEAR_LINES = 40
"""How far above its traceback a message may stand (NumPy prints its notice first)."""


def _exception_near(reading: LogReading, line_number: int) -> PythonException | None:
    """The first exception at or below ``line_number`` whose traceback contains that line or
    starts at most _NEAR_LINES lines below it."""
    for exception in reading.exceptions:
        frames = exception.frames
        start = frames[0].line.line_number if frames else exception.line.line_number
        if exception.line.line_number >= line_number and start - line_number <= _NEAR_LINES:
            return exception
    return None


def _numpy_abi(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    exception = _exception_near(reading, events[0].line.line_number)
    module = exception.failing_module if exception else None
    package = module.split(".")[0] if module else None
    more = _tf_note(known) + (f"; raised while importing {module}" if module else "")
    release = known.release
    lines: tuple[str, ...]
    if package and package != "tensorflow":
        lines = (
            f'{known.python} -m pip install "numpy<2"   # or a release of {package} '
            "built for NumPy 2",
        )
    elif release is not None and release.supports_numpy_2:
        lines = (
            f"# TensorFlow {known.version} supports NumPy 2: another binary module is older",
            f"{known.python} -m pip list 2>/dev/null   # upgrade the package the traceback "
            'names, or pip install "numpy<2"',
        )
    else:
        keep = f" (keeps TensorFlow {known.version})" if release else ""
        lines = (
            f'{known.python} -m pip install "numpy<2"   # TensorFlow before 2.18 is built '
            f"against NumPy 1{keep}",
            "# or TensorFlow 2.18 or newer, which supports NumPy 2 (a new release)",
        )
    return _make(
        events, known, "NumPy 2 is installed with a module built against NumPy 1", lines, more
    )


def _module_missing(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    module = events[0].detail("module") or "?"
    top = module.split(".")[0]
    py = known.python
    which = (
        f'{py} -c "import sys; print(sys.executable)"   # in a notebook cell: '
        "import sys; sys.executable"
    )
    lines: tuple[str, ...]
    if top in ("tensorflow", "keras"):
        lines = (
            f"# the Python that ran the code has no {top}: which one is it?",
            which,
            f"# {top} is in another environment: run the code there, or make that environment a "
            "notebook kernel:",
            "conda activate <env with tensorflow> && python -m ipykernel install --user --name "
            "<env>",
            "# nowhere yet: install it into that Python",
            f"<that python> -m pip install {top}",
        )
    else:
        lines = (
            which,
            f"<that python> -m pip install <the distribution that provides {top}>   # the pip "
            "name can differ (cv2: opencv-python, sklearn: scikit-learn)",
        )
    return _make(events, known, f"Python cannot import {module}", lines)


def _cpu_info(known: _Facts) -> CpuInfo | None:
    cpu = known.snapshot.cpu if known.snapshot else None
    return cpu if isinstance(cpu, CpuInfo) else None


def _illegal_instruction(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    cpu = _cpu_info(known)
    has_avx = cpu.has_flag("avx") if cpu else None
    no_avx_route = _NO_AVX_ROUTE
    if has_avx is False:
        return _make(
            events,
            known,
            "TensorFlow dies of an illegal instruction: the CPU lacks AVX",
            no_avx_route,
            f"; the snapshot's CPU ({cpu.model_name if cpu else '?'}) has no avx flag",
        )
    lines: list[str] = []
    if known.context == "container":
        lines.append("# a container runs on the host's CPU: the host (or its VM) decides the flags")
    if known.context == "macos":
        lines += [
            "# an Intel Python under Rosetta on Apple silicon has no AVX: tell by",
            'python3 -c "import platform; print(platform.machine())"   # x86_64 on an M-series '
            "Mac: install an arm64 Python, then tensorflow",
        ]
    if has_avx is None:
        lines += [
            "# 1. a CPU without AVX (Celeron, Pentium, old Xeon) or a VM that hides it: tell by",
            "grep -o -w -E 'avx|avx2' /proc/cpuinfo | sort -u",
            *no_avx_route,
        ]
    lines += [
        "# the CPU has AVX: a build that needs more (AVX2, AVX-512) or mixed installs; tell by",
        f'{known.python} -X faulthandler -c "import tensorflow"   # names the module that died',
    ]
    return _make(events, known, "The process died of an illegal instruction (SIGILL)", tuple(lines))


def _segfault(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    py = known.python
    return _make(
        events,
        known,
        "The process crashed with a segmentation fault",
        (
            f'{py} -X faulthandler -c "import tensorflow"   # names the module where it died',
            f"{py} -m pip check   # 1. mixed installs: pip over conda, two TensorFlow "
            "distributions, a NumPy its modules were not built for",
            'CUDA_VISIBLE_DEVICES="" <the same command>   # 2. passes on the CPU? then the GPU '
            "stack (driver, CUDA libraries)",
        ),
    )


def _killed(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    lines = [
        "sudo dmesg | grep -i -E 'killed process|out of memory' | tail -n 3   # the OOM killer?",
        "free -h   # then a smaller batch size, or data read in pieces",
    ]
    if known.context == "container":
        lines.append("# in a container: its memory limit (docker run --memory ...) set on the host")
    return _make(
        events, known, "The process was killed, most likely for lack of memory", tuple(lines)
    )


def _aborted(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    fatal = next(
        (
            line
            for line in reversed(reading.unrecognised)
            if line.line_number < events[0].line.line_number
            and re.match(r"^F\d{4} |^\d{4}-\d\d-\d\d [\d:.]+: F |.*Check failed", line.text.strip())
        ),
        None,
    )
    more = f'; line {fatal.line_number}: "{_trim(fatal.text.strip())}"' if fatal else ""
    return _make(
        events,
        known,
        "The process aborted (SIGABRT) after a failed check",
        ("# the fatal line (F... or 'Check failed') just before it says what failed",),
        more,
    )


def _kernel_died(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    return _make(
        events,
        known,
        "The Jupyter kernel died; the process behind it was killed or crashed",
        (
            "# run the same code as a script in a terminal: the last line says how it died",
            'python your_script.py; echo "exit status $?"   # 137 killed (memory), 132 '
            "illegal instruction (AVX), 139 segmentation fault",
        ),
    )


def _generic(events: list[LogEvent], reading: LogReading, known: _Facts) -> Finding:
    pattern = log_table.log_pattern(events[0].cause)
    return _make(events, known, pattern.meaning if pattern else events[0].cause, ())


_JUDGES: dict[str, Callable[[list[LogEvent], LogReading, _Facts], Finding]] = {
    "cuda-library-missing": _cuda_library_missing,
    "no-cuda-driver": _no_cuda_driver,
    "native-runtime-failed": _native_runtime_failed,
    "cuinit-no-device": _cuinit_no_device,
    "cuinit-unknown": _cuinit_unknown,
    "cuinit-failed": _cuinit_failed,
    "driver-too-old": _driver_too_old,
    "driver-library-mismatch": _driver_library_mismatch,
    "avx-missing": _avx_missing,
    "gpu-busy": _gpu_busy,
    "cudnn-version": _cudnn_version,
    "cudnn-init": _cudnn_init,
    "cublas-init": _cublas_init,
    "gpu-min-capability": _gpu_min_capability,
    "gpu-arch": _gpu_arch,
    "xla-ptxas": _xla_toolchain,
    "xla-libdevice": _xla_toolchain,
    "jit-compile-failed": _xla_toolchain,
    "nccl-error": _nccl_error,
    "out-of-memory": _out_of_memory,
    "numpy-abi": _numpy_abi,
    "module-missing": _module_missing,
    "illegal-instruction": _illegal_instruction,
    "segfault": _segfault,
    "killed": _killed,
    "aborted": _aborted,
    "kernel-died": _kernel_died,
}


# ---------------------------------------------------------------- the rest of the log


_MESSAGE_LINES = 12
"""How far below an exception line its message goes on (TensorFlow's "2 root error(s) found."
lists the errors on the lines after it)."""


def _unexplained(reading: LogReading, event_lines: list[int]) -> list[PythonException]:
    """The exceptions no recognised line accounts for, each (type, message) once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for exception in reading.exceptions:
        key = (exception.short_type, exception.message)
        start = exception.line.line_number
        after = bisect.bisect_left(event_lines, start)
        explained = after < len(event_lines) and event_lines[after] <= start + _MESSAGE_LINES
        if explained or key in seen:
            continue
        seen.add(key)
        kept.append(exception)
    return kept


def _exception_finding(exception: PythonException, source: str) -> Finding:
    module = exception.failing_module
    where = f" in {module}" if module else ""
    message = f": {_trim(exception.message, 160)}" if exception.message else ""
    frames = f" after {len(exception.frames)} traceback frames" if exception.frames else ""
    return EXCEPTION_CHECK.finding(
        Severity.ERROR,
        f"{exception.short_type}{where}{message}",
        f"{_says_in(source)}line {exception.line.line_number}: "
        f'"{_trim(exception.line.text.strip())}"{frames}',
        (
            f"# envkit does not know this error; the innermost frame names {module}"
            if module
            else "# envkit does not know this error",
        ),
    )


def _noise_finding(events: list[LogEvent], source: str) -> Finding:
    causes = sorted({event.cause for event in events})
    return NOISE_CHECK.finding(
        Severity.INFO,
        f"{len(events)} log line{'s are' if len(events) > 1 else ' is'} known to be harmless "
        f"({', '.join(causes)})",
        _says_in(source) + _quote(events),
        ("# TF_CPP_MIN_LOG_LEVEL=2 hides TensorFlow's informational lines",),
    )


def _lowered_start(title: str) -> str:
    """The title as the rest of a sentence: "The driver ..." -> "the driver ...", but a name
    stays as it is written ("TensorFlow 2.8.0 cannot ...", "CUDA ...", "cuDNN ...")."""
    first = title.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower():
        return title[0].lower() + title[1:]
    return title
