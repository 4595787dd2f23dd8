"""The target-interpreter probe, run for real against real interpreters.

Real interpreters: the one running the tests, a venv made here, every pyenv Python 3.6-3.13,
Python 2.7, and the TensorFlow envs from scripts/make_test_envs.sh. Where a situation cannot
be installed (two TF distributions in one folder, TF 1.15's tensorflow_core), the test lays the
files out as pip does, with build_info.py texts copied from the real wheels, next to a real
interpreter. Stand-in "python" shell scripts are labelled FAKE in their own text.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from envkit.model import PythonEnvInfo, TensorflowBuild, TensorflowInfo, Unavailable
from envkit.probes import python_env
from tests.envs import (
    add_distribution,
    add_package_file,
    fake_python,
    installed_by_pip,
    make_venv,
    pyenv_python,
    python_without_tensorflow,
    require_test_env,
)

SCRIPT = Path(python_env.__file__).parent / "_scripts" / "target_probe.py"


def _probe_ok(python: str, **kwargs: object) -> tuple[PythonEnvInfo, TensorflowInfo | Unavailable]:
    info, tensorflow = python_env.probe(python, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info, PythonEnvInfo), info
    return info, tensorflow


def _unavailable(python: str, **kwargs: object) -> Unavailable:
    info, tensorflow = python_env.probe(python, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info, Unavailable), info
    assert tensorflow == info
    return info


def _with_pythonpath(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(site)}


# ---------------------------------------------------------------- real interpreters


def test_running_interpreter() -> None:
    info, _ = _probe_ok(sys.executable)
    assert info.version == platform.python_version()
    assert info.implementation == platform.python_implementation()
    assert info.executable == sys.executable
    assert info.prefix == sys.prefix
    assert info.base_prefix == sys.base_prefix
    assert info.platform_tag == __import__("sysconfig").get_platform()
    assert info.version_of("pytest") == importlib.metadata.version("pytest")
    assert info.version_of("packaging") == importlib.metadata.version("packaging")
    names = [d.name.lower() for d in info.distributions]
    assert names == sorted(names, key=lambda n: n.replace("_", "-").replace(".", "-"))


def test_running_interpreter_tensorflow_agrees_with_find_spec() -> None:
    _, tensorflow = _probe_ok(sys.executable)
    if importlib.util.find_spec("tensorflow") is None:
        assert isinstance(tensorflow, Unavailable)
        assert tensorflow.code == "tensorflow-not-installed"
    else:
        assert isinstance(tensorflow, TensorflowInfo)


def test_fresh_venv(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "venv")
    info, tensorflow = _probe_ok(str(python))
    assert info.kind == "venv"
    assert info.executable == str(python)
    assert info.prefix == str(tmp_path / "venv")
    assert info.base_prefix != info.prefix
    assert info.distributions == ()
    assert isinstance(tensorflow, Unavailable)
    assert tensorflow.code == "tensorflow-not-installed"


def test_virtualenv_is_told_from_venv_by_pyvenv_cfg(tmp_path: Path) -> None:
    python = make_venv(tmp_path / "env")
    cfg = tmp_path / "env" / "pyvenv.cfg"
    cfg.write_text(cfg.read_text() + "virtualenv = 20.26.3\n")
    info, _ = _probe_ok(str(python))
    assert info.kind == "virtualenv"


@pytest.mark.parametrize("layout", ["conda-env", "conda-base"])
def test_conda_layouts(tmp_path: Path, layout: str) -> None:
    # A real interpreter in a prefix laid out as conda lays out an env or its base install.
    prefix = tmp_path / "miniconda3" / "envs" / "tf-gpu"
    if layout == "conda-base":
        prefix = tmp_path / "miniconda3"
    python = make_venv(prefix)
    (prefix / "conda-meta").mkdir()
    if layout == "conda-base":
        (prefix / "condabin").mkdir()
    info, _ = _probe_ok(str(python))
    assert info.kind == layout
    assert info.conda_env_name == ("tf-gpu" if layout == "conda-env" else "base")


def test_conda_env_name_from_activation_when_outside_envs(tmp_path: Path) -> None:
    prefix = tmp_path / "projects" / "myenv"
    python = make_venv(prefix)
    (prefix / "conda-meta").mkdir()
    env = {**os.environ, "CONDA_PREFIX": str(prefix), "CONDA_DEFAULT_ENV": "/x/projects/myenv"}
    info, _ = _probe_ok(str(python), env=env)
    assert info.conda_env_name == "/x/projects/myenv"
    info, _ = _probe_ok(str(python), env={**env, "CONDA_PREFIX": "/somewhere/else"})
    assert info.conda_env_name is None


PYENV_MINORS = ["3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]


@pytest.mark.parametrize("minor", PYENV_MINORS)
def test_pyenv_python(minor: str) -> None:
    python = pyenv_python(minor)
    if python is None:
        pytest.skip(f"no pyenv Python {minor} here")
    info, tensorflow = _probe_ok(str(python))
    assert info.version.startswith(minor + ".")
    assert info.kind == "pyenv"
    assert info.executable == str(python)
    found = {d.name.lower().replace("_", "-"): d.version for d in info.distributions}
    by_pip = installed_by_pip(str(python))
    if by_pip is not None:
        assert found == by_pip
    assert isinstance(tensorflow, Unavailable)


def test_python_2_is_too_old() -> None:
    python = pyenv_python("2.7")
    if python is None:
        pytest.skip("no pyenv Python 2.7 here")
    failure = _unavailable(str(python))
    assert failure.code == "python-too-old"
    assert "Python 2.7" in failure.reason
    assert python_env.check_interpreter(str(python)) == failure.reason


@pytest.mark.parametrize("minor", ["3.6", "current"])
def test_undecodable_or_crlf_metadata_does_not_sink_the_rest(tmp_path: Path, minor: str) -> None:
    python = sys.executable if minor == "current" else pyenv_python(minor)
    if python is None:
        pytest.skip(f"no pyenv Python {minor} here")
    site = tmp_path / "site"
    add_distribution(site, "good-one", "1.0")
    broken = add_distribution(site, "latin-one", "2.0")
    (broken / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: latin-one\nSummary: caf\xe9\n")
    windows = add_distribution(site, "crlf-one", "3.0")
    (windows / "METADATA").write_bytes(b"Name: crlf-one\r\nVersion: 3.0\r\n\r\nVersion: 9\r\n")
    info, _ = _probe_ok(str(python), env=_with_pythonpath(site))
    assert info.version_of("good-one") == "1.0"
    assert info.version_of("crlf-one") == "3.0"


def test_the_listing_is_what_importlib_metadata_finds(tmp_path: Path) -> None:
    """The script reads the metadata folders itself (importing importlib.metadata would cost a
    third of its time): what it lists must be what importlib.metadata lists, eggs included."""
    site = tmp_path / "site"
    add_distribution(site, "plain-one", "1.0")
    (site / "OLD_STYLE-2.0.EGG-INFO").mkdir()
    (site / "OLD_STYLE-2.0.EGG-INFO" / "PKG-INFO").write_text("Name: old-style\nVersion: 2.0\n")
    egg = tmp_path / "legacy_thing-3.0-py3.egg"
    (egg / "EGG-INFO").mkdir(parents=True)
    (egg / "EGG-INFO" / "PKG-INFO").write_text(
        "Metadata-Version: 1.1\nName: legacy-thing\nVersion: 3.0\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(egg)])}
    info, _ = _probe_ok(sys.executable, env=env)
    listing = subprocess.run(
        [sys.executable, "-c", IMPORTLIB_LISTING],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    by_importlib = json.loads(listing.stdout)
    assert {"plain-one": "1.0", "old-style": "2.0", "legacy-thing": "3.0"}.items() <= (
        by_importlib.items()
    )
    assert {d.name.lower().replace("_", "-"): d.version for d in info.distributions} == by_importlib


IMPORTLIB_LISTING = """
import importlib.metadata, json, re
found = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
print(json.dumps(found))
"""


# ---------------------------------------------------------------- things that are not Pythons


def test_missing_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "no" / "python")
    failure = _unavailable(missing)
    assert failure.code == "python-not-found"
    assert python_env.check_interpreter(missing) == f"{missing} does not exist."


def test_unknown_command_name() -> None:
    failure = _unavailable("envkit-no-such-python-3")
    assert failure.code == "python-not-found"


def test_venv_whose_base_python_is_gone(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(tmp_path / "removed" / "python3.9")
    failure = _unavailable(str(tmp_path / "bin" / "python"))
    assert failure.code == "python-not-found"
    assert "no longer exists" in failure.reason


def test_env_prefix_stands_for_its_python(tmp_path: Path) -> None:
    make_venv(tmp_path / "env")
    info, _ = _probe_ok(str(tmp_path / "env"))
    assert info.executable == str(tmp_path / "env" / "bin" / "python")


def test_non_python_program() -> None:
    failure = _unavailable("/bin/true")
    assert failure.code == "python-not-an-interpreter"
    assert python_env.check_interpreter("/bin/true") == failure.reason


def test_text_file_not_executable(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a program\n")
    assert _unavailable(str(notes)).code == "python-not-executable"


def test_executable_text_file_without_shebang(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"\x00\x01 not a program\n")
    notes.chmod(0o755)
    failure = _unavailable(str(notes))
    assert failure.code == "python-not-executable"
    assert "Exec format error" in failure.reason


def test_folder_without_python(tmp_path: Path) -> None:
    assert _unavailable(str(tmp_path)).code == "python-not-executable"


def test_hanging_interpreter_times_out(tmp_path: Path) -> None:
    # FAKE python: a shell script whose child sleeps, as a wedged interpreter would.
    python = fake_python(tmp_path, "sleep 30\n")
    failure = _unavailable(str(python), timeout_s=1.0)
    assert failure.code == "python-probe-timeout"


def test_crashing_probe_reports_last_stderr_line(tmp_path: Path) -> None:
    # FAKE python: answers -V like Python 3.11, then fails the probe with a traceback.
    python = fake_python(
        tmp_path,
        'if [ "$1" = -V ]; then echo "Python 3.11.9"; exit 0; fi\n'
        'echo "Traceback (most recent call last):" >&2\n'
        'echo "ImportError: libpython3.11.so.1.0: cannot open shared object file" >&2\n'
        "exit 1\n",
    )
    failure = _unavailable(str(python))
    assert failure.code == "python-probe-crashed"
    assert failure.reason.endswith(
        "exited with status 1: ImportError: libpython3.11.so.1.0: cannot open shared object file"
    )


def test_output_that_is_not_json(tmp_path: Path) -> None:
    # FAKE python: answers -V like Python 3.12, prints a greeting instead of the probe's JSON.
    python = fake_python(
        tmp_path,
        'if [ "$1" = -V ]; then echo "Python 3.12.4"; exit 0; fi\n'
        'echo "hello from sitecustomize"\n',
    )
    failure = _unavailable(str(python))
    assert failure.code == "python-probe-bad-output"
    assert "hello from sitecustomize" in failure.reason


# ---------------------------------------------------------------- environment allowlist


def test_only_allowlisted_variables_are_reported() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 -- AWS's documented dummy
    env = {
        **os.environ,
        "AWS_SECRET_ACCESS_KEY": secret,
        "HF_TOKEN": "hf_" + secret,
        "CUDA_VISIBLE_DEVICES": "1,0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    info, _ = _probe_ok(sys.executable, env=env)
    reported = dict(info.environment)
    assert reported["CUDA_VISIBLE_DEVICES"] == "1,0"
    assert reported["TF_CPP_MIN_LOG_LEVEL"] == "2"
    assert set(reported) <= python_env.ENVIRONMENT_ALLOWLIST
    raw = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, check=True
    )
    assert secret not in raw.stdout
    assert "AWS_SECRET_ACCESS_KEY" not in raw.stdout


def test_script_and_parent_share_one_allowlist() -> None:
    spec = importlib.util.spec_from_file_location("target_probe", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert frozenset(module.ENV_ALLOWLIST) == python_env.ENVIRONMENT_ALLOWLIST


def test_pip_on_path_and_its_interpreter(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pip").write_text("#!/opt/conda/envs/old/bin/python3.8\nimport sys\n")
    (bin_dir / "pip").chmod(0o755)
    info, _ = _probe_ok(sys.executable, env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert info.pip_on_path == str(bin_dir / "pip")
    assert info.pip_on_path_python == "/opt/conda/envs/old/bin/python3.8"


def test_pip_with_long_interpreter_path_uses_sh_form(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    long_python = "/very/long path/" + "x" * 130 + "/bin/python"
    (bin_dir / "pip").write_text(f"#!/bin/sh\n'''exec' \"{long_python}\" \"$0\" \"$@\"\n' '''\n")
    (bin_dir / "pip").chmod(0o755)
    info, _ = _probe_ok(sys.executable, env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert info.pip_on_path_python == long_python


# ---------------------------------------------------------------- TensorFlow, laid out by hand

# build_info.py bodies as the wheels ship them (licence headers dropped).
BUILD_INFO_1_12_GPU = '''"""Generates a Python module containing information about the build."""
is_cuda_build = True
'''
BUILD_INFO_1_15_GPU = '''"""Generates a Python module containing information about the build."""
from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

is_rocm_build = False
is_cuda_build = True

cuda_version_number = '10'
cudnn_version_number = '7'
'''
BUILD_INFO_2_3 = '''"""Auto-generated module providing information about the build."""
from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

build_info = {'cuda_version': '10.1', 'cudnn_version': '7', 'cuda_compute_capabilities': \
['sm_35', 'sm_37', 'sm_52', 'sm_60', 'sm_61', 'compute_70'], 'cpu_compiler': '/usr/bin/gcc-5', \
'is_rocm_build': False, 'is_cuda_build': True}
'''
BUILD_INFO_2_15_CPU = '''"""Auto-generated module providing information about the build."""
import collections

build_info = collections.OrderedDict([('is_cuda_build', False), ('is_rocm_build', False), \
('is_tensorrt_build', False)])
'''

PLATFORM = "python/platform/build_info.py"


def _fake_tensorflow(site: Path, package: str = "tensorflow") -> None:
    # Importing this package would leave a file behind: the probe must never do it.
    add_package_file(
        site,
        f"{package}/__init__.py",
        f"open({str(site / 'IMPORTED')!r}, 'w').close()\nraise SystemExit('imported')\n",
    )


@pytest.mark.parametrize(
    ("package", "text", "expected"),
    [
        ("tensorflow", BUILD_INFO_1_12_GPU, (True, None, None, None, ())),
        ("tensorflow_core", BUILD_INFO_1_15_GPU, (True, False, "10", "7", ())),
        (
            "tensorflow",
            BUILD_INFO_2_3,
            (True, False, "10.1", "7", ("sm_35", "sm_37", "sm_52", "sm_60", "sm_61", "compute_70")),
        ),
        ("tensorflow", BUILD_INFO_2_15_CPU, (False, False, None, None, ())),
    ],
    ids=["1.12-gpu", "1.15-gpu-tensorflow_core", "2.3-dict", "2.15-cpu-ordereddict"],
)
def test_build_info_shapes(
    tmp_path: Path, package: str, text: str, expected: tuple[object, ...]
) -> None:
    site = tmp_path / "site"
    add_distribution(site, "tensorflow-gpu", "1.15.5", requires=("numpy (<1.19.0,>=1.16.0)",))
    _fake_tensorflow(site)
    if package == "tensorflow_core":
        _fake_tensorflow(site, "tensorflow_core")
    add_package_file(site, f"{package}/{PLATFORM}", text)
    _, tensorflow = _probe_ok(sys.executable, env=_with_pythonpath(site))
    assert isinstance(tensorflow, TensorflowInfo)
    assert tensorflow.version == "1.15.5"
    assert tensorflow.package_path == str(site / "tensorflow")
    assert tensorflow.requirements == ("numpy (<1.19.0,>=1.16.0)",)
    build = tensorflow.build
    assert isinstance(build, TensorflowBuild)
    assert build.source_file == str(site / package / PLATFORM)
    got = (
        build.is_cuda_build,
        build.is_rocm_build,
        build.cuda_version,
        build.cudnn_version,
        build.cuda_compute_capabilities,
    )
    assert got == expected
    assert not (site / "IMPORTED").exists()


def _record_line(site: Path, relative: str) -> str:
    digest = hashlib.sha256((site / relative).read_bytes()).digest()
    encoded = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return f"{relative},sha256={encoded},{(site / relative).stat().st_size}\n"


def test_two_tensorflow_distributions_in_one_folder(tmp_path: Path) -> None:
    # pip install tensorflow-gpu==1.15 over tensorflow==2.1: both claim the same files, the
    # files on disk are the last install's, and only its RECORD hash matches them.
    site = tmp_path / "site"
    _fake_tensorflow(site)
    relative = f"tensorflow/{PLATFORM}"
    add_package_file(site, relative, "is_cuda_build = False\n")
    stale = _record_line(site, relative)
    add_package_file(site, relative, BUILD_INFO_1_15_GPU)
    add_distribution(site, "tensorflow", "2.1.0", record="a\n" + stale)
    add_distribution(site, "tensorflow-gpu", "1.15.5", record="a\n" + _record_line(site, relative))
    _, tensorflow = _probe_ok(sys.executable, env=_with_pythonpath(site))
    assert isinstance(tensorflow, TensorflowInfo)
    assert [d.name for d in tensorflow.distributions] == ["tensorflow", "tensorflow-gpu"]
    assert tensorflow.version == "1.15.5"


def test_distribution_without_package(tmp_path: Path) -> None:
    site = tmp_path / "site"
    add_distribution(site, "tensorflow-cpu", "2.16.1")
    _, tensorflow = _probe_ok(
        python_without_tensorflow(tmp_path / "venv"), env=_with_pythonpath(site)
    )
    assert isinstance(tensorflow, TensorflowInfo)
    assert tensorflow.package_path is None
    assert isinstance(tensorflow.build, Unavailable)
    assert tensorflow.build.code == "tensorflow-build-info-missing"


def test_package_without_build_info(tmp_path: Path) -> None:
    site = tmp_path / "site"
    add_distribution(site, "tensorflow", "2.16.1")
    _fake_tensorflow(site)
    _, tensorflow = _probe_ok(
        python_without_tensorflow(tmp_path / "venv"), env=_with_pythonpath(site)
    )
    assert isinstance(tensorflow, TensorflowInfo)
    assert isinstance(tensorflow.build, Unavailable)
    assert tensorflow.build.code == "tensorflow-build-info-missing"


def test_build_info_that_does_not_parse(tmp_path: Path) -> None:
    site = tmp_path / "site"
    add_distribution(site, "tensorflow", "2.16.1")
    _fake_tensorflow(site)
    add_package_file(site, f"tensorflow/{PLATFORM}", "build_info = {'cuda_version': \n")
    _, tensorflow = _probe_ok(
        python_without_tensorflow(tmp_path / "venv"), env=_with_pythonpath(site)
    )
    assert isinstance(tensorflow, TensorflowInfo)
    assert isinstance(tensorflow.build, Unavailable)
    assert tensorflow.build.code == "tensorflow-build-info-unreadable"


def test_package_without_distribution(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _fake_tensorflow(site)
    _, tensorflow = _probe_ok(
        python_without_tensorflow(tmp_path / "venv"), env=_with_pythonpath(site)
    )
    assert isinstance(tensorflow, Unavailable)
    assert tensorflow.code == "tensorflow-metadata-missing"
    assert not (site / "IMPORTED").exists()


# ---------------------------------------------------------------- real TensorFlow envs


def _oracle(python: str, code: str) -> object:
    """Run ``code`` in the env and return the JSON of its last stdout line (TF logs first)."""
    done = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_tensorflow_2_21_env() -> None:
    python = require_test_env("tf")
    info, tensorflow = _probe_ok(python)
    assert isinstance(tensorflow, TensorflowInfo)
    assert tensorflow.version == _oracle(
        python, "import importlib.metadata as m, json; print(json.dumps(m.version('tensorflow')))"
    )
    assert tensorflow.version.startswith("2.21.")
    assert info.version_of("tensorflow") == tensorflow.version
    and_cuda = [r for r in tensorflow.requirements if 'extra == "and-cuda"' in r]
    assert any(r.startswith("nvidia-cudnn-cu12") for r in and_cuda)
    assert len(and_cuda) >= 10
    build = tensorflow.build
    assert isinstance(build, TensorflowBuild)
    # Independent oracle, the one place TF is imported: TF's own view of its build.
    expected = _oracle(
        python,
        "import json, tensorflow as tf; print(json.dumps(dict(tf.sysconfig.get_build_info())))",
    )
    assert isinstance(expected, dict)
    assert {key for key, _ in build.raw} == set(expected)
    assert build.cuda_version == expected["cuda_version"]
    assert build.cudnn_version == expected["cudnn_version"]
    assert build.is_cuda_build is expected["is_cuda_build"]
    assert build.is_rocm_build is expected["is_rocm_build"]
    assert list(build.cuda_compute_capabilities) == expected["cuda_compute_capabilities"]


def test_tensorflow_1_12_env() -> None:
    python = require_test_env("tf112")
    info, tensorflow = _probe_ok(python)
    assert info.version.startswith("3.6.")
    assert info.version_of("keras") == "2.2.4"
    found = {d.name.lower().replace("_", "-"): d.version for d in info.distributions}
    assert found == installed_by_pip(python)
    assert isinstance(tensorflow, TensorflowInfo)
    assert tensorflow.version == "1.12.0"
    build = tensorflow.build
    assert isinstance(build, TensorflowBuild)
    expected = _oracle(
        python,
        "import json; from tensorflow.python.platform import build_info as b; "
        "print(json.dumps(b.is_cuda_build))",
    )
    assert build.is_cuda_build is expected
    assert build.cuda_version is None


def test_script_never_imports_tensorflow() -> None:
    python = require_test_env("tf")
    raw = subprocess.run([python, str(SCRIPT)], capture_output=True, text=True, check=True)
    assert json.loads(raw.stdout)["tensorflow_imported"] is False
