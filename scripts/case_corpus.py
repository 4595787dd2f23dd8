"""The corpus of real cases in tests/cases/: loading, building snapshots, and judging envkit.

Each case is one YAML file taken from a public thread whose cause was confirmed there. A case
gives either ``snapshot`` (the machine's facts, compactly; :func:`build_snapshot` turns them
into envkit's real :class:`~envkit.model.Snapshot`, filling what the thread does not say with
neutral values and naming each such fact) or ``stderr`` (the real log text, judged twice: by the
smoke classifier, as if envkit's own job had printed it, and by ``envkit doctor --from``, as
pasted text; both must name the cause). ``must_name`` says what a correct diagnosis names;
``must_not`` lists fix lines it must never print. Used by scripts/bench_cases.py and
tests/test_cases.py.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from envkit.doctor import diagnose, diagnose_inputs
from envkit.inputs import read_inputs
from envkit.knowledge.cuda import max_cuda_for_driver
from envkit.knowledge.tensorflow import tensorflow_release
from envkit.model import (
    SNAPSHOT_SCHEMA_VERSION,
    CondaEnv,
    CondaInfo,
    CpuInfo,
    DiskInfo,
    Distribution,
    Finding,
    GpuInfo,
    KnownEnvironment,
    MemoryInfo,
    NvidiaKernelInfo,
    NvmlInfo,
    OsInfo,
    PciGpu,
    PythonEnvInfo,
    Snapshot,
    TensorflowBuild,
    TensorflowInfo,
    Unavailable,
)
from envkit.probes.nvml import _INIT_FAILURES
from envkit.probes.system import CONTAINER_GPU_VARIABLES
from envkit.probes.visible_devices import parse_visible_devices
from envkit.smoke import classify
from envkit.smoke.findings import findings_from, smoke_check_id
from envkit.smoke.model import JobFailure, RunVerdict, SmokeResult, SmokeSpec, StackInfo

CASES_DIR = Path(__file__).resolve().parent.parent / "tests" / "cases"
GIB = 1024**3
MIB = 1024**2
EXPECTED = ("diagnosed", "miss")
_KEYS_REQUIRED = ("url", "title", "quoted_facts", "confirmed_cause", "resolution", "must_name")
_KEYS_OPTIONAL = (
    "snapshot", "stderr", "smoke", "filled_neutrally", "must_not", "must_not_flag", "expected",
    "notes",
)  # fmt: skip
NEUTRAL_DRIVER = "550.54.15"
"""A driver the thread does not name: a production branch that runs every GPU since Maxwell."""
_SNAPSHOT_KEYS = frozenset(
    {
        "os", "cpu", "memory_gib", "gpus", "driver", "cuda_driver", "kernel_module",
        "nouveau", "nvml_failure", "nvml_library", "nvml_library_extra", "device_nodes",
        "python", "packages", "tensorflow", "env", "conda", "environments",
    }
)  # fmt: skip


class CaseError(ValueError):
    """A case file that does not follow the corpus format."""


@dataclass(frozen=True, slots=True)
class Requirement:
    """One thing a correct diagnosis names, met by one error or warning: one with a check id of
    ``checks`` whose text (title, evidence, fix) matches ``text`` (either alone where the other is
    not given), or else one whose text matches ``or_text``."""

    checks: tuple[str, ...]
    text: re.Pattern[str] | None
    or_text: re.Pattern[str] | None = None

    def met_by(self, finding: Finding) -> bool:
        if finding.severity.value == "info":
            return False
        words = finding_text(finding)
        if self.or_text is not None and self.or_text.search(words):
            return True
        if not self.checks and self.text is None:
            return False
        by_id = not self.checks or finding.check_id in self.checks
        by_text = self.text is None or bool(self.text.search(words))
        return by_id and by_text

    def describe(self) -> str:
        main = " or ".join(self.checks)
        if self.text is not None:
            main = f"{main} /{self.text.pattern}/".strip()
        return main + (f" or /{self.or_text.pattern}/" if self.or_text else "")


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    path: Path
    data: Mapping[str, Any]
    must_name: tuple[Requirement, ...]
    must_not: tuple[re.Pattern[str], ...]
    """Fix lines a correct diagnosis never prints."""
    must_not_flag: tuple[Requirement, ...]
    """Errors or warnings a correct diagnosis never gives (a normal state called a problem)."""
    expected: str

    @property
    def kind(self) -> str:
        return "snapshot" if "snapshot" in self.data else "stderr"


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What envkit made of one case."""

    case: Case
    hit: bool
    why: str
    findings: tuple[Finding, ...]


