# (Python 3.9+ code run by the target interpreter; of envkit, only the protocol module
# envkit_job_events, which the launcher puts on PYTHONPATH.)
"""envkit validate workload job: the default tier's measurements, through TensorFlow.

Run by envkit as ``python -B workload_job.py SPEC_JSON`` with the interpreter the user's code
will use. Needs only the standard library, NumPy and TensorFlow 2.x.

Two modes. ``local`` (the default): on every planned device (each GPU, or the CPU's logical
devices) time dense GEMMs, repeat one GEMM on fixed inputs and compare the results bitwise (plus
a Freivalds known-answer check), time device-memory and host<->device copies; then one
MirroredStrategy training step across all the devices. ``worker``: one worker of a
MultiWorkerMirroredStrategy cluster (TF_CONFIG, set by the parent) runs the same training step.

Protocol (version 1): one JSON object per line on the ORIGINAL stdout, each with "event" and "t"
(seconds since the job started). Everything else that writes to stdout is sent to stderr.
Measurements carry wall_start/wall_end (time.time(), the parent's clock too) so that the
parent can match them with its telemetry samples.

Events: hello, phase, devices, test_start, gemm, determinism, bandwidth, step, skip, error, done.
A test's failure is an "error" event with "test" and "device"; the job then goes on with the
next test. An "error" without "test" (bad spec, failed import) ends the job.
"""

import contextlib
import hashlib
import json
import math
import os
import sys
import threading
import time

from envkit_job_events import Events, drop_script_folder, error_fields, finite, peak_rss_bytes

PROTOCOL = 1
EXIT_OK = 0
EXIT_IMPORT_FAILED = 3
EXIT_BAD_SPEC = 4
EXIT_SETUP_FAILED = 5
UNIT_ROUNDOFF = {"fp32": 2.0**-24, "tf32": 2.0**-11, "bf16": 2.0**-8, "fp16": 2.0**-11}
STEP_LEARNING_RATE = 0.1
STEP_SEED = 20240601


# ---------------------------------------------------------------- devices


class Device:
    """One planned device: its label (gpu:3 = NVML index 3), TF name and what TF says of it."""

    def __init__(self, plan, tf_name, name, capability):
        self.plan = plan
        self.label = f"{plan['kind']}:{plan['index']}"
        self.kind = plan["kind"]
        self.tf_name = tf_name
        self.name = name
        self.capability = capability

    def describe(self):
        return {
            "label": self.label,
            "kind": self.kind,
            "index": self.plan["index"],
            "tf_name": self.tf_name,
            "name": self.name,
            "compute_capability": self.capability,
        }

    def tf32(self, tf):
        """Whether an fp32 GEMM here runs on TF32 tensor cores (Ampere and newer, TF32 on)."""
        if self.kind != "gpu" or not self.capability:
            return False
        major = int(str(self.capability).split(".")[0])
        return major >= 8 and bool(tf.config.experimental.tensor_float_32_execution_enabled())


def configure_cpu(tf, logical_devices):
    if not logical_devices or logical_devices < 2:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    config = tf.config.LogicalDeviceConfiguration
    tf.config.set_logical_device_configuration(cpu, [config() for _ in range(logical_devices)])


def find_devices(tf, spec):
    """The planned devices TF sees, and an error message for each it does not."""
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        with contextlib.suppress(RuntimeError, ValueError):
            tf.config.experimental.set_memory_growth(gpu, True)
    found, missing = [], []
    for position, plan in enumerate(spec["devices"]):
        if plan["kind"] == "gpu":
            slot = plan.get("tf_index", position)
            if slot >= len(gpus):
                why = f"TensorFlow sees {len(gpus)} GPU(s); GPU:{slot} is not one"
                missing.append((plan, why))
                continue
            details = gpu_details(tf, gpus[slot])
            capability = details.get("compute_capability")
            if isinstance(capability, (tuple, list)):
                capability = f"{capability[0]}.{capability[1]}"
            found.append(Device(plan, f"/GPU:{slot}", details.get("device_name"), capability))
        else:
            found.append(Device(plan, f"/CPU:{plan['index']}", "CPU", None))
    return found, missing


