"""Install lines keep the user's intent and fit the platform; each class fires and stays quiet.

Snapshots: tests/snapshots.py's SYNTHETIC workstation, changed one fact at a time to real
published values (package names and Requires-Dist lines as PyPI's METADATA has them, per
../shared/reference/compat.md sections 5 and 7).
"""

from __future__ import annotations

import dataclasses

from envkit import codec, knowledge
from envkit.model import Distribution, Severity, Snapshot, Unavailable
from envkit.rules import tf_install
from tests.rules_support import (
    cpu_build,
    healthy,
    replace_os,
    replace_python,
    run_check,
    with_packages,
    with_tensorflow,
)

# tensorflow 2.15.0's METADATA: the Windows wheel is a shim that requires tensorflow-intel.
TF_2_15_WINDOWS_REQUIREMENTS = (
    'tensorflow-intel==2.15.0; platform_system == "Windows"',
    'tensorflow-cpu-aws==2.15.0; platform_system == "Linux" and '
    '(platform_machine == "arm64" or platform_machine == "aarch64")',
    "numpy<2.0.0,>=1.23.5",
)


def _no_tensorflow(snapshot: Snapshot) -> Snapshot:
    return dataclasses.replace(
        with_packages(snapshot, tensorflow=None),
        tensorflow=Unavailable("tensorflow-not-installed", "none"),
    )


def _windows(snapshot: Snapshot) -> Snapshot:
    return replace_os(snapshot, system="Windows", distro_id=None, distro_version=None)


def _release(series: str) -> knowledge.TfRelease:
    release = knowledge.tensorflow_release(series + ".0")
    assert release is not None
    return release


def test_tf_1x_gpu_install_names_tensorflow_gpu() -> None:
    snapshot = healthy()
    assert tf_install.pip_install_tensorflow(snapshot, _release("1.14"), gpu=True) == (
        'pip install "tensorflow-gpu==1.14.*"'
    )
    assert tf_install.pip_install_tensorflow(snapshot, _release("1.14"), gpu=False) == (
        'pip install "tensorflow==1.14.*"'
    )
    env = tf_install.tensorflow_env_steps(snapshot, _release("1.12"), gpu=True)
    assert "cudatoolkit=9 cudnn=7" in env[2] or "cudatoolkit=9.0" in env[2]
    assert env[-1] == 'pip install "tensorflow-gpu==1.12.*"'


def test_gpu_intent_from_the_installed_tensorflow_gpu_package() -> None:
    no_gpu = dataclasses.replace(
        healthy(),
        nvml=Unavailable("no-library", "none"),
        nvidia_kernel=Unavailable("no-module", "none"),
    )
    gpu_dist = (Distribution("tensorflow-gpu", "1.12.0"),)
    assert tf_install.gpu_intent(with_tensorflow(no_gpu, "1.12.0", distributions=gpu_dist))
    assert not tf_install.gpu_intent(with_tensorflow(no_gpu, "2.21.0", build=cpu_build()))


def test_two_distributions_reinstall_keeps_the_gpu_package() -> None:
    dists = (Distribution("tensorflow", "1.14.0"), Distribution("tensorflow-gpu", "1.14.0"))
    snapshot = with_tensorflow(healthy(), "1.14.0", distributions=dists)
    [finding] = run_check("tensorflow.one-distribution", snapshot)
    assert finding.fix[-1].endswith('pip install "tensorflow-gpu==1.14.0"')
    alone = with_tensorflow(healthy(), "1.14.0", distributions=dists[1:])
    assert run_check("tensorflow.one-distribution", alone) == []


def test_windows_tensorflow_intel_layout_is_one_install() -> None:
    dists = (Distribution("tensorflow", "2.15.0"), Distribution("tensorflow-intel", "2.15.0"))
    snapshot = with_tensorflow(
        _windows(healthy()),
        "2.15.0",
        distributions=dists,
        requirements=TF_2_15_WINDOWS_REQUIREMENTS,
        build=cpu_build(),
    )
    assert run_check("tensorflow.one-distribution", snapshot) == []
    clash = (*dists, Distribution("tensorflow-cpu", "2.15.0"))
    [finding] = run_check(
        "tensorflow.one-distribution",
        with_tensorflow(
            _windows(healthy()),
            "2.15.0",
            distributions=clash,
            requirements=TF_2_15_WINDOWS_REQUIREMENTS,
        ),
    )
    assert "tensorflow-cpu 2.15.0" in finding.evidence
    assert "tensorflow-intel" not in finding.fix[0]


def test_windows_tf_2_11_plus_gpu_route_is_wsl() -> None:
    snapshot = with_tensorflow(_windows(healthy()), "2.15.0", build=cpu_build())
    [finding] = run_check("tensorflow.gpu-build", snapshot)
    assert "native Windows" in finding.title and "WSL 2" in finding.title
    assert any(line.startswith("wsl --install") for line in finding.fix)
    assert not any("pip install" in line for line in finding.fix)
    linux = with_tensorflow(healthy(), "2.15.0", build=cpu_build())
    [linux_finding] = run_check("tensorflow.gpu-build", linux)
    assert "native Windows" not in linux_finding.title
    assert linux_finding.fix[-1].endswith('pip install "tensorflow[and-cuda]==2.15.*"')


