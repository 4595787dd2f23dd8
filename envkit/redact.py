"""Redaction of the values that identify a person or a machine, in text envkit is about to share.

Pure: the values come in as an :class:`Identifiers` (see ``envkit.probes.identity``), and only
those exact values are replaced, never anything that merely looks like a hostname or an address.

Rules, in the order they matter:

* Longest value first, so the home path ``/home/ada`` becomes ``~`` before the user ``ada`` is
  looked for, and a fully qualified hostname goes before its short form.
* Token boundaries: a value matches wherever the characters either side of it are not letters
  or digits, so joined names (``tf-<host>``, ``<user>_env``) and addresses followed by a port
  or a full stop (``http://<ip-1>:8888``, ``MASTER_ADDR=<ip-1>:29500``) are found. The user
  ``ada`` leaves ``canada`` alone; the home ``/root`` and the user ``root`` leave ``/rootfs``.
* Secrets, whatever machine they come from: the password of a URL (``https://user:***@host``)
  and token-like strings (``ghp_...``, ``hf_...``, ``sk-...``, AWS key ids, and any run of 32 or
  more letters, digits, ``_`` and ``-`` that mixes upper case, lower case and digits) become
  ``***``, also inside allowlisted variables such as PYTHONPATH or LD_LIBRARY_PATH.
* Hex values (GPU UUIDs, MAC and IPv6 addresses) match in any letter case; names and paths match
  exactly.
* Every value is also looked for in its JSON-escaped spelling, so a path with a backslash or a
  non-ASCII letter is found inside JSON text too; placeholders need no escaping in JSON.
* Placeholders: ``<hostname>``, ``<user>``, ``~`` for the home path, and numbered
  ``<gpu-uuid-1>``, ``<ip-1>``, ``<mac-1>`` in order of first appearance, the same value getting
  the same number everywhere in the text.
* ``markdown=True``: outside code blocks and code spans the placeholders are escaped
  (``&lt;user&gt;``, ``\\~``) so that GitHub shows them instead of swallowing an unknown HTML tag
  or striking text through; inside code they stay as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from envkit.records import record

_WORD = r"A-Za-z0-9"
_HEX_KINDS = frozenset({"gpu_uuid", "ip", "mac"})
_FIXED_PLACEHOLDERS = {"hostname": "<hostname>", "user": "<user>", "home": "~"}
_NUMBERED_PREFIXES = {"gpu_uuid": "gpu-uuid", "ip": "ip", "mac": "mac"}
# Fenced code blocks (``` or longer, to the matching fence) and inline code spans.
_CODE = re.compile(r"(?ms)^(`{3,}).*?^\1[ \t]*$|(`+)[^\n]*?(?<!`)\2(?!`)")
# Kind -> (singular, plural) for the human note.
_NOUNS = {
    "hostname": ("hostname", "hostnames"),
    "user": ("user name", "user names"),
    "home": ("home path", "home paths"),
    "gpu_uuid": ("GPU UUID", "GPU UUIDs"),
    "ip": ("IP address", "IP addresses"),
    "mac": ("MAC address", "MAC addresses"),
}


@record
class Identifiers:
    """The exact values that identify this person or machine; see envkit.probes.identity."""

    hostnames: tuple[str, ...] = ()
    user_names: tuple[str, ...] = ()
    home_paths: tuple[str, ...] = ()
    gpu_uuids: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    mac_addresses: tuple[str, ...] = ()

    def by_kind(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return (
            ("home", self.home_paths),
            ("hostname", self.hostnames),
            ("user", self.user_names),
            ("gpu_uuid", self.gpu_uuids),
            ("ip", self.ip_addresses),
            ("mac", self.mac_addresses),
        )


@record
class RedactionCounts:
    """How many distinct values of each kind were found and replaced, and how many times."""

    hostnames: int = 0
    user_names: int = 0
    home_paths: int = 0
    gpu_uuids: int = 0
    ip_addresses: int = 0
    mac_addresses: int = 0
    replacements: int = 0
    """Occurrences replaced, all kinds together."""

    def of_kind(self, kind: str) -> int:
        return int(getattr(self, _COUNT_FIELDS[kind]))


_COUNT_FIELDS = {
    "hostname": "hostnames",
    "user": "user_names",
    "home": "home_paths",
    "gpu_uuid": "gpu_uuids",
    "ip": "ip_addresses",
    "mac": "mac_addresses",
}


@dataclass(slots=True)
class _Redactor:
    """One pass over one document: numbering and counts are shared by every piece of it."""

    pattern: re.Pattern[str] | None
    kinds: dict[str, tuple[str, str]]
    """Spelling (lower-cased for hex kinds) -> (kind, the value it spells)."""
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)
    replacements: int = 0

    def sub(self, text: str, *, escape: bool) -> str:
        text = self._mask_secrets(text, escape)  # first: a user name would hide the URL's shape
        if self.pattern is not None:
            text = self.pattern.sub(lambda match: self._placeholder(match.group(0), escape), text)
        return text

    def _mask_secrets(self, text: str, escape: bool) -> str:
        mask = "\\*\\*\\*" if escape else "***"

        def url(match: re.Match[str]) -> str:
            self.replacements += 1
            return f"{match.group('head')}{mask}@"

        def token(match: re.Match[str]) -> str:
            found = match.group(0)
            if not _looks_like_token(found):
                return found
            self.replacements += 1
            return mask

        return _TOKEN.sub(token, _URL_PASSWORD.sub(url, text))

    def _placeholder(self, found: str, escape: bool) -> str:
        kind, value = self.kinds.get(found) or self.kinds[found.lower()]
        self.seen.setdefault(kind, set()).add(value)
        self.replacements += 1
        if kind in _FIXED_PLACEHOLDERS:
            placeholder = _FIXED_PLACEHOLDERS[kind]
        else:
            number = self.numbers.setdefault(
                (kind, value), 1 + sum(1 for k, _ in self.numbers if k == kind)
            )
            placeholder = f"<{_NUMBERED_PREFIXES[kind]}-{number}>"
        return _markdown_escape(placeholder) if escape else placeholder

    def counts(self) -> RedactionCounts:
        distinct = {_COUNT_FIELDS[kind]: len(values) for kind, values in self.seen.items()}
        return RedactionCounts(**distinct, replacements=self.replacements)


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s\"'<>]+:)[^@/\s\"'<>]+@")
"""``scheme://user:password@``: the password goes, the user name stays (it is redacted by value)."""
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:"
    r"(?:gh[pousr]|github_pat|hf|glpat|xox[abprs]|sk|pk|rk)[_\-][A-Za-z0-9_\-]{16,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|[A-Za-z0-9_\-]{32,}"
    r")(?![A-Za-z0-9_\-])"
)
_HEX_ID = re.compile(r"^(?:[A-Za-z]+-)?[0-9A-Fa-f][0-9A-Fa-f\-]*$")
_KNOWN_TOKEN = re.compile(r"^(?:(?:gh[pousr]|github_pat|hf|glpat|xox[abprs]|sk|pk|rk)[_\-]|AKIA)")


