#!/usr/bin/env bash
# Hunts flaky tests: runs the whole suite (scripts/test.sh) again and again on a machine
# made busy on purpose, until it passes N times in a row.
#
#   scripts/stress.sh [--passes N] [--max-runs M] [--load WORKERS] [-- ARGS for test.sh]
#
# The load is stress-ng (installed with apt-get when missing) with WORKERS CPU workers
# (default: one per core), on top of the suite's own parallel tests. Each round's log is
# kept in a folder that the script names at the start; a failing round prints the tests
# that failed. Exit 0 once N rounds in a row passed, 1 when M rounds ran without that.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

PASSES=5
MAX_RUNS=10
LOAD=$(nproc 2>/dev/null || echo 2)
while (($#)); do
    case $1 in
    --passes) PASSES=$2; shift 2 ;;
    --max-runs) MAX_RUNS=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    --) shift; break ;;
    *) alq_die "unknown argument $1 (see the top of $0)" ;;
    esac
done

alq_ensure_packages stress-ng || alq_die "stress-ng is needed for the load"

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/alq-stress.XXXXXX")
STRESS_PID=
stop_load() {
    if [[ -n "$STRESS_PID" ]] && kill -0 "$STRESS_PID" 2>/dev/null; then
        kill -TERM "$STRESS_PID" 2>/dev/null || true
        wait "$STRESS_PID" 2>/dev/null || true
    fi
}
trap stop_load EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((LOAD > 0)); then
    stress-ng --cpu "$LOAD" --timeout 0 --quiet >"$LOGS/stress-ng.log" 2>&1 &
    STRESS_PID=$!
fi
alq_say "load: $LOAD stress-ng CPU workers; logs in $LOGS"

in_a_row=0
for ((run = 1; run <= MAX_RUNS; run++)); do
    log="$LOGS/run-$run.log"
    start=$SECONDS
    status=0
    bash scripts/test.sh "$@" >"$log" 2>&1 || status=$?
    took=$((SECONDS - start))
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    if ((status == 0)); then
        in_a_row=$((in_a_row + 1))
        alq_say "run $run: passed in ${took}s (load $load); $in_a_row in a row"
        if ((in_a_row >= PASSES)); then
            alq_say "$PASSES runs in a row passed"
            exit 0
        fi
    else
        in_a_row=0
        alq_warn "run $run: FAILED in ${took}s (load $load); log: $log"
        # nextest's final list of failures, or the checks that failed.
        grep -E '^\s+(FAIL|SIGSEGV|SIGABRT|TIMEOUT|LEAK)\b|FAILED ' "$log" | sort -u >&2 || true
    fi
done
alq_warn "no $PASSES passing runs in a row within $MAX_RUNS runs; logs in $LOGS"
exit 1
