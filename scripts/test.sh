#!/usr/bin/env bash
# Run jobsync's whole check: ruff, the import-linter layer contracts, then the pytest suite on
# SQLite (JOBSYNC_TEST_DB=sqlite) and its database tests again on PostgreSQL (JOBSYNC_TEST_DB=postgresql).
# This is what CI runs (.ci/run -> make test).
#
# Usage: scripts/test.sh [pytest args...]      e.g. scripts/test.sh tests/jobs -x
#
# Environment:
#   JOBSYNC_TEST_DATABASE_URL  postgresql+psycopg:// URL of a server to use instead of a throwaway one
#   JOBSYNC_TEST_REDIS_URL     redis:// URL of a server to use instead of a throwaway one
#   JOBSYNC_TEST_BROWSER=0     skip installing Debian's chromium (the browser tests then fail)
#   JOBSYNC_SKIP_LINT=1        skip ruff and lint-imports: for local debugging only, CI never sets it
set -euo pipefail
# useradd, runuser and friends live in the sbin directories, which a minimal PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/system-deps.sh
source scripts/system-deps.sh
# shellcheck source=scripts/services.sh
source scripts/services.sh

DATABASES=(sqlite postgresql)
OUTPUT_DIR="test-output"

step() { printf '==> %s\n' "$*"; }

trap services_stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed_steps=()
results=()
total_passed=0 total_failed=0 total_skipped=0

# Print "<passed> <failed> <skipped>" from a JUnit XML report (failed counts errors too).
junit_counts() {
    .venv/bin/python - "$1" <<'PY'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = failed = skipped = 0
for suite in suites:
    total += int(suite.get("tests", 0))
    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped += int(suite.get("skipped", 0))
print(total - failed - skipped, failed, skipped)
PY
}

run_lint() {
    if [[ "${JOBSYNC_SKIP_LINT:-0}" == 1 ]]; then
        step "lint: skipped (JOBSYNC_SKIP_LINT=1, local debugging only)"
        return 0
    fi
    step "lint: ruff check ."
    .venv/bin/ruff check . || failed_steps+=("ruff")
    step "lint: lint-imports"
    .venv/bin/lint-imports --no-logo || failed_steps+=("lint-imports")
}

run_pytest() {
    local db="$1"
    shift
    local report="$OUTPUT_DIR/$db.xml" rc=0
    rm -f "$report"
    step "pytest with JOBSYNC_TEST_DB=$db"
    JOBSYNC_TEST_DB="$db" .venv/bin/pytest -p no:cacheprovider --junitxml="$report" "$@" || rc=$?
    if ((rc == 5)) && [[ "$db" == postgresql ]]; then
        # tests/conftest.py keeps only the database tests on this pass; none among those chosen is fine.
        results+=("$db: no database tests among those selected")
        return 0
    elif ((rc == 5)); then
        echo "error: pytest collected no tests (exit 5) for JOBSYNC_TEST_DB=$db: counted as a failure" >&2
        failed_steps+=("pytest-$db (no tests collected)")
    elif ((rc != 0)); then
        failed_steps+=("pytest-$db (exit $rc)")
    fi
    if [[ ! -f "$report" ]]; then
        results+=("$db: no report (pytest exit $rc)")
        return 0
    fi
    local passed failed skipped
    read -r passed failed skipped < <(junit_counts "$report")
    results+=("$db: $passed passed, $failed failed, $skipped skipped")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
}

print_summary() {
    step "summary"
    local line
    for line in "${results[@]}"; do
        echo "$line"
    done
    if ((${#failed_steps[@]} == 0)); then
        echo "result: OK"
    else
        echo "result: FAILED: ${failed_steps[*]}"
    fi
    # Last line in the plain "N passed, N failed" form, totalled over both databases.
    echo "total: $total_passed passed, $total_failed failed, $total_skipped skipped"
}

step "system packages"
ensure_system_packages

step "python environment (.venv, pip install -e '.[test]' and the sample extension)"
[[ -x .venv/bin/python ]] || quietly python3 -m venv .venv
quietly .venv/bin/python -m pip install --disable-pip-version-check -q -e '.[test]'
quietly .venv/bin/python -m pip install --disable-pip-version-check -q -e examples/acme_extension  # tests/extensions

run_lint

step "test servers"
services_start

mkdir -p "$OUTPUT_DIR"
for db in "${DATABASES[@]}"; do
    run_pytest "$db" "$@"
done

print_summary
((${#failed_steps[@]} == 0))