def test_windows_missing_tensorflow_with_gpu_mentions_wsl() -> None:
    [finding] = run_check("tensorflow.installed", _no_tensorflow(_windows(healthy())))
    assert '"tensorflow==2.21.*"' in finding.fix[0]
    assert any("WSL 2" in line for line in finding.fix)


def test_macos_route_is_metal_not_cuda() -> None:
    mac = replace_os(healthy(), system="Darwin", distro_id=None, distro_version=None)
    release = knowledge.newest_tensorflow()
    line = tf_install.pip_install_tensorflow(mac, release, gpu=True)
    assert line == f'pip install "tensorflow=={release.series}.*" tensorflow-metal'
    steps = tf_install.tensorflow_env_steps(mac, release, gpu=True)
    assert not any("cudatoolkit" in step or "and-cuda" in step for step in steps)
    old = tf_install.pip_install_tensorflow(mac, _release("2.12"), gpu=True)
    assert old.startswith('pip install "tensorflow-macos==2.12.*"')


def test_32_bit_python_has_no_wheel() -> None:
    snapshot = replace_python(_no_tensorflow(_windows(healthy())), pointer_bits=32, machine="x86")
    [finding] = run_check("python.architecture", snapshot)
    assert finding.severity is Severity.ERROR
    assert "32-bit" in finding.evidence
    assert "64-bit" in finding.fix[0]
    assert run_check("tensorflow.installed", snapshot) == []  # no pip line that cannot work
    sixty_four = replace_python(snapshot, pointer_bits=64, machine="AMD64")
    assert run_check("python.architecture", sixty_four) == []
    assert run_check("tensorflow.installed", sixty_four)


def test_unsupported_machine_has_no_wheel() -> None:
    arm32 = replace_python(healthy(), pointer_bits=32, machine="armv7l")
    assert run_check("python.architecture", arm32)
    ppc = replace_python(healthy(), pointer_bits=64, machine="ppc64le")
    [finding] = run_check("python.architecture", ppc)
    assert "ppc64le" in finding.evidence
    aarch64 = replace_python(healthy(), pointer_bits=64, machine="aarch64")
    assert run_check("python.architecture", aarch64) == []


def test_old_snapshot_without_architecture_fields_loads() -> None:
    data = codec.encode(healthy())
    assert isinstance(data, dict)
    python = data["python"]
    assert isinstance(python, dict)
    python.pop("pointer_bits")
    python.pop("machine")
    loaded = codec.decode(Snapshot, data)
    assert run_check("python.architecture", loaded) == []


def test_python_mismatch_keeps_the_version_first_and_names_the_major_move() -> None:
    gpu_dist = (Distribution("tensorflow-gpu", "1.12.0"),)
    snapshot = replace_python(
        with_tensorflow(healthy(), "1.12.0", distributions=gpu_dist), version="3.8.10"
    )
    [finding] = run_check("python.version-for-tensorflow", snapshot)
    assert finding.fix[0].startswith("# keep TensorFlow 1.12")
    assert finding.fix[1] == "conda create -n tf1.12 python=3.6 --yes"
    assert 'pip install "tensorflow-gpu==1.12.*"' in finding.fix
    move = finding.fix.index("# or keep Python 3.8 and move to TensorFlow 2.13:")
    assert "a new major" in finding.fix[move + 1]
    assert finding.fix[-1] == 'pip install "tensorflow==2.13.*"'


def _kepler_k80(snapshot: Snapshot) -> Snapshot:
    """NVIDIA's Tesla K80 (Kepler, compute capability 3.7) on driver 470.141.03, a real R470
    release; R470 is Kepler's last branch (lifecycle.md)."""
    from envkit.model import NvmlInfo

    assert isinstance(snapshot.nvml, NvmlInfo)
    gpu = dataclasses.replace(snapshot.nvml.gpus[0], name="Tesla K80", compute_capability="3.7")
    nvml = dataclasses.replace(
        snapshot.nvml, driver_version="470.141.03", cuda_driver_version="11.4", gpus=(gpu,)
    )
    return dataclasses.replace(snapshot, nvml=nvml)


def test_install_route_fits_the_gpu_generation() -> None:
    snapshot = replace_python(_no_tensorflow(_kepler_k80(healthy())), version="3.11.9")
    [finding] = run_check("tensorflow.installed", snapshot)
    assert not any("and-cuda" in line for line in finding.fix)
    assert "driver branch 470 is the last for Kepler" in finding.fix[0]
    assert finding.fix[1] == "conda create -n tf2.11 python=3.10 --yes"
    assert finding.fix[-1] == 'pip install "tensorflow==2.11.*"'
    release, held_back = tf_install.release_for_machine(healthy(), "3.12")
    assert release is not None and release.series == "2.21" and held_back is None


def test_32_bit_from_the_platform_tag_of_an_old_snapshot() -> None:
    snapshot = replace_python(
        _no_tensorflow(_windows(healthy())), pointer_bits=None, machine=None, platform_tag="win32"
    )
    assert run_check("python.architecture", snapshot)
    assert run_check("tensorflow.installed", snapshot) == []
    amd64 = replace_python(snapshot, platform_tag="win-amd64")
    assert run_check("python.architecture", amd64) == []
