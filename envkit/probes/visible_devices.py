"""CUDA_VISIBLE_DEVICES, read the way the CUDA driver reads it. Pure: no machine access.

The rules, from NVIDIA's documentation (CUDA C Programming Guide, "CUDA Environment Variables";
the MPS guide on UUID prefixes) and PyTorch's ``torch.cuda._parse_visible_devices``, which was
written to mirror the driver:

* unset: every GPU is visible;
* entries are separated by commas; blanks around one do not count;
* an index is read like C's ``strtoul`` ("1gpu" is 1); an empty or negative entry ends the list,
  so "" and "-1" hide every GPU;
* ``GPU-<uuid>`` may be cut short to any prefix that fits one GPU only; a prefix that fits
  several, or a repeated entry, leaves CUDA with no device at all;
* ``MIG-<uuid>`` (R470+) or ``MIG-GPU-<uuid>/<gi>/<ci>`` (older) names a MIG device;
* the first entry's kind (index, GPU-, MIG-) holds for the list: another kind ends it;
* the list ends at the first entry that names no device; CUDA ignores it and all after it.

Indices are matched against NVML's, which follow PCI bus order. CUDA numbers GPUs fastest-first
unless CUDA_DEVICE_ORDER=PCI_BUS_ID, so on a machine with mixed GPU models an index may name a
different card for CUDA than for NVML.
"""

from __future__ import annotations

import re

from envkit.model import GpuInfo, VisibleDevices
from envkit.records import record

_GPU_PREFIX = "GPU-"
_MIG_PREFIX = "MIG-"
_NO_DEVICE = "no-device"
_AMBIGUOUS = "ambiguous"
_UNKNOWN = "unknown"
"""The entry is well formed but which GPU it names cannot be told from NVML's GPU list."""
_STRTOUL = re.compile(r"[+-]?\d+")


@record
class _Walk:
    matched: tuple[str, ...]
    indices: tuple[int, ...]
    unmatched: tuple[str, ...]
    emptied: bool
    """A repeated or ambiguous entry: CUDA then exposes no device at all."""


def parse_visible_devices(raw: str | None, gpus: tuple[GpuInfo, ...] | None) -> VisibleDevices:
    """What CUDA programs will see, given the variable's value and NVML's GPUs (None if unread)."""
    if raw is None:
        every = tuple(gpu.index for gpu in gpus) if gpus is not None else None
        return VisibleDevices(None, (), every, (), hides_all=False)
    entries = tuple(part.strip() for part in raw.split(",")) if raw.strip() else ()
    syntactic = _walk(entries, None)
    on_machine = _walk(entries, gpus) if gpus is not None else syntactic
    return VisibleDevices(
        raw=raw,
        entries=entries,
        visible_gpu_indices=None if gpus is None else on_machine.indices,
        unmatched=on_machine.unmatched,
        hides_all=syntactic.emptied or not syntactic.matched,
    )


def _walk(entries: tuple[str, ...], gpus: tuple[GpuInfo, ...] | None) -> _Walk:
    kind = _kind(entries[0]) if entries else ""
    keys: list[int | str] = []
    indices: list[int] = []
    for position, entry in enumerate(entries):
        key = _key(entry, kind)
        found = _NO_DEVICE if key is None else _lookup(entry, kind, key, gpus)
        if key is None or key in keys or found in (_NO_DEVICE, _AMBIGUOUS):
            emptied = key in keys or found == _AMBIGUOUS
            kept = () if emptied else tuple(indices)
            return _Walk(entries[:position], kept, entries[position:], emptied=emptied)
        keys.append(key)
        if isinstance(found, int) and found not in indices:
            indices.append(found)
    return _Walk(entries, tuple(indices), (), emptied=False)


def _kind(entry: str) -> str:
    for prefix in (_GPU_PREFIX, _MIG_PREFIX):
        if entry.startswith(prefix):
            return prefix
    return "index"


def _key(entry: str, kind: str) -> int | str | None:
    """What makes the entry unique, or None when it is not an entry of the list's kind."""
    if kind == "index":
        number = _STRTOUL.match(entry)
        return int(number.group()) if number and int(number.group()) >= 0 else None
    return entry if entry.startswith(kind) else None


def _lookup(entry: str, kind: str, key: int | str, gpus: tuple[GpuInfo, ...] | None) -> int | str:
    if gpus is None:
        return _UNKNOWN
    if kind == "index":
        return key if any(gpu.index == key for gpu in gpus) else _NO_DEVICE
    if kind == _GPU_PREFIX:
        return _by_uuid_prefix(entry, gpus)
    return _mig_parent(entry, gpus)


def _by_uuid_prefix(prefix: str, gpus: tuple[GpuInfo, ...]) -> int | str:
    found = [gpu.index for gpu in gpus if gpu.uuid is not None and gpu.uuid.startswith(prefix)]
    if len(found) > 1:
        return _AMBIGUOUS
    return found[0] if found else _NO_DEVICE


def _mig_parent(entry: str, gpus: tuple[GpuInfo, ...]) -> int | str:
    """The GPU that holds a MIG device, where NVML's GPU list can tell it."""
    legacy = entry[len(_MIG_PREFIX) :]
    if legacy.startswith(_GPU_PREFIX):
        parent = legacy.split("/", 1)[0]
        return next((gpu.index for gpu in gpus if gpu.uuid == parent), _NO_DEVICE)
    # A MIG-<uuid> is its own UUID, not its GPU's: only a single MIG-enabled GPU settles it.
    enabled = [gpu.index for gpu in gpus if gpu.mig_mode_current]
    if not enabled:
        return _NO_DEVICE
    return enabled[0] if len(enabled) == 1 else _UNKNOWN


__all__ = ["parse_visible_devices"]
