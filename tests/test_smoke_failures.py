"""When the framework fails: real child processes that really die or fail that way.

A fake ``tensorflow`` package put first on PYTHONPATH is imported by the job instead of the real
one and kills its own process with SIGILL (a CPU without AVX), segfaults through ctypes, hangs,
or allocates more memory than exists. Messages that only a GPU machine can produce (a missing
libcudart, a cuDNN mismatch, cuDNN failing to initialise, duplicate factory registration) are
LABELLED STAND-INS: a wrapper or fake package prints the exact text users posted in the cited
issue threads, and everything else about the run is real.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from envkit.model import Severity
from envkit.smoke import LineKind, RunVerdict, SmokeSpec, findings_from, run_smoke
from envkit.smoke.classify import classify
from tests.envs import fake_python, python_without_tensorflow, require_test_env


def fake_tensorflow(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose PYTHONPATH puts a fake tensorflow package first."""
    package = tmp_path / "fake-site" / "tensorflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("# FAKE tensorflow for envkit's tests\n" + body)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(package.parent)
    env["KERAS_HOME"] = str(tmp_path / "keras-home")
    return env


def smoke(env: dict[str, str], python: str = sys.executable, **spec: object) -> object:
    return run_smoke(python, SmokeSpec(quick=True, offline=True, **spec), env=env)  # type: ignore[arg-type]


def test_sigill_on_import(tmp_path: Path) -> None:
    env = fake_tensorflow(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    result = run_smoke(sys.executable, SmokeSpec(quick=True, offline=True), env=env)
    assert result.failure is not None
    assert (result.failure.signal_name, result.failure.stage) == ("SIGILL", "import")
    assert result.verdict is RunVerdict.ERROR and not result.runs
    (finding,) = [f for f in findings_from(result) if f.severity is Severity.ERROR]
    assert finding.check_id == "smoke.import-sigill"
    assert "AVX" in finding.title and any("/proc/cpuinfo" in line for line in finding.fix)


def test_segfault_on_import(tmp_path: Path) -> None:
    env = fake_tensorflow(tmp_path, "import ctypes\nctypes.string_at(0)\n")
    result = run_smoke(sys.executable, SmokeSpec(quick=True, offline=True), env=env)
    assert result.failure is not None and result.failure.signal_name == "SIGSEGV"
    (finding,) = [f for f in findings_from(result) if f.severity is Severity.ERROR]
    assert finding.check_id == "smoke.crashed" and "segmentation fault" in finding.title


def test_hang_hits_the_timeout_and_the_child_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    env = fake_tensorflow(
        tmp_path, f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n",
    )  # fmt: skip
    result = run_smoke(sys.executable, SmokeSpec(quick=True, offline=True, timeout_s=3), env=env)
    assert result.failure is not None and result.failure.cause == "timeout"
    assert result.failure.stage == "import"
    assert result.wall_seconds < 60
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)
    assert [f.check_id for f in findings_from(result)] == ["smoke.timeout"]


def test_host_out_of_memory_on_import(tmp_path: Path) -> None:
    """A real MemoryError: the fake package asks the allocator for 16 TiB."""
    env = fake_tensorflow(tmp_path, "blob = bytearray(1 << 44)\n")
    python = python_without_tensorflow(tmp_path / "venv")
    result = run_smoke(python, SmokeSpec(quick=True, offline=True), env=env)
    assert result.failure is not None and result.failure.cause == "import-error"
    assert result.failure.error_type == "MemoryError"
    ids = {f.check_id for f in findings_from(result) if f.severity is Severity.ERROR}
    assert ids == {"smoke.import-failed", "smoke.out-of-memory"}


def test_interpreter_without_tensorflow(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH="", KERAS_HOME=str(tmp_path))
    python = python_without_tensorflow(tmp_path / "venv")
    result = run_smoke(python, SmokeSpec(quick=True, offline=True), env=env)
    assert result.failure is not None and result.failure.cause == "import-error"
    assert "No module named 'tensorflow'" in result.failure.message
    (finding,) = findings_from(result)
    assert finding.check_id == "smoke.import-failed" and finding.severity is Severity.ERROR


