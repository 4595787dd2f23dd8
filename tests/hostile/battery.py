"""The hostile-input battery (#12): every input that once broke a promise of the README, run as a
user runs envkit (a real process, in a fresh folder), each judged on the same invariants:

* the exit status is one the case allows, always in {0, 1, 2}, and the command finishes;
* no traceback; on exit 2, at most two lines on stderr (the error and the hint);
* nothing of the user's is changed: every file the case planted is byte for byte, mode and kind
  as it was (FIFOs stay FIFOs, device nodes stay devices), and no file appears unless the case
  expects it; nothing from the working directory ran (no marker file);
* the case's own check (a kept line, a redacted value, a reason) holds.

Static inputs live beside this file (tests/hostile/); FIFOs, device links and files derived
from a real snapshot are made at run time. tests/test_hostile_battery.py runs each case as a
test; scripts/bench_hostile.py runs them all and prints ``N/M hostile inputs held``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parent
REPO = CORPUS.parents[1]
CASE_TIMEOUT_S = 300
"""The harness's guard against a hang (a failure of the case), not a timed assertion."""

Prepare = Callable[[Path], None]
Check = Callable[[Path, "subprocess.CompletedProcess[str]"], str | None]


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    exits: frozenset[int]
    prepare: Prepare | None = None
    check: Check | None = None
    env: dict[str, str] = field(default_factory=dict)
    creates: tuple[str, ...] = ()
    """Files the command is meant to write (relative to the folder)."""
    needs: str | None = None
    """A tool the case needs (gcc); without it the case is skipped, not held."""


@dataclass(frozen=True)
class Outcome:
    case: str
    held: bool
    skipped: bool
    detail: str


# ---------------------------------------------------------------- running


def envkit_argv() -> list[str]:
    # -P: the folder is not put first on envkit's own sys.path (as with the console script);
    # whether envkit's children run code from it is what the cwd cases test.
    return [sys.executable, "-P", "-m", "envkit"]


def run_case(case: Case, folder: Path) -> Outcome:
    if case.needs == "root" and os.geteuid() != 0:
        return Outcome(case.name, False, True, "needs root to make a device node")
    if case.needs and case.needs != "root" and shutil.which(case.needs) is None:
        return Outcome(case.name, False, True, f"needs {case.needs}")
    folder.mkdir(parents=True, exist_ok=True)
    if case.prepare is not None:
        case.prepare(folder)
    before = _state(folder)
    env = {**os.environ, **{k: v.replace("{dir}", str(folder)) for k, v in case.env.items()}}
    env.pop("PYTHONSAFEPATH", None)
    args = [arg.replace("{dir}", str(folder)) for arg in case.args]
    try:
        result = subprocess.run(
            [*envkit_argv(), *args],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=CASE_TIMEOUT_S,
            cwd=folder,
            env={**env, "PYTHONPATH": str(REPO)},
            check=False,
            preexec_fn=_limit_memory,  # a regression reading /dev/zero fails alone
        )
    except subprocess.TimeoutExpired:
        return Outcome(case.name, False, False, f"hung past {CASE_TIMEOUT_S} s")
    problem = _invariants(case, folder, before, result)
    if problem is None and case.check is not None:
        problem = case.check(folder, result)
    return Outcome(case.name, problem is None, False, problem or "held")


MEMORY_LIMIT_BYTES = 8 * 1024**3
"""Address space of each case's envkit: a regression that reads /dev/zero without a bound
fails its case instead of starving the machine."""


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def _invariants(
    case: Case,
    folder: Path,
    before: dict[str, tuple[int, int, bytes | None]],
    result: subprocess.CompletedProcess[str],
) -> str | None:
    if result.returncode not in {0, 1, 2}:
        return f"exit {result.returncode}: {result.stderr[-300:]!r}"
    if result.returncode not in case.exits:
        return f"exit {result.returncode}, expected {sorted(case.exits)}: {result.stderr[-300:]!r}"
    if "Traceback" in result.stderr or "Traceback" in result.stdout:
        return f"traceback: {result.stderr[-400:]!r}"
    if result.returncode == 2 and len(result.stderr.strip().splitlines()) > 2:
        return f"exit 2 with {len(result.stderr.strip().splitlines())} stderr lines"
    after = _state(folder)
    markers = [name for name in after if name.endswith(".ran")]
    if markers:
        return f"code from the working directory ran: {markers}"
    for name, state in before.items():
        if after.get(name) != state and name not in case.creates:
            return f"{name} was changed"
    new = sorted(set(after) - set(before) - set(case.creates))
    if new:
        return f"wrote {new}"
    return None