# ---------------------------------------------------------------- loading


def load_cases(folder: Path = CASES_DIR) -> tuple[Case, ...]:
    return tuple(load_case(path) for path in sorted(folder.glob("*.yaml")))


def load_case(path: Path) -> Case:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CaseError(f"{path.name}: not a mapping")
    unknown = set(data) - {*_KEYS_REQUIRED, *_KEYS_OPTIONAL}
    missing = [key for key in _KEYS_REQUIRED if key not in data]
    if unknown or missing:
        raise CaseError(f"{path.name}: unknown keys {sorted(unknown)}, missing {missing}")
    if ("snapshot" in data) == ("stderr" in data):
        raise CaseError(f"{path.name}: give exactly one of snapshot and stderr")
    expected = data.get("expected", "diagnosed")
    if expected not in EXPECTED:
        raise CaseError(f"{path.name}: expected must be one of {EXPECTED}")
    return Case(
        case_id=path.stem,
        path=path,
        data=data,
        must_name=tuple(_requirement(path, item) for item in data["must_name"]),
        must_not=tuple(re.compile(text) for text in data.get("must_not") or ()),
        must_not_flag=tuple(_requirement(path, item) for item in data.get("must_not_flag") or ()),
        expected=expected,
    )


def _requirement(path: Path, item: Any) -> Requirement:
    if isinstance(item, str):
        return Requirement((item,), None)
    if isinstance(item, dict) and set(item) <= {"check", "text", "or_text"} and item:
        checks = item.get("check", ())
        checks = (checks,) if isinstance(checks, str) else tuple(checks)
        return Requirement(checks, _regex(item.get("text")), _regex(item.get("or_text")))
    raise CaseError(f"{path.name}: must_name entries are a check id or {{check, text, or_text}}")


def _regex(text: str | None) -> re.Pattern[str] | None:
    return re.compile(text, re.IGNORECASE) if text else None


# ---------------------------------------------------------------- judging


def finding_text(finding: Finding) -> str:
    return "\n".join((finding.title, finding.evidence, *finding.fix))


def findings_for(case: Case) -> tuple[Finding, ...]:
    if case.kind == "snapshot":
        snapshot, _ = build_snapshot(case.data["snapshot"])
        return diagnose(snapshot).findings
    return judge_stderr(case.data["stderr"], case.data.get("smoke") or {})


def judge(case: Case) -> CaseResult:
    by_smoke = verdict(case, findings_for(case))
    if case.kind == "snapshot" or not by_smoke.hit:
        return by_smoke
    pasted = verdict(case, judge_pasted(case.data["stderr"]))
    if pasted.hit:
        return by_smoke
    return CaseResult(case, False, f"doctor --from {pasted.why}", pasted.findings)


def judge_pasted(text: str) -> tuple[Finding, ...]:
    """What ``envkit doctor --from`` says of ``text`` pasted alone, each log verdict named by the
    smoke check that reports the same cause (``log.<cause>`` is that check when envkit ran the
    job), so that one case's requirements judge both paths."""
    report = diagnose_inputs(read_inputs([("pasted.txt", text)]))
    return tuple(_as_smoke_check(finding) for finding in report.findings)


def _as_smoke_check(finding: Finding) -> Finding:
    if not finding.check_id.startswith("log."):
        return finding
    cause = finding.check_id.removeprefix("log.")
    return replace(finding, check_id=smoke_check_id(cause))


