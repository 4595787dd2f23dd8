"""Reading what users already have: nvidia-smi outputs, package lists, environment reports,
envkit's own JSON and pasted bug reports, recognised by content and turned into a snapshot
(for the doctor) or a node's health (for ``envkit validate``)."""

from envkit.inputs.model import KINDS, InputReading, Part, SmiDump
from envkit.inputs.reader import (
    MAX_INPUT_BYTES,
    InputError,
    kinds_sentence,
    leftover_text,
    read_inputs,
)

__all__ = [
    "KINDS",
    "MAX_INPUT_BYTES",
    "InputError",
    "InputReading",
    "Part",
    "SmiDump",
    "kinds_sentence",
    "leftover_text",
    "read_inputs",
]
