#!/usr/bin/env bash
# The README's first command: set up and run jobsync on the embedded default
# (SQLite + in-process broker, nothing to install), with the sample jobs repository.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT="${PORT:-8080}"
HOST="${HOST:-127.0.0.1}"
export JOBSYNC_DATA_DIR="${JOBSYNC_DATA_DIR:-$PWD/data}"
# The sample repository's declared package comes from a local wheel folder (scripts/sample-repo.sh).
export JOBSYNC_FIND_LINKS="${JOBSYNC_FIND_LINKS:-[$JOBSYNC_DATA_DIR/wheels]}"

echo "==> python environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
log="$(mktemp)"
.venv/bin/pip install -q --disable-pip-version-check -e . >"$log" 2>&1 || { cat "$log"; exit 1; }
rm -f "$log"

echo "==> database ($JOBSYNC_DATA_DIR/jobsync.sqlite3)"
.venv/bin/jobsync db upgrade

if [ -x scripts/sample-repo.sh ]; then
  echo "==> sample jobs repository"
  bash scripts/sample-repo.sh
fi

echo "==> jobsync serve on http://$HOST:$PORT/ (Ctrl-C to stop)"
echo "    health:   http://$HOST:$PORT/readyz"
exec .venv/bin/jobsync serve --host "$HOST" --port "$PORT"
