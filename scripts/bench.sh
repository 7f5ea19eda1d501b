#!/usr/bin/env bash
# The benchmark: starts the local stack with scripts/run.sh (rate limits lifted) and takes its
# addresses from run.sh's stack file, measures the storage ceilings on this machine (Postgres
# message-row inserts with pgbench, Redis INCR with redis-benchmark), warms up, runs the standard
# load scenarios with build/tools/bench/im_load and writes the report: OUT/report.md and
# OUT/report.json, next to each scenario's JSON and Markdown. Stops the stack at the end. About 10
# minutes with the defaults on a 2-core machine.
#
#   scripts/bench.sh            # standard sizes
#   scripts/bench.sh --quick    # small sizes and 5 s runs: checks that everything works (~2 min)
#
# Environment: IM_BENCH_OUT (folder, default .local/bench/<time>), IM_BENCH_SECONDS (60 per
# scenario), IM_BENCH_PAIRS (100), IM_BENCH_CHAT_RATE (10000), IM_BENCH_GROUPS (2),
# IM_BENCH_GROUP_SIZE (500), IM_BENCH_GROUP_RATE (600 msg/s = 299k deliveries/s offered at 500
# members, above what this machine delivers, so the scenario measures the ceiling),
# IM_BENCH_IDLE (50000, capped by the open-file limit), IM_BENCH_RECONNECT_RATE (2000),
# IM_BENCH_PG_SECONDS (20), IM_BENCH_SWEEP_RATES ("2000 5000": fixed 1:1 rates below chat_10k),
# IM_BENCH_SWEEP_SECONDS (20). IM_SKIP_DEPS / IM_SKIP_BUILD as for run.sh.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

quick=0
if [[ "${1:-}" == --quick ]]; then quick=1; fi
if ((quick)); then
  : "${IM_BENCH_SECONDS:=5}" "${IM_BENCH_PAIRS:=10}" "${IM_BENCH_CHAT_RATE:=1000}"
  : "${IM_BENCH_GROUPS:=1}" "${IM_BENCH_GROUP_SIZE:=50}" "${IM_BENCH_GROUP_RATE:=40}"
  : "${IM_BENCH_IDLE:=500}" "${IM_BENCH_RECONNECT_RATE:=500}" "${IM_BENCH_PG_SECONDS:=3}"
  : "${IM_BENCH_SWEEP_RATES:=200 500}" "${IM_BENCH_SWEEP_SECONDS:=5}"
fi
seconds="${IM_BENCH_SECONDS:-60}"
pairs="${IM_BENCH_PAIRS:-100}"
chat_rate="${IM_BENCH_CHAT_RATE:-10000}"
groups="${IM_BENCH_GROUPS:-2}"
group_size="${IM_BENCH_GROUP_SIZE:-500}"
group_rate="${IM_BENCH_GROUP_RATE:-600}"
idle="${IM_BENCH_IDLE:-50000}"
reconnect_rate="${IM_BENCH_RECONNECT_RATE:-2000}"
pg_seconds="${IM_BENCH_PG_SECONDS:-20}"
sweep_rates="${IM_BENCH_SWEEP_RATES:-2000 5000}"
sweep_seconds="${IM_BENCH_SWEEP_SECONDS:-20}"
pg_batch=256

out="${IM_BENCH_OUT:-$IM_ROOT/.local/bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
state="$IM_ROOT/.local/run"
build_dir="$(im_build_dir)"
load="$build_dir/tools/bench/im_load"

# The gateway holds one descriptor per connection, and inherits this limit through run.sh.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

run_pid=""
stop_stack() {
  if [[ -n "$run_pid" ]] && kill -0 "$run_pid" 2>/dev/null; then
    im_log "stopping the stack"
    kill -TERM "$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
}
trap stop_stack EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

im_log "starting the stack (scripts/run.sh, log $out/run.log)"
IM_RATE_LIMIT_PER_SEC=1000000 IM_RATE_LIMIT_BURST=1000000 "$IM_ROOT/scripts/run.sh" \
  >"$out/run.log" 2>&1 &
