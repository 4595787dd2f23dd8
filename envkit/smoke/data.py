"""Where the smoke run's digits come from, validated with the standard library only.

envkit's own process has no NumPy, yet a truncated, corrupt or wrong-shaped file must be refused
with one line naming it before anything trains. So the files are read here in full: gzip and
struct for the four IDX files, zipfile and a small ``.npy`` header reader for Keras's
``mnist.npz``. The arrays' SHA-256 says whether the data is the canonical MNIST.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import io
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence

from envkit.records import record
from envkit.smoke.model import DataInfo

MAX_MEMBER_BYTES = 64 * 1024 * 1024
"""One unpacked array or IDX file; MNIST's largest (x_train) is 47 MB."""
IMAGE_SIDE = 28
CLASSES = 10

MNIST_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
}
"""SHA-256 of MNIST's raw uint8 arrays in C order, however a file packs them."""

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
ROLES = ("x_train", "y_train", "x_test", "y_test")
_IDX_ROLE_NAMES = {
    "x_train": "train_images",
    "y_train": "train_labels",
    "x_test": "test_images",
    "y_test": "test_labels",
}

_NPY_MAGIC = b"\x93NUMPY"
_LABEL_DTYPES = {
    "|u1": "B",
    "<u1": "B",
    "|i1": "b",
    "<i2": "h",
    "<u2": "H",
    "<i4": "i",
    "<u4": "I",
    "<i8": "q",
    "<u8": "Q",
}
"""NumPy dtype strings envkit accepts for labels, with their struct format letter."""


class DataError(ValueError):
    """The data file is unusable; the message is one line that names it."""


@record
class _Array:
    shape: tuple[int, ...]
    label_range: tuple[int, int] | None
    sha256: str


# ---------------------------------------------------------------- where the data comes from


def keras_cache_candidates(env: Mapping[str, str]) -> tuple[str, ...]:
    """Where ``keras.datasets.mnist.load_data()`` keeps mnist.npz, in the order Keras looks."""
    homes = []
    if env.get("KERAS_HOME"):
        homes.append(env["KERAS_HOME"])
    home = env.get("HOME") or os.path.expanduser("~")
    homes.append(os.path.join(home, ".keras"))
    homes.append(os.path.join("/tmp", ".keras"))  # noqa: S108 -- Keras's own fallback
    return tuple(os.path.join(folder, "datasets", "mnist.npz") for folder in homes)


def find_keras_cache(env: Mapping[str, str]) -> str | None:
    for candidate in keras_cache_candidates(env):
        if os.path.isfile(candidate):
            return candidate
    return None


def inspect_path(path: str, origin: str) -> DataInfo:
    """Validate ``path`` (an npz file or a folder of IDX .gz files); raise DataError if bad."""
    expanded = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(expanded):
        return _inspect_idx_folder(expanded, origin)
    if not os.path.exists(expanded):
        raise DataError(f"{path}: no such file or folder")
    return _inspect_npz(expanded, origin)


def _described(
    origin: str, fmt: str, path: str, arrays: dict[str, _Array], files: tuple[tuple[str, str], ...]
) -> DataInfo:
    canonical = all(arrays[role].sha256 == MNIST_SHA256[role] for role in ROLES)
    return DataInfo(
        origin=origin,
        kind="mnist" if canonical else "mnist-format",
        format=fmt,
        path=path,
        train_samples=arrays["x_train"].shape[0],
        test_samples=arrays["x_test"].shape[0],
        sha256=tuple((role, arrays[role].sha256) for role in ROLES),
        files=files,
    )


# ---------------------------------------------------------------- IDX


def _inspect_idx_folder(folder: str, origin: str) -> DataInfo:
    missing = [
        name for name in IDX_FILES.values() if not os.path.isfile(os.path.join(folder, name))
    ]
    if missing:
        raise DataError(
            f"{folder}: not MNIST data: missing {', '.join(missing)} "
            "(expected Keras's mnist.npz or a folder with the four IDX .gz files)"
        )
    arrays = {}
    for role, name in IDX_FILES.items():
        arrays[role] = _read_idx(os.path.join(folder, name), role)
    _check_counts(arrays, folder)
    files = tuple(
        (_IDX_ROLE_NAMES[role], os.path.join(folder, name)) for role, name in IDX_FILES.items()
    )
    return _described(origin, "idx", folder, arrays, files)


def _read_idx(path: str, role: str) -> _Array:
    raw = _gunzip(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise DataError(f"{path}: IDX element type 0x{raw[2]:02x}, not unsigned bytes (0x08)")
    dims = raw[3]
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{dims}I", raw[4:header])
    _check_shape(path, role, shape)
    payload = memoryview(raw)[header:]
    expected = _product(shape)
    if len(payload) != expected:
        raise DataError(
            f"{path}: {len(payload)} bytes of data for shape {_shown(shape)}, expected {expected}"
        )
    label_range = _label_range(path, role, payload, "B")
    return _Array(shape, label_range, hashlib.sha256(payload).hexdigest())


def _gunzip(path: str) -> bytes:
    compressed = _read_input(path)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(compressed), mode="rb") as handle:
            raw = handle.read(MAX_MEMBER_BYTES + 1)
        if len(raw) > MAX_MEMBER_BYTES:
            raise DataError(f"{path}: unpacks to over {MAX_MEMBER_BYTES >> 20} MiB; MNIST does not")
        return raw
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (it ends before its end marker)") from None
    except (OSError, zlib.error) as error:
        raise DataError(f"{path}: not a readable gzip file ({error})") from None