def test_not_an_interpreter(tmp_path: Path) -> None:
    python = fake_python(tmp_path, "echo 'not python' >&2\nexit 7\n")
    result = run_smoke(str(python), SmokeSpec(quick=True, offline=True))
    assert result.failure is not None and result.failure.stage == "start"
    assert "status 7" in result.failure.message
    assert result.verdict is RunVerdict.ERROR


def test_missing_interpreter() -> None:
    result = run_smoke("/nonexistent/bin/python", SmokeSpec(quick=True))
    assert result.failure is not None and result.failure.cause == "start-error"
    assert "/nonexistent/bin/python" in result.failure.message


# ---------------------------------------------------------------- labelled stand-ins

# Exact lines posted by users (stand-ins: this machine has no GPU to print them).
LIBCUDART_MISSING = (  # tensorflow/tensorflow#45930 (via jax-ml/jax#3746)
    "2021-04-09 19:52:41.024315: W tensorflow/stream_executor/platform/default/"
    "dso_loader.cc:60] Could not load dynamic library 'libcudart.so.11.0'; dlerror: "
    "libcudart.so.11.0: cannot open shared object file: No such file or directory"
)
CUDNN_MISMATCH = (  # bmaltais/kohya_ss#2787, the message of tensorflow/tensorflow#50217
    "E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:447] Loaded runtime CuDNN "
    "library: 8.7.0 but source was compiled with: 8.9.4.  CuDNN library needs to have matching "
    "major version and equal or higher minor version. If using a binary install, upgrade your "
    "CuDNN library.  If building from sources, make sure the library loaded at runtime is "
    "compatible with the version specified during compile configuration."
)
CUDNN_INIT = (  # tensorflow/tensorflow#24828
    "Failed to get convolution algorithm. This is probably because cuDNN failed to initialize, "
    "so try looking to see if a warning log message was printed above."
)
NOISE_LINES = (  # tensorflow/tensorflow#62075, openxla/xla#20803, kr-colab/ReLERNN#63
    "2023-10-09 13:36:23.355516: E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:9342]"
    " Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one"
    " has already been registered",
    "2023-10-09 13:36:23.355933: E tensorflow/compiler/xla/stream_executor/cuda/cuda_blas.cc:1518]"
    " Unable to register cuBLAS factory: Attempting to register factory for plugin cuBLAS when one"
    " has already been registered",
    "2023-12-05 09:29:20.002737: W tensorflow/compiler/tf2tensorrt/utils/py_utils.cc:38] TF-TRT "
    "Warning: Could not find TensorRT",
    "2025-02-09 09:37:34.496341: I external/local_xla/xla/stream_executor/cuda/cuda_executor.cc:"
    "901] successful NUMA node read from SysFS had negative value (-1), but there must be at "
    "least one NUMA node, so returning NUMA node zero.",
)


def wrapper_printing(tmp_path: Path, python: str, lines: tuple[str, ...]) -> str:
    """STAND-IN: a 'python' that prints ``lines`` on stderr, then runs the real interpreter."""
    quoted = "".join(f"printf '%s\\n' {_sh(line)} >&2\n" for line in lines)
    return str(fake_python(tmp_path, quoted + f'exec {_sh(python)} "$@"\n', name="python-standin"))


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_standin_libcudart_missing_explains_the_missing_gpu(tmp_path: Path) -> None:
    real = require_test_env("tf")
    python = wrapper_printing(tmp_path, real, (LIBCUDART_MISSING,))
    result = run_smoke(
        python, SmokeSpec(quick=True, offline=True, device="gpu"),
        env=dict(os.environ, KERAS_HOME=str(tmp_path)),
    )  # fmt: skip
    if result.stack is not None and result.stack.gpus:
        pytest.skip("this machine has a GPU")
    assert result.gpu_missing
    by_id = {f.check_id: f for f in findings_from(result)}
    # one finding per cause: the missing GPU follows from the driver the run logged as missing
    assert "smoke.gpu-visible" not in by_id
    assert "lists no GPU" in by_id["smoke.cuinit"].evidence
    assert by_id["smoke.cuda-libraries"].severity is Severity.ERROR
    assert "libcudart.so.11.0" in by_id["smoke.cuda-libraries"].evidence


