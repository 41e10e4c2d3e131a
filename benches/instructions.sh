#!/usr/bin/env bash
# Instructions per round trip for verde's switch and hand-offs, counted by
# callgrind (benches/instructions.rs): a figure that does not drift with
# the machine's load, for comparing builds where timings are too noisy.
#
#   bash benches/instructions.sh              # every case, N = 100000
#   N=50000 bash benches/instructions.sh yield park_wake
#
# Each case runs twice, with N and 2N round trips; the difference divided
# by N is what one round trip costs, start-up and tear-down cancelled out.
# Needs valgrind (Debian package `valgrind`; installed if missing and
# apt-get is there).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
if [ "$#" -gt 0 ]; then CASES=("$@"); else CASES=(corosensei_raw corosensei_nested yield park_wake park_wake_timed mpsc sync_channel sync_channel1 queue_channel sleep_10k); fi

if ! command -v valgrind >/dev/null; then
    if command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq valgrind >/dev/null
    else
        echo "instructions.sh: valgrind is needed" >&2
        exit 1
    fi
fi

BIN=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*instructions[^"]*\)".*/\1/p' | tail -1)
[ -x "$BIN" ] || { echo "instructions.sh: cannot build benches/instructions.rs" >&2; exit 1; }

count() {
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    rm -f "$out"
}

printf '%-18s %s\n' case "instructions per round trip"
for case in "${CASES[@]}"; do
    one=$(count "$case" "$N")
    two=$(count "$case" $((2 * N)))
    printf '%-18s %s\n' "$case" "$(( (two - one) / N ))"
done
