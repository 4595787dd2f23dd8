"""The exact values that identify the person and the machine, for ``envkit.redact``.

Decisions:

* Hostname: ``socket.gethostname()``, ``platform.node()`` and the snapshot's, each with its short
  form (before the first dot). No DNS lookup (``getfqdn`` can hang). ``localhost`` and distro
  default names (``ubuntu``, ``debian``...) are left out: they identify nothing, and ``ubuntu``
  would clobber the distro id in the snapshot.
* User: ``getpass.getuser()``, ``$USER``, ``$LOGNAME``, the password database entry of this uid,
  and ``$SUDO_USER`` (under sudo the real person's paths still show). Generic account names
  (``root``, ``ubuntu``, ``ec2-user``, ``jovyan``...) are left out: every cloud image has them,
  and redacting the word ``root`` would garble prose about the conda root. One-letter names are
  left out too: they would eat every standalone letter.
* Home: ``Path.home()``, ``$HOME``, the password database entry, their resolved forms, and the
  ``$SUDO_USER``'s home. Always kept, even ``/root`` for the user ``root``; ``/`` is dropped.
* GPU UUIDs: every NVML GPU's UUID, plus the ``GPU-``/``MIG-`` entries of
  ``CUDA_VISIBLE_DEVICES`` (CUDA accepts UUID prefixes there, so they are values of their own).
* IP and MAC addresses: from ``psutil.net_if_addrs()``, every interface but loopback; loopback,
  unspecified (``0.0.0.0``, ``::``) and all-zero MACs are left out; an IPv6 ``%scope`` is cut.
* The snapshot being rendered, which may be another machine's (``doctor --snapshot``): the
  homes and user names in its paths (``/home/NAME``, ``/Users/NAME``, ``C:\\Users\\NAME``), and
  the IP and MAC addresses in its environment variables (``MASTER_ADDR=10.0.0.7``) (#12).
"""

from __future__ import annotations

import contextlib
import getpass
import ipaddress
import os
import platform
import re
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

import psutil

from envkit.model import NvmlInfo, OsInfo, PythonEnvInfo, Snapshot
from envkit.redact import Identifiers

GENERIC_USER_NAMES = frozenset(
    {
        "root",
        "admin",
        "user",
        "ubuntu",
        "debian",
        "centos",
        "fedora",
        "ec2-user",
        "azureuser",
        "jovyan",
        "vagrant",
        "nobody",
    }
)
GENERIC_HOSTNAMES = frozenset({"localhost", "localhost.localdomain", "ubuntu", "debian"})
_ZERO_MAC = "00:00:00:00:00:00"


def probe_identifiers(snapshot: Snapshot, environ: Mapping[str, str] | None = None) -> Identifiers:
    env = os.environ if environ is None else environ
    users = _user_names(env)
    addresses = _interface_addresses()
    found = snapshot_identifiers(snapshot)
    all_users = _unique([*users, *found.user_names])
    return Identifiers(
        hostnames=_hostnames(snapshot),
        user_names=tuple(u for u in all_users if u not in GENERIC_USER_NAMES and len(u) > 1),
        home_paths=_unique([*_home_paths(env, users), *found.home_paths]),
        gpu_uuids=_gpu_uuids(snapshot),
        ip_addresses=_unique([*_ip_addresses(addresses), *found.ip_addresses]),
        mac_addresses=_unique([*_mac_addresses(addresses), *found.mac_addresses]),
    )


