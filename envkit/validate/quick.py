"""The quick tier of ``envkit validate``: passive checks over NVML, the kernel log and TensorFlow.

Pure functions: :func:`quick_checks` turns what the probes read (``probe_health``,
``read_xid_history``, the TensorFlow device count) into one :class:`CheckResult` per check and
GPU, reading nothing itself. Thresholds and the Xid table come from the research notes in
/work/shared/reference/gpu-validation.md (sections 2, 2.1 and 6.1); each names its origin.

A reading the GPU or driver does not offer is ``skip`` with the reason; one that exists but could
not be read does not pass (``fail`` for the memory-error checks that decide a node's fate,
``warn`` for hygiene checks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from envkit.knowledge import compare_driver_versions, gpu_model
from envkit.model import Unavailable
from envkit.probes.kernel_log import XidEvent, XidHistory, nvml_bus_key
from envkit.validate.health import GpuHealth, NodeHealth, NotSupported, Reading
from envkit.validate.model import CheckResult, Expectations, Verdict

T = TypeVar("T")
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True, slots=True)
class QuickThresholds:
    retired_pages_fail: int = 63
    """DCGM_LIMIT_MAX_RETIRED_PAGES (NVIDIA/DCGM common/DcgmGPUHardwareLimits.h)."""
    retired_pages_warn: int = 15
    """DCGM's soft limit for retired pages."""
    remapped_uncorrectable_fail: int = 512
    """DCGM_LIMIT_MAX_ROW_REMAP_UNCORRECTABLE; Azure NHC uses the same."""
    ecc_corrected_volatile_warn: int = 50_000_000
    """Meta GCM's ecc_corrected_volatile_total threshold."""
    temperature_margin_warn_c: int = 10
    """envkit's choice: an idle GPU this close to its slowdown temperature warns."""
    power_limit_warn_fraction: float = 0.95
    """Enforced below this fraction of the default power limit: a power-capped instance."""
    memory_tolerance: float = 0.05
    """--expect-memory-gib matches within this fraction (Expectations.memory_gib)."""


# --- the Xid table (reference §2.1) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class XidClass:
    xid: int
    meaning: str
    severity: str
    """critical (the GPU or node is unhealthy: fail), warning, or application (caused by a
    program, not the hardware: reported, passes)."""
    action: str


XID_TABLE_SOURCE = (
    "envkit reference gpu-validation.md §2.1, from NVIDIA/k8s-device-plugin "
    "internal/rm/health.go (application Xids it ignores: 13, 31, 43, 45, 68, 109), "
    "facebookresearch/gcm check_utils/xid_error_codes.py (non-critical: 13, 31, 43, 45, 63, 68, "
    "92, 109), Azure/azurehpc-health-checks customTests/azure_gpu_xid.nhc, and NVIDIA's Xid "
    "catalog (https://docs.nvidia.com/deploy/xid-errors/)"
)

_RESET = "drain the node, then reset the GPU (nvidia-smi -r -i {gpu}) or reboot"
_RMA = "drain the node; reset the GPU, and if it recurs after the reset, replace it (RMA)"
_APP = "none for the node: a program faulted; check that job's own logs"

_XID_ROWS: tuple[tuple[int, str, str, str], ...] = (
    (13, "Graphics engine exception", "application", _APP),
    (31, "GPU memory page fault", "application", _APP),
    (43, "GPU stopped processing", "application", _APP),
    (45, "Preemptive cleanup after previous errors", "application", _APP),
    (68, "NVDEC0 exception", "application", _APP),
    (109, "Context-switch timeout", "application", _APP),
    (48, "Double-bit ECC error", "critical", _RESET + "; see gpu.ecc-uncorrected, gpu.row-remap"),
    (56, "Display engine programming error", "critical", _RESET),
    (57, "Error programming video memory interface", "critical", _RMA),
    (58, "Unstable video memory interface", "critical", _RMA),
    (62, "Internal micro-controller halt", "critical", _RESET),
    (63, "Page retirement or row remap recorded (reset needed)", "warning", _RESET),
    (64, "Page retirement or row remap recording failure", "critical", _RMA),
    (69, "Graphics engine class error", "critical", _RESET),
    (73, "NVENC2 error", "critical", _RESET),
    (74, "NVLink error", "critical", _RESET + "; check links with nvidia-smi nvlink -s"),
    (79, "GPU has fallen off the bus", "critical", _RMA + "; reseat and check power if it repeats"),
    (80, "Corrupted data sent to GPU", "critical", _RESET),
    (81, "VGA subsystem error", "critical", _RESET),
    (92, "High single-bit ECC error rate", "warning", "watch gpu.ecc-uncorrected; " + _RESET),
    (94, "Contained ECC error", "critical", _RESET),
    (95, "Uncontained ECC error", "critical", _RESET),
    (119, "GSP RPC timeout", "critical", _RESET + "; update the driver if it recurs"),
    (120, "GSP error", "critical", _RESET + "; update the driver if it recurs"),
    (154, "GPU recovery action changed", "warning", "see gpu.recovery-action"),
)