def gpu_details(tf, gpu):
    try:
        return tf.config.experimental.get_device_details(gpu) or {}
    except Exception:  # details are a nicety; the device is what counts
        return {}


# ---------------------------------------------------------------- timing


def sync(tf, tensor):
    """Wait for the tensor by reading one element of it: a device's stream runs in order."""
    return tf.reshape(tensor, [-1])[0].numpy()


def timed(tf, run, min_seconds, max_iterations):
    """(iterations, seconds, wall_start, wall_end) of enough calls of ``run`` to fill min_seconds.

    ``run`` does one unit of work and returns a tensor. Two warm-up calls (kernel selection,
    allocation) come first, then batches of doubling size until one takes a tenth of
    min_seconds; all of that is untimed.
    """
    for _ in range(2):
        sync(tf, run())
    batch = 1
    while True:
        started = time.perf_counter()
        for _ in range(batch):
            result = run()
        sync(tf, result)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds / 10.0 or batch >= max_iterations:
            break
        batch *= 2
    single = max(elapsed / batch, 1e-9)
    iterations = int(min(max_iterations, max(1, math.ceil(min_seconds / single))))
    wall_start = time.time()
    started = time.perf_counter()
    for _ in range(iterations):
        result = run()
    sync(tf, result)
    seconds = time.perf_counter() - started
    return iterations, seconds, wall_start, time.time()


DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def random_matrix(tf, n, seed, precision):
    values = tf.random.stateless_uniform([n, n], seed=[seed, 7], minval=-1.0, maxval=1.0)
    return tf.cast(values, getattr(tf, DTYPES[precision]))


def gemm(tf, events, device, precision, spec):
    n = int(device.plan["gemm_n"])
    with tf.device(device.tf_name):
        a = random_matrix(tf, n, 1, precision)
        b = random_matrix(tf, n, 2, precision)
        iterations, seconds, wall_start, wall_end = timed(
            tf,
            lambda: tf.linalg.matmul(a, b),
            spec["min_seconds"],
            spec.get("max_iterations", 10000),
        )
    events.emit(
        "gemm",
        device=device.label,
        precision=precision,
        tf32=precision == "fp32" and device.tf32(tf),
        n=n,
        iterations=iterations,
        seconds=round(seconds, 6),
        tflops=2.0 * n**3 * iterations / seconds / 1e12,
        wall_start=wall_start,
        wall_end=wall_end,
    )


