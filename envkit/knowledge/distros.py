"""How each Linux distribution family installs, builds, signs and repairs the NVIDIA driver.

The table is data (``data/distros.json``); a family is chosen by /etc/os-release's ID, then by
each word of ID_LIKE in order, else the generic route, which names no distribution's commands.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from functools import cache

from envkit.knowledge import _data
from envkit.records import record

GENERIC = "generic"


@record
class DistroFamily:
    key: str
    """ubuntu, debian, fedora, rhel, arch, suse or generic."""
    name: str
    ids: tuple[str, ...]
    like: tuple[str, ...]
    docs: str
    find_driver: tuple[str, ...]
    repo_setup: tuple[str, ...]
    """Steps that must come before the install they feed (a repository, its key)."""
    install_open: tuple[str, ...]
    """The current driver with the open kernel modules, for Turing and newer."""
    install: tuple[str, ...]
    """The current driver where the GPU generation is not known."""
    install_branch: tuple[str, ...]
    """One chosen branch ({branch}); () where the family has no per-branch packages."""
    legacy: tuple[tuple[str, tuple[str, ...]], ...]
    """(last branch of a generation, the steps that install it), e.g. 470 for Kepler."""
    legacy_verified: bool
    initramfs: tuple[str, ...]
    module_check: tuple[str, ...]
    module_rebuild: tuple[str, ...]
    secure_boot_key: str | None
    """Where the family's module signing key (the MOK to enrol) lies; None where none."""
    secure_boot_sign: tuple[str, ...]
    signed_modules: tuple[str, ...]
    """Prebuilt modules signed by the distribution ({branch}), needing no enrolment."""
    mismatch_check: tuple[str, ...]
    mismatch_repair: tuple[str, ...]
    hold: tuple[str, ...]
    remove_in_wsl: tuple[str, ...]
    sources: tuple[str, ...]
    releases: tuple[tuple[int, _data.Obj], ...] = field(default=())
    """(first major release, overrides of install lists) for releases that differ."""

    @property
    def is_generic(self) -> bool:
        return self.key == GENERIC

    def legacy_steps(self, branch: str) -> tuple[str, ...] | None:
        return dict(self.legacy).get(branch)

    def for_release(self, release_major: int | None) -> DistroFamily:
        """The family with the install lists of ``release_major`` where they differ."""
        chosen: _data.Obj | None = None
        for first_major, overrides in self.releases:
            if release_major is not None and release_major >= first_major:
                chosen = overrides
        if chosen is None:
            return self
        return _with_overrides(self, chosen)


@record
class DistroSteps:
    """Steps every family shares."""

    mok_enrolment: tuple[str, ...]
    nouveau_blacklist: tuple[str, ...]


def _steps(row: _data.Obj, key: str) -> tuple[str, ...]:
    return _data.texts(row, key) if key in row else ()


def _legacy(row: _data.Obj) -> tuple[tuple[str, tuple[str, ...]], ...]:
    group = _data.opt_obj(row, "legacy")
    if group is None:
        return ()
    return tuple((branch, _data.texts(group, branch)) for branch in group)


def _family(row: _data.Obj) -> DistroFamily:
    releases = (
        tuple((_data.opt_int(item, "min_major") or 0, item) for item in _data.objs(row, "releases"))
        if "releases" in row
        else ()
    )
    return DistroFamily(
        key=_data.text(row, "key"),
        name=_data.text(row, "name"),
        ids=_steps(row, "ids"),
        like=_steps(row, "like"),
        docs=_data.text(row, "docs"),
        find_driver=_steps(row, "find_driver"),
        repo_setup=_steps(row, "repo_setup"),
        install_open=_steps(row, "install_open"),
        install=_steps(row, "install"),
        install_branch=_steps(row, "install_branch"),
        legacy=_legacy(row),
        legacy_verified=_data.flag(row, "legacy_verified", True),
        initramfs=_steps(row, "initramfs"),
        module_check=_steps(row, "module_check"),
        module_rebuild=_steps(row, "module_rebuild"),
        secure_boot_key=_data.opt_text(row, "secure_boot_key"),
        secure_boot_sign=_steps(row, "secure_boot_sign"),
        signed_modules=_steps(row, "signed_modules"),
        mismatch_check=_steps(row, "mismatch_check"),
        mismatch_repair=_steps(row, "mismatch_repair"),
        hold=_steps(row, "hold"),
        remove_in_wsl=_steps(row, "remove_in_wsl"),
        sources=_data.source_keys(row),
        releases=releases,
    )


def _with_overrides(family: DistroFamily, overrides: _data.Obj) -> DistroFamily:
    changes: dict[str, object] = {}
    for name in ("install_open", "install", "install_branch", "repo_setup"):
        if name in overrides:
            changes[name] = _data.texts(overrides, name)
    if "legacy" in overrides:
        changes["legacy"] = _legacy(overrides)
    return dataclasses.replace(family, **changes)  # type: ignore[arg-type]


@cache
def distro_families() -> tuple[DistroFamily, ...]:
    return tuple(map(_family, _data.objs(_data.load("distros.json"), "families")))


@cache
def distro_steps() -> DistroSteps:
    data = _data.load("distros.json")
    return DistroSteps(
        mok_enrolment=_data.texts(data, "mok_enrolment"),
        nouveau_blacklist=_data.texts(data, "nouveau_blacklist"),
    )


def distro_family(distro_id: str | None, id_like: tuple[str, ...] = ()) -> DistroFamily:
    """The family of /etc/os-release's ID (then each ID_LIKE word); the generic one if none."""
    families = distro_families()
    wanted = (distro_id or "").strip().lower()
    for family in families:
        if wanted and wanted in family.ids:
            return family
    for word in id_like:
        for family in families:
            if word.strip().lower() in family.like:
                return family
    return next(family for family in families if family.is_generic)
