#!/usr/bin/env bash
# Turn examples/jobs-repo into a local git repository, register it as "samples", sync it and
# enable "Hello world". Safe to run again: it commits changes and re-syncs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

JOBSYNC=.venv/bin/jobsync
: "${JOBSYNC_DATA_DIR:=$PWD/data}"
export JOBSYNC_DATA_DIR
work="$JOBSYNC_DATA_DIR/sample-jobs-repo"

# The samples declare jobsync-sample-greeting (requirements.txt): build its wheel into the folder
# run.sh names in JOBSYNC_FIND_LINKS, so the sync installs it from there, no index needed.
wheels="$JOBSYNC_DATA_DIR/wheels"
if ! ls "$wheels"/jobsync_sample_greeting-*.whl >/dev/null 2>&1; then
  package="$(mktemp -d)"
  cp -R examples/sample-package/. "$package/"
  .venv/bin/uv build --quiet --wheel "$package" --out-dir "$wheels"
  rm -rf "$package"
fi

mkdir -p "$work"
cp -R examples/jobs-repo/. "$work/"
git_() { git -C "$work" -c user.name=jobsync -c user.email=jobsync@localhost -c init.defaultBranch=main "$@"; }
[ -d "$work/.git" ] || git_ init --quiet
git_ add --all
git_ diff --cached --quiet || git_ commit --quiet -m "Sample jobs"

if ! "$JOBSYNC" repo list --json | grep -q '"slug": "samples"'; then
  "$JOBSYNC" repo add samples "$work" --slug samples
fi
"$JOBSYNC" repo sync samples
"$JOBSYNC" jobs enable samples/jobs.hello/HelloWorld >/dev/null
"$JOBSYNC" jobs enable samples/jobs.greetings/MultilingualHello >/dev/null
echo "    sample jobs synced; 'Hello world' is enabled. Try:"
echo "      .venv/bin/jobsync runjob samples/jobs.hello/HelloWorld --data '{\"who\": \"you\"}' --local"
echo "      .venv/bin/jobsync runjob samples/jobs.greetings/MultilingualHello --data '{\"language\": \"fr\"}' --local"