def test_standin_lines_are_harmless_where_no_gpu_was_asked_for(tmp_path: Path) -> None:
    real = require_test_env("tf")
    python = wrapper_printing(tmp_path, real, (LIBCUDART_MISSING, *NOISE_LINES))
    result = run_smoke(
        python, SmokeSpec(quick=True, offline=True, device="cpu"),
        env=dict(os.environ, KERAS_HOME=str(tmp_path)),
    )  # fmt: skip
    assert result.verdict is RunVerdict.PASS
    kinds = {d.cause: d.kind for d in result.diagnoses}
    assert kinds["duplicate-registration"] is LineKind.NOISE
    assert kinds["tensorrt-missing"] is LineKind.NOISE
    assert kinds["numa-node"] is LineKind.NOISE
    assert kinds["cuda-library-missing"] is LineKind.GPU_SETUP
    assert all(f.severity is Severity.INFO for f in findings_from(result))


def test_standin_cudnn_failures_on_import(tmp_path: Path) -> None:
    body = (
        "import sys\n"
        f"sys.stderr.write({CUDNN_MISMATCH!r} + '\\n')\n"
        f"raise RuntimeError({CUDNN_INIT!r})\n"
    )
    result = run_smoke(sys.executable, SmokeSpec(quick=True, offline=True),
                       env=fake_tensorflow(tmp_path, body))  # fmt: skip
    causes = {d.cause for d in result.diagnoses}
    assert {"cudnn-version", "cudnn-init"} <= causes
    cudnn = [f for f in findings_from(result) if f.check_id == "smoke.cudnn"]
    assert {f.severity for f in cudnn} == {Severity.ERROR}
    assert any("8.7.0 but source was compiled with: 8.9.4" in f.evidence for f in cudnn)
    # the title names the direction and both versions (issue #9)
    assert any("8.7.0" in f.title and "8.9.4" in f.title and "older" in f.title for f in cudnn)


@pytest.mark.parametrize(
    ("line", "cause"),
    [
        # tensorflow/tensorflow#101746
        ("W tensorflow/compiler/mlir/tools/kernel_gen/tf_gpu_runtime_wrappers.cc:40] "
         "'cuModuleLoadData(&module, data)' failed with 'CUDA_ERROR_INVALID_PTX'", "gpu-arch"),
        # tensorflow/tensorflow#97387
        ("W0000 00:00:1753232013.685876   24341 gpu_device.cc:2431] TensorFlow was not built "
         "with CUDA kernel binaries compatible with compute capability 12.0. CUDA kernels will "
         "be jit-compiled from PTX, which could take 30 minutes or longer.", "gpu-arch"),
        # doctor-anchors section 4, item 11 (tensorflow/tensorflow#255)
        ("E tensorflow/stream_executor/cuda/cuda_driver.cc:300] failed call to cuInit: "
         "CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected", "cuinit-no-device"),
        # tensorflow/tensorflow#394, #53341
        ("failed call to cuInit: CUDA_ERROR_UNKNOWN", "cuinit-unknown"),
        # TF 2.21 on this very machine (no NVIDIA driver)
        ("E0000 00:00:1795635698.881100   18748 cuda_platform.cc:52] failed call to cuInit: "
         "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)", "cuinit-failed"),
        ("tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating "
         "tensor with shape[60000,512]", "out-of-memory"),
        ("A module that was compiled using NumPy 1.x cannot be run in", "numpy-abi"),
        ("AttributeError: _ARRAY_API not found", "numpy-abi"),
        ("Using TensorFlow backend.", "keras-backend-note"),
    ],
)  # fmt: skip
def test_classifier_lines(line: str, cause: str) -> None:
    (diagnosis,) = classify(line)
    assert diagnosis.cause == cause
