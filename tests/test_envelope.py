"""One envelope for every document (#13): ``schema`` names the kind and version, and
``envkit_version`` is beside it; each kind's current shape is a committed JSON Schema generated
from the model (``python -m envkit.schema``), and documents written by earlier versions load.

The committed old documents were written by envkit before the envelope (commit d2bcecd):
tests/fixtures/doctor/doctor-v1.json (`envkit doctor --json --redact` on this workplace's CPU
machine), tests/fixtures/fleet/fleet-v1.json (`fleet summarize --json` over two SYNTHETIC validate
reports), tests/fixtures/validate/synthetic-node-v1.json and
tests/fixtures/snapshots/snapshot-v1-tf-venv.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from envkit import __version__
from envkit.envelope import (
    CURRENT_VERSIONS,
    DOCTOR,
    DOCTOR_ALL_ENVS,
    ENVCHECK,
    FLEET,
    SMOKE,
    SNAPSHOT,
    VALIDATE,
    document_schema,
    parse_schema_name,
    schema_name,
)
from envkit.model import (
    ALL_ENVS_SCHEMA_VERSION,
    DOCTOR_SCHEMA_VERSION,
    READABLE_SNAPSHOT_SCHEMA_VERSIONS,
    SNAPSHOT_SCHEMA_VERSION,
)
from envkit.render.doctor_json import doctor_json
from envkit.render.json_doc import SnapshotFileError, snapshot_from_json, snapshot_json
from envkit.schema import SCHEMA_DIR, SCHEMAS, schema_path, schema_text
from envkit.validate.fleet import FLEET_SCHEMA_VERSION
from envkit.validate.model import VALIDATION_SCHEMA_VERSION
from envkit.validate.report_json import validation_json
from tests.fixtures.validate.synthetic import node_report
from tests.test_cli import envkit
from tests.test_render_doctor import synthetic_report

FIXTURES = Path(__file__).parent / "fixtures"
DOCTOR_V1 = FIXTURES / "doctor" / "doctor-v1.json"
FLEET_V1 = FIXTURES / "fleet" / "fleet-v1.json"
SNAPSHOT_V1 = FIXTURES / "snapshots" / "snapshot-v1-tf-venv.json"
KEPT_OLD_SCHEMAS = {
    "snapshot-1.schema.json",
    "doctor-1.schema.json",
    "doctor-all-envs-1.schema.json",
    "validate-1.schema.json",
}
"""Schemas of versions this envkit no longer writes, kept for reference and never regenerated."""


def committed(kind: str) -> dict[str, Any]:
    return dict(json.loads(schema_path(kind).read_text()))


def test_versions_are_pinned_and_agree_with_the_modules() -> None:
    assert CURRENT_VERSIONS == {
        SNAPSHOT: "2",
        DOCTOR: "2",
        DOCTOR_ALL_ENVS: "2",
        VALIDATE: "2",
        FLEET: "2",
        SMOKE: "2",
        ENVCHECK: "1",
    }
    assert CURRENT_VERSIONS[SNAPSHOT] == SNAPSHOT_SCHEMA_VERSION
    assert CURRENT_VERSIONS[DOCTOR] == DOCTOR_SCHEMA_VERSION
    assert CURRENT_VERSIONS[DOCTOR_ALL_ENVS] == ALL_ENVS_SCHEMA_VERSION
    assert CURRENT_VERSIONS[VALIDATE] == VALIDATION_SCHEMA_VERSION
    assert CURRENT_VERSIONS[FLEET] == FLEET_SCHEMA_VERSION
    assert set(SCHEMAS) == set(CURRENT_VERSIONS)


@pytest.mark.parametrize("kind", sorted(CURRENT_VERSIONS))
def test_committed_schema_matches_the_model(kind: str) -> None:
    assert schema_path(kind).read_text() == schema_text(kind), (
        f"the {kind} document changed: run `python -m envkit.schema`, and bump its version in "
        "envkit/envelope.py if the change is not backwards compatible"
    )


@pytest.mark.parametrize("kind", sorted(CURRENT_VERSIONS))
def test_each_schema_is_valid_and_fixes_its_envelope(kind: str) -> None:
    schema = committed(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema"] == {"const": schema_name(kind)}
    assert schema["properties"]["envkit_version"] == {"type": "string"}
    assert {"schema", "envkit_version"} <= set(schema["required"])
    assert schema["$id"].endswith(f"/{kind}-{CURRENT_VERSIONS[kind]}.schema.json")


def test_the_schema_folder_holds_current_and_kept_old_schemas_only() -> None:
    current = {schema_path(kind).name for kind in CURRENT_VERSIONS}
    assert {path.name for path in SCHEMA_DIR.glob("*.json")} == current | KEPT_OLD_SCHEMAS
    assert not current & KEPT_OLD_SCHEMAS


def test_schema_names() -> None:
    assert schema_name(DOCTOR) == "envkit.doctor/2"
    assert schema_name(DOCTOR_ALL_ENVS, "1") == "envkit.doctor-all-envs/1"
    assert parse_schema_name("envkit.doctor-all-envs/2") == (DOCTOR_ALL_ENVS, "2")
    for bad in ("envkit.doctor/0", "envkit.doctor", "doctor/2", "envkit.Doctor/2", 2, None):
        assert parse_schema_name(bad) is None
    assert document_schema({"envkit_doctor_version": "1"}) == (DOCTOR, "1")
    assert document_schema({"envkit_fleet_version": "1"}) == (FLEET, "1")
    assert document_schema({"schema_version": "1", "nvml": {}}) == (SNAPSHOT, "1")
    assert document_schema({"schema": "envkit.smoke/2"}) == (SMOKE, "2")
    assert document_schema([1]) is None and document_schema({"name": "x"}) is None


def _opens_with_the_envelope(
    document: dict[str, Any], kind: str, envkit_version: str = __version__
) -> None:
    assert list(document)[:2] == ["schema", "envkit_version"]
    assert document["schema"] == schema_name(kind)
    assert document["envkit_version"] == envkit_version
    jsonschema.validate(document, committed(kind))


def test_doctor_and_validate_documents_open_with_the_envelope() -> None:
    _opens_with_the_envelope(json.loads(doctor_json(synthetic_report())), DOCTOR)
    _opens_with_the_envelope(json.loads(validation_json(node_report())), VALIDATE)


def test_snapshot_document_opens_with_the_envelope() -> None:
    snapshot = synthetic_report().snapshot
    document = json.loads(snapshot_json(snapshot))
    _opens_with_the_envelope(document, SNAPSHOT, snapshot.envkit_version)
    assert document["schema_version"] == SNAPSHOT_SCHEMA_VERSION
    assert snapshot_from_json(snapshot_json(snapshot), "s.json") == snapshot


def test_a_snapshot_whose_schema_key_disagrees_is_refused() -> None:
    document = json.loads(snapshot_json(synthetic_report().snapshot))
    for wrong in ("envkit.snapshot/1", "envkit.doctor/2", 7):
        document["schema"] = wrong
        with pytest.raises(SnapshotFileError, match="is not an envkit snapshot") as caught:
            snapshot_from_json(json.dumps(document), "s.json")
        assert "\n" not in str(caught.value)


def test_version_1_snapshot_and_doctor_documents_still_load() -> None:
    v1_snapshot = snapshot_from_json(SNAPSHOT_V1.read_text(), SNAPSHOT_V1.name)
    assert v1_snapshot.schema_version == "1" and "1" in READABLE_SNAPSHOT_SCHEMA_VERSIONS
    doctor_v1 = json.loads(DOCTOR_V1.read_text())
    assert doctor_v1["envkit_doctor_version"] == "1" and "schema" not in doctor_v1
    inner = snapshot_from_json(DOCTOR_V1.read_text(), DOCTOR_V1.name)
    assert inner.schema_version == "1"
    assert inner.python == snapshot_from_json(json.dumps(doctor_v1["snapshot"]), "s").python


def test_a_doctor_document_of_a_future_version_is_one_line() -> None:
    with pytest.raises(SnapshotFileError, match="doctor report of version '9'") as caught:
        snapshot_from_json('{"schema": "envkit.doctor/9", "snapshot": {}}', "d.json")
    assert "\n" not in str(caught.value)


def test_doctor_rejudges_a_version_1_doctor_document() -> None:
    """`envkit doctor --snapshot` takes the snapshot inside a doctor-1 file and writes doctor-2."""
    result = envkit("doctor", "--snapshot", str(DOCTOR_V1), "--json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    _opens_with_the_envelope(document, DOCTOR)
    old = json.loads(DOCTOR_V1.read_text())
    assert document["snapshot"]["python"] == old["snapshot"]["python"]


def test_the_version_1_fleet_summary_is_its_old_shape() -> None:
    document = json.loads(FLEET_V1.read_text())
    assert document["envkit_fleet_version"] == "1" and "schema" not in document
    assert document_schema(document) == (FLEET, "1")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, committed(FLEET))  # the envelope moved: version 2
    document = {"schema": schema_name(FLEET), **document}
    del document["envkit_fleet_version"]
    jsonschema.validate(document, committed(FLEET))  # otherwise the shape is the same


ENV_FILE = """\
name: tf3.6
channels:
  - defaults
