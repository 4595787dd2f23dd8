"""Validation reports as JUnit XML, so that a CI system or a fleet dashboard shows them as tests.

The layout:

* one ``<testsuite>`` per report (node), named after the node, with ``hostname``, ``timestamp``,
  ``time`` and the node's verdict, tier, envkit version and driver as ``<properties>``;
* one ``<testcase>`` per check and GPU: ``name`` is the check id, with ``[gpu N]`` for a per-GPU
  result (``gpu.ecc-uncorrected[gpu 3]``), ``classname`` is the node;
* plus one ``<testcase name="node-verdict">`` per node that fails exactly when ``envkit validate``
  exits 1 for that node. Without it a node whose every check was skipped would show as a green
  suite of skipped tests, while envkit rejects it: nothing unreadable counts as a pass.

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

VERDICT_CASE = "node-verdict"
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
    cases.append(_verdict_case(report))
    suite.extend(cases)
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
    case = ET.Element(
        "testcase", {"name": _xml_text(case_name(result)), "classname": _xml_text(node)}
    )
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


def _verdict_case(report: ValidationReport) -> ET.Element:
    case = ET.Element("testcase", {"name": VERDICT_CASE, "classname": _xml_text(report.node)})
    if report.verdict is Verdict.FAIL:
        failed = [case_name(r) for r in report.results if r.verdict is Verdict.FAIL]
        if failed:
            message = f"{report.node} must not be used: failed {', '.join(failed)}"
        else:
            message = f"{report.node} is not proven usable: no check passed or failed"
        failure = ET.SubElement(case, "failure", {"type": "fail", "message": _xml_text(message)})
        failure.text = _xml_text(message)
    return case


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


def _xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry, even escaped, written as ``\\xNN``."""
    return _NOT_XML.sub(lambda match: _escaped(match.group()), text)


def _escaped(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