XID_TABLE: dict[int, XidClass] = {row[0]: XidClass(*row) for row in _XID_ROWS}


def xid_class(xid: int) -> XidClass:
    """The class of an Xid; one envkit's table does not list is a warning."""
    return XID_TABLE.get(
        xid,
        XidClass(
            xid,
            "not in envkit's table",
            "warning",
            "look it up in NVIDIA's Xid catalog: https://docs.nvidia.com/deploy/xid-errors/",
        ),
    )


# --- entry point -------------------------------------------------------------------------------


def quick_checks(
    health: NodeHealth,
    xids: XidHistory | Unavailable | None,
    expectations: Expectations,
    tf_gpu_count: int | Unavailable | None,
    thresholds: QuickThresholds | None = None,
) -> tuple[CheckResult, ...]:
    """Every quick-tier check, node checks first, then each GPU's in index order.

    ``xids`` None means the kernel log was not asked for; ``tf_gpu_count`` None means TensorFlow
    was not asked (both are then ``skip``); an Unavailable says why it could not be read.
    """
    limits = thresholds or QuickThresholds()
    results = [node_nvml(health)]
    if health.failure is None:
        results += [node_gpu_count(health, expectations), node_driver_min(health, expectations)]
        results += _expectation_skips(expectations)
        for gpu in health.gpus:
            results += gpu_checks(gpu, expectations, limits)
    results += [node_xid(health, xids), node_tensorflow_gpus(health, tf_gpu_count)]
    return tuple(results)


def gpu_checks(
    gpu: GpuHealth, expectations: Expectations, limits: QuickThresholds
) -> list[CheckResult]:
    """One GPU's checks; a GPU NVML cannot read gets only gpu.nvml (fail)."""
    if gpu.error is not None:
        return [gpu_nvml(gpu)]
    found = [gpu_nvml(gpu)]
    if expectations.gpu_model is not None:
        found.append(gpu_model_check(gpu, expectations.gpu_model))
    found.append(gpu_memory(gpu, expectations, limits))
    found += [check(gpu, limits) for check in _GPU_CHECKS]
    return found


# --- helpers -------------------------------------------------------------------------------


def _result(
    check_id: str,
    verdict: Verdict,
    title: str,
    evidence: str,
    gpu: GpuHealth | None = None,
    **extra: Any,
) -> CheckResult:
    index = gpu.index if gpu is not None else None
    return CheckResult(check_id, verdict, title, evidence, gpu_index=index, **extra)


def _not_read(
    check_id: str, what: str, gpu: GpuHealth, reading: object, unreadable: Verdict
) -> CheckResult | None:
    """skip for NotSupported, ``unreadable`` for Unavailable, None for a value."""
    if isinstance(reading, NotSupported):
        return _result(
            check_id, Verdict.SKIP, f"GPU {gpu.index}: {what} not reported", reading.reason, gpu
        )
    if isinstance(reading, Unavailable):
        return _result(
            check_id,
            unreadable,
            f"GPU {gpu.index}: {what} could not be read",
            reading.reason,
            gpu,
            action="run nvidia-smi -q as root to read it by hand",
        )
    return None


def _value(reading: Reading[T]) -> T:
    """The value of a reading that _not_read has already let through."""
    if isinstance(reading, (NotSupported, Unavailable)):
        raise TypeError(f"{reading} reached a check that needs a value")
    return reading


def _name(gpu: GpuHealth) -> str:
    return gpu.identity.name or "unnamed GPU"


# --- node checks -------------------------------------------------------------------------------


def node_nvml(health: NodeHealth) -> CheckResult:
    if health.failure is not None:
        return _result(
            "node.nvml",
            Verdict.FAIL,
            "NVML did not start",
            f"{health.failure.code}: {health.failure.reason}",
            action="drain: no GPU can be checked or used until NVML starts",
        )
    return _result(
        "node.nvml",
        Verdict.PASS,
        f"NVML started: driver {health.driver_version}, {len(health.gpus)} GPU(s)",
        f"driver {health.driver_version}, CUDA driver API {health.cuda_driver_version or '?'}",
        measured=len(health.gpus),
        unit="GPUs",
    )


