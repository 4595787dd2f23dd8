"""The layer contract, read from the source: no module imports a layer above its own.

model -> jobs -> probes/knowledge -> rules -> features (smoke, envfiles, validate, inputs,
doctor) -> render -> cli. A module imports its own layer or lower ones; every ``import``
counts, also one inside a function or under TYPE_CHECKING. The README's "Development"
section maps the folders.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "envkit"

LAYERS = ("model", "jobs", "probes", "rules", "features", "render", "cli")
RANK = {name: rank for rank, name in enumerate(LAYERS)}
_BY_FIRST_PART = {
    "__init__": "model",
    "model": "model",
    "model_health": "model",
    "records": "model",  # the frozen dataclass decorator the model is written with
    "exit_codes": "model",
    "files": "model",
    "redact": "model",
    "controls": "model",  # control characters made visible, for every printed text
    "readers": "model",  # the bounded reader of the user's input files (standard library only)
    "codec": "model",
    "envelope": "model",  # the schema key and envkit_version every document opens with (#13)
    "jobs": "jobs",
    "probes": "probes",
    "knowledge": "probes",
    "rules": "rules",
    "smoke": "features",
    "envfiles": "features",
    "inputs": "features",  # recorded state (--from) judged by validate's and doctor's checks
    "validate": "features",
    "doctor": "features",
    "target": "features",  # which interpreter to examine, resolved once for the CLI (#10)
    "all_envs": "features",  # doctor --all-envs (#10)
    "render": "render",
    "schema": "render",
    "terminal": "render",  # the escaping console every renderer draws on
    "cli": "cli",
    "__main__": "cli",
    "entry": "cli",  # the entry point: starts the default target's probe, then the CLI
}
RENDERERS = {"junit"}
"""Feature modules that are renderers by what they do, not by name."""
CHILD_SCRIPT_FOLDERS = {"_scripts", "_child"}
"""Run by the target interpreter, never imported by envkit: outside the layers."""


def layer_of(module: str) -> str:
    """The layer of a dotted module name under envkit (``envkit.smoke.render`` -> render)."""
    parts = module.split(".")[1:] or ["__init__"]
    if parts[-1].startswith("render") or parts[-1] in RENDERERS:
        return "render" if parts[0] != "cli" else "cli"
    return _BY_FIRST_PART[parts[0]]


def module_name(path: Path, root: Path) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, current: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "envkit" or name.startswith("envkit.")}


def _is_module(name: str, root: Path) -> bool:
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def upward_imports(root: Path) -> list[str]:
    """'importer (layer) -> imported (layer)' for every import of a higher layer."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if CHILD_SCRIPT_FOLDERS & set(path.relative_to(root).parts):
            continue
        current = module_name(path, root)
        mine = layer_of(current)
        tree = ast.parse(path.read_text(), str(path))
        for name in sorted(imported_modules(tree, current)):
            if not _is_module(name, root):
                continue  # "from envkit.x import Name": the module itself counts
            theirs = layer_of(name)
            if RANK[theirs] > RANK[mine]:
                found.append(f"{current} ({mine}) -> {name} ({theirs})")
    return found


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports(PACKAGE) == []


def test_probes_import_no_feature_or_output_module() -> None:
    offending = [line for line in upward_imports(PACKAGE) if line.startswith("envkit.probes")]
    assert offending == []


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        if not CHILD_SCRIPT_FOLDERS & set(path.relative_to(PACKAGE).parts):
            assert layer_of(module_name(path, PACKAGE)) in RANK


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("probes/nvml.py", "from envkit.validate import model as _planted\n"),
        ("model.py", "def _planted():\n    import envkit.cli\n"),
        ("rules/python.py", "from envkit.render.doctor import render as _planted\n"),
        ("smoke/runner.py", "import envkit.render.report\n"),
    ],
)
def test_a_planted_upward_import_is_caught(tmp_path: Path, module: str, planted: str) -> None:
    copy = tmp_path / "envkit"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert upward_imports(copy) == []
    target = copy / module
    target.write_text(target.read_text() + "\n" + planted)
    found = upward_imports(copy)
    assert found, "the planted import went unseen"
    assert all(line.startswith(module_name(target, copy) + " (") for line in found), found


def _third_party_importers(root: Path, package: str) -> set[str]:
    found = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name == package or name.startswith(package + ".") for name in names):
                found.add(module_name(path, root))
    return found


def test_pynvml_is_imported_only_by_the_nvml_probe() -> None:
    assert _third_party_importers(PACKAGE, "pynvml") <= {"envkit.probes.nvml"}


@pytest.mark.parametrize("package", ["rich", "typer"])
def test_rich_and_typer_only_in_the_cli_and_renderers(package: str) -> None:
    outside = {
        name
        for name in _third_party_importers(PACKAGE, package)
        if layer_of(name) not in ("render", "cli")
    }
    assert outside == set()
