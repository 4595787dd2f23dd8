"""Pasted logs: the pattern table, read_log, and log_findings, on real excerpts from public threads.

The excerpts live in tests/fixtures/logs/ with their URLs (README.md). Snapshots are the
SYNTHETIC workstation of tests/snapshots.py, changed one fact at a time (tests/rules_support.py).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from envkit.inputs.logs import neutralise, read_log
from envkit.knowledge import KnowledgeDataError
from envkit.knowledge import logs as log_table
from envkit.model import CpuInfo, Finding, NvidiaKernelInfo, Severity, Snapshot, Unavailable
from envkit.rules.logs import log_checks, log_findings
from envkit.smoke import RunVerdict, SmokeSpec, findings_from
from envkit.smoke import classify as smoke_classify
from envkit.smoke.model import Diagnosis, LineKind, SmokeResult
from tests.rules_support import healthy, replace_os, with_tensorflow

FIXTURES = Path(__file__).parent / "fixtures" / "logs"

CASES = {
    "libcudart-jupyter.txt": "cuda-library-missing",
    "libcudnn8-tf28-report.txt": "cuda-library-missing",
    "cuinit-no-device.txt": "cuinit-no-device",
    "cuinit-unknown.txt": "cuinit-unknown",
    "min-capability-docker.txt": "gpu-min-capability",
    "min-capability-k520.txt": "gpu-min-capability",
    "illegal-instruction-celeron.txt": "illegal-instruction",
    "cudnn-mismatch-dnn-not-found.txt": "cudnn-version",
    "cudnn-version-kohya.txt": "cudnn-version",
    "dnn-not-found.txt": "cudnn-init",
    "numpy2-windows.txt": "numpy-abi",
    "numpy2-onnxruntime.txt": "numpy-abi",
    "module-not-found-notebook.txt": "module-missing",
    "module-not-found-bare.txt": "module-missing",
    "oom-gpu.txt": "out-of-memory",
    "ptxas-not-found.txt": "xla-ptxas",
    "libdevice-jupyter.txt": "xla-libdevice",
    "nccl-slurm-infiniband.txt": "nccl-error",
    "nccl-allreduce.txt": "nccl-error",
    "driver-insufficient.txt": "driver-too-old",
    "no-cuda-driver.txt": "no-cuda-driver",
    "cannot-dlopen-wsl.txt": "cuda-library-missing",
    "killed-training.txt": "killed",
    "cublas-handle.txt": "cublas-init",
    "importerror-libcudart-tf1.txt": "cuda-library-missing",
    "native-runtime-libcuda.txt": "no-cuda-driver",
    "dll-load-failed-windows.txt": "native-runtime-failed",
    "wsl-devices-busy.txt": "gpu-busy",
}

HARMFUL_IN_WSL = ("dkms", "modprobe", "rmmod", "apt install nvidia-driver", "ubuntu-drivers")
HARMFUL_IN_CONTAINER = ("dkms", "apt install nvidia-driver", "ubuntu-drivers", "reboot")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def causes_of(findings: tuple[Finding, ...]) -> list[str]:
    return [f.check_id.removeprefix("log.") for f in findings]


def by_cause(findings: tuple[Finding, ...], cause: str) -> Finding:
    (found,) = [f for f in findings if f.check_id == f"log.{cause}"]
    return found


def fix_text(finding: Finding) -> str:
    return "\n".join(finding.fix)


# ---------------------------------------------------------------- the real excerpts


def test_every_excerpt_has_a_readme_row_and_a_case() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    files = sorted(path.name for path in FIXTURES.glob("*.txt"))
    assert files == sorted(CASES)
    for name, cause in CASES.items():
        (row,) = [line for line in readme.splitlines() if line.startswith(f"| {name} |")]
        assert "https://" in row and row.rstrip().endswith(f"| {cause} |")


@pytest.mark.parametrize(("name", "cause"), sorted(CASES.items()))
def test_smoke_classifier_and_pasted_log_name_the_same_cause(name: str, cause: str) -> None:
    text = fixture(name)
    assert cause in {diagnosis.cause for diagnosis in smoke_classify.classify(text)}
    findings = log_findings(read_log(text))
    assert cause in causes_of(findings)
    finding = by_cause(findings, cause)
    assert finding.evidence.startswith("the log says, line ")
    assert finding.link is not None and finding.link.startswith("https://")


def test_the_cudnn_init_line_points_at_the_version_mismatch_that_causes_it() -> None:
    findings = log_findings(read_log(fixture("cudnn-mismatch-dnn-not-found.txt")))
    mismatch = by_cause(findings, "cudnn-version")
    assert "8.0.5" in mismatch.title and "8.6.0" in mismatch.title and "older" in mismatch.title
    init = by_cause(findings, "cudnn-init")
    assert "line 2" in init.evidence and "line 2" in fix_text(init)


def test_a_newer_loaded_cudnn_major_is_not_called_older() -> None:
    line = (
        "E0000 cuda_dnn.cc:522] Loaded runtime CuDNN library: 9.1.0 but source was compiled "
        "with: 8.9.4.  CuDNN library needs to have matching major version"
    )
    finding = by_cause(log_findings(read_log(line)), "cudnn-version")
    assert finding.title.endswith("newer, of another major version")
    old_spelling = (
        "E tensorflow/stream_executor/cuda/cuda_dnn.cc:378] Loaded runtime CuDNN library: 7201 "
        "(compatibility version 7200) but source was compiled with 7004 (compatibility version "
        "7000)."  # endernewton/tf-faster-rcnn#436
    )
    finding = by_cause(log_findings(read_log(old_spelling)), "cudnn-version")
    assert "7.2.1" in finding.title and "7.0.4" in finding.title and "newer" in finding.title


def test_numpy_names_the_module_built_for_numpy_1() -> None:
    finding = by_cause(log_findings(read_log(fixture("numpy2-onnxruntime.txt"))), "numpy-abi")
    assert "onnxruntime" in finding.evidence and "onnxruntime" in fix_text(finding)
    finding = by_cause(log_findings(read_log(fixture("numpy2-windows.txt"))), "numpy-abi")
    assert "tensorflow.python.client.pywrap_tf_session" in finding.evidence
    assert "numpy<2" in fix_text(finding)


def test_min_capability_never_gives_driver_steps() -> None:
    for name in ("min-capability-docker.txt", "min-capability-k520.txt"):
        finding = by_cause(log_findings(read_log(fixture(name))), "gpu-min-capability")
        assert "driver" not in fix_text(finding).replace("no driver or CUDA change helps", "")
        assert "TF_CUDA_COMPUTE_CAPABILITIES" in fix_text(finding)


def test_a_traceback_that_a_pattern_explains_is_not_reported_twice() -> None:
    findings = log_findings(read_log(fixture("ptxas-not-found.txt")))
    assert causes_of(findings) == ["xla-ptxas"]


def test_an_unknown_exception_is_still_a_finding() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/opt/conda/lib/python3.10/site-packages/keras/src/saving/saving_api.py", line 9,'
        " in load_model\n"
        "    raise ValueError(msg)\n"
        "ValueError: File format not supported: filepath=model.h5\n"
    )
    (finding,) = log_findings(read_log(text))
    assert finding.check_id == "log.python-exception"
    assert "keras.src.saving.saving_api" in finding.title and "line 4" in finding.evidence


# ---------------------------------------------------------------- facts change the fix


LIBCUDNN = fixture("libcudnn8-tf28-report.txt").splitlines()[-1]


def test_libcudnn_with_tf_2_4_keeps_tf_2_4_with_its_cuda_and_cudnn() -> None:
    snapshot = with_tensorflow(healthy(), "2.4.1")
    finding = by_cause(log_findings(read_log(LIBCUDNN), snapshot), "cuda-library-missing")
    assert "cuDNN 8.0" in finding.title and "2.4.1" in finding.title
    fix = fix_text(finding)
    assert "conda install" in fix and "cudatoolkit=11.0 cudnn=8.0" in fix
    assert "keeps tensorflow 2.4.1" in fix
    assert "tensorflow[and-cuda]==" not in fix  # the new-release route is named, not commanded


def test_libcudnn_with_tf_2_15_names_the_and_cuda_wheels_of_that_version() -> None:
    snapshot = with_tensorflow(healthy(), "2.15.0")
    finding = by_cause(log_findings(read_log(LIBCUDNN), snapshot), "cuda-library-missing")
    assert 'pip install "tensorflow[and-cuda]==2.15.0"' in fix_text(finding)
    assert "conda install" not in fix_text(finding)


def test_libcudnn_with_tf_1_12_keeps_tensorflow_gpu() -> None:
    snapshot = with_tensorflow(healthy(), "1.12.0")
    finding = by_cause(log_findings(read_log(LIBCUDNN), snapshot), "cuda-library-missing")
    assert "tensorflow-gpu 1.12.0" in fix_text(finding)
    assert "cudatoolkit=9.0 cudnn=7" in fix_text(finding)


def test_the_tf_version_of_a_pasted_report_is_used_without_a_snapshot() -> None:
    finding = by_cause(
        log_findings(read_log(fixture("libcudnn8-tf28-report.txt"))), "cuda-library-missing"
    )
    assert "2.8.0" in finding.title and "cudatoolkit=11.2 cudnn=8.1" in fix_text(finding)
    assert "line 3" in finding.evidence  # where the version came from


def test_unknown_tf_lists_candidates_with_how_to_tell_them_apart() -> None:
    finding = by_cause(
        log_findings(read_log(fixture("libcudart-jupyter.txt"))), "cuda-library-missing"
    )
    fix = fix_text(finding)
    assert "pip list" in fix and "import tensorflow" not in fix  # tells without importing it
    assert "TensorFlow 2.4-2.14" in fix  # the releases that load CUDA 11
    assert fix.index("2.13 or older") < fix.index("2.14 or newer")  # most of them are older


def test_a_tf_1_import_error_is_an_error_and_the_soname_gives_the_cuda_version() -> None:
    findings = log_findings(read_log(fixture("importerror-libcudart-tf1.txt")))
    finding = by_cause(findings, "cuda-library-missing")
    assert finding.severity is Severity.ERROR and finding.title.startswith("TensorFlow fails to")
    assert "cudatoolkit=8.0" in fix_text(finding) and "and-cuda" not in fix_text(finding)


def test_busy_devices_under_wsl_point_at_the_windows_driver() -> None:
    finding = by_cause(log_findings(read_log(fixture("wsl-devices-busy.txt"))), "gpu-busy")
    assert "context wsl2 from line 1" in finding.evidence and "Windows" in fix_text(finding)
    assert not any(word in fix_text(finding) for word in HARMFUL_IN_WSL)
    finding = by_cause(log_findings(read_log(fixture("wsl-devices-busy.txt").split("\n", 1)[1])),
                       "gpu-busy")  # fmt: skip
    assert "compute_mode" in fix_text(finding)


def test_windows_tf_2_11_and_newer_gets_the_wsl_route() -> None:
    line = (
        "W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic "
        "library 'cudart64_110.dll'; dlerror: cudart64_110.dll not found"
    )
    snapshot = replace_os(with_tensorflow(healthy(), "2.12.0"), system="Windows", wsl_version=None)
    finding = by_cause(log_findings(read_log(line), snapshot), "cuda-library-missing")
    assert "WSL 2" in fix_text(finding) and "native Windows" in fix_text(finding)


def test_wsl_context_from_the_log_has_no_linux_driver_steps() -> None:
    text = "ls /usr/lib/wsl/lib\n" + fixture("no-cuda-driver.txt") + fixture("cuinit-unknown.txt")
    findings = log_findings(read_log(text))
    for cause in ("no-cuda-driver", "cuinit-unknown"):
        finding = by_cause(findings, cause)
        assert "Windows" in fix_text(finding) and "context wsl2 from line 1" in finding.evidence
        assert not any(word in fix_text(finding) for word in HARMFUL_IN_WSL)


def test_container_context_moves_the_fix_to_the_host() -> None:
    text = "root@3f2a9c1b7d4e:/workspace# python train.py\n" + fixture("no-cuda-driver.txt")
    finding = by_cause(log_findings(read_log(text)), "no-cuda-driver")
    assert "--gpus all" in fix_text(finding) and "on the host" in fix_text(finding)
    assert not any(word in fix_text(finding) for word in HARMFUL_IN_CONTAINER)
    finding = by_cause(log_findings(read_log(text + fixture("cuinit-unknown.txt"))),
                       "cuinit-unknown")  # fmt: skip
    assert "before the container starts" in fix_text(finding)
    assert "rmmod" not in fix_text(finding)


def test_snapshot_context_wins_and_native_ubuntu_gets_ubuntu_drivers() -> None:
    finding = by_cause(log_findings(read_log(fixture("no-cuda-driver.txt")), healthy()),
                       "no-cuda-driver")  # fmt: skip
    assert "ubuntu-drivers" in fix_text(finding)
    wsl = replace_os(healthy(), wsl_version=2)
    finding = by_cause(log_findings(read_log(fixture("no-cuda-driver.txt")), wsl), "no-cuda-driver")
    assert not any(word in fix_text(finding) for word in HARMFUL_IN_WSL)


def test_gpu_setup_lines_are_info_on_a_machine_without_a_gpu() -> None:
    snapshot = healthy()
    finding = by_cause(log_findings(read_log(fixture("libcudart-jupyter.txt")), snapshot),
                       "cuda-library-missing")  # fmt: skip
    assert finding.severity is Severity.WARNING
    assert isinstance(snapshot.nvidia_kernel, NvidiaKernelInfo)
    no_gpu = dataclasses.replace(
        snapshot,
        nvml=Unavailable("no-driver", "synthetic: no NVIDIA driver"),
        nvidia_kernel=dataclasses.replace(snapshot.nvidia_kernel, pci_gpus=()),
    )
    finding = by_cause(log_findings(read_log(fixture("libcudart-jupyter.txt")), no_gpu),
                       "cuda-library-missing")  # fmt: skip
    assert finding.severity is Severity.INFO and "no NVIDIA GPU" in finding.title


def test_illegal_instruction_with_a_cpu_without_avx_is_the_evident_cause() -> None:
    snapshot = healthy()
    assert isinstance(snapshot.cpu, CpuInfo)
    no_avx = dataclasses.replace(snapshot.cpu, tensorflow_flags=(), flags_known=True)
    snapshot = dataclasses.replace(snapshot, cpu=no_avx)
    finding = by_cause(log_findings(read_log("Illegal instruction (core dumped)"), snapshot),
                       "illegal-instruction")  # fmt: skip
    assert finding.title.endswith("the CPU lacks AVX") and "pip install" not in fix_text(finding)


def test_cuda_visible_devices_hiding_every_gpu_is_named() -> None:
    snapshot: Snapshot = healthy()
    hidden = dataclasses.replace(snapshot.cuda_visible_devices, raw="", hides_all=True)
    snapshot = dataclasses.replace(snapshot, cuda_visible_devices=hidden)
    finding = by_cause(log_findings(read_log(fixture("cuinit-no-device.txt")), snapshot),
                       "cuinit-no-device")  # fmt: skip
    assert "CUDA_VISIBLE_DEVICES=''" in finding.title
    assert fix_text(finding).startswith("unset CUDA_VISIBLE_DEVICES")


def test_harmless_lines_become_one_info_finding() -> None:
    findings = log_findings(read_log(fixture("no-cuda-driver.txt")))
    noise = by_cause(findings, "noise")
    assert noise.severity is Severity.INFO and "tensorrt-missing" in noise.title
    assert findings[-1] is noise


# ---------------------------------------------------------------- read_log


def test_read_log_keeps_line_numbers_and_every_unknown_line() -> None:
    text = "header of a bug report\n\nsomething else\n" + fixture("cudnn-version-kohya.txt")
    reading = read_log(text)
    (event,) = reading.events
    assert event.cause == "cudnn-version" and event.line.line_number == 4
    assert event.detail("loaded") == "8.7.0" and event.detail("compiled") == "8.9.4"
    assert [line.text for line in reading.unrecognised] == ["header of a bug report",
                                                            "something else"]  # fmt: skip
    assert reading.line_count == 5


def test_a_bare_exception_line_counts_as_a_traceback() -> None:
    reading = read_log("ModuleNotFoundError: No module named 'tensorflow'")
    (exception,) = reading.exceptions
    assert exception.type_name == "ModuleNotFoundError" and not exception.has_header
    assert [e.cause for e in reading.events] == ["module-missing"]
    assert reading.events[0].detail("module") == "tensorflow"


def test_tracebacks_give_type_message_and_the_failing_module() -> None:
    reading = read_log(fixture("numpy2-windows.txt"))
    (exception,) = reading.exceptions
    assert exception.has_header and exception.short_type == "AttributeError"
    assert exception.message == "_ARRAY_API not found"
    assert exception.failing_module == "tensorflow.python.client.pywrap_tf_session"
    assert exception.frames[0].path.endswith("train_model.py")  # on the header's own line
    assert exception.frames[0].line.line_number == 1
    notebook = read_log(fixture("module-not-found-notebook.txt"))
    (exception,) = notebook.exceptions
    assert exception.has_header and exception.frames[0].function == "<module>"


def test_context_clues_are_read_out() -> None:
    clues = {c.name: c.value for c in read_log(fixture("illegal-instruction-celeron.txt")).clues}
    assert clues["container"] == "d87518e6c38b"
    assert read_log(fixture("cannot-dlopen-wsl.txt")).clue("wsl") is not None
    windows = read_log(fixture("numpy2-windows.txt"))
    assert windows.clue("windows") is not None
    oom = {c.name: c.value for c in read_log(fixture("oom-gpu.txt")).clues}
    assert oom["python-version"] == "3.6" and oom["conda-env"] == "py36"


def test_escape_sequences_and_control_characters_are_neutralised() -> None:
    text = (
        "\x1b]0;pwned\x07\x1b[31mE cuda_driver.cc] failed call to cuInit: CUDA_ERROR_UNKNOWN"
        "\x1b[0m\x1b[2J\n"
        "progress 10%\rprogress 100%\n"
        "bell\x07 and \x9b31m C1 and bidi \u202e text\u2028\n"
    )
    reading = read_log(text)
    assert reading.events[0].cause == "cuinit-unknown"
    assert reading.events[0].line.text == (
        "E cuda_driver.cc] failed call to cuInit: CUDA_ERROR_UNKNOWN"
    )
    shown = [line.text for line in reading.unrecognised]
    assert shown == ["progress 100%", "bell and 31m C1 and bidi  text"]
    for finding in log_findings(reading):
        assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in finding.evidence)
    assert neutralise("a\x1b[1mb\tc\x00") == "ab c"


def test_nothing_recognised_is_said_so() -> None:
    reading = read_log("hello\nworld\n")
    assert not reading.recognised and len(reading.unrecognised) == 2
    assert log_findings(reading) == ()


# ---------------------------------------------------------------- the table


def test_one_table_serves_the_smoke_classifier_and_the_log_reader() -> None:
    table = log_table.log_patterns()
    assert [p.cause for p in smoke_classify.PATTERNS] == [p.pattern_id for p in table]
    for pattern in table:
        assert pattern.sources and all(url.startswith("https://") for url in pattern.sources)
        assert pattern.meaning and pattern.kind in log_table.KINDS
    ids = {check.check_id for check in log_checks()}
    assert "log.gpu-min-capability" in ids and "log.duplicate-registration" not in ids


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        # tensorflow/tensorflow#46653
        ("Ignoring visible gpu device (device: 0, name: GeForce GTX 780M compute capability: "
         "3.0) with Cuda compute capability 3.0. The minimum required Cuda capability is 3.5.",
         "gpu-min-capability"),
        # tensorflow/tensorflow#112 (older wording)
        ("Ignoring gpu device (device: 0, name: GRID K520, pci bus id: 0000:00:03.0) with Cuda "
         "compute capability 3.0. The minimum required Cuda capability is 3.5.",
         "gpu-min-capability"),
        # microsoft/WSL#5663
        ("ldconfig: /usr/lib/wsl/lib/libcuda.so.1 is not a symbolic link", "wsl-libcuda-copy"),
        # openxla/xla#5932
        ("W external/xla/xla/stream_executor/gpu/redzone_allocator.cc:322] UNIMPLEMENTED: ptxas "
         "ptxas too old. Falling back to the driver to compile.", "xla-ptxas"),
        # tensorflow/tensorflow#58681
        ("W tensorflow/compiler/xla/service/gpu/nvptx_helper.cc:56] Can't find libdevice "
         "directory ${CUDA_DIR}/nvvm/libdevice. This may result in compilation or runtime "
         "failures", "xla-libdevice"),
        # picobyte/stable-diffusion-webui-wd14-tagger#114
        ("W tensorflow/core/framework/op_kernel.cc:1828] UNKNOWN: JIT compilation failed.",
         "jit-compile-failed"),
        # tensorflow/tensorflow#21554
        ("The kernel appears to have died. It will restart automatically.", "kernel-died"),
        # tensorflow/tensorflow#8197
        ("Segmentation fault (core dumped)", "segfault"),
        # microsoft/DirectML#18
        ("Could not load dynamic library 'libcuda.so.1'; dlerror: libcuda.so.1: cannot open "
         "shared object file", "no-cuda-driver"),
        # tensorflow/tensorflow#63362: TensorRT comes before the CUDA-library pattern
        ("Could not load dynamic library 'libnvinfer.so.7'", "tensorrt-missing"),
    ],
)  # fmt: skip
def test_table_lines(line: str, cause: str) -> None:
    (diagnosis,) = smoke_classify.classify(line)
    assert diagnosis.cause == cause
    assert [e.cause for e in read_log(line).events] == [cause]


def test_every_pattern_compiles_and_its_stored_hints_are_those_its_regex_gives() -> None:
    # stale hints would hide lines from a pattern: run scripts/log_pattern_hints.py after an edit
    for pattern in log_table.log_patterns():
        assert log_table.literal_hints(re.compile(pattern.regex_text)) == pattern.hints, (
            pattern.pattern_id
        )


def test_a_pattern_whose_regex_does_not_compile_says_which_it_is() -> None:
    broken = log_table.LogPattern("broken", "noise", "noise", "(", "", ("https://x.org",), None)
    with pytest.raises(KnowledgeDataError, match="'broken'"):
        broken.regex  # noqa: B018 -- compiled when first wanted


def test_the_hint_shortcut_never_changes_which_pattern_a_line_takes() -> None:
    lines = [line.strip() for path in sorted(FIXTURES.glob("*.txt"))
             for line in path.read_text(encoding="utf-8").splitlines()]  # fmt: skip
    lines += ["Illegal instruction", "[1]    4242 killed     python train.py", "Aborted"]
    for line in lines:
        brute = next((p for p in log_table.log_patterns() if p.regex.search(line)), None)
        matched = log_table.match_line(line)
        assert (matched[0] if matched else None) == brute, line


def test_the_smoke_run_judges_a_line_its_own_table_knows() -> None:
    line = fixture("min-capability-k520.txt").splitlines()[-1]
    result = _gpu_run_with(Diagnosis("gpu-min-capability", LineKind.GPU_SETUP, line, 1))
    (finding,) = [f for f in findings_from(result) if f.check_id == "smoke.gpu-arch"]
    assert "compute capability 3.0" in finding.title and finding.severity is Severity.ERROR
    assert finding.link == "https://github.com/tensorflow/tensorflow/issues/46653"
    assert "driver" not in "\n".join(finding.fix).replace("no driver or CUDA change", "")


def test_chained_tracebacks_keep_both_exceptions_and_no_stray_lines() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/x/lib/python3.11/site-packages/tensorflow/python/pywrap_tensorflow.py", line 58,'
        " in <module>\n"
        "ImportError: libcudart.so.10.0: cannot open shared object file\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "<stdin>", line 1, in <module>\n'
        "ImportError: Traceback (most recent call last):\n"
    )
    reading = read_log(text)
    assert [e.short_type for e in reading.exceptions] == ["ImportError", "ImportError"]
    assert reading.exceptions[0].failing_module == "tensorflow.python.pywrap_tensorflow"
    assert [e.cause for e in reading.events] == ["cuda-library-missing"]
    assert reading.events[0].detail("library") == "libcudart.so.10.0"
    assert reading.unrecognised == ()


def test_tf_2_16_wheels_not_found_gets_the_loader_path_step() -> None:
    snapshot = with_tensorflow(healthy(), "2.16.1")
    text = fixture("cannot-dlopen-wsl.txt")
    finding = by_cause(log_findings(read_log(text), snapshot), "cuda-library-missing")
    assert 'tensorflow[and-cuda]==2.16.1"' in fix_text(finding)
    assert "nvidia.__path__" in fix_text(finding) and "LD_LIBRARY_PATH" in fix_text(finding)


def _gpu_run_with(diagnosis: Diagnosis) -> SmokeResult:
    return SmokeResult(
        spec=SmokeSpec(device="gpu"), python="/env/bin/python", stack=None, data=None, runs=(),
        failure=None, gpu_requested=True, gpu_missing=True, diagnoses=(diagnosis,),
        wall_seconds=1.0, peak_rss_bytes=None, speedup=None, verdict=RunVerdict.ERROR,
    )  # fmt: skip


def test_the_smoke_run_knows_the_context_when_given_the_snapshot() -> None:
    line = fixture("cuinit-unknown.txt").splitlines()[0]
    result = _gpu_run_with(Diagnosis("cuinit-unknown", LineKind.GPU_SETUP, line, 1))
    (plain,) = [f for f in findings_from(result) if f.check_id == "smoke.cuinit"]
    assert "modprobe" in fix_text(plain)  # native Linux: reload the UVM module
    for snapshot in (
        replace_os(healthy(), wsl_version=2),
        replace_os(healthy(), container="docker"),
    ):
        (finding,) = [f for f in findings_from(result, snapshot) if f.check_id == "smoke.cuinit"]
        assert "rmmod" not in fix_text(finding) and "dkms" not in fix_text(finding)
    wsl = replace_os(healthy(), wsl_version=2)
    (finding,) = [f for f in findings_from(result, wsl) if f.check_id == "smoke.cuinit"]
    assert "Windows" in fix_text(finding) and "modprobe" not in fix_text(finding)


def test_a_snapshot_that_could_not_read_the_gpus_does_not_call_gpu_lines_harmless() -> None:
    snapshot = dataclasses.replace(
        healthy(),
        nvml=Unavailable("from-input", "synthetic: no nvidia-smi part in the pasted report"),
        nvidia_kernel=Unavailable("from-input", "synthetic: not in the pasted report"),
    )
    finding = by_cause(log_findings(read_log(fixture("libcudart-jupyter.txt")), snapshot),
                       "cuda-library-missing")  # fmt: skip
    assert finding.severity is Severity.WARNING


def test_a_driver_mismatch_line_is_the_evident_cause_of_cuinit_failing() -> None:
    text = (
        "E tensorflow/stream_executor/cuda/cuda_driver.cc:406] failed call to cuInit: "
        "CUDA_ERROR_NO_DEVICE\n"
        "I tensorflow/stream_executor/cuda/cuda_diagnostics.cc:189] libcuda reported version is: "
        "384.111.0\n"
        "I tensorflow/stream_executor/cuda/cuda_diagnostics.cc:193] kernel reported version is: "
        "384.90.0\n"
        "E tensorflow/stream_executor/cuda/cuda_diagnostics.cc:303] kernel version 384.90.0 does "
        "not match DSO version 384.111.0 -- cannot find working devices in this configuration\n"
    )  # tensorflow/tensorflow#1158
    findings = log_findings(read_log(text))
    mismatch = by_cause(findings, "driver-library-mismatch")
    assert "libcuda 384.111.0" in mismatch.evidence and "kernel 384.90.0" in mismatch.evidence
    assert fix_text(mismatch).startswith("sudo reboot") and "purge" not in fix_text(mismatch)
    cuinit = by_cause(findings, "cuinit-no-device")
    assert "line 4" in cuinit.title and "CUDA_VISIBLE_DEVICES" not in fix_text(cuinit)


CASES_DIR = Path(__file__).parent / "cases"


def _stderr_cases() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("stderr"), str):
            found.append((path.stem, data["stderr"]))
    return found


@pytest.mark.parametrize(("name", "text"), _stderr_cases())
def test_corpus_stderr_cases_read_the_same_through_both_paths(name: str, text: str) -> None:
    """tests/cases: each real stderr case names the same causes through the smoke classifier
    and through read_log + log_findings (what `doctor --from` runs)."""
    smoke = {d.cause for d in smoke_classify.classify(text) if d.kind is not LineKind.NOISE}
    pasted = set(causes_of(log_findings(read_log(text)))) - {"noise", "python-exception"}
    assert smoke == pasted, name


def test_a_piece_of_a_longer_input_keeps_its_source_and_line_numbers() -> None:
    reading = read_log(fixture("cudnn-version-kohya.txt"), source="report.md", first_line=40)
    (event,) = reading.events
    assert event.line.line_number == 40 and reading.source == "report.md"
    (finding,) = log_findings(reading)
    assert finding.evidence.startswith('report.md says, line 40: "E external/local_xla')


@pytest.mark.parametrize(
    ("context", "harmful"),
    [("wsl", HARMFUL_IN_WSL), ("container", HARMFUL_IN_CONTAINER)],
)
def test_no_excerpt_gets_a_harmful_command_in_wsl_or_a_container(
    context: str, harmful: tuple[str, ...]
) -> None:
    changes = {"wsl_version": 2} if context == "wsl" else {"container": "docker"}
    snapshot = replace_os(healthy(), **changes)
    for name in CASES:
        for finding in log_findings(read_log(fixture(name)), snapshot):
            commands = [line for line in finding.fix if not line.lstrip().startswith("#")]
            bad = [line for line in commands if any(word in line for word in harmful)]
            assert not bad, (name, finding.check_id, bad)