def node_gpu_count(health: NodeHealth, expectations: Expectations) -> CheckResult:
    listed = len(health.gpus)
    usable = sum(1 for gpu in health.gpus if gpu.error is None)
    lost = f", {listed - usable} of them unreadable" if usable < listed else ""
    seen = f"NVML lists {listed} GPU(s){lost}"
    expected = expectations.gpu_count
    if expected is None:
        if usable == 0:
            return _result(
                "node.gpu-count",
                Verdict.FAIL,
                "No usable GPU",
                seen,
                measured=usable,
                unit="GPUs",
                action="drain",
            )
        return _result(
            "node.gpu-count",
            Verdict.SKIP,
            f"{usable} GPU(s); no count expected",
            f"{seen}; pass --expect-gpus N to check the count",
            measured=usable,
            unit="GPUs",
        )
    if usable == expected:
        return _result(
            "node.gpu-count",
            Verdict.PASS,
            f"{usable} GPU(s), as expected",
            f"{seen}; expected {expected}",
            measured=usable,
            expected=expected,
            unit="GPUs",
        )
    return _result(
        "node.gpu-count",
        Verdict.FAIL,
        f"{usable} usable GPU(s), expected {expected}",
        f"{seen}; expected {expected}",
        measured=usable,
        expected=expected,
        unit="GPUs",
        action="drain; check the kernel log for Xid 79 and lspci | grep -i nvidia for a missing "
        "GPU, then reboot or replace the instance",
    )


def node_driver_min(health: NodeHealth, expectations: Expectations) -> CheckResult:
    minimum, driver = expectations.min_driver, health.driver_version or ""
    if minimum is None:
        return _result(
            "node.driver-min",
            Verdict.SKIP,
            f"Driver {driver}; no minimum asked",
            "pass --min-driver VERSION to check it",
        )
    try:
        order = compare_driver_versions(driver, minimum)
    except ValueError as error:
        return _result(
            "node.driver-min",
            Verdict.FAIL,
            f"Driver {driver!r} could not be compared with {minimum!r}",
            str(error),
        )
    if order >= 0:
        return _result(
            "node.driver-min",
            Verdict.PASS,
            f"Driver {driver} >= {minimum}",
            f"driver {driver}, minimum {minimum}",
        )
    return _result(
        "node.driver-min",
        Verdict.FAIL,
        f"Driver {driver} is older than {minimum}",
        f"driver {driver}, minimum {minimum}",
        action=f"install NVIDIA driver {minimum} or newer and reboot, or use a newer image",
    )


def _expectation_skips(expectations: Expectations) -> list[CheckResult]:
    if expectations.gpu_model is not None:
        return []
    return [
        _result(
            "gpu.model",
            Verdict.SKIP,
            "GPU model not checked",
            "pass --expect-gpu-model TEXT (e.g. H100) to check each GPU's name",
        )
    ]


def node_tensorflow_gpus(health: NodeHealth, tf_gpu_count: int | Unavailable | None) -> CheckResult:
    check = "node.tensorflow-gpus"
    if tf_gpu_count is None:
        return _result(check, Verdict.SKIP, "TensorFlow not asked", "no target environment given")
    if isinstance(tf_gpu_count, Unavailable):
        return _result(
            check,
            Verdict.FAIL,
            "TensorFlow's GPU list could not be read",
            f"{tf_gpu_count.code}: {tf_gpu_count.reason}",
            action="run envkit doctor on the target environment",
        )
    nvml_count = len(health.gpus) if health.failure is None else 0
    mig = any(gpu.error is None and _mig_on(gpu) for gpu in health.gpus)
    note = "; MIG is on, so TensorFlow sees MIG instances" if mig else ""
    evidence = f"TensorFlow sees {tf_gpu_count}, NVML {nvml_count}{note}"
    if tf_gpu_count == nvml_count and nvml_count > 0:
        return _result(
            check,
            Verdict.PASS,
            f"TensorFlow sees the {nvml_count} GPU(s) NVML sees",
            evidence,
            measured=tf_gpu_count,
            expected=nvml_count,
            unit="GPUs",
        )
    return _result(
        check,
        Verdict.FAIL,
        f"TensorFlow sees {tf_gpu_count} GPU(s), NVML {nvml_count}",
        evidence + "; CUDA_VISIBLE_DEVICES in the target environment also hides GPUs",
        measured=tf_gpu_count,
        expected=nvml_count,
        unit="GPUs",
        action="run envkit doctor on the target environment (CUDA libraries, TensorFlow build)",
    )


def _mig_on(gpu: GpuHealth) -> bool:
    mode = gpu.mig_mode
    return not isinstance(mode, (NotSupported, Unavailable)) and mode.current


