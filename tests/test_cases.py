"""Every real case of tests/cases/ (public threads whose cause was confirmed) run through envkit.

A case marked ``expected: diagnosed`` must name the confirmed cause and give none of its harmful
fixes. A case marked ``expected: miss`` is what envkit cannot diagnose yet: it is a strict xfail,
so the day a rule diagnoses it this test fails and says to mark it ``diagnosed``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import jsonschema
import pytest

from envkit.model import Finding, Severity
from envkit.render.json_doc import snapshot_from_json, snapshot_json
from envkit.schema import snapshot_schema_path
from scripts.case_corpus import (
    CASES_DIR,
    Case,
    Requirement,
    build_snapshot,
    judge,
    judge_stderr,
    load_case,
    load_cases,
    verdict,
)

CASES = load_cases()


MIN_CASES = 51
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


SNAPSHOT_CASES = [case for case in CASES if case.kind == "snapshot"]


@pytest.mark.parametrize("case", SNAPSHOT_CASES, ids=lambda c: c.case_id)
def test_case_snapshot_is_a_valid_snapshot_document(case: Case) -> None:
    """The builder makes envkit's real Snapshot: it is valid against the committed schema and
    round-trips through the codec, so it can be fed to the doctor as a file."""
    snapshot, _ = build_snapshot(case.data["snapshot"])
    document = json.loads(snapshot_json(snapshot))  # as `envkit report --json` writes it
    schema = json.loads(snapshot_schema_path().read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    assert snapshot_from_json(json.dumps(document), case.case_id) == snapshot


def _finding(check_id: str, severity: Severity, title: str, fix: tuple[str, ...] = ()) -> Finding:
    return Finding(check_id, severity, "nvidia", title, "found vs required", fix)


def test_a_requirement_counts_only_errors_and_warnings_and_joins_check_and_text() -> None:
    both = Requirement(("nvidia.version-mismatch",), re.compile("reboot", re.IGNORECASE))
    warning = _finding("nvidia.version-mismatch", Severity.WARNING, "x", ("sudo reboot",))
    assert both.met_by(warning)
    assert not both.met_by(_finding("nvidia.version-mismatch", Severity.WARNING, "x"))
    assert not both.met_by(_finding("nvidia.other", Severity.ERROR, "x", ("sudo reboot",)))
    assert not both.met_by(dataclasses.replace(warning, severity=Severity.INFO))
    alternative = Requirement((), None, re.compile("--gpus"))
    assert alternative.met_by(_finding("any.check", Severity.ERROR, "run with --gpus all"))


def test_a_harmful_fix_or_a_false_alarm_makes_a_case_miss_even_when_the_cause_is_named(
    tmp_path: Path,
) -> None:
    path = tmp_path / "synthetic-case.yaml"
    path.write_text(
        "url: https://example.invalid/thread/1\n"
        "title: SYNTHETIC, for this test only\n"
        "quoted_facts: [x]\nconfirmed_cause: x\nresolution: x\n"
        "stderr: x\n"
        "must_name: [nvidia.version-mismatch]\n"
        "must_not: ['purge']\n"
        "must_not_flag: [tensorflow.one-distribution]\n",
        encoding="utf-8",
    )
    case = load_case(path)
    named = _finding("nvidia.version-mismatch", Severity.ERROR, "mismatch", ("sudo reboot",))
    assert verdict(case, (named,)).hit
    purge = dataclasses.replace(named, fix=("sudo apt purge 'nvidia*'",))
    assert verdict(case, (purge,)).why.startswith("harmful fix")
    alarm = _finding("tensorflow.one-distribution", Severity.ERROR, "several")
    assert verdict(case, (named, alarm)).why.startswith("wrongly flags")
    assert verdict(case, ()).why.startswith("does not name")


def test_a_stderr_case_is_judged_by_the_smoke_classifier() -> None:
    findings = judge_stderr(
        "E0000 cuda_dnn.cc:522] Loaded runtime CuDNN library: 9.1.0 but source was compiled "
        "with: 9.3.0.",
        {"gpu_missing": False},
    )
    assert "smoke.cudnn" in {f.check_id for f in findings if f.severity is not Severity.INFO}
    sigill = judge_stderr("", {"signal": "SIGILL", "stage": "import"})
    assert "smoke.import-sigill" in {f.check_id for f in sigill}