def _state(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """name -> (file type, mode, content for regular files), symlinks not followed."""
    found: dict[str, tuple[int, int, bytes | None]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        if stat.S_ISLNK(info.st_mode):
            content = os.readlink(path).encode()
        found[str(path.relative_to(folder))] = (stat.S_IFMT(info.st_mode), info.st_mode, content)
    return found


# ---------------------------------------------------------------- inputs


def _copy(*names: str) -> Prepare:
    def prepare(folder: Path) -> None:
        for name in names:
            shutil.copy(CORPUS / name, folder / name)

    return prepare


def _fifo(name: str) -> Prepare:
    return lambda folder: os.mkfifo(folder / name)


def _link(name: str, target: str) -> Prepare:
    return lambda folder: (folder / name).symlink_to(target)


def _both(*steps: Prepare) -> Prepare:
    def prepare(folder: Path) -> None:
        for step in steps:
            step(folder)

    return prepare


def _file(name: str, text: str, mode: int | None = None) -> Prepare:
    def prepare(folder: Path) -> None:
        (folder / name).write_text(text)
        if mode is not None:
            (folder / name).chmod(mode)

    return prepare


PLANTED = ("tensorflow.py", "json.py", "sitecustomize.py")


def _plant(folder: Path) -> None:
    for name in PLANTED:
        marker = folder / f"{name}.ran"
        (folder / name).write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


_snapshot_cache: list[str] = []


def real_snapshot() -> dict[str, object]:
    if not _snapshot_cache:
        done = subprocess.run(
            [*envkit_argv(), "report", "--json"],
            capture_output=True,
            text=True,
            timeout=CASE_TIMEOUT_S,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=True,
        )
        _snapshot_cache.append(done.stdout)
    data: dict[str, object] = json.loads(_snapshot_cache[0])
    return data


def _foreign_snapshot(folder: Path) -> None:
    data = real_snapshot()
    os_info = data["os"]
    python = data["python"]
    if isinstance(os_info, dict):
        os_info["hostname"] = "alien-node.cluster.example"
    if isinstance(python, dict):
        python["executable"] = "/home/zoe/miniconda3/envs/tf-alien-node/bin/python"
        python["prefix"] = "/home/zoe/miniconda3/envs/tf-alien-node"
        python["environment"] = {
            "LD_LIBRARY_PATH": "/home/zoe/lib:/opt/ghp_AbCdEfGhIjKlMnOpQrStUv1234567890/lib",
            "PYTHONPATH": "/srv/hf_AbCdEfGhIjKlMnOpQrStUv123",
            "TF_CPP_MIN_LOG_LEVEL": "\x1b]0;pwned\x07 http://10.9.8.7:8888 \x1b[2J",
        }
    (folder / "other.json").write_text(json.dumps(data))


def _surrogate_snapshot(folder: Path) -> None:
    text = json.dumps(real_snapshot())
    text = text.replace('"hostname": "', '"hostname": "\\ud800\\u001b[31m', 1)
    (folder / "other.json").write_text(text)


def _digits_snapshot(folder: Path) -> None:
    text = json.dumps(real_snapshot()).replace('"taken_at"', '"big": ' + "9" * 400 + ', "taken_at"')
    (folder / "other.json").write_text(text)


def _npy(descr: str, shape: tuple[int, ...], payload: bytes) -> bytes:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def _npz(folder: Path, name: str, extra: dict[str, bytes], labels_descr: str = "'|u1'") -> None:
    images = bytes(i % 256 for i in range(30 * 28 * 28))
    members = {
        "x_train.npy": _npy("'|u1'", (30, 28, 28), images),
        "y_train.npy": _npy(labels_descr, (30,), bytes(i % 10 for i in range(30))),
        "x_test.npy": _npy("'|u1'", (10, 28, 28), images[: 10 * 28 * 28]),
        "y_test.npy": _npy("'|u1'", (10,), bytes(i % 10 for i in range(10))),
        **extra,
    }
    with zipfile.ZipFile(folder / name, "w") as archive:
        for member, blob in members.items():
            archive.writestr(member, blob)


def _fake_python(behaviour: str) -> Prepare:
    def prepare(folder: Path) -> None:
        path = folder / "bin" / "python3"
        path.parent.mkdir()
        path.write_text(
            f'#!/bin/sh\nif [ "$1" = "-V" ]; then exec {sys.executable} -V; fi\n{behaviour}\n'
        )
        path.chmod(0o755)

    return prepare


HANGING_NVML = (
    "#include <unistd.h>\n"
    "int nvmlInitWithFlags(unsigned int f) { (void)f; for (;;) sleep(600); return 0; }\n"
    "int nvmlInit_v2(void) { for (;;) sleep(600); return 0; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
)


def _hanging_nvml(folder: Path) -> None:
    lib = folder / "lib"
    lib.mkdir()
    (lib / "hang.c").write_text(HANGING_NVML)
    compiler = shutil.which("gcc") or "cc"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", str(lib / "libnvidia-ml.so.1"), str(lib / "hang.c")],
        check=True,
        capture_output=True,
        timeout=120,
    )


# ---------------------------------------------------------------- checks


def _stdout_lacks(*values: str) -> Check:
    def check(folder: Path, result: subprocess.CompletedProcess[str]) -> str | None:
        leaked = [value for value in values if value in result.stdout]
        return f"printed {leaked}" if leaked else None

    return check


def _stderr_has(*fragments: str) -> Check:
    def check(folder: Path, result: subprocess.CompletedProcess[str]) -> str | None:
        missing = [f for f in fragments if f not in result.stderr]
        return f"stderr lacks {missing}: {result.stderr[-300:]!r}" if missing else None

    return check


def _stdout_has(*fragments: str) -> Check:
    def check(folder: Path, result: subprocess.CompletedProcess[str]) -> str | None:
        missing = [f for f in fragments if f not in result.stdout]
        return f"stdout lacks {missing}" if missing else None

    return check


def _written_keeps(name: str, *lines: str) -> Check:
    def check(folder: Path, result: subprocess.CompletedProcess[str]) -> str | None:
        written = (folder / name).read_text().splitlines()
        missing = [line for line in lines if line not in written]
        return f"{name} dropped {missing}" if missing else None

    return check


def _mode_is(name: str, mode: int) -> Check:
    def check(folder: Path, result: subprocess.CompletedProcess[str]) -> str | None:
        found = stat.S_IMODE((folder / name).stat().st_mode)
        return None if found == mode else f"{name} has mode {found:o}, not {mode:o}"

    return check


def _private_null(folder: Path) -> None:
    """A device node of the case's own (the null device's numbers): code that wrongly replaces
    it harms only this folder, never the machine's /dev/null."""
    os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))


