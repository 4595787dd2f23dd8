"""The doctor's verdicts drawn from a smoke run: what went wrong in training, and the fix."""

from __future__ import annotations

import dataclasses
import re

from envkit.inputs.logs import read_log
from envkit.knowledge import logs as log_table
from envkit.model import CheckInfo, Finding, Severity, Snapshot
from envkit.rules.logs import log_findings
from envkit.smoke.model import Diagnosis, LineKind, RunVerdict, SmokeResult, SmokeRun

AREA = "smoke"


def _check(check_id: str, description: str) -> CheckInfo:
    return CheckInfo(check_id, AREA, description)


TRAINS = _check("smoke.trains", "The tutorial's network trains to its reference accuracy.")
DATA = _check(
    "smoke.data", "The smoke run trained on the canonical MNIST, other data, or synthetic."
)
GPU_VISIBLE = _check("smoke.gpu-visible", "A GPU asked for is visible to the framework.")
GPU_PLACEMENT = _check("smoke.gpu-placement", "A GPU run's ops and variables are on the GPU.")
SPEEDUP = _check("smoke.gpu-speedup", "The GPU trains the tutorial's network faster than the CPU.")
SIGILL = _check("smoke.import-sigill", "Importing the framework does not die of SIGILL (no AVX).")
CRASHED = _check(
    "smoke.crashed", "The training process is not killed by a signal (segfault, abort)."
)
TIMEOUT = _check("smoke.timeout", "The smoke run finishes within its timeout.")
IMPORT = _check("smoke.import-failed", "The framework imports in the examined interpreter.")
CUDA_LIBS = _check("smoke.cuda-libraries", "The CUDA libraries the framework needs load.")
CUDNN = _check(
    "smoke.cudnn", "cuDNN loads, matches the version the framework was built with, and runs."
)
CUINIT = _check("smoke.cuinit", "The CUDA driver initialises (cuInit).")
GPU_ARCH = _check("smoke.gpu-arch", "The framework has kernels for this GPU's compute capability.")
DRIVER = _check("smoke.cuda-driver", "The driver supports the CUDA runtime the framework bundles.")
OOM = _check("smoke.out-of-memory", "The run does not run out of host or GPU memory.")
NUMPY = _check("smoke.numpy-abi", "NumPy's version suits the framework's binary modules.")
JOB = _check("smoke.job-failed", "The smoke job ends normally.")
LOG_LINE = _check(
    "smoke.log-line", "A line of the framework's log that envkit's pattern table knows explains it."
)

SMOKE_CHECKS: tuple[CheckInfo, ...] = (
    TRAINS, DATA, GPU_VISIBLE, GPU_PLACEMENT, SPEEDUP, SIGILL, CRASHED, TIMEOUT, IMPORT,
    CUDA_LIBS, CUDNN, CUINIT, GPU_ARCH, DRIVER, OOM, NUMPY, JOB, LOG_LINE,
)  # fmt: skip