dependencies:
  - python=3.6
  - tensorflow-gpu=1.12
  - keras
"""


def test_env_check_json(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(ENV_FILE)
    result = envkit("env", "check", str(path), "--json")
    document = json.loads(result.stdout)
    _opens_with_the_envelope(document, ENVCHECK)
    assert result.returncode == document["exit_status"]
    assert document["file"] == {"path": str(path), "kind": "conda", "name": "tf3.6"}
    assert document["resolved"]["tensorflow"] == "1.12"
    assert document["resolved"]["python"] == "3.6"
    assert document["resolved"]["gpu"] is True
    severities = [finding["severity"] for finding in document["findings"]]
    assert document["summary"] == {
        "errors": severities.count("error"),
        "warnings": severities.count("warning"),
        "infos": severities.count("info"),
    }
    assert severities  # Python 3.6 is past its end of life: at least that is said


def test_env_check_json_of_a_requirements_file(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("tensorflow==2.21.*\nnumpy\n")
    result = envkit("env", "check", str(path), "--json")
    document = json.loads(result.stdout)
    _opens_with_the_envelope(document, ENVCHECK)
    assert document["file"]["kind"] == "requirements"
    assert document["resolved"]["python"] is None


def test_env_check_json_does_not_go_with_fix(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text(ENV_FILE)
    result = envkit("env", "check", str(path), "--json", "--fix", "-o", str(tmp_path / "n.yml"))
    assert result.returncode == 2
    assert "--json" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "n.yml").exists()
