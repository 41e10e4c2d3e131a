#!/usr/bin/env bash
# User-space instructions per request of the HTTP hello servers (verde's
# examples/hello_http, may_minihttp and hyper, benches/peers/), counted by
# callgrind on the server: a figure that does not drift with the machine's
# load, for comparing servers and builds where wrk's timings are too noisy.
# The kernel's share (the socket system calls) is not counted.
#
#   bash benches/http_instructions.sh                # every server, N = 32000
#   N=16000 SERVERS="verde" bash benches/http_instructions.sh
#   METHODS=GET bash benches/http_instructions.sh     # GET only
#
# Each server runs under `valgrind --tool=callgrind` with one worker.
# benches/http_instructions_client.py warms it up, then sends N requests
# on one keep-alive connection, pipelined 16 deep and then one by one; the
# counters are zeroed before and dumped after each (`callgrind_control`),
# so only the requests are counted, and the count is divided by N. It does
# so for each of METHODS (default `GET POST`, one output row each): a GET
# as wrk sends it, and a POST with a 5-byte Content-Length body.
# Needs valgrind and python3 (Debian packages `valgrind` and `python3`;
# installed if missing and apt-get is there). Binds 127.0.0.1 only and stops
# on its own.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-32000}
SERVERS=${SERVERS:-verde may_minihttp hyper}
PORT=${PORT:-18190}
METHODS=${METHODS:-GET POST}

missing=()
command -v valgrind >/dev/null || missing+=(valgrind)
command -v python3 >/dev/null || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    if command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "http_instructions.sh: needs ${missing[*]}" >&2
        exit 1
    fi
fi

cargo build -q --release --example hello_http --example peer_may_minihttp --example peer_hyper
BIN=target/release/examples
CLIENT=benches/http_instructions_client.py
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT

server_bin() {
    case $1 in
        verde) echo "$BIN/hello_http" ;;
        may_minihttp) echo "$BIN/peer_may_minihttp" ;;
        hyper) echo "$BIN/peer_hyper" ;;
        *) echo "http_instructions.sh: unknown server $1" >&2; exit 1 ;;
    esac
}

# The instructions callgrind counted since the last zeroing, in the newest
# dump of process $1.
dumped() {
    callgrind_control -d "$1" >/dev/null 2>&1
    local file
    for _ in $(seq 100); do
        file=$(ls -t "$OUT"/cg."$1".* 2>/dev/null | head -1 || true)
        if [ -n "$file" ] && grep -q '^totals:' "$file"; then
            sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$file"
            rm -f "$file"
            return
        fi
        sleep 0.1
    done
    echo "http_instructions.sh: no callgrind dump from $1" >&2
    exit 1
}

printf '%-14s %-6s %18s %18s\n' server method "pipelined 16" "one by one"
for name in $SERVERS; do
    valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.%p" \
        "$(server_bin "$name")" --addr "127.0.0.1:$PORT" --workers 1 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
        sleep 0.1
    done
    for method in $METHODS; do
        python3 "$CLIENT" "$PORT" 1600 16 "$method"
        row=()
        for depth in 16 1; do
            callgrind_control -z "$pid" >/dev/null 2>&1
            python3 "$CLIENT" "$PORT" "$N" "$depth" "$method"
            row+=("$(( $(dumped "$pid") / N ))")
        done
        printf '%-14s %-6s %18s %18s\n' "$name" "$method" "${row[0]}" "${row[1]}"
    done
    kill "$pid"
    wait "$pid" 2>/dev/null || true
done
