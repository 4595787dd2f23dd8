"""``nvidia-smi -q -x``: every DTD from the R3xx era to v13, read with the standard library.

The document is parsed incrementally, so a truncated dump is read as far as it goes and the
warning names the line where it stopped. Entity declarations are refused before parsing (no
entity is ever expanded); nvidia-smi never writes one, and the DOCTYPE's external DTD is never
fetched (expat does not load external DTDs).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from envkit.inputs.model import SmiDump, SmiGpu
from envkit.model import GpuProcess

if TYPE_CHECKING:  # loaded when a document is read: most inputs are not XML
    import xml.etree.ElementTree as ET

_SKIPPED_SUBTREES = frozenset(
    {"supported_clocks", "processes", "accounted_processes", "mig_devices", "voltage"}
)
_ENTITY = re.compile(r"<!ENTITY", re.IGNORECASE)
MIB = 1024**2


class XmlRefused(ValueError):
    """The document declares entities: envkit does not expand them."""


def looks_like(text: str) -> bool:
    return "<nvidia_smi_log" in text[:4096] or "<nvidia_smi>" in text[:4096]


def read_xml(text: str) -> tuple[SmiDump, tuple[str, ...]]:
    """The dump and the warnings (where a truncated document stopped)."""
    if _ENTITY.search(text):
        raise XmlRefused("the XML declares entities; nvidia-smi never does, envkit expands none")
    root, warning = _parse_partial(text[text.find("<") :] if "<" in text else text)
    if root is None:
        raise ValueError(warning or "no nvidia_smi_log element")
    gpus = tuple(_gpu(index, element) for index, element in enumerate(root.findall("gpu")))
    dump = SmiDump(
        kind="nvidia-smi-xml",
        driver_version=_text(root, "driver_version"),
        cuda_version=_text(root, "cuda_version"),
        gpus=gpus,
        attached_gpus=_int(_text(root, "attached_gpus")),
        timestamp=_text(root, "timestamp"),
    )
    warnings: tuple[str, ...] = (warning,) if warning else ()
    if dump.attached_gpus is not None and dump.attached_gpus > len(gpus):
        warnings += (
            f"it says {dump.attached_gpus} GPU(s) are attached but holds {len(gpus)}: "
            "a cut or filtered dump; the missing GPUs are not judged",
        )
    return dump, warnings


def _parse_partial(text: str) -> tuple[ET.Element | None, str | None]:
    import xml.etree.ElementTree as ET

    parser: ET.XMLPullParser[Any] = ET.XMLPullParser(events=("start",))
    root: ET.Element | None = None
    try:
        parser.feed(text)
        root = _first_start(parser, root)
        parser.close()
    except ET.ParseError as error:
        root = _first_start(parser, root)
        line = error.position[0] if error.position else "?"
        return root, f"the XML stops being readable at line {line}; read as far as that"
    return root, None


def _first_start(parser: ET.XMLPullParser[Any], root: ET.Element | None) -> ET.Element | None:
    import xml.etree.ElementTree as ET

    for item in parser.read_events():
        element: object = item[1] if len(item) > 1 else None
        if root is None and isinstance(element, ET.Element):
            root = element
    return root


def _gpu(index: int, element: ET.Element) -> SmiGpu:
    values: dict[str, str] = {}
    _flatten(element, "", values)
    bus_id = element.get("id")
    if bus_id and "pci/pci_bus_id" not in values:
        values["pci/pci_bus_id"] = bus_id
    processes = element.find("processes")
    mig = element.find("mig_devices")
    return SmiGpu(
        index=index,
        values=values,
        processes=None if processes is None else _processes(processes),
        mig_devices=None if mig is None else len(mig.findall("mig_device")),
    )


def _flatten(element: ET.Element, prefix: str, values: dict[str, str]) -> None:
    for child in element:
        path = f"{prefix}{child.tag}"
        if child.tag in _SKIPPED_SUBTREES:
            continue
        if len(child):
            _flatten(child, path + "/", values)
        else:
            values.setdefault(path, (child.text or "").strip())


def _processes(element: ET.Element) -> tuple[GpuProcess, ...]:
    found = []
    for info in element.findall("process_info"):
        pid = _int(_text(info, "pid"))
        if pid is None:
            continue
        kind = (_text(info, "type") or "C").upper()
        found.append(
            GpuProcess(
                pid=pid,
                used_memory_bytes=mib_to_bytes(_text(info, "used_memory")),
                kind="graphics" if kind == "G" else "compute",
            )
        )
    return tuple(found)


def mib_to_bytes(text: str | None) -> int | None:
    match = re.match(r"\s*(\d+)\s*MiB", text or "")
    return int(match.group(1)) * MIB if match else None


def _text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().isdigit() else None
