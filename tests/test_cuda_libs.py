"""System CUDA libraries: the probe (against the real loader cache and ldconfig), the snapshot
field, the check that uses it, and cuDNN mismatch directions from real log lines.

The log lines are quoted from the threads named beside them; the wheel versions are those
tensorflow[and-cuda] 2.15.0 pins (compat.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from envkit import codec
from envkit.model import CudaLibrariesInfo, CudaLibrary, Snapshot
from envkit.probes.cuda_libs import probe_cuda_libraries
from envkit.rules import cudnn_mismatch
from tests.rules_support import cuda_build, healthy, run_check, with_packages, with_tensorflow

LDCONFIG = shutil.which("ldconfig") or next(
    (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.path.exists(p)), None
)


def test_loader_cache_agrees_with_ldconfig_p() -> None:
    if LDCONFIG is None:
        pytest.skip("no ldconfig on this machine")
    listed = subprocess.run([LDCONFIG, "-p"], capture_output=True, text=True, check=True).stdout
    expected = {
        line.split("=>")[-1].strip()
        for line in listed.splitlines()
        if "=>" in line and line.strip().startswith(("libcudart.so", "libcudnn.so"))
    }
    found = probe_cuda_libraries({})
    assert {lib.path for lib in found.libraries if lib.found_via == "ldconfig"} == expected


def test_library_path_versions_follow_links_and_toolkit_version(tmp_path: Path) -> None:
    lib = tmp_path / "opt/cudnn/lib"
    lib.mkdir(parents=True)
    (lib / "libcudnn.so.8.9.7").write_bytes(b"")
    (lib / "libcudnn.so.8").symlink_to("libcudnn.so.8.9.7")
    (lib / "libcudnn_ops_infer.so.8").write_bytes(b"")  # not the library TensorFlow opens
    toolkit = tmp_path / "usr/local/cuda-11.8"
    (toolkit / "bin").mkdir(parents=True)
    (toolkit / "bin/nvcc").write_text("#!/bin/sh\n")
    (toolkit / "bin/nvcc").chmod(0o755)
    (toolkit / "version.json").write_text(json.dumps({"cuda": {"version": "11.8.89"}}))
    environ = {"LD_LIBRARY_PATH": "/opt/cudnn/lib:/nonexistent", "PATH": "/usr/local/cuda-11.8/bin"}
    info = probe_cuda_libraries(environ, tmp_path)
    assert [(lib.name, lib.version, lib.found_via) for lib in info.libraries] == [
        ("libcudnn", "8.9.7", "LD_LIBRARY_PATH"),
        ("libcudnn", "8.9.7", "LD_LIBRARY_PATH"),
    ]
    [found] = info.toolkits
    assert found.version == "11.8.89" and found.on_path
    assert probe_cuda_libraries({}, tmp_path / "empty").libraries == ()


def test_old_snapshot_without_cuda_libraries_loads() -> None:
    data = codec.encode(healthy())
    assert isinstance(data, dict)
    data.pop("cuda_libraries", None)
    loaded = codec.decode(Snapshot, data)
    assert loaded.cuda_libraries is None
    assert run_check("tensorflow.system-cuda", loaded) == []


def _with_libraries(snapshot: Snapshot, *libraries: CudaLibrary) -> Snapshot:
    return dataclasses.replace(snapshot, cuda_libraries=CudaLibrariesInfo((), libraries))


def _tf_2_15() -> Snapshot:
    snapshot = with_tensorflow(healthy(), "2.15.0", build=cuda_build("12.2", "8", "sm_80"))
    return with_packages(snapshot, nvidia_cudnn_cu12="8.9.4.25")


def test_library_path_cudnn_shadowing_the_wheel() -> None:
    old = CudaLibrary("libcudnn", "8.6.0", "/usr/local/cuda/lib64/libcudnn.so.8", "LD_LIBRARY_PATH")
    [finding] = run_check("tensorflow.system-cuda", _with_libraries(_tf_2_15(), old))
    assert "8.6.0" in finding.title and "8.9.4.25" in finding.title
    assert any("/usr/local/cuda/lib64" in line for line in finding.fix)
    in_cache = dataclasses.replace(old, found_via="ldconfig")
    assert run_check("tensorflow.system-cuda", _with_libraries(_tf_2_15(), in_cache)) == []
    same = dataclasses.replace(old, version="8.9.4.25")
    assert run_check("tensorflow.system-cuda", _with_libraries(_tf_2_15(), same)) == []


def test_system_cudnn_of_another_major_for_tensorflow_before_2_14() -> None:
    snapshot = with_tensorflow(healthy(), "2.10.0", build=cuda_build("11.2", "8", "sm_80"))
    seven = CudaLibrary("libcudnn", "7.6.5", "/usr/lib/x86_64-linux-gnu/libcudnn.so.7", "ldconfig")
    [finding] = run_check("tensorflow.system-cuda", _with_libraries(snapshot, seven))
    assert finding.title == (
        "The system cuDNN loaded (7.6.5) is an older major version than the 8.1 TensorFlow "
        "was built with"
    )
    assert finding.fix[0].startswith("conda install -c conda-forge cudatoolkit=11.2 cudnn=8.1")
    eight = dataclasses.replace(seven, version="8.1.1")
    assert run_check("tensorflow.system-cuda", _with_libraries(snapshot, seven, eight)) == []


@pytest.mark.parametrize(
    ("line", "direction"),
    [
        # tensorflow/tensorflow#60913 (2025-02-04 comment)
        (
            "E0000 00:00:1738697930.202924    7665 cuda_dnn.cc:522] Loaded runtime CuDNN library: "
            "9.1.0 but source was compiled with: 9.3.0.  CuDNN library needs to have matching "
            "major version and equal or higher minor version.",
            "older",
        ),
        # balancap/SSD-Tensorflow#340: a newer cuDNN than the build's, 1.x's number format
        (
            "Loaded runtime CuDNN library: 7301 (compatibility version 7300) but source was "
            "compiled with 7003 (compatibility version 7000).",
            "newer-minor",
        ),
        # tensorflow/tensorflow#3922
        (
            "Loaded runtime CuDNN library: 5103 (compatibility version 5100) but source was "
            "compiled with 4007 (compatibility version 4000).",
            "newer-major",
        ),
    ],
)
def test_log_line_directions(line: str, direction: str) -> None:
    mismatch = cudnn_mismatch.from_log_line(line)
    assert mismatch is not None and mismatch.direction == direction
    assert mismatch.loaded in mismatch.describe() and mismatch.built in mismatch.describe()


def test_fix_keeps_the_installed_tensorflow() -> None:
    mismatch = cudnn_mismatch.compare("8.5.0", "8.6.0")  # tensorflow/tensorflow#60913, TF 2.12
    assert mismatch is not None
    fix = cudnn_mismatch.keep_tensorflow_fix(mismatch, "python", "2.12.0")
    assert fix[0].startswith("conda install -c conda-forge cudatoolkit=11.8 cudnn=8.6")
    assert not any('"tensorflow[and-cuda]"' in line for line in fix)
    newer = cudnn_mismatch.keep_tensorflow_fix(mismatch, "python", "2.15.0")
    assert newer[0].startswith('python -m pip install "tensorflow[and-cuda]==2.15.0"')
    assert cudnn_mismatch.compare("8.9.4", "8.9") is None
