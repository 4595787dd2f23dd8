"""``envkit env check --json``: one environment file's findings as an envkit document.

``{"schema": "envkit.envcheck/1", "envkit_version", "file": {"path", "kind", "name"},
"exit_status", "summary": {"errors", "warnings", "infos"}, "resolved": {"tensorflow",
"python", "gpu"}, "findings"}``: ``resolved`` is what the checks took the file to ask for (the
TensorFlow and Python series it gets, null where it does not say); findings are encoded by
``envkit.codec`` as the doctor's are. Described by envkit/schemas/envcheck-1.schema.json.
"""

from __future__ import annotations

import json
from typing import Any

from envkit.codec import encode
from envkit.envelope import ENVCHECK, envelope
from envkit.envfiles.checks import EnvFileReport
from envkit.model import Severity


def envcheck_envelope(result: EnvFileReport) -> dict[str, Any]:
    document = result.document
    return {
        **envelope(ENVCHECK),
        "file": {"path": document.path, "kind": document.kind, "name": document.name},
        "exit_status": result.exit_status,
        "summary": {
            "errors": result.count(Severity.ERROR),
            "warnings": result.count(Severity.WARNING),
            "infos": result.count(Severity.INFO),
        },
        "resolved": {
            "tensorflow": result.release.series if result.release else None,
            "python": result.python,
            "gpu": result.gpu,
        },
        "findings": [encode(finding) for finding in result.findings],
    }


def envcheck_json(result: EnvFileReport) -> str:
    return json.dumps(envcheck_envelope(result), indent=2, ensure_ascii=False) + "\n"
