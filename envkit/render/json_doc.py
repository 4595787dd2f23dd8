"""The snapshot as a versioned JSON document, and the way back from one."""

from __future__ import annotations

import json

from envkit.codec import DecodeError, decode, encode
from envkit.model import READABLE_SNAPSHOT_SCHEMA_VERSIONS, Snapshot


class SnapshotFileError(ValueError):
    """A snapshot document that cannot be used; the message is one sentence."""


def snapshot_json(snapshot: Snapshot) -> str:
    return json.dumps(encode(snapshot), indent=2, ensure_ascii=False) + "\n"


def snapshot_from_json(text: str, source: str) -> Snapshot:
    from envkit.readers import InputError, load_json

    try:
        data = load_json(text, source)  # depth, number and surrogate limits (#12)
    except InputError as error:
        raise SnapshotFileError(str(error)) from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise SnapshotFileError(f"{source} is not an envkit snapshot (no schema_version)")
    if data["schema_version"] not in READABLE_SNAPSHOT_SCHEMA_VERSIONS:
        readable = " and ".join(repr(v) for v in READABLE_SNAPSHOT_SCHEMA_VERSIONS)
        raise SnapshotFileError(
            f"{source} has snapshot schema {data['schema_version']!r}; "
            f"this envkit reads schemas {readable}"
        )
    try:
        return decode(Snapshot, data)
    except DecodeError as error:
        raise SnapshotFileError(f"{source} is not a valid envkit snapshot: {error}") from None
