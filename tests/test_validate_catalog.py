"""The validate check catalogue: declared once, CHECK_IDS and --list-checks derived from it."""

from __future__ import annotations

import pytest

import envkit.validate  # importing the package declares every check
from envkit.validate import catalog
from envkit.validate.model import Tier
from envkit.validate.quick import CHECK_IDS, GPU_CHECKS
from tests.test_cli import envkit


def test_check_ids_are_the_quick_tier_of_the_catalogue_in_order() -> None:
    quick = [check.check_id for check in catalog.all_checks() if check.tier is Tier.QUICK]
    assert list(CHECK_IDS) == quick
    assert CHECK_IDS[0] == "node.nvml" and CHECK_IDS[-1] == "node.xid"


def test_tensorflow_s_gpu_list_is_a_default_tier_check() -> None:
    """Importing TensorFlow takes seconds and a CUDA context on each GPU: never the quick tier."""
    tiers = {check.check_id: check.tier for check in catalog.all_checks()}
    assert tiers["node.tensorflow-gpus"] is Tier.DEFAULT
    assert "node.tensorflow-gpus" not in CHECK_IDS
    listing = envkit("validate", "--list-checks").stdout
    default_part = listing[listing.index("default") :]
    assert "node.tensorflow-gpus" in default_part


def test_every_check_has_a_unique_id_and_a_description() -> None:
    checks = catalog.all_checks()
    assert len({check.check_id for check in checks}) == len(checks)
    assert all(check.description.endswith(".") for check in checks)


def test_gpu_checks_are_the_every_gpu_declarations() -> None:
    every_gpu = [c.check_id for c in catalog.all_checks() if c.check_id.startswith("gpu.")]
    assert len(GPU_CHECKS) == len(every_gpu) - 3  # gpu.nvml, gpu.model, gpu.memory by name


def test_a_second_declaration_of_an_id_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        catalog.declare("node.nvml", "again.")


def test_list_checks_lists_every_check_with_its_description() -> None:
    result = envkit("validate", "--list-checks")
    assert result.returncode == 0, result.stderr
    for check in catalog.all_checks():
        assert check.check_id in result.stdout
        assert check.description.split()[0] in result.stdout
    assert f"{len(catalog.all_checks())} checks." in result.stdout
