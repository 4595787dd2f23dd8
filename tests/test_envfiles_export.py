"""envkit env export: real environments and a conda prefix laid out as conda writes one."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from envkit.envfiles import (
    check_file,
    export_env,
    export_spec,
    read_conda_meta,
    read_installed,
    to_yaml,
)
from envkit.envfiles.export import channel_name, requested_names
from envkit.model import Distribution, PythonEnvInfo
from envkit.probes.python_env import probe
from tests.envs import require_test_env


def _info(prefix: Path, kind: str, dists: dict[str, str], name: str | None = None) -> PythonEnvInfo:
    return PythonEnvInfo(
        executable=str(prefix / "bin" / "python"),
        version="3.11.9",
        implementation="CPython",
        prefix=str(prefix),
        base_prefix=str(prefix),
        kind=kind,
        conda_env_name=name,
        platform_tag="linux-x86_64",
        pip_on_path=None,
        pip_on_path_python=None,
        distributions=tuple(Distribution(n, v) for n, v in sorted(dists.items())),
        environment=(),
    )


def _dist_info(
    site: Path, name: str, version: str, requires: tuple[str, ...] = (), installer: str = "pip"
) -> None:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (folder / "METADATA").write_text("\n".join(lines) + "\n")
    (folder / "INSTALLER").write_text(installer + "\n")


def _pip_list(text: str) -> list[str]:
    data = yaml.safe_load(text)
    return next(d["pip"] for d in data["dependencies"] if isinstance(d, dict))


def test_venv_export_lists_what_nothing_else_requires(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _dist_info(
        site,
        "tensorflow",
        "2.21.0",
        ("keras>=3.12.0", "numpy>=1.26.0", 'nvidia-cudnn-cu12>=9.3; extra == "and-cuda"'),
    )
    _dist_info(site, "keras", "3.12.0", ("numpy",))
    _dist_info(site, "numpy", "2.3.0")
    _dist_info(site, "nvidia-cudnn-cu12", "9.3.0.75")
    _dist_info(site, "pandas", "2.2.2", ("numpy",))
    _dist_info(site, "pip", "24.0")
    dists = {
        "tensorflow": "2.21.0",
        "keras": "3.12.0",
        "numpy": "2.3.0",
        "nvidia-cudnn-cu12": "9.3.0.75",
        "pandas": "2.2.2",
        "pip": "24.0",
    }
    info = _info(tmp_path, "venv", dists)
    installed = read_installed(str(tmp_path), info.version)
    assert {d.name for d in installed} == set(dists)
    spec = export_spec(info, installed=installed, name="work")
    assert spec.conda == ("python=3.11.9", "pip")
    assert spec.pip == ("pandas==2.2.2", "tensorflow[and-cuda]==2.21.0")
    without_gpu = export_spec(info, installed=tuple(d for d in installed if "nvidia" not in d.name))
    assert "tensorflow==2.21.0" in without_gpu.pip


def test_conda_export_uses_history_and_records(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "history").write_text(
        "==> 2024-01-01 10:00:00 <==\n# cmd: conda create -n tf python=3.11\n"
        "+conda-forge/linux-64::python-3.11.9-h0\n# update specs: ['python=3.11']\n"
        "==> 2024-01-02 10:00:00 <==\n# cmd: conda install conda-forge::pandas pip scipy\n"
        "# update specs: [\"conda-forge::pandas\", 'pip', \"scipy[version='>=1']\"]\n"
        "==> 2024-01-03 10:00:00 <==\n# remove specs: ['scipy']\n"
    )
    records = {"python": "3.11.9", "pandas": "2.2.2", "pip": "24.0", "numpy": "1.26.4"}
    for name, version in records.items():
        record = {
            "name": name,
            "version": version,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
        }
        (meta / f"{name}-{version}-h0.json").write_text(json.dumps(record))
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    _dist_info(site, "pandas", "2.2.2", ("numpy",), installer="conda")
    _dist_info(site, "numpy", "1.26.4", installer="conda")
    _dist_info(site, "tensorflow", "2.21.0", ("numpy",))
    info = _info(
        tmp_path,
        "conda-env",
        {"pandas": "2.2.2", "numpy": "1.26.4", "tensorflow": "2.21.0", "pip": "24.0"},
        name="tf",
    )
    conda = read_conda_meta(str(tmp_path))
    assert conda is not None and conda.requested == ("python", "pandas", "pip")
    spec = export_env(info)
    assert spec.name == "tf"
    assert spec.channels == ("conda-forge",)
    assert spec.conda == ("python=3.11.9", "pandas=2.2.2", "pip=24.0")
    assert spec.pip == ("tensorflow==2.21.0",)


def test_history_and_channel_parsing() -> None:
    assert requested_names("# update specs: ['a', 'b']\n# remove specs: ['a']\n") == ("b",)
    assert requested_names("# update specs: not a list\n") == ()
    assert channel_name("https://repo.anaconda.com/pkgs/main/linux-64") == "defaults"
    assert channel_name("https://conda.anaconda.org/pytorch/noarch") == "pytorch"
    assert channel_name("conda-forge") == "conda-forge"
    assert read_conda_meta("/nonexistent/prefix") is None


def test_real_tensorflow_env_exports_and_checks_clean(tmp_path: Path) -> None:
    info, _ = probe(require_test_env("tf"))
    assert isinstance(info, PythonEnvInfo)
    spec = export_env(info, file_name="moved.yml")
    version = info.version_of("tensorflow")
    assert f"tensorflow=={version}" in spec.pip or f"tensorflow[and-cuda]=={version}" in spec.pip
    assert not any(line.startswith("keras==") for line in spec.pip)  # tensorflow requires it
    path = tmp_path / "moved.yml"
    path.write_text(to_yaml(spec))
    result = check_file(path)
    assert result.release is not None and version and version.startswith(result.release.series)
    assert result.exit_status == 0


def test_real_tf112_env_keeps_its_standalone_keras() -> None:
    info, _ = probe(require_test_env("tf112"))
    assert isinstance(info, PythonEnvInfo)
    spec = export_env(info)
    keras = info.version_of("keras")
    assert keras is not None and f"keras=={keras}" in spec.pip
    assert spec.conda[0] == f"python={info.version}"
