"""The quick tier's checks over replayed NVML recordings and parsed kernel-log lines.

Each check is shown firing on the recording made for it and quiet on the healthy H100
(tests/fixtures/nvml/health/, provenance in its README); readings no recording holds are made by
editing a copy of a recording, so they still pass through probe_health.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from nvml_replay import ReplayNvml

from envkit.model import Unavailable
from envkit.model_health import NodeHealth
from envkit.probes import nvml_health
from envkit.probes.kernel_log import XidHistory, parse_xid_lines
from envkit.probes.tf_devices import TfGpuList
from envkit.validate.model import CheckResult, Expectations, Verdict
from envkit.validate.quick import CHECK_IDS, XID_TABLE, quick_checks, xid_class
from envkit.validate.quick_node import node_tensorflow_gpus

HEALTH = Path(__file__).resolve().parent / "fixtures" / "nvml" / "health"
H100 = Expectations(gpu_count=1, gpu_model="H100", memory_gib=80, min_driver="535")
CLEAN_LOG = XidHistory("dmesg", "since this boot", ())


def _recording(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((HEALTH / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def _health(recording: str | dict[str, Any]) -> NodeHealth:
    data = _recording(recording) if isinstance(recording, str) else recording
    return nvml_health.probe_health(ReplayNvml(data))


def _edited(name: str, fn: str, result: Any) -> NodeHealth:
    recording = _recording(name)
    for call in recording["calls"]:
        if call["fn"] == fn:
            call.pop("error", None)
            call["result"] = result
    return _health(recording)


def _checks(
    health: NodeHealth | str,
    expectations: Expectations = H100,
    xids: XidHistory | Unavailable | None = CLEAN_LOG,
    tf: int | Unavailable | None = 1,
) -> dict[tuple[str, int | None], CheckResult]:
    """The quick tier's checks, then node.tensorflow-gpus as the default tier adds it (``tf``:
    the GPUs TensorFlow lists; None: not asked)."""
    node = _health(health) if isinstance(health, str) else health
    tf_gpus = TfGpuList(tf, None, None) if isinstance(tf, int) else tf
    results = (*quick_checks(node, xids, expectations), node_tensorflow_gpus(node, tf_gpus))
    keyed = {(r.check_id, r.gpu_index): r for r in results}
    assert len(keyed) == len(results), "one result per check and GPU"
    return keyed


def _xid_result(health: str, xids: XidHistory | Unavailable) -> CheckResult:
    """node.xid carries the GPU's index when every serious Xid is on one GPU."""
    (result,) = (r for (check, _), r in _checks(health, xids=xids).items() if check == "node.xid")
    return result


def _verdicts(health: NodeHealth | str, **kwargs: Any) -> dict[tuple[str, int | None], str]:
    return {key: result.verdict.value for key, result in _checks(health, **kwargs).items()}


def _not_passing(health: NodeHealth | str, **kwargs: Any) -> dict[tuple[str, int | None], str]:
    return {k: v for k, v in _verdicts(health, **kwargs).items() if v != "pass"}


# --- quiet ---------------------------------------------------------------------------------


def test_the_healthy_h100_passes_everything_it_can_read() -> None:
    results = _checks("synthetic-h100-healthy")
    not_passing = {k: r.verdict.value for k, r in results.items() if r.verdict is not Verdict.PASS}
    assert not_passing == {("gpu.retired-pages", 0): "skip"}  # Hopper remaps rows instead
    assert "remap rows instead" in results["gpu.retired-pages", 0].evidence
    quick = [r.check_id for r in results.values() if r.check_id != "node.tensorflow-gpus"]
    assert quick == [i for i in CHECK_IDS if i in set(quick)], "results come in CHECK_IDS order"
    assert set(CHECK_IDS) | {"node.tensorflow-gpus"} == {check_id for check_id, _ in results}


def test_every_result_says_something() -> None:
    for result in _checks("synthetic-h100-ecc-errors").values():
        assert result.title and result.evidence
        if result.verdict is Verdict.FAIL:
            assert result.action, result.check_id


# --- each check fires ----------------------------------------------------------------------


def test_ecc_errors_fail_with_a_reset() -> None:
    results = _checks("synthetic-h100-ecc-errors")
    assert _not_passing("synthetic-h100-ecc-errors") == {
        ("gpu.retired-pages", 0): "skip",
        ("gpu.ecc-uncorrected", 0): "fail",
        ("gpu.row-remap", 0): "fail",
        ("gpu.recovery-action", 0): "fail",
    }
    ecc = results["gpu.ecc-uncorrected", 0]
    assert (ecc.measured, ecc.expected) == (2, 0)
    assert "corrected 17" in ecc.evidence
    assert "nvidia-smi -r -i 0" in (ecc.action or "")
    assert "waits for a GPU reset" in results["gpu.row-remap", 0].title
    assert "GPU reset" in results["gpu.recovery-action", 0].title


