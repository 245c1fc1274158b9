# shellcheck shell=bash
# Throwaway PostgreSQL and Redis servers for the test suite.
#
# Source this file, then call `services_start` and (from an EXIT trap) `services_stop`.
# A server named by JOBSYNC_TEST_DATABASE_URL / JOBSYNC_TEST_REDIS_URL is used as is; whatever is
# not named is started on a free 127.0.0.1 port under one temporary directory, so the suite never
# touches (or clashes with) the machine's own servers on 5432/6379. Both URLs are exported.

JOBSYNC_PG_OS_USER="${JOBSYNC_PG_OS_USER:-jobsync-test}"  # initdb refuses to run as root
JOBSYNC_PG_ROLE="jobsync"                                # no hyphen: never needs quoting in SQL
JOBSYNC_PG_DATABASE="jobsync_test"
SERVICES_DIR=""
SERVICES_PG_BIN=""

services_log() { printf '    %s\n' "$*"; }

# Print N distinct free TCP ports on 127.0.0.1 (all sockets held open together so none repeats).
free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}

# Poll a command until it succeeds; fail after the deadline (seconds) instead of sleeping blindly.
wait_until() {
    local what="$1" deadline_s="$2"
    shift 2
    local end=$((SECONDS + deadline_s))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= end)); then
            echo "error: $what not ready after ${deadline_s}s" >&2
            return 1
        fi
        sleep 0.1
    done
}

# Directory holding initdb/pg_ctl/pg_isready: PATH first, else the newest Debian cluster binaries.
find_pg_bin() {
    local initdb_path
    if initdb_path="$(command -v initdb)" && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$initdb_path")"
        return
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [[ -z "$dir" || ! -x "$dir/initdb" ]]; then
        echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found" >&2
        return 1
    fi
    echo "$dir"
}

# Run a PostgreSQL server command as the unprivileged user when we are root; from a directory that
# user can enter (pg_ctl/initdb chdir back to the current directory, which may be under /root).
as_pg_user() {
    if ((EUID == 0)); then
        (cd "$SERVICES_DIR" && runuser -u "$JOBSYNC_PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

ensure_pg_os_user() {
    ((EUID == 0)) || return 0
    id -u "$JOBSYNC_PG_OS_USER" >/dev/null 2>&1 && return 0
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$JOBSYNC_PG_OS_USER"
}

services_make_dir() {
    [[ -n "$SERVICES_DIR" ]] && return 0
    # Always under /tmp, not $TMPDIR: the unprivileged postgres user must be able to reach it,
    # and the unix socket path must stay short (~107 bytes).
    SERVICES_DIR="$(mktemp -d /tmp/jobsync-test.XXXXXX)"
    chmod 711 "$SERVICES_DIR"
}

show_log_tail() {
    [[ -f "$1" ]] || return 0
    echo "---- last lines of $1 ----" >&2
    tail -n 30 "$1" >&2
}

start_redis() {
    local port="$1" dir="$SERVICES_DIR/redis"
    mkdir -p "$dir"
    redis-server --save "" --appendonly no --port "$port" --bind 127.0.0.1 --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    if ! wait_until "redis on port $port" 30 \
        bash -c '[[ "$(redis-cli -h 127.0.0.1 -p "$1" ping)" == PONG ]]' _ "$port"; then
        show_log_tail "$dir/redis.log"
        return 1
    fi
    export JOBSYNC_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
    services_log "redis: throwaway server on 127.0.0.1:$port (pid $(cat "$dir/redis.pid"))"
}

start_postgres() {
    local port="$1" dir="$SERVICES_DIR/pg"
    SERVICES_PG_BIN="$(find_pg_bin)" || return 1
    ensure_pg_os_user
    mkdir -p "$dir"
    ((EUID == 0)) && chown "$JOBSYNC_PG_OS_USER:" "$dir"
    if ! as_pg_user "$SERVICES_PG_BIN/initdb" -D "$dir/data" -U "$JOBSYNC_PG_ROLE" --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >"$SERVICES_DIR/initdb.log" 2>&1; then
        echo "error: initdb failed" >&2
        show_log_tail "$SERVICES_DIR/initdb.log"
        return 1
    fi
    # Durability off: the cluster is thrown away after the run. pg_ctl hands -o to a shell: one line.
    local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir"
    options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    as_pg_user "$SERVICES_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -W -s -o "$options" start \
        >/dev/null
    if ! wait_until "postgresql on port $port" 60 \
        "$SERVICES_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$JOBSYNC_PG_ROLE" -d postgres; then
        show_log_tail "$dir/postgres.log"
        return 1
    fi
    "$SERVICES_PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U "$JOBSYNC_PG_ROLE" "$JOBSYNC_PG_DATABASE"
    export JOBSYNC_TEST_DATABASE_URL="postgresql+psycopg://$JOBSYNC_PG_ROLE@127.0.0.1:$port/$JOBSYNC_PG_DATABASE"
    services_log "postgresql: throwaway cluster on 127.0.0.1:$port ($SERVICES_PG_BIN)"
}

services_start() {
    local need_pg=0 need_redis=0
    if [[ -n "${JOBSYNC_TEST_DATABASE_URL:-}" ]]; then
        services_log "postgresql: using JOBSYNC_TEST_DATABASE_URL from the environment"
    else
        need_pg=1
    fi
    if [[ -n "${JOBSYNC_TEST_REDIS_URL:-}" ]]; then
        services_log "redis: using JOBSYNC_TEST_REDIS_URL from the environment"
    else
        need_redis=1
    fi
    ((need_pg + need_redis > 0)) || return 0
    services_make_dir
    local ports pg_port redis_port
    ports="$(free_ports 2)"
    read -r pg_port redis_port <<<"$ports"
    if ((need_redis)); then start_redis "$redis_port" || return 1; fi
    if ((need_pg)); then start_postgres "$pg_port" || return 1; fi
}

# Stop whatever services_start started and remove its directory; safe to call more than once.
services_stop() {
    [[ -n "$SERVICES_DIR" && -d "$SERVICES_DIR" ]] || return 0
    local redis_pidfile="$SERVICES_DIR/redis/redis.pid" pid
    if [[ -f "$redis_pidfile" ]]; then
        pid="$(cat "$redis_pidfile")"
        kill -TERM "$pid" 2>/dev/null || true
        wait_until "redis (pid $pid) to stop" 10 bash -c '! kill -0 "$1"' _ "$pid" ||
            kill -KILL "$pid" 2>/dev/null || true
    fi
    local pg_data="$SERVICES_DIR/pg/data"
    if [[ -f "$pg_data/postmaster.pid" ]]; then
        if ! as_pg_user "$SERVICES_PG_BIN/pg_ctl" -D "$pg_data" -m immediate -s -t 20 stop >/dev/null 2>&1; then
            pid="$(head -n 1 "$pg_data/postmaster.pid" 2>/dev/null || true)"
            [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$SERVICES_DIR"
    SERVICES_DIR=""
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "scripts/services.sh is a library: source it (see scripts/test.sh)" >&2
    exit 2
fi
