"""Redaction by exact value, everywhere (#12): the identifiers of the snapshot being rendered,
at any non-word boundary, secrets in URLs and allowlisted variables, control characters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from envkit.redact import Identifiers, redact

HOST = Identifiers(hostnames=("gpu-box",), user_names=("ada",), ip_addresses=("10.1.2.3",))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://10.1.2.3:8888/lab", "http://<ip-1>:8888/lab"),
        ("MASTER_ADDR=10.1.2.3:29500", "MASTER_ADDR=<ip-1>:29500"),
        ("reached 10.1.2.3.", "reached <ip-1>."),
        ("tf-gpu-box and gpu-box_2", "tf-<hostname> and <hostname>_2"),
        ("conda env ada_tf", "conda env <user>_tf"),
        (
            "https://ada:s3cret@pypi.example.com/simple",
            "https://<user>:***@pypi.example.com/simple",
        ),
        (
            "git+https://x:ghp_AbCdEf0123456789AbCdEf0123@github.com/o/r",
            "git+https://x:***@github.com/o/r",
        ),
        ("PYTHONPATH=/srv/hf_AbCdEfGhIjKlMnOpQrStUv123", "PYTHONPATH=/srv/***"),
        (
            "LD_LIBRARY_PATH=/opt/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/lib",
            "LD_LIBRARY_PATH=/opt/***/lib",
        ),
        ("AWS AKIAABCDEFGHIJKLMNOP", "AWS ***"),
    ],
)
def test_boundaries_and_secrets(text: str, expected: str) -> None:
    assert redact(text, HOST)[0] == expected


@pytest.mark.parametrize(
    "kept",
    [
        "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "GPU-aaaaaaaa-1111-2222-3333-444444444444",
        "tensorflow-2.15.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "/opt/conda/envs/tf/lib/python3.11/site-packages/nvidia/cudnn/lib",
        "nvidia-cudnn-cu12==9.3.0.75",
    ],
)
def test_not_secrets_stay(kept: str) -> None:
    assert redact(kept, Identifiers())[0] == kept


def test_markdown_mask_is_escaped_outside_code() -> None:
    text, _ = redact("see https://u:pw@h/x and `https://u:pw@h/x`", Identifiers(), markdown=True)
    assert text == "see https://u:\\*\\*\\*@h/x and `https://u:***@h/x`"


@pytest.fixture(scope="module")
def foreign_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "envkit", "report", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    data = json.loads(done.stdout)
    data["os"]["hostname"] = "alien-node.cluster.example"
    data["python"]["executable"] = "/home/zoe/miniconda3/envs/tf-alien-node/bin/python"
    data["python"]["prefix"] = "/home/zoe/miniconda3/envs/tf-alien-node"
    data["python"]["environment"] = {
        "LD_LIBRARY_PATH": "/home/zoe/lib:/opt/ghp_AbCdEfGhIjKlMnOpQrStUv1234567890/lib",
        "PYTHONPATH": "/srv/hf_AbCdEfGhIjKlMnOpQrStUv123",
        "TF_CPP_MIN_LOG_LEVEL": "\x1b]0;pwned\x07 http://10.9.8.7:8888 \x1b[2J",
    }
    path = tmp_path_factory.mktemp("foreign") / "other-machine.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("form", ["--markdown", "--json"])
def test_foreign_snapshot_is_redacted_by_its_own_values(foreign_snapshot: Path, form: str) -> None:
    args = [form] if form == "--markdown" else [form, "--redact"]
    result = subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", "--snapshot", str(foreign_snapshot), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    for secret in ("zoe", "alien-node", "10.9.8.7", "ghp_", "hf_Ab", "AbCdEfGhIjKlMnOpQrStUv"):
        assert secret not in result.stdout, secret
    assert "\x1b" not in result.stdout


def test_terminal_output_has_no_escape_sequences_from_input(foreign_snapshot: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "envkit", "doctor", "--snapshot", str(foreign_snapshot), "-v"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    assert "\x1b]0;" not in result.stdout
    assert "\x1b[2J" not in result.stdout
