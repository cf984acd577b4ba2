#!/usr/bin/env bash
# The whole suite (-n 2) while two CPU burners keep every core of a 2-core machine busy: the
# tests wait for conditions, never for times, so a loaded machine must only make them slower.
# Usage: scripts/test-under-load.sh [-r RUNS] [BURNERS=2] [pytest arguments...]
# Runs the suite RUNS times in a row (default 1), stops at the first failure, and prints how
# long each run took and the load it ran under. The burners end with the script, however it
# ends (success, failure, Ctrl-C). Set up the virtualenv first: scripts/test.sh does it.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1
if [ "${1:-}" = "-r" ]; then
    runs=$2
    shift 2
fi
burners=${BURNERS:-2}
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/test.sh once first" >&2; exit 2; }

pids=()
suite=""
stop_all() {
    # pytest first (its process group: it and its workers), then the burners: by PID, only
    # what this script started.
    if [ -n "$suite" ]; then
        # SIGINT: pytest stops and says where. SIGTERM if it is still there after 15 s (a
        # SIGINT ignored since this script started, as in a background job, is ignored there).
        kill -INT -- "-$suite" 2>/dev/null || true
        for _ in $(seq 150); do
            kill -0 "$suite" 2>/dev/null || break
            sleep 0.1
        done
        kill -TERM -- "-$suite" 2>/dev/null || true
        wait "$suite" 2>/dev/null || true
    fi
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    suite=""
}
trap stop_all EXIT
# Bash runs a trap only once its foreground command is done: pytest runs in the background
# and is waited for, so a Ctrl-C or a SIGTERM stops everything at once. Job control (-m) gives
# it a process group of its own, and leaves its SIGINT alone (a script's background jobs
# would otherwise ignore it).
set -m
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$burners"); do
    # A shell loop, not a Python one: nothing to import, and `kill` ends it at once.
    bash -c 'while :; do :; done' &
    pids+=("$!")
done
echo "under-load: $burners CPU burners (PIDs ${pids[*]}) on $(nproc) cores"

for run in $(seq "$runs"); do
    started=$(date +%s)
    status=0
    .venv/bin/python -m pytest -n 2 --dist load --maxschedchunk 1 -p no:cacheprovider "$@" &
    suite=$!
    wait "$suite" || status=$?
    suite=""
    took=$(($(date +%s) - started))
    read -r load1 load5 _ < /proc/loadavg
    echo "under-load: run $run of $runs: exit $status in ${took} s (load average $load1 / $load5)"
    [ "$status" -eq 0 ] || exit "$status"
done
