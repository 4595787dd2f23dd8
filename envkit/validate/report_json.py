"""A validation report as a versioned JSON envelope, described by envkit/schemas/validate-2, and
the way back from one.

``{"schema": "envkit.validate/2", "envkit_version", "node", "verdict", "exit_status", "summary":
{"pass", "warn", "fail", "skip"}, "report"}``: ``report`` is the ValidationReport encoded by
``envkit.codec``; the fields beside it repeat what a scheduler or ``jq`` needs without decoding it.
Version 1 (``"envkit_validate_version": "1"`` where ``schema`` is, the same report inside) still
loads.

Reading back trusts nothing: the envelope's verdict, exit status, node and counts must agree with
the checks inside, so an edited or half-written file is an error, never a pass.
"""

from __future__ import annotations

import json
from typing import Any

from envkit.codec import DecodeError, decode, encode
from envkit.envelope import LEGACY_VERSION_KEYS, SCHEMA_KEY, VALIDATE, envelope, parse_schema_name
from envkit.validate.model import VALIDATION_SCHEMA_VERSION, ValidationReport, Verdict

ENVELOPE_KEY = SCHEMA_KEY
LEGACY_ENVELOPE_KEY = LEGACY_VERSION_KEYS[VALIDATE]
READABLE_VERSIONS = ("1", VALIDATION_SCHEMA_VERSION)
"""Version 1 differs only in its envelope key; the report inside is the same."""
LEGACY_READABLE_VERSIONS = ("1",)
"""Only version 1 was written under the old key."""


class ValidationFileError(ValueError):
    """A validation document that cannot be used; the message is one line naming the source.

    ``code`` says which way it failed: ``not-json``, ``not-validate-report`` (some other document),
    ``other-version`` (an envelope of another version, given in ``version``) or ``invalid``.
    """

    def __init__(self, message: str, *, code: str, version: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.version = version


def validation_envelope(report: ValidationReport) -> dict[str, Any]:
    return {
        **envelope(VALIDATE),
        "node": report.node,
        "verdict": report.verdict.value,
        "exit_status": report.exit_status,
        "summary": summary_counts(report),
        "report": encode(report),
    }


def validation_json(report: ValidationReport) -> str:
    return json.dumps(validation_envelope(report), indent=2, ensure_ascii=False) + "\n"


def summary_counts(report: ValidationReport) -> dict[str, int]:
    counts = {verdict.value: 0 for verdict in Verdict}
    for result in report.results:
        counts[result.verdict.value] += 1
    return counts


def load_validation(text: str, source: str) -> ValidationReport:
    """The report in an envelope written by :func:`validation_json`; ValidationFileError if not."""
    data, version, readable_versions = _parse(text, source)
    if version not in readable_versions:
        readable = " and ".join(repr(v) for v in READABLE_VERSIONS)
        raise ValidationFileError(
            f"{source} is an envkit validate report of version {version!r}; "
            f"this envkit reads versions {readable}",
            code="other-version",
            version=str(version),
        )
    if not isinstance(data.get("report"), dict):
        raise _invalid(source, "$.report: expected an object")
    try:
        report = decode(ValidationReport, data["report"])
    except DecodeError as error:
        raise _invalid(source, str(error).replace("$", "$.report", 1)) from None
    _check_agreement(data, report, version, source)
    return report


def _parse(text: str, source: str) -> tuple[dict[str, Any], str, tuple[str, ...]]:
    """The document, its version and the versions readable under the key that gave it (the
    envelope's ``schema``, or version 1's own key)."""
    from envkit.readers import InputError, load_json

    try:
        data = load_json(text, source)  # depth, number and surrogate limits (#12)
    except InputError as error:
        raise ValidationFileError(str(error), code="not-json") from None
    if isinstance(data, dict) and SCHEMA_KEY in data:
        named = parse_schema_name(data[SCHEMA_KEY])
        if named is not None and named[0] == VALIDATE:
            return data, named[1], READABLE_VERSIONS
        raise ValidationFileError(
            f"{source} is not an envkit validate report ({SCHEMA_KEY} is {data[SCHEMA_KEY]!r})",
            code="not-validate-report",
        )
    if isinstance(data, dict) and LEGACY_ENVELOPE_KEY in data:
        return data, str(data[LEGACY_ENVELOPE_KEY]), LEGACY_READABLE_VERSIONS
    raise ValidationFileError(
        f"{source} is not an envkit validate report (no {SCHEMA_KEY})",
        code="not-validate-report",
    )


def _check_agreement(
    data: dict[str, Any], report: ValidationReport, version: str, source: str
) -> None:
    expected = {
        "node": report.node,
        "verdict": report.verdict.value,
        "exit_status": report.exit_status,
        "summary": summary_counts(report),
    }
    if report.schema_version != version:
        raise _invalid(source, f"$.report.schema_version is {report.schema_version!r}")
    for key, value in expected.items():
        found = data.get(key)
        if type(found) is not type(value) or found != value:
            raise _invalid(source, f"$.{key} is {found!r} but the checks inside say {value!r}")


def _invalid(source: str, detail: str) -> ValidationFileError:
    one_line = " ".join(detail.split())
    return ValidationFileError(
        f"{source} is not a valid envkit validate report: {one_line}", code="invalid"
    )
