#!/usr/bin/env bash
# Runs the tests of verde-runtime, verde-net and verde-http under
# AddressSanitizer, with verde's fiber annotations compiled in
# (`--cfg verde_asan`, see runtime/src/asan_fiber.rs) so that ASan follows
# every coroutine switch. It catches what Miri cannot reach: out-of-bounds
# and use-after-free accesses on coroutine stacks, in the hub, and across
# real stack switches, and leaks.
#
#   bash scripts/asan.sh                              # every test
#   bash scripts/asan.sh -p verde-runtime --test sync_soundness
#
# ASan needs a nightly toolchain; the dated one Miri uses is installed if
# missing (skipping with a warning if it cannot, or failing when
# VERDE_REQUIRE_ASAN=1). LeakSanitizer checks every test process for
# leaks too; scripts/lsan.supp lists the one leak made on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN=${ASAN_TOOLCHAIN:-nightly-2026-05-20}
export CARGO_TARGET_DIR=${ASAN_TARGET_DIR:-target/asan}
export RUSTFLAGS="-Zsanitizer=address --cfg verde_asan"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp}

if ! rustup run "$TOOLCHAIN" cargo --version >/dev/null 2>&1; then
    if ! rustup toolchain install "$TOOLCHAIN" --profile minimal; then
        if [ "${VERDE_REQUIRE_ASAN:-0}" = 1 ]; then
            echo "asan.sh: cannot install $TOOLCHAIN" >&2
            exit 1
        fi
        echo "asan.sh: WARNING: AddressSanitizer SKIPPED: cannot install $TOOLCHAIN" >&2
        exit 0
    fi
fi

if [ $# -eq 0 ]; then
    set -- -p verde-runtime -p verde-net -p verde-http --tests
fi
exec rustup run "$TOOLCHAIN" cargo test --target x86_64-unknown-linux-gnu --no-fail-fast "$@"
