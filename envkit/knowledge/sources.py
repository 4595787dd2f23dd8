"""The sources table: every key a fact cites, and where it points."""

from __future__ import annotations

from functools import cache

from envkit.knowledge import _data
from envkit.records import record


@record
class Source:
    key: str
    url: str | None
    """None where the source is not one web page (a wheel's METADATA, a gist cited by name)."""
    about: str

    def describe(self) -> str:
        return f"{self.url} ({self.about})" if self.url else self.about


@cache
def source_table() -> dict[str, Source]:
    rows = _data.obj(_data.load("sources.json"), "sources")
    table: dict[str, Source] = {}
    for key, row in rows.items():
        if not isinstance(row, dict):
            raise _data.KnowledgeDataError(f"source {key!r} is not an object")
        table[key] = Source(key, _data.opt_text(row, "url"), _data.text(row, "about"))
    return table


def sources() -> dict[str, str]:
    """Source key -> URL and description. A fresh dict; changing it changes nothing else."""
    return {key: source.describe() for key, source in source_table().items()}


def source(key: str) -> Source | None:
    return source_table().get(key)
