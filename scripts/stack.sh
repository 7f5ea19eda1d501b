#!/usr/bin/env bash
# Stops and starts the servers of a local stack (made by test.sh or run.sh) while tests run, so a
# test can take Postgres or Redis away and bring it back. Each action returns only once it has taken
# effect: a start waits until the server answers, a stop until its port is closed; the stack file
# (DIR/stack.env) then names the servers' new pids.
#
#   scripts/stack.sh DIR ACTION
#   ACTION: stop-postgres start-postgres restart-postgres
#           stop-redis start-redis restart-redis flush-redis status
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n '2,8s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

(($# == 2)) || usage
dir=$1
action=$2
[[ -d "$dir" ]] || im_die "no stack folder $dir" || exit 1

case "$action" in
  stop-postgres) im_pg_stop "$dir" && im_refresh_stack_env "$dir" ;;
  start-postgres) im_pg_start "$dir" && im_refresh_stack_env "$dir" ;;
  restart-postgres) im_pg_stop "$dir" && im_pg_start "$dir" && im_refresh_stack_env "$dir" ;;
  stop-redis) im_redis_stop "$dir" && im_refresh_stack_env "$dir" ;;
  start-redis) im_redis_start "$dir" && im_refresh_stack_env "$dir" ;;
  restart-redis) im_redis_stop "$dir" && im_redis_start "$dir" && im_refresh_stack_env "$dir" ;;
  flush-redis) im_redis_flush "$dir" ;;
  status)
    pg_port="$(cat "$dir/pg.port" 2>/dev/null || echo '?')"
    redis_port="$(cat "$dir/redis.port" 2>/dev/null || echo '?')"
    if im_port_busy "$pg_port" 2>/dev/null; then pg=up; else pg=down; fi
    if im_port_busy "$redis_port" 2>/dev/null; then redis=up; else redis=down; fi
    printf 'postgres %s %s\nredis %s 127.0.0.1:%s\n' "$pg" "$(im_pg_dsn "$pg_port" '')" "$redis" "$redis_port"
    ;;
  *) usage ;;
esac
