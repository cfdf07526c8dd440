# Shared helpers of scripts/test.sh and scripts/try.sh. Source it; it defines functions
# only (and never changes shell options, which stay the caller's).
# shellcheck shell=bash

# Colours only on a terminal, so CI logs stay plain text.
# shellcheck disable=SC2034 # used by the scripts that source this file
if [[ -t 2 ]]; then
    ALQ_BOLD=$'\033[1m' ALQ_RED=$'\033[31m' ALQ_GREEN=$'\033[32m' ALQ_YELLOW=$'\033[33m'
    ALQ_RESET=$'\033[0m'
else
    ALQ_BOLD='' ALQ_RED='' ALQ_GREEN='' ALQ_YELLOW='' ALQ_RESET=''
fi

# Prints a progress line on stderr, so it never mixes with a command's output.
alq_say() {
    printf '%s==>%s %s\n' "$ALQ_BOLD" "$ALQ_RESET" "$*" >&2
}

# Prints a warning on stderr.
alq_warn() {
    printf '%swarning:%s %s\n' "$ALQ_YELLOW" "$ALQ_RESET" "$*" >&2
}

# Prints an error on stderr and exits 1.
alq_die() {
    printf '%serror:%s %s\n' "$ALQ_RED" "$ALQ_RESET" "$*" >&2
    exit 1
}

# Whether we run in CI, where a missing component is a failure and never a skip.
alq_ci() {
    [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]
}

# The cargo target folder: outside the clone, so a fresh clone (as in CI) reuses the
# build of the previous run instead of starting cold.
alq_target_dir() {
    printf '%s\n' "${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/alq-target}"
}

# Whether a Debian package is installed.
alq_pkg_installed() {
    command -v dpkg-query >/dev/null 2>&1 &&
        [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# Whether what a package provides is present. Each spec is `package` or
# `package:command`; with a command, finding it on PATH is enough (so a Chromium
# installed another way also counts), otherwise `dpkg` must list the package.
alq_spec_present() {
    local package=${1%%:*} command=
    [[ "$1" == *:* ]] && command=${1#*:}
    if [[ -n "$command" ]]; then
        command -v "$command" >/dev/null 2>&1
    else
        alq_pkg_installed "$package"
    fi
}

# Installs with apt-get the packages of the given specs (see alq_spec_present) that are
# missing; does nothing, not even `apt-get update`, when all are present. Uses sudo when
# not root. Returns 1 (after saying what to install) when it cannot install: the caller
# decides whether that is fatal.
alq_ensure_packages() {
    local spec missing=()
    for spec in "$@"; do
        alq_spec_present "$spec" || missing+=("${spec%%:*}")
    done
    ((${#missing[@]} == 0)) && return 0

    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        elif command -v sudo >/dev/null 2>&1 && [[ -t 0 ]]; then
            # sudo may ask for a password on the terminal.
            sudo=(sudo)
        else
            alq_warn "missing: ${missing[*]}; install them with:"
            alq_warn "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        alq_warn "missing: ${missing[*]}, and there is no apt-get here: install them by hand"
        return 1
    fi
    alq_say "installing ${missing[*]}"
    # update once, only now that something must be installed, so a second run is offline.
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
        ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
        alq_warn "could not install ${missing[*]}"
        return 1
    fi
    for spec in "$@"; do
        alq_spec_present "$spec" || { alq_warn "${spec%%:*} installed, yet still missing"; return 1; }
    done
}

# The browser packages `alq run` needs.
# shellcheck disable=SC2034 # used by the scripts that source this file
ALQ_BROWSER_PACKAGES=(chromium:chromium chromium-driver:chromedriver)
