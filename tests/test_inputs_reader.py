"""Package lists, environment reports, envkit's own JSON and pasted pages, recognised by content."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from envkit.inputs import read_inputs
from envkit.inputs.model import EnvReport, PackageList, SmiDump
from envkit.inputs.snapshot import snapshot_from
from envkit.model import NvmlInfo, Unavailable, normalize_name
from envkit.probes import collect
from envkit.render.json_doc import snapshot_json
from envkit.target import resolve_target

FIXTURES = Path(__file__).parent / "fixtures"


def _pip(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _installed() -> dict[str, str]:
    return {normalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_real_pip_list_is_read_row_by_row() -> None:
    (part,) = read_inputs([("pip-list.txt", _pip("list"))]).parts
    assert part.kind == "pip-list" and isinstance(part.content, PackageList)
    read = {normalize_name(d.name): d.version for d in part.content.distributions}
    assert read["typer"] == _installed()["typer"]
    assert read["pytest"] == _installed()["pytest"]


def test_real_pip_freeze_is_read() -> None:
    (part,) = read_inputs([("requirements.txt", _pip("freeze"))]).parts
    assert part.kind == "pip-freeze" and isinstance(part.content, PackageList)
    read = {normalize_name(d.name): d.version for d in part.content.distributions}
    assert read["psutil"] == _installed()["psutil"]


def test_real_conda_list_excerpt() -> None:
    text = (FIXTURES / "inputs" / "conda-list-miniconda-base-excerpt.txt").read_text(
        encoding="utf-8"
    )
    (part,) = read_inputs([("conda.txt", text)]).parts
    assert part.kind == "conda-list" and isinstance(part.content, PackageList)
    assert part.content.prefix == "/home/user/miniconda3"
    rows = {d.name: d.version for d in part.content.distributions}
    assert rows["conda"] == "4.7.12" and rows["_libgcc_mutex"] == "0.1" and len(rows) == 8


# Synthetic: written here to conda's documented --export, --explicit and env export formats; no
# real published output of these was found this session.
CONDA_EXPORT = """# This file may be used to create an environment using:
# $ conda create --name <env> --file <this file>
# platform: linux-64
python=3.10.13=h955ad1f_0
tensorflow=2.12.0=gpu_py310h6d3a2e4_0
"""
CONDA_EXPLICIT = """# platform: linux-64
@EXPLICIT
https://repo.anaconda.com/pkgs/main/linux-64/python-3.10.13-h955ad1f_0.conda
https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py310hb13e2d6_0.conda
"""
CONDA_ENV = """name: tf
channels:
  - conda-forge
dependencies:
  - python=3.9.18=h955ad1f_0
  - cudatoolkit=11.2.2
  - pip:
    - tensorflow==2.10.1
prefix: /home/me/miniconda3/envs/tf
"""


def test_conda_export_explicit_and_env_export() -> None:
    export, explicit, env = (
        read_inputs([(name, text)]).parts[0].content
        for name, text in (("a", CONDA_EXPORT), ("b", CONDA_EXPLICIT), ("c", CONDA_ENV))
    )
    assert isinstance(export, PackageList) and export.python_version == "3.10.13"
    assert isinstance(explicit, PackageList)
    assert {d.name: d.version for d in explicit.distributions}["numpy"] == "1.26.4"
    assert isinstance(env, PackageList) and env.kind == "conda-env-export"
    assert (env.env_name, env.prefix, env.python_version) == (
        "tf",
        "/home/me/miniconda3/envs/tf",
        "3.9.18",
    )
    assert {d.name: d.version for d in env.distributions}["tensorflow"] == "2.10.1"


def test_real_pasted_page_every_part_found() -> None:
    text = (FIXTURES / "inputs" / "paddle-rfc-quick-install-env-reports.md").read_text(
        encoding="utf-8"
    )
    reading = read_inputs([("page.md", text)])
    kinds = [part.kind for part in reading.parts]
    assert kinds == ["torch-collect-env", "tf-env-collect", "nvidia-smi-table"]
    torch, tf, table = (part.content for part in reading.parts)
    assert isinstance(torch, EnvReport) and isinstance(tf, EnvReport) and isinstance(table, SmiDump)
    assert torch.facts["driver_version"] == "460.32.03" and torch.facts["python"] == "3.7.4"
    assert torch.facts["cuda_runtime"] == "11.2.152"
    assert torch.facts["gpu_names"] == "A100-SXM4-40GB"
    assert tf.facts["tensorflow"] == "2.9.1"
    assert {d.name: d.version for d in tf.distributions}["protobuf"] == "3.19.4"
    assert (table.driver_version, table.cuda_version) == ("460.32.03", "11.2")
    assert table.gpus[0].values["product_name"] == "A100-SXM4-40GB"
    assert reading.leftover  # the shell sessions no reader claims go to the log seam
    # each read as a log whose line numbers count in the whole page, so its source is the page
    assert all(source == "page.md" for source, _ in reading.leftover)
    assert len(reading.logs) == 1  # the pieces of one input are one log
    for log in reading.logs:
        for line in log.unrecognised:
            assert text.split("\n")[line.line_number - 1].strip() == line.text.strip()


def test_envkit_report_json_round_trip() -> None:
    snapshot = collect(resolve_target(sys.executable))
    reading = read_inputs([("me.json", snapshot_json(snapshot))])
    assert reading.parts[0].kind == "envkit-report"
    again = snapshot_from(reading)
    assert again.os == snapshot.os and again.python == snapshot.python


def test_real_nvml_recording_is_recognised() -> None:
    text = (FIXTURES / "nvml" / "driver-not-loaded.json").read_text(encoding="utf-8")
    (part,) = read_inputs([("rec.json", text)]).parts
    assert part.kind == "nvml-recording"
    assert json.loads(text)["meta"] == part.content


def test_snapshot_parts_not_in_input_are_unavailable() -> None:
    text = (FIXTURES / "nvidia-smi" / "telegraf-tesla-t4-v11.xml").read_text(encoding="utf-8")
    snapshot = snapshot_from(read_inputs([("t4.xml", text)]))
    assert isinstance(snapshot.nvml, NvmlInfo) and snapshot.nvml.gpus[0].name == "Tesla T4"
    for part in (snapshot.os, snapshot.python, snapshot.tensorflow, snapshot.conda):
        assert isinstance(part, Unavailable) and part.code == "not-in-input"


def test_real_nvml_recording_failure_state_reaches_the_snapshot() -> None:
    text = (FIXTURES / "nvml" / "driver-not-loaded.json").read_text(encoding="utf-8")
    snapshot = snapshot_from(read_inputs([("rec.json", text)]))
    assert isinstance(snapshot.nvml, Unavailable) and snapshot.nvml.code == "nvml-driver-not-loaded"


def test_an_r390_dump_without_cuda_version_gets_the_driver_tables_cuda() -> None:
    text = (FIXTURES / "nvidia-smi" / "nagios-tesla-m10-390-v9-first-gpu.xml").read_text()
    snapshot = snapshot_from(read_inputs([("m10.xml", text)]))
    assert isinstance(snapshot.nvml, NvmlInfo)
    assert (snapshot.nvml.driver_version, snapshot.nvml.cuda_driver_version) == ("390.94", "9.1")
