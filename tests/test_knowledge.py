"""The knowledge base agrees with itself: assertions that fail when a figure is mistyped."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envkit import knowledge
from envkit.knowledge import KernelSupport
from envkit.knowledge.versions import major_minor_key, numeric_parts

RELEASES = knowledge.tensorflow_releases()
SOURCE_KEYS = set(knowledge.sources())


def _ids(release: knowledge.TfRelease) -> str:
    return release.series


def _key(version: str) -> tuple[int, int]:
    return major_minor_key(version)


# ---------------------------------------------------------------- sources


def test_every_cited_source_is_in_the_sources_table() -> None:
    cited: list[str] = []
    for release in RELEASES:
        cited += release.sources
        cited += [key for note in release.notes for key in note.sources]
        cited += [key for pins in release.and_cuda_by_version for key in pins.sources]
        if release.windows_gpu:
            cited += release.windows_gpu.sources
    for cuda in knowledge.cuda_versions():
        requirement = knowledge.driver_requirement(cuda)
        assert requirement is not None
        cited += requirement.sources
    for model in knowledge.gpu_models():
        cited += model.capability_sources + model.memory_sources
        cited += model.specs.sources if model.specs else ()
    cited += [key for fact in knowledge.platform_facts() for key in fact.sources]
    cited += [key for ubuntu in knowledge.ubuntu_releases() for key in ubuntu.sources]
    cited += [key for branch in knowledge.datacenter_branches() for key in branch.sources]
    cited += [key for note in knowledge.driver_branch_notes() for key in note.sources]
    cited += knowledge.ptx_jit_caveat().sources + knowledge.minor_compat_text().sources
    assert set(cited) - SOURCE_KEYS == set()


def test_every_source_says_what_it_is_and_links_only_to_https() -> None:
    for key in SOURCE_KEYS:
        entry = knowledge.source(key)
        assert entry is not None and entry.about.strip(), key
        assert entry.url is None or entry.url.startswith("https://"), key


def test_sources_returns_a_copy() -> None:
    knowledge.sources().clear()
    assert knowledge.sources()


# ---------------------------------------------------------------- TensorFlow releases


def test_releases_ascend_strictly_with_one_row_per_series() -> None:
    versions = [numeric_parts(release.version) for release in RELEASES]
    assert versions == sorted(versions)
    assert len({release.series for release in RELEASES}) == len(RELEASES)
    assert all(release.version.startswith(release.series + ".") for release in RELEASES)


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_release_has_sources(release: knowledge.TfRelease) -> None:
    assert release.sources
    assert "tfsrc" in release.sources  # the tested-configuration table backs every row


def test_lookup_goes_by_series() -> None:
    assert knowledge.tensorflow_release("2.21.1") is knowledge.tensorflow_release("2.21.0")
    assert knowledge.tensorflow_release("2.16.2") is knowledge.tensorflow_release("2.16")
    assert knowledge.tensorflow_release("2.15.0.post1") is knowledge.tensorflow_release("2.15")
    assert knowledge.tensorflow_release("2.22.0") is None
    assert knowledge.tensorflow_release("1.11.0") is None
    assert knowledge.tensorflow_release("2") is None
    assert knowledge.tensorflow_release("nonsense") is None
    assert knowledge.newest_tensorflow() is RELEASES[-1]
    assert knowledge.newest_tensorflow().version == "2.21.0"


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_python_lists_make_sense(release: knowledge.TfRelease) -> None:
    tested = [_key(python) for python in release.python_tested]
    assert tested == sorted(set(tested))
    threes = [minor for major, minor in tested if major == 3]
    assert threes == list(range(threes[0], threes[-1] + 1)), "tested 3.x Pythons have a gap"
    assert set(release.python_wheels) <= set(release.python_tested)
    assert release.python_wheels and release.python_wheels[-1] == release.python_tested[-1]
    if release.requires_python is not None:
        allowed = SpecifierSet(release.requires_python)
        assert all(f"{python}.0" in allowed for python in release.python_wheels)


def test_python_support_moves_forward() -> None:
    lows = [_key(release.python_tested[-len(_threes(release))]) for release in RELEASES]
    highs = [_key(release.python_tested[-1]) for release in RELEASES]
    assert lows == sorted(lows)
    assert highs == sorted(highs)


def _threes(release: knowledge.TfRelease) -> list[str]:
    return [python for python in release.python_tested if python.startswith("3.")]


def test_newest_tensorflow_for_python() -> None:
    expected = {"2.7": "2.1", "3.6": "2.6", "3.8": "2.13", "3.9": "2.20", "3.11.7": "2.21"}
    for python, series in expected.items():
        found = knowledge.newest_tensorflow_for_python(python)
        assert found is not None and found.series == series, python
    assert knowledge.newest_tensorflow_for_python("3.14") is None
    for release in RELEASES:
        for python in release.python_wheels:
            newest = knowledge.newest_tensorflow_for_python(python)
            assert newest is not None and _key(newest.version) >= _key(release.version)


def test_python_range_text() -> None:
    text = {release.series: knowledge.python_range_text(release) for release in RELEASES}
    assert text["2.21"] == "3.10-3.13"
    assert text["1.12"] == "2.7, 3.3-3.6"
    assert text["2.1"] == "2.7, 3.5-3.7"


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_build_cuda_has_a_driver_requirement(release: knowledge.TfRelease) -> None:
    assert release.cuda is not None and release.cudnn is not None
    linux = knowledge.driver_requirement(release.cuda)
    assert linux is not None and linux.toolkit_min_driver is not None
    if release.build_info_cuda is not None:
        assert knowledge.major_minor(release.build_info_cuda) == release.cuda
    if release.build_info_cudnn is not None:
        assert release.cudnn.split(".")[0] == release.build_info_cudnn.split(".")[0]
    if release.windows_gpu is not None:
        windows = knowledge.driver_requirement(release.windows_gpu.cuda, "windows")
        assert windows is not None and windows.toolkit_min_driver is not None


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_and_cuda_pins(release: knowledge.TfRelease) -> None:
    has_extra = _key(release.series) >= (2, 14)
    assert bool(release.and_cuda) == has_extra == knowledge.has_and_cuda_extra(release.version)
    for pins in release.and_cuda_by_version:
        assert knowledge.tensorflow_release(pins.tf_version) is release
        names = [name for name, _ in pins.requirements]
        assert names == sorted(set(names))
        for name, specifier in pins.requirements:
            parsed = SpecifierSet(specifier)
            assert len(parsed) > 0, name
            suffix = re.search(r"-cu(\d+)$", name)
            assert suffix is None or int(suffix.group(1)) == numeric_parts(release.cuda or "")[0]
    if has_extra:
        pins_of = dict(release.and_cuda)
        cu = f"cu{(release.cuda or '').split('.')[0]}"
        assert _floor(pins_of[f"nvidia-cuda-runtime-{cu}"]) == release.cuda
        assert _floor(pins_of[f"nvidia-cudnn-{cu}"]) == release.cudnn


def _floor(specifier: str) -> str:
    """major.minor of the lowest version a specifier admits (== or >=)."""
    for spec in SpecifierSet(specifier):
        if spec.operator in ("==", ">="):
            return f"{Version(spec.version).major}.{Version(spec.version).minor}"
    raise AssertionError(f"{specifier} has no lower bound")


def test_and_cuda_patch_releases_differ_where_the_sources_say() -> None:
    release = knowledge.tensorflow_release("2.15")
    assert release is not None
    with_trt, post1, patch = (release.and_cuda_for(v) for v in ("2.15.0", "2.15.0.post1", "2.15.1"))
    assert with_trt is not None and post1 is not None and patch is not None
    assert "tensorrt" in dict(with_trt.requirements)
    assert "tensorrt" not in dict(patch.requirements)
    assert not post1.verified and patch.verified
    assert release.and_cuda_for("2.15.9") is None
    newest = knowledge.newest_tensorflow()
    assert dict(newest.and_cuda)["nvidia-nccl-cu12"] == ">=2.27.7,<3.0"
    older = knowledge.tensorflow_release("2.20")
    assert older is not None and dict(older.and_cuda)["nvidia-nccl-cu12"] == ">=2.25.1,<3.0"
    nineteen = knowledge.tensorflow_release("2.19")
    assert nineteen is not None and not nineteen.is_verified("and_cuda")


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_keras(release: knowledge.TfRelease) -> None:
    keras3 = _key(release.series) >= (2, 16)
    assert release.keras_major_default == (3 if keras3 else 2)
    assert knowledge.tf_keras_requirement(release.version) == (
        f"tf-keras~={release.series}" if keras3 else None
    )
    if release.keras_requirement is None:
        return
    allowed = SpecifierSet(release.keras_requirement, prereleases=True)
    if keras3:
        assert "3.0.0" in allowed or "3.20.0" in allowed
        assert f"{release.series}.0" not in allowed
    else:
        assert f"{release.series}.0" in allowed and "3.0.0" not in allowed
        assert not release.keras_bundled


def test_keras_bundled_only_before_2_6() -> None:
    for release in RELEASES:
        assert release.keras_bundled == (_key(release.series) < (2, 6)), release.series


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_numpy(release: knowledge.TfRelease) -> None:
    numpy2 = _key(release.series) >= (2, 18)
    assert release.supports_numpy_2 == numpy2 == knowledge.supports_numpy_2(release.version)
    for python in release.python_wheels:
        specifier = release.numpy_requirement_for(python)
        if specifier is None:
            continue
        admits_2 = "2.0.0" in SpecifierSet(specifier)
        # 2.14.0's METADATA forgot the cap although 2.14 was built against NumPy 1.
        assert admits_2 == (numpy2 or release.series == "2.14"), (release.series, python)


def test_numpy_floor_rises_on_python_3_12_for_2_16() -> None:
    release = knowledge.tensorflow_release("2.16")
    assert release is not None
    assert release.numpy_requirement_for("3.11") == ">=1.23.5,<2.0.0"
    assert release.numpy_requirement_for("3.12.1") == ">=1.26.0,<2.0.0"


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_compute_capabilities_are_well_formed(release: knowledge.TfRelease) -> None:
    capabilities = release.compute_capabilities
    assert all(knowledge.is_compute_target(item) for item in capabilities)
    keys = [numeric_parts(item.split("_")[1]) for item in capabilities]
    assert keys == sorted(keys)
    if release.compute_capabilities_verified:
        assert capabilities, "a verified list cannot be empty"
    if capabilities:
        assert capabilities[-1].startswith("compute_"), "wheels carry PTX for the newest arch"
    if _key(release.series) >= (2, 17) and capabilities:
        assert "sm_89" in capabilities and "sm_50" not in capabilities


def test_unverified_compute_capabilities_are_marked() -> None:
    unverified = {
        r.series for r in RELEASES if not r.compute_capabilities_verified and r.compute_capabilities
    }
    assert unverified == {"2.17", "2.19"}
    verified = {r.series for r in RELEASES if r.compute_capabilities_verified}
    assert verified == {"2.16", "2.18", "2.20", "2.21"}


@pytest.mark.parametrize("release", RELEASES, ids=_ids)
def test_platform_columns(release: knowledge.TfRelease) -> None:
    assert release.gpu_package == (
        "tensorflow-gpu" if release.series.startswith("1.") else "tensorflow"
    )
    assert release.windows_native_gpu == knowledge.windows_native_gpu(release.version)
    assert release.windows_native_gpu == (_key(release.series) <= (2, 10))
    assert knowledge.requires_avx(release.version)
    tag = re.fullmatch(r"manylinux(1|_(\d+)_(\d+))", release.manylinux_tag)
    assert tag is not None
    glibc = "2.5" if tag.group(1) == "1" else f"{tag.group(2)}.{tag.group(3)}"
    assert release.glibc_min == glibc


def test_wheel_glibc_never_goes_down() -> None:
    floors = [_key(release.glibc_min) for release in RELEASES]
    assert floors == sorted(floors)


def test_newest_tensorflow_for_cuda() -> None:
    def series(cuda: str) -> str | None:
        release = knowledge.newest_tensorflow_for_cuda(cuda)
        return release.series if release else None

    assert series("12.2") == "2.15"
    assert series("12.4") == "2.17"
    assert series("13.0") == "2.21"
    assert series("11.2") == "2.11"
    assert series("8.0") is None


# ---------------------------------------------------------------- CUDA and drivers


CUDAS = knowledge.cuda_versions()


def test_cuda_versions_ascend_and_skip_12_7() -> None:
    keys = [_key(cuda) for cuda in CUDAS]
    assert keys == sorted(set(keys))
    assert "12.7" not in CUDAS and knowledge.driver_requirement("12.7") is None


@pytest.mark.parametrize("platform", ["linux", "windows"])
def test_ga_minimum_drivers_rise_with_cuda(platform: str) -> None:
    minimums = [
        req.toolkit_min_driver
        for cuda in CUDAS
        if (req := knowledge.driver_requirement(cuda, platform)) and req.toolkit_min_driver
    ]
    for older, newer in itertools.pairwise(minimums):
        assert knowledge.compare_driver_versions(older, newer) < 0, (older, newer)


@pytest.mark.parametrize("platform", ["linux", "windows"])
@pytest.mark.parametrize("cuda", CUDAS)
def test_ga_driver_reaches_its_own_cuda(cuda: str, platform: str) -> None:
    requirement = knowledge.driver_requirement(cuda, platform)
    assert requirement is not None and requirement.sources
    if requirement.toolkit_min_driver is None:
        assert not requirement.verified or platform == "windows"
        return
    best = knowledge.max_cuda_for_driver(requirement.toolkit_min_driver, platform)
    assert best is not None and _key(best) >= _key(cuda)
    for _, driver in requirement.update_min_drivers:
        assert knowledge.compare_driver_versions(driver, requirement.toolkit_min_driver) > 0
    floor = requirement.minor_compat_min_driver
    assert (floor is None) == (_key(cuda) < (11, 0))
    if floor is not None and cuda != "11.0":
        # NVIDIA advises 450.80.02 / 452.39 as the 11.x floor: above 11.0 GA's own minimum.
        assert knowledge.driver_at_least(requirement.toolkit_min_driver, floor)


def test_driver_one_step_below_ga_does_not_reach_that_cuda() -> None:
    assert knowledge.max_cuda_for_driver("555.42.01") == "12.4"
    assert knowledge.max_cuda_for_driver("555.42.02") == "12.5"
    assert knowledge.max_cuda_for_driver("535.183.01") == "12.2"
    assert knowledge.max_cuda_for_driver("610.47") == "13.2"  # 13.3's minimum is unconfirmed
    assert knowledge.max_cuda_for_driver("580.65.06", "windows") == "12.9"
    assert knowledge.max_cuda_for_driver("384.80") is None
    assert knowledge.max_cuda_for_driver("not a driver") is None


def test_driver_requirement_details() -> None:
    req = knowledge.driver_requirement("12.5.1")
    assert req is not None
    assert (req.cuda, req.toolkit_min_driver, req.minor_compat_min_driver) == (
        "12.5",
        "555.42.02",
        "525.60.13",
    )
    assert req.update_min_drivers == (("Update 1", "555.42.06"),)
    assert req.source.startswith("https://docs.nvidia.com/")
    nine = knowledge.driver_requirement("9")
    assert nine is not None and nine.toolkit_min_driver == "384.81"
    eleven = knowledge.driver_requirement("11.8", "windows")
    assert eleven is not None and eleven.minor_compat_min_driver == "452.39"
    thirteen = knowledge.driver_requirement("13.3")
    assert thirteen is not None and thirteen.driver_branch == "R610" and not thirteen.verified
    assert knowledge.tensorflow_docs_min_driver() == "525.60.13"
    assert knowledge.tensorflow_docs_min_driver("wsl") == "528.33"
    with pytest.raises(ValueError, match="platform"):
        knowledge.driver_requirement("12.5", "macos")


def test_compare_driver_versions() -> None:
    compare = knowledge.compare_driver_versions
    assert compare("535.183.01", "535.54.03") == 1
    assert compare("570.26", "570.124.06") == -1
    assert compare("580", "580.0") == 0
    assert compare("525.60.13", "525.60.13") == 0
    assert knowledge.parse_driver_version("535.183.01") == (535, 183, 1)
    assert knowledge.parse_driver_version("R535") is None
    with pytest.raises(ValueError, match="driver version"):
        compare("abc", "535")


def test_datacenter_branches_match_cuda_13_branches() -> None:
    branches = {branch.branch: branch for branch in knowledge.datacenter_branches()}
    for cuda in CUDAS:
        requirement = knowledge.driver_requirement(cuda)
        assert requirement is not None
        if requirement.driver_branch in branches:
            assert branches[requirement.driver_branch].cuda_major == numeric_parts(cuda)[0]
        if requirement.driver_branch and requirement.toolkit_min_driver:
            branch_number = requirement.driver_branch.removeprefix("R")
            assert requirement.toolkit_min_driver.split(".")[0] == branch_number


# ---------------------------------------------------------------- GPUs


NVML_NAMES = {
    "NVIDIA GeForce RTX 3090": "GeForce RTX 3090",
    "NVIDIA GeForce RTX 4090": "GeForce RTX 4090",
    "NVIDIA GeForce RTX 5090": "GeForce RTX 5090",
    "NVIDIA GeForce RTX 2080 Ti": "GeForce RTX 2080 Ti",
    "GeForce GTX 1080 Ti": "GeForce GTX 1080 Ti",
    "NVIDIA H100 80GB HBM3": "H100 SXM5 80GB",
    "NVIDIA H100 PCIe": "H100 PCIe 80GB",
    "NVIDIA H100 NVL": "H100 NVL 94GB",
    "NVIDIA H200": "H200 SXM 141GB",
    "NVIDIA H200 NVL": "H200 NVL 141GB",
    "NVIDIA B200": "B200 180GB",
    "Tesla V100-SXM2-16GB": "Tesla V100 SXM2 16GB",
    "Tesla V100-SXM2-32GB": "Tesla V100 SXM2 32GB",
    "Tesla V100-PCIE-16GB": "Tesla V100 PCIe 16GB",
    "Tesla V100-PCIE-32GB": "Tesla V100 PCIe 32GB",
    "NVIDIA A100-SXM4-80GB": "A100 SXM4 80GB",
    "NVIDIA A100-SXM4-40GB": "A100 SXM4 40GB",
    "NVIDIA A100-PCIE-40GB": "A100 PCIe 40GB",
    "NVIDIA A100 80GB PCIe": "A100 PCIe 80GB",
    "NVIDIA A10G": "A10G",
    "Tesla T4": "Tesla T4",
    "NVIDIA L4": "L4",
    "NVIDIA L40S": "L40S",
}


@pytest.mark.parametrize(("nvml_name", "model_name"), sorted(NVML_NAMES.items()))
def test_gpu_model_by_nvml_name(nvml_name: str, model_name: str) -> None:
    model = knowledge.gpu_model(nvml_name)
    assert model is not None and model.name == model_name
    normalized = knowledge.normalize_gpu_name(nvml_name)
    matching = [
        m for m in knowledge.gpu_models() for p in m.nvml_patterns if re.fullmatch(p, normalized)
    ]
    assert len(matching) == 1, "one NVML name must denote one model"


def test_unknown_gpu_names() -> None:
    for name in ("NVIDIA GeForce RTX 3090 Ti", "NVIDIA A40", "Quadro P1000", "", "NVIDIA"):
        assert knowledge.gpu_model(name) is None, name


@pytest.mark.parametrize("model", knowledge.gpu_models(), ids=lambda m: m.name)
def test_gpu_model_is_consistent(model: knowledge.GpuModel) -> None:
    assert knowledge.architecture_for(model.compute_capability) == model.architecture
    assert model.capability_sources and model.memory_sources and model.nvml_patterns
    assert model.memory_gb > 0
    assert any(knowledge.gpu_model(name) is model for name in NVML_NAMES), "no example name"
    specs = model.specs
    if specs is None:
        return
    assert specs.sources
    tensor = [specs.tf32_tflops, specs.fp16_tflops, specs.bf16_tflops, specs.fp8_tflops]
    known = [value for value in tensor if value is not None]
    assert known == sorted(known), "each halving of precision doubles peak throughput or more"
    if specs.fp32_tflops is not None and specs.fp64_tflops is not None:
        assert specs.fp64_tflops < specs.fp32_tflops
    if specs.bf16_tflops is not None:
        assert model.architecture not in ("Pascal", "Volta", "Turing"), "no BF16 before Ampere"


def test_memory_matches_allows_nvml_rounding() -> None:
    a100 = knowledge.gpu_model("NVIDIA A100-SXM4-80GB")
    assert a100 is not None
    assert a100.memory_matches(81920 * 1024**2)  # nvidia-smi's 81920MiB
    assert not a100.memory_matches(40960 * 1024**2)


def test_architecture_for() -> None:
    expected = {
        "3.5": "Kepler", "5.2": "Maxwell", "6.1": "Pascal", "7.0": "Volta", "7.2": "Volta",
        "7.5": "Turing", "8.0": "Ampere", "8.6": "Ampere", "8.7": "Ampere",
        "8.9": "Ada Lovelace", "9.0": "Hopper", "10.0": "Blackwell", "12.0": "Blackwell",
        "12.1": "Blackwell",
    }  # fmt: skip
    for capability, architecture in expected.items():
        assert knowledge.architecture_for(capability) == architecture, capability
    for unknown in ("8.8", "4.0", "9.1", "", "eight"):
        assert knowledge.architecture_for(unknown) is None, unknown


KERNEL_CASES = [
    ("2.21", "6.1", KernelSupport.NATIVE),
    ("2.21", "7.5", KernelSupport.NATIVE),
    ("2.21", "8.6", KernelSupport.NATIVE),
    ("2.21", "8.9", KernelSupport.NATIVE),
    ("2.21", "9.0", KernelSupport.PTX_JIT),
    ("2.21", "12.0", KernelSupport.PTX_JIT),
    ("2.21", "5.2", KernelSupport.UNSUPPORTED),
    ("2.21", "3.7", KernelSupport.UNSUPPORTED),
    ("2.16", "5.2", KernelSupport.NATIVE),
    ("2.16", "8.9", KernelSupport.NATIVE),
    ("2.15", "8.0", KernelSupport.UNKNOWN),
    ("1.12", "7.0", KernelSupport.UNKNOWN),
]


@pytest.mark.parametrize(("series", "capability", "expected"), KERNEL_CASES)
def test_tf_kernel_support(series: str, capability: str, expected: KernelSupport) -> None:
    release = knowledge.tensorflow_release(series)
    assert release is not None
    assert knowledge.tf_kernel_support(release, capability) is expected


def test_kernel_support_rules() -> None:
    support = knowledge.kernel_support
    assert support(["sm_80"], "8.6") == "native"  # compares equal to its value
    assert support(["sm_86"], "8.0") is KernelSupport.UNSUPPORTED
    assert support(["sm_90a"], "9.0") is KernelSupport.NATIVE
    assert support(["sm_90a", "compute_80"], "10.0") is KernelSupport.PTX_JIT
    assert support(["compute_90"], "8.9") is KernelSupport.UNSUPPORTED
    assert support(["sm_120"], "12.0") is KernelSupport.NATIVE
    assert support([], "8.0") is KernelSupport.UNKNOWN
    assert support(["sm_80", "bogus"], "8.0") is KernelSupport.UNKNOWN
    assert support(["sm_80"], "unknown") is KernelSupport.UNKNOWN


def test_every_known_gpu_runs_newest_tensorflow() -> None:
    newest = knowledge.newest_tensorflow()
    for model in knowledge.gpu_models():
        support = knowledge.tf_kernel_support(newest, model.compute_capability)
        ptx = numeric_parts(model.compute_capability) >= (9, 0)
        assert support is (KernelSupport.PTX_JIT if ptx else KernelSupport.NATIVE), model.name


# ---------------------------------------------------------------- platform and Ubuntu


def test_required_platform_facts_have_values_and_sources() -> None:
    from envkit.knowledge import platform

    keys = [
        value for name, value in vars(platform).items() if name.isupper() and isinstance(value, str)
    ]
    assert len(keys) > 10
    for key in keys:
        fact = knowledge.platform_fact(key)
        assert fact is not None and fact.sources and fact.text, key
    assert knowledge.platform_fact("no-such-fact") is None


def test_platform_thresholds() -> None:
    assert not knowledge.requires_avx("1.5.1") and knowledge.requires_avx("1.6.0")
    assert knowledge.windows_native_gpu("2.10.1") and not knowledge.windows_native_gpu("2.11.0")
    assert (
        knowledge.keras_major_default("2.15.1") == 2
        and knowledge.keras_major_default("2.16.0") == 3
    )
    assert not knowledge.supports_numpy_2("2.17.1") and knowledge.supports_numpy_2("2.18.0")
    assert knowledge.legacy_keras_environment() == ("TF_USE_LEGACY_KERAS", ("1", "true", "True"))
    values_fact = knowledge.platform_fact("legacy-keras-values")
    assert values_fact is not None and not values_fact.verified


def test_ubuntu_releases() -> None:
    noble = knowledge.ubuntu_release("24.04")
    assert noble is not None and noble.codename == "noble" and noble.lts
    assert knowledge.ubuntu_release("noble") is noble
    assert knowledge.ubuntu_release('"24.04"') is noble
    assert knowledge.ubuntu_release("20.04") is None
    for release in knowledge.ubuntu_releases():
        assert release.sources
        branches = [int(row.branch) for row in release.driver_branches]
        assert branches == sorted(branches, reverse=True), release.codename
        for row in release.driver_branches:
            assert row.status in {"available", "transitional", "absent", "unknown"}
            assert (row.successor is not None) == (row.status == "transitional")
            if row.version is not None:
                assert row.version.split(".")[0] == row.branch


def test_ubuntu_driver_branch() -> None:
    assert knowledge.ubuntu_driver_branch("24.04") == "580"
    assert knowledge.ubuntu_driver_branch("22.04", "555.42.02") == "580"
    assert knowledge.ubuntu_driver_branch("24.04", "590.44.01") is None
    assert knowledge.ubuntu_driver_branch("20.04", "525.60.13") is None
    assert knowledge.ubuntu_driver_branch(None, None) is None


def test_ubuntu_fix_commands() -> None:
    nouveau = knowledge.platform_fact("nouveau-blacklist")
    assert nouveau is not None
    assert "sudo update-initramfs -u" in nouveau.commands
    assert any("blacklist nouveau" in command for command in nouveau.commands)
    mok = knowledge.platform_fact("secure-boot-mok")
    assert mok is not None and "mokutil --sb-state" in mok.commands


# ---------------------------------------------------------------- cost


def test_import_and_lookups_stay_light() -> None:
    """Importing the package and a first lookup of each kind import nothing heavy."""
    script = """
import json, sys
import envkit.knowledge as k
k.tensorflow_release("2.21.0"); k.driver_requirement("12.5"); k.max_cuda_for_driver("550.54.15")
k.gpu_model("NVIDIA H100 80GB HBM3"); k.ubuntu_release("24.04"); k.sources()
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/"
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"tensorflow", "numpy", "keras", "packaging", "pynvml", "typer", "rich"}
