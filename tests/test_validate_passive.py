"""The quick tier is passive: it starts no Python that imports TensorFlow (which would also make
a CUDA context on every GPU of a node running jobs); TensorFlow's GPU list is the default tier's,
and what it says about CUDA_VISIBLE_DEVICES holds.

The target interpreter is the real TensorFlow test env behind a recording wrapper: the wrapper
logs each start, and a sitecustomize it puts first on PYTHONPATH logs an import of tensorflow.
The control test shows the wrapper catches the import when TensorFlow is asked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envkit.model_health import NodeHealth
from envkit.probes.tf_devices import TfGpuList, tensorflow_gpu_list
from envkit.validate import ValidateOptions, validate
from envkit.validate.model import Tier, Verdict
from envkit.validate.quick_node import node_tensorflow_gpus
from tests.envs import fake_python, require_test_env
from tests.test_cli import envkit

WATCH = """\
import sys


class _WatchTensorflow:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            with open({log!r}, "a") as log:
                log.write("import tensorflow\\n")
        return None


sys.meta_path.insert(0, _WatchTensorflow())
"""


def _recording_python(tmp_path: Path, real: str, env_line: str = "") -> tuple[Path, Path]:
    """A wrapper of ``real`` that logs each start and each import of tensorflow in ``log``."""
    log, hook = tmp_path / "starts.log", tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(WATCH.format(log=str(log)))
    body = (
        f'echo "start: $*" >> {log}\n'
        f"{env_line}"
        f'PYTHONPATH={hook}${{PYTHONPATH:+:$PYTHONPATH}} exec {real} "$@"\n'
    )
    return fake_python(tmp_path, body), log


def _log(log: Path) -> str:
    return log.read_text() if log.exists() else ""


def test_the_wrapper_sees_tensorflow_imported_when_it_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, log = _recording_python(tmp_path, require_test_env("tf"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    found = tensorflow_gpu_list(str(python))
    assert "import tensorflow" in _log(log)
    # envkit's own CUDA_VISIBLE_DEVICES is left out of the question, and said so.
    assert found == TfGpuList(gpus=0, cuda_visible_devices=None, inherited_visible_devices="0")


def test_the_quick_tier_starts_no_python_that_imports_tensorflow(tmp_path: Path) -> None:
    python, log = _recording_python(tmp_path, require_test_env("tf"))
    result = envkit("validate", "--tier", "quick", "--python", str(python), "--json")
    assert result.returncode == 1, result.stderr  # no GPU here: node.nvml fails
    assert "import tensorflow" not in _log(log)
    ids = {r["check_id"] for r in json.loads(result.stdout)["report"]["results"]}
    assert "node.nvml" in ids and "node.tensorflow-gpus" not in ids


def test_the_default_tier_asks_tensorflow_first(tmp_path: Path) -> None:
    """No GPU here, so nothing is measured; TensorFlow's GPU list is still asked, and timed."""
    python, log = _recording_python(tmp_path, require_test_env("tf"))
    options = ValidateOptions(tier=Tier.DEFAULT, python=str(python), read_kernel_log=False)
    report = validate(options)
    assert "import tensorflow" in _log(log)
    default_part = [r.check_id for r in report.results][2:]  # after node.nvml, node.xid
    assert default_part == ["node.tensorflow-gpus", "perf.job"]
    tf_check = report.results[2]
    assert tf_check.evidence.startswith("TensorFlow sees 0, NVML 0")
    assert tf_check.duration_s is not None and tf_check.duration_s > 0


def test_a_target_that_sets_cuda_visible_devices_itself_is_told(tmp_path: Path) -> None:
    env_line = "CUDA_VISIBLE_DEVICES=-1; export CUDA_VISIBLE_DEVICES\n"
    python, _log_file = _recording_python(tmp_path, require_test_env("tf"), env_line)
    found = tensorflow_gpu_list(str(python))
    assert isinstance(found, TfGpuList) and found.cuda_visible_devices == "-1"
    result = node_tensorflow_gpus(_two_gpus(), found)
    assert result.verdict is Verdict.FAIL
    assert "sets CUDA_VISIBLE_DEVICES='-1' itself" in result.evidence
    assert "remove CUDA_VISIBLE_DEVICES" in (result.action or "")


# --- the message, pure ---------------------------------------------------------------------


def _two_gpus() -> NodeHealth:
    from tests.test_validate_quick import _health

    health = _health("synthetic-h100-healthy")
    return NodeHealth(
        health.failure, health.driver_version, health.cuda_driver_version, health.gpus * 2
    )


def test_no_cuda_visible_devices_no_word_of_it() -> None:
    result = node_tensorflow_gpus(_two_gpus(), TfGpuList(1, None, None))
    assert result.verdict is Verdict.FAIL
    assert "CUDA_VISIBLE_DEVICES" not in result.evidence + (result.action or "")
    assert result.evidence == "TensorFlow sees 1, NVML 2"


@pytest.mark.parametrize(("value", "shown"), [("", "''"), ("0", "'0'")])
def test_cuda_visible_devices_is_named_where_it_is_set(value: str, shown: str) -> None:
    set_by_target = node_tensorflow_gpus(_two_gpus(), TfGpuList(1, value, None))
    assert f"sets CUDA_VISIBLE_DEVICES={shown} itself" in set_by_target.evidence
    inherited = node_tensorflow_gpus(_two_gpus(), TfGpuList(2, None, value))
    assert inherited.verdict is Verdict.PASS
    assert f"CUDA_VISIBLE_DEVICES={shown} of envkit's environment was left out" in (
        inherited.evidence
    )
    assert "remove" not in (inherited.action or "")
