"""The nvidia-smi readers on real published outputs (tests/fixtures/nvidia-smi/README.md).

Every expected value below was read from the fixture file by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from envkit.inputs import InputError, read_inputs
from envkit.inputs.health import node_health
from envkit.inputs.model import InputReading, SmiDump
from envkit.inputs.snapshot import best_dump
from envkit.model import Unavailable
from envkit.model_health import EnabledPair, NotSupported, RemappedRows, RetiredPages

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"
MIB = 1024**2


def read(name: str) -> InputReading:
    return read_inputs([(name, (FIXTURES / name).read_text(encoding="utf-8"))])


def dump_of(name: str) -> SmiDump:
    dump = best_dump(read(name))
    assert dump is not None
    return dump


def test_every_fixture_has_a_readme_row() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    names = sorted(p.name for p in FIXTURES.iterdir() if p.name != "README.md")
    assert len(names) >= 15
    for name in names:
        assert f"| {name} |" in readme, name


def test_v11_tesla_t4_field_by_field() -> None:
    dump = dump_of("telegraf-tesla-t4-v11.xml")
    assert (dump.kind, dump.driver_version, dump.cuda_version) == (
        "nvidia-smi-xml",
        "515.105.01",
        "11.7",
    )
    assert dump.attached_gpus == 1 and dump.timestamp == "Mon Apr 24 16:22:39 2023"
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "Tesla T4"
    assert gpu.identity.uuid == "GPU-d37e67a5-91dd-3774-a5cb-99096249601a"
    assert gpu.identity.pci_bus_id == "00000000:00:1E.0"
    assert gpu.identity.memory_total_bytes == 15360 * MIB
    assert gpu.ecc_mode == EnabledPair(True, True)
    assert gpu.ecc_uncorrected_volatile == 0 and gpu.ecc_corrected_volatile == 0
    assert gpu.retired_pages == RetiredPages(0, 0, False)
    assert isinstance(gpu.remapped_rows, NotSupported)  # <remapped_rows>N/A</remapped_rows>
    assert gpu.clock_event_reasons == 0  # every clocks_throttle_reason is "Not Active"
    assert (gpu.pcie.current_generation, gpu.pcie.max_generation) == (3, 3)
    assert (gpu.pcie.current_width, gpu.pcie.max_width) == (8, 16)
    assert gpu.persistence_mode is False and gpu.compute_mode == 0
    assert gpu.mig_mode == NotSupported(
        "nvidia-smi", "nvidia-smi shows 'N/A' for mig_mode/current_mig"
    )
    assert (gpu.power_limit_w, gpu.default_power_limit_w) == (70.0, 70.0)
    assert (gpu.temperature_c, gpu.slowdown_temperature_c) == (40, 93)
    assert not isinstance(gpu.processes, (NotSupported, Unavailable))
    assert [(p.pid, p.kind, p.used_memory_bytes) for p in gpu.processes] == [
        (675, "graphics", 22 * MIB),
        (5762, "compute", 1005 * MIB),
    ]


def test_v12_a100_mig_and_new_names() -> None:
    dump = dump_of("telegraf-a100-sxm4-mig-v12.xml")
    assert (dump.driver_version, dump.cuda_version, dump.attached_gpus) == ("535.54.03", "12.2", 4)
    assert len(dump.gpus) == 1 and dump.gpus[0].mig_devices == 4
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "NVIDIA A100-SXM4-80GB"
    assert gpu.identity.memory_total_bytes == 81920 * MIB
    assert gpu.mig_mode == EnabledPair(True, True)
    assert gpu.clock_event_reasons == 0  # clocks_event_reasons, the v12 name
    assert gpu.recovery_action == 0  # gpu_reset_status: reset_required No, drain No
    assert (gpu.pcie.current_generation, gpu.pcie.max_generation) == (4, 4)
    assert gpu.pcie.gpu_max_generation == 4
    assert (gpu.power_limit_w, gpu.default_power_limit_w) == (500.0, 500.0)  # gpu_power_readings
    assert isinstance(gpu.retired_pages, NotSupported) and isinstance(
        gpu.remapped_rows, NotSupported
    )
    assert gpu.processes == ()  # <processes />


def test_v10_minimal_dump_without_driver_or_cuda() -> None:
    dump = dump_of("telegraf-gtx-1070-ti-v10.xml")
    assert (dump.driver_version, dump.cuda_version, dump.attached_gpus) == (None, None, None)
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "GeForce GTX 1070 Ti"
    assert gpu.identity.pci_bus_id == "00000000:01:00.0"  # from <gpu id=...>
    assert gpu.identity.memory_total_bytes == 4096 * MIB
    assert gpu.pcie.current_width == 16 and gpu.pcie.current_generation == 1
    assert isinstance(gpu.pcie.max_width, NotSupported)
    assert "not in the input" in gpu.pcie.max_width.reason
    assert isinstance(gpu.ecc_mode, NotSupported) and "not in the input" in gpu.ecc_mode.reason
    assert gpu.temperature_c == 39


def test_windows_wddm_vgpu_dump() -> None:
    dump = dump_of("telegraf-grid-p4-windows-wddm-v11.xml")
    assert (dump.driver_version, dump.cuda_version) == ("513.46", "11.6")
    assert dump.gpus[0].values["driver_model/current_dm"] == "WDDM"
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "GRID P4-1Q"
    assert isinstance(gpu.persistence_mode, NotSupported)
    assert isinstance(gpu.clock_event_reasons, NotSupported)  # <clocks_throttle_reasons>N/A<
    assert isinstance(gpu.pcie.current_width, NotSupported)
    assert not isinstance(gpu.processes, (NotSupported, Unavailable))
    assert len(gpu.processes) == 13
    assert all(p.kind == "compute" and p.used_memory_bytes is None for p in gpu.processes)


def test_query_text_with_cuda_not_found() -> None:
    parts = read("akb486-vgpu-readme-q-and-table.md").parts
    assert [part.kind for part in parts] == ["nvidia-smi-query", "nvidia-smi-table"]
    query = parts[0].content
    assert isinstance(query, SmiDump)
    assert (query.driver_version, query.cuda_version, query.attached_gpus) == (
        "525.147.01",
        None,
        1,
    )
    gpu = node_health(query).gpus[0]
    assert gpu.identity.name == "NVIDIA GeForce RTX 4088"
    assert gpu.identity.pci_bus_id == "00000000:01:00.0"
    assert gpu.persistence_mode is True
    assert isinstance(gpu.mig_mode, NotSupported)


def test_query_text_of_two_gpus_clock_section_only() -> None:
    dump = dump_of("doc-470-q-clock-two-gpus.txt")
    assert (dump.kind, dump.driver_version, dump.cuda_version) == (
        "nvidia-smi-query",
        "470.256.02",
        "11.4",
    )
    assert [g.values["pci/pci_bus_id"] for g in dump.gpus] == [
        "00000000:06:00.0",
        "00000000:07:00.0",
    ]
    assert node_health(dump).gpus[1].identity.memory_total_bytes is None


def test_table_550_layout() -> None:
    dump = dump_of("doc-centos-rtx4090-550-table.txt")
    assert (dump.kind, dump.driver_version, dump.cuda_version) == (
        "nvidia-smi-table",
        "550.120",
        "12.4",
    )
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "NVIDIA GeForce RTX 4090"
    assert gpu.identity.pci_bus_id == "00000000:13:00.0"
    assert gpu.identity.memory_total_bytes == 24564 * MIB
    assert gpu.persistence_mode is False and gpu.compute_mode == 0
    assert gpu.temperature_c == 49 and gpu.power_limit_w == 450.0
    assert gpu.mig_mode == NotSupported(
        "nvidia-smi", "nvidia-smi shows 'N/A' for mig_mode/current_mig"
    )
    assert gpu.processes == ()  # "No running processes found"


def test_table_with_mig_devices() -> None:
    dump = dump_of("doc-slurm-a100-mig-550-table.txt")
    assert dump.driver_version == "550.54.15"
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "NVIDIA A100 80GB PCIe"
    assert gpu.identity.pci_bus_id == "00000000:E9:00.0"
    assert gpu.persistence_mode is True
    assert gpu.mig_mode == EnabledPair(True, True)
    assert gpu.identity.memory_total_bytes == 81920 * MIB


def test_old_table_without_cuda_column_inside_docker_output() -> None:
    dump = dump_of("deeposm-grid-k520-367-docker-table.txt")
    assert (dump.driver_version, dump.cuda_version) == ("367.57", None)
    gpu = node_health(dump).gpus[0]
    assert (gpu.identity.name, gpu.identity.pci_bus_id) == ("GRID K520", "0000:00:03.0")
    assert gpu.identity.memory_total_bytes == 4036 * MIB


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("issue-shine-cluster-50-failed-to-communicate.txt", "nvml-driver-not-loaded"),
        ("issue-tinygrad-ogkm-47-version-mismatch.txt", "nvml-version-mismatch"),
        ("issue-shine-cluster-30-version-mismatch.txt", "nvml-version-mismatch"),
    ],
)
def test_failure_lines_are_the_nvml_failure_states(name: str, code: str) -> None:
    dump = dump_of(name)
    assert dump.failure is not None and dump.failure.code == code
    assert dump.gpus == ()


def test_version_mismatch_keeps_the_nvml_library_version() -> None:
    failure = dump_of("issue-tinygrad-ogkm-47-version-mismatch.txt").failure
    assert failure is not None and "NVML library 570.124" in failure.reason


@pytest.mark.parametrize(
    ("name", "bus_id"),
    [
        ("issue-xxd3vin-workspace-19-unknown-error.txt", "0000:0B:00.0"),
        ("issue-syno-nvidia-22-unknown-error.txt", "0000:07:00.0"),
    ],
)
def test_unknown_error_device_handle_is_a_lost_gpu(name: str, bus_id: str) -> None:
    dump = dump_of(name)
    assert dump.failure is None and len(dump.gpus) == 1
    gpu = node_health(dump).gpus[0]
    assert gpu.lost and gpu.error is not None and gpu.error.code == "nvml-gpu-lost"
    assert gpu.identity.pci_bus_id == bus_id


def test_no_devices_were_found_is_a_node_without_gpus() -> None:
    dump = dump_of("issue-ogkm-862-no-devices.txt")
    assert dump.failure is None and dump.gpus == ()


def test_truncated_xml_is_read_as_far_as_it_goes() -> None:
    text = (FIXTURES / "telegraf-tesla-t4-v11.xml").read_text(encoding="utf-8")
    cut = text[: text.index("<temperature>")]
    reading = read_inputs([("cut.xml", cut)])
    dump = best_dump(reading)
    assert dump is not None and dump.driver_version == "515.105.01"
    gpu = node_health(dump).gpus[0]
    assert gpu.ecc_mode == EnabledPair(True, True)
    assert isinstance(gpu.temperature_c, NotSupported)
    (warning,) = reading.warnings
    assert "stops being readable at line" in warning and warning.startswith("cut.xml")


def test_half_table_warns_where_it_stopped() -> None:
    text = (FIXTURES / "doc-centos-rtx4090-550-table.txt").read_text(encoding="utf-8")
    cut = text[: text.index("| 30%")]
    reading = read_inputs([("half.txt", cut)])
    (warning,) = reading.warnings
    assert "GPU 0" in warning


def test_entity_declarations_are_refused() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaa">'
        '<!ENTITY b "&a;&a;&a;&a;">]><nvidia_smi_log><driver_version>&b;</driver_version>'
        "</nvidia_smi_log>"
    )
    with pytest.raises(InputError, match="entities"):
        read_inputs([("bomb.xml", bomb)])


def test_unknown_error_value_is_unavailable_not_a_pass() -> None:
    text = (FIXTURES / "telegraf-tesla-t4-v11.xml").read_text(encoding="utf-8")
    text = text.replace(
        "<current_ecc>Enabled</current_ecc>", "<current_ecc>Unknown Error</current_ecc>"
    )
    dump = best_dump(read_inputs([("x.xml", text)]))
    assert dump is not None
    gpu = node_health(dump).gpus[0]
    assert isinstance(gpu.ecc_mode, Unavailable) and gpu.ecc_mode.code == "nvml-read-failed"


def test_r390_v9_dump_cut_after_its_first_gpu() -> None:
    reading = read("nagios-tesla-m10-390-v9-first-gpu.xml")
    dump = best_dump(reading)
    assert dump is not None
    assert (dump.driver_version, dump.cuda_version, dump.attached_gpus) == ("390.94", None, 4)
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "Tesla M10"
    assert gpu.identity.memory_total_bytes == 8191 * MIB
    assert gpu.persistence_mode is True
    assert (gpu.pcie.current_width, gpu.pcie.max_width) == (8, 16)
    assert gpu.clock_event_reasons == 0x1  # gpu_idle Active; the N/A reasons are not counted
    assert gpu.power_limit_w == 53.0 and gpu.slowdown_temperature_c == 91
    assert isinstance(gpu.temperature_c, int) and gpu.temperature_c == 37
    warnings = " ".join(reading.warnings)
    assert "stops being readable" in warnings and "4 GPU(s) are attached but holds 1" in warnings


def test_v13_blackwell_field_by_field() -> None:
    dump = dump_of("telegraf-rtx-pro-6000-blackwell-v13.xml")
    assert (dump.driver_version, dump.cuda_version) == ("590.44.01", "13.1")
    gpu = node_health(dump).gpus[0]
    assert gpu.identity.name == "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition"
    assert gpu.ecc_mode == EnabledPair(False, False)
    assert isinstance(gpu.ecc_uncorrected_volatile, NotSupported)
    assert gpu.recovery_action == 0  # <gpu_recovery_action>None<
    assert gpu.remapped_rows == RemappedRows(0, 0, False, False)
    assert (gpu.pcie.max_generation, gpu.pcie.gpu_max_generation) == (4, 5)
    assert gpu.persistence_mode is True
    assert (gpu.power_limit_w, gpu.default_power_limit_w) == (300.0, 300.0)
    assert not isinstance(gpu.processes, (NotSupported, Unavailable))
    assert [(p.pid, p.used_memory_bytes) for p in gpu.processes] == [(116860, 65710 * MIB)]


@pytest.mark.parametrize(
    ("name", "driver", "cuda", "gpu", "total_mib"),
    [
        ("jeffchengtw-hw2-windows-wddm-table.md", "456.71", "11.1", "GeForce RTX 2070", 8192),
        ("doc-windows-console-430-wddm-table.txt", "430.86", "10.2", "GeForce GTX 1060", 3072),
    ],
)
def test_windows_tables_show_the_driver_model_not_persistence(
    name: str, driver: str, cuda: str, gpu: str, total_mib: int
) -> None:
    dump = dump_of(name)
    assert (dump.kind, dump.driver_version, dump.cuda_version) == ("nvidia-smi-table", driver, cuda)
    assert dump.gpus[0].values["driver_model/current_dm"] == "WDDM"
    health = node_health(dump).gpus[0]
    assert (health.identity.name, health.identity.memory_total_bytes) == (gpu, total_mib * MIB)
    assert isinstance(health.persistence_mode, NotSupported)  # WDDM is not a persistence answer
