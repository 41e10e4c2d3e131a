#!/usr/bin/env bash
# Runs the part of verde that Miri can interpret under Miri: every blocking
# primitive between plain OS threads (runtime/tests/plain_threads.rs) and
# the unit tests of the runtime's own data structures. Miri checks them for
# undefined behaviour: data races, weak-memory bugs (over several
# scheduling seeds), and violations of Rust's aliasing rules (Stacked
# Borrows, then Tree Borrows). It cannot switch coroutine stacks, so
# coroutines themselves are not covered.
#
#   bash scripts/miri.sh              # as scripts/test.sh runs it
#   SEEDS=0..64 bash scripts/miri.sh  # explore more interleavings
#
# Miri needs a nightly toolchain; a dated one is installed if missing, so
# that a new nightly cannot change the result. If it cannot be installed
# (no access to static.rust-lang.org), the run is skipped with a warning,
# or fails when VERDE_REQUIRE_MIRI=1.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN=${MIRI_TOOLCHAIN:-nightly-2026-05-20}
SEEDS=${SEEDS:-0..12}
# Miri runs in its own target directory: its artifacts are not reusable by
# the normal build.
export CARGO_TARGET_DIR=${MIRI_TARGET_DIR:-target/miri}

if ! rustup run "$TOOLCHAIN" cargo miri --version >/dev/null 2>&1; then
    if ! rustup toolchain install "$TOOLCHAIN" --profile minimal --component miri,rust-src; then
        if [ "${VERDE_REQUIRE_MIRI:-0}" = 1 ]; then
            echo "miri.sh: cannot install $TOOLCHAIN with Miri" >&2
            exit 1
        fi
        echo "miri.sh: WARNING: Miri SKIPPED: cannot install $TOOLCHAIN with Miri" >&2
        exit 0
    fi
fi

# The blocking pool's idle threads outlive the tests by design
# (ignore-leaks); parking_lot casts integers to pointers (permissive
# provenance).
BASE_FLAGS="-Zmiri-ignore-leaks -Zmiri-permissive-provenance"

# Unit tests that use no coroutine.
UNIT_TESTS=(run_queue::tests timer::tests::)

echo "miri.sh: Stacked Borrows, seeds $SEEDS"
MIRIFLAGS="$BASE_FLAGS -Zmiri-many-seeds=$SEEDS" \
    cargo "+$TOOLCHAIN" miri test -p verde-runtime --test plain_threads
MIRIFLAGS="$BASE_FLAGS" \
    cargo "+$TOOLCHAIN" miri test -p verde-runtime --lib -- "${UNIT_TESTS[@]}" --skip park_timer

echo "miri.sh: Tree Borrows"
MIRIFLAGS="$BASE_FLAGS -Zmiri-tree-borrows -Zmiri-many-seeds=0..4" \
    cargo "+$TOOLCHAIN" miri test -p verde-runtime --test plain_threads
MIRIFLAGS="$BASE_FLAGS -Zmiri-tree-borrows" \
    cargo "+$TOOLCHAIN" miri test -p verde-runtime --lib -- "${UNIT_TESTS[@]}" --skip park_timer
