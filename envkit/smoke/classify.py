"""What the job's stderr and its death mean: harmless noise, a missing GPU's cause, or a failure.

The patterns are the messages TensorFlow, CUDA and cuDNN really print; the sources are the issue
threads in doctor-anchors-and-problems.md section 4 (tensorflow/tensorflow#45930, #62075, #50217,
#24828, #89272, #53341 and others).
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from envkit.smoke.model import Diagnosis, LineKind


@dataclass(frozen=True, slots=True)
class Pattern:
    cause: str
    kind: LineKind
    regex: re.Pattern[str]


def _p(cause: str, kind: LineKind, regex: str) -> Pattern:
    return Pattern(cause, kind, re.compile(regex))


NOISE, GPU_SETUP, PROBLEM = LineKind.NOISE, LineKind.GPU_SETUP, LineKind.PROBLEM

PATTERNS: tuple[Pattern, ...] = (
    # Harmless (tensorflow/tensorflow#62075, #77694, #74523; openxla/xla#20803).
    _p(
        "duplicate-registration",
        NOISE,
        r"Unable to register cu(?:DNN|FFT|BLAS) factory: Attempting to register factory for "
        r"plugin \w+ when one has already been registered"
        r"|computation placer already registered",
    ),
    _p(
        "tensorrt-missing",
        NOISE,
        r"TF-TRT Warning: Could not find TensorRT"
        r"|Could not load dynamic library '?libnvinfer"
        r"|Cannot dlopen some TensorRT libraries",
    ),
    _p(
        "numa-node",
        NOISE,
        r"successful NUMA node read from SysFS had negative value \(-1\)"
        r"|could not open file to read NUMA node"
        r"|Your kernel may have been built without NUMA support",
    ),
    _p(
        "cpu-features",
        NOISE,
        r"This TensorFlow binary is optimized to use available CPU instructions"
        r"|Your CPU supports instructions that this TensorFlow binary was not compiled to use"
        r"|rebuild TensorFlow with the appropriate compiler flags",
    ),
    _p("onednn-note", NOISE, r"oneDNN custom operations are on"),
    _p("log-preamble", NOISE, r"All log messages before absl::InitializeLog\(\) is called"),
    _p("keras-backend-note", NOISE, r"^Using (?:TensorFlow|Theano|CNTK) backend\.?$"),
    _p("cudart-note", NOISE, r"Ignore above cudart dlerror if you do not have a GPU"),
    _p(
        "python-warning",
        NOISE,
        r"\b(?:Deprecation|Future|User|Runtime)Warning\b|is deprecated|Instructions for updating",
    ),
    # Explain a missing GPU; harmless on a machine that has none (tensorflow/tensorflow#45930,
    # #63362, #255, #53341, #5777).
    _p(
        "cuda-library-missing",
        GPU_SETUP,
        r"Could not load dynamic library '?lib(?:cudart|cublas|cublasLt|cufft|curand|cusolver"
        r"|cusparse|cudnn|cupti)\b"
        r"|Cannot dlopen some GPU libraries",
    ),
    _p("no-cuda-driver", GPU_SETUP, r"Could not find cuda drivers on your machine"),
    _p("cuinit-no-device", GPU_SETUP, r"failed call to cuInit: CUDA_ERROR_NO_DEVICE"),
    _p("cuinit-unknown", GPU_SETUP, r"failed call to cuInit: CUDA_ERROR_UNKNOWN"),
    _p("cuinit-failed", GPU_SETUP, r"failed call to cuInit"),
    # Failures whatever was asked for (tensorflow/tensorflow#50217, #60913, #37606, #24828,
    # #36025, #89272, #97387, #101746, #31319, #102743).
    _p(
        "driver-too-old",
        PROBLEM,
        r"CUDA driver version is insufficient for CUDA runtime version"
        r"|kernel version \S+ does not match DSO version",
    ),
    _p(
        "cudnn-version",
        PROBLEM,
        r"Loaded runtime CuDNN library: \S+.* but source was compiled with",
    ),
    _p(
        "cudnn-init",
        PROBLEM,
        r"Failed to get convolution algorithm|DNN library is not found"
        r"|DNN library initialization failed|[Cc]ould not create cudnn handle"
        r"|CUDNN_STATUS_(?!SUCCESS)\w+",
    ),
    _p(
        "gpu-arch",
        PROBLEM,
        r"CUDA_ERROR_INVALID_PTX|CUDA_ERROR_NO_BINARY_FOR_GPU|CUDA_ERROR_UNSUPPORTED_PTX_VERSION"
        r"|no kernel image is available for execution on the device"
        r"|not built with CUDA kernel binaries compatible with compute capability"
        r"|device kernel image is invalid",
    ),
    _p(
        "out-of-memory",
        PROBLEM,
        r"OOM when allocating|ResourceExhaustedError|CUDA_ERROR_OUT_OF_MEMORY"
        r"|failed to allocate .* from device|\bMemoryError\b|std::bad_alloc"
        r"|[Oo]ut of memory",
    ),
    _p(
        "numpy-abi",
        PROBLEM,
        r"_ARRAY_API not found|compiled using NumPy 1\.x cannot be run in"
        r"|numpy\.core\.multiarray failed to import|module compiled against API version",
    ),
)


def classify_line(line: str) -> Pattern | None:
    """The first pattern ``line`` matches, or None for a line envkit has no opinion on."""
    for pattern in PATTERNS:
        if pattern.regex.search(line):
            return pattern
    return None


def classify(text: str) -> tuple[Diagnosis, ...]:
    """Every class of line in ``text``, in order of first appearance, with counts."""
    first: dict[str, tuple[Pattern, str]] = {}
    counts: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        pattern = classify_line(line)
        if pattern is None:
            continue
        first.setdefault(pattern.cause, (pattern, line))
        counts[pattern.cause] = counts.get(pattern.cause, 0) + 1
    return tuple(
        Diagnosis(cause, pattern.kind, _trimmed(line), counts[cause])
        for cause, (pattern, line) in first.items()
    )


def signal_name(returncode: int | None) -> str | None:
    """SIGILL for -4, and so on; None for a normal exit."""
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def fatal_line(stderr: str) -> str | None:
    """TensorFlow's last fatal log line (``F...] Check failed``) or Python's last exception line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if (
            re.match(r"^F\d{4} |^F0000 |^\d{4}-\d\d-\d\d [\d:.]+: F ", line)
            or "Check failed" in line
        ):
            return _trimmed(line)
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt)\b", line):
            return _trimmed(line)
    return None


def stderr_tail(stderr: str, lines: int = 25) -> str:
    """The last lines of stderr that are not known noise."""
    kept = []
    for raw in stderr.splitlines():
        pattern = classify_line(raw.strip())
        if raw.strip() and (pattern is None or pattern.kind is not LineKind.NOISE):
            kept.append(raw.rstrip())
    return "\n".join(kept[-lines:])


def _trimmed(line: str, limit: int = 400) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