run_pid=$!
# run.sh installs and builds first when needed, so this may take a while on a fresh checkout. It
# writes the stack file once every service is up; one naming another STACK_PID was left by a
# run.sh that was killed.
for ((i = 0; i < 36000; i++)); do
  if grep -qsx "STACK_PID=$run_pid" "$state/stack.env"; then break; fi
  if ! kill -0 "$run_pid" 2>/dev/null; then
    im_tail_log "$out/run.log"
    im_die "scripts/run.sh exited before the stack was up"
    exit 1
  fi
  sleep 0.1
done
grep -qsx "STACK_PID=$run_pid" "$state/stack.env" ||
  { im_die "the stack did not come up within an hour" || exit 1; }
# shellcheck source=/dev/null  # written by scripts/run.sh; keys in scripts/lib.sh
source "$state/stack.env"
[[ -x "$load" ]] || { im_die "$load is missing (build target im_load)" || exit 1; }
im_log "stack up: ws $HOST:$WS_PORT, gateway $HOST:$GATEWAY_GRPC_PORT," \
  "message $HOST:$MESSAGE_GRPC_PORT, Postgres $POSTGRES_PORT, Redis $REDIS_PORT"

# ---- Storage ceilings, before any load so nothing else competes for the cores -----------------
pg_bin="$(im_pg_bindir)"
im_pg_createdb "$POSTGRES_PORT" im_bench_ceiling
PGOPTIONS="-c client_min_messages=warning" "$pg_bin/psql" -X -q -h "$HOST" -p "$POSTGRES_PORT" \
  -U postgres -d im_bench_ceiling \
  -f "$IM_ROOT/tools/bench/ceilings/pg_messages.sql" >/dev/null
im_log "Postgres ceiling: pgbench, INSERT of $pg_batch message rows per transaction, ${pg_seconds}s"
"$pg_bin/pgbench" -n -h "$HOST" -p "$POSTGRES_PORT" -U postgres -c 4 -j 2 -T "$pg_seconds" \
  -D batch="$pg_batch" -f "$IM_ROOT/tools/bench/ceilings/pg_insert_batch.sql" im_bench_ceiling \
  >"$out/pgbench.txt" 2>&1
pg_tps="$(awk -F'= ' '/^tps = / { split($2, a, " "); print a[1]; exit }' "$out/pgbench.txt")"
pg_rows="$(awk -v t="$pg_tps" -v b="$pg_batch" 'BEGIN { printf "%.0f", t * b }')"
"$pg_bin/dropdb" -h "$HOST" -p "$POSTGRES_PORT" -U postgres im_bench_ceiling
# The ceiling wrote gigabytes of WAL; a checkpoint now keeps those segments (up to min_wal_size)
# for the scenarios to write into, as on a server past its first checkpoint, instead of each
# scenario creating segments (see im_pg_start).
"$pg_bin/psql" -X -q -h "$HOST" -p "$POSTGRES_PORT" -U postgres -d im -c CHECKPOINT
wal_segments="$("$pg_bin/psql" -X -q -At -h "$HOST" -p "$POSTGRES_PORT" -U postgres -d im \
  -c "SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}\$'")"
pg_fast="$(cat "$state/pg.fast" 2>/dev/null || echo 0)"
pg_durability="fsync on, synchronous_commit on (as scripts/run.sh starts it)"
if [[ "$pg_fast" == 1 ]]; then pg_durability="fsync off (IM_PG_FAST=1)"; fi

im_log "Redis ceiling: redis-benchmark INCR"
redis_incr() {
  redis-benchmark -h "$HOST" -p "$REDIS_PORT" -t incr -n "$1" -c 50 -P "$2" --csv 2>/dev/null |
    awk -F'"' '$2 == "INCR" { printf "%.0f", $4 }'
}
redis_n=1000000
if ((quick)); then redis_n=100000; fi
redis_one="$(redis_incr "$redis_n" 1)"
redis_pipe="$(redis_incr $((redis_n * 4)) 16)"

im_log "Fan-out ceiling: loopback_fanout"
fanout_seconds=10
if ((quick)); then fanout_seconds=2; fi
fanout_line="$("$(dirname "$load")/loopback_fanout" --connections "$group_size" \
  --seconds "$fanout_seconds")"
