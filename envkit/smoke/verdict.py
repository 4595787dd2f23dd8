"""Reference accuracies, the tolerance a healthy run always passes, and what each run exercised.

The tutorial's figures (MNIST, Dense 512, rmsprop, 5 epochs, batch 128): 98.9 % train and
97.8 % test accuracy; runs on this project's CPU machines give 98.8-98.9 % and 97.8-98.1 %. The
floors sit well below what a healthy run reaches and far above what a broken one does (a network
that does not learn stays near 10 %; a GPU computing garbage, or a diverged loss, too).
"""

from __future__ import annotations

from envkit.smoke.model import Placement, Reference, RunVerdict, StackInfo

TUTORIAL_EPOCHS, TUTORIAL_BATCH, TUTORIAL_TRAIN = 5, 128, 60_000

_TUTORIAL = {
    # data kind: (train ref, test ref, train floor, test floor)
    "mnist": (0.989, 0.978, 0.975, 0.970),
    "mnist-format": (0.989, 0.978, 0.975, 0.970),
    "synthetic": (0.994, 0.990, 0.970, 0.960),
}
_SHORT = {
    # (model, data kind): (test ref, test floor) for the quick and short passes on 10,000 digits
    ("mlp", "mnist"): (0.82, 0.60),
    ("mlp", "synthetic"): (0.77, 0.50),
    ("cnn", "mnist"): (0.93, 0.70),
    ("cnn", "synthetic"): (0.94, 0.60),
    ("rnn", "mnist"): (0.90, 0.50),
    ("rnn", "synthetic"): (0.95, 0.50),
}
ABOVE_CHANCE = 0.30
"""For settings envkit has no reference for: three times chance proves the network learned."""


def reference_for(
    model: str, data_kind: str, epochs: int, batch_size: int, train_samples: int
) -> Reference:
    kind = "synthetic" if data_kind == "synthetic" else "mnist"
    data_name = "synthetic digits" if kind == "synthetic" else "MNIST"
    tutorial = (epochs, batch_size, train_samples) == (
        TUTORIAL_EPOCHS,
        TUTORIAL_BATCH,
        TUTORIAL_TRAIN,
    )
    if model == "mlp" and tutorial:
        train, test, min_train, min_test = _TUTORIAL[data_kind if data_kind in _TUTORIAL else kind]
        return Reference(
            f"the tutorial's run on {data_name}: Dense 512, 5 epochs, batch 128",
            train,
            test,
            min_train,
            min_test,
        )
    short = _SHORT.get((model, kind))
    if short is not None and train_samples <= 10_000 and epochs <= 2 and batch_size == 128:
        return Reference(
            f"a short {model} pass on {train_samples:,} {data_name}, {epochs} epoch(s)",
            None,
            short[0],
            None,
            short[1],
        )
    return Reference(
        "no reference for these settings: the test accuracy must show that the network learned",
        None,
        None,
        None,
        ABOVE_CHANCE,
    )


def judge(
    reference: Reference,
    failed: bool,
    train_accuracy: float | None,
    test_accuracy: float | None,
    train_loss: float | None,
    placement: Placement | None,
) -> tuple[RunVerdict, str]:
    if failed:
        return RunVerdict.ERROR, "the run did not finish"
    if train_loss is None or test_accuracy is None:
        return RunVerdict.FAIL, "the loss diverged (NaN or infinite)"
    if placement is not None and not placement.on_requested_device:
        shown = ", ".join(placement.forward_devices + placement.variable_devices) or "unknown"
        return (
            RunVerdict.FAIL,
            f"the network did not run on the requested device (it ran on {shown})",
        )
    if test_accuracy < reference.min_test_accuracy:
        return (
            RunVerdict.FAIL,
            f"test accuracy {test_accuracy:.4f} is below the floor "
            f"{reference.min_test_accuracy:.3f} ({reference.basis})",
        )
    floor = reference.min_train_accuracy
    if floor is not None and (train_accuracy is None or train_accuracy < floor):
        shown = "unknown" if train_accuracy is None else f"{train_accuracy:.4f}"
        return RunVerdict.FAIL, f"train accuracy {shown} is below the floor {floor:.3f}"
    return RunVerdict.PASS, f"test accuracy {test_accuracy:.4f} ≥ {reference.min_test_accuracy:.3f}"


def libraries_for(model: str, device: str, stack: StackInfo | None) -> tuple[str, ...]:
    """What a pass of ``model`` on ``device`` exercised (a dense network never touches cuDNN)."""
    backend = stack.backend if stack else "tensorflow"
    if device != "gpu":
        return {
            "jax": ("XLA CPU",),
            "torch": ("ATen CPU kernels",),
        }.get(backend, ("TensorFlow CPU kernels (Eigen/oneDNN)",))
    if model == "cnn":
        return ("cuDNN convolutions", "cuBLAS")
    if model == "rnn":
        if backend == "jax":
            return ("cuBLAS (XLA's LSTM is a scan of matmuls; no cuDNN RNN)",)
        return ("cuDNN RNN (LSTM kernel)", "cuBLAS")
    return ("cuBLAS (matmul)",)
