"""Validation reports as JUnit XML, so that a CI system or a fleet dashboard shows them as tests.

The layout:

* one ``<testsuite>`` per report (node), named after the node, with ``hostname``, ``timestamp``,
  ``time`` and the node's verdict, exit status, tier, envkit version and driver as
  ``<properties>``, and the verdict in words as its ``<system-out>``;
* one ``<testcase>`` per check and GPU, and nothing else, so that the counts (tests, failures,
  skipped) are envkit's own: ``name`` is the check id, with ``[gpu N]`` for a per-GPU result
  (``gpu.ecc-uncorrected[gpu 3]``), ``classname`` is the node, ``time`` the check's duration
  where it ran (CheckResult.duration_s; left out for a report written before envkit measured
  it, rather than a made-up 0).

The node's verdict is a property, not a test case: a node whose every check was skipped fails
envkit (nothing unreadable counts as a pass), and its suite says so in ``verdict`` = fail,
``exit_status`` = 1 and the system-out line, without a failing case that envkit did not count.

Verdicts:

* ``fail`` → ``<failure type="fail" message=title>`` with the evidence and action as its text;
* ``skip`` → ``<skipped message="title: evidence">``;
* ``warn`` → a passing testcase by default, carrying ``<properties><property name="verdict"
  value="warn"/></properties>`` and the title, evidence and action in ``<system-out>`` under a
  ``WARN:`` line. A warned node is usable and ``envkit validate`` exits 0 on it; a CI job that
  went red on warnings would disagree with the exit status, and people learn to ignore red
  that does not mean "do not use". ``warn_as_failure=True`` gives ``<failure type="warning">``
  instead, for teams that gate on warnings.

The XML is built with ElementTree, so ``<``, ``&`` and quotes are escaped; characters that XML
1.0 cannot hold at all (NUL, ESC from a colour code, ...) are written as ``\\xNN``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from envkit.validate.model import CheckResult, ValidationReport, Verdict

_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def validation_junit(reports: Sequence[ValidationReport], *, warn_as_failure: bool = False) -> str:
    root = ET.Element("testsuites", {"name": "envkit validate"})
    suites = [_suite(report, warn_as_failure=warn_as_failure) for report in reports]
    root.extend(suites)
    _set_totals(root, suites)
    root.set("time", _seconds(sum(report.duration_s for report in reports)))
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def case_name(result: CheckResult) -> str:
    if result.gpu_index is None:
        return result.check_id
    return f"{result.check_id}[gpu {result.gpu_index}]"


def _suite(report: ValidationReport, *, warn_as_failure: bool) -> ET.Element:
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml_text(report.node),
            "hostname": _xml_text(report.node),
            "timestamp": _xml_text(report.started_at),
            "time": _seconds(report.duration_s),
        },
    )
    suite.append(_properties(_suite_properties(report)))
    cases = [_case(report.node, r, warn_as_failure=warn_as_failure) for r in report.results]
    suite.extend(cases)
    ET.SubElement(suite, "system-out").text = _xml_text(verdict_text(report))
    _set_totals(suite, cases)
    return suite


def _suite_properties(report: ValidationReport) -> list[tuple[str, str]]:
    properties = [
        ("verdict", report.verdict.value),
        ("exit_status", str(report.exit_status)),
        ("tier", report.tier.value),
        ("envkit_version", report.envkit_version),
        ("driver_version", report.driver_version or "unknown"),
    ]
    names = sorted({gpu.name for gpu in report.gpus if gpu.name})
    return properties + [("gpu_count", str(len(report.gpus)))] + [("gpu_model", n) for n in names]


def _case(node: str, result: CheckResult, *, warn_as_failure: bool) -> ET.Element:
    attributes = {"name": _xml_text(case_name(result)), "classname": _xml_text(node)}
    if result.duration_s is not None:
        attributes["time"] = _case_seconds(result.duration_s)
    case = ET.Element("testcase", attributes)
    if result.verdict is Verdict.FAIL or (result.verdict is Verdict.WARN and warn_as_failure):
        kind = "fail" if result.verdict is Verdict.FAIL else "warning"
        failure = ET.SubElement(case, "failure", {"type": kind, "message": _xml_text(result.title)})
        failure.text = _xml_text(_details(result))
    elif result.verdict is Verdict.SKIP:
        reason = f"{result.title}: {result.evidence}" if result.evidence else result.title
        ET.SubElement(case, "skipped", {"message": _xml_text(reason)})
    elif result.verdict is Verdict.WARN:
        case.append(_properties([("verdict", "warn")]))
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text(f"WARN: {result.title}\n{_details(result)}")
    return case


def verdict_text(report: ValidationReport) -> str:
    """The node's verdict in one line, as the suite's system-out."""
    status = f"{report.verdict.value.upper()} (exit {report.exit_status})"
    if report.verdict is not Verdict.FAIL:
        return f"{report.node}: {status}: usable"
    failed = [case_name(r) for r in report.results if r.verdict is Verdict.FAIL]
    if failed:
        return f"{report.node}: {status}: must not be used: failed {', '.join(failed)}"
    return f"{report.node}: {status}: not proven usable: no check passed or failed"


def _details(result: CheckResult) -> str:
    lines = [result.evidence] if result.evidence else []
    if result.action:
        lines.append(f"Action: {result.action}")
    return "\n".join(lines)


def _properties(pairs: Sequence[tuple[str, str]]) -> ET.Element:
    element = ET.Element("properties")
    for name, value in pairs:
        ET.SubElement(element, "property", {"name": _xml_text(name), "value": _xml_text(value)})
    return element


def _set_totals(element: ET.Element, children: Sequence[ET.Element]) -> None:
    """tests, failures, errors and skipped: summed over suites, or counted over testcases."""
    if element.tag == "testsuites":
        for key in ("tests", "failures", "errors", "skipped"):
            element.set(key, str(sum(int(child.get(key, "0")) for child in children)))
        return
    element.set("tests", str(len(children)))
    element.set("failures", str(sum(1 for c in children if c.find("failure") is not None)))
    element.set("errors", "0")
    element.set("skipped", str(sum(1 for c in children if c.find("skipped") is not None)))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _case_seconds(value: float) -> str:
    """Microseconds: a judgement from readings already taken lasts a few of them."""
    return f"{max(value, 0.0):.6f}"


def _xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry, even escaped, written as ``\\xNN``."""
    return _NOT_XML.sub(lambda match: _escaped(match.group()), text)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
