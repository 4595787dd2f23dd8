"""The NVML probe, against real bindings, a real library, and recordings replayed strictly.

* Real: nvidia-ml-py on this machine, which has no NVIDIA driver (LIBRARY_NOT_FOUND), and
  Debian's real libnvidia-ml1 with no kernel module loaded (DRIVER_NOT_LOADED).
* Replayed: tests/fixtures/nvml/*.json through ReplayNvml (tests/nvml_replay.py). Which of them
  were observed and which hand-written is in tests/fixtures/nvml/README.md and each meta block.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from nvml_replay import ReplayNvml

from envkit.model import GpuInfo, GpuProcess, NvmlInfo, Unavailable
from envkit.probes import nvml, nvml_record
from envkit.probes.visible_devices import parse_visible_devices

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "nvml"
MiB = 1024 * 1024


def _recording(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def _replay(name: str) -> tuple[NvmlInfo | Unavailable, ReplayNvml]:
    replay = ReplayNvml(_recording(name))
    return nvml.probe(replay), replay


def _info(name: str) -> NvmlInfo:
    result, _ = _replay(name)
    assert isinstance(result, NvmlInfo), result
    return result


def _library_loads() -> bool:
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return False
    return True


# --- the real bindings -------------------------------------------------------------------------


def test_real_bindings_without_a_driver_report_library_not_found() -> None:
    if _library_loads():
        pytest.skip("this machine has a real libnvidia-ml.so.1; the no-driver case cannot occur")
    import pynvml

    assert not nvml.driver_library_loads()
    shortcut, bindings = nvml.probe(), nvml.probe(pynvml)  # without and with the bindings
    assert shortcut == bindings  # the shortcut says exactly what nvmlInit says
    assert isinstance(shortcut, Unavailable)
    assert shortcut.code == "nvml-library-not-found"
    assert "install the NVIDIA driver" in shortcut.reason


def test_real_library_without_kernel_module_reports_driver_not_loaded(libnvml_dir: Path) -> None:
    if Path("/proc/driver/nvidia").exists():
        pytest.skip("the NVIDIA kernel module is loaded here; DRIVER_NOT_LOADED cannot occur")
    assert (libnvml_dir / "libnvidia-ml.so.1").exists()
    # pynvml dlopens the bare name "libnvidia-ml.so.1", so the loader's search path decides; it
    # is read once at process start, hence a fresh interpreter.
    env = {**os.environ, "LD_LIBRARY_PATH": str(libnvml_dir), "PYTHONPATH": str(REPO)}
    code = (
        "import dataclasses, json; from envkit.probes.nvml import probe; "
        "print(json.dumps(dataclasses.asdict(probe())))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["code"] == "nvml-driver-not-loaded", result
    assert "modprobe nvidia" in result["reason"]


# --- replayed recordings -----------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_recorded_call_is_made_and_no_other(path: Path) -> None:
    recording = json.loads(path.read_text(encoding="utf-8"))
    assert recording["meta"]["synthetic"] is path.name.startswith("synthetic-")
    if recording["meta"]["synthetic"]:
        assert recording["meta"]["source"].startswith("https://")
    replay = ReplayNvml(recording)
    nvml.probe(replay)  # an unrecorded call raises inside
    assert replay.never_asked() == []


def test_observed_no_library_recording() -> None:
    result, _ = _replay("no-library")
    assert result == Unavailable(result.code, result.reason)
    assert isinstance(result, Unavailable)
    assert result.code == "nvml-library-not-found"


def test_observed_driver_not_loaded_recording() -> None:
    result, _ = _replay("driver-not-loaded")
    assert isinstance(result, Unavailable)
    assert result.code == "nvml-driver-not-loaded"


def test_h100_fields_are_decoded() -> None:
    info = _info("synthetic-h100-sxm")
    assert (info.driver_version, info.cuda_driver_version) == ("545.23.08", "12.3")
    assert info.nvml_version == "12.545.23.08"
    (gpu,) = info.gpus
    assert gpu.error is None
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == "GPU-10f35015-e921-bfab-2eb8-4e9b6664d5f1"
    assert gpu.pci_bus_id == "00000000:19:00.0"
    assert gpu.memory_total_bytes == 81559 * MiB
    assert gpu.memory_used_bytes == (81559 - 81227) * MiB
    assert gpu.compute_capability == "9.0"
    assert gpu.persistence_mode is True
    assert (gpu.mig_mode_current, gpu.mig_mode_pending) == (False, False)
    assert gpu.power_limit_watts == 700.0
    assert gpu.temperature_c == 33
    assert gpu.processes == ()


def test_a_lost_gpu_does_not_hide_the_others() -> None:
    info = _info("synthetic-gpu-lost")
    lost, healthy = info.gpus
    assert lost.index == 0
    assert lost.error is not None and lost.error.code == "nvml-gpu-lost"
    assert "fallen off the bus" in lost.error.reason
    assert lost.name is None and lost.memory_total_bytes is None
    assert healthy.index == 1 and healthy.error is None
    assert healthy.name == "NVIDIA H100 80GB HBM3"
    assert healthy.memory_total_bytes == 81559 * MiB


def test_version_mismatch_at_init_advises_a_reboot() -> None:
    result, replay = _replay("synthetic-version-mismatch")
    assert isinstance(result, Unavailable)
    assert result.code == "nvml-version-mismatch"
    assert "reboot" in result.reason
    assert replay.never_asked() == []  # and nvmlShutdown was not called after a failed init


def test_unsupported_fields_become_none_and_the_rest_is_read() -> None:
    (gpu,) = _info("synthetic-not-supported").gpus
    assert gpu.error is None
    assert (gpu.persistence_mode, gpu.power_limit_watts, gpu.temperature_c) == (None, None, None)
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.compute_capability == "9.0"


def test_mig_mode_and_a_process_without_memory_figure() -> None:
    (gpu,) = _info("synthetic-mig-enabled").gpus
    assert (gpu.mig_mode_current, gpu.mig_mode_pending) == (True, True)
    assert gpu.processes == (GpuProcess(pid=4242, used_memory_bytes=None, kind="compute"),)


def test_old_driver_falls_back_to_the_functions_it_has() -> None:
    info = _info("synthetic-old-driver")
    assert info.cuda_driver_version == "10.0"
    (gpu,) = info.gpus
    assert gpu.name == "Tesla V100-SXM2-16GB"
    assert gpu.compute_capability == "7.0"
    assert (gpu.mig_mode_current, gpu.mig_mode_pending) == (None, None)
    assert gpu.processes == ()
    assert gpu.power_limit_watts == 300.0


def test_an_unlisted_init_error_keeps_its_code_in_the_reason() -> None:
    recording = {"meta": {"gpus": []}, "calls": [{"fn": "nvmlInit", "args": [], "error": 999}]}
    result = nvml.probe(ReplayNvml(recording))
    assert isinstance(result, Unavailable)
    assert result.code == "nvml-init-failed"
    assert "999" in result.reason


def test_the_replay_refuses_calls_it_never_saw() -> None:
    replay = ReplayNvml(_recording("synthetic-h100-sxm"))
    with pytest.raises(AssertionError, match="re-record"):
        replay.nvmlDeviceGetBoardId(0)


@pytest.mark.parametrize(("encoded", "text"), [(12040, "12.4"), (11080, "11.8"), (13000, "13.0")])
def test_cuda_version_encoding(encoded: int, text: str) -> None:
    assert nvml.format_cuda_version(encoded) == text


# --- the recorder ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_recording_a_replay_reproduces_the_recording(path: Path, tmp_path: Path) -> None:
    original = json.loads(path.read_text(encoding="utf-8"))
    out = tmp_path / "again.json"
    again = nvml_record.record(out, nvml=ReplayNvml(original), note="round trip")
    assert json.loads(out.read_text(encoding="utf-8")) == again
    assert again["calls"] == original["calls"]
    meta = again["meta"]
    assert (meta["synthetic"], meta["hostname"], meta["note"]) == (False, "REDACTED", "round trip")
    assert meta["nvidia_ml_py_version"] == metadata.version("nvidia-ml-py")
    assert meta["gpus"] == [g["name"] for g in _gpus_of(nvml.probe(ReplayNvml(original)))]


def _gpus_of(result: NvmlInfo | Unavailable) -> list[dict[str, Any]]:
    return [dataclasses.asdict(g) for g in result.gpus] if isinstance(result, NvmlInfo) else []


def test_bytes_from_older_bindings_are_tagged_and_decoded() -> None:
    recording = _recording("synthetic-h100-sxm")
    for call in recording["calls"]:
        if call["fn"] == "nvmlDeviceGetName":
            call["result"] = {"bytes": "NVIDIA H100 80GB HBM3"}  # what nvidia-ml-py < 11 returned
    recorder = nvml_record.RecordingNvml(ReplayNvml(recording))
    result = nvml.probe(recorder)
    assert isinstance(result, NvmlInfo)
    assert result.gpus[0].name == "NVIDIA H100 80GB HBM3"
    assert recorder.calls == recording["calls"]


# --- CUDA_VISIBLE_DEVICES ----------------------------------------------------------------------

UUIDS = (
    "GPU-5fa1c2d3-0000-1111-2222-333344445555",
    "GPU-5fb2c3d4-6666-7777-8888-9999aaaabbbb",
    "GPU-a0b1c2d3-cccc-dddd-eeee-ffff00001111",
)
GPUS = tuple(GpuInfo(index=i, uuid=uuid) for i, uuid in enumerate(UUIDS))


@pytest.mark.parametrize(
    ("raw", "visible", "unmatched"),
    [
        ("1,0", (1, 0), ()),
        (" 2 , 0 ", (2, 0), ()),
        ("0,5,1", (0,), ("5", "1")),
        ("0,-1,1", (0,), ("-1", "1")),
        ("0,,1", (0,), ("", "1")),
        (UUIDS[2], (2,), ()),
        ("GPU-5fb2,GPU-a0", (1, 2), ()),
        ("GPU-a0,GPU-ffff,GPU-5fa1", (2,), ("GPU-ffff", "GPU-5fa1")),
        ("GPU-a0,1", (2,), ("1",)),
        ("1,GPU-a0", (1,), ("GPU-a0",)),
    ],
)
def test_visible_devices_follow_cuda_order_and_stop_at_the_first_bad_entry(
    raw: str, visible: tuple[int, ...], unmatched: tuple[str, ...]
) -> None:
    parsed = parse_visible_devices(raw, GPUS)
    assert (parsed.visible_gpu_indices, parsed.unmatched) == (visible, unmatched)
    assert parsed.hides_all is False


@pytest.mark.parametrize("raw", ["", "-1", "-1,0", "none", "0,1,0", "GPU-5f", "MIG-GPU-5f/1/0"])
def test_values_that_leave_cuda_no_gpu(raw: str) -> None:
    parsed = parse_visible_devices(raw, GPUS)
    assert parsed.visible_gpu_indices == ()


def test_the_value_alone_tells_when_every_gpu_is_hidden() -> None:
    assert parse_visible_devices("", None).hides_all
    assert parse_visible_devices("-1", None).hides_all
    assert parse_visible_devices("1,1", None).hides_all
    assert not parse_visible_devices("7", None).hides_all  # hidden on a 3-GPU machine, not by value
    assert parse_visible_devices("7", GPUS).unmatched == ("7",)


def test_a_repeated_entry_empties_the_list() -> None:
    parsed = parse_visible_devices("1,0,1", GPUS)
    assert parsed.visible_gpu_indices == ()
    assert parsed.unmatched == ("1",)
    assert parsed.hides_all


def test_an_ambiguous_uuid_prefix_empties_the_list() -> None:
    parsed = parse_visible_devices("GPU-a0,GPU-5f", GPUS)
    assert parsed.visible_gpu_indices == ()
    assert parsed.unmatched == ("GPU-5f",)


def test_unset_shows_every_gpu_and_without_nvml_nothing_is_guessed() -> None:
    unset = parse_visible_devices(None, GPUS)
    assert (unset.visible_gpu_indices, unset.entries, unset.hides_all) == ((0, 1, 2), (), False)
    assert parse_visible_devices(None, None).visible_gpu_indices is None
    blind = parse_visible_devices("0,1", None)
    assert (blind.visible_gpu_indices, blind.unmatched, blind.entries) == (None, (), ("0", "1"))


def test_mig_devices_map_to_their_gpu() -> None:
    mig_gpus = (GPUS[0], dataclasses.replace(GPUS[1], mig_mode_current=True), GPUS[2])
    legacy = parse_visible_devices(f"MIG-{UUIDS[1]}/1/0", mig_gpus)
    assert legacy.visible_gpu_indices == (1,)
    current = parse_visible_devices("MIG-4f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff", mig_gpus)
    assert current.visible_gpu_indices == (1,)
    no_mig = parse_visible_devices("MIG-4f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff", GPUS)
    assert no_mig.visible_gpu_indices == ()
    assert no_mig.unmatched == ("MIG-4f1e2d3c-aaaa-bbbb-cccc-ddddeeeeffff",)


def test_visible_devices_from_a_replayed_machine() -> None:
    info = _info("synthetic-h100-sxm")
    uuid = info.gpus[0].uuid
    assert uuid is not None
    assert parse_visible_devices(uuid[:8], info.gpus).visible_gpu_indices == (0,)
    assert parse_visible_devices("1", info.gpus).unmatched == ("1",)
