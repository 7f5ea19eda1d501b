#!/usr/bin/env bash
# Runs the whole suite on this machine: builds, starts a Postgres and Redis whose data is kept in
# .local/run between runs, migrates and starts the five services, writes where they listen to the
# stack file .local/run/stack.env (for programs: scripts/bench.sh, im_load, the benchmarks;
# scripts/lib.sh lists its keys), prints the same for people, and on Ctrl-C (or SIGTERM) stops
# everything it started.
#
#   scripts/run.sh
#
# Environment: IM_PORT_BASE (first gRPC port, 7001), IM_METRICS_PORT_BASE (9101), IM_WS_PORT (8080),
# IM_START_TIMEOUT (seconds per service, 30), IM_BUILD_TYPE, IM_JOBS, IM_SKIP_DEPS=1, IM_SKIP_BUILD=1.
# Taken ports fall back to free ones; Postgres and Redis keep the ports chosen on the first run
# (55432 and 56379 when free) unless those are taken later.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state="$IM_ROOT/.local/run"
logs="$state/logs"
build_dir="$(im_build_dir)"
# Start order: the message service calls sequence and gateway, so they come up first.
services=(sequence gateway message conversation extension)
declare -A grpc_port metrics_port pid

mkdir -p "$logs"
# Two run.sh on one data folder would fight over the same Postgres and Redis.
exec 9>"$state/run.lock"
flock -n 9 || im_die "another scripts/run.sh is running on $state" || exit 1

