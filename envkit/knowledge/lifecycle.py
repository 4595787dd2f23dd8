"""End of life of the stack's layers: Python, TensorFlow, Keras, CUDA, distributions, NVIDIA
driver branches and the GPU generations each branch is the last for. Facts from
data/lifecycle.json, each with its sources; "today" is always passed in (a snapshot's
``taken_at``), so a diagnosis is the same on every replay."""

from __future__ import annotations

import datetime as dt
from functools import cache

from envkit.knowledge import _data
from envkit.knowledge.versions import major_minor, major_minor_key, numeric_parts
from envkit.records import record


@record
class Lifetime:
    """One release of one product and the day its support ends."""

    product: str
    """python, tensorflow, keras, cuda, ubuntu, debian, rhel, rocky, centos, nvidia-driver."""
    version: str
    name: str
    """As people write it: Python 3.6, Ubuntu 18.04 LTS, TensorFlow 1.x, NVIDIA driver 470."""
    released: dt.date | None
    eol: dt.date | None
    """End of regular support; None where none is published (an ongoing branch)."""
    extended_until: dt.date | None
    """End of paid or extended support (Ubuntu Pro ESM, Debian LTS, RHEL ELS), if any."""
    extended_name: str | None
    text: str | None
    sources: tuple[str, ...]
    verified: bool
    warn: bool = True
    """False for a line that ended but is no reason to warn by itself (Keras 2.6-2.15, which
    age with the TensorFlow they belong to)."""

    def ended(self, today: dt.date) -> bool:
        return self.eol is not None and self.eol <= today


@record
class DriverBranch:
    branch: str
    """The branch number, as in nvidia-driver-470: 470."""
    kind: str
    """LTSB (long-term), PB (production) or NFB (new feature)."""
    released: dt.date | None
    eol: dt.date | None
    last_for: tuple[str, ...]
    """GPU architectures for which this is the last branch: ("Kepler",) for 470."""
    sources: tuple[str, ...]
    verified: bool


@record
class GpuGeneration:
    architecture: str
    compute_capabilities: tuple[str, ...]
    first_cuda: str
    last_cuda: str
    """10.x, 12.x, or ongoing."""
    last_driver_branch: str | None
    """None while NVIDIA still ships new branches for it."""
    sources: tuple[str, ...]
    verified: bool


def parse_date(text: str | None) -> dt.date | None:
    """2021-12-23 -> that day; 2026-10 -> 2026-10-31 (a month-only date means its last day)."""
    if not text:
        return None
    parts = [int(part) for part in text.split("-")]
    if len(parts) == 2:
        year, month = parts
        first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
        return first_of_next - dt.timedelta(days=1)
    if len(parts) == 3:
        return dt.date(parts[0], parts[1], parts[2])
    raise _data.KnowledgeDataError(f"date {text!r} is neither YYYY-MM nor YYYY-MM-DD")


def today_of(taken_at: str) -> dt.date:
    """The day a snapshot was taken (its ISO 8601 ``taken_at``), in UTC."""
    try:
        moment = dt.datetime.fromisoformat(taken_at.replace("Z", "+00:00"))
    except ValueError:
        return dt.datetime.now(dt.timezone.utc).date()
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.date()


# ---------------------------------------------------------------- loading


@cache
def _data_file() -> _data.Obj:
    return _data.load("lifecycle.json")


def _lifetime(product: str, name: str, row: _data.Obj, *, eol_key: str = "eol") -> Lifetime:
    return Lifetime(
        product=product,
        version=_data.opt_text(row, "version") or _data.opt_text(row, "series") or "",
        name=name,
        released=parse_date(_data.opt_text(row, "released")),
        eol=parse_date(_data.opt_text(row, eol_key)),
        extended_until=parse_date(_data.opt_text(row, "extended_until")),
        extended_name=_data.opt_text(row, "extended_name"),
        text=_data.opt_text(row, "text"),
        sources=_data.source_keys(row),
        verified=_data.verified(row),
        warn=_data.flag(row, "warn", True),
    )


@cache
def _pythons() -> dict[str, Lifetime]:
    rows = _data.objs(_data_file(), "python")
    return {
        _data.text(row, "version"): _lifetime("python", f"Python {_data.text(row, 'version')}", row)
        for row in rows
    }


@cache
def _distros() -> dict[str, dict[str, Lifetime]]:
    table = _data.obj(_data_file(), "distros")
    return {
        distro: {
            _data.text(row, "version"): _lifetime(distro, _data.text(row, "name"), row)
            for row in _data.objs(table, distro)
        }
        for distro in table
    }


@cache
def _tf_releases() -> tuple[tuple[str, dt.date], ...]:
    group = _data.obj(_data_file(), "tensorflow")
    rows = _data.objs(group, "releases")
    dated = []
    for row in rows:
        released = parse_date(_data.text(row, "released"))
        if released is not None:
            dated.append((_data.text(row, "series"), released))
    return tuple(sorted(dated, key=lambda pair: major_minor_key(pair[0])))


@cache
def driver_branches() -> tuple[DriverBranch, ...]:
    """NVIDIA driver branches, oldest first."""
    return tuple(
        DriverBranch(
            branch=_data.text(row, "branch"),
            kind=_data.text(row, "type"),
            released=parse_date(_data.opt_text(row, "released")),
            eol=parse_date(_data.opt_text(row, "eol")),
            last_for=_data.texts(row, "last_for") if "last_for" in row else (),
            sources=_data.source_keys(row),
            verified=_data.verified(row),
        )
        for row in _data.objs(_data_file(), "nvidia_driver_branches")
    )


