"""The one envelope every envkit JSON document opens with (#13).

``{"schema": "envkit.<kind>/<version>", "envkit_version": "...", ...}``: ``schema`` names what the
document is and the version of its shape; each kind's shape is described by the committed file
envkit/schemas/<kind>-<version>.schema.json. A kind's version moves only when its shape does.

Documents written before the envelope carried their own key (``envkit_doctor_version``,
``envkit_validate_version``, ``envkit_fleet_version``, ``envkit_smoke_version``; a snapshot's
``schema_version``); :func:`document_schema` reads those too, so old files are still recognised.
"""

from __future__ import annotations

import re
from typing import Any

from envkit import __version__

SCHEMA_KEY = "schema"

SNAPSHOT = "snapshot"
DOCTOR = "doctor"
DOCTOR_ALL_ENVS = "doctor-all-envs"
VALIDATE = "validate"
FLEET = "fleet"
SMOKE = "smoke"
ENVCHECK = "envcheck"

CURRENT_VERSIONS: dict[str, str] = {
    SNAPSHOT: "2",
    DOCTOR: "2",
    DOCTOR_ALL_ENVS: "2",
    VALIDATE: "2",
    FLEET: "2",
    SMOKE: "2",
    ENVCHECK: "1",
}
"""The version of each kind this envkit writes."""

LEGACY_VERSION_KEYS: dict[str, str] = {
    DOCTOR: "envkit_doctor_version",
    DOCTOR_ALL_ENVS: "envkit_doctor_all_envs_version",
    VALIDATE: "envkit_validate_version",
    FLEET: "envkit_fleet_version",
    SMOKE: "envkit_smoke_version",
    SNAPSHOT: "schema_version",
}
"""The key that named each kind's version before the envelope (all of them wrote version 1)."""

_NAME = re.compile(r"^envkit\.([a-z]+(?:-[a-z]+)*)/([1-9][0-9]*)$")


def schema_name(kind: str, version: str | None = None) -> str:
    """``envkit.doctor/2``: the value of the ``schema`` key."""
    return f"envkit.{kind}/{version or CURRENT_VERSIONS[kind]}"


def envelope(kind: str) -> dict[str, Any]:
    """The first two keys of a document of ``kind``, in the version this envkit writes."""
    return {SCHEMA_KEY: schema_name(kind), "envkit_version": __version__}


def parse_schema_name(value: object) -> tuple[str, str] | None:
    """(kind, version) from a ``schema`` value; None when it is not one."""
    if not isinstance(value, str):
        return None
    match = _NAME.match(value)
    return (match.group(1), match.group(2)) if match else None


def document_schema(data: object) -> tuple[str, str] | None:
    """(kind, version) of a parsed document, enveloped or of an older shape; None if neither."""
    if not isinstance(data, dict):
        return None
    if SCHEMA_KEY in data:
        return parse_schema_name(data[SCHEMA_KEY])
    for kind, key in LEGACY_VERSION_KEYS.items():
        if kind != SNAPSHOT and key in data:
            return kind, str(data[key])
    if "schema_version" in data and "nvml" in data:
        return SNAPSHOT, str(data["schema_version"])
    return None
