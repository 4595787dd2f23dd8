"""GPU utilisation and power draw, as nvidia-smi shows them first (#13): read from NVML, from
real `nvidia-smi` outputs (XML, `-q` text, the table), shown by `envkit report`, and absent from
snapshots written before the fields existed."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import jsonschema
import pytest
from nvml_replay import ReplayNvml

from envkit.codec import encode
from envkit.inputs import read_inputs
from envkit.inputs.snapshot import snapshot_from
from envkit.model import GpuInfo, NvmlInfo
from envkit.probes import collect, nvml
from envkit.render.json_doc import snapshot_from_json
from envkit.render.report import report_sections
from envkit.schema import snapshot_schema_path
from envkit.target import resolve_target

TESTS = Path(__file__).parent
NVML_FIXTURES = TESTS / "fixtures" / "nvml"
SMI_FIXTURES = TESTS / "fixtures" / "nvidia-smi"


def _replayed(name: str) -> NvmlInfo:
    recording = json.loads((NVML_FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    info = nvml.probe(ReplayNvml(recording))
    assert isinstance(info, NvmlInfo), info
    return info


def _gpus_of(fixture: str) -> tuple[GpuInfo, ...]:
    text = (SMI_FIXTURES / fixture).read_text(encoding="utf-8")
    info = snapshot_from(read_inputs([(fixture, text)])).nvml
    assert isinstance(info, NvmlInfo), info
    return info.gpus


def test_nvml_power_usage_and_utilization_are_read() -> None:
    (gpu,) = _replayed("synthetic-h100-sxm").gpus
    assert (gpu.utilization_gpu_percent, gpu.power_draw_watts) == (0, 72.02)


def test_nvml_fields_the_gpu_cannot_report_are_none() -> None:
    (mig,) = _replayed("synthetic-mig-enabled").gpus  # utilization: NOT_SUPPORTED under MIG
    assert (mig.utilization_gpu_percent, mig.power_draw_watts) == (None, 72.02)
    (vm,) = _replayed("synthetic-not-supported").gpus  # power usage: NOT_SUPPORTED
    assert (vm.utilization_gpu_percent, vm.power_draw_watts) == (0, None)


@pytest.mark.parametrize(
    ("fixture", "utilization", "draw"),
    [
        ("telegraf-tesla-t4-v11.xml", 0, 26.78),  # power_readings/power_draw
        ("telegraf-a100-sxm4-mig-v12.xml", None, 67.03),  # gpu_util N/A under MIG
        ("telegraf-rtx-pro-6000-blackwell-v13.xml", 0, 3.97),  # average_power_draw (R555+)
        ("telegraf-gtx-1070-ti-v10.xml", 0, None),  # power_draw N/A on that GeForce
        ("nagios-tesla-m10-390-v9-first-gpu.xml", 0, 10.43),
        ("princeton-h100-545-q.txt", 0, 72.02),  # -q text: GPU, not GPU Memory, power
        ("doc-centos-rtx4090-550-table.txt", 3, 60.0),  # the table's 60W / 450W, 3%
        ("doc-slurm-a100-mig-550-table.txt", None, 74.0),  # the table's N/A under MIG
    ],
)
def test_real_outputs_give_utilization_and_power_draw(
    fixture: str, utilization: int | None, draw: float | None
) -> None:
    gpu = _gpus_of(fixture)[0]
    assert (gpu.utilization_gpu_percent, gpu.power_draw_watts) == (utilization, draw)


def test_report_shows_them_beside_memory_as_nvidia_smi_does() -> None:
    (gpu,) = _gpus_of("doc-centos-rtx4090-550-table.txt")
    line = _gpu_view_line(gpu)
    assert line.index("used") < line.index("3 % util") < line.index("49 °C")
    assert line.endswith("60 W / 450 W")


def test_report_shows_what_half_of_the_power_there_is() -> None:
    (gpu,) = _gpus_of("telegraf-gtx-1070-ti-v10.xml")
    assert "0 % util" in _gpu_view_line(gpu)
    draw_only = dataclasses.replace(gpu, power_draw_watts=151.4, power_limit_watts=None)
    assert _gpu_view_line(draw_only).endswith("151 W")
    limit_only = dataclasses.replace(gpu, power_draw_watts=None, power_limit_watts=180.0)
    assert _gpu_view_line(limit_only).endswith("180 W limit")
    neither = dataclasses.replace(gpu, utilization_gpu_percent=None, power_limit_watts=None)
    assert " W" not in _gpu_view_line(neither) and "util" not in _gpu_view_line(neither)


def _gpu_view_line(gpu: GpuInfo) -> str:
    snapshot = collect(resolve_target(sys.executable))
    machine = NvmlInfo("550.120", "12.4", None, (gpu,))
    sections = dict(report_sections(dataclasses.replace(snapshot, nvml=machine)))
    return dict(sections["GPUs"])[f"GPU {gpu.index}"]


def test_a_snapshot_written_before_the_fields_still_validates_and_loads() -> None:
    snapshot = collect(resolve_target(sys.executable))
    with_gpu = dataclasses.replace(snapshot, nvml=_replayed("synthetic-h100-sxm"))
    document = encode(with_gpu)
    assert isinstance(document, dict)
    for gpu in document["nvml"]["gpus"]:
        del gpu["utilization_gpu_percent"], gpu["power_draw_watts"]
    schema = json.loads(snapshot_schema_path().read_text(encoding="utf-8"))
    jsonschema.validate({"schema": "envkit.snapshot/2", **document}, schema)
    loaded = snapshot_from_json(json.dumps(document), "old.json")
    assert isinstance(loaded.nvml, NvmlInfo)
    (gpu,) = loaded.nvml.gpus
    assert (gpu.utilization_gpu_percent, gpu.power_draw_watts) == (None, None)
    assert gpu.power_limit_watts == 700.0