def bandwidth(tf, events, device, spec):
    """Device memory: y = x + 1 over a large float32 tensor reads and writes it once each."""
    size = int(device.plan["memory_bytes"])
    with tf.device(device.tf_name):
        x = tf.random.stateless_uniform([size // 4], seed=[3, 7])
        iterations, seconds, wall_start, wall_end = timed(
            tf, lambda: x + 1.0, spec["min_seconds"], spec.get("max_iterations", 10000)
        )
    emit_bandwidth(events, device, "device", 2 * size, iterations, seconds, wall_start, wall_end)


def host_bandwidth(tf, np, events, device, spec):
    """Host to device and back, as TensorFlow copies tensors (its own host buffers)."""
    size = int(device.plan["host_bytes"])
    if device.kind != "gpu" or size <= 0:
        events.emit(
            "skip",
            test="host-bandwidth",
            device=device.label,
            reason="not applicable: the device is the host",
        )
        return
    with tf.device("/CPU:0"):
        host = tf.constant(np.ones(size // 4, dtype=np.float32))
    for direction in ("h2d", "d2h"):
        with tf.device(device.tf_name):
            on_device = tf.identity(host)
        target = device.tf_name if direction == "h2d" else "/CPU:0"
        source = host if direction == "h2d" else on_device

        def copy(target=target, source=source):
            with tf.device(target):
                return tf.identity(source)

        iterations, seconds, wall_start, wall_end = timed(
            tf, copy, spec["min_seconds"], spec.get("max_iterations", 10000)
        )
        emit_bandwidth(events, device, direction, size, iterations, seconds, wall_start, wall_end)


def emit_bandwidth(events, device, direction, size, iterations, seconds, wall_start, wall_end):
    events.emit(
        "bandwidth",
        device=device.label,
        direction=direction,
        bytes=size,
        iterations=iterations,
        seconds=round(seconds, 6),
        gbps=size * iterations / seconds / 1e9,
        wall_start=wall_start,
        wall_end=wall_end,
    )


# ---------------------------------------------------------------- determinism


def determinism(tf, np, events, device, spec):
    """The same GEMM on fixed inputs, repeated; every result compared bitwise with the first.

    The first result is also checked against a float64 Freivalds product: row sums of A @ B
    against A @ (B @ 1), normalised by |A| @ (|B| @ 1), within the precision's error bound.
    """
    n = int(device.plan["determinism_n"])
    repeats = int(device.plan["determinism_repeats"])
    precision = device.plan.get("determinism_precision", "fp32")
    inject = spec.get("inject") or {}
    injected_repeat = inject.get("repeat") if inject.get("device") == device.label else None
    wall_start = time.time()
    with tf.device(device.tf_name):
        a = random_matrix(tf, n, 11, precision)
        b = random_matrix(tf, n, 12, precision)
        first = tf.linalg.matmul(a, b)
        bits_type = tf.int32 if precision == "fp32" else tf.int16
        reference = tf.bitcast(first, bits_type)
        mismatched_repeats, mismatched_elements, max_diff = 0, 0, 0.0
        for repeat in range(1, repeats + 1):
            result = tf.bitcast(tf.linalg.matmul(a, b), bits_type)
            if repeat == injected_repeat:
                result = flip_bit(tf, result, int(inject.get("bit", 0)))
            differing = int(tf.math.count_nonzero(tf.not_equal(result, reference)))
            if differing:
                mismatched_repeats += 1
                mismatched_elements += differing
                values = tf.cast(tf.bitcast(result, first.dtype), tf.float32)
                diff = tf.reduce_max(tf.abs(values - tf.cast(first, tf.float32)))
                max_diff = max(max_diff, float(diff.numpy()))
    tf32 = precision == "fp32" and device.tf32(tf)
    error, nonfinite = freivalds(np, a, b, first)
    roundoff = UNIT_ROUNDOFF["tf32" if tf32 else precision]
    events.emit(
        "determinism",
        device=device.label,
        precision=precision,
        tf32=tf32,
        n=n,
        repeats=repeats,
        mismatched_repeats=mismatched_repeats,
        mismatched_elements=mismatched_elements,
        max_abs_diff=finite(max_diff) if mismatched_elements else 0.0,
        nonfinite=nonfinite,
        freivalds_error=finite(error),
        freivalds_tolerance=2.0 * roundoff + n * 2.0**-24,
        injected=injected_repeat is not None,
        injected_bit=int(inject.get("bit", 0)) if injected_repeat is not None else None,
        wall_start=wall_start,
        wall_end=time.time(),
    )


def flip_bit(tf, bits, bit):
    """INJECTED corruption for envkit's tests: one bit of element [0, 0] flipped."""
    width = 32 if bits.dtype == tf.int32 else 16
    mask = (1 << bit) - ((1 << width) if bit == width - 1 else 0)
    corner = tf.bitwise.bitwise_xor(bits[0, 0], tf.constant(mask, dtype=bits.dtype))
    return tf.tensor_scatter_nd_update(bits, [[0, 0]], tf.reshape(corner, [1]))


def freivalds(np, a, b, product):
    """Largest normalised row-sum error of ``product`` against A @ (B @ 1); NaN/inf count."""
    import tensorflow as tf

    a64 = tf.cast(a, tf.float32).numpy().astype(np.float64)
    b64 = tf.cast(b, tf.float32).numpy().astype(np.float64)
    c64 = tf.cast(product, tf.float32).numpy().astype(np.float64)
    nonfinite = int(np.count_nonzero(~np.isfinite(c64)))
    ones = np.ones(b64.shape[1])
    expected = a64 @ (b64 @ ones)
    scale = np.abs(a64) @ (np.abs(b64) @ ones)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(c64 @ ones - expected) / np.maximum(scale, 1e-30)
    return (float("inf") if nonfinite else float(np.max(error))), nonfinite


# ---------------------------------------------------------------- distributed step


def training_step(tf, np, strategy, steps):
    """A linear model trained ``steps`` steps on shards of one batch across the strategy's
    replicas; the weights are compared with the same descent done in float64 by NumPy."""
    replicas = strategy.num_replicas_in_sync
    features, outputs, per_replica = 64, 16, 32
    random = np.random.RandomState(STEP_SEED)
    x = random.standard_normal((per_replica * replicas, features)).astype(np.float32)
    y = (x @ random.standard_normal((features, outputs))).astype(np.float32)
    w0 = (0.1 * random.standard_normal((features, outputs))).astype(np.float32)
    with strategy.scope():
        weights = tf.Variable(w0, aggregation=tf.VariableAggregation.MEAN)

    def shard(context):
        index = context.replica_id_in_sync_group
        return tf.constant(x[index::replicas]), tf.constant(y[index::replicas])

    batch = strategy.experimental_distribute_values_from_function(shard)

    def replica_step(inputs, targets):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(inputs, weights) - targets))
        weights.assign_sub(STEP_LEARNING_RATE * tape.gradient(loss, weights))
        return loss

    @tf.function
    def step(inputs, targets):
        losses = strategy.run(replica_step, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)

    started = time.perf_counter()
    losses = [finite(step(*batch).numpy()) for _ in range(steps)]
    seconds = time.perf_counter() - started
    copies = [value.numpy() for value in strategy.experimental_local_results(weights)]
    expected = reference_descent(np, x, y, w0, steps)
    return {
        "replicas": replicas,
        "steps": steps,
        "losses": losses,
        "max_abs_error": finite(max(float(np.max(np.abs(c - expected))) for c in copies)),
        "tolerance": 1e-3,
        "replicas_agree": all(np.array_equal(copies[0], c) for c in copies[1:]),
        "weights_sha256": hashlib.sha256(copies[0].tobytes()).hexdigest(),
        "seconds": round(seconds, 4),
    }


def reference_descent(np, x, y, w0, steps):
    x64, y64, w = x.astype(np.float64), y.astype(np.float64), w0.astype(np.float64)
    for _ in range(steps):
        gradient = 2.0 * x64.T @ (x64 @ w - y64) / y64.size
        w = w - STEP_LEARNING_RATE * gradient
    return w


def mirrored_step(tf, np, events, devices, spec):
    if len(devices) < 2:
        events.emit(
            "skip",
            test="mirrored-step",
            device=None,
            reason=f"a MirroredStrategy step needs two or more devices; {len(devices)} planned",
        )
        return
    names = [device.tf_name for device in devices]
    events.emit("test_start", test="mirrored-step", device=None, devices=names)
    previous = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)  # an exact known answer
    try:
        strategy = tf.distribute.MirroredStrategy(devices=names)
        result = training_step(tf, np, strategy, int(spec.get("steps", 3)))
    except Exception as error:
        events.emit("error", test="mirrored-step", device=None, **error_fields(error))
        return
    finally:
        tf.config.experimental.enable_tensor_float_32_execution(previous)
    events.emit("step", strategy="mirrored", task_index=None, workers=1, devices=names, **result)


# ---------------------------------------------------------------- modes


def measure_device(tf, np, events, device, spec):
    tests = spec["tests"]
    for precision in device.plan["precisions"] if "gemm" in tests else ():
        run_test(events, "gemm-" + precision, device, gemm, tf, events, device, precision, spec)
    if "determinism" in tests:
        run_test(events, "determinism", device, determinism, tf, np, events, device, spec)
    if "memory" in tests:
        run_test(events, "memory-bandwidth", device, bandwidth, tf, events, device, spec)
    if "host" in tests:
        run_test(events, "host-bandwidth", device, host_bandwidth, tf, np, events, device, spec)


def run_test(events, test, device, function, *args):
    events.emit("test_start", test=test, device=device.label)
    try:
        function(*args)
    except Exception as error:
        events.emit("error", test=test, device=device.label, **error_fields(error))


def run_local(tf, np, events, spec):
    devices, missing = find_devices(tf, spec)
    events.emit(
        "devices", tensorflow=tf.__version__, devices=[device.describe() for device in devices]
    )
    for plan, why in missing:
        label = f"{plan['kind']}:{plan['index']}"
        events.emit("error", test="device", device=label, type="DeviceNotVisible", message=why)
    if spec.get("concurrent") and len(devices) > 1:
        threads = [
            threading.Thread(target=measure_device, args=(tf, np, events, device, spec))
            for device in devices
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        for device in devices:
            measure_device(tf, np, events, device, spec)
    if "mirrored" in spec["tests"]:
        mirrored_step(tf, np, events, devices, spec)


def run_worker(tf, np, events, spec):
    """One worker of a MultiWorkerMirroredStrategy cluster described by TF_CONFIG."""
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = int(cluster.get("task", {}).get("index", 0))
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=float(spec.get("collective_timeout_s", 60))
    )
    events.emit("phase", phase="cluster")
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    events.emit(
        "devices",
        tensorflow=tf.__version__,
        devices=[],
        task_index=task,
        workers=len(cluster.get("cluster", {}).get("worker", [])),
        replicas=strategy.num_replicas_in_sync,
    )
    events.emit("test_start", test="multiworker-step", device=None)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        result = training_step(tf, np, strategy, int(spec.get("steps", 3)))
    except Exception as error:
        events.emit("error", test="multiworker-step", device=None, **error_fields(error))
        return
    workers = len(cluster.get("cluster", {}).get("worker", []))
    local = [str(device) for device in strategy.extended.worker_devices]
    events.emit(
        "step", strategy="multiworker", task_index=task, workers=workers, devices=local, **result
    )


def main(argv):
    events = Events()
    events.hello(PROTOCOL)
    try:
        spec = json.loads(argv[1])
        mode = spec.get("mode", "local")
    except (IndexError, ValueError) as error:
        events.emit("error", **error_fields(error, "spec"))
        return EXIT_BAD_SPEC
    events.emit("phase", phase="import")
    try:
        import tensorflow as tf  # noqa: I001 -- first: its absence is the news, not NumPy's

        import numpy as np

        if mode == "local":
            configure_cpu(tf, spec.get("cpu_logical_devices"))
        if spec.get("tf32") is False:
            tf.config.experimental.enable_tensor_float_32_execution(False)
    except Exception as error:
        events.emit("error", **error_fields(error, "import"))
        return EXIT_IMPORT_FAILED
    try:
        (run_worker if mode == "worker" else run_local)(tf, np, events, spec)
    except Exception as error:
        events.emit("error", **error_fields(error, "setup"))
        return EXIT_SETUP_FAILED
    events.emit("done", peak_rss_bytes=peak_rss_bytes())
    return EXIT_OK


if __name__ == "__main__":
    drop_script_folder(__file__)
    sys.exit(main(sys.argv))
