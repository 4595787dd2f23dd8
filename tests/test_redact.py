"""Redaction: exact enumerated values, token boundaries, stable placeholders, valid JSON after.

The last tests use the REAL identifiers of the machine the tests run on."""

from __future__ import annotations

import dataclasses
import json
import re
import sys

import pytest

from envkit.model import DoctorReport, Finding, Severity
from envkit.probes import collect
from envkit.probes.identity import GENERIC_USER_NAMES, probe_identifiers
from envkit.redact import Identifiers, RedactionCounts, redact, redaction_note
from envkit.render.doctor_json import doctor_json, redacted_doctor_json
from envkit.render.markdown import doctor_markdown
from envkit.target import resolve_target

ADA = Identifiers(
    hostnames=("gpu-box.lab.example", "gpu-box"),
    user_names=("ada",),
    home_paths=("/home/ada",),
    gpu_uuids=(
        "GPU-00000000-1111-2222-3333-444444444444",
        "GPU-aaaaaaaa-1111-2222-3333-444444444444",
    ),
    ip_addresses=("10.1.2.3", "fe80::1"),
    mac_addresses=("aa:bb:cc:dd:ee:ff",),
)


def redacted(text: str, identifiers: Identifiers = ADA) -> str:
    return redact(text, identifiers)[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ada lives in canada", "<user> lives in canada"),
        ("adam and ada_x and ada-b", "adam and <user>_x and <user>-b"),  # joined names (#12)
        ("/home/ada/miniconda3/bin/python", "~/miniconda3/bin/python"),
        ("/home/ada", "~"),
        ("/home/adams/x", "/home/adams/x"),
        ("HOME=/home/ada; USER=ada", "HOME=~; USER=<user>"),
        ("gpu-box.lab.example and gpu-box", "<hostname> and <hostname>"),
        ("gpu-box-2 and xgpu-box", "<hostname>-2 and xgpu-box"),
        ("gpu-box.local", "<hostname>.local"),
        ("10.1.2.3 10.1.2.34 110.1.2.3 10.1.2.3:22", "<ip-1> 10.1.2.34 110.1.2.3 <ip-1>:22"),
        ("MAC AA:BB:CC:DD:EE:FF", "MAC <mac-1>"),
        ("gpu-00000000-1111-2222-3333-444444444444", "<gpu-uuid-1>"),
    ],
)
def test_token_boundaries(text: str, expected: str) -> None:
    assert redacted(text) == expected


def test_root_user_and_home_leave_rootfs_alone() -> None:
    identifiers = Identifiers(user_names=("root",), home_paths=("/root",))
    text = "/root/miniconda3 /rootfs/data root rooted /root"
    assert redacted(text, identifiers) == "~/miniconda3 /rootfs/data <user> rooted ~"


def test_numbering_follows_first_appearance_and_is_stable() -> None:
    second, first = ADA.gpu_uuids
    text, counts = redact(f"{first} then {second} then {first}; fe80::1 10.1.2.3", ADA)
    assert text == "<gpu-uuid-1> then <gpu-uuid-2> then <gpu-uuid-1>; <ip-1> <ip-2>"
    assert counts == RedactionCounts(gpu_uuids=2, ip_addresses=2, replacements=5)


def test_longest_first() -> None:
    identifiers = Identifiers(user_names=("ada",), home_paths=("/home/ada",), hostnames=("ada",))
    assert redacted("/home/ada", identifiers) == "~"


def test_nothing_to_redact() -> None:
    text, counts = redact("nothing here", Identifiers())
    assert text == "nothing here"
    assert counts == RedactionCounts()
    assert redaction_note(counts) == "redacted: nothing identifying found"


def test_values_that_cannot_be_redacted_safely_are_skipped() -> None:
    identifiers = Identifiers(home_paths=("/", ""), user_names=("",))
    assert redacted("/usr/bin and stuff", identifiers) == "/usr/bin and stuff"


