"""Every real case of tests/cases/ (public threads whose cause was confirmed) run through envkit.

A case marked ``expected: diagnosed`` must name the confirmed cause and give none of its harmful
fixes. A case marked ``expected: miss`` is what envkit cannot diagnose yet: it is a strict xfail,
so the day a rule diagnoses it this test fails and says to mark it ``diagnosed``.
"""

from __future__ import annotations

import re

import pytest

from scripts.case_corpus import CASES_DIR, Case, build_snapshot, judge, load_cases

CASES = load_cases()


MIN_CASES = 44
"""The corpus never shrinks below what it holds; issue #9's goal is 40."""


def test_the_corpus_never_shrinks_and_has_one_case_per_thread() -> None:
    urls = [case.data["url"] for case in CASES]
    assert len(CASES) >= MIN_CASES
    assert len(set(urls)) == len(urls), "two cases from one thread"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
def test_case_is_well_formed(case: Case) -> None:
    assert re.match(r"https://[a-z0-9.-]+\.[a-z]+/\S+$", case.data["url"])
    quotes = case.data["quoted_facts"]
    assert isinstance(quotes, list) and quotes and all(isinstance(q, str) for q in quotes)
    assert case.must_name, "a case must say what a correct diagnosis names"
    if case.kind == "snapshot":
        _, filled = build_snapshot(case.data["snapshot"])
        assert list(filled) == list(case.data.get("filled_neutrally") or []), (
            f"filled_neutrally of {case.case_id} must list exactly what the builder fills"
        )
    else:
        assert "filled_neutrally" not in case.data


def _marked(case: Case) -> object:
    if case.expected == "diagnosed":
        return case
    reason = "a known miss; if this XPASSes, a rule diagnoses it now: mark it `expected: diagnosed`"
    return pytest.param(case, marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize("case", [_marked(case) for case in CASES], ids=lambda c: c.case_id)
def test_case(case: Case) -> None:
    result = judge(case)
    assert result.hit, result.why


def test_cases_dir_holds_only_cases() -> None:
    stray = [p.name for p in CASES_DIR.iterdir() if p.suffix != ".yaml" and p.name != "README.md"]
    assert stray == []
