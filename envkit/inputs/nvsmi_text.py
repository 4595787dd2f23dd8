"""nvidia-smi's text outputs: ``-q``, the default table, and the lines it prints when it fails.

Each reader returns an :class:`SmiDump` whose GPU values use the ``-q -x`` element paths, so one
adapter (health.py, snapshot.py) judges every form.
"""

from __future__ import annotations

import re

from envkit.inputs.model import SmiDump, SmiGpu
from envkit.inputs.nvsmi_xml import mib_to_bytes
from envkit.model import GpuProcess, Unavailable

# --- failure lines -----------------------------------------------------------------------------

_FAILURES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"NVIDIA-SMI has failed because it couldn.t communicate with the NVIDIA driver"),
        "nvml-driver-not-loaded",
        "the NVIDIA kernel module is not loaded; load it with 'sudo modprobe nvidia', and if "
        "that fails reinstall the driver for the running kernel and reboot",
    ),
    (
        re.compile(r"Failed to initialize NVML: Driver/library version mismatch", re.IGNORECASE),
        "nvml-version-mismatch",
        "the NVML library and the loaded kernel module are different versions, usually after a "
        "driver upgrade without a restart; reboot",
    ),
    (
        re.compile(r"Failed to initialize NVML: Insufficient Permissions", re.IGNORECASE),
        "nvml-no-permission",
        "NVML was denied the GPU device files; run as a user allowed to open /dev/nvidia*",
    ),
    (
        re.compile(r"NVIDIA-SMI couldn.t find libnvidia-ml\.so library"),
        "nvml-library-not-found",
        "libnvidia-ml.so.1 is not installed or not on the library path: install the driver",
    ),
    (
        re.compile(r"Failed to initialize NVML: (?!Driver/library)(.+)", re.IGNORECASE),
        "nvml-init-failed",
        "NVML failed to start; run nvidia-smi as root and read the kernel log for the cause",
    ),
)
_NO_DEVICES = re.compile(r"^\s*No devices were found\s*$", re.MULTILINE)
_LOST_GPU = re.compile(
    r"Unable to determine the device handle for GPU\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:"
    r"[0-9A-Fa-f]{2}\.[0-9A-Fa-f]):\s*(.+?)\s*$",
    re.MULTILINE,
)
_NVML_LIBRARY = re.compile(r"NVML library version:\s*([0-9.]+)")


_FAILURE_WORDS = ("nvidia-smi", "nvml")
"""Every pattern of _FAILURES holds one of these, in any case: a text without them is not searched
(the case-blind searches of a long log were most of the time spent deciding what it is)."""


def failure_found(text: str) -> bool:
    lowered = text.lower()
    if any(word in lowered for word in _FAILURE_WORDS) and any(
        pattern.search(text) for pattern, _, _ in _FAILURES
    ):
        return True
    if "No devices were found" in text and _NO_DEVICES.search(text):
        return True
    return "Unable to determine the device handle" in text and bool(_LOST_GPU.search(text))


def read_failure(text: str) -> SmiDump:
    """The NVML failure state nvidia-smi's own message names."""
    for pattern, code, hint in _FAILURES:
        match = pattern.search(text)
        if match:
            line = _line_at(text, match.start())
            library = _NVML_LIBRARY.search(text)
            extra = f" (NVML library {library.group(1)})" if library else ""
            failure = Unavailable(code, f"nvidia-smi says {line!r}{extra}: {hint}.")
            return SmiDump("nvidia-smi-failure", None, None, (), failure=failure)
    lost = [
        SmiGpu(
            index=index,
            values={"pci/pci_bus_id": match.group(1)},
            error=Unavailable(
                "nvml-gpu-lost",
                f"nvidia-smi says 'Unable to determine the device handle for GPU "
                f"{match.group(1)}: {match.group(2)}': the GPU has fallen off the bus or hung; "
                "check the kernel log for Xid 79, then reset the GPU or reboot",
            ),
        )
        for index, match in enumerate(_LOST_GPU.finditer(text))
    ]
    return SmiDump("nvidia-smi-failure", None, None, tuple(lost))


def _line_at(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)].strip()


# --- nvidia-smi -q -----------------------------------------------------------------------------

_BANNER = "==============NVSMI LOG=============="
_GPU_HEADER = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-9A-Fa-f])\s*$")
_KEY_VALUE = re.compile(r"^(\s*)([^:]+?)\s+:\s?(.*)$")

