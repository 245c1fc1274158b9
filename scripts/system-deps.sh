# shellcheck shell=bash
# Debian packages the test suite needs, installed only when missing (CI starts on a clean machine).
#
# Source this file, then call `ensure_system_packages`.

# Browser tests (tests/ui/test_browser.py) drive Debian's chromium with Playwright; they run by
# default. JOBSYNC_TEST_BROWSER=0 skips installing chromium (the browser tests then fail).
JOBSYNC_TEST_BROWSER="${JOBSYNC_TEST_BROWSER:-1}"

APT_UPDATED=0

# Run a command, showing its output only if it fails (keeps pip/apt noise out of CI logs).
quietly() {
    local log rc=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        echo "error: '$*' failed (exit $rc); last lines of its output:" >&2
        tail -n 40 "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo -n "$@"
    else
        echo "error: need root to run: $*" >&2
        return 1
    fi
}

apt_install() {
    if ((APT_UPDATED == 0)); then
        quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get -q update
        APT_UPDATED=1
    fi
    echo "    apt-get install $*"
    quietly as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get -q install -y --no-install-recommends "$@"
}

have_postgres_server() {
    command -v initdb >/dev/null && command -v pg_ctl >/dev/null && return 0
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

ensure_system_packages() {
    local -a missing=()
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v curl >/dev/null || missing+=(curl)  # the README's post-receive hook, run by a test
    command -v openssl >/dev/null || missing+=(openssl)
    if [[ -z "${JOBSYNC_TEST_DATABASE_URL:-}" ]] && ! have_postgres_server; then
        missing+=(postgresql)
    fi
    if [[ "$JOBSYNC_TEST_BROWSER" == 1 ]]; then
        command -v chromium >/dev/null || missing+=(chromium)
    fi
    if ((${#missing[@]} == 0)); then
        echo "    all present"
        return 0
    fi
    apt_install "${missing[@]}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    echo "scripts/system-deps.sh is a library: source it (see scripts/test.sh)" >&2
    exit 2
fi
