#!/usr/bin/env bash
# Builds everything and runs every ctest label against a fresh, private Postgres and Redis in
# .local/test (its stack file .local/test/stack.env names them while the tests run), so a run never
# depends on (or damages) servers or data from before. Exits with ctest's status.
#
#   scripts/test.sh [CTEST_ARGS...]       e.g. scripts/test.sh -L unit, scripts/test.sh -R sequencer
#
# Environment: IM_BUILD_TYPE (Release), IM_JOBS (2, build and ctest), IM_CTEST_ARGS, IM_CMAKE_ARGS,
# IM_BUILD_DIR, IM_SKIP_DEPS=1, IM_SKIP_BUILD=1, CI=true (prints tool versions and server logs).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

state="$IM_ROOT/.local/test"
build_dir="$(im_build_dir)"
ci="${CI:-false}"

print_versions() {
  local bin
  bin="$(im_pg_bindir 2>/dev/null || true)"
  {
    uname -srm
    head -n 1 /etc/os-release 2>/dev/null || true
    echo "cores: $(nproc)"
    cmake --version | head -n 1
    c++ --version | head -n 1
    ninja --version | sed 's/^/ninja /'
    if [[ -n "$bin" ]]; then "$bin/postgres" --version; fi
    redis-server --version
  } 2>&1 | sed 's/^/[im] /' >&2 || true
}

# shellcheck disable=SC2317  # reached through the EXIT trap, which shellcheck cannot see
cleanup() {
  local rc=$?
  trap '' INT TERM
  if [[ "$ci" == true && "$rc" != 0 ]]; then
    im_tail_log "$state/pg/postgres.log" 50
    im_tail_log "$state/redis/redis.log" 50
  fi
  im_stack_stop "$state" || true
  exit "$rc"
}

im_install_deps
if [[ "$ci" == true ]]; then print_versions; fi
im_build

# A run killed with SIGKILL leaves its servers up on the folder about to be wiped.
if [[ -d "$state" ]]; then im_stack_stop "$state" || true; fi
rm -rf "$state"
mkdir -p "$state"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

IM_PG_FAST=1 im_pg_init "$state"
pg_port="$(im_free_port)"
IM_PG_FAST=1 im_pg_start "$state" "$pg_port"
im_pg_createdb "$pg_port" im_test
redis_port="$(IM_RESERVED_PORTS="$pg_port" im_free_port)"
im_redis_start "$state" "$redis_port" ephemeral

im_stores_env "$state" im_test | im_write_stack_env "$state"

# The tests read the stores from the stack file in IM_TEST_STACK_DIR (tests/support/test_env.h).
IM_TEST_STACK_DIR="$state"
# Tests run this through system(), i.e. /bin/sh; %q keeps paths with spaces in one word.
printf -v IM_TEST_STACK '%q %q' "$IM_ROOT/scripts/stack.sh" "$state"
export IM_TEST_STACK_DIR IM_TEST_STACK
im_log "Postgres $(im_pg_dsn "$pg_port" im_test), Redis 127.0.0.1:$redis_port"

read -ra extra <<<"${IM_CTEST_ARGS:-}"
rc=0
# --no-tests=error: a label or regex that matches nothing is a mistake, not a pass.
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "${IM_JOBS:-2}" \
  "${extra[@]}" "$@" || rc=$?
exit "$rc"
