"""The snapshot JSON is a contract: versioned, described by a committed JSON Schema, and read back
losslessly. Changing its shape means changing this test and the schema version on purpose."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest

from envkit.codec import encode
from envkit.model import SNAPSHOT_SCHEMA_VERSION, Snapshot, Unavailable
from envkit.probes import collect
from envkit.render.json_doc import SnapshotFileError, snapshot_from_json, snapshot_json
from envkit.schema import snapshot_schema_path, snapshot_schema_text
from envkit.target import resolve_target

PINNED_TOP_LEVEL_KEYS = {
    "schema",  # the envelope's "envkit.snapshot/2" (#13); version 1 files lack it
    "schema_version",
    "envkit_version",
    "taken_at",
    "os",
    "cpu",
    "memory",
    "disks",
    "nvidia_kernel",
    "nvml",
    "cuda_visible_devices",
    "python",
    "tensorflow",
    "conda",
    "cuda_libraries",  # optional (older snapshots lack it): system CUDA the loader finds
    "target",
    "kernels",
    "environments",
}
V1_SNAPSHOT = Path(__file__).parent / "fixtures" / "snapshots" / "snapshot-v1-tf-venv.json"
"""Written by envkit at snapshot schema 1 (`envkit report --json --python <tf venv>`)."""


@pytest.fixture(scope="module")
def snapshot() -> Snapshot:
    return collect(resolve_target(sys.executable))


def test_schema_version_is_pinned() -> None:
    assert SNAPSHOT_SCHEMA_VERSION == "2"


def test_committed_schema_matches_the_model() -> None:
    committed = snapshot_schema_path().read_text()
    assert committed == snapshot_schema_text(), (
        "the model changed: run `python -m envkit.schema` to rewrite the schema file, "
        "and bump SNAPSHOT_SCHEMA_VERSION if the change is not backwards compatible"
    )


def test_real_snapshot_has_the_pinned_keys_and_validates(snapshot: Snapshot) -> None:
    document = json.loads(snapshot_json(snapshot))
    assert set(document) == PINNED_TOP_LEVEL_KEYS
    assert document["schema_version"] == SNAPSHOT_SCHEMA_VERSION
    jsonschema.validate(document, json.loads(snapshot_schema_path().read_text()))


def test_unavailable_parts_are_explicit(snapshot: Snapshot) -> None:
    document = encode(snapshot)
    for key in ("os", "cpu", "memory", "nvidia_kernel", "nvml", "python", "tensorflow", "conda"):
        part = document[key]
        assert isinstance(part, dict)
        if part.get("unavailable"):
            assert set(part) == {"unavailable", "code", "reason"}
            assert part["reason"].strip()


def test_round_trip_is_lossless(snapshot: Snapshot) -> None:
    assert snapshot_from_json(snapshot_json(snapshot), "test") == snapshot


def test_schema_rejects_a_missing_field(snapshot: Snapshot) -> None:
    document = encode(snapshot)
    del document["cpu"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json.loads(snapshot_schema_path().read_text()))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "is not an envkit snapshot"),
        ('{"schema_version": "99"}', "has snapshot schema '99'"),
        ('{"schema_version": "1", "os": {}}', "is not a valid envkit snapshot"),
    ],
)
def test_bad_documents_give_one_sentence(text: str, message: str) -> None:
    with pytest.raises(SnapshotFileError, match=message) as caught:
        snapshot_from_json(text, "node.json")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("node.json")


def test_wrong_type_names_the_path(snapshot: Snapshot) -> None:
    document = encode(snapshot)
    document["memory"] = {"unavailable": True, "code": "x", "reason": "y"}
    document["disks"] = [{"label": "home", "path": 3, "total_bytes": None, "free_bytes": None}]
    with pytest.raises(SnapshotFileError, match=r"\$\.disks\[0\]\.path"):
        snapshot_from_json(json.dumps(document), "node.json")


def test_a_version_1_snapshot_still_loads_and_is_diagnosed() -> None:
    from envkit.doctor import diagnose

    text = V1_SNAPSHOT.read_text()
    assert json.loads(text)["schema_version"] == "1"
    snapshot = snapshot_from_json(text, str(V1_SNAPSHOT))
    assert snapshot.target is None
    assert snapshot.kernels == ()
    assert not isinstance(snapshot.tensorflow, Unavailable)
    assert diagnose(snapshot).findings is not None


def test_the_snapshot_records_how_the_target_was_chosen(snapshot: Snapshot) -> None:
    document = json.loads(snapshot_json(snapshot))
    assert document["target"]["how_chosen"] == "--python"
    assert document["target"]["python"] == sys.executable
    assert isinstance(document["kernels"], list)