_QUERY_KEYS: dict[str, str] = {
    "product name": "product_name",
    "persistence mode": "persistence_mode",
    "gpu uuid": "uuid",
    "mig mode/current": "mig_mode/current_mig",
    "mig mode/pending": "mig_mode/pending_mig",
    "pci/bus id": "pci/pci_bus_id",
    "pci/gpu link info/pcie generation/max": "pci/pci_gpu_link_info/pcie_gen/max_link_gen",
    "pci/gpu link info/pcie generation/current": "pci/pci_gpu_link_info/pcie_gen/current_link_gen",
    "pci/gpu link info/pcie generation/device max": (
        "pci/pci_gpu_link_info/pcie_gen/max_device_link_gen"
    ),
    "pci/gpu link info/link width/max": "pci/pci_gpu_link_info/link_widths/max_link_width",
    "pci/gpu link info/link width/current": "pci/pci_gpu_link_info/link_widths/current_link_width",
    "fb memory usage/total": "fb_memory_usage/total",
    "fb memory usage/used": "fb_memory_usage/used",
    "compute mode": "compute_mode",
    "ecc mode/current": "ecc_mode/current_ecc",
    "ecc mode/pending": "ecc_mode/pending_ecc",
    "retired pages/single bit ecc": "retired_pages/multiple_single_bit_retirement/retired_count",
    "retired pages/double bit ecc": "retired_pages/double_bit_retirement/retired_count",
    "retired pages/pending page blacklist": "retired_pages/pending_retirement",
    "retired pages/pending page retirement": "retired_pages/pending_retirement",
    "remapped rows/correctable error": "remapped_rows/remapped_row_corr",
    "remapped rows/uncorrectable error": "remapped_rows/remapped_row_unc",
    "remapped rows/pending": "remapped_rows/remapped_row_pending",
    "remapped rows/remapping failure occurred": "remapped_rows/remapped_row_failure",
    "temperature/gpu current temp": "temperature/gpu_temp",
    "temperature/gpu slowdown temp": "temperature/gpu_temp_slow_threshold",
    "power readings/enforced power limit": "power_readings/enforced_power_limit",
    "power readings/default power limit": "power_readings/default_power_limit",
    "gpu power readings/current power limit": "gpu_power_readings/current_power_limit",
    "gpu power readings/default power limit": "gpu_power_readings/default_power_limit",
    "utilization/gpu": "utilization/gpu_util",
    "power readings/power draw": "power_readings/power_draw",
    "gpu power readings/power draw": "gpu_power_readings/power_draw",
    "gpu power readings/average power draw": "gpu_power_readings/average_power_draw",
    "gpu power readings/instant power draw": "gpu_power_readings/instant_power_draw",
}


def looks_like_query(text: str) -> bool:
    return _BANNER in text


def read_query(text: str) -> tuple[SmiDump, tuple[str, ...]]:
    header: dict[str, str] = {}
    gpus: list[SmiGpu] = []
    current: dict[str, str] | None = None
    stack: list[tuple[int, str]] = []
    for raw in text[text.find(_BANNER) + len(_BANNER) :].splitlines():
        line = raw.rstrip()
        gpu_match = _GPU_HEADER.match(line.strip())
        if gpu_match and len(line) - len(line.lstrip()) == 0:
            current = {"pci/pci_bus_id": gpu_match.group(1)}
            gpus.append(SmiGpu(index=len(gpus), values=current))
            stack = []
            continue
        if not line.strip() or line.strip() == "--":
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        pair = _KEY_VALUE.match(line)
        if pair is None:
            stack.append((indent, line.strip().lower()))
            continue
        key = "/".join([name for _, name in stack] + [pair.group(2).strip().lower()])
        if current is None:
            header[key] = pair.group(3).strip()
        elif key in _QUERY_KEYS:
            current.setdefault(_QUERY_KEYS[key], pair.group(3).strip())
    cuda = header.get("cuda version")
    dump = SmiDump(
        kind="nvidia-smi-query",
        driver_version=header.get("driver version"),
        cuda_version=None if cuda in (None, "Not Found", "N/A") else cuda,
        gpus=tuple(gpus),
        attached_gpus=int(header["attached gpus"])
        if header.get("attached gpus", "").isdigit()
        else None,
        timestamp=header.get("timestamp"),
    )
    warnings = _count_warning(dump)
    return dump, warnings


def _count_warning(dump: SmiDump) -> tuple[str, ...]:
    if dump.attached_gpus is not None and dump.attached_gpus != len(dump.gpus):
        return (
            f"it says {dump.attached_gpus} GPU(s) are attached but holds {len(dump.gpus)}: "
            "a cut or filtered output; the missing GPUs are not judged",
        )
    return ()


# --- the default table -------------------------------------------------------------------------

