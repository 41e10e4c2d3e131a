#!/usr/bin/env bash
# The project's test command: make sure the programs the tests drive are
# installed, then run every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-tools.sh
cargo test --workspace "$@"
