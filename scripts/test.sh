#!/usr/bin/env bash
# Set up and run envkit's tests on a fresh machine: the project's venv, the real TensorFlow
# environments the probes are tested against, Debian's real libnvidia-ml, Slurm and munge (root,
# Debian), then lint and pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${ENVKIT_PYTHON:-python3}
cache=${ENVKIT_CACHE:-$HOME/.cache/envkit}

if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# A one-node Slurm cluster on loopback runs the fleet scripts for real (tests/test_slurm_cluster.py).
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
fi

export ENVKIT_TEST_ENVS=${ENVKIT_TEST_ENVS:-$cache/test-envs}
bash scripts/make_test_envs.sh
ENVKIT_LIBNVML_DIR=$(bash scripts/fetch_libnvidia_ml.sh "$cache/libnvidia-ml" | tail -n 1)
export ENVKIT_LIBNVML_DIR
# Every prepared part must be used: a missing env fails the tests instead of skipping them.
export ENVKIT_REQUIRE_TEST_ENVS=1

.venv/bin/ruff check envkit tests scripts
.venv/bin/ruff format --check envkit tests scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