_HOME_IN_PATH = re.compile(
    r"(?<![A-Za-z0-9])((?:/home|/Users)/([A-Za-z0-9_.][A-Za-z0-9_.\-]*)|[A-Za-z]:\\Users\\([^\\/:*?\"<>|\s]+))"
)
_IPV4 = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])")
_MAC = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}[:\-]){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")


def snapshot_identifiers(snapshot: Snapshot) -> Identifiers:
    """The homes, user names and addresses a snapshot itself holds (it may be another
    machine's); exact values taken from its paths and its environment variables."""
    from envkit.codec import encode

    homes: list[str] = []
    users: list[str] = []
    for text in _strings(encode(snapshot)):
        for match in _HOME_IN_PATH.finditer(text):
            homes.append(match.group(1))
            users.append(match.group(2) or match.group(3))
    environment = snapshot.python.environment if isinstance(snapshot.python, PythonEnvInfo) else ()
    values = [value for _, value in environment]
    ips = [ip for value in values for ip in _IPV4.findall(value)]
    macs = [mac.lower().replace("-", ":") for value in values for mac in _MAC.findall(value)]
    return Identifiers(
        user_names=_unique(users),
        home_paths=_unique(homes),
        ip_addresses=_ip_addresses((socket.AF_INET, ip) for ip in ips),
        mac_addresses=_mac_addresses((int(psutil.AF_LINK), mac) for mac in macs),
    )


def _strings(value: object) -> Iterable[str]:
    """Every string in an encoded snapshot (lists and dicts, no recursion limit to hit)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _hostnames(snapshot: Snapshot) -> tuple[str, ...]:
    names = [socket.gethostname(), platform.node()]
    if isinstance(snapshot.os, OsInfo):
        names.append(snapshot.os.hostname)
    with_short = [form for name in names for form in (name, name.split(".")[0])]
    return _unique(name for name in with_short if name.lower() not in GENERIC_HOSTNAMES)


def _user_names(env: Mapping[str, str]) -> tuple[str, ...]:
    names: list[str | None] = [env.get("USER"), env.get("LOGNAME"), env.get("SUDO_USER")]
    with contextlib.suppress(Exception):  # getpass raises OSError, KeyError... without a user
        names.append(getpass.getuser())
    names.append(_password_entry_name())
    return _unique(names)


def _password_entry_name() -> str | None:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def _home_paths(env: Mapping[str, str], users: Iterable[str]) -> tuple[str, ...]:
    homes: list[str | None] = [env.get("HOME"), _password_home(None)]
    with contextlib.suppress(RuntimeError, KeyError):
        homes.append(str(Path.home()))
    homes += [_password_home(user) for user in users]
    resolved = [os.path.realpath(home) for home in homes if home]
    return _unique(home.rstrip("/") for home in [*homes, *resolved] if home and home != "/")


def _password_home(user: str | None) -> str | None:
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid()) if user is None else pwd.getpwnam(user)
        return entry.pw_dir
    except (ImportError, KeyError, AttributeError):
        return None


def _gpu_uuids(snapshot: Snapshot) -> tuple[str, ...]:
    uuids: list[str | None] = []
    if isinstance(snapshot.nvml, NvmlInfo):
        uuids += [gpu.uuid for gpu in snapshot.nvml.gpus]
    uuids += [
        entry
        for entry in snapshot.cuda_visible_devices.entries
        if entry.upper().startswith(("GPU-", "MIG-"))
    ]
    return _unique(uuids)


def _interface_addresses() -> list[tuple[int, str]]:
    try:
        interfaces = psutil.net_if_addrs()
    except (OSError, RuntimeError):
        return []
    return [
        (int(address.family), address.address)
        for name, addresses in interfaces.items()
        if name != "lo"
        for address in addresses
        if address.address
    ]


def _ip_addresses(addresses: Iterable[tuple[int, str]]) -> tuple[str, ...]:
    found = []
    for family, text in addresses:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if not (address.is_loopback or address.is_unspecified):
            found.append(address.compressed)
    return _unique(found)


def _mac_addresses(addresses: Iterable[tuple[int, str]]) -> tuple[str, ...]:
    link = int(psutil.AF_LINK)
    macs = (text.lower() for family, text in addresses if family == link)
    return _unique(mac for mac in macs if mac != _ZERO_MAC and len(mac) >= 11)
