#!/usr/bin/env bash
# A one-node Slurm cluster on loopback for tests: munged, slurmctld and slurmd, every file and
# socket under DIR, nothing that needs systemd or cgroups (proctrack/linuxproc, task/none).
#
#   scripts/slurm_test_cluster.sh start DIR   # idempotent; prints the env line to use it
#   scripts/slurm_test_cluster.sh stop DIR    # stops only the daemons whose pid files are in DIR
#   scripts/slurm_test_cluster.sh status DIR
#
# After start: export SLURM_CONF=DIR/slurm.conf, then sbatch/srun/scontrol/sinfo as usual.
# Needs root (slurmd starts job steps as the submitting user) and Debian's slurm-wlm + munge:
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
# ENVKIT_SLURM_HEALTHCHECK=PROGRAM (when DIR has no slurm.conf yet) makes slurmd run PROGRAM as
# its HealthCheckProgram at start and every ENVKIT_SLURM_HEALTHCHECK_INTERVAL (300) seconds.
# Ports: ENVKIT_SLURM_PORT (default 16817) for slurmctld and the next one for slurmd, so that a
# real Slurm on the machine is not disturbed. Every wait is bounded (ENVKIT_SLURM_WAIT_S, 30 s).
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
action=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
port=${ENVKIT_SLURM_PORT:-16817}
wait_s=${ENVKIT_SLURM_WAIT_S:-30}
node=$(hostname -s)
export SLURM_CONF=$dir/slurm.conf

die() {
  echo "slurm_test_cluster: $*" >&2
  exit 1
}

alive() { # pid file -> 0 when its process runs
  [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

wait_for() { # description, command...: retry the command for up to $wait_s seconds
  local what=$1 deadline=$((SECONDS + wait_s))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
  echo "slurm_test_cluster: $what" >&2
}

need_tools() {
  local tool missing=()
  for tool in munged munge unmunge slurmctld slurmd sbatch srun scontrol sinfo; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}: apt-get install -y slurmctld slurmd slurm-client munge"
  [[ $(id -u) -eq 0 ]] || die "must run as root (slurmd starts job steps as the submitting user)"
}

write_munge_key() {
  mkdir -p "$dir/munge"
  chmod 0700 "$dir/munge"
  if [[ ! -s $dir/munge/munge.key ]]; then
    head -c 1024 /dev/urandom >"$dir/munge/munge.key"
  fi
  chmod 0600 "$dir/munge/munge.key"
}

start_munge() {
  alive "$dir/munge/munged.pid" && return 0
  write_munge_key
  rm -f "$dir/munge/munge.socket" "$dir/munge/munge.socket.lock"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed" ||
    die "munged did not start; see $dir/munge/munged.log"
  wait_for "munge is up" bash -c "munge -n -S '$dir/munge/munge.socket' | unmunge -S '$dir/munge/munge.socket'" ||
    die "munge does not answer on $dir/munge/munge.socket; see $dir/munge/munged.log"
}

health_check_lines() { # with ENVKIT_SLURM_HEALTHCHECK=PROGRAM, slurmd runs it as on a real node
  [[ -n ${ENVKIT_SLURM_HEALTHCHECK:-} ]] || return 0
  echo "HealthCheckProgram=$ENVKIT_SLURM_HEALTHCHECK"
  echo "HealthCheckInterval=${ENVKIT_SLURM_HEALTHCHECK_INTERVAL:-300}"
  echo "HealthCheckNodeState=ANY"
}

write_slurm_conf() {
  mkdir -p "$dir/state" "$dir/spool" "$dir/log"
  local cpus
  cpus=$(nproc)
  cat >"$dir/slurm.conf" <<EOF
# Written by scripts/slurm_test_cluster.sh: a one-node test cluster on loopback.
ClusterName=envkit-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
$(health_check_lines)
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=60 State=UP
EOF
}

node_ready() {
  local state
  state=$(sinfo -h -n "$node" -o %t 2>/dev/null) || return 1
  # a drained node answers too: a health check may drain it as soon as slurmd starts
  [[ $state =~ ^(idle|mix|alloc|drain|drng)$ ]]
}

start() {
  need_tools
  start_munge
  [[ -s $dir/slurm.conf ]] || write_slurm_conf
  if ! alive "$dir/slurmctld.pid"; then
    slurmctld -c -f "$dir/slurm.conf" || die "slurmctld did not start; see $dir/log/slurmctld.log"
    wait_for "slurmctld is up" scontrol ping ||
      die "slurmctld does not answer on port $port; see $dir/log/slurmctld.log"
  fi
  if ! alive "$dir/slurmd.pid"; then
    slurmd -N "$node" -f "$dir/slurm.conf" || die "slurmd did not start; see $dir/log/slurmd.log"
  fi
  wait_for "node $node is ready" node_ready ||
    die "node $node is not ready: $(sinfo -h -N -o '%N %t %E' 2>&1); see $dir/log/slurmd.log"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

stop() { # TERM to every daemon at once, then wait for each (a daemon takes ~2 s to exit)
  local file pid pids=() deadline=$((SECONDS + wait_s))
  for file in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if alive "$file"; then
      pid=$(cat "$file")
      kill "$pid" && pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        echo "slurm_test_cluster: $pid did not stop; killing it" >&2
        kill -9 "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
  done
  echo "slurm_test_cluster: stopped" >&2
}

status() {
  local name file code=0
  for name in munged slurmctld slurmd; do
    file=$dir/$name.pid
    [[ $name == munged ]] && file=$dir/munge/munged.pid
    if alive "$file"; then echo "$name running ($(cat "$file"))"; else echo "$name stopped" && code=3; fi
  done
  return $code
}

case $action in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