def node_xid(health: NodeHealth, xids: XidHistory | Unavailable | None) -> CheckResult:
    if xids is None:
        return _result("node.xid", Verdict.SKIP, "Kernel log not read", "not asked")
    if isinstance(xids, Unavailable):
        return _result("node.xid", Verdict.SKIP, "Kernel log unreadable", xids.reason)
    gpus = _gpu_by_bus(health)
    classes = [(event, xid_class(event.xid)) for event in xids.events]
    critical = [event for event, found in classes if found.severity == "critical"]
    warning = [event for event, found in classes if found.severity == "warning"]
    where = f"{xids.source}, {xids.window}"
    if not xids.events:
        return _result("node.xid", Verdict.PASS, "No Xid errors", f"none in {where}")
    evidence = f"{_xid_summary(xids.events, gpus)} ({where}; classes: {XID_TABLE_SOURCE})"
    worst = critical or warning
    if not worst:
        return _result(
            "node.xid",
            Verdict.PASS,
            f"Only application Xids ({len(xids.events)})",
            evidence,
            measured=0,
            unit="critical Xids",
        )
    affected = {gpus.get(event.pci_bus_id) for event in worst}
    first = xid_class(worst[0].xid)
    gpu_index = affected.pop() if len(affected) == 1 else None
    return CheckResult(
        "node.xid",
        Verdict.FAIL if critical else Verdict.WARN,
        f"{len(critical)} critical, {len(warning)} other Xid error(s) since boot",
        evidence,
        gpu_index=gpu_index,
        measured=len(critical),
        unit="critical Xids",
        action=first.action.format(gpu=gpu_index if gpu_index is not None else "N"),
    )


def _gpu_by_bus(health: NodeHealth) -> dict[str, int]:
    found: dict[str, int] = {}
    for gpu in health.gpus:
        key = nvml_bus_key(gpu.identity.pci_bus_id or "")
        if key is not None:
            found[key] = gpu.index
    return found


def _xid_summary(events: Iterable[XidEvent], gpus: dict[str, int], limit: int = 6) -> str:
    groups: dict[tuple[int, str], list[XidEvent]] = {}
    for event in events:
        groups.setdefault((event.xid, event.pci_bus_id), []).append(event)
    parts = []
    for (xid, bus), group in groups.items():
        known = xid_class(xid)
        index = gpus.get(bus)
        gpu = f"GPU {index} ({bus})" if index is not None else f"{bus} (not an NVML GPU)"
        last = group[-1]
        parts.append(
            f"Xid {xid} x{len(group)} on {gpu}: {known.meaning} [{known.severity}]; "
            f"last {last.when or 'time unknown'}: {last.message[:120]}"
        )
    more = f"; and {len(parts) - limit} more kinds" if len(parts) > limit else ""
    return "; ".join(parts[:limit]) + more


# --- per-GPU checks ----------------------------------------------------------------------------


def gpu_nvml(gpu: GpuHealth) -> CheckResult:
    if gpu.error is not None:
        return _result(
            "gpu.nvml",
            Verdict.FAIL,
            f"GPU {gpu.index} cannot be read",
            f"{gpu.error.code}: {gpu.error.reason}",
            gpu,
            action=_RMA.replace("reset the GPU", f"reset the GPU (nvidia-smi -r -i {gpu.index})"),
        )
    identity = gpu.identity
    return _result(
        "gpu.nvml",
        Verdict.PASS,
        f"GPU {gpu.index}: {_name(gpu)}",
        f"bus {identity.pci_bus_id}, {identity.uuid}",
        gpu,
    )


def gpu_model_check(gpu: GpuHealth, expected: str) -> CheckResult:
    name = gpu.identity.name
    if name is not None and expected.lower() in name.lower():
        return _result(
            "gpu.model", Verdict.PASS, f"GPU {gpu.index}: {name}", f"contains {expected!r}", gpu
        )
    return _result(
        "gpu.model",
        Verdict.FAIL,
        f"GPU {gpu.index}: {name or 'name unreadable'}, expected {expected}",
        f"NVML name {name!r} does not contain {expected!r}",
        gpu,
        action="this is not the GPU model ordered: release the instance or fix the instance type",
    )


def gpu_memory(gpu: GpuHealth, expectations: Expectations, limits: QuickThresholds) -> CheckResult:
    total = gpu.identity.memory_total_bytes
    if total is None:
        return _result(
            "gpu.memory",
            Verdict.FAIL,
            f"GPU {gpu.index}: memory size unreadable",
            "nvmlDeviceGetMemoryInfo gave no answer",
            gpu,
        )
    gib = total / GIB
    if expectations.memory_gib is not None:
        return _memory_against(gpu, gib, expectations.memory_gib, limits.memory_tolerance)
    model = gpu_model(gpu.identity.name or "")
    if model is None:
        return _result(
            "gpu.memory",
            Verdict.SKIP,
            f"GPU {gpu.index}: {gib:.1f} GiB; model unknown",
            f"{_name(gpu)} is not in envkit's GPU table; pass --expect-memory-gib N to check",
            gpu,
            measured=round(gib, 2),
            unit="GiB",
        )
    matches = model.memory_matches(total)
    return _result(
        "gpu.memory",
        Verdict.PASS if matches else Verdict.WARN,
        f"GPU {gpu.index}: {gib:.1f} GiB" + ("" if matches else f", not {model.memory_gb:g} GB"),
        f"{model.name} has {model.memory_gb:g} GB nominal; NVML total {gib:.2f} GiB "
        "(within 8 % passes)",
        gpu,
        measured=round(gib, 2),
        expected=model.memory_gb,
        unit="GiB",
    )


