"""The two ways an envfiles call refuses: bad input, and a request no release fits."""

from __future__ import annotations


class EnvFileError(ValueError):
    """A file envkit cannot read as an environment file; the message is one line.

    Missing, a directory, binary, empty, too large, a YAML alias bomb, or not a conda
    environment or requirements file at all. The command exits 2 and writes nothing.
    """


class SpecError(ValueError):
    """A Python/TensorFlow/platform combination that does not fit; the message names what does."""
