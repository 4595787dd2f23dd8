"""A/B benchmark of envkit smoke against the tutorial's script run plainly.

Same interpreter, same data, alternating order, several rounds; medians reported:

* samples/s during fit: envkit's job >= 0.95 x the plain script;
* peak RSS (each process's own ru_maxrss): envkit's job <= 1.1 x the plain script;
* wall time of a --quick smoke run, envkit's own start-up included, against
  ``python -c "import tensorflow"`` in the same interpreter: <= import + 5 s.

    .venv/bin/python scripts/bench_smoke.py [--python PATH] [--data DIR] [--rounds N]

The defaults are the test env "tf" and the real MNIST beside the project (../shared/data/mnist).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PYTHON = (
    Path(os.environ.get("ENVKIT_TEST_ENVS") or Path.home() / ".cache/envkit/test-envs")
    / "tf/bin/python"
)
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist"

PLAIN_SCRIPT = r"""
import gzip, json, resource, sys, time
import numpy as np
try:
    import keras
except ImportError:
    from tensorflow import keras

def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)

folder = sys.argv[1]
train_images = idx(folder + "/train-images-idx3-ubyte.gz")
train_labels = idx(folder + "/train-labels-idx1-ubyte.gz")
test_images = idx(folder + "/t10k-images-idx3-ubyte.gz")
test_labels = idx(folder + "/t10k-labels-idx1-ubyte.gz")

# The tutorial, as printed.
network = keras.Sequential([
    keras.Input(shape=(28 * 28,)),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
network.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
train_images = train_images.reshape((60000, 28 * 28)).astype("float32") / 255
test_images = test_images.reshape((10000, 28 * 28)).astype("float32") / 255
train_labels = keras.utils.to_categorical(train_labels)
test_labels = keras.utils.to_categorical(test_labels)
started = time.time()
network.fit(train_images, train_labels, epochs=5, batch_size=128, verbose=0)
fit_seconds = time.time() - started
test_loss, test_acc = network.evaluate(test_images, test_labels, verbose=0)
print(json.dumps({
    "samples_per_s": 60000 * 5 / fit_seconds,
    "test_acc": float(test_acc),
    "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
"""

QUICK = r"""
import sys
from envkit.smoke import SmokeSpec, run_smoke
result = run_smoke(sys.argv[1], SmokeSpec(quick=True, data=sys.argv[2] or None, offline=True))
if result.verdict.value != "pass":
    sys.exit(str(result))
"""


def plain(python: str, data: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(PLAIN_SCRIPT)
    try:
        done = subprocess.run(
            [python, handle.name, data], capture_output=True, text=True, check=True
        )
    finally:
        os.unlink(handle.name)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def envkit_job(python: str, data: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from envkit.smoke import SmokeSpec, run_smoke

    result = run_smoke(python, SmokeSpec(data=data, device="cpu", models=("mlp",)))
    (run,) = result.runs
    if not (run.samples_per_s and run.test_accuracy and run.peak_rss_bytes):
        sys.exit(f"bench_smoke: envkit's run did not finish: {result}")
    return {
        "samples_per_s": run.samples_per_s,
        "test_acc": run.test_accuracy,
        "peak_rss_bytes": float(run.peak_rss_bytes),
    }


def wall(argv: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=str(DEFAULT_PYTHON))
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not Path(args.data, "train-images-idx3-ubyte.gz").is_file():
        sys.exit(f"bench_smoke: no MNIST IDX files in {args.data}")

    plains, jobs = [], []
    for round_number in range(args.rounds):
        pair = (plain, envkit_job) if round_number % 2 == 0 else (envkit_job, plain)
        for function in pair:
            measured = function(args.python, args.data)
            (plains if function is plain else jobs).append(measured)
            print(f"round {round_number + 1} {function.__name__:10} {measured}", flush=True)

    def median(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    sps_ratio = median(jobs, "samples_per_s") / median(plains, "samples_per_s")
    rss_ratio = median(jobs, "peak_rss_bytes") / median(plains, "peak_rss_bytes")
    print(
        f"samples/s  plain {median(plains, 'samples_per_s'):,.0f}  "
        f"envkit {median(jobs, 'samples_per_s'):,.0f}  ratio {sps_ratio:.3f} (goal >= 0.95)"
    )
    print(f"peak RSS   plain {median(plains, 'peak_rss_bytes') / 2**20:,.0f} MiB  "
          f"envkit {median(jobs, 'peak_rss_bytes') / 2**20:,.0f} MiB  "
          f"ratio {rss_ratio:.3f} (goal <= 1.1)")  # fmt: skip

    imports = [wall([args.python, "-c", "import tensorflow"]) for _ in range(args.rounds)]
    quick_mnist = [
        wall([sys.executable, "-c", QUICK, args.python, args.data]) for _ in range(args.rounds)
    ]
    quick_synthetic = [
        wall([sys.executable, "-c", QUICK, args.python, ""]) for _ in range(args.rounds)
    ]
    tf_import = statistics.median(imports)
    for label, values in (("MNIST", quick_mnist), ("synthetic", quick_synthetic)):
        quick = statistics.median(values)
        print(f"--quick ({label:9}) wall {quick:.2f} s  import tensorflow {tf_import:.2f} s  "
              f"margin {quick - tf_import:.2f} s (goal <= 5 s)")  # fmt: skip


if __name__ == "__main__":
    main()