fanout_rate="${fanout_line%% *}"

# ---- Load scenarios ---------------------------------------------------------------------------
# im_load takes the addresses and the processes to watch from the stack file.
common=(--stack_dir "$state" --io_threads 2)
results=()
run_scenario() {
  local name=$1
  shift
  # The previous scenario's inserts can make an autovacuum of message.messages due, which would
  # then run (minutes on a large table) under this scenario's load; vacuuming in between puts it
  # here, outside the measurement. The method section says so.
  "$pg_bin/vacuumdb" -q -z -h "$HOST" -p "$POSTGRES_PORT" -U postgres -d im
  # The vacuum dirties pages (hint bits, visibility map) that the kernel would write back 30 s
  # later, inside the measurement, in one burst that stalled a run's commits for half a second.
  sync
  im_log "scenario $name"
  local rc=0
  "$load" "${common[@]}" --name "$name" --out_json "$out/$name.json" --out_md "$out/$name.md" \
    "$@" >"$out/$name.out" || rc=$?
  # 3 = the run finished but its verification failed: that is a result, not a broken bench.
  if ((rc != 0 && rc != 3)); then
    im_log "scenario $name failed (status $rc); see $out/$name.out"
    return 0
  fi
  if [[ "$name" != warmup ]]; then results+=("$out/$name.json"); fi
}

run_scenario warmup --scenario chat --pairs "$pairs" --seconds 5 --drain_seconds 10
run_scenario chat_max --scenario chat --pairs "$pairs" --window 16 --seconds "$seconds"
run_scenario chat_10k --scenario chat --pairs "$pairs" --rate "$chat_rate" --seconds "$seconds"
for rate in $sweep_rates; do
  run_scenario "chat_sweep_$rate" --scenario chat --pairs "$pairs" --rate "$rate" \
    --seconds "$sweep_seconds"
done
run_scenario group_500 --scenario group --groups "$groups" --group_size "$group_size" \
  --online_share 1 --senders_per_group 4 --rate "$group_rate" --seconds "$seconds"
run_scenario idle --scenario idle --connections "$idle" --hold_seconds "$seconds" \
  --connect_concurrency 512
run_scenario reconnect --scenario reconnect --reconnect_workload chat --pairs "$pairs" \
  --rate "$reconnect_rate" --seconds "$seconds" --reconnect_share 0.3 --storms 3

