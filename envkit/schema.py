"""The JSON Schema of the snapshot document, derived from the model's type hints.

The committed file envkit/schemas/snapshot-<version>.schema.json is this function's output; a
test fails when the model and the committed file drift apart.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envkit.codec import field_types
from envkit.envelope import (
    CURRENT_VERSIONS,
    DOCTOR,
    DOCTOR_ALL_ENVS,
    ENVCHECK,
    FLEET,
    SCHEMA_KEY,
    SMOKE,
    SNAPSHOT,
    VALIDATE,
    schema_name,
)
from envkit.model import (
    DOCTOR_SCHEMA_VERSION,
    READABLE_SNAPSHOT_SCHEMA_VERSIONS,
    SNAPSHOT_SCHEMA_VERSION,
    Finding,
    Snapshot,
    Unavailable,
)
from envkit.redact import RedactionCounts

SCHEMA_DIR = Path(__file__).parent / "schemas"
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def snapshot_schema_path() -> Path:
    return SCHEMA_DIR / f"snapshot-{SNAPSHOT_SCHEMA_VERSION}.schema.json"


def snapshot_schema() -> dict[str, Any]:
    definitions: dict[str, Any] = {}
    _dataclass_ref(Snapshot, definitions)
    body = definitions.pop("Snapshot")
    body["properties"]["schema_version"] = {"const": SNAPSHOT_SCHEMA_VERSION}
    body["properties"] = {**_envelope_properties(SNAPSHOT), **body["properties"]}
    body["required"] = [SCHEMA_KEY, *body["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://envkit.invalid/schemas/snapshot-{SNAPSHOT_SCHEMA_VERSION}.schema.json",
        "title": "envkit snapshot",
        "description": "One machine at one moment, as `envkit report --json` writes it.",
        **body,
        "$defs": definitions,
    }


def snapshot_schema_text() -> str:
    return json.dumps(snapshot_schema(), indent=2, sort_keys=True) + "\n"


def _schema_for(hint: Any, definitions: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_for(option, definitions) for option in typing.get_args(hint)]}
    if origin is tuple:
        return _tuple_schema(typing.get_args(hint), definitions)
    if hint is Unavailable:
        return _unavailable_schema(definitions)
    if dataclasses.is_dataclass(hint):
        return _dataclass_ref(typing.cast(type, hint), definitions)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [member.value for member in hint]}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    raise TypeError(f"no JSON Schema for {hint!r}")


def _tuple_schema(args: tuple[Any, ...], definitions: dict[str, Any]) -> dict[str, Any]:
    item = args[0]
    if typing.get_origin(item) is tuple:
        return {"type": "object", "additionalProperties": {"type": "string"}}
    return {"type": "array", "items": _schema_for(item, definitions)}


OPTIONAL_IN_SCHEMA = "optional_in_schema"
"""Field metadata key: a field added to a document kind after its version was published, so
documents written before it (without the field) still validate; the codec fills its default."""


def _dataclass_ref(cls: type, definitions: dict[str, Any]) -> dict[str, Any]:
    name = cls.__name__
    if name not in definitions:
        definitions[name] = {}  # placeholder first, for recursive references
        hints = field_types(cls)
        fields = dataclasses.fields(cls)
        definitions[name] = {
            "type": "object",
            "properties": {f.name: _schema_for(hints[f.name], definitions) for f in fields},
            "required": [f.name for f in fields if not f.metadata.get(OPTIONAL_IN_SCHEMA)],
            "additionalProperties": False,
        }
    return {"$ref": f"#/$defs/{name}"}


def _unavailable_schema(definitions: dict[str, Any]) -> dict[str, Any]:
    definitions["Unavailable"] = {
        "type": "object",
        "properties": {
            "unavailable": {"const": True},
            "code": {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"},
            "reason": {"type": "string"},
        },
        "required": ["unavailable", "code", "reason"],
        "additionalProperties": False,
    }
    return {"$ref": "#/$defs/Unavailable"}


def doctor_schema_path() -> Path:
    return SCHEMA_DIR / f"doctor-{DOCTOR_SCHEMA_VERSION}.schema.json"


def doctor_schema() -> dict[str, Any]:
    """The `envkit doctor --json` envelope; findings and snapshot as the model describes them."""
    definitions: dict[str, Any] = {}
    finding = _dataclass_ref(Finding, definitions)
    snapshot = _dataclass_ref(Snapshot, definitions)
    counts = _dataclass_ref(RedactionCounts, definitions)
    # `doctor --snapshot` judges a snapshot of any readable version and embeds it as it was
    definitions["Snapshot"]["properties"]["schema_version"] = {
        "enum": list(READABLE_SNAPSHOT_SCHEMA_VERSIONS)
    }
    count = {"type": "integer", "minimum": 0}
    summary = {
        "type": "object",
        "properties": {
            "errors": count,
            "warnings": count,
            "infos": count,
            "exit_status": {"enum": [0, 1]},
        },
        "required": ["errors", "warnings", "infos", "exit_status"],
        "additionalProperties": False,
    }
    properties = {
        **_envelope_properties(DOCTOR),
        "summary": summary,
        "redactions": {"anyOf": [counts, {"type": "null"}]},
        "findings": {"type": "array", "items": finding},
        "snapshot": snapshot,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://envkit.invalid/schemas/doctor-{DOCTOR_SCHEMA_VERSION}.schema.json",
        "title": "envkit doctor report",
        "description": "Findings and the snapshot they came from, as `envkit doctor --json` "
        "writes them.",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        "$defs": definitions,
    }


def doctor_schema_text() -> str:
    return json.dumps(doctor_schema(), indent=2, sort_keys=True) + "\n"


def validation_schema_path() -> Path:
    from envkit.validate.model import VALIDATION_SCHEMA_VERSION

    return SCHEMA_DIR / f"validate-{VALIDATION_SCHEMA_VERSION}.schema.json"


def validation_schema() -> dict[str, Any]:
    """The `envkit validate --json` envelope; the report as the validate model describes it."""
    from envkit.validate.model import VALIDATION_SCHEMA_VERSION, ValidationReport, Verdict

    definitions: dict[str, Any] = {}
    report = _dataclass_ref(ValidationReport, definitions)
    definitions["ValidationReport"]["properties"]["schema_version"] = {
        "const": VALIDATION_SCHEMA_VERSION
    }
    count = {"type": "integer", "minimum": 0}
    summary = {
        "type": "object",
        "properties": {verdict.value: count for verdict in Verdict},
        "required": [verdict.value for verdict in Verdict],
        "additionalProperties": False,
    }
    properties = {
        **_envelope_properties(VALIDATE),
        "node": {"type": "string"},
        "verdict": {"enum": [Verdict.PASS.value, Verdict.WARN.value, Verdict.FAIL.value]},
        "exit_status": {"enum": [0, 1]},
        "summary": summary,
        "report": report,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://envkit.invalid/schemas/validate-{VALIDATION_SCHEMA_VERSION}.schema.json",
        "title": "envkit validate report",
        "description": "One node's verdict per check and overall, as `envkit validate --json` "
        "writes it.",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        "$defs": definitions,
    }


def validation_schema_text() -> str:
    return json.dumps(validation_schema(), indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------- doctor --all-envs (#10)


def all_envs_schema_path() -> Path:
    from envkit.model import ALL_ENVS_SCHEMA_VERSION

    return SCHEMA_DIR / f"doctor-all-envs-{ALL_ENVS_SCHEMA_VERSION}.schema.json"


def all_envs_schema() -> dict[str, Any]:
    """The `envkit doctor --all-envs --json` document: a list of doctor envelopes."""
    from envkit.model import ALL_ENVS_SCHEMA_VERSION

    doctor = doctor_schema()
    definitions = doctor.pop("$defs")
    for key in ("$schema", "$id", "title", "description"):
        doctor.pop(key)
    definitions["DoctorEnvelope"] = doctor
    count = {"type": "integer", "minimum": 0}
    summary = {
        "type": "object",
        "properties": {
            "targets": count,
            "with_errors": count,
            "with_warnings": count,
            "exit_status": {"enum": [0, 1]},
        },
        "required": ["targets", "with_errors", "with_warnings", "exit_status"],
        "additionalProperties": False,
    }
    properties = {
        **_envelope_properties(DOCTOR_ALL_ENVS),
        "summary": summary,
        "targets": {"type": "array", "items": {"$ref": "#/$defs/DoctorEnvelope"}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://envkit.invalid/schemas/doctor-all-envs-{ALL_ENVS_SCHEMA_VERSION}"
        ".schema.json",
        "title": "envkit doctor --all-envs report",
        "description": "Every environment envkit found, each as `envkit doctor --json` writes it.",
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
        "$defs": definitions,
    }


def all_envs_schema_text() -> str:
    return json.dumps(all_envs_schema(), indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------- the envelope (#13)


def _envelope_properties(kind: str) -> dict[str, Any]:
    """The two keys every document opens with; ``schema`` fixed to this kind and version."""
    return {SCHEMA_KEY: {"const": schema_name(kind)}, "envkit_version": {"type": "string"}}


def _document(
    kind: str,
    title: str,
    description: str,
    properties: dict[str, Any],
    definitions: dict[str, Any],
) -> dict[str, Any]:
    version = CURRENT_VERSIONS[kind]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://envkit.invalid/schemas/{kind}-{version}.schema.json",
        "title": title,
        "description": description,
        "type": "object",
        "properties": {**_envelope_properties(kind), **properties},
        "required": [*_envelope_properties(kind), *properties],
        "additionalProperties": False,
        "$defs": definitions,
    }


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


_COUNT = {"type": "integer", "minimum": 0}
_TEXT = {"type": "string"}
_OPTIONAL_TEXT = {"anyOf": [_TEXT, {"type": "null"}]}


def smoke_schema() -> dict[str, Any]:
    """`envkit smoke --json`: the result as the smoke model describes it, and its findings."""
    from envkit.smoke.model import SmokeResult

    definitions: dict[str, Any] = {}
    properties = {
        "result": _dataclass_ref(SmokeResult, definitions),
        "data_label": _OPTIONAL_TEXT,
        "findings": {"type": "array", "items": _dataclass_ref(Finding, definitions)},
    }
    return _document(
        SMOKE,
        "envkit smoke report",
        "What the Keras smoke runs measured and where their ops ran, as `envkit smoke --json` "
        "writes it.",
        properties,
        definitions,
    )


def fleet_schema() -> dict[str, Any]:
    """`envkit fleet summarize --json`: the nodes' verdicts, drains, outliers and problems."""
    from envkit.validate.model import Verdict

    verdicts = {"enum": [verdict.value for verdict in Verdict]}
    number = {"type": "number"}
    node = _object(
        {
            "node": _TEXT,
            "source": _TEXT,
            "verdict": verdicts,
            "envkit_version": _TEXT,
            "tier": _TEXT,
            "gpu_models": {"type": "array", "items": _TEXT},
            "checks": {"type": "object", "additionalProperties": verdicts},
        }
    )
    drain = _object({"node": _TEXT, "reasons": {"type": "array", "items": _TEXT}, "reason": _TEXT})
    outlier = _object(
        {
            "node": _TEXT,
            "gpu_index": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "check_id": _TEXT,
            "group": _TEXT,
            "measured": number,
            "median": number,
            "unit": _TEXT,
            "shortfall": number,
            "group_size": _COUNT,
        }
    )
    problem = _object({"path": _TEXT, "code": _TEXT, "message": _TEXT, "version": _OPTIONAL_TEXT})
    counts = _object(
        {
            "nodes": _COUNT,
            **{verdict.value: _COUNT for verdict in Verdict},
            "drain": _COUNT,
            "outliers": _COUNT,
            "problems": _COUNT,
        }
    )
    properties = {
        "exit_status": {"enum": [0, 1]},
        "counts": counts,
        "check_ids": {"type": "array", "items": _TEXT},
        "nodes": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        "drain": {"type": "array", "items": {"$ref": "#/$defs/Drain"}},
        "outliers": {"type": "array", "items": {"$ref": "#/$defs/Outlier"}},
        "outlier_fraction": number,
        "problems": {"type": "array", "items": {"$ref": "#/$defs/Problem"}},
        "missing_nodes": {"type": "array", "items": _TEXT},
        "envkit_versions": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": _TEXT},
        },
    }
    definitions = {"Node": node, "Drain": drain, "Outlier": outlier, "Problem": problem}
    return _document(
        FLEET,
        "envkit fleet summary",
        "Many nodes' validate reports summarised, as `envkit fleet summarize --json` writes it.",
        properties,
        definitions,
    )


