#!/usr/bin/env bash
# Everything only a GPU can show, in at most 8 minutes (the step limits add up to 455 s), for the day a machine with an NVIDIA GPU
# is at hand:
#
#     scripts/gpu_proof.sh OUT_DIR
#
# Steps: nvidia-smi -q -x, scripts/record_nvml.py, envkit report --json, envkit smoke --device gpu
# (TensorFlow where the target Python has it, else Keras 3 on JAX or PyTorch), envkit validate
# --tier default --json. Each step's stdout, stderr, exit status and seconds land in OUT_DIR; a
# step that fails is recorded and the script goes on. Without a GPU every GPU step records
# "no GPU". It ends with one summary line (also in OUT_DIR/summary.txt) and exits 0; 2 only when
# OUT_DIR is missing or not writable.
#
# Environment: PYTHON (default python3) runs envkit and record_nvml.py; SMOKE_PYTHON (default:
# PYTHON) is the environment smoke and validate examine.
set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/gpu_proof.sh OUT_DIR" >&2
  exit 2
fi
OUT=$1
if ! mkdir -p "$OUT" 2>/dev/null || [ ! -w "$OUT" ]; then
  echo "gpu_proof: cannot write to $OUT" >&2
  exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
SMOKE_PY=${SMOKE_PYTHON:-$PY}
STEPS=0 OK=0 FAILED=0 NO_GPU=0
: > "$OUT/steps.tsv"

have_gpu() {
  command -v nvidia-smi > /dev/null 2>&1 && nvidia-smi -L > "$OUT/gpu-list.txt" 2>&1
}

# step NAME SECONDS GPU_ONLY COMMAND...
step() {
  local name=$1 limit=$2 gpu_only=$3
  shift 3
  STEPS=$((STEPS + 1))
  local started=$SECONDS status
  if [ "$gpu_only" = yes ] && [ "$GPU" = no ]; then
    echo "no GPU: $GPU_WHY" > "$OUT/$name.err"
    : > "$OUT/$name.out"
    status="no GPU"
    NO_GPU=$((NO_GPU + 1))
  else
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
    local rc=$?
    if [ $rc -eq 0 ]; then
      status="ok"
      OK=$((OK + 1))
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      status="timed out after ${limit}s"
      FAILED=$((FAILED + 1))
    else
      status="failed (exit $rc)"
      FAILED=$((FAILED + 1))
    fi
  fi
  printf '%s\t%s\t%ss\n' "$name" "$status" "$((SECONDS - started))" | tee -a "$OUT/steps.tsv"
}

smoke_backend() {
  if "$SMOKE_PY" -c "import tensorflow" > /dev/null 2>&1; then
    return
  fi
  for backend in jax torch; do
    if "$SMOKE_PY" -c "import $backend" > /dev/null 2>&1; then
      echo "--backend $backend"
      return
    fi
  done
}

if have_gpu; then
  GPU=yes GPU_WHY=""
else
  GPU=no
  GPU_WHY=$( (command -v nvidia-smi > /dev/null && head -n 1 "$OUT/gpu-list.txt") || echo "nvidia-smi not found")
fi

cd "$REPO" || exit 2
step 1-nvidia-smi-q-x 45 yes nvidia-smi -q -x
step 2-record-nvml 45 yes "$PY" scripts/record_nvml.py gpu-proof --out-dir "$OUT/nvml"
step 3-report-json 45 no "$PY" -m envkit report --json --python "$SMOKE_PY"
# The backend flag is two words or none, so it is split on purpose.
# shellcheck disable=SC2046
step 4-smoke-gpu 200 yes "$PY" -m envkit smoke --device gpu --json --timeout 190 --python "$SMOKE_PY" $(smoke_backend)
step 5-validate-default 120 yes "$PY" -m envkit validate --tier default --json --python "$SMOKE_PY"

SUMMARY="gpu_proof: $STEPS steps in ${SECONDS}s: $OK ok, $FAILED failed, $NO_GPU no GPU${GPU_WHY:+ ($GPU_WHY)}; details in $OUT"
echo "$SUMMARY" | tee "$OUT/summary.txt"
exit 0