def verdict(case: Case, findings: tuple[Finding, ...]) -> CaseResult:
    """Whether ``findings`` name the case's cause without a harmful fix or a false alarm."""
    unmet = [req for req in case.must_name if not any(req.met_by(f) for f in findings)]
    harmful = [
        (pattern.pattern, line)
        for pattern in case.must_not
        for finding in findings
        for line in finding.fix
        if pattern.search(line)
    ]
    if harmful:
        pattern, line = harmful[0]
        return CaseResult(case, False, f"harmful fix /{pattern}/: {line}", findings)
    wrong = [f for req in case.must_not_flag for f in findings if req.met_by(f)]
    if wrong:
        first = wrong[0]
        return CaseResult(case, False, f"wrongly flags {first.check_id}: {first.title}", findings)
    if unmet:
        named = ", ".join(sorted({f.check_id for f in findings if f.severity.value != "info"}))
        return CaseResult(
            case,
            False,
            f"does not name {unmet[0].describe()}; said: {named or 'nothing'}",
            findings,
        )
    return CaseResult(
        case, True, "names " + "; ".join(r.describe() for r in case.must_name), findings
    )


def judge_stderr(text: str, smoke: Mapping[str, Any]) -> tuple[Finding, ...]:
    """The smoke run's findings for a job that printed ``text`` and failed (or saw no GPU).

    ``smoke`` says what the thread shows of the run: ``gpu_missing`` (the framework listed no
    GPU; default true when no exception or signal ended the log), ``signal`` (SIGILL, SIGABRT:
    the process died of it), ``stage`` and ``backend_version``."""
    fatal = classify.fatal_line(text)
    error_type = fatal.split(":", 1)[0] if fatal and ":" in fatal else None
    signal_name = smoke.get("signal")
    gpu_missing = bool(smoke.get("gpu_missing", fatal is None and signal_name is None))
    failure = None
    if fatal is not None or signal_name is not None:
        number = int(getattr(signal, str(signal_name))) if signal_name else None
        failure = JobFailure(
            cause="signal" if signal_name else "exit",
            stage=str(smoke.get("stage", "training")),
            message=fatal or f"killed by {signal_name}",
            returncode=-number if number else 1,
            signal_name=str(signal_name) if signal_name else None,
            error_type=error_type,
            stderr_tail=classify.stderr_tail(text),
        )
    version = smoke.get("backend_version")
    stack = StackInfo(
        python_version="3",
        executable="python",
        backend="tensorflow",
        backend_version=str(version) if version else None,
        keras_version=None,
        tensorflow_version=str(version) if version else None,
        numpy_version=None,
        gpus=(),
    )
    result = SmokeResult(
        spec=SmokeSpec(device="gpu"),
        python="python",
        stack=stack,
        data=None,
        runs=(),
        failure=failure,
        gpu_requested=True,
        gpu_missing=gpu_missing,
        diagnoses=classify.classify(text),
        wall_seconds=0.0,
        peak_rss_bytes=None,
        speedup=None,
        verdict=RunVerdict.ERROR,
    )
    return findings_from(result)


# ---------------------------------------------------------------- building snapshots


class _Filler:
    """Collects the names of the facts filled in because the thread does not give them."""

    def __init__(self) -> None:
        self.filled: list[str] = []

    def get(self, section: Mapping[str, Any] | None, key: str, neutral: Any, name: str) -> Any:
        if section is not None and key in section:
            return section[key]
        self.filled.append(name)
        return neutral


def build_snapshot(facts: Mapping[str, Any]) -> tuple[Snapshot, tuple[str, ...]]:
    """The Snapshot the facts describe, and the names of the facts filled neutrally."""
    unknown = set(facts) - _SNAPSHOT_KEYS
    if unknown:
        raise CaseError(f"unknown snapshot keys {sorted(unknown)}")
    filler = _Filler()
    os_info = _os(filler, facts.get("os") or {}, facts.get("env") or {})
    gpus = _gpus(filler, facts.get("gpus") or ())
    nvml = _nvml(filler, facts, gpus)
    python = _python(filler, facts, os_info)
    snapshot = Snapshot(
        schema_version=SNAPSHOT_SCHEMA_VERSION,
        envkit_version="0.1.0",
        taken_at="2026-12-01T00:00:00+00:00",
        os=os_info,
        cpu=_cpu(filler, facts.get("cpu")),
        memory=_memory(filler, facts),
        disks=(DiskInfo("home", "/home/user", 500 * GIB, 200 * GIB),),
        nvidia_kernel=_kernel(filler, facts, gpus, os_info),
        nvml=nvml,
        cuda_visible_devices=parse_visible_devices(
            dict(facts.get("env") or {}).get("CUDA_VISIBLE_DEVICES"),
            nvml.gpus if isinstance(nvml, NvmlInfo) else None,
        ),
        python=python,
        tensorflow=_tensorflow(filler, facts, os_info, python),
        conda=_conda(facts, python),
        environments=_environments(filler, facts, python),
    )
    return snapshot, tuple(filler.filled)


