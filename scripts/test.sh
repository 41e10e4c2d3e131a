#!/usr/bin/env bash
# The project's test command: install what the tests drive and start the
# servers they talk to (scripts/services.sh), point the tests at them, then
# run every test in the workspace, then the Miri checks (scripts/miri.sh),
# then the tests again under AddressSanitizer (scripts/asan.sh). Arguments
# go to `cargo test`, and skip the Miri and ASan runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
export VERDE_TEST_REDIS=redis://127.0.0.1:6379/
export VERDE_TEST_POSTGRES='host=127.0.0.1 port=5432 user=verde dbname=verde'
cargo test --workspace "$@"
if [ "$#" -eq 0 ]; then
    bash scripts/miri.sh
    bash scripts/asan.sh
fi