def test_row_remap_failure_asks_for_a_replacement() -> None:
    assert _not_passing("synthetic-h100-row-remap-failure") == {
        ("gpu.retired-pages", 0): "skip",
        ("gpu.row-remap", 0): "fail",
    }
    remap = _checks("synthetic-h100-row-remap-failure")["gpu.row-remap", 0]
    assert "RMA" in (remap.action or "")
    assert remap.measured == 6


def test_uncorrectable_remaps_at_the_dcgm_limit_fail() -> None:
    at_limit = _edited("synthetic-h100-healthy", "nvmlDeviceGetRemappedRows", [0, 512, 0, 0])
    below = _edited("synthetic-h100-healthy", "nvmlDeviceGetRemappedRows", [0, 511, 0, 0])
    assert _verdicts(at_limit)["gpu.row-remap", 0] == "fail"
    assert _verdicts(below)["gpu.row-remap", 0] == "pass"


def test_pending_retirement_on_a_v100() -> None:
    expectations = Expectations(gpu_count=1, gpu_model="V100", memory_gib=16)
    results = _checks("synthetic-v100-retired-pages-pending", expectations=expectations)
    assert _not_passing("synthetic-v100-retired-pages-pending", expectations=expectations) == {
        ("node.driver-min", None): "skip",
        ("gpu.ecc-uncorrected", 0): "fail",
        ("gpu.retired-pages", 0): "fail",
        ("gpu.row-remap", 0): "skip",
        ("gpu.mig", 0): "skip",
    }
    pages = results["gpu.retired-pages", 0]
    assert pages.measured == 3 and "pending yes" in pages.evidence
    assert "retire pages instead" in results["gpu.row-remap", 0].evidence


@pytest.mark.parametrize(("pages", "verdict"), [(14, "pass"), (15, "warn"), (63, "fail")])
def test_retired_page_thresholds(pages: int, verdict: str) -> None:
    recording = _recording("synthetic-v100-retired-pages-pending")
    for call in recording["calls"]:
        if call["fn"] == "nvmlDeviceGetRetiredPagesPendingStatus":
            call["result"] = 0
        if call["fn"] == "nvmlDeviceGetRetiredPages":
            call["result"] = list(range(pages)) if call["args"][1] == 0 else []
    assert _verdicts(_health(recording))["gpu.retired-pages", 0] == verdict


def test_hardware_slowdown_fails_and_the_heat_warns() -> None:
    results = _checks("synthetic-h100-hw-slowdown")
    assert _not_passing("synthetic-h100-hw-slowdown") == {
        ("gpu.retired-pages", 0): "skip",
        ("gpu.clock-events", 0): "fail",
        ("gpu.temperature", 0): "warn",
    }
    assert "HW slowdown, HW thermal slowdown" in results["gpu.clock-events", 0].evidence


@pytest.mark.parametrize(
    ("mask", "verdict"),
    [(0x0, "pass"), (0x1, "pass"), (0x4, "pass"), (0x20, "warn"), (0x80, "fail"), (0x8, "fail")],
)
def test_clock_event_reasons(mask: int, verdict: str) -> None:
    health = _edited("synthetic-h100-healthy", "nvmlDeviceGetCurrentClocksEventReasons", mask)
    assert _verdicts(health)["gpu.clock-events", 0] == verdict


def test_a_link_at_x8_fails() -> None:
    link = _checks("synthetic-h100-pcie-x8")["gpu.pcie-link", 0]
    assert link.verdict is Verdict.FAIL
    assert (link.measured, link.expected, link.unit) == (8, 16, "lanes")
    assert "reseat" in (link.action or "")


def test_a_slot_of_an_older_generation_warns() -> None:
    health = _edited("synthetic-h100-healthy", "nvmlDeviceGetMaxPcieLinkGeneration", 4)
    link = _checks(health)["gpu.pcie-link", 0]
    assert link.verdict is Verdict.WARN
    assert "Gen4" in link.title and "Gen5" in link.title


def test_mig_on_warns_and_tensorflow_is_told_why() -> None:
    results = _checks("synthetic-h100-mig", tf=2)
    assert _not_passing("synthetic-h100-mig", tf=2) == {
        ("gpu.retired-pages", 0): "skip",
        ("gpu.row-remap", 0): "skip",
        ("gpu.mig", 0): "warn",
        ("gpu.processes", 0): "warn",
        ("node.tensorflow-gpus", None): "fail",
    }
    assert "MIG instances" in results["node.tensorflow-gpus", None].evidence
    assert "pid 4242 (compute, memory ?)" in results["gpu.processes", 0].evidence