def envcheck_schema() -> dict[str, Any]:
    """`envkit env check --json`: one environment file's findings."""
    definitions: dict[str, Any] = {}
    properties = {
        "file": _object(
            {"path": _TEXT, "kind": {"enum": ["conda", "requirements"]}, "name": _OPTIONAL_TEXT}
        ),
        "exit_status": {"enum": [0, 1]},
        "summary": _object({"errors": _COUNT, "warnings": _COUNT, "infos": _COUNT}),
        "resolved": _object(
            {"tensorflow": _OPTIONAL_TEXT, "python": _OPTIONAL_TEXT, "gpu": {"type": "boolean"}}
        ),
        "findings": {"type": "array", "items": _dataclass_ref(Finding, definitions)},
    }
    return _document(
        ENVCHECK,
        "envkit env check report",
        "The findings on one environment.yml or requirements.txt, as `envkit env check --json` "
        "writes them.",
        properties,
        definitions,
    )


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    SNAPSHOT: snapshot_schema,
    DOCTOR: doctor_schema,
    DOCTOR_ALL_ENVS: all_envs_schema,
    VALIDATE: validation_schema,
    FLEET: fleet_schema,
    SMOKE: smoke_schema,
    ENVCHECK: envcheck_schema,
}
"""Every document kind envkit writes, and the function that describes its current version."""


def schema_path(kind: str) -> Path:
    return SCHEMA_DIR / f"{kind}-{CURRENT_VERSIONS[kind]}.schema.json"


def schema_text(kind: str) -> str:
    return json.dumps(SCHEMAS[kind](), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_DIR.mkdir(exist_ok=True)
    for kind in SCHEMAS:
        schema_path(kind).write_text(schema_text(kind))
        print(f"wrote {schema_path(kind)}")