def _looks_like_token(text: str) -> bool:
    """A known token prefix, or a long run that mixes upper case, lower case and digits (not a
    lower-case hex digest, a UUID or a word joined by dashes)."""
    if text.startswith("AKIA") and len(text) == 20:
        return True
    if _KNOWN_TOKEN.match(text) and any(char.isdigit() for char in text):
        return True
    if _HEX_ID.match(text):  # GPU-<uuid>, MIG-<uuid>, digests: identifiers, redacted by value
        return False
    return (
        len(text) >= 32
        and any(char.isupper() for char in text)
        and any(char.islower() for char in text)
        and sum(char.isdigit() for char in text) >= 3
    )


def redact(
    text: str, identifiers: Identifiers, *, markdown: bool = False
) -> tuple[str, RedactionCounts]:
    """``text`` with every enumerated identifier replaced by its placeholder, and the counts."""
    redactor = _redactor(identifiers)
    if not markdown:
        return redactor.sub(text, escape=False), redactor.counts()
    pieces: list[str] = []
    position = 0
    for code in _CODE.finditer(text):
        pieces.append(redactor.sub(text[position : code.start()], escape=True))
        pieces.append(redactor.sub(code.group(0), escape=False))
        position = code.end()
    pieces.append(redactor.sub(text[position:], escape=True))
    return "".join(pieces), redactor.counts()


def redaction_note(counts: RedactionCounts) -> str:
    """One line for a person: "redacted: 1 hostname, 2 GPU UUIDs, 3 IP addresses"."""
    parts = []
    for kind, (singular, plural) in _NOUNS.items():
        number = counts.of_kind(kind)
        if number:
            parts.append(f"{number} {singular if number == 1 else plural}")
    return "redacted: " + (", ".join(parts) if parts else "nothing identifying found")


def _redactor(identifiers: Identifiers) -> _Redactor:
    kinds: dict[str, tuple[str, str]] = {}
    for kind, values in identifiers.by_kind():
        for value in _usable(kind, values):
            canonical = value.lower() if kind in _HEX_KINDS else value
            for spelling in _spellings(canonical):
                kinds.setdefault(spelling, (kind, canonical))
    if not kinds:
        return _Redactor(None, kinds)
    ordered = sorted(kinds, key=lambda spelling: (-len(spelling), spelling))
    alternatives = [_alternative(spelling, kinds[spelling][0]) for spelling in ordered]
    return _Redactor(re.compile("|".join(alternatives)), kinds)


def _usable(kind: str, values: Iterable[str]) -> list[str]:
    """Drop values that cannot be redacted safely: empty, or a home path of ``/``."""
    usable = [value.strip() for value in values]
    if kind == "home":
        usable = [value.rstrip("/") for value in usable]
    return [value for value in usable if value and re.search(r"[A-Za-z0-9]", value)]


def _spellings(value: str) -> set[str]:
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def _alternative(spelling: str, kind: str) -> str:
    boundary = _WORD
    body = re.escape(spelling)
    if kind in _HEX_KINDS:
        body = f"(?i:{body})"
    return f"(?<![{boundary}]){body}(?![{boundary}])"


def _markdown_escape(placeholder: str) -> str:
    if placeholder == "~":
        return "\\~"
    return placeholder.replace("<", "&lt;").replace(">", "&gt;")