def test_a_lost_gpu_fails_and_the_other_is_checked() -> None:
    expectations = dataclasses.replace(H100, gpu_count=2)
    results = _checks("synthetic-gpu-lost", expectations=expectations, tf=2)
    assert results["gpu.nvml", 0].verdict is Verdict.FAIL
    assert "fallen off the bus" in results["gpu.nvml", 0].evidence
    assert not any(key[1] == 0 and key[0] != "gpu.nvml" for key in results)
    assert results["gpu.ecc-uncorrected", 1].verdict is Verdict.PASS
    count = results["node.gpu-count", None]
    assert (count.verdict, count.measured, count.expected) == (Verdict.FAIL, 1, 2)
    assert "1 of them unreadable" in count.evidence


def test_an_old_driver_skips_what_it_cannot_say_and_says_why() -> None:
    expectations = Expectations(min_driver="450")
    results = _checks("synthetic-old-driver", expectations=expectations)
    skipped = {key for key, r in results.items() if r.verdict is Verdict.SKIP}
    assert skipped == {
        ("node.gpu-count", None),
        ("gpu.model", None),
        ("gpu.row-remap", 0),
        ("gpu.recovery-action", 0),
        ("gpu.mig", 0),
        ("gpu.processes", 0),
    }
    assert "driver 410.79 has no nvmlDeviceGetMigMode" in results["gpu.mig", 0].evidence
    assert results["gpu.clock-events", 0].verdict is Verdict.PASS  # the old name answered
    driver = results["node.driver-min", None]
    assert driver.verdict is Verdict.FAIL and "450" in (driver.action or "")


def test_a_field_that_cannot_be_read_is_not_a_pass() -> None:
    recording = _recording("synthetic-h100-healthy")
    for call in recording["calls"]:
        if call["fn"] in {"nvmlDeviceGetTotalEccErrors", "nvmlDeviceGetPersistenceMode"}:
            call.pop("result")
            call["error"] = 999  # NVML_ERROR_UNKNOWN
    verdicts = _verdicts(_health(recording))
    assert verdicts["gpu.ecc-uncorrected", 0] == "fail"
    assert verdicts["gpu.persistence", 0] == "warn"


@pytest.mark.parametrize(
    ("fn", "result", "check", "verdict"),
    [
        ("nvmlDeviceGetEccMode", [0, 0], "gpu.ecc-mode", "fail"),
        ("nvmlDeviceGetEccMode", [1, 0], "gpu.ecc-mode", "warn"),
        ("nvmlDeviceGetPersistenceMode", 0, "gpu.persistence", "warn"),
        ("nvmlDeviceGetComputeMode", 2, "gpu.compute-mode", "fail"),
        ("nvmlDeviceGetComputeMode", 3, "gpu.compute-mode", "warn"),
        ("nvmlDeviceGetMigMode", [0, 1], "gpu.mig", "warn"),
        ("nvmlDeviceGetEnforcedPowerLimit", 500000, "gpu.power-limit", "warn"),
        ("nvmlDeviceGetEnforcedPowerLimit", 680000, "gpu.power-limit", "pass"),
        ("nvmlDeviceGetTemperature", 89, "gpu.temperature", "fail"),
        ("nvmlDeviceGetTemperature", 79, "gpu.temperature", "warn"),
        ("nvmlDeviceGetTemperatureThreshold", 0, "gpu.temperature", "skip"),
    ],
)
def test_hygiene_readings(fn: str, result: Any, check: str, verdict: str) -> None:
    assert _verdicts(_edited("synthetic-h100-healthy", fn, result))[check, 0] == verdict


def test_another_process_on_the_gpu_warns() -> None:
    process = {
        "object": "nvmlFriendlyObject",
        "fields": {"pid": 777, "usedGpuMemory": 512 * 1024 * 1024},
    }
    health = _edited("synthetic-h100-healthy", "nvmlDeviceGetGraphicsRunningProcesses", [process])
    result = _checks(health)["gpu.processes", 0]
    assert result.verdict is Verdict.WARN
    assert "pid 777 (graphics, 512 MiB)" in result.evidence


def test_recovery_actions_name_what_to_do() -> None:
    recording = _recording("synthetic-h100-healthy")
    for call in recording["calls"]:
        if call["fn"] == "nvmlDeviceGetFieldValues":
            call["result"][0]["fields"].update(
                nvmlReturn=0, valueType=1, value={"struct": "c_nvmlValue_t", "fields": {"ulVal": 2}}
            )
    result = _checks(_health(recording))["gpu.recovery-action", 0]
    assert (result.verdict, result.measured) == (Verdict.FAIL, 2)
    assert "reboot" in (result.action or "")


# --- identity and expectations -------------------------------------------------------------


def test_wrong_model_memory_count_and_driver_fail() -> None:
    wrong = Expectations(gpu_count=8, gpu_model="A100", memory_gib=40, min_driver="550.54.15")
    verdicts = _verdicts("synthetic-h100-healthy", expectations=wrong)
    assert {k: verdicts[k] for k in verdicts if k[0] in {c for c, _ in _IDENTITY}} == dict(
        _IDENTITY_FAILED
    )