def _environments(
    filler: _Filler, facts: Mapping[str, Any], python: PythonEnvInfo
) -> tuple[KnownEnvironment, ...]:
    """The other environments the thread names (``{conda_env: NAME, tensorflow: VERSION}``), as
    envkit's environment probe lists them: in the conda root the examined Python belongs to."""
    windows = "\\" in python.prefix
    sep = "\\" if windows else "/"
    root = _conda_root(python)
    found = []
    for number, given in enumerate(facts.get("environments") or ()):
        name = given["conda_env"]
        prefix = f"{root}{sep}envs{sep}{name}"
        version = filler.get(
            given, "tensorflow", "2.6.2", f"environments[{number}].tensorflow version"
        )
        executable = f"{prefix}\\python.exe" if windows else f"{prefix}/bin/python"
        found.append(
            KnownEnvironment(executable, prefix, f"conda env {name}", "conda-env", version)
        )
    return tuple(found)


def _conda_root(python: PythonEnvInfo) -> str:
    """The conda installation the examined Python is part of (its own prefix for base)."""
    if python.kind == "conda-base":
        return python.prefix
    if python.kind == "conda-env":
        separator = "\\" if "\\" in python.prefix else "/"
        return python.prefix.rsplit(f"{separator}envs{separator}", 1)[0]
    return "/home/user/miniconda3"


def _os(filler: _Filler, given: Mapping[str, Any], env: Mapping[str, Any]) -> OsInfo:
    """The OS; the NVIDIA container variables of ``env`` are where envkit's probe keeps them
    (OsInfo.container_gpu_env: the examined Python's environment list does not carry them)."""
    system = filler.get(given, "system", "Linux", "os.system")
    linux = system == "Linux"
    distro = given.get("distro") if "distro" in given else None
    if linux and distro is None:
        distro = filler.get(None, "distro", "ubuntu 22.04", "os.distro")
    distro_id, _, distro_version = (distro or "").partition(" ")
    return OsInfo(
        system=system,
        distro_id=distro_id or None,
        distro_version=distro_version or None,
        distro_pretty_name=distro or None,
        kernel_release=filler.get(given, "kernel", "5.15.0-generic", "os.kernel")
        if linux
        else given.get("kernel", ""),
        architecture=given.get("architecture", "x86_64" if system != "Darwin" else "arm64"),
        glibc_version=given.get("glibc") if "glibc" in given else ("2.35" if linux else None),
        wsl_version=given.get("wsl"),
        container=given.get("container"),
        virtualization=given.get("virtualization"),
        secure_boot=given.get("secure_boot"),
        hostname="host",
        container_gpu_env=tuple(
            (name, str(env[name])) for name in CONTAINER_GPU_VARIABLES if name in env
        ),
    )


def _cpu(filler: _Filler, given: Mapping[str, Any] | None) -> CpuInfo:
    if given is None or "flags" not in given:
        filler.filled.append("cpu.flags")
        flags: tuple[str, ...] = ("avx", "avx2", "fma")
    else:
        flags = tuple(given["flags"])
    return CpuInfo(
        model_name=(given or {}).get("model"),
        physical_cores=8,
        logical_cores=16,
        tensorflow_flags=flags,
        flags_known=True,
    )


