"""End-of-life warnings: a stack that trains is not broken, but a layer past its end of life
gets no fixes. Each finding names the date (judged on the day the snapshot was taken, so a
replay says the same) and the route to a current stack."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from envkit import knowledge
from envkit.knowledge import lifecycle
from envkit.model import CheckInfo, Finding, OsInfo, Severity, Snapshot
from envkit.rules import advice, facts, tf_install
from envkit.rules.registry import check

PYTHON_EOL_LINK = "https://devguide.python.org/versions/"
TF_VERSIONS_LINK = "https://github.com/tensorflow/tensorflow/releases"
KERAS_LINK = "https://github.com/keras-team/keras/releases/tag/2.4.0"
DRIVER_LINK = "https://docs.nvidia.com/datacenter/tesla/drivers/supported-drivers-and-cuda-toolkit-versions.html"
_UPGRADE_COMMANDS = {
    "ubuntu": "sudo do-release-upgrade   # one LTS at a time; back up first",
    "debian": "# upgrade to the next Debian release: https://www.debian.org/releases/",
}


def _today(snapshot: Snapshot) -> dt.date:
    return lifecycle.today_of(snapshot.taken_at)


def current_python(snapshot: Snapshot, release: knowledge.TfRelease) -> str:
    """The Python for a current stack: the examined one where ``release`` has wheels for it and
    it is in support, else the newest but one ``release`` supports (the newest Python's
    packages lag behind)."""
    today = _today(snapshot)
    current = facts.python_series(snapshot)
    life = lifecycle.python_lifetime(current) if current else None
    if current in release.python_wheels and life is not None and not life.ended(today):
        return current
    wheels = release.python_wheels
    return wheels[-2] if len(wheels) > 1 else wheels[-1]


def current_stack_steps(snapshot: Snapshot) -> tuple[str, ...]:
    """A fresh environment with the newest TensorFlow this machine runs, a Python in support,
    and, where the driver is too old for it, the driver first."""
    if tf_install.unsupported_architecture(snapshot) is not None:
        return tf_install.sixty_four_bit_python_steps(snapshot)
    chosen, held_back = tf_install.release_for_machine(snapshot, None)
    release = chosen or knowledge.newest_tensorflow()
    gpu = tf_install.gpu_intent(snapshot) and chosen is not None
    python = current_python(snapshot, release)
    installed = facts.tensorflow(snapshot)
    steps: list[str] = [held_back] if held_back else []
    steps.extend(_driver_route(snapshot, release) if gpu else ())
    note = tf_install.major_change_note(installed.version if installed else None, release)
    if note:
        steps.append(note)
    env_steps = tf_install.tensorflow_env_steps(snapshot, release, gpu=gpu)
    if env_steps and env_steps[0].startswith("conda create"):
        env_steps = (f"conda create -n tf python={python} --yes", *env_steps[1:])
    if installed is None and env_steps and env_steps[0].startswith("conda create"):
        # No TensorFlow here: which one to install (or which environment already has it)
        # is the TensorFlow area's finding; this one only names a Python in support.
        env_steps = (*env_steps[:2], "# then install TensorFlow as the TensorFlow finding says")
    steps.extend(env_steps)
    return tuple(steps)


def _driver_route(
    snapshot: Snapshot, release: knowledge.TfRelease | None = None
) -> tuple[str, ...]:
    nvml = facts.nvml(snapshot)
    if nvml is None or facts.os_family(snapshot) in {"macos", "windows", "wsl2"}:
        return ()
    target = release or knowledge.newest_tensorflow()
    minimum = _min_driver_for(target)
    if minimum is None or knowledge.driver_at_least(nvml.driver_version, minimum):
        return ()
    return (
        f"# driver {nvml.driver_version} is too old for TensorFlow "
        f"{target.series} (needs ≥ {minimum}); first:",
        *advice.install_driver_steps(snapshot, minimum),
    )


def _min_driver_for(release: knowledge.TfRelease) -> str | None:
    """The oldest Linux driver the release's CUDA runs on (by minor version compatibility)."""
    if release is knowledge.newest_tensorflow():
        return knowledge.tensorflow_docs_min_driver()
    requirement = knowledge.driver_requirement(release.cuda) if release.cuda else None
    if requirement is None:
        return None
    return requirement.minor_compat_min_driver or requirement.toolkit_min_driver


def _when(life: lifecycle.Lifetime) -> str:
    return life.eol.isoformat() if life.eol else "an unknown date"