_IDENTITY = (
    ("node.gpu-count", None),
    ("gpu.model", 0),
    ("gpu.memory", 0),
    ("node.driver-min", None),
)
_IDENTITY_FAILED = tuple((key, "fail") for key in _IDENTITY)


def test_memory_without_an_expectation_uses_envkits_gpu_table() -> None:
    results = _checks("synthetic-h100-healthy", expectations=Expectations())
    memory = results["gpu.memory", 0]
    assert memory.verdict is Verdict.PASS
    assert memory.expected == 80 and memory.measured == pytest.approx(79.65, abs=0.01)
    assert results["gpu.model", None].verdict is Verdict.SKIP
    assert results["node.gpu-count", None].verdict is Verdict.SKIP
    smaller = _edited(
        "synthetic-h100-healthy",
        "nvmlDeviceGetMemoryInfo",
        {"struct": "c_nvmlMemory_t", "fields": {"total": 40 * 1024**3, "free": 0, "used": 0}},
    )
    assert _verdicts(smaller, expectations=Expectations())["gpu.memory", 0] == "warn"


def test_an_unparsable_minimum_driver_does_not_pass() -> None:
    verdicts = _verdicts("synthetic-h100-healthy", expectations=Expectations(min_driver="new"))
    assert verdicts["node.driver-min", None] == "fail"


# --- NVML did not start --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["no-library", "driver-not-loaded"])
def test_observed_init_failures_fail_the_node(name: str) -> None:
    results = _checks(name, tf=Unavailable("tf-import-failed", "no TensorFlow"))
    assert list(results) == [
        ("node.nvml", None),
        ("node.xid", None),
        ("node.tensorflow-gpus", None),
    ]
    assert results["node.nvml", None].verdict is Verdict.FAIL
    assert results["node.tensorflow-gpus", None].verdict is Verdict.FAIL


# --- Xid history ---------------------------------------------------------------------------

FALLEN = "[ 812.1] NVRM: Xid (PCI:0000:19:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen"
APP = "[ 900.0] NVRM: Xid (PCI:0000:19:00): 13, pid=1234, name=python, Graphics Exception"
REMAP = "[ 950.0] NVRM: Xid (PCI:0000:19:00): 63, Row remapping event"


def _xid(*lines: str) -> XidHistory:
    return XidHistory("dmesg", "since this boot", parse_xid_lines("\n".join(lines)))


def test_a_critical_xid_fails_and_names_the_gpu() -> None:
    result = _xid_result("synthetic-h100-healthy", _xid(APP, FALLEN))
    assert (result.verdict, result.gpu_index, result.measured) == (Verdict.FAIL, 0, 1)
    assert "Xid 79 x1 on GPU 0 (0000:19:00)" in result.evidence
    assert "RMA" in (result.action or "")


def test_application_xids_pass_and_are_reported() -> None:
    result = _xid_result("synthetic-h100-healthy", _xid(APP, APP))
    assert result.verdict is Verdict.PASS
    assert "Xid 13 x2 on GPU 0" in result.evidence and "[application]" in result.evidence


def test_warning_and_unknown_xids_warn() -> None:
    for line in (REMAP, "[ 1.0] NVRM: Xid (PCI:0000:aa:00): 999, something new"):
        result = _xid_result("synthetic-h100-healthy", _xid(line))
        assert result.verdict is Verdict.WARN
    assert "not an NVML GPU" in result.evidence


def test_an_unreadable_kernel_log_is_skipped_with_its_reason() -> None:
    unreadable = Unavailable("kernel-log-unreadable", "dmesg: Operation not permitted")
    result = _xid_result("synthetic-h100-healthy", unreadable)
    assert (result.verdict, result.evidence) == (Verdict.SKIP, "dmesg: Operation not permitted")


def test_the_xid_table_follows_the_reference() -> None:
    application = {xid for xid, row in XID_TABLE.items() if row.severity == "application"}
    assert application == {13, 31, 43, 45, 68, 109}  # k8s-device-plugin's ignore list
    assert {48, 64, 74, 79, 94, 95, 119, 120} <= {
        xid for xid, row in XID_TABLE.items() if row.severity == "critical"
    }
    assert xid_class(63).severity == xid_class(12345).severity == "warning"


# --- TensorFlow ------------------------------------------------------------------------------


@pytest.mark.parametrize(("tf", "verdict"), [(1, "pass"), (0, "fail"), (None, "skip")])
def test_tensorflow_sees_the_gpus_nvml_sees(tf: int | None, verdict: str) -> None:
    assert _verdicts("synthetic-h100-healthy", tf=tf)["node.tensorflow-gpus", None] == verdict
