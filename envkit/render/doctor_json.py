"""The doctor's verdicts as a versioned JSON envelope, described by envkit/schemas/doctor-2.

``{"schema": "envkit.doctor/2", "envkit_version", "summary", "redactions", "findings",
"snapshot"}`` (version 1 had ``"envkit_doctor_version": "1"`` where ``schema`` is): findings
and snapshot are encoded by ``envkit.codec`` (severity as its string
value); ``redactions`` is null, or the counts of what :func:`redacted_doctor_json` replaced.
"""

from __future__ import annotations

import json
from typing import Any

from envkit.codec import encode
from envkit.envelope import DOCTOR, envelope
from envkit.model import DoctorReport, Severity
from envkit.redact import Identifiers, RedactionCounts, redact


def doctor_envelope(
    report: DoctorReport, *, redactions: RedactionCounts | None = None
) -> dict[str, Any]:
    return {
        **envelope(DOCTOR),
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "infos": report.count(Severity.INFO),
            "exit_status": report.exit_status,
        },
        "redactions": None if redactions is None else encode(redactions),
        "findings": [encode(finding) for finding in report.findings],
        "snapshot": encode(report.snapshot),
    }


def doctor_json(report: DoctorReport, *, redactions: RedactionCounts | None = None) -> str:
    return (
        json.dumps(doctor_envelope(report, redactions=redactions), indent=2, ensure_ascii=False)
        + "\n"
    )


def redacted_doctor_json(
    report: DoctorReport, identifiers: Identifiers
) -> tuple[str, RedactionCounts]:
    """The envelope with every identifier replaced, recording the counts in ``redactions``.

    The counts are known only after a first pass; they hold no identifier, so the second pass
    replaces exactly what the first did, with the same numbering.
    """
    _, counts = redact(doctor_json(report), identifiers)
    text, _ = redact(doctor_json(report, redactions=counts), identifiers)
    json.loads(text)  # a replacement must never break the document; fail loudly if it did
    return text, counts