def _memory_against(gpu: GpuHealth, gib: float, expected: float, tolerance: float) -> CheckResult:
    ok = abs(gib - expected) <= expected * tolerance
    return _result(
        "gpu.memory",
        Verdict.PASS if ok else Verdict.FAIL,
        f"GPU {gpu.index}: {gib:.1f} GiB" + ("" if ok else f", expected {expected:g} GiB"),
        f"NVML total {gib:.2f} GiB, expected {expected:g} GiB within {tolerance:.0%}",
        gpu,
        measured=round(gib, 2),
        expected=expected,
        unit="GiB",
        action=None if ok else "this is not the GPU memory size ordered: check the instance type",
    )


def gpu_ecc_mode(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, mode = "gpu.ecc-mode", gpu.ecc_mode
    if (skipped := _not_read(check, "ECC mode", gpu, mode, Verdict.FAIL)) is not None:
        return skipped
    mode = _value(mode)
    evidence = f"current {_on(mode.current)}, pending {_on(mode.pending)}"
    if not mode.current:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: ECC is off",
            evidence,
            gpu,
            action=f"sudo nvidia-smi -i {gpu.index} -e 1, then reboot",
        )
    if mode.pending != mode.current:
        return _result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: ECC turns {_on(mode.pending)} at the next reboot",
            evidence,
            gpu,
        )
    return _result(check, Verdict.PASS, f"GPU {gpu.index}: ECC on", evidence, gpu)


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def gpu_ecc_uncorrected(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, errors = "gpu.ecc-uncorrected", gpu.ecc_uncorrected_volatile
    if (skipped := _not_read(check, "volatile ECC counts", gpu, errors, Verdict.FAIL)) is not None:
        return skipped
    corrected = gpu.ecc_corrected_volatile
    corrected_count = corrected if isinstance(corrected, int) else None
    evidence = f"volatile uncorrected {errors}, corrected {_text(corrected)} (since driver load)"
    errors = _value(errors)
    if errors > 0:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {errors} uncorrected ECC error(s)",
            evidence,
            gpu,
            measured=errors,
            expected=0,
            unit="errors",
            action=_RESET.format(gpu=gpu.index) + "; if errors return, replace it (RMA)",
        )
    if corrected_count is not None and corrected_count > limits.ecc_corrected_volatile_warn:
        return _result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: {corrected_count} corrected ECC errors",
            f"{evidence}; warns above {limits.ecc_corrected_volatile_warn} (Meta GCM)",
            gpu,
            measured=errors,
            unit="errors",
        )
    return _result(
        check,
        Verdict.PASS,
        f"GPU {gpu.index}: no uncorrected ECC errors",
        evidence,
        gpu,
        measured=0,
        unit="errors",
    )


def _text(reading: object) -> str:
    if isinstance(reading, NotSupported):
        return "not reported"
    if isinstance(reading, Unavailable):
        return "unreadable"
    return str(reading)


def gpu_retired_pages(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, pages = "gpu.retired-pages", gpu.retired_pages
    if isinstance(pages, NotSupported):
        reason = f"{pages.reason} (Ampere and later GPUs remap rows instead: see gpu.row-remap)"
        return _result(check, Verdict.SKIP, f"GPU {gpu.index}: no page retirement", reason, gpu)
    if (skipped := _not_read(check, "retired pages", gpu, pages, Verdict.FAIL)) is not None:
        return skipped
    pages = _value(pages)
    evidence = (
        f"{pages.single_bit} single-bit + {pages.double_bit} double-bit = {pages.total} retired, "
        f"pending {'yes' if pages.pending else 'no'}; fails at {limits.retired_pages_fail} "
        f"(DCGM), warns at {limits.retired_pages_warn}"
    )
    extra: dict[str, Any] = {"measured": pages.total, "unit": "pages", "gpu": gpu}
    if pages.pending:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: a page waits for retirement",
            evidence,
            action=_RESET.format(gpu=gpu.index) + " so the page is retired",
            **extra,
        )
    if pages.total >= limits.retired_pages_fail:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {pages.total} pages retired",
            evidence,
            action="drain the node and replace the GPU (RMA)",
            **extra,
        )
    verdict = Verdict.WARN if pages.total >= limits.retired_pages_warn else Verdict.PASS
    title = f"GPU {gpu.index}: {pages.total} pages retired, none pending"
    return _result(check, verdict, title, evidence, **extra)


