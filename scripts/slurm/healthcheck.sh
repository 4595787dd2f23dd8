#!/bin/bash
# Slurm HealthCheckProgram: envkit's quick tier (passive NVML and kernel-log checks, no GPU
# load, seconds). On a failed check it drains this node with the reason "envkit: <checks>"; when
# the node passes again it resumes it, but only if envkit drained it (an operator's drain with
# another reason is never touched). In slurm.conf on every GPU node:
#
#   HealthCheckProgram=/opt/envkit/scripts/slurm/healthcheck.sh
#   HealthCheckInterval=300
#   HealthCheckNodeState=ANY,CYCLE
#
# Slurm kills a HealthCheckProgram after 60 s, so envkit gets ENVKIT_HC_TIMEOUT_S (45) and is
# then killed; a check that hangs that long (a driver that no longer answers) drains the node.
# The node is drained only for the node's own faults: a failed check in envkit's report, or
# that hang. When envkit itself cannot run or gives no verdict (not installed, a bad option in
# ENVKIT_HC_ARGS, envkit's own error), that is logged and the node is left as it is: exit 0.
#
# slurmd runs the program with no environment but SLURMD_NODENAME (no PATH either), so the
# settings below are read from /etc/default/envkit-healthcheck (ENVKIT_HC_CONFIG), a shell file
# of VAR=value lines, or exported by a wrapper that slurm.conf names instead of this script:
#   ENVKIT          the envkit command, split on spaces (default: envkit; best a full path)
#   ENVKIT_HC_ARGS  extra validate options, e.g. "--expect-gpus 8 --expect-gpu-model H100"
#   ENVKIT_NODE     Slurm's name for this node (default: $SLURMD_NODENAME, else hostname -s)
#   ENVKIT_HC_DIR   where the last report is kept (default: /run/envkit)
#   ENVKIT_HC_DRY_RUN=1  say what would be done, change nothing
# Exit status: 0 healthy or not judged (logged), 1 drained (or would be).
set -uo pipefail

export PATH=${PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}
config=${ENVKIT_HC_CONFIG:-/etc/default/envkit-healthcheck}
# shellcheck source=/dev/null
[[ -r $config ]] && source "$config"

read -r -a envkit <<<"${ENVKIT:-envkit}"
read -r -a extra <<<"${ENVKIT_HC_ARGS:-}"
limit=${ENVKIT_HC_TIMEOUT_S:-45}
node=${ENVKIT_NODE:-${SLURMD_NODENAME:-$(hostname -s)}}
dir=${ENVKIT_HC_DIR:-/run/envkit}
report=$dir/healthcheck.json
errors=$dir/healthcheck.err
mkdir -p "$dir"
rm -f "$report"

log() { logger -t envkit-healthcheck -- "$*" 2>/dev/null || true; echo "envkit-healthcheck: $*" >&2; }

scontrol_update() {
  if [[ ${ENVKIT_HC_DRY_RUN:-0} == 1 ]]; then
    log "dry run: scontrol update nodename=$node $*"
  else
    scontrol update nodename="$node" "$@"
  fi
}

failed_checks() { # the failed checks of the report, as drain_reasons in envkit/validate/fleet.py
  python3 - "$report" <<'PY' 2>/dev/null
import json, sys
results = json.load(open(sys.argv[1]))["report"]["results"]
failed = {}
for r in results:
    if r["verdict"] == "fail":
        failed.setdefault(r["check_id"], []).append(r["gpu_index"])
def one(check, gpus):
    gpus = sorted(g for g in gpus if g is not None)
    return f"{check} (GPU{'s' if len(gpus) > 1 else ''} {','.join(map(str, gpus))})" if gpus else check
if failed:
    print("; ".join(one(c, g) for c, g in failed.items()))
else:
    print("every check was skipped" if results else "no check ran")
PY
}

last_error_line() { # the last line of envkit's stderr with words in it, in printable ASCII
  LC_ALL=C tr -c '[:print:]\n' ' ' <"$errors" | grep '[[:alnum:]]' | tail -n 1 | tr -s ' ' |
    sed 's/^ //; s/ $//' | cut -c 1-120
}

current_reason() {
  sinfo -h -N -n "$node" -o '%E' 2>/dev/null | head -n 1
}

timeout --kill-after=5 "$limit" "${envkit[@]}" validate --tier quick --json -o "$report" --force \
  --node-name "$node" "${extra[@]}" >/dev/null 2>"$errors"
status=$?

case $status in
  0)
    reason=$(current_reason)
    if [[ $reason == envkit:* ]]; then
      log "$node passes again; resuming it (was: $reason)"
      scontrol_update state=resume
    fi
    exit 0
    ;;
  1)
    if [[ ! -s $report ]]; then # exit 1 without a report: envkit crashed, no verdict
      log "envkit gave no verdict on $node (exit 1, no report): $(last_error_line); not draining"
      exit 0
    fi
    reason="envkit: $(failed_checks || echo "validate failed; see $report")"
    ;;
  124 | 137) reason="envkit: quick check did not finish in ${limit}s" ;;
  *)
    log "envkit could not check $node (exit $status): $(last_error_line); not draining"
    exit 0
    ;;
esac
reason=${reason:0:200}
reason=${reason%% }
existing=$(current_reason)
if [[ -n $existing && $existing != none && $existing != envkit:* ]]; then
  log "$node fails ($reason) but is already drained by someone else ($existing); leaving it"
  exit 1
fi
log "draining $node: $reason"
scontrol_update state=drain reason="$reason"
exit 1
