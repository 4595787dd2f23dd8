"""Print how many GPUs TensorFlow lists, as one JSON line: {"gpus": N}.

envkit runs this file by its path with the TARGET interpreter (any Python 3.6+), never with -c,
so sys.path[0] is this folder and not the working directory; the folder is dropped before the
import so that nothing beside this file can shadow tensorflow or json either.
"""

import sys

sys.path[:] = [entry for entry in sys.path[1:] if entry]

import json  # noqa: E402

import tensorflow as tf  # noqa: E402

print(json.dumps({"gpus": len(tf.config.list_physical_devices("GPU"))}))
