# (Python 3.6 code run by the target interpreter: no newer syntax; of envkit, only the
# protocol module envkit_job_events, which the launcher puts on PYTHONPATH.)
"""envkit smoke job: train the tutorial's MNIST network in the interpreter under examination.

Run by envkit as ``python -B job.py SPEC_JSON`` with the interpreter the user's code will use.
Needs only the standard library, NumPy and TensorFlow/Keras (or Keras 3 on JAX or PyTorch), and
must stay valid Python 3.6: the oldest stack it serves is Python 3.6 + TensorFlow 1.12 +
standalone Keras 2.2.4.

Protocol (version 1): one JSON object per line on the ORIGINAL stdout, each with "event" and "t"
(seconds since the job started). Everything else that writes to stdout (Keras, TensorFlow, C++)
is sent to stderr, which is left to the frameworks' logs. The parent answers the "ready" event
with one JSON line on stdin saying where the data is ({"data": {...}}) or {"abort": "why"}.

Events: hello, ready, data, run_start, batch, epoch, run_end, error, done.
"""

import gzip
import json
import math
import os
import sys
import time

from envkit_job_events import Events, drop_script_folder, error_fields, finite, peak_rss_bytes

PROTOCOL = 1
IMAGE_SIZE = 28
CLASSES = 10
SHIFT = 3
ERASE_PERCENT = 20

# Exit statuses; the parent reads the events first, these only back them up.
EXIT_OK = 0
EXIT_IMPORT_FAILED = 3
EXIT_BAD_SPEC = 4
EXIT_DATA_FAILED = 5


# ---------------------------------------------------------------- backends


def choose_backend(requested):
    """tensorflow where installed, else the backend Keras is configured for, else the one
    backend that is installed (jax, then torch)."""
    if requested:
        return requested
    import importlib.util

    if importlib.util.find_spec("tensorflow") is not None:
        return "tensorflow"
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    # Keras writes "tensorflow" into a new keras.json by itself: the file's backend counts
    # only when it is installed.
    configured = _configured_backend()
    if configured and importlib.util.find_spec(configured) is not None:
        return configured
    for backend in ("jax", "torch"):
        if importlib.util.find_spec(backend) is not None:
            return backend
    return "tensorflow"


def _configured_backend():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as handle:
            return json.load(handle).get("backend")
    except (OSError, ValueError, AttributeError):
        return None


class Stack(object):
    """The framework under test: imports, devices, placement proof, device scopes."""

    name = "tensorflow"

    def __init__(self, keras, numpy):
        self.keras = keras
        self.np = numpy
        self.keras_version = getattr(keras, "__version__", "unknown")
        self.keras3 = self.keras_version.split(".")[0] not in ("0", "1", "2")
        self.gpu_names = []
        self.current_device = "cpu"

    def versions(self):
        return {"keras": self.keras_version, "numpy": self.np.__version__}

    def device_scope(self, device):
        return self.keras.device("gpu:0" if device == "gpu" else "cpu:0")

    def prepare(self, device):
        """Called before each run is built."""

    def placement(self, model, sample, device):
        return {}

    def gpu_memory_peak(self):
        return None


