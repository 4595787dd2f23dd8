"""Shared fixtures: the real parts the tests need, prepared once per run."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FETCH_SCRIPT = REPO / "scripts" / "fetch_libnvidia_ml.sh"


@pytest.fixture(scope="session")
def libnvml_dir() -> Path:
    """Debian's real libnvidia-ml1, unpacked (not installed) by scripts/fetch_libnvidia_ml.sh."""
    cache = os.environ.get("ENVKIT_LIBNVML_DIR") or str(Path.home() / ".cache/envkit/libnvidia-ml")
    fetched = subprocess.run(
        ["bash", str(FETCH_SCRIPT), cache], capture_output=True, text=True, timeout=600
    )
    if fetched.returncode == 0:
        return Path(fetched.stdout.strip().splitlines()[-1])
    reason = f"Debian's libnvidia-ml could not be fetched into {cache}: {fetched.stderr[-800:]}"
    if os.environ.get("ENVKIT_REQUIRE_TEST_ENVS"):
        pytest.fail(reason)
    pytest.skip(reason)