def _memory(filler: _Filler, facts: Mapping[str, Any]) -> MemoryInfo:
    total = filler.get(facts, "memory_gib", 32, "memory")
    return MemoryInfo(int(total * GIB), int(total * GIB * 3 // 4), 0, 0)


def _gpus(filler: _Filler, given: Iterable[Mapping[str, Any]]) -> tuple[GpuInfo, ...]:
    gpus = []
    for index, gpu in enumerate(given):
        if gpu.get("neutral"):
            filler.filled.append(
                f"gpus[{index}] (the thread names no model: a GTX 1080 Ti, cc 6.1)"
            )
            gpu = {"name": "NVIDIA GeForce GTX 1080 Ti", "cc": "6.1", "memory_mib": 11264}
        memory_mib = gpu.get("memory_mib")
        if memory_mib is None:
            filler.filled.append(f"gpus[{index}].memory")
            memory_mib = 8192
        gpus.append(
            GpuInfo(
                index=index,
                name=gpu["name"],
                uuid=f"GPU-00000000-0000-0000-0000-00000000000{index}",
                pci_bus_id=f"00000000:0{index + 1}:00.0",
                memory_total_bytes=int(memory_mib * MIB),
                memory_used_bytes=int(gpu.get("used_mib", 0) * MIB),
                compute_capability=str(gpu["cc"]),
                persistence_mode=False,
                mig_mode_current=gpu.get("mig", False),
                mig_mode_pending=gpu.get("mig", False),
            )
        )
    return tuple(gpus)


def _nvml(filler: _Filler, facts: Mapping[str, Any], gpus: tuple[GpuInfo, ...]) -> Any:
    failure = facts.get("nvml_failure")
    if failure is not None:
        code, reason = _INIT_FAILURES[failure]
        return Unavailable(code, reason)
    driver = _driver(filler, facts, gpus)
    if driver is None:
        code, reason = _INIT_FAILURES["NVML_ERROR_LIBRARY_NOT_FOUND"]
        return Unavailable(code, reason)
    cuda = facts.get("cuda_driver")
    if cuda is None:
        filler.filled.append("cuda_driver (from envkit's CUDA/driver table)")
        cuda = max_cuda_for_driver(str(driver))
    return NvmlInfo(str(driver), cuda, f"12.{driver}", gpus)


NEUTRAL_GPU_PCI_ID = "0x1b06"
"""pci.ids: 10de:1b06 is GP102 [GeForce GTX 1080 Ti], the neutral GPU."""


def _pci_id(gpu: Mapping[str, Any]) -> str | None:
    """The GPU's PCI device id: as the case gives it (lspci's 10de:xxxx), the neutral GPU's, or
    None."""
    if gpu.get("neutral"):
        return NEUTRAL_GPU_PCI_ID
    given = gpu.get("pci_id")
    return str(given) if given else None


def _driver(filler: _Filler, facts: Mapping[str, Any], gpus: tuple[GpuInfo, ...]) -> str | None:
    """The driver: as given (null: none installed), or neutral where GPUs are given but the
    thread names no driver version."""
    if "driver" in facts:
        return None if facts["driver"] is None else str(facts["driver"])
    if not gpus:
        return None
    if "driver" not in filler.filled:
        filler.filled.append("driver")
    return NEUTRAL_DRIVER


def _kernel(
    filler: _Filler, facts: Mapping[str, Any], gpus: tuple[GpuInfo, ...], os_info: OsInfo
) -> NvidiaKernelInfo:
    """What /proc, /sys and /dev show: nothing outside Linux; under WSL 2 no module and no PCI
    GPU, only the Windows driver's libraries in /usr/lib/wsl/lib."""
    driver = _driver(filler, facts, gpus)
    if os_info.system != "Linux":
        return NvidiaKernelInfo(None, None, False, False, (), False, (), ())
    if os_info.wsl_version:
        libs = ("/usr/lib/wsl/lib/libnvidia-ml.so.1",) if driver else ()
        module = facts.get("kernel_module")
        return NvidiaKernelInfo(
            module_version=module,
            module_version_line=None,
            nvidia_module_loaded=bool(module),
            nouveau_loaded=False,
            device_nodes=tuple(facts.get("device_nodes", ())),
            uvm_present=False,
            pci_gpus=(),
            nvml_library_paths=(*libs, *facts.get("nvml_library_extra", ())),
        )
    module = facts.get("kernel_module", driver)
    nouveau = bool(facts.get("nouveau", False))
    bound = "nvidia" if module else ("nouveau" if nouveau else None)
    ids = [_pci_id(gpu) for gpu in facts.get("gpus") or ()]
    pci = tuple(
        PciGpu(f"0000:0{i + 1}:00.0", device_id or "0x0000", bound)
        for i, device_id in enumerate(ids)
    )
    if None in ids:
        filler.filled.append("pci device ids (0x0000: not given)")
    nodes = facts.get("device_nodes")
    if nodes is None:
        nodes = (
            ("nvidia-uvm", "nvidiactl", *(f"nvidia{i}" for i in range(len(gpus)))) if module else ()
        )
    library = facts.get("nvml_library", driver is not None or facts.get("nvml_failure"))
    return NvidiaKernelInfo(
        module_version=str(module) if module else None,
        module_version_line=f"NVRM version: NVIDIA UNIX x86_64 Kernel Module  {module}"
        if module
        else None,
        nvidia_module_loaded=bool(module),
        nouveau_loaded=nouveau,
        device_nodes=tuple(nodes),
        uvm_present="nvidia-uvm" in nodes,
        pci_gpus=pci,
        nvml_library_paths=("/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",) if library else (),
    )


def _python(filler: _Filler, facts: Mapping[str, Any], os_info: OsInfo) -> PythonEnvInfo:
    given = facts.get("python") or {}
    packages = dict(facts.get("packages") or {})
    tf = (facts.get("tensorflow") or {}).get("version")
    if tf and (facts.get("tensorflow") or {}).get("and_cuda"):
        packages = {**_and_cuda_wheels(str(tf)), **packages}
        filler.filled.append(f"nvidia-*-cu12 wheels at tensorflow[and-cuda]=={tf}'s pins")
    version = given.get("version")
    if version is None:
        release = tensorflow_release(tf) if tf else None
        neutral = (
            release.python_wheels[-1] + ".0" if release and release.python_wheels else "3.11.0"
        )
        version = filler.get(None, "version", neutral, "python.version (newest with a TF wheel)")
    kind = filler.get(given, "kind", "venv", "python.kind")
    env_name = given.get("env")
    windows = os_info.system == "Windows"
    prefix = given.get("prefix") or _prefix(kind, env_name, windows)
    default_executable = f"{prefix}\\python.exe" if windows else f"{prefix}/bin/python"
    executable = given.get("executable") or default_executable
    pip_python = given.get("pip_python", executable)
    if "platform_tag" in given:
        tag = str(given["platform_tag"])
    elif os_info.system == "Windows":
        tag = "win-amd64" if os_info.architecture in ("x86_64", "AMD64") else "win32"
    elif os_info.system == "Darwin":
        tag = f"macosx-11.0-{os_info.architecture}"
    else:
        tag = f"linux-{os_info.architecture}"
    return PythonEnvInfo(
        executable=executable,
        version=str(version),
        implementation="CPython",
        prefix=prefix,
        base_prefix=_base_prefix(kind, prefix, windows),
        kind=kind,
        conda_env_name=(env_name or "base") if kind.startswith("conda") else None,
        platform_tag=tag,
        pip_on_path=_pip_next_to(pip_python) if pip_python else None,
        pip_on_path_python=pip_python,
        distributions=tuple(
            sorted((Distribution(n, str(v)) for n, v in packages.items()), key=lambda d: d.name)
        ),
        environment=tuple(sorted((k, str(v)) for k, v in (facts.get("env") or {}).items())),
    )


def _and_cuda_wheels(tf_version: str) -> dict[str, str]:
    """What `pip install "tensorflow[and-cuda]==X"` installs besides TensorFlow: each pinned
    NVIDIA wheel at its pinned version (the extra pins exact versions)."""
    release = tensorflow_release(tf_version)
    pins = release.and_cuda_for(tf_version) if release else None
    if pins is None:
        raise CaseError(f"envkit knows no and-cuda pins of TensorFlow {tf_version}")
    return {name: spec.lstrip("=") for name, spec in pins.requirements if spec.startswith("==")}


def _prefix(kind: str, env_name: str | None, windows: bool) -> str:
    if windows:
        return {
            "conda-env": f"C:\\Users\\user\\miniconda3\\envs\\{env_name or 'tf'}",
            "conda-base": "C:\\Users\\user\\miniconda3",
        }.get(kind, "C:\\Users\\user\\venv")
    if kind == "conda-env":
        return f"/home/user/miniconda3/envs/{env_name or 'tf'}"
    if kind == "conda-base":
        return "/home/user/miniconda3"
    if kind == "system":
        return "/usr"
    return "/home/user/venv"


def _base_prefix(kind: str, prefix: str, windows: bool) -> str:
    """A virtual environment's base is the interpreter it was made from; others are their own."""
    if kind in ("venv", "virtualenv"):
        return "C:\\Program Files\\Python" if windows else "/usr"
    return prefix


def _pip_next_to(python: str) -> str:
    if "\\" in python:
        return python.rsplit("\\", 1)[0] + "\\Scripts\\pip.exe"
    return str(Path(python).parent / "pip")


_TF_DISTS = ("tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tensorflow-intel", "tf-nightly")


def _tensorflow(
    filler: _Filler, facts: Mapping[str, Any], os_info: OsInfo, python: PythonEnvInfo
) -> TensorflowInfo | Unavailable:
    given = facts.get("tensorflow")
    if not given:
        return Unavailable("tensorflow-not-installed", "No tensorflow distribution is installed.")
    version = str(given["version"])
    dists = tuple(d for d in python.distributions if d.name in _TF_DISTS)
    if not dists:
        raise CaseError("tensorflow is given: list its distribution under packages")
    return TensorflowInfo(
        distributions=dists,
        version=version,
        package_path=f"{python.prefix}/lib/python{python.version[:4]}/site-packages/tensorflow",
        requirements=tuple(given.get("requirements", ())),
        build=_build(filler, given, version, os_info, dists),
    )


def _build(
    filler: _Filler,
    given: Mapping[str, Any],
    version: str,
    os_info: OsInfo,
    dists: tuple[Distribution, ...],
) -> TensorflowBuild | Unavailable:
    kind = given.get("build")
    if kind is None:
        kind = _wheel_build(version, os_info, dists)
        filler.filled.append(f"tensorflow.build ({kind}: what the {dists[0].name} wheel is)")
    if kind == "unknown":
        return Unavailable("build-info-missing", "build_info.py was not found.")
    release = tensorflow_release(version)
    cuda = given.get("cuda") or (release.cuda if release and kind == "cuda" else None)
    cudnn = given.get("cudnn") or (release.cudnn if release and kind == "cuda" else None)
    capabilities = release.compute_capabilities if release and kind == "cuda" else ()
    if kind == "cuda" and ("cuda" not in given or "cudnn" not in given):
        filler.filled.append("tensorflow.build cuda/cudnn/capabilities (from TF's tested builds)")
    return TensorflowBuild(
        source_file="/site-packages/tensorflow/python/platform/build_info.py",
        is_cuda_build=kind == "cuda",
        is_rocm_build=False,
        cuda_version=cuda if kind == "cuda" else None,
        cudnn_version=cudnn if kind == "cuda" else None,
        cuda_compute_capabilities=tuple(given.get("capabilities", capabilities)),
        raw=(),
    )


def _wheel_build(version: str, os_info: OsInfo, dists: tuple[Distribution, ...]) -> str:
    """What the named wheel is: the 1.x ``tensorflow`` and every ``tensorflow-cpu`` are CPU
    builds; so are TensorFlow on macOS and on native Windows from 2.11."""
    names = {d.name for d in dists}
    major, minor = (int(part) for part in version.split(".")[:2])
    if os_info.system == "Darwin" or "tensorflow-cpu" in names:
        return "cpu"
    if os_info.system == "Windows" and (major, minor) >= (2, 11):
        return "cpu"
    if major == 1 and "tensorflow-gpu" not in names:
        return "cpu"
    return "cuda"


def _conda(facts: Mapping[str, Any], python: PythonEnvInfo) -> CondaInfo | Unavailable:
    given = facts.get("conda")
    if given is None and not python.kind.startswith("conda"):
        return Unavailable("conda-not-found", "No conda was found.")
    root = _conda_root(python)
    separator = "\\" if "\\" in root else "/"
    names = list((given or {}).get("envs", ())) or (
        [python.conda_env_name] if python.conda_env_name else []
    )
    envs = [CondaEnv("base", root)] + [
        CondaEnv(name, f"{root}{separator}envs{separator}{name}")
        for name in names
        if name != "base"
    ]
    return CondaInfo(
        executable=f"{root}{separator}bin{separator}conda",
        found_via="CONDA_EXE",
        version="24.7.1",
        root_prefix=root,
        active_env_name=python.conda_env_name,
        environments=tuple(envs),
        environments_source="conda-env-list",
    )
