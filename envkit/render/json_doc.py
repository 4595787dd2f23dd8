"""The snapshot as a versioned JSON document, and the way back from one.

The document opens with the envelope every envkit document has (``"schema":
"envkit.snapshot/2"``, ``envkit_version``), then the snapshot's own fields, among them
``schema_version`` (the only version key version 1 had; such files still load).
"""

from __future__ import annotations

import json
import typing

from envkit.codec import DecodeError, decode, encode
from envkit.envelope import (
    DOCTOR,
    SCHEMA_KEY,
    SNAPSHOT,
    document_schema,
    parse_schema_name,
    schema_name,
)
from envkit.model import READABLE_SNAPSHOT_SCHEMA_VERSIONS, Snapshot


class SnapshotFileError(ValueError):
    """A snapshot document that cannot be used; the message is one sentence."""


def snapshot_document(snapshot: Snapshot) -> dict[str, object]:
    fields = typing.cast(dict[str, object], encode(snapshot))
    return {
        SCHEMA_KEY: schema_name(SNAPSHOT, snapshot.schema_version),
        "envkit_version": fields.pop("envkit_version"),  # the envkit that took the snapshot
        **fields,
    }


def snapshot_json(snapshot: Snapshot) -> str:
    return json.dumps(snapshot_document(snapshot), indent=2, ensure_ascii=False) + "\n"


def snapshot_from_json(text: str, source: str) -> Snapshot:
    from envkit.readers import InputError, load_json

    try:
        data = load_json(text, source)  # depth, number and surrogate limits (#12)
    except InputError as error:
        raise SnapshotFileError(str(error)) from None
    data = _inner_snapshot(data, source)
    if not isinstance(data, dict) or "schema_version" not in data:
        raise SnapshotFileError(f"{source} is not an envkit snapshot (no schema_version)")
    if data["schema_version"] not in READABLE_SNAPSHOT_SCHEMA_VERSIONS:
        readable = " and ".join(repr(v) for v in READABLE_SNAPSHOT_SCHEMA_VERSIONS)
        raise SnapshotFileError(
            f"{source} has snapshot schema {data['schema_version']!r}; "
            f"this envkit reads schemas {readable}"
        )
    if SCHEMA_KEY in data and parse_schema_name(data[SCHEMA_KEY]) != (
        SNAPSHOT,
        data["schema_version"],
    ):
        raise SnapshotFileError(
            f"{source} is not an envkit snapshot ({SCHEMA_KEY} is {data[SCHEMA_KEY]!r}, "
            f"schema_version {data['schema_version']!r})"
        )
    try:
        return decode(Snapshot, data)
    except DecodeError as error:
        raise SnapshotFileError(f"{source} is not a valid envkit snapshot: {error}") from None


READABLE_DOCTOR_VERSIONS = ("1", "2")
"""Doctor documents whose ``snapshot`` this envkit reads: version 1 (``envkit_doctor_version``)
and version 2 (the envelope's ``schema``); the snapshot inside is judged afresh."""


def _inner_snapshot(data: object, source: str) -> object:
    """The snapshot inside an `envkit doctor --json` document; any other document as it is."""
    found = document_schema(data)
    if found is None or found[0] != DOCTOR or not isinstance(data, dict):
        return data
    if found[1] not in READABLE_DOCTOR_VERSIONS:
        readable = " and ".join(repr(v) for v in READABLE_DOCTOR_VERSIONS)
        raise SnapshotFileError(
            f"{source} is an envkit doctor report of version {found[1]!r}; "
            f"this envkit reads versions {readable}"
        )
    return data.get("snapshot")