TF_PIP = "https://www.tensorflow.org/install/pip"
_PYTHON = re.compile(r"(?<![\w/<])python (?=-)")
_CAUSES: dict[str, tuple[CheckInfo, str, tuple[str, ...], str]] = {
    # cause: (check, title, fix, link)
    "cuda-library-missing": (
        CUDA_LIBS,
        "The framework cannot load CUDA libraries it was built for",
        (
            "# TensorFlow 2.14 or newer on Linux brings its own CUDA:",
            '{python} -m pip install "tensorflow[and-cuda]"',
            "# otherwise install the CUDA/cuDNN of TensorFlow's tested-build table and put "
            "their lib folders on LD_LIBRARY_PATH",
        ),
        "https://github.com/tensorflow/tensorflow/issues/45930",
    ),
    "no-cuda-driver": (
        CUINIT,
        "The framework finds no NVIDIA driver (libcuda)",
        ("nvidia-smi", "# install or load the NVIDIA driver; `envkit doctor` checks it"),
        TF_PIP,
    ),
    "cuinit-no-device": (
        CUINIT,
        "CUDA sees no device (cuInit: CUDA_ERROR_NO_DEVICE)",
        (
            'echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-<unset>}"',
            "unset CUDA_VISIBLE_DEVICES   # or set it to an index nvidia-smi lists",
        ),
        "https://github.com/tensorflow/tensorflow/issues/62494",
    ),
    "cuinit-unknown": (
        CUINIT,
        "CUDA fails to initialise (cuInit: CUDA_ERROR_UNKNOWN), typically after suspend/resume",
        ("sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm", "# or reboot"),
        "https://github.com/tensorflow/tensorflow/issues/53341",
    ),
    "cuinit-failed": (
        CUINIT,
        "CUDA fails to initialise (cuInit)",
        ("nvidia-smi", "# reload the driver or reboot; `envkit doctor` checks the driver"),
        "https://github.com/tensorflow/tensorflow/issues/53341",
    ),
    "driver-too-old": (
        DRIVER,
        "The NVIDIA driver is older than the CUDA runtime the framework uses",
        ("nvidia-smi", "# upgrade the driver until its CUDA version >= the runtime's, then reboot"),
        "https://github.com/tensorflow/tensorflow/issues/31319",
    ),
    "cudnn-version": (
        CUDNN,
        "The cuDNN loaded is older than the one the framework was built with",
        (
            '{python} -m pip install "tensorflow[and-cuda]"   # brings the matching cuDNN',
            "# and make sure no older libcudnn (system, conda, another framework's pin) "
            "comes first on the loader path",
        ),
        "https://github.com/tensorflow/tensorflow/issues/50217",
    ),
    "cudnn-init": (
        CUDNN,
        "cuDNN fails to initialise (often GPU memory exhausted, sometimes a cuDNN mismatch)",
        (
            "export TF_FORCE_GPU_ALLOW_GROWTH=true",
            "nvidia-smi   # other processes holding GPU memory?",
        ),
        "https://github.com/tensorflow/tensorflow/issues/24828",
    ),
    "gpu-arch": (
        GPU_ARCH,
        "The framework has no kernels for this GPU (new GPU, old wheels)",
        (
            "# use a build with this compute capability: NVIDIA's NGC container, a nightly, "
            "or a source build",
        ),
        "https://github.com/tensorflow/tensorflow/issues/89272",
    ),
    "out-of-memory": (
        OOM,
        "The run ran out of memory",
        (
            "nvidia-smi   # GPU memory held by other processes?",
            "free -h",
            "# then retry with a smaller --batch-size",
        ),
        "https://github.com/tensorflow/tensorflow/issues/36025",
    ),
    "numpy-abi": (
        NUMPY,
        "NumPy 2 is installed with a framework built against NumPy 1",
        ('{python} -m pip install "numpy<2"   # or TensorFlow 2.18 or newer',),
        "https://github.com/tensorflow/tensorflow/issues/67291",
    ),
}


def findings_from(result: SmokeResult, snapshot: Snapshot | None = None) -> tuple[Finding, ...]:
    """The smoke run's findings, errors first; harmless log noise never becomes one.

    With the ``snapshot`` of the machine the run was on, the fixes for driver and CUDA lines
    fit its context (WSL 2: the Windows driver; a container: the host), as for a pasted log.
    """
    found: list[Finding] = []
    found.extend(_failure_findings(result))
    diagnosed = _one_per_gpu_cause(_diagnosis_findings(result, snapshot))
    if result.gpu_missing and any(kind is LineKind.GPU_SETUP for kind, _, _ in diagnosed):
        diagnosed = _fold_into_root(diagnosed, _gpu_missing_evidence(result))
    elif result.gpu_missing:
        found.append(_gpu_missing(result))
    found.extend(finding for _, _, finding in diagnosed)
    for run in result.runs:
        found.extend(_run_findings(result, run))
    found.extend(_speedup_findings(result))
    found.extend(_data_findings(result))
    unique: dict[tuple[str, str], Finding] = {}
    for finding in found:
        unique.setdefault((finding.check_id, finding.title), finding)
    return tuple(sorted(unique.values(), key=lambda f: (f.severity.rank, f.check_id)))


