"""Property tests of hostile input (#12): whatever the bytes, each reader either succeeds or
raises its own one-line error, never anything else; --fix keeps every unmanaged line.

Hypothesis's deadline is off: these tests assert behaviour, never time."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envkit.controls import escape_control
from envkit.envfiles import EnvFileError, SpecError, check_document, fix
from envkit.envfiles.line_edit import split_lines
from envkit.envfiles.reading import parse_conda, parse_requirements
from envkit.readers import InputError, load_json
from envkit.redact import Identifiers, redact
from envkit.render.json_doc import SnapshotFileError, snapshot_from_json
from envkit.smoke.data import DataError, inspect_path
from envkit.validate.report_json import ValidationFileError, load_validation

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
    | st.sampled_from('\x1b\x00\ud800[]{}",:\\#-=<>'),
    max_size=200,
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=25,
)


def _real_snapshot() -> dict[str, Any]:
    import sys

    from envkit.probes import collect
    from envkit.render.json_doc import snapshot_json
    from envkit.target import resolve_target

    loaded: dict[str, Any] = json.loads(snapshot_json(collect(resolve_target(sys.executable))))
    return loaded


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return _real_snapshot()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


# ---------------------------------------------------------------- snapshots and reports


@SETTINGS
@given(text=TEXT)
def test_load_json_raises_only_input_error(text: str) -> None:
    try:
        load_json(text, "x.json")
    except InputError as error:
        assert "\n" not in str(error)


@SETTINGS
@given(data=st.data())
def test_snapshot_with_any_field_replaced_decodes_or_is_one_error(
    snapshot: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(_paths(snapshot)))
    value = data.draw(JSON_VALUES)
    text = json.dumps(_replaced(snapshot, path, value))
    try:
        snapshot_from_json(text, "other.json")
    except SnapshotFileError as error:
        assert "\n" not in str(error)


@SETTINGS
@given(data=st.data())
def test_fleet_report_with_any_field_replaced_loads_or_is_one_error(data: st.DataObject) -> None:
    report = json.loads(
        (Path(__file__).parent / "fixtures" / "validate" / "synthetic-node-v1.json").read_text()
    )
    path = data.draw(st.sampled_from(_paths(report)))
    text = json.dumps(_replaced(report, path, data.draw(JSON_VALUES)))
    try:
        load_validation(text, "node.json")
    except ValidationFileError as error:
        assert "\n" not in str(error)


# ---------------------------------------------------------------- env files and requirements

REQUIREMENT_LINES = st.one_of(
    TEXT.map(lambda t: t.replace("\n", " ")),
    st.sampled_from(
        [
            "--index-url https://pypi.internal.example/simple",
            "--extra-index-url https://x:tok@download.example/whl",
            "-e .",
            "-r base.txt",
            "-c constraints.txt",
            "git+https://github.com/org/repo.git@v1#egg=repo",
            "./local/pkg",
            "/abs/mylib-1.0-py3-none-any.whl",
            "numpy==1.26.4  # pinned",
            "keras==2.15.0",
            "requests \\",
            "  >=2.0",
            "# comment",
            "",
        ]
    ),
)


@SETTINGS
@given(lines=st.lists(REQUIREMENT_LINES, max_size=12))
def test_requirements_fix_keeps_every_unmanaged_line(lines: list[str]) -> None:
    text = "\n".join(["tensorflow==2.15.1", *lines]) + "\n"
    try:
        doc = parse_requirements("requirements.txt", text)
    except EnvFileError:
        return
    import dataclasses

    result = check_document(dataclasses.replace(doc, text=text))
    try:
        fixed = fix(result)
    except (EnvFileError, SpecError):
        return
    # every requirement line is the fix's own (a second tensorflow line too: the fix pins one)
    managed = {dep.line for dep in result.document.deps}
    out = [line.rstrip("\r\n\x85\u2028\u2029") for line in split_lines(fixed)]
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.rstrip("\r\n\x85\u2028\u2029")
        if number == 1 or number in managed or (number - 1) in managed:
            continue  # envkit's own lines (and a continuation of one)
        assert line in out, (line, fixed)


@SETTINGS
@given(text=TEXT)
def test_any_text_is_a_document_or_one_error(text: str) -> None:
    for parse in (parse_conda, parse_requirements):
        try:
            doc = parse("f", text)
        except EnvFileError as error:
            assert "\n" not in str(error)
            continue
        with contextlib.suppress(EnvFileError, SpecError):
            fix(check_document(doc))


# ---------------------------------------------------------------- npz and IDX headers


def _npz(tmp: Path, header: bytes) -> Path:
    images = bytes(30 * 28 * 28)
    good = b"\x93NUMPY\x01\x00"
    image_header = "{'descr': '|u1', 'fortran_order': False, 'shape': (30, 28, 28), }"
    image_header += " " * (64 - (10 + len(image_header) + 1) % 64) + "\n"
    image = good + struct.pack("<H", len(image_header)) + image_header.encode() + images
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for role in ("x_train", "x_test"):
            archive.writestr(f"{role}.npy", image)
        for role in ("y_train", "y_test"):
            archive.writestr(f"{role}.npy", header + bytes(30))
    path = tmp / "m.npz"
    path.write_bytes(buffer.getvalue())
    return path


@SETTINGS
@given(
    header=st.one_of(
        st.binary(max_size=120),
        st.builds(
            lambda text: b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text,
            st.text(max_size=100).map(lambda t: t.encode("latin1", "replace")),
        ),
        st.builds(
            lambda descr, shape: (
                b"\x93NUMPY\x01\x00"
                + struct.pack("<H", 64)
                + f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}".ljust(
                    63
                ).encode()[:63]
                + b"\n"
            ),
            st.sampled_from(
                ["'|u1'", "'<f4'", "[('a', '<i8')]", "None", "'<i8'", "{}", "'" + "x" * 40 + "'"]
            ),
            st.sampled_from(["(30,)", "(1.5,)", "(-1,)", "(2**40,)", "'x'", "(30, 1)", "()"]),
        ),
    )
)
def test_npy_headers_are_data_or_one_error(
    tmp_path_factory: pytest.TempPathFactory, header: bytes
) -> None:
    path = _npz(tmp_path_factory.mktemp("npz"), header)
    try:
        inspect_path(str(path), "--data")
    except DataError as error:
        assert "\n" not in str(error)


@SETTINGS
@given(raw=st.binary(max_size=200))
def test_idx_files_are_data_or_one_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    import gzip

    from envkit.smoke.data import IDX_FILES

    folder = tmp_path_factory.mktemp("idx")
    for name in IDX_FILES.values():
        (folder / name).write_bytes(gzip.compress(raw))
    try:
        inspect_path(str(folder), "--data")
    except DataError as error:
        assert "\n" not in str(error)


# ---------------------------------------------------------------- redaction and the terminal


@SETTINGS
@given(text=TEXT, value=TEXT.filter(lambda v: v.strip() != ""))
def test_redaction_removes_the_value_and_never_raises(text: str, value: str) -> None:
    identifiers = Identifiers(user_names=(value,))
    redacted, _ = redact(f"{text} {value} {text}", identifiers)
    assert isinstance(redacted, str)


@SETTINGS
@given(text=TEXT)
def test_escaped_text_has_no_control_characters(text: str) -> None:
    shown = escape_control(text)
    assert all(
        char in "\n\t" or (ord(char) >= 32 and not 0x7F <= ord(char) <= 0x9F) for char in shown
    )
    assert not any(0xD800 <= ord(char) <= 0xDFFF for char in shown)
    shown.encode("utf-8")