class TensorFlowStack(Stack):
    def __init__(self, tf, keras, numpy):
        Stack.__init__(self, keras, numpy)
        self.tf = tf
        self.v1 = tf.__version__.startswith("1.")
        self.gpu_names = self._find_gpus()

    def versions(self):
        found = Stack.versions(self)
        found["tensorflow"] = self.tf.__version__
        found["backend_version"] = self.tf.__version__
        return found

    def _find_gpus(self):
        if self.v1:
            return self._find_gpus_v1()
        config = self.tf.config
        lister = getattr(config, "list_physical_devices", None)
        if lister is None:
            lister = config.experimental.list_physical_devices
        gpus = lister("GPU")
        names = []
        for gpu in gpus:
            try:
                config.experimental.set_memory_growth(gpu, True)
            except (RuntimeError, ValueError):
                pass
            details = {}
            get_details = getattr(config.experimental, "get_device_details", None)
            if get_details is not None:
                try:
                    details = get_details(gpu)
                except Exception:  # details are a nicety; the device is what counts
                    details = {}
            names.append(details.get("device_name") or gpu.name)
        return names

    def _find_gpus_v1(self):
        from tensorflow.python.client import device_lib

        config = self.tf.ConfigProto()
        config.gpu_options.allow_growth = True
        self._session_config = config
        names = []
        for device in device_lib.list_local_devices(session_config=config):
            if device.device_type == "GPU":
                desc = device.physical_device_desc or device.name
                for part in desc.split(", "):
                    if part.startswith("name: "):
                        desc = part[len("name: ") :]
                names.append(desc)
        return names

    def device_scope(self, device):
        return self.tf.device("/gpu:0" if device == "gpu" else "/cpu:0")

    def prepare(self, device):
        if self.v1:
            backend = self.keras.backend
            backend.clear_session()
            backend.set_session(self.tf.Session(config=self._session_config))
        else:
            self.keras.backend.clear_session()

    def placement(self, model, sample, device):
        if self.v1:
            return self._placement_v1(model, sample)
        output = model(sample, training=False)
        return {
            "method": "eager forward pass and variable devices",
            "forward": [getattr(output, "device", None) or "unknown"],
            "variables": sorted(set(_variable_device(w) for w in model.weights)),
        }

    def _placement_v1(self, model, sample):
        backend = self.keras.backend
        session = backend.get_session()
        options = self.tf.RunOptions(trace_level=self.tf.RunOptions.SOFTWARE_TRACE)
        metadata = self.tf.RunMetadata()
        feed = {model.inputs[0]: sample}
        learning_phase = backend.learning_phase()
        if not isinstance(learning_phase, int):
            feed[learning_phase] = 0
        session.run(model.outputs[0], feed_dict=feed, options=options, run_metadata=metadata)
        matmul = set()
        for device_stats in metadata.step_stats.dev_stats:
            for node in device_stats.node_stats:
                if "MatMul" in node.node_name or "Conv2D" in node.node_name:
                    matmul.add(device_stats.device.split("/stream:")[0])
        return {
            "method": "RunMetadata step stats of MatMul/Conv2D nodes",
            "forward": sorted(matmul),
            "variables": sorted(set(_variable_device(w) for w in model.weights)),
        }

    def gpu_memory_peak(self):
        experimental = getattr(self.tf.config, "experimental", None)
        get_info = getattr(experimental, "get_memory_info", None)
        if self.v1 or get_info is None or not self.gpu_names:
            return None
        try:
            return int(get_info("GPU:0")["peak"])
        except Exception:  # old TF without the counter, or no allocator yet
            return None


class JaxStack(Stack):
    name = "jax"

    def __init__(self, jax, keras, numpy):
        Stack.__init__(self, keras, numpy)
        self.jax = jax
        self.gpu_names = [d.device_kind for d in jax.devices() if d.platform == "gpu"]

    def versions(self):
        found = Stack.versions(self)
        found["backend_version"] = self.jax.__version__
        return found

    def placement(self, model, sample, device):
        output = model(sample, training=False)
        return {
            "method": "devices of JAX arrays",
            "forward": sorted(_jax_devices(output)),
            "variables": sorted(set(d for w in model.weights for d in _jax_devices(w.value))),
        }


class TorchStack(Stack):
    name = "torch"

    def __init__(self, torch, keras, numpy):
        Stack.__init__(self, keras, numpy)
        self.torch = torch
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        self.gpu_names = [torch.cuda.get_device_name(index) for index in range(count)]

    def versions(self):
        found = Stack.versions(self)
        found["backend_version"] = self.torch.__version__
        return found

    def device_scope(self, device):
        # Keras's torch backend names devices as torch does: a scope of "cpu:0" puts the
        # variables on a device other than its default "cpu", and fit() then sees no gradients.
        return self.keras.device("gpu" if device == "gpu" else "cpu")

    def placement(self, model, sample, device):
        output = model(sample, training=False)
        return {
            "method": "devices of torch tensors",
            "forward": [str(getattr(output, "device", "unknown"))],
            "variables": sorted(set(str(w.value.device) for w in model.weights)),
        }

    def gpu_memory_peak(self):
        if not self.gpu_names:
            return None
        return int(self.torch.cuda.max_memory_allocated())


def _variable_device(weight):
    device = getattr(weight, "device", None)
    if not device:
        value = getattr(weight, "value", None)
        device = getattr(value, "device", None) if value is not None else None
    return device or "unplaced"