# ---------------------------------------------------------------- the cases

FAIL = frozenset({2})
JUDGED = frozenset({0, 1})
KEPT_REQUIREMENTS = (
    "--index-url https://pypi.internal.example/simple",
    "--extra-index-url https://download.pytorch.org/whl/cu121",
    "-e .",
    "-r base.txt",
    "git+https://github.com/org/repo.git@v1#egg=repo",
    "./local/pkg",
    "# a comment of ours",
)
KEPT_YAML = (
    "# our cluster env",
    "    - --index-url https://pypi.internal.example/simple",
    "    - -e .",
    "    - git+https://github.com/org/repo.git@v1#egg=repo",
    "  - pandas>=1.3  # keep me",
    "prefix: /opt/envs/proj",
)

CASES: tuple[Case, ...] = (
    # -- writes
    Case(
        "write: -o FIFO --force",
        ("env", "generate", "--cpu", "-o", "out.yml", "--force"),
        FAIL,
        _fifo("out.yml"),
    ),
    Case(
        "write: -o a device node --force",
        ("env", "generate", "--cpu", "-o", "null", "--force"),
        FAIL,
        _private_null,
        needs="root",
    ),
    Case(
        "write: -o link to a device node --force",
        ("env", "generate", "--cpu", "-o", "out.yml", "--force"),
        FAIL,
        _both(_private_null, _link("out.yml", "null")),
        needs="root",
    ),
    Case(
        "write: -o dangling link",
        ("env", "generate", "--cpu", "-o", "out.yml"),
        FAIL,
        _link("out.yml", "nowhere.yml"),
    ),
    Case(
        "write: -o existing without --force",
        ("env", "generate", "--cpu", "-o", "mine.yml"),
        FAIL,
        _file("mine.yml", "the user's file\n"),
    ),
    Case(
        "write: -o a directory",
        ("env", "generate", "--cpu", "-o", "sub", "--force"),
        FAIL,
        lambda folder: (folder / "sub").mkdir(),
    ),
    Case("write: -o newdir/", ("env", "generate", "--cpu", "-o", "newdir/"), FAIL),
    Case(
        "write: -o X --junit X",
        ("fleet", "summarize", "{dir}", "-o", "x.xml", "--junit", "x.xml"),
        FAIL,
    ),
    Case(
        "write: 0600 file keeps its mode",
        ("env", "generate", "--cpu", "-o", "secret.yml", "--force"),
        JUDGED,
        _file("secret.yml", "old\n", 0o600),
        _mode_is("secret.yml", 0o600),
        creates=("secret.yml",),
    ),
    Case(
        "write: -o into a missing folder", ("env", "generate", "--cpu", "-o", "no/such/x.yml"), FAIL
    ),
    # -- env check --fix keeps what it does not manage
    Case(
        "fix: requirements lines kept",
        ("env", "check", "requirements.txt", "--fix", "-o", "fixed.txt"),
        JUDGED,
        _copy("requirements.txt"),
        _written_keeps("fixed.txt", *KEPT_REQUIREMENTS),
        creates=("fixed.txt",),
    ),
    Case(
        "fix: environment.yml lines kept",
        ("env", "check", "environment.yml", "--fix", "-o", "fixed.yml"),
        JUDGED,
        _copy("environment.yml"),
        _written_keeps("fixed.yml", *KEPT_YAML),
        creates=("fixed.yml",),
    ),
    # -- nothing from the working directory runs
    Case("cwd: report", ("report", "--json"), JUDGED, _plant),
    Case("cwd: doctor", ("doctor", "--offline"), JUDGED, _plant),
    Case("cwd: validate", ("validate", "--python", sys.executable), JUDGED, _plant),
    Case("cwd: smoke", ("smoke", "--quick", "--offline", "--timeout", "120"), JUDGED, _plant),
    # -- probe failures are findings
    Case(
        "probe: target segfaults",
        ("doctor", "--offline", "--python", "{dir}/bin/python3"),
        frozenset({1}),
        _fake_python("kill -SEGV $$"),
        _stdout_has("[✗] Python"),
    ),
    Case(
        "probe: target prints garbage",
        ("doctor", "--offline", "--python", "{dir}/bin/python3"),
        frozenset({1}),
        _fake_python("printf '\\033]0;x\\007garbage'; exit 0"),
        _stdout_lacks("\x1b]0;"),
    ),
    # -- reading
    Case(
        "read: snapshot is /dev/zero",
        ("doctor", "--snapshot", "snap.json"),
        FAIL,
        _link("snap.json", "/dev/zero"),
        _stderr_has("is a device"),
    ),
    Case(
        "read: snapshot is a FIFO",
        ("doctor", "--snapshot", "snap.json"),
        FAIL,
        _fifo("snap.json"),
        _stderr_has("is a FIFO"),
    ),
    Case(
        "read: snapshot nested 5000 deep",
        ("doctor", "--snapshot", "deep.json"),
        FAIL,
        _copy("deep.json"),
        _stderr_has("levels deep"),
    ),
    Case(
        "read: snapshot not UTF-8",
        ("doctor", "--snapshot", "latin1.json"),
        FAIL,
        _copy("latin1.json"),
        _stderr_has("not UTF-8"),
    ),
    Case(
        "read: snapshot with a 400-digit integer",
        ("doctor", "--snapshot", "other.json"),
        FAIL,
        _digits_snapshot,
        _stderr_has("400 digits"),
    ),
    Case(
        "read: snapshot with a lone surrogate and escapes",
        ("doctor", "--snapshot", "other.json", "-v"),
        JUDGED,
        _surrogate_snapshot,
        _stdout_lacks("\x1b[31m"),
    ),
    Case(
        "read: fleet with FIFO, /dev/zero, deep and good reports",
        ("fleet", "summarize", "{dir}"),
        JUDGED,
        _both(
            _fifo("fifo.json"),
            _link("zero.json", "/dev/zero"),
            _copy("deep.json"),
            _copy("good-node.json"),
        ),
        _stdout_has("fifo.json", "zero.json", "deep.json"),
    ),
    Case(
        "read: fleet report with a 400-digit integer",
        ("fleet", "summarize", "digits.json"),
        JUDGED,
        _copy("digits.json"),
        _stdout_has("digits.json"),
    ),
    Case(
        "read: smoke --data twin npz members",
        ("smoke", "--data", "mnist.npz", "--offline", "--timeout", "60"),
        FAIL,
        lambda folder: _npz(folder, "mnist.npz", {"y_train": b"unchecked"}),
        _stderr_has("both y_train and y_train.npy"),
    ),
    Case(
        "read: smoke --data structured labels",
        ("smoke", "--data", "mnist.npz", "--offline", "--timeout", "60"),
        FAIL,
        lambda folder: _npz(folder, "mnist.npz", {}, "[('a', '<i8')]"),
        _stderr_has("structured dtype"),
    ),
    Case(
        "read: smoke --data /dev/zero",
        ("smoke", "--data", "mnist.npz", "--offline"),
        FAIL,
        _link("mnist.npz", "/dev/zero"),
    ),
    Case(
        "read: doctor --from a FIFO",
        ("doctor", "--from", "dump.xml"),
        FAIL,
        _fifo("dump.xml"),
        _stderr_has("is a FIFO"),
    ),
    Case(
        "read: validate --from /dev/zero",
        ("validate", "--from", "dump.xml"),
        FAIL,
        _link("dump.xml", "/dev/zero"),
    ),
    Case(
        "read: env check a FIFO",
        ("env", "check", "environment.yml"),
        FAIL,
        _fifo("environment.yml"),
    ),
    Case(
        "read: env check /dev/zero",
        ("env", "check", "requirements.txt"),
        FAIL,
        _link("requirements.txt", "/dev/zero"),
    ),
    # -- usage
    Case("usage: --min-driver garbage", ("validate", "--min-driver", "garbage"), FAIL),
    Case("usage: --expect-memory-gib nan", ("validate", "--expect-memory-gib", "nan"), FAIL),
    Case("usage: --env ''", ("doctor", "--env", ""), FAIL),
    Case("usage: --timeout inf", ("smoke", "--timeout", "inf"), FAIL),
    Case(
        "usage: unknown option",
        ("validate", "--frobnicate"),
        FAIL,
        check=_stderr_has("Try 'envkit validate --help'"),
    ),
    # -- redaction and the terminal
    Case(
        "redact: foreign snapshot in markdown",
        ("doctor", "--snapshot", "other.json", "--markdown"),
        JUDGED,
        _foreign_snapshot,
        _stdout_lacks("zoe", "alien-node", "10.9.8.7", "ghp_", "hf_Ab", "\x1b"),
    ),
    Case(
        "redact: foreign snapshot on the terminal keeps no escapes",
        ("doctor", "--snapshot", "other.json", "-v"),
        JUDGED,
        _foreign_snapshot,
        _stdout_lacks("\x1b]0;", "\x1b[2J"),
    ),
    # -- NVML that hangs
    Case(
        "nvml: init hangs, validate fails the node",
        ("validate", "--json"),
        frozenset({1}),
        _hanging_nvml,
        _stdout_has("nvml-timeout"),
        env={"LD_LIBRARY_PATH": "{dir}/lib", "ENVKIT_NVML_TIMEOUT_S": "2"},
        needs="gcc",
    ),
    Case(
        "nvml: init hangs, doctor has the finding",
        ("doctor", "--offline", "--json"),
        frozenset({1}),
        _hanging_nvml,
        _stdout_has("nvidia.nvml-timeout"),
        env={"LD_LIBRARY_PATH": "{dir}/lib", "ENVKIT_NVML_TIMEOUT_S": "2"},
        needs="gcc",
    ),
)
