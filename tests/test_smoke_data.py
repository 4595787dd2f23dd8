"""The smoke run's data: stdlib validation of IDX and npz files, canonical MNIST by digest.

The files are made here with the standard library (no NumPy in envkit's environment); the real
MNIST in ../shared/data/mnist is used when present.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import sys
import zipfile
from pathlib import Path

import pytest

from envkit.smoke import DataError, JobEvent, SmokeSpec, run_smoke
from envkit.smoke.data import IDX_FILES, MNIST_SHA256, find_keras_cache, inspect_path

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def idx_bytes(shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def images(count: int, seed: int = 1) -> bytes:
    return bytes((i * 7 + seed) % 256 for i in range(count * 28 * 28))


def labels(count: int) -> bytes:
    return bytes(i % 10 for i in range(count))


def write_idx_folder(folder: Path, train: int = 30, test: int = 10, **override: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    contents = {
        "x_train": idx_bytes((train, 28, 28), images(train)),
        "y_train": idx_bytes((train,), labels(train)),
        "x_test": idx_bytes((test, 28, 28), images(test, 3)),
        "y_test": idx_bytes((test,), labels(test)),
    }
    contents.update(override)
    for role, name in IDX_FILES.items():
        (folder / name).write_bytes(gzip.compress(contents[role]))
    return folder


def npy_bytes(descr: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def write_npz(path: Path, **override: bytes) -> Path:
    members = {
        "x_train": npy_bytes("|u1", (30, 28, 28), images(30)),
        "y_train": npy_bytes("<i8", (30,), b"".join(struct.pack("<q", i % 10) for i in range(30))),
        "x_test": npy_bytes("|u1", (10, 28, 28), images(10, 3)),
        "y_test": npy_bytes("|u1", (10,), labels(10)),
    }
    members.update(override)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for role, blob in members.items():
            archive.writestr(f"{role}.npy", blob)
    return path


def test_valid_idx_folder_is_mnist_format(tmp_path: Path) -> None:
    info = inspect_path(str(write_idx_folder(tmp_path / "digits")), "--data")
    assert (info.kind, info.format, info.train_samples, info.test_samples) == (
        "mnist-format", "idx", 30, 10,
    )  # fmt: skip
    assert dict(info.sha256)["y_test"] == hashlib.sha256(labels(10)).hexdigest()
    assert "not the canonical" in info.label


def test_valid_npz_with_int64_labels(tmp_path: Path) -> None:
    info = inspect_path(str(write_npz(tmp_path / "mnist.npz")), "keras-cache")
    assert (info.kind, info.format, info.origin) == ("mnist-format", "npz", "keras-cache")
    # int64 labels hash as their uint8 values, as MNIST's published digests are of uint8 arrays
    assert dict(info.sha256)["y_train"] == hashlib.sha256(labels(30)).hexdigest()


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "digits")
    target = folder / IDX_FILES["x_train"]
    target.write_bytes(target.read_bytes()[:-40])
    with pytest.raises(DataError) as caught:
        inspect_path(str(folder), "--data")
    message = str(caught.value)
    assert str(target) in message and "truncated" in message and "\n" not in message


def test_not_gzip_at_all(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "digits")
    (folder / IDX_FILES["y_test"]).write_bytes(b"<html>404</html>")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: not a readable gzip"):
        inspect_path(str(folder), "--data")


def test_wrong_image_shape(tmp_path: Path) -> None:
    folder = write_idx_folder(
        tmp_path / "digits", x_train=idx_bytes((30, 28, 27), bytes(30 * 28 * 27))
    )
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz.*\(30, 28, 27\)"):
        inspect_path(str(folder), "--data")


def test_payload_shorter_than_its_shape(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "d", x_test=idx_bytes((10, 28, 28), images(9)))
    with pytest.raises(DataError, match=r"t10k-images.*7056 bytes of data .* expected 7840"):
        inspect_path(str(folder), "--data")


def test_labels_out_of_range(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "d", y_train=idx_bytes((30,), bytes([3] * 29 + [12])))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: labels run from 3 to 12"):
        inspect_path(str(folder), "--data")


def test_counts_disagree(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "d", y_test=idx_bytes((9,), labels(9)))
    with pytest.raises(DataError, match=r"10 test images but 9 test labels"):
        inspect_path(str(folder), "--data")


def test_folder_without_the_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing train-images-idx3-ubyte\.gz"):
        inspect_path(str(tmp_path), "--data")


def test_missing_path() -> None:
    with pytest.raises(DataError, match=r"/nonexistent/mnist\.npz: no such file"):
        inspect_path("/nonexistent/mnist.npz", "--data")


def test_corrupt_npz(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "mnist.npz")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(DataError) as caught:
        inspect_path(str(path), "--data")
    assert str(path) in str(caught.value) and "npz" in str(caught.value)


def test_npz_with_a_flipped_byte_fails_its_crc(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for role in ("x_train", "y_train", "x_test", "y_test"):
            count = 30 if "train" in role else 10
            if role.startswith("x"):
                archive.writestr(f"{role}.npy", npy_bytes("|u1", (count, 28, 28), images(count)))
            else:
                archive.writestr(f"{role}.npy", npy_bytes("|u1", (count,), labels(count)))
    blob = bytearray(buffer.getvalue())
    blob[2000] ^= 0xFF  # inside x_train's pixels: only the CRC can tell
    path = tmp_path / "mnist.npz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match=r"mnist\.npz: not a valid npz \(zip\) file: Bad CRC"):
        inspect_path(str(path), "--data")


def test_npz_with_float_images(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "m.npz", x_test=npy_bytes("<f4", (10, 28, 28), bytes(31360)))
    with pytest.raises(DataError, match=r"m\.npz: x_test\.npy has dtype <f4, not uint8"):
        inspect_path(str(path), "--data")


def test_npz_missing_an_array(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", npy_bytes("|u1", (1, 28, 28), images(1)))
    with pytest.raises(DataError, match=r"npz file without y_train\.npy, x_test\.npy, y_test"):
        inspect_path(str(path), "--data")


def test_keras_cache_lookup_follows_keras_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    keras_home = tmp_path / "kh"
    (keras_home / "datasets").mkdir(parents=True)
    assert find_keras_cache({"HOME": str(home), "KERAS_HOME": str(keras_home)}) in (
        None,
        "/tmp/.keras/datasets/mnist.npz",
    )
    write_npz(keras_home / "datasets" / "mnist.npz")
    found = find_keras_cache({"HOME": str(home), "KERAS_HOME": str(keras_home)})
    assert found == str(keras_home / "datasets" / "mnist.npz")


def test_bad_data_is_refused_before_anything_trains(tmp_path: Path) -> None:
    folder = write_idx_folder(tmp_path / "d", y_test=idx_bytes((10,), bytes([0] * 9 + [10])))
    events: list[JobEvent] = []
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: labels run from 0 to 10"):
        run_smoke(sys.executable, SmokeSpec(data=str(folder), quick=True), on_event=events.append)
    assert not [event for event in events if event.name in ("data", "run_start", "epoch")]


def test_real_mnist_is_recognised_by_digest() -> None:
    if not (SHARED_MNIST / IDX_FILES["x_train"]).is_file():
        pytest.skip(f"the real MNIST is not at {SHARED_MNIST}")
    info = inspect_path(str(SHARED_MNIST), "--data")
    assert info.kind == "mnist" and info.label.startswith("MNIST (canonical")
    assert (info.train_samples, info.test_samples) == (60000, 10000)
    assert dict(info.sha256) == MNIST_SHA256
