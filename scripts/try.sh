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
exec cargo run --release -- run examples/login-form/workflow.json "$@"