def gpu_row_remap(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, rows = "gpu.row-remap", gpu.remapped_rows
    if isinstance(rows, NotSupported):
        reason = (
            f"{rows.reason} (GPUs before Ampere retire pages instead; a MIG-enabled GPU with "
            "active instances does not report remaps)"
        )
        return _result(check, Verdict.SKIP, f"GPU {gpu.index}: row remap not reported", reason, gpu)
    if (skipped := _not_read(check, "row remapping", gpu, rows, Verdict.FAIL)) is not None:
        return skipped
    rows = _value(rows)
    evidence = (
        f"remapped rows: {rows.correctable} correctable, {rows.uncorrectable} uncorrectable, "
        f"pending {'yes' if rows.pending else 'no'}, failure {'yes' if rows.failure else 'no'}"
    )
    extra: dict[str, Any] = {"measured": rows.uncorrectable, "unit": "rows", "gpu": gpu}
    if rows.failure:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: row remapping failed",
            evidence,
            action="drain the node and replace the GPU (RMA): it has no spare rows left",
            **extra,
        )
    if rows.pending:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: a row remap waits for a GPU reset",
            evidence,
            action=_RESET.format(gpu=gpu.index),
            **extra,
        )
    if rows.uncorrectable >= limits.remapped_uncorrectable_fail:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {rows.uncorrectable} rows remapped for uncorrectable errors",
            f"{evidence}; fails at {limits.remapped_uncorrectable_fail} (DCGM)",
            action="drain the node and replace the GPU (RMA)",
            **extra,
        )
    return _result(check, Verdict.PASS, f"GPU {gpu.index}: no remap pending", evidence, **extra)


_RECOVERY_ACTIONS: dict[int, tuple[str, str]] = {
    1: ("GPU reset", "drain the node, then reset the GPU: nvidia-smi -r -i {gpu}"),
    2: ("node reboot", "drain the node, then reboot it"),
    3: ("drain peer-to-peer", "stop multi-GPU jobs on this node, then reset the GPU"),
    4: ("drain and reset", "drain the node, then reset the GPU: nvidia-smi -r -i {gpu}"),
    5: ("recover IMEX domain", "drain the node and restart the IMEX domain"),
    6: ("bus reset", "drain the node, then reset the GPU's PCIe bus (or reboot)"),
    7: ("system reboot", "drain the node, then reboot it"),
}


def gpu_recovery_action(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, action = "gpu.recovery-action", gpu.recovery_action
    if (skipped := _not_read(check, "recovery action", gpu, action, Verdict.FAIL)) is not None:
        return skipped
    value = int(_value(action))
    if value == 0:
        return _result(
            check, Verdict.PASS, f"GPU {gpu.index}: no recovery action", "NVML: none", gpu
        )
    name, todo = _RECOVERY_ACTIONS.get(value, (f"action {value}", "drain the node and reboot"))
    return _result(
        check,
        Verdict.FAIL,
        f"GPU {gpu.index}: the driver asks for a {name}",
        f"NVML GPU recovery action {value} ({name})",
        gpu,
        measured=value,
        expected=0,
        action=todo.format(gpu=gpu.index),
    )


CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "GPU idle",
    0x2: "applications clocks setting",
    0x4: "SW power cap",
    0x8: "HW slowdown",
    0x10: "sync boost",
    0x20: "SW thermal slowdown",
    0x40: "HW thermal slowdown",
    0x80: "HW power brake slowdown",
    0x100: "display clock setting",
}
"""nvmlClocksEventReason* bits (nvml.h; reference §2 row 8)."""
_CLOCK_FAIL = 0x8 | 0x40 | 0x80
_CLOCK_WARN = 0x20


def gpu_clock_events(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, reasons = "gpu.clock-events", gpu.clock_event_reasons
    if (skipped := _not_read(check, "clock event reasons", gpu, reasons, Verdict.WARN)) is not None:
        return skipped
    mask = int(_value(reasons))
    active = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit] or ["none"]
    evidence = f"active: {', '.join(active)} (mask {mask:#x})"
    if mask & _CLOCK_FAIL:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: hardware is slowing the clocks down",
            evidence,
            gpu,
            measured=mask,
            action="drain; check cooling and power delivery (nvidia-smi -q -d PERFORMANCE,"
            "TEMPERATURE,POWER); reseat power cables or replace the GPU if it persists",
        )
    if mask & _CLOCK_WARN:
        return _result(
            check, Verdict.WARN, f"GPU {gpu.index}: thermal slowdown", evidence, gpu, measured=mask
        )
    return _result(
        check, Verdict.PASS, f"GPU {gpu.index}: no hardware slowdown", evidence, gpu, measured=mask
    )