def _jax_devices(array):
    devices = getattr(array, "devices", None)
    if callable(devices):
        return set(str(d) for d in devices())
    return set([str(getattr(array, "device", "unknown"))])


def import_stack(backend, events):
    """Import the framework; returns a Stack. Raises what the import raises."""
    events.emit("phase", phase="import", backend=backend)
    if backend == "tensorflow":
        import tensorflow as tf

        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        try:
            import keras
        except ImportError:
            keras = tf.keras
        if getattr(keras, "__version__", "2").split(".")[0] == "3" and not hasattr(keras, "device"):
            keras = tf.keras
        import numpy

        return TensorFlowStack(tf, keras, numpy)
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        import jax
        import keras
        import numpy

        return JaxStack(jax, keras, numpy)
    if backend == "torch":
        import keras
        import numpy
        import torch

        return TorchStack(torch, keras, numpy)
    raise ValueError("unknown backend %r (expected tensorflow, jax or torch)" % backend)


# ---------------------------------------------------------------- data


def read_idx(path, limit=None):
    """An IDX array from a .gz file; only the first ``limit`` items are read."""
    import numpy

    with gzip.open(path, "rb") as handle:
        header = handle.read(4)
        dims = header[3]
        shape = [int.from_bytes(handle.read(4), "big") for _ in range(dims)]
        count = shape[0] if limit is None else min(shape[0], limit)
        shape[0] = count
        size = 1
        for dim in shape:
            size *= dim
        payload = handle.read(size)
    return numpy.frombuffer(payload, dtype=numpy.uint8).reshape(shape)


def load_npz(path):
    import numpy

    with numpy.load(path, allow_pickle=False) as archive:
        # the .npy members envkit checked, never a same-named member without the suffix (#12)
        return tuple(archive[key + ".npy"] for key in ("x_train", "y_train", "x_test", "y_test"))


def load_with_keras(keras, timeout_s):
    import socket

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout_s)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    return x_train, y_train, x_test, y_test


# Seven-segment digits plus two diagonals: a, b, c, d, e, f, g, and the strokes of 1, 4, 7.
_SEGMENTS = {
    "a": ((0, 0), (0, 1)),
    "b": ((0, 1), (1, 1)),
    "c": ((1, 1), (2, 1)),
    "d": ((2, 0), (2, 1)),
    "e": ((1, 0), (2, 0)),
    "f": ((0, 0), (1, 0)),
    "g": ((1, 0), (1, 1)),
    "s": ((0, 1), (2, 0.3)),
    "k": ((0, 0.2), (1, 0)),
}
_DIGITS = ("abcdef", "bck", "abged", "abgcd", "fgbc", "afgcd", "afedcg", "as", "abcdefg", "abfgcd")


def _stroke(canvas, numpy, start, end, thickness, shear):
    """Draw a thick line from start to end ((row, col) in glyph units) into a 28x28 canvas."""
    top, left, height, width = 5.0, 8.0, 8.0, 10.0
    points = numpy.linspace(0.0, 1.0, 40)
    rows = top + height * (start[0] + (end[0] - start[0]) * points)
    cols = left + width * (start[1] + (end[1] - start[1]) * points) + shear * (rows - 14.0)
    grid_r, grid_c = numpy.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    for row, col in zip(rows, cols, strict=False):
        distance = numpy.sqrt((grid_r - row) ** 2 + (grid_c - col) ** 2)
        canvas[:] = numpy.maximum(canvas, numpy.clip(thickness - distance, 0.0, 1.0))


def _glyphs(numpy):
    """Base images: 10 digits x 2 thicknesses x 3 slants, float in 0..1."""
    glyphs = numpy.zeros((CLASSES, 6, IMAGE_SIZE, IMAGE_SIZE), dtype=numpy.float32)
    for digit, segments in enumerate(_DIGITS):
        variant = 0
        for thickness in (1.3, 2.0):
            for shear in (-0.25, 0.0, 0.25):
                for name in segments:
                    start, end = _SEGMENTS[name]
                    _stroke(glyphs[digit, variant], numpy, start, end, thickness, shear)
                variant += 1
    return glyphs