# ---------------------------------------------------------------- npz


def _read_input(path: str) -> bytes:
    """The file through the one bounded reader: regular files only, at most 64 MiB (#12)."""
    from envkit.readers import InputError, read_bytes

    try:
        return read_bytes(path)
    except InputError as error:
        raise DataError(str(error)) from None


def _inspect_npz(path: str, origin: str) -> DataInfo:
    data = _read_input(path)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            missing = [f"{role}.npy" for role in ROLES if f"{role}.npy" not in names]
            if missing:
                raise DataError(f"{path}: npz file without {', '.join(missing)}")
            _refuse_ambiguous_members(path, names)
            arrays = {role: _read_npy(path, role, _member(path, archive, role)) for role in ROLES}
    except zipfile.BadZipFile as error:
        raise DataError(f"{path}: not a valid npz (zip) file: {error}") from None
    except (EOFError, zlib.error, OSError) as error:
        raise DataError(f"{path}: corrupt npz file: {error}") from None
    _check_counts(arrays, path)
    return _described(origin, "npz", path, arrays, ())


def _refuse_ambiguous_members(path: str, names: set[str]) -> None:
    """NumPy's npz lookup prefers a member named ``y_train`` over ``y_train.npy``: an archive
    with both would have envkit check one array and the job train on the other."""
    twins = [role for role in ROLES if role in names]
    if twins:
        raise DataError(
            f"{path}: npz file with members named both {twins[0]} and {twins[0]}.npy; "
            "envkit will not guess which one is the data"
        )


def _member(path: str, archive: zipfile.ZipFile, role: str) -> bytes:
    info = archive.getinfo(f"{role}.npy")
    if info.file_size > MAX_MEMBER_BYTES:
        raise DataError(
            f"{path}: {role}.npy unpacks to {info.file_size} bytes, over "
            f"{MAX_MEMBER_BYTES >> 20} MiB; MNIST does not"
        )
    return archive.read(info)


def _read_npy(path: str, role: str, blob: bytes) -> _Array:
    where = f"{path}: {role}.npy"
    if not blob.startswith(_NPY_MAGIC) or len(blob) < 10:
        raise DataError(f"{where} is not a .npy array")
    major = blob[6]
    if major == 1:
        (length,) = struct.unpack("<H", blob[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", blob[8:12])
        start = 12
    try:
        header = ast.literal_eval(blob[start : start + length].decode("latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], tuple(header["shape"])
    except (ValueError, SyntaxError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise DataError(f"{where} has an unreadable header") from None
    if not isinstance(descr, str):
        raise DataError(f"{where} has a structured dtype; envkit reads plain integer arrays")
    if not all(type(dim) is int and 0 <= dim < 2**31 for dim in shape):
        raise DataError(f"{where} has the shape {shape!r}, not a list of sizes")
    if fortran and len(shape) > 1:
        raise DataError(f"{where} is stored in Fortran order; envkit reads C-ordered arrays")
    _check_shape(f"{where}", role, shape, prefix="")
    images = role.startswith("x")
    fmt = "B" if descr in ("|u1", "<u1") else _LABEL_DTYPES.get(descr) if not images else None
    if fmt is None:
        wanted = "uint8" if images else "an integer type"
        raise DataError(f"{where} has dtype {descr}, not {wanted}")
    payload = memoryview(blob)[start + length :]
    expected = _product(shape) * struct.calcsize(fmt)
    if len(payload) != expected:
        raise DataError(
            f"{where} holds {len(payload)} bytes for shape {_shown(shape)}, not {expected}"
        )
    label_range = _label_range(where, role, payload, fmt)
    if fmt == "B":
        digest = hashlib.sha256(payload).hexdigest()
    else:  # the canonical digest is of uint8 labels: hash the values as bytes
        digest = hashlib.sha256(bytes(_values(payload, fmt))).hexdigest()
    return _Array(shape, label_range, digest)


# ---------------------------------------------------------------- shared checks


def _check_shape(where: str, role: str, shape: tuple[int, ...], prefix: str = "") -> None:
    if role.startswith("x"):
        if len(shape) != 3 or shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise DataError(f"{where}{prefix} has shape {_shown(shape)}, not (n, 28, 28) images")
    elif len(shape) != 1:
        raise DataError(f"{where}{prefix} has shape {_shown(shape)}, not (n,) labels")
    if shape[0] == 0:
        raise DataError(f"{where}{prefix} is empty")


def _label_range(where: str, role: str, payload: memoryview, fmt: str) -> tuple[int, int] | None:
    if role.startswith("x"):
        return None
    values = _values(payload, fmt)
    low, high = min(values), max(values)
    if low < 0 or high >= CLASSES:
        raise DataError(f"{where}: labels run from {low} to {high}, not 0..9")
    return low, high


def _values(payload: memoryview, fmt: str) -> Sequence[int]:
    if fmt == "B":
        return payload.tobytes()
    return [value for (value,) in struct.iter_unpack("<" + fmt, payload)]


def _check_counts(arrays: dict[str, _Array], where: str) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"].shape[0], arrays[f"y_{split}"].shape[0]
        if images != labels:
            raise DataError(f"{where}: {images} {split} images but {labels} {split} labels")


def _product(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def _shown(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(dim) for dim in shape) + ("," if len(shape) == 1 else "") + ")"
