"""The one bounded reader (envkit/readers.py) and every input that goes through it (#12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from envkit.envfiles.export import read_conda_meta
from envkit.readers import MAX_JSON_DEPTH, InputError, load_json, read_bytes, read_json
from envkit.smoke.data import DataError, inspect_path
from envkit.validate.fleet import summarize
from envkit.validate.report_json import validation_json
from tests.fixtures.validate.synthetic import healthy_results, node_report
from tests.test_smoke_data import npy_bytes, write_npz

DEEP = "[" * 5000 + "]" * 5000


def _envkit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "envkit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        check=False,
    )


def _one_line_exit_2(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------- the reader


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO, not a regular file"):
        read_bytes(fifo)


def test_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "snapshot.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="is a device"):
        read_bytes(link)


def test_size_limit_names_the_file_and_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2049)
    with pytest.raises(InputError, match=r"big\.json is over 2 KiB"):
        read_bytes(big, limit=2048)
    assert read_bytes(big, limit=4096) == b" " * 2049


def test_depth_limit_before_any_recursion() -> None:
    with pytest.raises(
        InputError, match=f"5000 levels deep; envkit reads at most {MAX_JSON_DEPTH}"
    ):
        load_json(DEEP, "x.json")
    assert load_json(
        '{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', "s"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1" * 400, "integer of 400 digits"),
        ("[1e999]", "too large to be finite"),
        ('{"x": NaN}', "NaN"),
        ("[-Infinity]", "Infinity"),
    ],
)
def test_number_limits(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        load_json(text, "n.json")


def test_lone_surrogate_becomes_replacement_character() -> None:
    assert load_json('{"host\\udc00": ["a\\ud800b"]}', "s.json") == {"host\ufffd": ["a\ufffdb"]}
    assert load_json('"\\ud83d\\ude00"', "s.json") == "\U0001f600"  # a real pair stays


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(InputError, match=r"not a text file \(not UTF-8: byte 13 is 0xe9\)"):
        read_json(path)


# ---------------------------------------------------------------- doctor --snapshot


@pytest.fixture(scope="module")
def snapshot_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = _envkit("report", "--json")
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p, s: p.symlink_to("/dev/zero"), "is a device"),
        (lambda p, s: os.mkfifo(p), "is a FIFO"),
        (lambda p, s: p.write_text(DEEP), "levels deep"),
        (
            lambda p, s: p.write_text(
                s.replace('"taken_at"', '"big": ' + "9" * 400 + ', "taken_at"')
            ),
            "400 digits",
        ),
    ],
    ids=["dev-zero", "fifo", "deep", "400-digits"],
)
def test_bad_snapshot_is_one_line_exit_2(
    tmp_path: Path, snapshot_text: str, make: object, fragment: str
) -> None:
    path = tmp_path / "other.json"
    make(path, snapshot_text)  # type: ignore[operator]
    _one_line_exit_2(_envkit("doctor", "--snapshot", str(path)), str(path), fragment)


def test_snapshot_with_lone_surrogate_and_escapes_renders(
    tmp_path: Path, snapshot_text: str
) -> None:
    data = json.loads(snapshot_text)
    data["os"]["hostname"] = (
        "evil\ud800\x1b]0;pwned\x07host" if isinstance(data["os"], dict) else None
    )
    path = tmp_path / "other.json"
    path.write_text(json.dumps(data))
    for args in ((), ("--markdown",), ("--json",)):
        result = _envkit("doctor", "--snapshot", str(path), *args)
        assert result.returncode in (0, 1), result.stderr
        assert "Traceback" not in result.stderr
        assert "\x1b]0;" not in result.stdout


# ---------------------------------------------------------------- fleet summarize


def test_fleet_lists_bad_files_and_summarizes_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(
        validation_json(node_report("gpu-1", healthy_results((700.0, 700.0))))
    )
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "digits.json").write_text('{"envkit_validate_version": ' + "1" * 400 + "}")
    summary = summarize([tmp_path])
    assert [row.node for row in summary.nodes] == ["gpu-1"]
    problems = {Path(p.path).name: p for p in summary.problems}
    assert set(problems) >= {"fifo.json", "zero.json", "deep.json", "digits.json"}
    result = _envkit("fleet", "summarize", str(tmp_path), "--json")
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    assert "gpu-1" in result.stdout


# ---------------------------------------------------------------- smoke --data


def test_npz_with_a_twin_member_is_refused(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "mnist.npz")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("y_train", b"unchecked labels")
    with pytest.raises(DataError, match=r"both y_train and y_train\.npy"):
        inspect_path(str(path), "--data")
    result = _envkit("smoke", "--data", str(path), "--offline", "--timeout", "60")
    _one_line_exit_2(result, "both y_train and y_train.npy")


def test_structured_dtype_labels_are_refused(tmp_path: Path) -> None:
    header = "{'descr': [('a', '<i8')], 'fortran_order': False, 'shape': (30,), }"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    blob = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(240)
    path = write_npz(tmp_path / "m.npz", y_train=blob)
    with pytest.raises(DataError, match="structured dtype"):
        inspect_path(str(path), "--data")


def test_odd_shapes_are_refused(tmp_path: Path) -> None:
    path = write_npz(tmp_path / "m.npz", y_test=npy_bytes("|u1", (1.5,), b""))  # type: ignore[arg-type]
    with pytest.raises(DataError, match="not a list of sizes"):
        inspect_path(str(path), "--data")


def test_data_that_is_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "mnist.npz"
    link.symlink_to("/dev/zero")
    with pytest.raises(DataError, match="is a device"):
        inspect_path(str(link), "--data")


# ---------------------------------------------------------------- conda-meta


def test_deep_conda_meta_record_is_passed_over(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "deep-1.0-0.json").write_text(DEEP)
    (meta / "numpy-1.26.4-0.json").write_text('{"name": "numpy", "version": "1.26.4"}')
    (meta / "history").write_text(
        "# update specs: " + "[" * 100000 + "\n# update specs: ['numpy']\n"
    )
    info = read_conda_meta(str(tmp_path))
    assert info is not None
    assert [p.name for p in info.packages] == ["numpy"]
    assert info.requested == ("numpy",)