def synthetic_digits(count, seed):
    """``count`` 28x28 uint8 digit images and labels, the same for a seed on any NumPy.

    Seven-segment glyphs, shifted, slanted, thinned or thickened, dimmed and speckled; a dense
    network learns them well but not perfectly. RandomState's streams are stable across NumPy
    releases, which keeps this set the same from NumPy 1.13 to 2.x. Made in chunks, so that
    it costs no more memory than MNIST itself.
    """
    import numpy

    glyphs = _glyphs(numpy)
    random = numpy.random.RandomState(seed)
    labels = random.randint(0, CLASSES, size=count).astype(numpy.uint8)
    images = numpy.empty((count, IMAGE_SIZE, IMAGE_SIZE), dtype=numpy.uint8)
    for start in range(0, count, 10000):
        stop = min(count, start + 10000)
        images[start:stop] = _synthetic_chunk(numpy, random, glyphs, labels[start:stop])
    return images, labels


def _synthetic_chunk(numpy, random, glyphs, labels):
    count = len(labels)
    variants = random.randint(0, glyphs.shape[1], size=count)
    shifts = random.randint(-SHIFT, SHIFT + 1, size=(count, 2))
    strength = random.uniform(0.5, 1.0, size=count).astype(numpy.float32)
    images = glyphs[labels, variants] * strength[:, None, None]
    for dy in range(-SHIFT, SHIFT + 1):
        for dx in range(-SHIFT, SHIFT + 1):
            chosen = numpy.nonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))[0]
            if len(chosen):
                images[chosen] = numpy.roll(images[chosen], (dy, dx), axis=(1, 2))
    # Erase a random block from some images, then speckle every image.
    erase = numpy.nonzero(random.randint(0, 100, size=count) < ERASE_PERCENT)[0]
    corners = random.randint(4, 20, size=(len(erase), 2))
    for index, (row, col) in zip(erase, corners, strict=False):
        images[index, row : row + 5, col : col + 5] = 0.0
    pixels = images * 255.0
    speckle = random.randint(0, 100, size=images.shape, dtype=numpy.uint8) < 12
    pixels += speckle * random.randint(0, 90, size=images.shape, dtype=numpy.uint8)
    return numpy.clip(pixels, 0.0, 255.0).astype(numpy.uint8)


def load_data(request, stack, spec, events):
    """The four arrays and a description, as the parent's data answer says."""
    kind = request.get("kind")
    limit_train = spec.get("train_limit")
    limit_test = spec.get("test_limit")
    described = {"source": kind}
    if kind == "idx":
        files = request["files"]
        arrays = (
            read_idx(files["train_images"], limit_train),
            read_idx(files["train_labels"], limit_train),
            read_idx(files["test_images"], limit_test),
            read_idx(files["test_labels"], limit_test),
        )
    elif kind == "npz":
        arrays = load_npz(request["path"])
    elif kind == "download":
        try:
            arrays = load_with_keras(stack.keras, float(request.get("timeout_s", 30)))
            described["digests"] = _digests(arrays)
        except Exception as error:  # any failure of the download falls back to synthetic
            described = {
                "source": "synthetic",
                "download_error": "%s: %s" % (type(error).__name__, str(error)[:300]),
            }
            kind = "synthetic"
    if kind == "synthetic":
        seed = int(request.get("seed", 20180101))
        train = synthetic_digits(limit_train or 60000, seed)
        test = synthetic_digits(limit_test or 10000, seed + 1)
        arrays = (train[0], train[1], test[0], test[1])
    x_train, y_train, x_test, y_test = arrays
    if limit_train:
        x_train, y_train = x_train[:limit_train], y_train[:limit_train]
    if limit_test:
        x_test, y_test = x_test[:limit_test], y_test[:limit_test]
    problem = _shape_problem(x_train, y_train, x_test, y_test)
    if problem:
        raise ValueError(problem)
    described.update(train_samples=len(x_train), test_samples=len(x_test))
    events.emit("data", **described)
    return x_train, y_train, x_test, y_test


def _digests(arrays):
    import hashlib

    import numpy

    names = ("x_train", "y_train", "x_test", "y_test")
    return dict(
        (name, hashlib.sha256(numpy.ascontiguousarray(array).tobytes()).hexdigest())
        for name, array in zip(names, arrays, strict=False)
    )


