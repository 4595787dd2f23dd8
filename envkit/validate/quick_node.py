"""The node-wide checks: NVML, GPU count, driver, Xid history (quick tier) and TensorFlow's
GPU list (default tier)."""

from __future__ import annotations

from collections.abc import Iterable

from envkit.knowledge import compare_driver_versions
from envkit.model import Unavailable
from envkit.model_health import GpuHealth, NodeHealth, NotSupported
from envkit.probes.kernel_log import XidEvent, XidHistory, nvml_bus_key
from envkit.probes.tf_devices import TfGpuList
from envkit.records import record
from envkit.validate.catalog import node_check
from envkit.validate.model import CheckResult, Expectations, Tier, Verdict
from envkit.validate.quick_common import (
    RESET_ACTION,
    RMA_ACTION,
    make_result,
)

# --- the Xid table (reference §2.1) ----------------------------------------------------------


@record
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

_APP = "none for the node: a program faulted; check that job's own logs"

_XID_ROWS: tuple[tuple[int, str, str, str], ...] = (
    (13, "Graphics engine exception", "application", _APP),
    (31, "GPU memory page fault", "application", _APP),
    (43, "GPU stopped processing", "application", _APP),
    (45, "Preemptive cleanup after previous errors", "application", _APP),
    (68, "NVDEC0 exception", "application", _APP),
    (109, "Context-switch timeout", "application", _APP),
    (
        48,
        "Double-bit ECC error",
        "critical",
        RESET_ACTION + "; see gpu.ecc-uncorrected, gpu.row-remap",
    ),
    (56, "Display engine programming error", "critical", RESET_ACTION),
    (57, "Error programming video memory interface", "critical", RMA_ACTION),
    (58, "Unstable video memory interface", "critical", RMA_ACTION),
    (62, "Internal micro-controller halt", "critical", RESET_ACTION),
    (63, "Page retirement or row remap recorded (reset needed)", "warning", RESET_ACTION),
    (64, "Page retirement or row remap recording failure", "critical", RMA_ACTION),
    (69, "Graphics engine class error", "critical", RESET_ACTION),
    (73, "NVENC2 error", "critical", RESET_ACTION),
    (74, "NVLink error", "critical", RESET_ACTION + "; check links with `nvidia-smi nvlink -s`"),
    (
        79,
        "GPU has fallen off the bus",
        "critical",
        RMA_ACTION + "; reseat and check power if it repeats",
    ),
    (80, "Corrupted data sent to GPU", "critical", RESET_ACTION),
    (81, "VGA subsystem error", "critical", RESET_ACTION),
    (92, "High single-bit ECC error rate", "warning", "watch gpu.ecc-uncorrected; " + RESET_ACTION),
    (94, "Contained ECC error", "critical", RESET_ACTION),
    (95, "Uncontained ECC error", "critical", RESET_ACTION),
    (119, "GSP RPC timeout", "critical", RESET_ACTION + "; update the driver if it recurs"),
    (120, "GSP error", "critical", RESET_ACTION + "; update the driver if it recurs"),
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


# --- node checks -------------------------------------------------------------------------------


@node_check(
    "node.nvml",
    "NVML starts and lists the GPUs (driver installed, loaded, library and module match).",
)
def node_nvml(health: NodeHealth) -> CheckResult:
    if health.failure is not None:
        return make_result(
            "node.nvml",
            Verdict.FAIL,
            "NVML did not start",
            f"{health.failure.code}: {health.failure.reason}",
            action="drain: no GPU can be checked or used until NVML starts",
        )
    return make_result(
        "node.nvml",
        Verdict.PASS,
        f"NVML started: driver {health.driver_version}, {len(health.gpus)} GPU(s)",
        f"driver {health.driver_version}, CUDA driver API {health.cuda_driver_version or '?'}",
        measured=len(health.gpus),
        unit="GPUs",
    )


@node_check("node.gpu-count", "NVML lists as many GPUs as --expect-gpus.")
def node_gpu_count(health: NodeHealth, expectations: Expectations) -> CheckResult:
    listed = len(health.gpus)
    usable = sum(1 for gpu in health.gpus if gpu.error is None)
    lost = f", {listed - usable} of them unreadable" if usable < listed else ""
    seen = f"NVML lists {listed} GPU(s){lost}"
    expected = expectations.gpu_count
    if expected is None:
        if usable == 0:
            return make_result(
                "node.gpu-count",
                Verdict.FAIL,
                "No usable GPU",
                seen,
                measured=usable,
                unit="GPUs",
                action="drain",
            )
        return make_result(
            "node.gpu-count",
            Verdict.SKIP,
            f"{usable} GPU(s); no count expected",
            f"{seen}; pass --expect-gpus N to check the count",
            measured=usable,
            unit="GPUs",
        )
    if usable == expected:
        return make_result(
            "node.gpu-count",
            Verdict.PASS,
            f"{usable} GPU(s), as expected",
            f"{seen}; expected {expected}",
            measured=usable,
            expected=expected,
            unit="GPUs",
        )
    return make_result(
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


@node_check("node.driver-min", "The driver is at least --min-driver.")
def node_driver_min(health: NodeHealth, expectations: Expectations) -> CheckResult:
    minimum, driver = expectations.min_driver, health.driver_version or ""
    if minimum is None:
        return make_result(
            "node.driver-min",
            Verdict.SKIP,
            f"Driver {driver}; no minimum asked",
            "pass --min-driver VERSION to check it",
        )
    try:
        order = compare_driver_versions(driver, minimum)
    except ValueError as error:
        return make_result(
            "node.driver-min",
            Verdict.FAIL,
            f"Driver {driver!r} could not be compared with {minimum!r}",
            str(error),
        )
    if order >= 0:
        return make_result(
            "node.driver-min",
            Verdict.PASS,
            f"Driver {driver} >= {minimum}",
            f"driver {driver}, minimum {minimum}",
        )
    return make_result(
        "node.driver-min",
        Verdict.FAIL,
        f"Driver {driver} is older than {minimum}",
        f"driver {driver}, minimum {minimum}",
        action=f"install NVIDIA driver {minimum} or newer and reboot, or use a newer image",
    )


def expectation_skips(expectations: Expectations) -> list[CheckResult]:
    if expectations.gpu_model is not None:
        return []
    return [
        make_result(
            "gpu.model",
            Verdict.SKIP,
            "GPU model not checked",
            "pass --expect-gpu-model TEXT (e.g. H100) to check each GPU's name",
        )
    ]


@node_check(
    "node.xid",
    "The kernel log holds no Xid error that calls for a reset, a reboot or an RMA.",
    after_gpus=True,
)
def node_xid(health: NodeHealth, xids: XidHistory | Unavailable | None) -> CheckResult:
    if xids is None:
        return make_result("node.xid", Verdict.SKIP, "Kernel log not read", "not asked")
    if isinstance(xids, Unavailable):
        return make_result("node.xid", Verdict.SKIP, "Kernel log unreadable", xids.reason)
    gpus = _gpu_by_bus(health)
    classes = [(event, xid_class(event.xid)) for event in xids.events]
    critical = [event for event, found in classes if found.severity == "critical"]
    warning = [event for event, found in classes if found.severity == "warning"]
    where = f"{xids.source}, {xids.window}"
    if not xids.events:
        return make_result("node.xid", Verdict.PASS, "No Xid errors", f"none in {where}")
    evidence = f"{_xid_summary(xids.events, gpus)} ({where}; classes: {XID_TABLE_SOURCE})"
    worst = critical or warning
    if not worst:
        return make_result(
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


@node_check(
    "node.tensorflow-gpus",
    "TensorFlow in the target environment sees every GPU NVML lists (imports TensorFlow there).",
    tier=Tier.DEFAULT,
)
def node_tensorflow_gpus(
    health: NodeHealth, tf_gpus: TfGpuList | Unavailable | None
) -> CheckResult:
    """Run by the default tier only: importing TensorFlow costs seconds and, on a GPU node, a
    CUDA context on every GPU, which the passive quick tier must not take from a running job."""
    check = "node.tensorflow-gpus"
    if tf_gpus is None:
        return make_result(
            check, Verdict.SKIP, "TensorFlow not asked", "no target environment given"
        )
    if isinstance(tf_gpus, Unavailable):
        return make_result(
            check,
            Verdict.FAIL,
            "TensorFlow's GPU list could not be read",
            f"{tf_gpus.code}: {tf_gpus.reason}",
            action="run envkit doctor on the target environment",
        )
    seen = tf_gpus.gpus
    nvml_count = len(health.gpus) if health.failure is None else 0
    mig = any(gpu.error is None and _mig_on(gpu) for gpu in health.gpus)
    notes = ["MIG is on, so TensorFlow sees MIG instances"] if mig else []
    notes += _visible_devices_notes(tf_gpus)
    evidence = "; ".join([f"TensorFlow sees {seen}, NVML {nvml_count}", *notes])
    if seen == nvml_count and nvml_count > 0:
        return make_result(
            check,
            Verdict.PASS,
            f"TensorFlow sees the {nvml_count} GPU(s) NVML sees",
            evidence,
            measured=seen,
            expected=nvml_count,
            unit="GPUs",
        )
    action = "run envkit doctor on the target environment (CUDA libraries, TensorFlow build)"
    if tf_gpus.cuda_visible_devices is not None:
        action = (
            "remove CUDA_VISIBLE_DEVICES where the target environment sets it (its activation "
            "scripts, a sitecustomize or .pth file), then " + action
        )
    return make_result(
        check,
        Verdict.FAIL,
        f"TensorFlow sees {seen} GPU(s), NVML {nvml_count}",
        evidence,
        measured=seen,
        expected=nvml_count,
        unit="GPUs",
        action=action,
    )


def _visible_devices_notes(tf_gpus: TfGpuList) -> list[str]:
    """What CUDA_VISIBLE_DEVICES did to the count, said only where the variable is set."""
    notes = []
    if tf_gpus.cuda_visible_devices is not None:
        notes.append(
            f"the target environment sets CUDA_VISIBLE_DEVICES={tf_gpus.cuda_visible_devices!r} "
            "itself, which limits the GPUs TensorFlow sees"
        )
    if tf_gpus.inherited_visible_devices is not None:
        notes.append(
            f"CUDA_VISIBLE_DEVICES={tf_gpus.inherited_visible_devices!r} of envkit's "
            "environment was left out, so that TensorFlow is asked about every GPU"
        )
    return notes


def _mig_on(gpu: GpuHealth) -> bool:
    mode = gpu.mig_mode
    return not isinstance(mode, (NotSupported, Unavailable)) and mode.current
