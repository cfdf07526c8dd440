#!/usr/bin/env bash
# The whole test suite, as CI (`.ci/run`) and a newcomer run it:
#   1. installs with apt-get what the tests need and is missing;
#   2. starts throwaway services on free loopback ports in a temporary folder and passes
#      their addresses to the tests through ALQ_TEST_* environment variables;
#   3. runs cargo fmt --check, clippy -D warnings and every test;
#   4. stops exactly what it started and removes the folder, also on failure and Ctrl-C.
# With CI=true a missing component is a failure: tests are never skipped there.
# Arguments go to the test runner, e.g. `scripts/test.sh -E 'test(doctor)'` with nextest.
#
# To add a service: write `start_<name>` (start it with `spawn` or register its stop
# command with `on_cleanup`, wait for it, export its ALQ_TEST_* variable) and call it in
# `start_services`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# Debian's python3 has aiosmtpd; the python3 first on PATH may be another one.
SYSTEM_PYTHON=/usr/bin/python3

# ---------------------------------------------------------------------------------------
# Cleanup: exactly what this script started, newest first.

TMP=
STARTED_PIDS=()     # background processes we own
STARTED_NAMES=()
CLEANUP_COMMANDS=() # for daemons that detach (pg_ctl, redis-server --daemonize, dovecot)

cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    for ((i = ${#CLEANUP_COMMANDS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUP_COMMANDS[i]}" >/dev/null 2>&1 || true
    done
    for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${STARTED_PIDS[i]}" "${STARTED_NAMES[i]}"
    done
    [[ -n "$TMP" && -d "$TMP" ]] && rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
# The EXIT trap does the work; these only set the conventional exit codes.
trap 'exit 130' INT
trap 'exit 143' TERM

# Stops one process we started: TERM, then KILL if it lingers.
stop_pid() {
    local pid=$1 name=$2 _
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in {1..50}; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        alq_warn "$name (pid $pid) ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# Runs a command in the background and remembers its PID for cleanup. The command must
# not fork away from that PID (use `exec` inside wrappers). Sets SPAWNED_PID.
spawn() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 </dev/null &
    SPAWNED_PID=$!
    STARTED_PIDS+=("$SPAWNED_PID")
    STARTED_NAMES+=("$name")
}

# Registers a command that cleanup runs (before stopping spawned PIDs).
on_cleanup() {
    CLEANUP_COMMANDS+=("$1")
}

# ---------------------------------------------------------------------------------------
# Ports.

# Prints a free TCP port on 127.0.0.1.
free_port() {
    if [[ -x "$SYSTEM_PYTHON" ]]; then
        "$SYSTEM_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
        return
    fi
    local port
    for _ in {1..100}; do
        port=$((20000 + RANDOM % 40000))
        port_open 127.0.0.1 "$port" || { echo "$port"; return; }
    done
    alq_die "no free port found"
}

# Whether something accepts TCP connections at HOST PORT.
port_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Waits until HOST PORT accepts connections; fails early when PID (if given) died.
wait_port() {
    local name=$1 host=$2 port=$3 pid=${4:-} log=${5:-} _
    for _ in {1..200}; do
        port_open "$host" "$port" && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            [[ -n "$log" && -f "$log" ]] && cat "$log" >&2
            alq_die "$name exited before listening on $host:$port"
        fi
        sleep 0.05
    done
    [[ -n "$log" && -f "$log" ]] && cat "$log" >&2
    alq_die "$name does not listen on $host:$port after 10 s"
}

# A service that is missing: fatal under CI, a warning (tests skip) elsewhere.
missing() {
    if alq_ci; then
        alq_die "$1"
    fi
    alq_warn "$1; tests that need it are skipped"
}

# ---------------------------------------------------------------------------------------
# Install.

install_requirements() {
    alq_say "checking packages"
    # systemd-analyze checks the unit `alq robot install` writes.
    if ! alq_ensure_packages "${ALQ_BROWSER_PACKAGES[@]}" python3-aiosmtpd \
        systemd:systemd-analyze; then
        missing "required packages are missing"
    fi
}

# ---------------------------------------------------------------------------------------
# Services. Each exports the ALQ_TEST_* variables its tests read.

start_chromedriver_env() {
    # The engine starts its own chromedriver per run; tests only need to know where it is.
    if command -v chromedriver >/dev/null 2>&1; then
        ALQ_CHROMEDRIVER=$(command -v chromedriver)
        export ALQ_CHROMEDRIVER
    else
        missing "chromedriver is not installed"
    fi
}

start_smtp() {
    if [[ ! -x "$SYSTEM_PYTHON" ]] || ! "$SYSTEM_PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
        missing "aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
        return 0
    fi
    local port
    port=$(free_port)
    # Mailbox creates the maildir (with cur/ new/ tmp/) itself; tests read new/.
    spawn smtp "$TMP/smtp.log" "$SYSTEM_PYTHON" -m aiosmtpd -n -l "127.0.0.1:$port" \
        -c aiosmtpd.handlers.Mailbox "$TMP/maildir"
    wait_port "SMTP sink" 127.0.0.1 "$port" "$SPAWNED_PID" "$TMP/smtp.log"
    export ALQ_TEST_SMTP="127.0.0.1:$port"
    export ALQ_TEST_SMTP_MAILDIR="$TMP/maildir"
}

# The shared servers that CI and the developers' machines run; tests keep to their own
# databases and key prefixes there.
SHARED_POSTGRES_PORT=${ALQ_SHARED_POSTGRES_PORT:-5432}
SHARED_REDIS_PORT=${ALQ_SHARED_REDIS_PORT:-6379}

# PostgreSQL: ALQ_TEST_DATABASE_URL when given, else the shared one when it answers,
# else a throwaway cluster in $TMP when the server binaries are installed.
start_postgres() {
    if [[ -n "${ALQ_TEST_DATABASE_URL:-}" ]]; then
        return 0
    fi
    if pg_answers 127.0.0.1 "$SHARED_POSTGRES_PORT"; then
        export ALQ_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$SHARED_POSTGRES_PORT/postgres"
        return 0
    fi
    local bin
    bin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
        missing "PostgreSQL does not answer on 127.0.0.1:$SHARED_POSTGRES_PORT and is not installed"
        return 0
    fi
    local port dir="$TMP/postgres" as=()
    port=$(free_port)
    mkdir -p "$dir"
    # initdb refuses to run as root; the postgres user must be able to reach its folder.
    if [[ $(id -u) -eq 0 ]]; then
        chmod a+x "$TMP"
        chown postgres: "$dir"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$TMP/initdb.log" 2>&1 ||
        { cat "$TMP/initdb.log" >&2; alq_die "initdb failed"; }
    on_cleanup "${as[*]} $bin/pg_ctl -D $dir/data -m immediate stop"
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -w -l "$dir/log" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
        { cat "$dir/log" >&2; alq_die "PostgreSQL did not start"; }
    export ALQ_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$1" -p "$2"
    else
        port_open "$1" "$2"
    fi
}

# Redis: ALQ_TEST_REDIS_URL when given, else the shared one when it answers, else a
# throwaway one.
start_redis() {
    if [[ -n "${ALQ_TEST_REDIS_URL:-}" ]]; then
        return 0
    fi
    if redis_answers 127.0.0.1 "$SHARED_REDIS_PORT"; then
        export ALQ_TEST_REDIS_URL="redis://127.0.0.1:$SHARED_REDIS_PORT"
        return 0
    fi
    if ! command -v redis-server >/dev/null 2>&1; then
        missing "Redis does not answer on 127.0.0.1:$SHARED_REDIS_PORT and redis-server is not installed"
        return 0
    fi
    local port
    port=$(free_port)
    mkdir -p "$TMP/redis"
    # In the foreground (no --daemonize) so that its PID is the one we stop.
    spawn redis "$TMP/redis/log" redis-server --bind 127.0.0.1 --port "$port" \
        --save '' --appendonly no --dir "$TMP/redis"
    wait_port Redis 127.0.0.1 "$port" "$SPAWNED_PID" "$TMP/redis/log"
    export ALQ_TEST_REDIS_URL="redis://127.0.0.1:$port"
}

redis_answers() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" == PONG ]]
    else
        port_open "$1" "$2"
    fi
}

start_services() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/alq-test.XXXXXX")
    alq_say "starting services in $TMP"
    start_chromedriver_env
    start_smtp
    start_postgres
    start_redis
    local var
    for var in ALQ_CHROMEDRIVER ALQ_TEST_SMTP ALQ_TEST_SMTP_MAILDIR ALQ_TEST_DATABASE_URL \
        ALQ_TEST_REDIS_URL; do
        printf '    %-24s %s\n' "$var" "${!var:-(not set)}" >&2
    done
}

# ---------------------------------------------------------------------------------------
# Checks.

RESULTS=()
FAILED=0

# Runs one named check; records its outcome and time, and never stops the script, so
# that one failing check still lets the others report.
check() {
    local name=$1 start status=0
    shift
    alq_say "$name: $*"
    start=$SECONDS
    "$@" || status=$?
    if ((status == 0)); then
        RESULTS+=("$(printf '  %sok%s      %-10s %5ss' "$ALQ_GREEN" "$ALQ_RESET" "$name" \
            $((SECONDS - start)))")
    else
        RESULTS+=("$(printf '  %sFAILED%s  %-10s %5ss  (exit %s)' "$ALQ_RED" "$ALQ_RESET" \
            "$name" $((SECONDS - start)) "$status")")
        FAILED=1
    fi
}

# The tests `repeat` runs again: auto-wait (scroll boxes, animations), the browser
# start-up budget.
REPEATED_TESTS='binary_id(alq-robot::it) & (test(/^actionable::/) | test(/^startup::/))'

has_doctests() {
    grep -rqE '^\s*//[/!]\s*```' --include='*.rs' shared/src control-plane/src robot/src cli/src
}

run_checks() {
    local args=("$@")
    check fmt cargo fmt --all --check
    check clippy cargo clippy --workspace --all-targets -- -D warnings
    # Tests get their own TMPDIR inside $TMP: what they (and the Chromium they start)
    # leave behind, such as /tmp/org.chromium.Chromium.* folders, is removed with it.
    mkdir -p "$TMP/tmp"
    # Building the tests is its own phase, so the summary tells compile time from run time.
    check build cargo test --workspace --no-run --quiet
    if cargo nextest --version >/dev/null 2>&1; then
        check tests env TMPDIR="$TMP/tmp" cargo nextest run --workspace --no-fail-fast "${args[@]}"
        # The browser's waiting rules are what flakes first on a loaded machine: their
        # tests run again, several rounds, so one that passes one time in two fails here.
        if ((${#args[@]} == 0)); then
            check repeat env TMPDIR="$TMP/tmp" cargo nextest run --workspace --no-fail-fast \
                --stress-count "${ALQ_TEST_REPEAT:-3}" -E "$REPEATED_TESTS"
        fi
        if has_doctests; then
            check doctests env TMPDIR="$TMP/tmp" cargo test --workspace --doc
        fi
    else
        alq_ci && alq_die "cargo-nextest is not installed (cargo install cargo-nextest)"
        check tests env TMPDIR="$TMP/tmp" cargo test --workspace --no-fail-fast "${args[@]}"
    fi
}

main() {
    CARGO_TARGET_DIR=$(alq_target_dir)
    export CARGO_TARGET_DIR
    command -v cargo >/dev/null 2>&1 || alq_die "cargo is not installed (https://rustup.rs)"
    local started=$SECONDS phase=$SECONDS
    install_requirements
    phase_time packages "$phase"
    phase=$SECONDS
    start_services
    phase_time services "$phase"
    run_checks "$@"
    printf '\n%ssummary%s (%ss in all; load %s; cargo target folder %s)\n' "$ALQ_BOLD" \
        "$ALQ_RESET" $((SECONDS - started)) "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" \
        "$CARGO_TARGET_DIR" >&2
    printf '%s\n' "${RESULTS[@]}" >&2
    return "$FAILED"
}

# Records how long a set-up phase took, for the summary (checks record their own).
phase_time() {
    RESULTS+=("$(printf '  %-7s %-10s %5ss' '' "$1" $((SECONDS - $2)))")
}

main "$@"
