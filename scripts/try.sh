#!/usr/bin/env bash
# A newcomer's first command: installs Chromium and chromedriver when missing, then runs
# the login-form example in a real headless Chromium and writes its report into runs/.
# Extra arguments go to `alq run` (e.g. --headed, --input key=value).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

command -v cargo >/dev/null 2>&1 || alq_die "cargo is not installed (https://rustup.rs)"
if ! alq_ensure_packages "${ALQ_BROWSER_PACKAGES[@]}"; then
    alq_die "alq needs Chromium and chromedriver; install them, then run this again"
fi
CARGO_TARGET_DIR=$(alq_target_dir)
export CARGO_TARGET_DIR

# The dev profile: a first build takes about half the CPU of the release one (measured:
# docs/quickstart.md), and it is the build scripts/test.sh makes too, so one serves both.
# The run itself waits on Chromium, not on alq.
ALQ_TRY_MINUTES_ON_2_CORES=4
binary="$CARGO_TARGET_DIR/debug/alq"
if [[ -x "$binary" ]]; then
    alq_say "checking the alq build (seconds, unless the sources changed since the last build)"
else
    cores=$(nproc 2>/dev/null || echo 2)
    minutes=$(((ALQ_TRY_MINUTES_ON_2_CORES * 2 + cores - 1) / cores))
    alq_say "building alq (first time takes about $minutes minutes on $cores cores, longer on a busy machine; later runs are seconds)"
fi
started=$SECONDS
cargo build -p alq
alq_say "alq is built ($((SECONDS - started)) s); running examples/login-form/workflow.json in headless Chromium"
exec "$binary" run examples/login-form/workflow.json "$@"
