"""probe_health and NvmlSession: recordings replayed strictly, the real bindings, a real library.

Recordings: tests/fixtures/nvml/health/ (probe_health) and telemetry/ (NvmlSession.sample); which
were observed and which hand-written is in tests/fixtures/nvml/README.md and each meta block.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pynvml
import pytest
from nvml_replay import ReplayNvml

from envkit.model import GpuProcess, Unavailable
from envkit.model_health import (
    EnabledPair,
    GpuHealth,
    NodeHealth,
    NotSupported,
    RemappedRows,
    RetiredPages,
)
from envkit.probes import nvml_health, nvml_record

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "nvml"
HEALTH = FIXTURES / "health"
TELEMETRY = FIXTURES / "telemetry"
MiB = 1024 * 1024


def _recording(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _health(name: str) -> NodeHealth:
    replay = ReplayNvml(_recording(HEALTH / f"{name}.json"))
    health = nvml_health.probe_health(replay)
    assert replay.never_asked() == []
    return health


def _gpu(name: str, index: int = 0) -> GpuHealth:
    health = _health(name)
    assert health.failure is None, health.failure
    return health.gpus[index]


# --- every recording -------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(HEALTH.glob("*.json")), ids=lambda p: p.stem)
def test_every_recorded_health_call_is_made_and_no_other(path: Path) -> None:
    recording = _recording(path)
    assert recording["meta"]["synthetic"] is path.name.startswith("synthetic-")
    if recording["meta"]["synthetic"]:
        assert recording["meta"]["source"].startswith("https://")
    replay = ReplayNvml(recording)
    nvml_health.probe_health(replay)  # an unrecorded call raises inside
    assert replay.never_asked() == []


@pytest.mark.parametrize("path", sorted(HEALTH.glob("*.json")), ids=lambda p: p.stem)
def test_recording_a_health_replay_reproduces_it(path: Path, tmp_path: Path) -> None:
    original = _recording(path)
    out = tmp_path / "sub" / "again.json"
    again = nvml_record.record_health(out, nvml=ReplayNvml(original), note="round trip")
    assert json.loads(out.read_text(encoding="utf-8")) == again
    assert again["calls"] == original["calls"]  # field values and their unions included
    assert (again["meta"]["probe"], again["meta"]["note"]) == ("probe_health", "round trip")


def test_each_health_recording_is_listed_in_the_readme() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for path in [*HEALTH.glob("*.json"), *TELEMETRY.glob("*.json")]:
        assert f"`{path.parent.name}/{path.name}`" in readme


# --- observed: the real bindings and a real library --------------------------------------------


def _library_loads() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


def test_real_bindings_without_a_driver_fail_with_library_not_found() -> None:
    if _library_loads():
        pytest.skip("this machine has a real libnvidia-ml.so.1")
    health = nvml_health.probe_health()
    assert health.failure is not None
    assert health.failure.code == "nvml-library-not-found"
    assert health.gpus == ()


def test_real_library_without_kernel_module_fails_with_driver_not_loaded(libnvml_dir: Path) -> None:
    if Path("/proc/driver/nvidia").exists():
        pytest.skip("the NVIDIA kernel module is loaded here; DRIVER_NOT_LOADED cannot occur")
    env = {**os.environ, "LD_LIBRARY_PATH": str(libnvml_dir), "PYTHONPATH": str(REPO)}
    code = (
        "import json; from envkit.probes.nvml_health import NvmlSession, probe_health; "
        "h = probe_health(); s = NvmlSession().__enter__(); "
        "print(json.dumps([h.failure.code, h.failure.reason, s.failure.code, s.sample(0.0)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    code_seen, reason, session_code, samples = json.loads(done.stdout)
    assert code_seen == session_code == "nvml-driver-not-loaded"
    assert "modprobe nvidia" in reason
    assert samples == []


@pytest.mark.parametrize(
    ("name", "code"),
    [("no-library", "nvml-library-not-found"), ("driver-not-loaded", "nvml-driver-not-loaded")],
)
def test_observed_init_failures_replayed(name: str, code: str) -> None:
    health = _health(name)
    assert health.failure is not None and health.failure.code == code
    assert (health.driver_version, health.gpus) == (None, ())


# --- synthetic recordings ----------------------------------------------------------------------


def test_healthy_h100_readings() -> None:
    health = _health("synthetic-h100-healthy")
    assert (health.driver_version, health.cuda_driver_version) == ("545.23.08", "12.3")
    (gpu,) = health.gpus
    assert gpu.error is None and not gpu.lost
    assert gpu.identity.name == "NVIDIA H100 80GB HBM3"
    assert gpu.identity.pci_bus_id == "00000000:19:00.0"
    assert gpu.identity.memory_total_bytes == 81559 * MiB
    assert gpu.ecc_mode == EnabledPair(current=True, pending=True)
    assert (gpu.ecc_uncorrected_volatile, gpu.ecc_corrected_volatile) == (0, 0)
    assert isinstance(gpu.retired_pages, NotSupported)
    assert gpu.retired_pages.function == "nvmlDeviceGetRetiredPagesPendingStatus"
    assert gpu.remapped_rows == RemappedRows(0, 0, pending=False, failure=False)
    assert gpu.recovery_action == 0  # field 230 unknown to 545: from fields 226/227
    assert gpu.clock_event_reasons == 0x1
    assert (gpu.pcie.current_width, gpu.pcie.max_width, gpu.pcie.gpu_max_generation) == (16, 16, 5)
    assert (gpu.persistence_mode, gpu.compute_mode, gpu.processes) == (True, 0, ())
    assert gpu.mig_mode == EnabledPair(current=False, pending=False)
    assert (gpu.power_limit_w, gpu.default_power_limit_w) == (700.0, 700.0)
    assert (gpu.temperature_c, gpu.slowdown_temperature_c) == (33, 89)


def test_ecc_errors_and_the_reset_they_ask_for() -> None:
    gpu = _gpu("synthetic-h100-ecc-errors")
    assert (gpu.ecc_uncorrected_volatile, gpu.ecc_corrected_volatile) == (2, 17)
    assert gpu.remapped_rows == RemappedRows(0, 1, pending=True, failure=False)
    assert gpu.recovery_action == 1  # Reset Required (field 226) read as GPU_RESET


def test_pending_retirement_on_a_v100() -> None:
    gpu = _gpu("synthetic-v100-retired-pages-pending")
    assert gpu.retired_pages == RetiredPages(single_bit=2, double_bit=1, pending=True)
    assert isinstance(gpu.remapped_rows, NotSupported)
    assert isinstance(gpu.mig_mode, NotSupported)


def test_mig_gpu_does_not_report_remaps() -> None:
    gpu = _gpu("synthetic-h100-mig")
    assert gpu.mig_mode == EnabledPair(current=True, pending=True)
    assert isinstance(gpu.remapped_rows, NotSupported)
    assert gpu.processes == (GpuProcess(pid=4242, used_memory_bytes=None, kind="compute"),)


def test_a_lost_gpu_is_unreadable_and_the_next_one_is_read() -> None:
    lost, healthy = _health("synthetic-gpu-lost").gpus
    assert lost.lost and lost.error is not None and lost.error.code == "nvml-gpu-lost"
    assert lost.ecc_uncorrected_volatile == lost.error == lost.pcie.max_width
    assert lost.identity.name is None
    assert not healthy.lost
    assert healthy.identity.pci_bus_id == "00000000:3B:00.0"
    assert healthy.ecc_uncorrected_volatile == 0


def test_old_driver_falls_back_or_says_what_it_lacks() -> None:
    health = _health("synthetic-old-driver")
    assert health.cuda_driver_version == "10.0"
    (gpu,) = health.gpus
    assert gpu.clock_event_reasons == 0x1  # from the old ThrottleReasons name
    assert gpu.retired_pages == RetiredPages(0, 0, pending=False)
    for reading in (gpu.remapped_rows, gpu.mig_mode, gpu.pcie.gpu_max_generation):
        assert isinstance(reading, NotSupported)
        assert "driver 410.79 has no" in reading.reason
    assert isinstance(gpu.recovery_action, NotSupported)
    assert "fields 226, 227" in gpu.recovery_action.reason
    assert isinstance(gpu.processes, NotSupported)
    assert gpu.pcie.max_generation == 3


def test_a_reset_required_gpu_mid_read_becomes_unreadable() -> None:
    recording = _recording(HEALTH / "synthetic-h100-healthy.json")
    for call in recording["calls"]:
        if call["fn"] == "nvmlDeviceGetRemappedRows":
            call.pop("result")
            call["error"] = pynvml.NVML_ERROR_RESET_REQUIRED
    (gpu,) = nvml_health.probe_health(ReplayNvml(recording)).gpus
    assert gpu.error is not None and gpu.error.code == "nvml-gpu-reset-required"
    assert "nvidia-smi -r -i 0" in gpu.error.reason
    assert gpu.identity.name == "NVIDIA H100 80GB HBM3"  # read before the reset was needed


def test_other_read_errors_stay_on_their_field() -> None:
    recording = _recording(HEALTH / "synthetic-h100-healthy.json")
    for call in recording["calls"]:
        if call["fn"] == "nvmlDeviceGetComputeRunningProcesses":
            call.pop("result")
            call["error"] = pynvml.NVML_ERROR_NO_PERMISSION
        if call["fn"] == "nvmlDeviceGetEccMode":
            call.pop("result")
            call["error"] = pynvml.NVML_ERROR_UNKNOWN
    replay = ReplayNvml(recording)
    (gpu,) = nvml_health.probe_health(replay).gpus
    assert isinstance(gpu.processes, Unavailable) and gpu.processes.code == "nvml-no-permission"
    assert isinstance(gpu.ecc_mode, Unavailable) and gpu.ecc_mode.code == "nvml-read-failed"
    assert gpu.ecc_uncorrected_volatile == 0 and gpu.error is None
    # the graphics list is not asked once the compute list failed
    assert replay.never_asked() == [("nvmlDeviceGetGraphicsRunningProcesses", '[{"handle": 0}]')]


def test_recovery_action_field_230_wins_over_the_old_fields() -> None:
    recording = _recording(HEALTH / "synthetic-h100-healthy.json")
    for call in recording["calls"]:
        if call["fn"] == "nvmlDeviceGetFieldValues":
            action = call["result"][0]["fields"]
            action.update(
                nvmlReturn=0, valueType=1, value={"struct": "c_nvmlValue_t", "fields": {"ulVal": 2}}
            )
    (gpu,) = nvml_health.probe_health(ReplayNvml(recording)).gpus
    assert gpu.recovery_action == 2  # NODE_REBOOT


def test_query_failure_after_init_is_reported_and_nvml_shut_down() -> None:
    recording = {
        "meta": {"gpus": []},
        "calls": [
            {"fn": "nvmlInit", "args": [], "result": None},
            {"fn": "nvmlDeviceGetCount", "args": [], "error": pynvml.NVML_ERROR_UNKNOWN},
            {"fn": "nvmlShutdown", "args": [], "result": None},
        ],
    }
    replay = ReplayNvml(recording)
    health = nvml_health.probe_health(replay)
    assert health.failure is not None and health.failure.code == "nvml-query-failed"
    assert replay.never_asked() == []


# --- the telemetry sampler ---------------------------------------------------------------------


def test_sampler_reads_clocks_temperature_power_and_reasons() -> None:
    replay = ReplayNvml(_recording(TELEMETRY / "synthetic-h100-idle.json"))
    with nvml_health.NvmlSession(replay) as session:
        assert session.failure is None
        (sample,) = session.sample(elapsed_s=2.5)
    assert (sample.elapsed_s, sample.gpu_index) == (2.5, 0)
    assert (sample.sm_clock_mhz, sample.memory_clock_mhz) == (345, 2619)
    assert (sample.temperature_c, sample.power_w, sample.clock_event_reasons) == (33, 72.02, 0x1)
    assert replay.never_asked() == []


def test_sampler_keeps_handles_and_asks_a_missing_function_once() -> None:
    recorder = nvml_record.RecordingNvml(
        ReplayNvml(_recording(TELEMETRY / "synthetic-old-driver.json"))
    )
    with nvml_health.NvmlSession(recorder) as session:
        first = session.sample(0.0, [0])
        second = session.sample(1.0, [0])
    assert first[0].clock_event_reasons == second[0].clock_event_reasons == 0x4
    asked = [call["fn"] for call in recorder.calls]
    assert asked.count("nvmlDeviceGetCurrentClocksEventReasons") == 1
    assert asked.count("nvmlDeviceGetCurrentClocksThrottleReasons") == 2
    assert asked.count("nvmlDeviceGetHandleByIndex") == 1
    assert (asked.count("nvmlInit"), asked[-1]) == (1, "nvmlShutdown")


def test_sampler_gives_none_for_a_gpu_it_cannot_reach() -> None:
    recording = _recording(TELEMETRY / "synthetic-h100-idle.json")
    lost = {"fn": "nvmlDeviceGetHandleByIndex", "args": [1], "error": pynvml.NVML_ERROR_GPU_IS_LOST}
    recording["calls"].append(lost)
    with nvml_health.NvmlSession(ReplayNvml(recording)) as session:
        healthy, gone = session.sample(0.0, [0, 1])
    assert healthy.sm_clock_mhz == 345
    assert gone.gpu_index == 1
    assert (gone.sm_clock_mhz, gone.temperature_c, gone.clock_event_reasons) == (None, None, None)


def test_session_that_failed_to_start_samples_nothing() -> None:
    replay = ReplayNvml(_recording(HEALTH / "no-library.json"))
    with nvml_health.NvmlSession(replay) as session:
        assert session.failure is not None
        assert session.sample(0.0) == ()
        assert session.health().failure == session.failure
