"""A small, deterministic YAML emitter for :class:`EnvSpec`: the same spec, the same bytes.

Only what an environment file needs: comments, text, lists of text and one mapping of text.
Text that YAML would read as anything but that same text is double-quoted.
"""

from __future__ import annotations

import json
import re

from envkit.envfiles.spec import EnvSpec

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-=<>!~*\[\],@/+:; ]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def to_yaml(spec: EnvSpec) -> str:
    lines = [f"# {line}".rstrip() for line in spec.header]
    lines.append(f"name: {scalar(spec.name)}")
    if spec.channels:
        lines.append("channels:")
        lines += [f"  - {scalar(channel)}" for channel in spec.channels]
    lines.append("dependencies:")
    lines += [f"  - {scalar(dep)}" for dep in spec.conda]
    if spec.pip:
        lines.append("  - pip:")
        lines += [f"      - {scalar(dep)}" for dep in spec.pip]
    if spec.variables:
        lines.append("variables:")
        lines += [f"  {scalar(key)}: {scalar(value)}" for key, value in spec.variables]
    return "\n".join(lines) + "\n"


def scalar(text: str) -> str:
    """``text`` as a YAML scalar that reads back as exactly ``text``."""
    if (
        _PLAIN.match(text)
        and text.lower() not in _YAML_WORDS
        and not text[0].isdigit()  # numbers, dates and 1:30 read as non-text
        and ": " not in text
        and not text.endswith((":", " "))
    ):
        return text
    return json.dumps(text)