def _failure_findings(result: SmokeResult) -> list[Finding]:
    failure = result.failure
    if failure is None:
        return []
    python = result.python
    tail = f"; last output: {failure.stderr_tail.splitlines()[-1]}" if failure.stderr_tail else ""
    if failure.cause == "timeout":
        return [
            TIMEOUT.finding(
                Severity.ERROR,
                f"The smoke run did not finish in {result.spec.timeout_s:g} s",
                failure.message + tail,
                (
                    "# retry with a longer --timeout, or --quick; a hang at import points at "
                    "the driver or a network filesystem",
                ),
            )
        ]
    if failure.signal_name == "SIGILL":
        during_import = failure.stage in ("start", "import")
        return [
            SIGILL.finding(
                Severity.ERROR,
                "The framework died of an illegal instruction"
                + (" on import: the CPU lacks AVX" if during_import else ""),
                f"{python} was killed by SIGILL during {failure.stage}; prebuilt TensorFlow "
                "since 1.6 needs a CPU with AVX",
                (
                    "grep -o -w -E 'avx|avx2|fma' /proc/cpuinfo | sort -u",
                    "# no avx: use another machine, expose the host's CPU flags to the VM, or "
                    "a TensorFlow built without AVX",
                ),
                "https://github.com/tensorflow/tensorflow/issues/17411",
            )
        ]
    if failure.signal_name == "SIGKILL":
        return [
            OOM.finding(
                Severity.ERROR,
                "The training process was killed (SIGKILL), most likely by the kernel's "
                "out-of-memory killer",
                failure.message,
                (
                    "sudo dmesg | grep -i -E 'killed process|out of memory' | tail -n 3",
                    "# free memory, or retry with --quick",
                ),
            )
        ]
    if failure.signal_name is not None:
        what = {"SIGSEGV": "a segmentation fault", "SIGABRT": "an abort (a failed check)"}
        return [
            CRASHED.finding(
                Severity.ERROR,
                f"The framework crashed with {what.get(failure.signal_name, failure.signal_name)}"
                f" during {failure.stage}",
                failure.message + tail,
                (
                    f"{python} -m pip check",
                    "# mixed installs (pip over conda, two TensorFlow distributions) are the "
                    "usual cause: reinstall into a fresh environment",
                ),
                "https://github.com/tensorflow/tensorflow/issues/45744",
            )
        ]
    if failure.cause == "import-error":
        return [
            IMPORT.finding(
                Severity.ERROR,
                f"The {result.spec.backend or 'framework'} import fails in {python}",
                f"{failure.error_type}: {failure.message}",
                (f'{python} -c "import tensorflow"',),
                TF_PIP,
            )
        ]
    return [
        JOB.finding(
            Severity.ERROR,
            f"The smoke job failed during {failure.stage}",
            failure.message + tail,
            ("# run again with --json and look at failure.stderr_tail",),
        )
    ]


_Diagnosed = tuple[LineKind, str, Finding]
"""A finding drawn from a log line, with the line's kind and cause."""
_ROOT_CAUSES = ("no-cuda-driver", "driver-library-mismatch", "driver-too-old")
"""Driver causes, most upstream first: with one of them logged, cuInit's failure follows from it."""
_CUINIT_CAUSES = frozenset({"cuinit-no-device", "cuinit-unknown", "cuinit-failed"})


def _one_per_gpu_cause(diagnosed: list[_Diagnosed]) -> list[_Diagnosed]:
    """A driver the framework cannot use also fails cuInit: one finding, the driver's, whose
    evidence names the cuInit line too."""
    causes = {cause for _, cause, _ in diagnosed}
    if not causes & set(_ROOT_CAUSES) or not causes & _CUINIT_CAUSES:
        return diagnosed
    followers = [finding for _, cause, finding in diagnosed if cause in _CUINIT_CAUSES]
    kept = [entry for entry in diagnosed if entry[1] not in _CUINIT_CAUSES]
    then = "; then, as follows from it, " + "; ".join(
        finding.evidence.removeprefix("the framework logged: ") for finding in followers
    )
    return _fold_into_root(kept, then)


def _fold_into_root(diagnosed: list[_Diagnosed], evidence: str) -> list[_Diagnosed]:
    """``evidence`` added to the GPU-setup finding that is the root cause (the most upstream)."""
    gpu = [entry for entry in diagnosed if entry[0] is LineKind.GPU_SETUP]
    rank = {cause: number for number, cause in enumerate(_ROOT_CAUSES)}
    root = min(gpu, key=lambda entry: rank.get(entry[1], len(rank)))
    kind, cause, finding = root
    folded = dataclasses.replace(finding, evidence=finding.evidence + evidence)
    return [(kind, cause, folded) if entry is root else entry for entry in diagnosed]