def test_note() -> None:
    counts = RedactionCounts(hostnames=1, gpu_uuids=2, ip_addresses=3, replacements=9)
    assert redaction_note(counts) == "redacted: 1 hostname, 2 GPU UUIDs, 3 IP addresses"


def test_json_stays_valid_and_escaped_spellings_are_found() -> None:
    identifiers = Identifiers(home_paths=("/home/zoë\\x",), user_names=("zoë",))
    for ascii_only in (True, False):
        text = json.dumps({"path": "/home/zoë\\x/env", "who": "zoë"}, ensure_ascii=ascii_only)
        out, counts = redact(text, identifiers)
        assert json.loads(out) == {"path": "~/env", "who": "<user>"}
        assert counts.home_paths == 1
        assert counts.user_names == 1


def test_markdown_mode_escapes_placeholders_only_outside_code() -> None:
    text = "user ada at `/home/ada/x`\n\n```sh\ncd /home/ada\n```\n\nhost gpu-box ~ /home/ada\n"
    out, _ = redact(text, ADA, markdown=True)
    assert out == (
        "user &lt;user&gt; at `~/x`\n\n```sh\ncd ~\n```\n\nhost &lt;hostname&gt; ~ \\~\n"
    )


# --- the real machine ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> tuple[DoctorReport, Identifiers]:
    snapshot = collect(resolve_target(sys.executable))
    identifiers = probe_identifiers(snapshot)
    addresses = ", ".join([*identifiers.ip_addresses, *identifiers.mac_addresses])
    homes = " ".join(f"{home}/project" for home in identifiers.home_paths)
    finding = Finding(
        "system.synthetic-identifiers",
        Severity.WARNING,
        "system",
        f"SYNTHETIC finding that quotes this machine's identifiers: {addresses}",
        f"hostnames {' '.join(identifiers.hostnames)}; users {' '.join(identifiers.user_names)}; "
        f"homes {homes}",
        (f"ssh {name}@{host}" for name in identifiers.user_names for host in identifiers.hostnames),
    )
    finding = dataclasses.replace(finding, fix=tuple(finding.fix))
    return DoctorReport(snapshot, (finding,)), identifiers


def _all_values(identifiers: Identifiers) -> list[str]:
    return [value for _, values in identifiers.by_kind() for value in values]


def _still_there(value: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text, re.IGNORECASE) is not None


def test_real_identifiers_are_found(real: tuple[DoctorReport, Identifiers]) -> None:
    _, identifiers = real
    assert identifiers.hostnames, "a machine always has a hostname"
    assert identifiers.home_paths
    assert not set(identifiers.user_names) & GENERIC_USER_NAMES
    assert all(not ip.startswith("127.") and ip != "::1" for ip in identifiers.ip_addresses)


@pytest.mark.parametrize("form", ["json", "markdown"])
def test_real_identifiers_are_gone(real: tuple[DoctorReport, Identifiers], form: str) -> None:
    report, identifiers = real
    if form == "json":
        out, counts = redacted_doctor_json(report, identifiers)
        assert json.loads(out)["redactions"]["replacements"] == counts.replacements
    else:
        out, counts = redact(doctor_markdown(report), identifiers, markdown=True)
    for value in _all_values(identifiers):
        assert not _still_there(value, out), value
    assert counts.ip_addresses == len(identifiers.ip_addresses)
    assert counts.mac_addresses == len(identifiers.mac_addresses)
    assert counts.user_names == len(identifiers.user_names)
    assert counts.hostnames >= 1
    assert counts.home_paths >= 1


def test_real_json_stays_parseable(real: tuple[DoctorReport, Identifiers]) -> None:
    report, identifiers = real
    out, _ = redact(doctor_json(report), identifiers)
    document = json.loads(out)
    if document["snapshot"]["os"].get("hostname"):
        assert document["snapshot"]["os"]["hostname"] == "<hostname>"