def _shape_problem(x_train, y_train, x_test, y_test):
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            return "%s images have shape %s, not (n, 28, 28)" % (name, images.shape)
        if labels.shape != (images.shape[0],):
            return "%s labels have shape %s for %d images" % (name, labels.shape, len(images))
        if len(labels) and (labels.min() < 0 or labels.max() >= CLASSES):
            return "%s labels run from %d to %d, not 0..9" % (name, labels.min(), labels.max())
    return None


# ---------------------------------------------------------------- models


def build_model(stack, name):
    keras = stack.keras
    layers = keras.layers
    if name == "mlp":
        shape, body = (
            (IMAGE_SIZE * IMAGE_SIZE,),
            [
                layers.Dense(512, activation="relu"),
                layers.Dense(CLASSES, activation="softmax"),
            ],
        )
        optimizer = "rmsprop"
    elif name == "cnn":
        shape, body = (
            (IMAGE_SIZE, IMAGE_SIZE, 1),
            [
                layers.Conv2D(32, (3, 3), activation="relu"),
                layers.Conv2D(64, (3, 3), activation="relu"),
                layers.MaxPooling2D((2, 2)),
                layers.Dropout(0.25),
                layers.Flatten(),
                layers.Dense(128, activation="relu"),
                layers.Dropout(0.5),
                layers.Dense(CLASSES, activation="softmax"),
            ],
        )
        optimizer = "adam"
    elif name == "rnn":
        shape, body = (
            (IMAGE_SIZE, IMAGE_SIZE),
            [
                _lstm(stack, 64),
                layers.Dense(CLASSES, activation="softmax"),
            ],
        )
        optimizer = _adam(keras, 0.005)
    else:
        raise ValueError("unknown model %r" % name)
    if stack.keras3:
        model = keras.Sequential([keras.Input(shape=shape), *body])
    else:
        model = keras.models.Sequential([layers.InputLayer(input_shape=shape), *body])
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _adam(keras, rate):
    try:
        return keras.optimizers.Adam(learning_rate=rate)
    except TypeError:  # Keras 2.2.4 says lr
        return keras.optimizers.Adam(lr=rate)


def _lstm(stack, units):
    """Keras 2.2.4 needs CuDNNLSTM for the cuDNN kernel; newer Keras picks it by itself."""
    layers = stack.keras.layers
    if getattr(stack, "v1", False) and stack.current_device == "gpu":
        cudnn = getattr(layers, "CuDNNLSTM", None)
        if cudnn is not None:
            return cudnn(units)
    return layers.LSTM(units)


def shaped(numpy, images, model_name):
    pixels = images.astype("float32") / 255.0
    if model_name == "mlp":
        return pixels.reshape((len(images), IMAGE_SIZE * IMAGE_SIZE))
    if model_name == "cnn":
        return pixels.reshape((len(images), IMAGE_SIZE, IMAGE_SIZE, 1))
    return pixels


def one_hot(numpy, labels):
    return numpy.eye(CLASSES, dtype="float32")[labels.astype("int64")]


def accuracy_of(logs):
    for key in ("accuracy", "acc", "categorical_accuracy"):
        if key in logs:
            return finite(logs[key])
    return None


def make_progress(stack, events, run):
    """A Keras callback streaming epoch ends and, at most 4 times a second, batch progress."""
    base = stack.keras.callbacks.Callback

    class Progress(base):
        async_safe = True  # Keras 3: batch hooks may run on its callback thread

        def __init__(self):
            base.__init__(self)
            self.epoch_started = 0.0
            self.last_batch_event = 0.0
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.time()

        def on_batch_end(self, batch, logs=None):
            now = time.time()
            if now - self.last_batch_event < 0.25:
                return
            self.last_batch_event = now
            logs = logs or {}
            events.emit(
                "batch",
                epoch=self._epoch_number(),
                batch=int(batch) + 1,
                loss=finite(logs.get("loss")),
                acc=accuracy_of(logs),
                **run,
            )

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.time() - self.epoch_started
            logs = logs or {}
            record = {
                "epoch": int(epoch) + 1,
                "loss": finite(logs.get("loss")),
                "acc": accuracy_of(logs),
                "seconds": round(seconds, 4),
            }
            self.epochs.append(record)
            events.emit("epoch", **dict(record, **run))

        def _epoch_number(self):
            return len(self.epochs) + 1

    return Progress()


