"""Every check `envkit env check` runs, with its stable id: what `--list-checks` would print."""

from __future__ import annotations

from envkit.model import CheckInfo

YAML_SYNTAX = CheckInfo("envfile.yaml-syntax", "python", "The file is YAML that parses.")
DUPLICATE_KEY = CheckInfo(
    "envfile.duplicate-key", "python", "No key is written twice in one mapping (conda refuses)."
)
STRUCTURE = CheckInfo(
    "envfile.structure",
    "python",
    "name, channels, dependencies and variables have the shapes conda accepts.",
)
UNKNOWN_KEY = CheckInfo(
    "envfile.unknown-key", "python", "Only keys conda reads are used; others are ignored by it."
)
NO_NAME = CheckInfo(
    "envfile.no-name", "python", "The file names its environment (else -n is needed)."
)
PIP_MISSING = CheckInfo(
    "envfile.pip-missing", "python", "A file with a pip: section also installs pip from conda."
)
REQUIREMENT_SYNTAX = CheckInfo(
    "envfile.requirement-syntax", "python", "Every pip line is a requirement pip accepts."
)
NOT_FOLLOWED = CheckInfo(
    "envfile.include", "python", "Other files a requirements file includes (-r, -c) are named."
)
PYTHON_UNPINNED = CheckInfo(
    "envfile.python-unpinned", "python", "The Python version is pinned to one series."
)
PYTHON_VERSION = CheckInfo(
    "envfile.python-version",
    "python",
    "The Python version is one the TensorFlow of the file has wheels for.",
)
TENSORFLOW_MISSING = CheckInfo(
    "envfile.tensorflow-missing", "tensorflow", "The file installs TensorFlow."
)
TENSORFLOW_UNPINNED = CheckInfo(
    "envfile.tensorflow-unpinned", "tensorflow", "TensorFlow is pinned to one series."
)
TENSORFLOW_UNKNOWN = CheckInfo(
    "envfile.tensorflow-unknown",
    "tensorflow",
    "The TensorFlow version asked for is a release envkit knows.",
)
TENSORFLOW_GPU = CheckInfo(
    "envfile.tensorflow-gpu",
    "tensorflow",
    "The obsolete tensorflow-gpu package is not used (tensorflow has the GPU build since 2.1).",
)
CUDA_PINS = CheckInfo(
    "envfile.cuda-pins",
    "tensorflow",
    "cudatoolkit, cudnn and NVIDIA wheel pins match the CUDA the TensorFlow was built with.",
)
KERAS = CheckInfo(
    "envfile.keras",
    "tensorflow",
    "A Keras pin is the major version the TensorFlow expects (3 from 2.16, 2 before).",
)
NUMPY = CheckInfo(
    "envfile.numpy", "tensorflow", "NumPy is pinned below 2 for TensorFlow older than 2.18."
)

CHECKS: tuple[CheckInfo, ...] = (
    YAML_SYNTAX,
    DUPLICATE_KEY,
    STRUCTURE,
    UNKNOWN_KEY,
    NO_NAME,
    PIP_MISSING,
    REQUIREMENT_SYNTAX,
    NOT_FOLLOWED,
    PYTHON_UNPINNED,
    PYTHON_VERSION,
    TENSORFLOW_MISSING,
    TENSORFLOW_UNPINNED,
    TENSORFLOW_UNKNOWN,
    TENSORFLOW_GPU,
    CUDA_PINS,
    KERAS,
    NUMPY,
)

# ---------------------------------------------------------------- added for issue #9 (tfjudge)

LOCATION = CheckInfo(
    "envfile.location",
    "python",
    "pip lines that install from a path or URL are read (wheel names give name and version).",
)
PYTHON_EOL = CheckInfo(
    "envfile.python-eol", "python", "The Python the file pins still gets security fixes."
)
PYTHON_CONFLICT = CheckInfo(
    "envfile.python-conflict", "python", "The file's python pins admit one common version."
)

CHECKS += (LOCATION, PYTHON_EOL, PYTHON_CONFLICT)
