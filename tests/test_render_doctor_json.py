"""The doctor's JSON is a contract: a versioned envelope described by a committed JSON Schema.
Changing its shape means changing this test and DOCTOR_SCHEMA_VERSION on purpose."""

from __future__ import annotations

import json
import sys

import jsonschema
import pytest

from envkit.model import DOCTOR_SCHEMA_VERSION, DoctorReport
from envkit.probes import collect
from envkit.redact import Identifiers, RedactionCounts
from envkit.render.doctor_json import doctor_json, redacted_doctor_json
from envkit.schema import doctor_schema_path, doctor_schema_text
from envkit.target import resolve_target
from tests.test_render_doctor import GPU_LOST, NO_SWAP, UNMATCHED_DEVICE, synthetic_report

PINNED_KEYS = {
    "schema",
    "envkit_version",
    "summary",
    "redactions",
    "findings",
    "snapshot",
}
PINNED_SUMMARY_KEYS = {"errors", "warnings", "infos", "exit_status"}
PINNED_FINDING_KEYS = {"check_id", "severity", "area", "title", "evidence", "fix", "link"}


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(doctor_schema_path().read_text())
    return loaded


def test_version_is_pinned() -> None:
    assert DOCTOR_SCHEMA_VERSION == "2"
    assert doctor_schema_path().name == "doctor-2.schema.json"


def test_committed_schema_matches_the_model() -> None:
    assert doctor_schema_path().read_text() == doctor_schema_text(), (
        "the model changed: run `python -m envkit.schema` to rewrite the schema files, "
        "and bump DOCTOR_SCHEMA_VERSION if the change is not backwards compatible"
    )


def test_synthetic_envelope_keys_and_values() -> None:
    document = json.loads(doctor_json(synthetic_report()))
    assert set(document) == PINNED_KEYS
    assert document["schema"] == "envkit.doctor/2"
    assert document["summary"] == {"errors": 2, "warnings": 1, "infos": 1, "exit_status": 1}
    assert document["redactions"] is None
    assert [set(f) for f in document["findings"]] == [PINNED_FINDING_KEYS] * 4
    assert [f["severity"] for f in document["findings"]] == ["error", "error", "warning", "info"]
    assert document["findings"][0]["fix"] == list(GPU_LOST.fix)
    assert document["snapshot"]["schema_version"] == "2"
    jsonschema.validate(document, schema())


def test_warnings_alone_exit_zero() -> None:
    document = json.loads(doctor_json(synthetic_report(UNMATCHED_DEVICE, NO_SWAP)))
    assert document["summary"]["exit_status"] == 0


def test_real_envelope_validates() -> None:
    report = DoctorReport(collect(resolve_target(sys.executable)), (GPU_LOST,))
    document = json.loads(doctor_json(report))
    assert set(document) == PINNED_KEYS
    assert set(document["summary"]) == PINNED_SUMMARY_KEYS
    jsonschema.validate(document, schema())


def test_redacted_envelope_records_the_counts_and_validates() -> None:
    identifiers = Identifiers(
        hostnames=("gpu-box",),
        user_names=("ada",),
        home_paths=("/home/ada",),
        gpu_uuids=("GPU-00000000-1111-2222-3333-444444444444",),
    )
    text, counts = redacted_doctor_json(synthetic_report(), identifiers)
    document = json.loads(text)
    assert document["redactions"] == {
        "hostnames": 1,
        "user_names": 0,
        "home_paths": 1,
        "gpu_uuids": 1,
        "ip_addresses": 0,
        "mac_addresses": 0,
        "replacements": counts.replacements,
    }
    assert document["snapshot"]["os"]["hostname"] == "<hostname>"
    assert document["snapshot"]["python"]["executable"] == "~/miniconda3/envs/tf/bin/python"
    assert document["snapshot"]["nvml"]["gpus"][0]["uuid"] == "<gpu-uuid-1>"
    jsonschema.validate(document, schema())


@pytest.mark.parametrize("key", ["summary", "findings", "snapshot"])
def test_schema_rejects_a_missing_key(key: str) -> None:
    document = json.loads(doctor_json(synthetic_report()))
    del document[key]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema())


def test_schema_rejects_an_unknown_severity() -> None:
    document = json.loads(doctor_json(synthetic_report()))
    document["findings"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema())


def test_counts_default_to_nothing() -> None:
    assert RedactionCounts().replacements == 0
