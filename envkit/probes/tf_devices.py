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

TF_DEVICE_TIMEOUT_S = 30.0


def tensorflow_gpu_count(python: str) -> int | Unavailable:
    """How many GPUs TensorFlow in ``python`` lists; importing TF there, never here.

    CUDA_VISIBLE_DEVICES is left out: the node is judged on what it can give, not on one
    shell's selection (envkit doctor judges that variable).
    """
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
        return int(json.loads(result.stdout.strip().splitlines()[-1])["gpus"])
    except (ValueError, KeyError, IndexError, TypeError):
        return Unavailable("tensorflow-bad-output", "TensorFlow's device list could not be parsed")


def _failure_text(result: _proc.ProcResult) -> str:
    if result.start_error:
        return result.start_error
    if result.returncode is not None and result.returncode < 0:
        return f"the interpreter died with signal {-result.returncode} while importing TensorFlow"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"