def run_one(stack, events, data, plan, device, batch_size):
    numpy = stack.np
    name = plan["model"]
    run = {"model": name, "device": device}
    x_train, y_train, x_test, y_test = data
    train_limit = plan.get("train_limit")
    test_limit = plan.get("test_limit")
    if train_limit:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    if test_limit:
        x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    stage = "build"
    try:
        stack.current_device = device
        stack.prepare(device)
        inputs, targets = shaped(numpy, x_train, name), one_hot(numpy, y_train)
        test_inputs, test_targets = shaped(numpy, x_test, name), one_hot(numpy, y_test)
        steps = math.ceil(len(inputs) / float(batch_size))
        with stack.device_scope(device):
            model = build_model(stack, name)
            events.emit(
                "run_start",
                epochs=plan["epochs"],
                batch_size=batch_size,
                train_samples=len(inputs),
                test_samples=len(test_inputs),
                steps_per_epoch=steps,
                parameters=int(model.count_params()),
                **run,
            )
            stage = "placement"
            placement = stack.placement(model, test_inputs[:2], device)
            stage = "fit"
            progress = make_progress(stack, events, run)
            started = time.time()
            model.fit(
                inputs,
                targets,
                batch_size=batch_size,
                epochs=plan["epochs"],
                verbose=0,
                callbacks=[progress],
            )
            fit_seconds = time.time() - started
            stage = "evaluate"
            scores = model.evaluate(test_inputs, test_targets, batch_size=batch_size, verbose=0)
    except Exception as error:
        events.emit("error", **dict(error_fields(error, stage), **run))
        return False
    last = progress.epochs[-1] if progress.epochs else {}
    events.emit(
        "run_end",
        fit_seconds=round(fit_seconds, 4),
        samples_per_s=round(len(inputs) * plan["epochs"] / fit_seconds, 1),
        train_loss=last.get("loss"),
        train_acc=last.get("acc"),
        test_loss=finite(scores[0]),
        test_acc=finite(scores[1]),
        placement=placement,
        peak_rss_bytes=peak_rss_bytes(),
        gpu_memory_peak_bytes=stack.gpu_memory_peak() if device == "gpu" else None,
        **run,
    )
    return True


# ---------------------------------------------------------------- main


def devices_for(requested, gpu_names):
    """The devices to run on, and the error to report where a GPU was asked for but is absent."""
    if requested == "auto":
        return (["gpu"] if gpu_names else ["cpu"]), None
    if requested == "cpu":
        return ["cpu"], None
    missing = None if gpu_names else "gpu-not-visible"
    if requested == "gpu":
        return (["gpu"] if gpu_names else []), missing
    return (["cpu", "gpu"] if gpu_names else ["cpu"]), missing


def read_answer():
    line = sys.stdin.readline()
    if not line:
        return {"abort": "the parent closed stdin"}
    return json.loads(line)


def main(argv):
    events = Events()
    events.hello(PROTOCOL)
    try:
        spec = json.loads(argv[1])
        backend = choose_backend(spec.get("backend"))
    except (IndexError, ValueError) as error:
        events.emit("error", **error_fields(error, "spec"))
        return EXIT_BAD_SPEC
    try:
        stack = import_stack(backend, events)
    except Exception as error:
        events.emit("error", **error_fields(error, "import"))
        return EXIT_IMPORT_FAILED
    devices, missing = devices_for(spec.get("device", "auto"), stack.gpu_names)
    versions = stack.versions()
    events.emit(
        "ready", backend=stack.name, versions=versions, gpus=stack.gpu_names, devices=devices
    )
    answer = read_answer()
    if "abort" in answer:
        return EXIT_OK
    try:
        data = load_data(answer["data"], stack, spec, events)
    except Exception as error:
        events.emit("error", **error_fields(error, "data"))
        return EXIT_DATA_FAILED
    if missing:
        events.emit(
            "error",
            stage="devices",
            type="GpuNotVisible",
            message=missing,
            device="gpu",
            traceback="",
        )
    batch_size = int(spec.get("batch_size", 128))
    for device in devices:
        for plan in spec["runs"]:
            if plan.get("gpu_only") and device != "gpu":
                continue
            run_one(stack, events, data, plan, device, batch_size)
    events.emit("done", peak_rss_bytes=peak_rss_bytes())
    return EXIT_OK


if __name__ == "__main__":
    drop_script_folder(__file__)
    sys.exit(main(sys.argv))