_TABLE_HEADER = re.compile(
    r"NVIDIA-SMI\s+(\S+)\s+Driver Version:\s*(\S+)(?:\s+CUDA Version:\s*(\S+))?"
)
_ROW_ONE = re.compile(
    r"^\|\s+(\d+)\s+(.+?)\s+(On|Off|WDDM|TCC)\s*\|\s*([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\."
    r"[0-9A-Fa-f])\s+(On|Off)\s*\|\s*(.*?)\s*\|\s*$"
)
_ROW_TWO = re.compile(
    r"^\|\s*(\S+)\s+(\d+)C\s+(\S+)\s+(\S+)\s*/\s*(\S+)\s*\|\s*(\d+)MiB\s*/\s*(\d+)MiB\s*\|"
    r"\s*(\S+)\s+(.+?)\s*\|\s*$"
)
_ROW_THREE = re.compile(r"^\|\s*\|\s*\|\s*(\S+)\s*\|\s*$")
_PROCESS = re.compile(
    r"^\|\s+(\d+)\s+(?:(\S+)\s+(\S+)\s+)?(\d+)\s+(C\+G|C|G)\s+(.*?)\s+(\d+MiB|N/A)\s*\|\s*$"
)


def looks_like_table(text: str) -> bool:
    return bool(_TABLE_HEADER.search(text))


def read_table(text: str) -> tuple[SmiDump, tuple[str, ...]]:
    header = _TABLE_HEADER.search(text)
    lines = text[header.start() if header else 0 :].splitlines()
    gpus: list[SmiGpu] = []
    processes: dict[int, list[GpuProcess]] = {}
    in_processes = False
    saw_process_section = False
    for line in (raw.strip() for raw in lines):
        if "Processes:" in line:
            in_processes = saw_process_section = True
            continue
        if in_processes:
            _table_process(line, processes)
            continue
        _table_gpu_line(line, gpus)
    found = tuple(
        SmiGpu(
            index=gpu.index,
            values=gpu.values,
            processes=tuple(processes.get(gpu.index, ())) if saw_process_section else None,
        )
        for gpu in gpus
    )
    dump = SmiDump(
        kind="nvidia-smi-table",
        driver_version=header.group(2) if header else None,
        cuda_version=header.group(3) if header and header.group(3) else None,
        gpus=found,
    )
    warnings: tuple[str, ...] = ()
    if gpus and not saw_process_section:
        warnings = ("the table stops before its Processes section; read as far as that",)
    if gpus and "fb_memory_usage/total" not in gpus[-1].values:
        warnings = (f"the table stops inside GPU {gpus[-1].index}'s rows; read as far as that",)
    return dump, warnings


def _table_gpu_line(line: str, gpus: list[SmiGpu]) -> None:
    first = _ROW_ONE.match(line)
    if first:
        values = {
            "product_name": first.group(2),
            "pci/pci_bus_id": first.group(4),
            "table/volatile_uncorrected_ecc": first.group(6),
        }
        if first.group(3) in ("WDDM", "TCC"):  # Windows shows the driver model there instead
            values["driver_model/current_dm"] = first.group(3)
        else:
            values["persistence_mode"] = "Enabled" if first.group(3) == "On" else "Disabled"
        gpus.append(SmiGpu(index=int(first.group(1)), values=values))
        return
    if not gpus:
        return
    values = gpus[-1].values
    second = _ROW_TWO.match(line)
    if second and "fb_memory_usage/total" not in values:
        values["temperature/gpu_temp"] = f"{second.group(2)} C"
        values["fb_memory_usage/used"] = f"{second.group(6)} MiB"
        values["fb_memory_usage/total"] = f"{second.group(7)} MiB"
        values["compute_mode"] = second.group(9).replace("E. Process", "Exclusive_Process")
        if second.group(5) not in ("N/A", "ERR!"):
            values["power_readings/enforced_power_limit"] = second.group(5).replace("W", " W")
        if second.group(4) not in ("N/A", "ERR!"):
            values["power_readings/power_draw"] = second.group(4).replace("W", " W")
        if second.group(8).endswith("%"):
            values["utilization/gpu_util"] = second.group(8).replace("%", " %")
        return
    third = _ROW_THREE.match(line)
    if third and "mig_mode/current_mig" not in values and "fb_memory_usage/total" in values:
        values["mig_mode/current_mig"] = third.group(1)


def _table_process(line: str, processes: dict[int, list[GpuProcess]]) -> None:
    match = _PROCESS.match(line)
    if match is None:
        return
    processes.setdefault(int(match.group(1)), []).append(
        GpuProcess(
            pid=int(match.group(4)),
            used_memory_bytes=mib_to_bytes(match.group(7).replace("MiB", " MiB")),
            kind="graphics" if match.group(5) == "G" else "compute",
        )
    )