stop_services() {
  local i svc alive
  for ((i = ${#services[@]} - 1; i >= 0; i--)); do
    svc=${services[i]}
    if [[ -n "${pid[$svc]:-}" ]]; then kill -TERM "${pid[$svc]}" 2>/dev/null || true; fi
  done
  # One 10s budget for all: they drain in parallel.
  for ((i = 0; i < 100; i++)); do
    alive=0
    for svc in "${!pid[@]}"; do
      if kill -0 "${pid[$svc]}" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for svc in "${!pid[@]}"; do
    if kill -0 "${pid[$svc]}" 2>/dev/null; then
      im_log "$svc did not stop within 10s; killing it"
      kill -KILL "${pid[$svc]}" 2>/dev/null || true
    fi
    wait "${pid[$svc]}" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  # A second Ctrl-C must not leave servers half stopped.
  trap '' INT TERM
  # First, so that no program takes the stack for running while it stops.
  rm -f "$state/stack.env"
  im_log "stopping services, Redis and Postgres"
  stop_services
  im_stack_stop "$state" || rc=1
  exit "$rc"
}

# Prints the port remembered in FILE when it is free, else DEFAULT when free, else a free one.
remembered_port() {
  local file=$1 default=$2 port
  port="$(cat "$file" 2>/dev/null || true)"
  im_port_or_free "${port:-$default}"
}

im_install_deps
im_build

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# We hold the lock, so servers still up on this folder are orphans of a run.sh killed with SIGKILL.
im_stack_stop "$state"
im_pg_init "$state"
pg_port="$(remembered_port "$state/pg.port" 55432)"
im_pg_start "$state" "$pg_port"
im_pg_createdb "$pg_port" im
redis_port="$(IM_RESERVED_PORTS="$pg_port" remembered_port "$state/redis.port" 56379)"
im_redis_start "$state" "$redis_port" persist

dsn="$(im_pg_dsn "$pg_port" im)"
redis_addr="127.0.0.1:$redis_port"

# All ports are chosen before any service starts, so each one can be told where the others are.
IM_RESERVED_PORTS="$pg_port $redis_port"
grpc_base="${IM_PORT_BASE:-7001}"
metrics_base="${IM_METRICS_PORT_BASE:-9101}"
for i in "${!services[@]}"; do
  svc=${services[i]}
  grpc_port[$svc]="$(im_port_or_free $((grpc_base + i)))"
  IM_RESERVED_PORTS+=" ${grpc_port[$svc]}"
  metrics_port[$svc]="$(im_port_or_free $((metrics_base + i)))"
  IM_RESERVED_PORTS+=" ${metrics_port[$svc]}"
done
ws_port="$(im_port_or_free "${IM_WS_PORT:-8080}")"

# Every service gets the stores and the address of every service (IM_SEQUENCE_ADDR, ...); a binary
# reads only the IM_ variables that match its own flags.
common_env=(IM_POSTGRES_DSN="$dsn" IM_REDIS_ADDR="$redis_addr" IM_LISTEN_HOST=127.0.0.1)
for svc in "${services[@]}"; do
  common_env+=("IM_${svc^^}_ADDR=127.0.0.1:${grpc_port[$svc]}")
done

for svc in "${services[@]}"; do
  bin="$build_dir/services/$svc/$svc"
  log="$logs/$svc.log"
  [[ -x "$bin" ]] || im_die "$bin is missing; did the build succeed?" || exit 1
  # Keep the previous run's log: it is what one reads after a crash.
  if [[ -f "$log" ]]; then mv -f "$log" "$log.prev"; fi

  if ! env "${common_env[@]}" "$bin" --migrate_only >>"$log" 2>&1; then
    im_tail_log "$log"
    im_die "$svc: migrations failed"
    exit 1
  fi

  svc_env=("${common_env[@]}" IM_GRPC_PORT="${grpc_port[$svc]}"
    IM_METRICS_PORT="${metrics_port[$svc]}")
  if [[ "$svc" == gateway ]]; then svc_env+=(IM_WS_PORT="$ws_port"); fi
  env "${svc_env[@]}" "$bin" >>"$log" 2>&1 &
  pid[$svc]=$!

  for ((t = 0; t < ${IM_START_TIMEOUT:-30} * 10; t++)); do
    if im_port_busy "${grpc_port[$svc]}"; then break; fi
    if ! kill -0 "${pid[$svc]}" 2>/dev/null; then
      im_tail_log "$log"
      im_die "$svc exited at start-up"
      exit 1
    fi
    sleep 0.1
  done
  if ! im_port_busy "${grpc_port[$svc]}"; then
    im_tail_log "$log"
    im_die "$svc is not listening on gRPC port ${grpc_port[$svc]} after ${IM_START_TIMEOUT:-30}s"
    exit 1
  fi
done

{
  im_stores_env "$state" im
  printf 'WS_PORT=%s\n' "$ws_port"
  for svc in "${services[@]}"; do
    printf '%s_GRPC_PORT=%s\n%s_METRICS_PORT=%s\n%s_PID=%s\n' "${svc^^}" "${grpc_port[$svc]}" \
      "${svc^^}" "${metrics_port[$svc]}" "${svc^^}" "${pid[$svc]}"
  done
} | im_write_stack_env "$state"

{
  printf '\n%-13s %-21s %-38s %s\n' SERVICE GRPC METRICS LOG
  for svc in "${services[@]}"; do
    printf '%-13s %-21s %-38s %s\n' "$svc" "127.0.0.1:${grpc_port[$svc]}" \
      "http://127.0.0.1:${metrics_port[$svc]}/metrics" "$logs/$svc.log"
  done
  printf '\nWebSocket  ws://127.0.0.1:%s/ws\n' "$ws_port"
  printf 'Postgres   %s\n' "$dsn"
  printf 'Redis      %s\n' "$redis_addr"
  printf 'Stack file %s\n' "$state/stack.env"
  printf '\nRunning; Ctrl-C stops everything.\n'
}

# Wakes when a service exits (or a signal arrives, whose trap exits): one service gone means the
# suite is broken, so say which and stop the rest rather than limp on.
while true; do
  wait -n || true
  for svc in "${services[@]}"; do
    if ! kill -0 "${pid[$svc]}" 2>/dev/null; then
      rc=0
      wait "${pid[$svc]}" 2>/dev/null || rc=$?
      im_tail_log "$logs/$svc.log"
      im_die "$svc exited (status $rc); stopping the rest"
      exit 1
    fi
  done
done