def _gpu_missing_evidence(result: SmokeResult) -> str:
    stack = result.stack
    backend = stack.backend if stack else "the framework"
    return f"; so with --device {result.spec.device}, {backend} lists no GPU"


def _diagnosis_findings(result: SmokeResult, snapshot: Snapshot | None) -> list[_Diagnosed]:
    all_passed = bool(result.runs) and all(r.verdict is RunVerdict.PASS for r in result.runs)
    gpu_trouble = result.gpu_missing or any(
        r.device == "gpu" and r.verdict is not RunVerdict.PASS for r in result.runs
    )
    found: list[_Diagnosed] = []
    for diagnosis in result.diagnoses:
        if diagnosis.kind is LineKind.NOISE:
            continue
        if diagnosis.kind is LineKind.GPU_SETUP and not gpu_trouble:
            continue  # harmless on a machine without a GPU, or where the GPU ran anyway
        severity = Severity.WARNING if all_passed else Severity.ERROR
        known = _CAUSES.get(diagnosis.cause)
        if known is None or diagnosis.cause in _VERDICT_CAUSES:
            if not _failure_says_it(diagnosis, result):
                check = known[0] if known else _TABLE_CHECKS.get(diagnosis.cause, LOG_LINE)
                found.extend(
                    (diagnosis.kind, diagnosis.cause, finding)
                    for finding in _table_finding(diagnosis, severity, result, snapshot, check)
                )
            continue
        check, title, fix, link = known
        finding = check.finding(severity, title, _evidence(diagnosis), _fix(fix, result), link)
        found.append((diagnosis.kind, diagnosis.cause, finding))
    return found


_VERDICT_CAUSES = frozenset(
    {
        "no-cuda-driver", "cuinit-no-device", "cuinit-unknown", "cuinit-failed",
        "driver-too-old", "cudnn-version",
    }
)  # fmt: skip
"""Causes whose fix depends on facts the line carries (the direction of a cuDNN mismatch) or on
the context (WSL 2, a container, plain Linux): the log rules judge them."""
_TABLE_CHECKS = {
    "gpu-min-capability": GPU_ARCH,
    "driver-library-mismatch": DRIVER,
    "gpu-busy": CUINIT,
    "avx-missing": SIGILL,
}
"""The smoke check a table cause belongs to, where one fits; the others are smoke.log-line."""


def smoke_check_id(cause: str) -> str:
    """The smoke check under which the smoke run reports a log line of ``cause`` (a pattern
    id): what the pasted-log verdict ``log.<cause>`` is called when envkit ran the job."""
    known = _CAUSES.get(cause)
    return (known[0] if known else _TABLE_CHECKS.get(cause, LOG_LINE)).check_id


def _log_text(result: SmokeResult) -> str:
    """What the run logged, as far as the result keeps it: each class's first line, then the
    stderr tail (where a container's hostname or a WSL path shows the context)."""
    tail = result.failure.stderr_tail if result.failure else ""
    return "\n".join([*(d.line for d in result.diagnoses), tail])


def _failure_says_it(diagnosis: Diagnosis, result: SmokeResult) -> bool:
    """The job's own failure (its signal, its import error) already is this line's finding."""
    pattern = log_table.log_pattern(diagnosis.cause)
    if pattern is not None and pattern.kind == "process-exit":
        return True
    failure = result.failure
    return (
        diagnosis.cause == "module-missing"
        and failure is not None
        and (failure.cause == "import-error")
    )


def _table_finding(
    diagnosis: Diagnosis,
    severity: Severity,
    result: SmokeResult,
    snapshot: Snapshot | None = None,
    check: CheckInfo = LOG_LINE,
) -> list[Finding]:
    """The pasted-log verdict on the same line (envkit.rules.logs), under a smoke check: for a
    cause this module has no text for, or one whose fix depends on the context."""
    wanted = f"log.{diagnosis.cause}"
    verdicts = [
        f for f in log_findings(read_log(_log_text(result)), snapshot) if f.check_id == wanted
    ]
    return [
        check.finding(
            severity,
            verdict.title,
            _evidence(diagnosis),
            tuple(_PYTHON.sub(result.python + " ", line) for line in verdict.fix),
            verdict.link,
        )
        for verdict in verdicts[:1]
    ]


