"""How many GPUs TensorFlow in a target interpreter lists: TensorFlow imported there, never here.

The question is a script file run by its path (``_scripts/tf_gpu_count.py``), never ``-c``: so
sys.path[0] is envkit's script folder, which the script drops, and not the working directory,
where a stray module could shadow the standard library or TensorFlow.
"""

from __future__ import annotations

import json
import os
from importlib import resources

from envkit.model import Unavailable
from envkit.probes import _proc
from envkit.records import record

TF_DEVICE_TIMEOUT_S = 30.0


@record
class TfGpuList:
    gpus: int
    """How many GPUs tf.config.list_physical_devices("GPU") lists."""
    cuda_visible_devices: str | None
    """CUDA_VISIBLE_DEVICES as the target interpreter has it after importing TensorFlow. envkit
    starts it without the variable, so a value here was set by the target environment itself."""
    inherited_visible_devices: str | None
    """The CUDA_VISIBLE_DEVICES of envkit's own environment, left out of the question (None
    when unset)."""


def tensorflow_gpu_count(python: str) -> int | Unavailable:
    """How many GPUs TensorFlow in ``python`` lists (see tensorflow_gpu_list)."""
    found = tensorflow_gpu_list(python)
    return found if isinstance(found, Unavailable) else found.gpus


def tensorflow_gpu_list(python: str) -> TfGpuList | Unavailable:
    """How many GPUs TensorFlow in ``python`` lists; importing TF there, never here.

    CUDA_VISIBLE_DEVICES is left out: the node is judged on what it can give, not on one
    shell's selection (envkit doctor judges that variable).
    """
    inherited = os.environ.get("CUDA_VISIBLE_DEVICES")
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    script = resources.files("envkit.probes") / "_scripts" / "tf_gpu_count.py"
    with resources.as_file(script) as script_path:  # by path, never -c: nothing from the cwd runs
        result = _proc.run(
            [python, "-B", str(script_path)],
            timeout_s=TF_DEVICE_TIMEOUT_S,
            env=env,
        )
    if result.timed_out:
        return Unavailable(
            "tensorflow-timeout", f"importing TensorFlow took over {TF_DEVICE_TIMEOUT_S:.0f} s"
        )
    if not result.ok:
        return Unavailable("tensorflow-failed", _failure_text(result))
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1])
        visible = answer.get("cuda_visible_devices")
        return TfGpuList(
            gpus=int(answer["gpus"]),
            cuda_visible_devices=visible if isinstance(visible, str) else None,
            inherited_visible_devices=inherited,
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return Unavailable("tensorflow-bad-output", "TensorFlow's device list could not be parsed")


def _failure_text(result: _proc.ProcResult) -> str:
    if result.start_error:
        return result.start_error
    if result.returncode is not None and result.returncode < 0:
        return f"the interpreter died with signal {-result.returncode} while importing TensorFlow"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"
