"""The default tier's plan: what to measure on which device, sized from the GPU's specs, and the
measurement job's argument built from it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envkit.knowledge import GpuModel
from envkit.records import record
from envkit.smoke import SmokeSpec

PROTOCOL = 1
MIB, GIB = 1024**2, 1024**3
ALL_TESTS = ("gemm", "determinism", "memory", "host", "mirrored")
PRECISIONS = ("bf16", "fp16", "fp32")


@record
class DevicePlan:
    """What to measure on one device, sized for it."""

    kind: str
    """gpu or cpu."""
    index: int
    """The NVML index of a GPU; the logical device number of the CPU."""
    gemm_n: int
    precisions: tuple[str, ...]
    """Of bf16, fp16, fp32 (fp32 runs on TF32 tensor cores where the GPU has them)."""
    determinism_n: int
    determinism_repeats: int
    memory_bytes: int
    """The float32 tensor that y = x + 1 reads and writes."""
    host_bytes: int
    """Copied host to device and back; 0 for the CPU (not applicable)."""
    determinism_precision: str = "fp32"

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.index}"


@record
class CorruptionInjection:
    """FOR TESTS: flip one bit of one repeat's GEMM result, to prove the comparison sees it."""

    device: str
    """A device label, e.g. cpu:1."""
    repeat: int = 1
    bit: int = 0
    """0 is the lowest mantissa bit: the subtlest corruption there is."""


@record
class WorkloadPlan:
    devices: tuple[DevicePlan, ...]
    min_seconds: float
    """The timed part of each throughput measurement (after warm-up and calibration)."""
    tests: tuple[str, ...] = ALL_TESTS
    multiworker: bool = True
    multiworker_gpus: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    """The GPUs of worker 0 and worker 1; None: both workers on the CPU."""
    steps: int = 3
    smoke: SmokeSpec | None = None
    """Run on every GPU (one process each), or once on the CPU for a CPU plan; None: no smoke."""
    cpu_logical_devices: int | None = None
    concurrent: bool = False
    """Measure all devices at once (one thread each): exposes power and thermal coupling."""
    timeout_s: float = 300.0
    multiworker_timeout_s: float = 120.0
    inject: CorruptionInjection | None = None

    @property
    def kind(self) -> str:
        return self.devices[0].kind if self.devices else "gpu"


def plan_gpu_workloads(
    gpus: Mapping[int, GpuModel | None],
    *,
    smoke: bool = True,
    min_seconds: float = 1.5,
    concurrent: bool = True,
    multiworker: bool = True,
) -> WorkloadPlan:
    """One DevicePlan per GPU (NVML index -> known model or None), sized from its specs."""
    devices = tuple(_gpu_device_plan(index, gpus[index]) for index in sorted(gpus))
    indices = tuple(device.index for device in devices)
    half = len(indices) // 2
    per_device = sum(len(device.precisions) + 3 for device in devices)
    rounds = max(len(device.precisions) + 3 for device in devices) if devices else 0
    timeout = 120.0 + (rounds if concurrent else per_device) * (3 * min_seconds + 15.0)
    return WorkloadPlan(
        devices=devices,
        min_seconds=min_seconds,
        multiworker=multiworker,
        multiworker_gpus=(indices[:half], indices[half:]) if len(indices) >= 2 else None,
        smoke=SmokeSpec(device="gpu", quick=True, offline=True, timeout_s=300.0) if smoke else None,
        concurrent=concurrent,
        timeout_s=timeout,
    )


def _gpu_device_plan(index: int, model: GpuModel | None) -> DevicePlan:
    specs = model.specs if model is not None else None
    precisions: tuple[str, ...] = PRECISIONS
    peak = None
    if specs is not None:
        tensor = (("bf16", specs.bf16_tflops), ("fp16", specs.fp16_tflops))
        precisions = (*(name for name, value in tensor if value), "fp32")
        peak = max((value for _, value in tensor if value), default=None)
    gemm_n = 8192 if peak is None or peak >= 100 else 4096 if peak >= 10 else 2048
    small = model is not None and model.memory_gb < 8
    return DevicePlan(
        kind="gpu",
        index=index,
        gemm_n=gemm_n,
        precisions=precisions,
        determinism_n=4096,
        determinism_repeats=10,
        memory_bytes=256 * MIB if small else GIB,
        host_bytes=256 * MIB,
    )


def plan_cpu_workloads(
    logical_devices: int = 2,
    *,
    gemm_n: int = 256,
    precisions: tuple[str, ...] = ("bf16", "fp32"),
    min_seconds: float = 0.1,
    determinism_n: int = 128,
    determinism_repeats: int = 5,
    memory_bytes: int = 16 * MIB,
    tests: tuple[str, ...] = ALL_TESTS,
    multiworker: bool = True,
    smoke: SmokeSpec | None = None,
    inject: CorruptionInjection | None = None,
    timeout_s: float = 180.0,
) -> WorkloadPlan:
    """The same workloads on the CPU, split into logical devices: for tests and benchmarks."""
    devices = tuple(
        DevicePlan(
            kind="cpu",
            index=index,
            gemm_n=gemm_n,
            precisions=precisions,
            determinism_n=determinism_n,
            determinism_repeats=determinism_repeats,
            memory_bytes=memory_bytes,
            host_bytes=0,
        )
        for index in range(logical_devices)
    )
    return WorkloadPlan(
        devices=devices,
        min_seconds=min_seconds,
        tests=tests,
        multiworker=multiworker,
        smoke=smoke,
        cpu_logical_devices=logical_devices,
        timeout_s=timeout_s,
        inject=inject,
    )


def job_spec(plan: WorkloadPlan) -> dict[str, Any]:
    """The measurement job's argument."""
    inject = plan.inject
    return {
        "protocol": PROTOCOL,
        "mode": "local",
        "cpu_logical_devices": plan.cpu_logical_devices,
        "min_seconds": plan.min_seconds,
        "tests": list(plan.tests),
        "steps": plan.steps,
        "concurrent": plan.concurrent,
        "inject": None
        if inject is None
        else {"device": inject.device, "repeat": inject.repeat, "bit": inject.bit},
        "devices": [
            {
                "kind": device.kind,
                "index": device.index,
                "tf_index": position,
                "gemm_n": device.gemm_n,
                "precisions": list(device.precisions),
                "determinism_n": device.determinism_n,
                "determinism_repeats": device.determinism_repeats,
                "determinism_precision": device.determinism_precision,
                "memory_bytes": device.memory_bytes,
                "host_bytes": device.host_bytes,
            }
            for position, device in enumerate(plan.devices)
        ],
    }