def gpu_pcie_link(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, link = "gpu.pcie-link", gpu.pcie
    for reading in (link.current_width, link.max_width):
        if (skipped := _not_read(check, "PCIe link width", gpu, reading, Verdict.WARN)) is not None:
            return skipped
    width, max_width = int(_value(link.current_width)), int(_value(link.max_width))
    evidence = (
        f"width x{width} of x{max_width}; generation {_text(link.current_generation)} now, "
        f"{_text(link.max_generation)} max with this slot, {_text(link.gpu_max_generation)} GPU "
        "max (the current generation drops at idle by design, so it is not judged here)"
    )
    extra: dict[str, Any] = {"measured": width, "expected": max_width, "unit": "lanes", "gpu": gpu}
    if width < max_width:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: PCIe link at x{width} of x{max_width}",
            evidence,
            action="drain; reseat the GPU or riser, or move it to another slot",
            **extra,
        )
    slot, gpu_max = link.max_generation, link.gpu_max_generation
    if isinstance(slot, int) and isinstance(gpu_max, int) and slot < gpu_max:
        return _result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: slot allows PCIe Gen{slot}, the GPU Gen{gpu_max}",
            evidence,
            action="host-to-GPU copies run at the slot's generation; check BIOS PCIe settings",
            **extra,
        )
    if max_width < 16:
        return _result(
            check, Verdict.WARN, f"GPU {gpu.index}: the slot gives x{max_width}", evidence, **extra
        )
    return _result(check, Verdict.PASS, f"GPU {gpu.index}: PCIe x{width}", evidence, **extra)


