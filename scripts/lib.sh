# shellcheck shell=bash
# Helpers shared by the scripts in scripts/. Source it; it only defines functions and IM_ROOT.
# Functions report failure by return code (never `exit`), so a caller can clean up; callers run
# with `set -euo pipefail`. Names starting with im__ are used only inside this file.
#
# A "state DIR" holds one local stack:
#   DIR/pg/{data,sock,postgres.log}   Postgres, owned by the postgres user when we run as root
#   DIR/redis/{redis.pid,redis.log}   Redis (and its RDB/AOF files when persistent)
#   DIR/pg.port DIR/pg.fast           port and fast mode of the last Postgres start
#   DIR/redis.port DIR/redis.mode     port and mode (ephemeral|persist) of the last Redis start
#   DIR/stack.env                     the stack file, while the stack runs (see im_write_stack_env)
# Keeping ports and modes in files lets stack.sh restart a server exactly as it was started.

IM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

IM_APT_PACKAGES=(
  cmake g++ ninja-build ccache pkg-config clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libpqxx-dev libhiredis-dev prometheus-cpp-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql redis-server curl
  # Message extensions are JSON objects merged with RFC 7386 Merge Patch, which nlohmann::json
  # implements (header-only; Boost 1.74 has no Boost.JSON).
  nlohmann-json3-dev
  # The servers link jemalloc: cheaper than glibc malloc for their many small per-frame and
  # per-RPC allocations across threads (see CMakeLists.txt).
  libjemalloc-dev
  # tests/deploy renders the Helm chart with Go's text/template and sprig (helm's engine; no helm
  # package exists) and parses the result as YAML.
  golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev
)

im_log() { printf '[im] %s\n' "$*" >&2; }
im_die() {
  im_log "error: $*"
  return 1
}

# Runs a command as root, through sudo only when we are not root already (containers have no sudo).
im__as_root() {
  if ((EUID == 0)); then
    "$@"
  else
    sudo "$@"
  fi
}

# ---------------------------------------------------------------------------------------------------
# Dependencies and build

im_install_deps() {
  if [[ "${IM_SKIP_DEPS:-0}" == 1 ]]; then return 0; fi
  if ! command -v dpkg-query >/dev/null; then
    im_log "no dpkg-query: not a Debian system, assuming the build dependencies are installed"
    return 0
  fi
  local pkg missing=()
  for pkg in "${IM_APT_PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then return 0; fi
  im_log "installing missing packages: ${missing[*]}"
  # `env` rather than an exported variable, because sudo drops the caller's environment.
  im__as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
  im__as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
}

im_build_dir() { printf '%s\n' "${IM_BUILD_DIR:-$IM_ROOT/build}"; }

im_build() {
  if [[ "${IM_SKIP_BUILD:-0}" == 1 ]]; then return 0; fi
  local build_dir extra=() args=()
  build_dir="$(im_build_dir)"
  read -ra extra <<<"${IM_CMAKE_ARGS:-}"
  if command -v ccache >/dev/null; then args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  # CMake refuses to switch generators in an existing build folder; a stale cache from an IDE or a
  # Makefile build would otherwise stop every script here.
  if [[ -f "$build_dir/CMakeCache.txt" ]] &&
    ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$build_dir/CMakeCache.txt"; then
    im_log "$build_dir was configured with another generator; configuring it afresh"
    rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
  fi
  cmake -S "$IM_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${IM_BUILD_TYPE:-Release}" \
    "${args[@]}" "${extra[@]}" || return 1
  cmake --build "$build_dir" -j "${IM_JOBS:-2}" || return 1
}

# ---------------------------------------------------------------------------------------------------
# Ports and waiting

