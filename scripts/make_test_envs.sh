#!/usr/bin/env bash
# Create the Python environments envkit's tests probe for real.
#
#   tf     venv of Python 3.11 with tensorflow==2.21.*        (required; ~2 GB)
#   keras-torch, keras-jax  venvs of Python 3.11 with Keras 3 over PyTorch (CPU) or JAX,
#          no TensorFlow (optional)
#   tf112  venv of Python 3.6 with tensorflow==1.12.0 and keras==2.2.4
#          (the old tutorial stack; built only where a Python 3.6 exists)
#
# Idempotent: an env counts as done only when its marker file exists. Each env is
# built in a temporary folder beside its final place and renamed into place in one
# step, marker included, so a killed run never leaves a half env that looks done.
#
# Environment:
#   ENVKIT_TEST_ENVS   where the envs go (default ~/.cache/envkit/test-envs)
#   ENVKIT_PYTHON311   interpreter for "tf" (default: python3.11 on PATH, then pyenv)
#   ENVKIT_PYTHON36    interpreter for "tf112" (default: python3.6 on PATH, then pyenv)
#   ENVKIT_SKIP_TF112=1  do not try tf112
set -euo pipefail

ROOT="${ENVKIT_TEST_ENVS:-$HOME/.cache/envkit/test-envs}"
MARKER=".envkit-test-env-complete"

say() { printf 'make_test_envs: %s\n' "$*"; }

find_python() {
    # $1 = override value, $2 = minor version such as 3.11. Prints the interpreter's
    # real sys.executable: a pyenv shim on PATH may exist yet refuse to run.
    local override="$1" minor="$2" candidate
    local -a candidates=()
    if [[ -n "$override" ]]; then
        candidates=("$override")
    else
        candidate="$(command -v "python$minor" 2>/dev/null)" && candidates+=("$candidate")
        candidates+=("${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$minor".*/bin/python"$minor")
    fi
    for candidate in "${candidates[@]}"; do
        if [[ -x "$candidate" ]] && "$candidate" -c \
            "import sys; assert sys.version_info[:2] == tuple(map(int, '$minor'.split('.'))); print(sys.executable)" \
            2>/dev/null; then
            return 0
        fi
    done
    return 1
}

# Venv scripts (activate, pip's shebangs) hold the absolute path they were made at;
# point them at the final path before the rename.
relocate_text_files() {
    local env_dir="$1" from="$2" to="$3" file
    while IFS= read -r -d '' file; do
        if grep -qI -F "$from" "$file" 2>/dev/null; then
            sed -i "s|$from|$to|g" "$file"
        fi
    done < <(find "$env_dir/bin" "$env_dir/pyvenv.cfg" -maxdepth 1 -type f -print0)
}

# Folders left by a killed run: .building-NAME-PID whose PID is gone.
remove_stale_builds() {
    local name="$1" dir pid
    for dir in "$ROOT"/.building-"$name"-*; do
        [[ -d "$dir" ]] || continue
        pid="${dir##*-}"
        if ! kill -0 "$pid" 2>/dev/null; then
            say "$name: removing leftover $dir"
            rm -rf "$dir"
        fi
    done
}

