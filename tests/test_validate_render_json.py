"""`envkit validate --json` is a contract: a versioned envelope described by the committed JSON
Schema, read back losslessly, and nothing broken, foreign or edited reads back as a report.

Reports are SYNTHETIC (tests/fixtures/validate/synthetic.py), except that the committed fixture
synthetic-node-v1.json pins that a version-1 document written earlier (``envkit_validate_version``,
before the envelope's ``schema`` key) still loads, and still matches validate-1.schema.json.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from envkit import __version__
from envkit.schema import validation_schema_path, validation_schema_text
from envkit.validate.model import VALIDATION_SCHEMA_VERSION, ValidationReport
from envkit.validate.report_json import (
    ValidationFileError,
    load_validation,
    validation_envelope,
    validation_json,
)
from tests.fixtures.validate.synthetic import healthy_results, node_report, skipped_only

FIXTURE = Path(__file__).parent / "fixtures" / "validate" / "synthetic-node-v1.json"
PINNED_KEYS = {
    "schema",
    "envkit_version",
    "node",
    "verdict",
    "exit_status",
    "summary",
    "report",
}
PINNED_REPORT_KEYS = {
    "schema_version",
    "envkit_version",
    "node",
    "tier",
    "started_at",
    "duration_s",
    "driver_version",
    "cuda_driver_version",
    "gpus",
    "expectations",
    "results",
    "telemetry",
}


def schema() -> dict[str, Any]:
    return dict(json.loads(validation_schema_path().read_text()))


def document(report: ValidationReport | None = None) -> dict[str, Any]:
    return dict(json.loads(validation_json(report or node_report())))


def test_version_is_pinned() -> None:
    assert VALIDATION_SCHEMA_VERSION == "2"
    assert validation_schema_path().name == "validate-2.schema.json"
    assert document()["schema"] == "envkit.validate/2"


def test_committed_schema_matches_the_model() -> None:
    assert validation_schema_path().read_text() == validation_schema_text(), (
        "the validate model changed: run `python -m envkit.schema` to rewrite the schema, "
        "and bump VALIDATION_SCHEMA_VERSION if the change is not backwards compatible"
    )


@pytest.mark.parametrize("results", [None, healthy_results(), skipped_only(), ()])
def test_envelope_has_the_pinned_keys_and_validates(results: Any) -> None:
    doc = document(node_report(results=results))
    assert set(doc) == PINNED_KEYS
    assert set(doc["report"]) == PINNED_REPORT_KEYS
    assert doc["envkit_version"] == __version__
    jsonschema.validate(doc, schema())


def test_envelope_repeats_verdict_exit_status_and_counts() -> None:
    doc = document()
    assert (doc["node"], doc["verdict"], doc["exit_status"]) == ("gpu-node-07", "fail", 1)
    assert doc["summary"] == {"pass": 4, "warn": 2, "fail": 1, "skip": 2}
    healthy = document(node_report(results=healthy_results()))
    assert (healthy["verdict"], healthy["exit_status"]) == ("pass", 0)
    assert document(node_report(results=skipped_only()))["verdict"] == "fail"


def test_round_trip_is_lossless() -> None:
    report = node_report()
    assert load_validation(validation_json(report), "r.json") == report


def test_text_is_kept_as_written() -> None:
    text = validation_json(node_report())
    assert '"title": "Driver 550.54.15 ≥ 550"' in text  # not \u2265


def test_committed_version_1_document_still_loads_and_validates() -> None:
    text = FIXTURE.read_text()
    assert "envkit_validate_version" in json.loads(text)
    old_path = validation_schema_path().parent / "validate-1.schema.json"
    old_schema = json.loads(old_path.read_text())
    jsonschema.validate(json.loads(text), old_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(text), schema())  # the envelope moved: version 2
    loaded = load_validation(text, FIXTURE.name)
    assert loaded.schema_version == "1"
    assert dataclasses.replace(loaded, schema_version="2") == _before_backticks(node_report())


def _before_backticks(report: ValidationReport) -> ValidationReport:
    """The synthetic report as the version-1 file holds it, written before actions put their
    commands in backticks."""
    results = tuple(
        dataclasses.replace(r, action=r.action.replace("`", "")) if r.action else r
        for r in report.results
    )
    return dataclasses.replace(report, results=results)


def test_a_version_1_envelope_around_a_version_2_report_is_invalid() -> None:
    doc = document()
    del doc["schema"]
    doc["envkit_validate_version"] = "1"
    with pytest.raises(ValidationFileError, match=r"\$\.report\.schema_version is '2'"):
        load_validation(json.dumps(doc), "node.json")


@pytest.mark.parametrize(
    ("key", "value"),
    [("verdict", "sideways"), ("exit_status", 7), ("summary", {"pass": 1}), ("node", 3)],
)
def test_schema_rejects_a_wrong_envelope(key: str, value: object) -> None:
    doc = document()
    doc[key] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema())


def test_schema_rejects_a_missing_report_field() -> None:
    doc = document()
    del doc["report"]["results"][0]["evidence"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema())


def _edited(edit: Any) -> str:
    doc = document()
    edit(doc)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("{not json", "not-json", "is not JSON"),
        ("", "not-json", "is not JSON"),
        ("[1, 2]", "not-validate-report", "is not an envkit validate report"),
        ('{"envkit_doctor_version": "1"}', "not-validate-report", "no schema"),
        ('{"schema": "envkit.doctor/2"}', "not-validate-report", "schema is 'envkit.doctor/2'"),
        ('{"schema": 2}', "not-validate-report", "schema is 2"),
        ('{"schema": "envkit.validate/3"}', "other-version", "of version '3'; this envkit"),
        ('{"envkit_validate_version": "2"}', "other-version", "of version '2'; this envkit"),
        ('{"envkit_validate_version": "1"}', "invalid", r"\$\.report: expected an object"),
        ('{"schema": "envkit.validate/2"}', "invalid", r"\$\.report: expected an object"),
        (
            _edited(lambda d: d["report"]["results"][0].update(verdict="fine")),
            "invalid",
            r"\$\.report\.results\[0\]\.verdict: expected one of",
        ),
        (
            _edited(lambda d: d.update(verdict="pass", exit_status=0)),
            "invalid",
            r"\$\.verdict is 'pass' but the checks inside say 'fail'",
        ),
        (
            _edited(lambda d: d.update(exit_status=True)),
            "invalid",
            r"\$\.exit_status is True",
        ),
        (
            _edited(lambda d: d["summary"].update(fail=0)),
            "invalid",
            r"\$\.summary is",
        ),
        (
            _edited(lambda d: d.update(node="other")),
            "invalid",
            r"\$\.node is 'other' but the checks inside say 'gpu-node-07'",
        ),
        (
            _edited(lambda d: d["report"].update(schema_version="0")),
            "invalid",
            r"\$\.report\.schema_version is '0'",
        ),
        ("[" * 100_000, "not-json", "nests 100000 levels deep; envkit reads at most 64"),
    ],
)
def test_bad_documents_give_one_line(text: str, code: str, message: str) -> None:
    with pytest.raises(ValidationFileError, match=message) as caught:
        load_validation(text, "node.json")
    assert caught.value.code == code
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("node.json ")


def test_other_version_carries_the_version() -> None:
    with pytest.raises(ValidationFileError) as caught:
        load_validation('{"schema": "envkit.validate/9", "report": {}}', "n.json")
    assert caught.value.version == "9"


def test_envelope_function_matches_the_text() -> None:
    report = node_report()
    assert json.loads(validation_json(report)) == validation_envelope(report)
