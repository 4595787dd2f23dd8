"""Environment reports people paste: TensorFlow's ``tf_env_collect.sh`` and PyTorch's
``python -m torch.utils.collect_env``. Both print facts and exit 0 even when the framework
cannot import; here their facts become an :class:`EnvReport`, and the nvidia-smi section of
tf_env_collect.sh is handed back for the nvidia-smi readers."""

from __future__ import annotations

import re

from envkit.inputs.model import EnvReport
from envkit.model import Distribution

_TF_SECTION = re.compile(r"^== (.+?) =+\s*$", re.MULTILINE)
_TORCH_KEYS = {
    "PyTorch version": "torch",
    "CUDA used to build PyTorch": "torch_cuda_build",
    "OS": "os",
    "Libc version": "libc",
    "Python version": "python",
    "Is CUDA available": "cuda_available",
    "CUDA runtime version": "cuda_runtime",
    "Nvidia driver version": "driver_version",
    "cuDNN version": "cudnn",
}


def looks_like_tf_env_collect(text: str) -> bool:
    return "== check python" in text or "== tensorflow import" in text


def looks_like_torch_collect_env(text: str) -> bool:
    return "PyTorch version:" in text and "Is CUDA available:" in text


def read_tf_env_collect(text: str) -> tuple[EnvReport, str | None]:
    """The facts, and the text of its nvidia-smi section (None when it has none)."""
    sections = _sections(text)
    facts: dict[str, str] = {}
    python = re.search(r"^python version:\s*(\S+)", sections.get("check python", ""), re.M)
    if python:
        facts["python"] = python.group(1)
    tf = re.search(r"tf\.version\.VERSION\s*=\s*(\S+)", text) or re.search(
        r"tf\.VERSION\s*=\s*(\S+)", text
    )
    if tf:
        facts["tensorflow"] = tf.group(1)
    os_release = re.search(
        r"^linux distribution:\s*(.+)$", sections.get("check os platform", ""), re.M
    )
    if os_release:
        facts["os"] = os_release.group(1).strip()
    pips = tuple(
        Distribution(match.group(1), match.group(2))
        for match in re.finditer(
            r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s+(\d\S*)\s*$", sections.get("check pips", ""), re.M
        )
    )
    return EnvReport("tf-env-collect", facts, pips), sections.get("nvidia-smi")


def _sections(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    matches = list(_TF_SECTION.finditer(text))
    for at, match in enumerate(matches):
        end = matches[at + 1].start() if at + 1 < len(matches) else len(text)
        found[match.group(1).strip().lower()] = text[match.end() : end]
    return found


def read_torch_collect_env(text: str) -> EnvReport:
    facts: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in _TORCH_KEYS and value.strip():
            facts.setdefault(_TORCH_KEYS[key.strip()], value.strip())
    if "python" in facts:
        facts["python"] = facts["python"].split()[0]
    gpus = re.findall(r"^(?:GPU models and configuration:\s*)?GPU \d+: (.+)$", text, re.M)
    if gpus:
        facts["gpu_names"] = "; ".join(gpu.strip() for gpu in gpus)
    pips = tuple(
        Distribution(match.group(1), match.group(2))
        for match in re.finditer(r"^\[pip3?\]\s+([A-Za-z0-9._-]+)==(\S+)", text, re.M)
    )
    return EnvReport("torch-collect-env", facts, pips)