@check(
    "lifecycle.python",
    "python",
    "The Python version still gets security fixes.",
)
def python_end_of_life(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    life = lifecycle.python_lifetime(env.version) if env else None
    if env is None or life is None or not life.ended(_today(snapshot)):
        return
    newest_for_it = knowledge.newest_tensorflow_for_python(env.version)
    evidence = f"Python {env.version}: security support ended on {_when(life)}"
    if newest_for_it is not None:
        evidence += f"; the newest TensorFlow built for it is {newest_for_it.series}"
    yield info.finding(
        Severity.WARNING,
        f"Python {life.version} reached its end of life on {_when(life)}",
        evidence,
        current_stack_steps(snapshot),
        PYTHON_EOL_LINK,
    )


@check(
    "lifecycle.tensorflow",
    "tensorflow",
    "The TensorFlow release is one that still gets fixes.",
)
def tensorflow_end_of_life(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    installed = facts.tensorflow(snapshot)
    today = _today(snapshot)
    life = lifecycle.tensorflow_lifetime(installed.version, today) if installed else None
    if installed is None or life is None or not life.ended(today):
        return
    newest = lifecycle.newest_tensorflow_series(today)
    if life.name == "TensorFlow 1.x":
        title = f"TensorFlow 1.x reached its end of life on {_when(life)}"
        evidence = f"TensorFlow {installed.version}; {life.text}"
    else:
        title = f"TensorFlow {life.version} no longer gets fixes (since {_when(life)})"
        evidence = f"TensorFlow {installed.version}; the newest release is {newest}; {life.text}"
    release = knowledge.tensorflow_release(installed.version)
    cuda_day = lifecycle.cuda_release_date(release.cuda) if release and release.cuda else None
    if release is not None and release.cuda and cuda_day is not None:
        evidence += f"; its GPU build uses CUDA {release.cuda} ({cuda_day:%Y-%m})"
    yield info.finding(
        Severity.WARNING, title, evidence, current_stack_steps(snapshot), TF_VERSIONS_LINK
    )


@check(
    "lifecycle.keras",
    "tensorflow",
    "Standalone Keras is not the discontinued multi-backend Keras 2.",
)
def keras_end_of_life(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    env = facts.python_env(snapshot)
    keras = env.version_of("keras") if env else None
    life = lifecycle.keras_lifetime(keras) if keras else None
    if life is None or not life.warn or not life.ended(_today(snapshot)):
        return
    yield info.finding(
        Severity.WARNING,
        f"Keras {keras} is {life.name}, discontinued on {_when(life)}",
        life.text or "",
        (
            "# with TensorFlow 2.x use tf.keras (from tensorflow import keras), or Keras 3 on "
            "TensorFlow 2.16 and later; the route to a current TensorFlow is under TensorFlow",
        ),
        KERAS_LINK,
    )


@check(
    "lifecycle.os",
    "system",
    "The OS release still gets standard security support.",
)
def os_end_of_life(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    os_info = snapshot.os
    if not isinstance(os_info, OsInfo) or os_info.distro_id is None:
        return
    life = lifecycle.distro_lifetime(os_info.distro_id, os_info.distro_version)
    today = _today(snapshot)
    if life is None or not life.ended(today):
        return
    evidence = f"{os_info.distro_pretty_name or life.name}: standard support ended {_when(life)}"
    if life.extended_until is not None and life.extended_until > today:
        evidence += f"; {life.extended_name} runs to {life.extended_until.isoformat()}"
    family = facts.os_family(snapshot)
    upgrade = (
        "# rebuild the image FROM a supported release (this is the container's OS, not the host's)"
        if os_info.container
        else _UPGRADE_COMMANDS.get(family, "# upgrade to a supported release of the OS")
    )
    yield info.finding(
        Severity.WARNING,
        f"{life.name} is past its end of standard support ({_when(life)})",
        evidence,
        (upgrade,),
        "https://endoflife.date/" + os_info.distro_id.lower(),
    )


@check(
    "lifecycle.driver",
    "nvidia",
    "The NVIDIA driver's branch is supported, or new enough for current TensorFlow.",
)
def driver_end_of_life(snapshot: Snapshot, info: CheckInfo) -> Iterator[Finding]:
    nvml = facts.nvml(snapshot)
    if nvml is None:
        return
    chosen, _ = tf_install.release_for_machine(snapshot, None)
    route = _driver_route(snapshot, chosen) if chosen is not None else ()
    ended_on = _branch_ended_on(nvml.driver_version, _today(snapshot))
    if not route or ended_on is None:
        return  # a driver that runs current TensorFlow is judged by the nvidia checks
    branch = nvml.driver_version.split(".")[0]
    yield info.finding(
        Severity.WARNING,
        f"NVIDIA driver {nvml.driver_version} is from a branch past its end of life",
        f"branch {branch} ended {ended_on}; the driver is also older than TensorFlow "
        f"{chosen.series if chosen else knowledge.newest_tensorflow().series} needs",
        route[1:],
        DRIVER_LINK,
    )


def _branch_ended_on(driver_version: str, today: dt.date) -> str | None:
    """The EOL day of the driver's branch; for a branch the data does not list, 'by' the EOL
    of the oldest newer listed branch that has ended (NVIDIA: every branch not in its table
    is end of life)."""
    branch = lifecycle.driver_branch(driver_version)
    if branch is not None:
        return f"on {branch.eol.isoformat()}" if branch.eol and branch.eol <= today else None
    number = knowledge.parse_driver_version(driver_version)
    if number is None:
        return None
    newer_ended = [
        (int(row.branch), row.eol)
        for row in lifecycle.driver_branches()
        if int(row.branch) > number[0] and row.eol is not None and row.eol <= today
    ]
    if not newer_ended:
        return None
    oldest, eol = min(newer_ended)
    return f"by {eol.isoformat()} (the newer branch {oldest} ended then)"
