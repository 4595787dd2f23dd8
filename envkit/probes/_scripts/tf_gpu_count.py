"""Print how many GPUs TensorFlow lists, as one JSON line: {"gpus": N, "cuda_visible_devices": V}.

envkit runs this file by its path with the TARGET interpreter (any Python 3.6+), never with -c,
so sys.path[0] is this folder and not the working directory; the folder is dropped before the
import so that nothing beside this file can shadow tensorflow or json either.

envkit starts it without CUDA_VISIBLE_DEVICES; V is the value the interpreter has after
importing TensorFlow (null when unset): set only when the target environment sets it itself
(a wrapper, sitecustomize, a .pth file, code run at import).
"""

import os
import sys

sys.path[:] = [entry for entry in sys.path[1:] if entry]

import json  # noqa: E402

import tensorflow as tf  # noqa: E402

gpus = len(tf.config.list_physical_devices("GPU"))
print(json.dumps({"gpus": gpus, "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES")}))