@cache
def gpu_generations() -> tuple[GpuGeneration, ...]:
    return tuple(
        GpuGeneration(
            architecture=_data.text(row, "architecture"),
            compute_capabilities=_data.texts(row, "compute_capabilities"),
            first_cuda=_data.text(row, "first_cuda"),
            last_cuda=_data.text(row, "last_cuda"),
            last_driver_branch=_data.opt_text(row, "last_driver_branch"),
            sources=_data.source_keys(row),
            verified=_data.verified(row),
        )
        for row in _data.objs(_data_file(), "gpu_architectures")
    )


@cache
def lifecycle_sources() -> dict[str, str]:
    """Source key -> URL (or what the source is) for every key this file cites."""
    table = _data.obj(_data_file(), "sources")
    return {key: str(value) for key, value in table.items()}


# ---------------------------------------------------------------- lookups


def python_lifetime(version: str) -> Lifetime | None:
    """The lifetime of ``version``'s major.minor (3.6.15 -> Python 3.6)."""
    series = major_minor(version)
    return _pythons().get(series) if series else None


def python_lifetimes() -> tuple[Lifetime, ...]:
    return tuple(sorted(_pythons().values(), key=lambda life: major_minor_key(life.version)))


def distro_lifetime(distro_id: str, version: str | None) -> Lifetime | None:
    """ubuntu 18.04, debian 11 (or 11.9), rhel/rocky/centos 8 (or 8.9); None if unknown."""
    if not version:
        return None
    releases = _distros().get(distro_id.lower())
    if releases is None:
        return None
    key = version if distro_id.lower() == "ubuntu" else version.split(".")[0]
    return releases.get(key)


def tensorflow_lifetime(version: str, today: dt.date) -> Lifetime | None:
    """Whether TensorFlow ``version`` is still patched on ``today``, as a Lifetime.

    1.x ended with 1.15.5. A 2.x minor is treated as supported while it is among the newest
    ``supported_minors`` released by ``today`` (TensorFlow's practice; it publishes no fixed
    period): its end is the day the minor that pushed it out was released.
    """
    series = major_minor(version)
    group = _data.obj(_data_file(), "tensorflow")
    if series is None:
        return None
    if series.startswith("1."):
        one_x = _data.obj(group, "one_x")
        life = _lifetime("tensorflow", "TensorFlow 1.x", one_x, eol_key="ended")
        return _with_version(life, series)
    window = _data.obj(group, "window")
    minors = int(_data.opt_int(window, "supported_minors") or 4)
    released = [(s, day) for s, day in _tf_releases() if day <= today and not s.startswith("1.")]
    known = [s for s, _ in released]
    if series not in known:
        return None
    index = known.index(series)
    pushed_out = index + minors
    eol = released[pushed_out][1] if pushed_out < len(released) else None
    return Lifetime(
        product="tensorflow",
        version=series,
        name=f"TensorFlow {series}",
        released=released[index][1],
        eol=eol,
        extended_until=None,
        extended_name=None,
        text=_data.opt_text(window, "text"),
        sources=_data.source_keys(window),
        verified=_data.verified(window),
    )


def newest_tensorflow_series(today: dt.date) -> str | None:
    """The newest TensorFlow minor released on or before ``today``."""
    released = [series for series, day in _tf_releases() if day <= today]
    return released[-1] if released else None


def keras_lifetime(version: str) -> Lifetime | None:
    """The ended line standalone Keras ``version`` belongs to (2.2.4 -> multi-backend Keras 2)."""
    have = numeric_parts(version)
    if not have:
        return None
    for row in _data.objs(_data_file(), "keras"):
        start = numeric_parts(_data.opt_text(row, "from") or "0")
        if start <= have < numeric_parts(_data.text(row, "before")):
            life = _lifetime("keras", _data.text(row, "name"), row, eol_key="ended")
            return _with_version(life, version)
    return None


def cuda_release_date(version: str) -> dt.date | None:
    series = major_minor(version)
    for row in _data.objs(_data_file(), "cuda"):
        if _data.text(row, "version") == series:
            return parse_date(_data.text(row, "released"))
    return None


def driver_branch(branch: str) -> DriverBranch | None:
    """Branch ``470`` (or a driver version, 470.256.02) -> its row; None if unknown."""
    wanted = branch.split(".")[0]
    return next((row for row in driver_branches() if row.branch == wanted), None)


def last_driver_branch_for(architecture: str) -> str | None:
    """The last NVIDIA driver branch that supports ``architecture`` (Kepler -> 470), or None
    while NVIDIA still makes new branches for it (Turing and newer)."""
    wanted = architecture.lower()
    for generation in gpu_generations():
        if generation.architecture.lower() == wanted:
            return generation.last_driver_branch
    return None


def generation_for_capability(compute_capability: str) -> GpuGeneration | None:
    """The architecture of compute capability ``8.6`` (Ampere), by NVIDIA's matrix."""
    for generation in gpu_generations():
        if compute_capability in generation.compute_capabilities:
            return generation
    major = compute_capability.split(".")[0]
    same_major = [
        g
        for g in gpu_generations()
        if any(c.split(".")[0] == major for c in g.compute_capabilities)
    ]
    return same_major[-1] if same_major else None


def _with_version(life: Lifetime, version: str) -> Lifetime:
    return Lifetime(
        product=life.product,
        version=version,
        name=life.name,
        released=life.released,
        eol=life.eol,
        extended_until=life.extended_until,
        extended_name=life.extended_name,
        text=life.text,
        sources=life.sources,
        verified=life.verified,
        warn=life.warn,
    )