def _evidence(diagnosis: Diagnosis) -> str:
    times = f" ({diagnosis.count} such lines)" if diagnosis.count > 1 else ""
    return f"the framework logged: {diagnosis.line}{times}"


def _fix(fix: tuple[str, ...], result: SmokeResult) -> tuple[str, ...]:
    return tuple(line.replace("{python}", result.python) for line in fix)


def _gpu_missing(result: SmokeResult) -> Finding:
    stack = result.stack
    backend = stack.backend if stack else "the framework"
    version = f" {stack.backend_version}" if stack and stack.backend_version else ""
    causes = [d for d in result.diagnoses if d.kind is LineKind.GPU_SETUP and d.cause in _CAUSES]
    because = f"; it logged: {causes[0].line}" if causes else ""
    return GPU_VISIBLE.finding(
        Severity.ERROR,
        f"A GPU was asked for, but {backend}{version} sees none",
        f"--device {result.spec.device}: {backend} lists no GPU{because}",
        (
            "nvidia-smi",
            f'{result.python} -c "import tensorflow as tf; '
            "print(tf.config.list_physical_devices('GPU'))\"",
            "# a CPU-only build (tensorflow-cpu, or TensorFlow on native Windows after 2.10) "
            "never sees one: `envkit doctor` says which",
        ),
        TF_PIP,
    )


def _run_findings(result: SmokeResult, run: SmokeRun) -> list[Finding]:
    where = f"{run.model.upper()} on the {run.device.upper()}"
    data = result.data.label if result.data else "unknown data"
    if run.verdict is RunVerdict.PASS:
        accuracy = f"{run.test_accuracy:.2%}" if run.test_accuracy is not None else "?"
        return [
            TRAINS.finding(
                Severity.INFO,
                f"The {where} trains: {accuracy} test accuracy",
                f"{run.verdict_reason}; {data}; {_speed(run)}; exercised "
                f"{', '.join(run.libraries)}",
            )
        ]
    if run.verdict is RunVerdict.ERROR:
        return []  # the failure or the classified stderr says why
    placement = run.placement
    if placement is not None and not placement.on_requested_device:
        return [
            GPU_PLACEMENT.finding(
                Severity.ERROR,
                f"The {where} did not run on the {run.device.upper()}",
                run.verdict_reason + f" (evidence: {placement.method})",
                ("# a device scope the framework ignored; `envkit doctor` checks the build",),
            )
        ]
    return [
        TRAINS.finding(
            Severity.ERROR,
            f"The {where} does not learn",
            f"{run.verdict_reason}; {data}",
            (
                "# a healthy machine always reaches the floor: retry once; if it fails again on "
                "the GPU but passes with --device cpu, the GPU stack computes wrong results",
            ),
        )
    ]


def _speed(run: SmokeRun) -> str:
    if run.samples_per_s is None:
        return "speed unknown"
    return f"{run.samples_per_s:,.0f} samples/s"


def _speedup_findings(result: SmokeResult) -> list[Finding]:
    if result.speedup is None:
        return []
    severity = Severity.WARNING if result.speedup < 1.0 else Severity.INFO
    return [
        SPEEDUP.finding(
            severity,
            f"The GPU trains {result.speedup:.1f}x as fast as the CPU",
            "samples/s during fit, GPU over CPU, same network and data (the tutorial promises "
            "5-10x; a small MLP on a fast CPU gets less)",
        )
    ]


def _data_findings(result: SmokeResult) -> list[Finding]:
    data = result.data
    if data is None:
        return []
    if data.kind == "synthetic":
        return [
            DATA.finding(
                Severity.INFO,
                "Trained on synthetic digits, not MNIST",
                (data.note or "no MNIST data was available")
                + "; the verdict uses the synthetic set's own reference",
                (
                    "# pass --data with Keras's mnist.npz or a folder of the four MNIST IDX "
                    ".gz files, or put mnist.npz in ~/.keras/datasets/",
                ),
            )
        ]
    if data.kind == "mnist-format":
        return [
            DATA.finding(
                Severity.WARNING,
                "The data has MNIST's shape but is not the canonical MNIST",
                f"{data.path or data.origin}: the arrays' SHA-256 differ from MNIST's; the "
                "reference accuracy may not apply",
            )
        ]
    return []