# True when something listens on PORT (any local address, since that also blocks 127.0.0.1).
im_port_busy() {
  local port=$1
  if command -v ss >/dev/null; then
    [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
  else
    # Minimal images lack iproute2; a loopback connect is refused at once when nothing listens.
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Prints a port in 20000-60000 that nothing listens on and that is not in IM_RESERVED_PORTS (a
# space-separated list, for callers that pick several ports before starting anything).
im_free_port() {
  local lo=32768 hi=60999 port try
  # Ports the kernel hands to outgoing connections (and to bind(0), which the tests use) can be
  # taken at any moment, so avoid that range while other ports remain.
  if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
  fi
  for ((try = 0; try < 400; try++)); do
    port=$((((RANDOM << 15) | RANDOM) % 40001 + 20000))
    if ((try < 200 && port >= lo && port <= hi)); then continue; fi
    if [[ " ${IM_RESERVED_PORTS:-} " == *" $port "* ]]; then continue; fi
    if ! im_port_busy "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  im_die "no free TCP port found"
}

# Prints PREFERRED when it is free and not reserved, otherwise a free port (saying so).
im_port_or_free() {
  local preferred=$1
  if [[ -n "$preferred" && " ${IM_RESERVED_PORTS:-} " != *" $preferred "* ]] &&
    ! im_port_busy "$preferred"; then
    printf '%s\n' "$preferred"
    return 0
  fi
  local port
  port="$(im_free_port)" || return 1
  im_log "port $preferred is taken, using $port"
  printf '%s\n' "$port"
}

# im_wait SECONDS WHAT COMMAND...: polls COMMAND every 0.1s until it succeeds.
im_wait() {
  local seconds=$1 what=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  im_die "timed out after ${seconds}s waiting for $what"
}

im__port_free() { ! im_port_busy "$1"; }

im_tail_log() {
  if [[ -f "$1" ]]; then
    im_log "last lines of $1:"
    tail -n "${2:-30}" "$1" >&2
  fi
}

# ---------------------------------------------------------------------------------------------------
# Postgres. initdb and postgres refuse to run as root, so as root they run as the postgres user.

im_pg_bindir() {
  local dirs=(/usr/lib/postgresql/*/bin)
  if [[ -d "${dirs[0]}" ]]; then
    printf '%s\n' "${dirs[@]}" | sort -V | tail -n 1
  elif command -v pg_config >/dev/null; then
    pg_config --bindir
  else
    im_die "no PostgreSQL server binaries found (install the postgresql package)"
  fi
}

im_pg_dsn() { printf 'postgresql://postgres@127.0.0.1:%s/%s\n' "$1" "$2"; }

# im__pg_as_owner PGDIR COMMAND...: runs a PostgreSQL binary as the data owner, from PGDIR, so the
# binaries do not complain about an unreadable working directory.
im__pg_as_owner() {
  local pgdir=$1 bin
  shift
  bin="$(im_pg_bindir)" || return 1
  local cmd=("$bin/$1")
  shift
  if ((EUID == 0)); then
    (cd "$pgdir" && runuser -u postgres -- "${cmd[@]}" "$@")
  else
    (cd "$pgdir" && "${cmd[@]}" "$@")
  fi
}

# The postgres user must traverse every ancestor of its data folder; a checkout under /root (0700)
# is the usual case. Adding o+x (search only, not read) on just the folders that need it is the
# smallest change that works.
im__pg_make_traversable() {
  local target=$1 path="" part parts
  IFS=/ read -ra parts <<<"${target#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    if ! runuser -u postgres -- test -x "$path"; then
      im_log "chmod o+x $path (so the postgres user can reach its data folder)"
      chmod o+x "$path" || return 1
    fi
  done
}

# im_pg_init DIR: creates a cluster in DIR/pg/data unless one is there (trust auth, user postgres).
im_pg_init() {
  local dir=$1 pgdir="$1/pg"
  # The marker is written only after initdb succeeded, so a half-made cluster is made again.
  if [[ -f "$pgdir/initialized" ]]; then return 0; fi
  mkdir -p "$pgdir" || return 1
  dir="$(cd "$dir" && pwd)"
  pgdir="$dir/pg"
  if ((EUID == 0)); then
    im__pg_make_traversable "$pgdir" || return 1
    chown -R postgres: "$pgdir" || return 1
  fi
  rm -rf "$pgdir/data"
  local sync=()
  if [[ "${IM_PG_FAST:-0}" == 1 ]]; then sync=(--no-sync); fi
  if ! im__pg_as_owner "$pgdir" initdb -D "$pgdir/data" --auth=trust -U postgres -E UTF8 \
    --locale=C "${sync[@]}" >"$pgdir/initdb.log" 2>&1; then
    im_tail_log "$pgdir/initdb.log"
    im_die "initdb failed"
    return 1
  fi
  touch "$pgdir/initialized"
}

im__pg_running() {
  local dir
  dir="$(cd "$1" 2>/dev/null && pwd)" || return 1
  [[ -d "$dir/pg/data" ]] && im__pg_as_owner "$dir/pg" pg_ctl status -D "$dir/pg/data" >/dev/null 2>&1
}

# im_pg_start DIR [PORT]: starts the cluster on 127.0.0.1:PORT (default: the port of the last
# start) and waits until it accepts connections. IM_PG_FAST=1 trades crash safety for speed
# (tests); the choice is remembered for restarts through stack.sh.
im_pg_start() {
  local dir pgdir port fast
  dir="$(cd "$1" && pwd)" || return 1
  pgdir="$dir/pg"
  port="${2:-$(cat "$dir/pg.port" 2>/dev/null)}"
  [[ -n "$port" ]] || im_die "no Postgres port given or recorded in $dir/pg.port" || return 1
  fast="${IM_PG_FAST:-$(cat "$dir/pg.fast" 2>/dev/null || echo 0)}"
  local bin i
  bin="$(im_pg_bindir)" || return 1
  # pg_ctl calls a server "running" while it recovers, and also just after a crash while its
  # unreaped zombie keeps the pid alive; give either a moment to settle into ready or gone.
  for ((i = 0; i < 100; i++)); do
    if ! im__pg_running "$dir"; then break; fi
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then return 0; fi
    sleep 0.1
  done
  printf '%s\n' "$port" >"$dir/pg.port"
  printf '%s\n' "$fast" >"$dir/pg.fast"

  local opts="-c listen_addresses=127.0.0.1 -p $port -c max_connections=200"
  # A Unix socket path is limited to ~107 bytes; deep checkouts get TCP only, which is all we use.
  if ((${#pgdir} + 25 < 100)); then
    mkdir -p "$pgdir/sock"
    if ((EUID == 0)); then chown postgres: "$pgdir/sock"; fi
    opts+=" -k '$pgdir/sock'"
  else
    opts+=" -k ''"
  fi
  # Settings for a write-heavy server: the message rows arrive as a steady stream. With the stock
  # max_wal_size (1GB) a checkpoint started every minute or two at 10k messages/s, and the full
  # page images written after each start made the sends of the following seconds wait; shared
  # buffers hold the hot index pages; lz4 makes the page images a fraction of their size.
  # A checkpoint keeps up to min_wal_size of finished WAL segments for reuse instead of deleting
  # them: a segment that has to be created is zero-filled (16 MB written and fsynced) by the
  # committing backend while every other commit waits, which at 10k messages/s happened every
  # 1.7 s and was most of the commits over 25 ms.
  opts+=" -c shared_buffers=1GB -c max_wal_size=8GB -c min_wal_size=4GB"
  opts+=" -c checkpoint_timeout=15min -c wal_compression=lz4"
  if [[ "$fast" == 1 ]]; then
    # Test data is thrown away, so losing it in a machine crash costs nothing.
    opts+=" -c fsync=off -c full_page_writes=off"
  fi
  if ! im__pg_as_owner "$pgdir" pg_ctl start -w -t 60 -D "$pgdir/data" -l "$pgdir/postgres.log" \
    -o "$opts" >/dev/null 2>&1; then
    im_tail_log "$pgdir/postgres.log"
    im_die "Postgres did not start on port $port"
    return 1
  fi
  im_wait 30 "Postgres on port $port" "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres
}

# im_pg_stop DIR: fast shutdown (clients are disconnected); does nothing when it is not running.
im_pg_stop() {
  local dir port
  if ! im__pg_running "$1"; then return 0; fi
  dir="$(cd "$1" && pwd)" || return 1
  port="$(cat "$dir/pg.port" 2>/dev/null || true)"
  if ! im__pg_as_owner "$dir/pg" pg_ctl stop -w -t 60 -m fast -D "$dir/pg/data" >/dev/null 2>&1; then
    im_tail_log "$dir/pg/postgres.log"
    im_die "Postgres did not stop"
    return 1
  fi
  if [[ -n "$port" ]]; then im_wait 10 "Postgres port $port to close" im__port_free "$port"; fi
}

# im_pg_createdb PORT NAME: creates the database unless it exists.
im_pg_createdb() {
  local port=$1 name=$2 bin exists
  bin="$(im_pg_bindir)" || return 1
  # Fed on stdin because psql interpolates :'name' (quoted safely) only there, not in -c.
  exists="$("$bin/psql" -X -q -t -A -h 127.0.0.1 -p "$port" -U postgres -d postgres -v name="$name" \
    <<<"SELECT 1 FROM pg_database WHERE datname = :'name'")" || return 1
  if [[ "$exists" != 1 ]]; then
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name" || return 1
  fi
}

# ---------------------------------------------------------------------------------------------------
# Redis

im__redis_pid() {
  local pid
  pid="$(cat "$1/redis/redis.pid" 2>/dev/null)" || return 1
  # The pid file can outlive the server (SIGKILL, reboot) and the number be reused.
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || return 1
  im__pid_alive "$pid" || return 1
  printf '%s\n' "$pid"
}

im__redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" == PONG ]]; }

# im_redis_start DIR [PORT [MODE]]: starts Redis on 127.0.0.1:PORT and waits for PING. MODE is
# "ephemeral" (tests: no RDB/AOF, a restart loses everything, which is what the recovery tests
# want) or "persist" (run.sh: AOF, fsync every second, without the periodic RDB snapshots: the AOF
# already restores everything, and each snapshot forks a child that serializes the whole dataset,
# a second of CPU taken from the services every minute under load). Both default to the last
# start's.
im_redis_start() {
  local dir rdir port mode
  dir="$(cd "$1" && pwd)" || return 1
  rdir="$dir/redis"
  port="${2:-$(cat "$dir/redis.port" 2>/dev/null)}"
  [[ -n "$port" ]] || im_die "no Redis port given or recorded in $dir/redis.port" || return 1
  mode="${3:-$(cat "$dir/redis.mode" 2>/dev/null || echo ephemeral)}"
  if im__redis_pid "$dir" >/dev/null && im__redis_ping "$port"; then return 0; fi
  mkdir -p "$rdir" || return 1
  printf '%s\n' "$port" >"$dir/redis.port"
  printf '%s\n' "$mode" >"$dir/redis.mode"
  local args=(--bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$rdir/redis.pid"
    --logfile "$rdir/redis.log" --dir "$rdir")
  case "$mode" in
    ephemeral) args+=(--save "" --appendonly no) ;;
    # A rewrite writes the whole dataset and fsyncs it, and Postgres' commits wait behind it on a
    # shared disk (a BGREWRITEAOF during a 10k msg/s run made that second's send->receive p99
    # 86 ms against 16-19 around it). The default 64mb rewrote the bench's 52 MB dataset every
    # ~3 minutes at 10k msg/s (0.27 MB/s of HINCRBY); 1gb makes it about hourly, at the price of
    # replaying up to ~2 GB (seconds) when Redis restarts.
    persist) args+=(--save "" --appendonly yes --auto-aof-rewrite-min-size 1gb) ;;
    *) im_die "unknown Redis mode '$mode' (ephemeral or persist)" || return 1 ;;
  esac
  if ! redis-server "${args[@]}" >/dev/null; then
    im_tail_log "$rdir/redis.log"
    im_die "redis-server failed to start"
    return 1
  fi
  if ! im_wait 30 "Redis on port $port" im__redis_ping "$port"; then
    im_tail_log "$rdir/redis.log"
    return 1
  fi
}

# im_redis_stop DIR: shuts Redis down and waits until the process is gone and the port closed.
# Ephemeral servers skip the final save; persistent ones save, so run.sh keeps its data.
im_redis_stop() {
  local dir=$1 port mode pid i
  port="$(cat "$dir/redis.port" 2>/dev/null || true)"
  mode="$(cat "$dir/redis.mode" 2>/dev/null || echo ephemeral)"
  pid="$(im__redis_pid "$dir" || true)"
  if [[ -z "$pid" ]]; then return 0; fi
  local how=nosave
  if [[ "$mode" == persist ]]; then how=save; fi
  if [[ -n "$port" ]]; then redis-cli -h 127.0.0.1 -p "$port" shutdown "$how" >/dev/null 2>&1 || true; fi
  for ((i = 0; i < 100; i++)); do
    im__pid_alive "$pid" || break
    # Still alive after 5s (a long save, or the recorded port was wrong): ask by signal instead.
    if ((i == 50)); then kill -TERM "$pid" 2>/dev/null || true; fi
    sleep 0.1
  done
  if im__pid_alive "$pid"; then
    im_log "Redis (pid $pid) ignored shutdown; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    im_wait 5 "Redis pid $pid to exit" im__pid_gone "$pid" || return 1
  fi
  if [[ -n "$port" ]]; then im_wait 10 "Redis port $port to close" im__port_free "$port"; fi
}

# A daemon that exited stays a zombie until init reaps it, which some container inits do only once a
# second; a zombie holds no port or file, so it counts as gone.
im__pid_alive() {
  kill -0 "$1" 2>/dev/null && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status" 2>/dev/null
}
im__pid_gone() { ! im__pid_alive "$1"; }

# im_redis_flush DIR: FLUSHALL on the stack's Redis.
im_redis_flush() {
  local port
  port="$(cat "$1/redis.port" 2>/dev/null)" || im_die "no Redis port in $1/redis.port" || return 1
  [[ "$(redis-cli -h 127.0.0.1 -p "$port" flushall 2>&1)" == OK ]] ||
    im_die "FLUSHALL on port $port failed"
}

# ---------------------------------------------------------------------------------------------------
# The stack file
#
# DIR/stack.env tells other programs where the stack in DIR runs: shell-sourceable KEY=value lines
# (values hold no spaces or quotes), read by scripts/bench.sh, im_load and the benchmarks
# (tools/bench/stack_env.h). Its owner writes it once the stack is up and removes it when it stops:
#   STACK_PID           the script that runs the stack (scripts/run.sh: TERM stops everything)
#   HOST                the address everything listens on
#   POSTGRES_DSN POSTGRES_PORT POSTGRES_PID    POSTGRES_PID is the postmaster's
#   REDIS_ADDR REDIS_PORT REDIS_PID
# and, from scripts/run.sh, WS_PORT (the gateway's WebSocket) and for each service NAME (sequence,
# gateway, message, conversation, extension) NAME_GRPC_PORT, NAME_METRICS_PORT and NAME_PID, in
# upper case (GATEWAY_GRPC_PORT).

# im_stores_env DIR DB: prints the stack file's lines for the running Postgres (database DB) and
# Redis of DIR.
im_stores_env() {
  local dir=$1 db=$2 port pid
  port="$(cat "$dir/pg.port")" || return 1
  pid="$(head -n 1 "$dir/pg/data/postmaster.pid")" || return 1
  printf 'HOST=127.0.0.1\nPOSTGRES_DSN=%s\nPOSTGRES_PORT=%s\nPOSTGRES_PID=%s\n' \
    "$(im_pg_dsn "$port" "$db")" "$port" "$pid"
  port="$(cat "$dir/redis.port")" || return 1
  pid="$(im__redis_pid "$dir")" || im_die "Redis of $dir is not running" || return 1
  printf 'REDIS_ADDR=127.0.0.1:%s\nREDIS_PORT=%s\nREDIS_PID=%s\n' "$port" "$port" "$pid"
}

# im_write_stack_env DIR: writes stdin, with a first line naming the caller as STACK_PID, as
# DIR/stack.env, through a temporary file so that a reader sees the whole file or none of it.
im_write_stack_env() {
  local dir=$1
  {
    printf '# The stack in %s, written by %s; removed when it stops.\n' "$dir" "${0##*/}"
    printf 'STACK_PID=%s\n' "$$"
    cat
  } >"$dir/stack.env.tmp" || return 1
  mv -f "$dir/stack.env.tmp" "$dir/stack.env"
}

# im_refresh_stack_env DIR: after a stop or start of Postgres or Redis (scripts/stack.sh), writes
# their current pids (empty when stopped) into DIR/stack.env, when there is one.
im_refresh_stack_env() {
  local dir=$1 file="$1/stack.env" pg_pid redis_pid
  [[ -f "$file" ]] || return 0
  pg_pid="$(head -n 1 "$dir/pg/data/postmaster.pid" 2>/dev/null || true)"
  redis_pid="$(im__redis_pid "$dir" || true)"
  sed -e "s/^POSTGRES_PID=.*/POSTGRES_PID=$pg_pid/" -e "s/^REDIS_PID=.*/REDIS_PID=$redis_pid/" \
    "$file" >"$file.tmp" || return 1
  mv -f "$file.tmp" "$file"
}

# im_stack_stop DIR: stops whatever of the stack in DIR is running; safe to call at any time.
im_stack_stop() {
  local rc=0
  rm -f "$1/stack.env"
  im_redis_stop "$1" || rc=1
  im_pg_stop "$1" || rc=1
  return "$rc"
}
