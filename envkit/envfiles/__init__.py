"""Conda environment files that fit together, and a linter for the ones people have.

* :func:`spec_for` chooses Python, TensorFlow and its CUDA route from the knowledge base;
  :func:`to_yaml` writes the spec, byte for byte the same for the same spec.
* :func:`check_file` reads an environment.yml or requirements.txt and returns the doctor's
  kind of findings; :func:`fix` rewrites the file so that its versions fit.
* :func:`export_env` (:func:`export_spec` without the file reading) writes a working
  environment's explicitly installed packages as an environment file.

Bad input raises :class:`EnvFileError`, a request that fits no release :class:`SpecError`; both
carry one line for the user.
"""

from __future__ import annotations

from envkit.envfiles.catalog import CHECKS
from envkit.envfiles.checks import CheckResult, EnvFileReport, check_document, check_file
from envkit.envfiles.emit import to_yaml
from envkit.envfiles.errors import EnvFileError, SpecError
from envkit.envfiles.export import (
    CondaMeta,
    CondaPackage,
    InstalledDist,
    export_env,
    export_spec,
    read_conda_meta,
    read_installed,
)
from envkit.envfiles.fixing import fix
from envkit.envfiles.reading import EnvDocument, read_document
from envkit.envfiles.spec import DEFAULT_FILE_NAME, PLATFORMS, EnvSpec, spec_for

ROOT_FILES = {"environment-gpu.yml": True, "environment-cpu.yml": False}
"""The files at the repository root: name -> gpu. Each is to_yaml(default_spec(name))."""


def default_spec(file_name: str) -> EnvSpec:
    """What `envkit env generate --gpu|--cpu -o FILE` writes with every other option default."""
    return spec_for(gpu=ROOT_FILES[file_name], file_name=file_name)


__all__ = [
    "CHECKS",
    "DEFAULT_FILE_NAME",
    "PLATFORMS",
    "ROOT_FILES",
    "CheckResult",
    "CondaMeta",
    "CondaPackage",
    "EnvDocument",
    "EnvFileError",
    "EnvFileReport",
    "EnvSpec",
    "InstalledDist",
    "SpecError",
    "check_document",
    "check_file",
    "default_spec",
    "export_env",
    "export_spec",
    "fix",
    "read_conda_meta",
    "read_document",
    "read_installed",
    "spec_for",
    "to_yaml",
]