# build_env NAME PYTHON PIP_SPEC "PIP ARGS..." "CHECK CODE"
build_env() {
    local name="$1" python="$2" pip_spec="$3" pip_args="$4" check_code="$5"
    local final="$ROOT/$name"
    if [[ -f "$final/$MARKER" ]]; then
        say "$name: already complete at $final ($(cat "$final/$MARKER"))"
        return 0
    fi
    if [[ -e "$final" ]]; then
        say "$name: removing incomplete $final (no marker)"
        rm -rf "$final"
    fi
    remove_stale_builds "$name"
    local tmp="$ROOT/.building-$name-$$"
    # errexit does not apply inside a function called from a condition, so every step
    # checks its own status.
    say "$name: creating venv with $python ($("$python" -V 2>&1)) in $tmp"
    "$python" -m venv "$tmp" || { rm -rf "$tmp"; return 1; }
    # A new pip first: the one venv bundles may ignore Requires-Python when resolving.
    "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "$pip_spec" \
        || { say "$name: pip upgrade failed"; rm -rf "$tmp"; return 1; }
    say "$name: pip install $pip_args"
    # shellcheck disable=SC2086  # pip_args is a word list on purpose
    "$tmp/bin/python" -m pip install --quiet --disable-pip-version-check $pip_args \
        || { say "$name: pip install failed"; rm -rf "$tmp"; return 1; }
    say "$name: checking that it imports"
    "$tmp/bin/python" -c "$check_code" \
        || { say "$name: import check failed"; rm -rf "$tmp"; return 1; }
    relocate_text_files "$tmp" "$tmp" "$final" || { rm -rf "$tmp"; return 1; }
    printf '%s made %s\n' "$name" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp/$MARKER" \
        || { rm -rf "$tmp"; return 1; }
    mv -T "$tmp" "$final" || { rm -rf "$tmp"; return 1; }
    say "$name: done at $final"
}

main() {
    mkdir -p "$ROOT"
    local py311 py36
    if ! py311="$(find_python "${ENVKIT_PYTHON311:-}" 3.11)"; then
        say "tf: no Python 3.11 found (set ENVKIT_PYTHON311)" >&2
        exit 1
    fi
    if ! build_env tf "$py311" \
        "pip" "tensorflow==2.21.*" \
        "import importlib.metadata as m; print('tensorflow', m.version('tensorflow'))"; then
        exit 1
    fi

    build_keras_backend keras-torch "$py311" "torch==2.13.0 keras numpy" \
        "import os; os.environ['KERAS_BACKEND'] = 'torch'; import torch, keras; print('torch', torch.__version__, 'keras', keras.__version__)"
    build_keras_backend keras-jax "$py311" "jax jaxlib keras numpy" \
        "import os; os.environ['KERAS_BACKEND'] = 'jax'; import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__)"

    rm -f "$ROOT/tf112.skipped"
    if [[ "${ENVKIT_SKIP_TF112:-0}" == "1" ]]; then
        skip tf112 "ENVKIT_SKIP_TF112=1"
        return 0
    fi
    if ! py36="$(find_python "${ENVKIT_PYTHON36:-}" 3.6)"; then
        skip tf112 "no Python 3.6 found (set ENVKIT_PYTHON36)"
        return 0
    fi
    # numpy<1.17 and h5py<3 are what TF 1.12 and Keras 2.2.4 were released against;
    # protobuf<3.20 is the last line that supports Python 3.6 with TF 1.x's generated code.
    if ! build_env tf112 "$py36" \
        "pip<22" "tensorflow==1.12.0 keras==2.2.4 numpy<1.17 h5py<3 protobuf<3.20" \
        "import tensorflow as tf, keras; print('tensorflow', tf.__version__, 'keras', keras.__version__)"; then
        skip tf112 "tensorflow==1.12.0 did not install with $py36"
    fi
}

# Keras 3 over PyTorch or JAX, without TensorFlow: the smoke's other backends. Optional: a
# registry that lacks the wheels skips them, with the reason.
build_keras_backend() {
    local name="$1" python="$2" packages="$3" check_code="$4"
    rm -f "$ROOT/$name.skipped"
    if [[ "${ENVKIT_SKIP_KERAS_BACKENDS:-0}" == "1" ]]; then
        skip "$name" "ENVKIT_SKIP_KERAS_BACKENDS=1"
    elif ! build_env "$name" "$python" "pip" "$packages" "$check_code"; then
        skip "$name" "pip could not install $packages with $python"
    fi
}

# The optional env is skipped on purpose, and says so in NAME.skipped, which the tests read:
# a missing env with no such note is a failure under ENVKIT_REQUIRE_TEST_ENVS=1.
skip() {
    local name="$1" why="$2"
    say "$name: skipped, $why"
    printf '%s\n' "$why" >"$ROOT/$name.skipped"
}

main "$@"