# ---- Report -----------------------------------------------------------------------------------
# The kernel's dirty-page writeback thresholds, which decide how large its write bursts are.
im_bench_writeback() {
  local vm=/proc/sys/vm
  printf 'vm.dirty_background_bytes %s, dirty_background_ratio %s, dirty_expire_centisecs %s' \
    "$(cat $vm/dirty_background_bytes)" "$(cat $vm/dirty_background_ratio)" \
    "$(cat $vm/dirty_expire_centisecs)"
}
cat >"$out/method.md" <<EOF
- **Where**: everything on this one machine: Postgres and Redis started by \`scripts/run.sh\` in
  \`.local/run\` (Postgres $pg_durability; Redis with AOF, appendfsync everysec), the five
  services as run.sh starts them (defaults, only the gateway's rate limit lifted with
  IM_RATE_LIMIT_PER_SEC/BURST=1000000), and the load generator \`im_load\` (2 I/O threads,
  binary WebSocket frames, every push RECVACKed; the frames a connection writes while its
  thread has other handlers ready, e.g. the RECVACKs of pushes that arrived in one read, leave
  in one socket send) on the same cores.
- **Ceilings** first, with no other load: Postgres: \`pgbench -c 4 -j 2 -T $pg_seconds\`, each
  transaction one INSERT of $pg_batch rows into a table shaped like \`message.messages\` (same
  columns, primary key and two unique keys, 64-byte payloads; \`tools/bench/ceilings/\`); the
  service's statement also keeps channel and sender heads, so this is an upper bound. Redis:
  \`redis-benchmark -t incr -c 50\`, one command at a time and with 16 pipelined.
  Fan-out: \`loopback_fanout\` (one write per connection, as a group push is, and one ack
  read back per frame, as RECVACK is), with no WebSocket, protobuf or service work; the gateway
  and im_load put several frames in one send when they have them, so under saturation the
  suite can come near or pass it.
- **Warm-up**: a 5 s 1:1 run whose result is discarded (connections, pools, caches).
- **Between scenarios**: \`vacuumdb -z\` of the im database, so an autovacuum that the previous
  scenario's inserts made due (on a large message.messages it reads the table for minutes) does
  not run inside the next measurement. In production it does, every 20% of the table's rows
  inserted (autovacuum_vacuum_insert_scale_factor), and sends are slower meanwhile. Then
  \`sync\`, so the pages the vacuum dirtied reach the disk before the measurement.
- **Postgres and Redis settings**: as scripts/lib.sh starts them (shared_buffers 1GB,
  max_wal_size 8GB, checkpoint_timeout 15min, wal_compression lz4; Redis AOF without RDB
  snapshots, rewritten only from 1gb); a run seldom contains a checkpoint start, after which sends wait on the full-page
  writes for some seconds. A \`CHECKPOINT\` after the ceilings leaves $wal_segments WAL segments
  to reuse (min_wal_size 4GB), so the scenarios do not create segments.
- **Host writeback**: $(im_bench_writeback). The kernel writes
  dirty data-file pages (Postgres extending its tables and indexes) in bursts; a burst of 100+ MB
  makes the commits waiting on a WAL flush wait for it too.
- **Scenarios**, each ${seconds} s of sending, then up to 20 s to drain acks and deliveries;
  throughput counts only the sending window; latencies are from a log-linear histogram (3%
  buckets) of every message, send->receive measured on the receiving connection against the
  send time in the payload (one process, one clock):
  - chat_max: $pairs pairs ($((2 * pairs)) connections), both directions, 16 SENDs in flight per
    sender (closed loop).
  - chat_10k: the same pairs at a fixed $chat_rate msg/s in total.
  - chat_sweep_RATE: the same pairs at each of $sweep_rates msg/s, ${sweep_seconds} s each, to show
    up to which rate the latency target holds.
  - group_500: $groups groups of $group_size members, all online, 4 senders each, $group_rate msg/s
    in total.
  - idle: up to $idle connections (capped by the open-file limits), held ${seconds} s with PINGs;
    gateway RSS before connecting and after holding, per connection.
  - reconnect: $pairs pairs at $reconnect_rate msg/s; 3 times, 30% of the users are reset (TCP RST)
    and reconnect at once, catch up with SeqSnapshot + SyncChannelMessages from their last seq and
    resend unacked SENDs with the same client_msg_no.
- **Verification**: every scenario replays what each connection received into the verifier
  (\`tools/bench/load/delivery_verifier.h\`): each acked message must reach each online recipient
  exactly once and in seq order; the idle scenario checks that every connection stayed open.
- **CPU** is utime+stime from /proc/PID/stat over the sending window (100% = one core), RSS from
  /proc/PID/status; Postgres counts the postmaster and all its backends.
- Rerun: \`scripts/bench.sh\` (sizes via IM_BENCH_* variables, see the script's header).
EOF

report_inputs="$(
  IFS=,
  echo "${results[*]}"
)"
"$load" --report_from "$report_inputs" --out_json "$out/report.json" --out_md "$out/report.md" \
  --pg_insert_rows_per_sec "$pg_rows" \
  --pg_method "pgbench, $pg_batch-row INSERT per transaction, 4 clients, ${pg_seconds}s, $pg_durability; $pg_tps tps" \
  --redis_incr_per_sec "${redis_one:-0}" --redis_incr_pipelined_per_sec "${redis_pipe:-0}" \
  --redis_method "redis-benchmark -t incr -c 50, $redis_n requests; pipelined: -P 16" \
  --fanout_deliveries_per_sec "${fanout_rate:-0}" \
  --fanout_method "tools/bench/ceilings/loopback_fanout: one thread writes a frame to each of \
$group_size loopback TCP connections and reads an ack back from each, another reads the frames and \
writes the acks, ${fanout_seconds}s; $fanout_line" \
  --method_file "$out/method.md" --command "scripts/bench.sh${1:+ $1}" >/dev/null
im_log "report: $out/report.md"
cat "$out/report.md"
