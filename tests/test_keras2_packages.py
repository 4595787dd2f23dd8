"""Packages that need Keras 2 under TensorFlow 2.16+ (knowledge/data/keras2_packages.json).

Versions are real PyPI releases: tensorflow-probability 0.23.0 (breaks under TF 2.16,
tensorflow/probability#1795) and 0.24.0 (works with tf-keras), transformers 4.46.0,
tensorflow-model-optimization 0.8.0 (tensorflow/model-optimization#1119).
"""

from __future__ import annotations

from envkit import knowledge
from envkit.model import Severity
from tests.rules_support import healthy, run_check, with_env_vars, with_packages, with_tensorflow


def test_every_entry_cites_a_url() -> None:
    packages = knowledge.keras2_packages()
    assert {p.package for p in packages} >= {"tensorflow-probability", "transformers"}
    assert all(p.sources and all(u.startswith("https://") for u in p.sources) for p in packages)


def test_old_tfp_under_keras_3_gets_the_version_that_works() -> None:
    snapshot = with_packages(healthy(), tensorflow_probability="0.23.0")
    [finding] = run_check("tensorflow.keras", snapshot)
    assert finding.severity is Severity.ERROR
    assert 'install "tensorflow-probability[tf]>=0.24" "tf-keras==2.21.*"' in finding.fix[0]


def test_new_tfp_needs_tf_keras_only() -> None:
    snapshot = with_packages(healthy(), tensorflow_probability="0.24.0")
    [finding] = run_check("tensorflow.keras", snapshot)
    assert finding.severity is Severity.WARNING
    assert finding.fix == (
        '/home/ada/miniconda3/envs/tf/bin/python -m pip install "tf-keras==2.21.*"',
    )
    assert run_check("tensorflow.keras", with_packages(snapshot, tf_keras="2.21.0")) == []


def test_tfmot_needs_the_legacy_variable_too() -> None:
    snapshot = with_packages(healthy(), tensorflow_model_optimization="0.8.0", tf_keras="2.21.0")
    [finding] = run_check("tensorflow.keras", snapshot)
    assert finding.fix == ("export TF_USE_LEGACY_KERAS=1   # before TensorFlow is imported",)
    legacy = with_env_vars(snapshot, {"TF_USE_LEGACY_KERAS": "1"})
    assert run_check("tensorflow.keras", legacy) == []


def test_quiet_under_keras_2_tensorflow() -> None:
    snapshot = with_packages(
        with_tensorflow(healthy(), "2.15.0"),
        keras="2.15.0",
        tensorflow_probability="0.23.0",
        transformers="4.46.0",
    )
    assert run_check("tensorflow.keras", snapshot) == []