def gpu_persistence(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, mode = "gpu.persistence", gpu.persistence_mode
    if (skipped := _not_read(check, "persistence mode", gpu, mode, Verdict.WARN)) is not None:
        return skipped
    if _value(mode):
        return _result(check, Verdict.PASS, f"GPU {gpu.index}: persistence mode on", "on", gpu)
    return _result(
        check,
        Verdict.WARN,
        f"GPU {gpu.index}: persistence mode off",
        "off: the driver tears down between jobs, so each job starts slower",
        gpu,
        action="sudo systemctl enable --now nvidia-persistenced (or sudo nvidia-smi -pm 1)",
    )


def gpu_mig(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, mode = "gpu.mig", gpu.mig_mode
    if (skipped := _not_read(check, "MIG mode", gpu, mode, Verdict.WARN)) is not None:
        return skipped
    mode = _value(mode)
    evidence = f"current {_on(mode.current)}, pending {_on(mode.pending)}"
    if mode.current:
        return _result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: MIG is on",
            evidence + "; TensorFlow sees MIG instances, not the whole GPU",
            gpu,
            action=f"for the whole GPU: sudo nvidia-smi -i {gpu.index} -mig 0, then reset it",
        )
    if mode.pending:
        return _result(
            check, Verdict.WARN, f"GPU {gpu.index}: MIG turns on at the next reset", evidence, gpu
        )
    return _result(check, Verdict.PASS, f"GPU {gpu.index}: MIG off", evidence, gpu)


_COMPUTE_MODES = {0: "Default", 1: "Exclusive_Thread", 2: "Prohibited", 3: "Exclusive_Process"}


def gpu_compute_mode(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, mode = "gpu.compute-mode", gpu.compute_mode
    if (skipped := _not_read(check, "compute mode", gpu, mode, Verdict.WARN)) is not None:
        return skipped
    value = int(_value(mode))
    name = _COMPUTE_MODES.get(value, str(value))
    fix = f"sudo nvidia-smi -i {gpu.index} -c DEFAULT"
    if value == 0:
        return _result(check, Verdict.PASS, f"GPU {gpu.index}: compute mode Default", name, gpu)
    if value == 2:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: compute is prohibited",
            f"compute mode {name}: no CUDA context can be created",
            gpu,
            action=fix,
        )
    return _result(
        check,
        Verdict.WARN,
        f"GPU {gpu.index}: compute mode {name}",
        f"compute mode {name}: one process at a time, so multi-process jobs fail",
        gpu,
        action=fix,
    )


def gpu_processes(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, processes = "gpu.processes", gpu.processes
    if (skipped := _not_read(check, "process list", gpu, processes, Verdict.WARN)) is not None:
        return skipped
    processes = _value(processes)
    if not processes:
        return _result(check, Verdict.PASS, f"GPU {gpu.index}: idle", "no processes", gpu)
    listed = ", ".join(
        f"pid {proc.pid} ({proc.kind}, "
        + (f"{proc.used_memory_bytes / MIB:.0f} MiB)" if proc.used_memory_bytes else "memory ?)")
        for proc in processes
    )
    return _result(
        check,
        Verdict.WARN,
        f"GPU {gpu.index}: {len(processes)} other process(es)",
        listed + " (host pids; a container may not see them)",
        gpu,
        measured=len(processes),
        expected=0,
        unit="processes",
        action="stop them or use another node: they share the GPU's memory and time",
    )


def gpu_power_limit(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, enforced, default = "gpu.power-limit", gpu.power_limit_w, gpu.default_power_limit_w
    for reading in (enforced, default):
        if (skipped := _not_read(check, "power limit", gpu, reading, Verdict.WARN)) is not None:
            return skipped
    watts, full = float(_value(enforced)), float(_value(default))
    evidence = f"enforced {watts:g} W, default {full:g} W"
    extra: dict[str, Any] = {"measured": watts, "expected": full, "unit": "W", "gpu": gpu}
    if watts < full * limits.power_limit_warn_fraction:
        return _result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: power capped at {watts:g} W of {full:g} W",
            f"{evidence}; warns below {limits.power_limit_warn_fraction:.0%} of the default",
            action=f"sudo nvidia-smi -i {gpu.index} -pl {full:g}, or ask the provider",
            **extra,
        )
    return _result(
        check, Verdict.PASS, f"GPU {gpu.index}: power limit {watts:g} W", evidence, **extra
    )


def gpu_temperature(gpu: GpuHealth, limits: QuickThresholds) -> CheckResult:
    check, now, slowdown = "gpu.temperature", gpu.temperature_c, gpu.slowdown_temperature_c
    for reading in (now, slowdown):
        if (skipped := _not_read(check, "temperature", gpu, reading, Verdict.WARN)) is not None:
            return skipped
    celsius, limit = int(_value(now)), int(_value(slowdown))
    extra: dict[str, Any] = {"measured": celsius, "expected": limit, "unit": "C", "gpu": gpu}
    if limit <= 0:
        return _result(
            check,
            Verdict.SKIP,
            f"GPU {gpu.index}: {celsius} C; no usable slowdown threshold",
            f"the driver reports a slowdown threshold of {limit} C",
            **extra,
        )
    evidence = (
        f"{celsius} C, slowdown at {limit} C; warns within {limits.temperature_margin_warn_c} C"
    )
    if celsius >= limit:
        return _result(
            check,
            Verdict.FAIL,
            f"GPU {gpu.index}: {celsius} C, at its slowdown temperature",
            evidence,
            action="drain; check the node's cooling (fans, airflow, inlet temperature)",
            **extra,
        )
    if celsius >= limit - limits.temperature_margin_warn_c:
        return _result(
            check,
            Verdict.WARN,
            f"GPU {gpu.index}: {celsius} C, near its slowdown temperature",
            evidence,
            action="check the node's cooling before long jobs",
            **extra,
        )
    return _result(check, Verdict.PASS, f"GPU {gpu.index}: {celsius} C", evidence, **extra)


_GPU_CHECKS: tuple[Callable[[GpuHealth, QuickThresholds], CheckResult], ...] = (
    gpu_ecc_mode,
    gpu_ecc_uncorrected,
    gpu_retired_pages,
    gpu_row_remap,
    gpu_recovery_action,
    gpu_clock_events,
    gpu_pcie_link,
    gpu_persistence,
    gpu_mig,
    gpu_compute_mode,
    gpu_processes,
    gpu_power_limit,
    gpu_temperature,
)

CHECK_IDS: tuple[str, ...] = (
    "node.nvml",
    "node.gpu-count",
    "node.driver-min",
    "gpu.nvml",
    "gpu.model",
    "gpu.memory",
    "gpu.ecc-mode",
    "gpu.ecc-uncorrected",
    "gpu.retired-pages",
    "gpu.row-remap",
    "gpu.recovery-action",
    "gpu.clock-events",
    "gpu.pcie-link",
    "gpu.persistence",
    "gpu.mig",
    "gpu.compute-mode",
    "gpu.processes",
    "gpu.power-limit",
    "gpu.temperature",
    "node.xid",
    "node.tensorflow-gpus",
)
"""Every id quick_checks can return, in the order it returns them."""


__all__ = [
    "CHECK_IDS",
    "CLOCK_EVENT_REASONS",
    "XID_TABLE",
    "XID_TABLE_SOURCE",
    "QuickThresholds",
    "XidClass",
    "gpu_checks",
    "quick_checks",
    "xid_class",
]
