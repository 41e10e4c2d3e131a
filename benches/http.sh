#!/usr/bin/env bash
# HTTP servers side by side under wrk: verde (examples/hello_http,
# examples/sleep_http), may_minihttp and hyper on tokio
# (benches/peers/), all in one run with the same settings.
#
#   bash benches/http.sh              # all configurations, 3 rounds
#   ROUNDS=5 DURATION=10 bash benches/http.sh
#   SLEEP_DURATION=30 bash benches/http.sh   # longer sleep-demo runs
#
# Configurations: hello with 1 worker and with all cores, plain and
# pipelined 16 deep; hello with 1 worker pinned to CPU 0 and wrk (one
# thread) pinned to CPU 1 (`w1pin`, on machines with 2 cores or more), so
# that the server and the client do not take turns on the same core; the
# sleep demo (200 ms per request, 1 worker) at 1,000
# and 10,000 connections. For each server it prints the median over the
# rounds (servers interleaved within each round) of requests/s, p99
# latency, and the server's CPU time per request, then the ratios.
#
# For the sleep demo it gives two shares of the ideal rate (connections /
# 0.2 s). wrk's own count is quantised: each connection completes
# floor(duration / latency) requests, so a 5 s run at 203 ms per request
# counts 24 per connection, not 24.6, and the count tops out near 96%
# there. The sustained rate, connections / mean latency (Little's law for
# a closed loop with no think time), is the rate the server keeps up. It
# is printed for every server. The sleep rows run for SLEEP_DURATION
# (default 15 s): the first ~0.3 s of a 10,000-connection run is wrk's
# connection storm, whose slow first requests a short run over-weights.
#
# Needs wrk (Debian package `wrk`). Binds 127.0.0.1 only and stops on its
# own.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SLEEP_DURATION=${SLEEP_DURATION:-15}
PORT=${PORT:-18090}
CORES=$(nproc)
command -v wrk >/dev/null || { echo "benches/http.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }

cargo build -q --release --example hello_http --example sleep_http --example peer_may_minihttp --example peer_hyper
BIN=target/release/examples
PIPELINE="$PWD/benches/wrk/pipeline.lua"
RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"; kill $(jobs -p) 2>/dev/null || true' EXIT

server_cmd() { # name workers -> command
  case $1 in
    verde) echo "$BIN/hello_http --addr 127.0.0.1:$PORT --workers $2" ;;
    verde_sleep) echo "$BIN/sleep_http --addr 127.0.0.1:$PORT --workers $2" ;;
    may_minihttp) echo "$BIN/peer_may_minihttp --addr 127.0.0.1:$PORT --workers $2" ;;
    hyper) echo "$BIN/peer_hyper --addr 127.0.0.1:$PORT --workers $2" ;;
  esac
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run CONFIG NAME WORKERS CONNS PATH DEPTH SECONDS [PIN]
# With PIN=1 the server runs on CPU 0 and a one-thread wrk on CPU 1.
run() {
  local config=$1 name=$2 workers=$3 conns=$4 path=$5 depth=$6 seconds=$7 pin=${8:-0}
  local server_pin=() client_pin=()
  if [ "$pin" = 1 ]; then
    server_pin=(taskset -c 0)
    client_pin=(taskset -c 1)
  fi
  "${server_pin[@]}" $(server_cmd "$name" "$workers") >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
  done
  local threads=$(( conns < 2 || pin == 1 ? 1 : 2 ))
  local args=(-t"$threads" -c"$conns" -d"${seconds}s" --latency --timeout 10s)
  [ "$depth" -gt 1 ] && args+=(-s "$PIPELINE")
  local c0 out c1
  c0=$(cpu_ticks "$pid")
  if [ "$depth" -gt 1 ]; then
    out=$("${client_pin[@]}" wrk "${args[@]}" "http://127.0.0.1:$PORT$path" -- "$depth" 2>&1)
  else
    out=$("${client_pin[@]}" wrk "${args[@]}" "http://127.0.0.1:$PORT$path" 2>&1)
  fi
  c1=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local rps p99 reqs errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local avg_ms
  avg_ms=$(awk '$1 == "Latency" { v = $2; u = v; sub(/[a-z]+$/, "", u)
    if (v ~ /us$/) u /= 1000; else if (v ~ /ms$/) u += 0; else if (v ~ /s$/) u *= 1000
    print u; exit }' <<<"$out")
  errors=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
  local cpu_us
  cpu_us=$(awk -v t=$((c1 - c0)) -v r="${reqs:-0}" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (r > 0) printf "%.2f", t * 1e6 / hz / r; else print "nan" }')
  echo "$config $name ${rps:-0} ${p99:-nan} $cpu_us ${avg_ms:-nan}" >>"$RESULTS"
  [ -n "$errors" ] && echo "  ($config $name: $errors)" >&2
  return 0
}

hello_configs=("w1_plain 1 1 0" "w1_pipe16 1 16 0" "wall_plain $CORES 1 0" "wall_pipe16 $CORES 16 0")
if [ "$CORES" -ge 2 ] && command -v taskset >/dev/null; then
  hello_configs+=("w1pin_plain 1 1 1" "w1pin_pipe16 1 16 1")
fi
for round in $(seq "$ROUNDS"); do
  echo "round $round/$ROUNDS" >&2
  for cfg in "${hello_configs[@]}"; do
    read -r config workers depth pin <<<"$cfg"
    for name in verde may_minihttp hyper; do
      run "hello_$config" "$name" "$workers" 100 / "$depth" "$DURATION" "$pin"
    done
  done
  for conns in 1000 10000; do
    for name in verde_sleep may_minihttp hyper; do
      run "sleep_c$conns" "$name" 1 "$conns" /test 1 "$SLEEP_DURATION"
    done
  done
done

echo
echo "machine: $(nproc) cores, $(uname -r); wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); ${ROUNDS} rounds of ${DURATION} s (sleep rows ${SLEEP_DURATION} s); medians"
printf '%-22s %-13s %12s %10s %14s\n' config server "req/s" "p99" "cpu us/req"
sort -k1,1 -k2,2 "$RESULTS" | awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $1 " " $2; rps[key] = rps[key] " " $3; p99[key] = p99[key] " " $4; cpu[key] = cpu[key] " " $5; keys[key] = 1 }
  END {
    for (k in keys) { split(k, kk, " "); m[k] = median(rps[k]); printf "%-22s %-13s %12.0f %10s %14s\n", kk[1], kk[2], m[k], p99_med(p99[k]), median(cpu[k]) }
  }
  # wrk prints a p99 of 0.00us for some pipelined runs (a wrk bug); such
  # readings are dropped, and a row with none left shows n/a.
  function p99_med(list,   n, a, i, v, u, vals) {
    n = split(list, a, " "); vals = ""
    for (i = 1; i <= n; i++) { v = a[i]; u = v; sub(/[a-z]+$/, "", u)
      if (v ~ /us$/) u = u / 1000; else if (v ~ /ms$/) u = u + 0; else if (v ~ /s$/) u = u * 1000
      if (u + 0 > 0) vals = vals " " u }
    return (vals == "") ? "n/a" : sprintf("%.2fms", median(vals))
  }' | sort
echo
echo "ratios (verde / peer, median req/s):"
sort "$RESULTS" | awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { k = $1 " " $2; r[k] = r[k] " " $3; lat[k] = lat[k] " " $6; cfg[$1] = 1 }
  END {
    for (c in cfg) {
      v = (c ~ /^sleep/) ? "verde_sleep" : "verde"
      mv = median(r[c " " v]); mm = median(r[c " may_minihttp"]); mh = median(r[c " hyper"])
      line = sprintf("%-22s vs may_minihttp %.2fx   vs hyper %.2fx", c, mv / mm, mv / mh)
      if (c ~ /^sleep_c/) {
        conns = substr(c, 8) + 0; ideal = conns / 0.2
        line = line sprintf("\n%-22s share of the ideal %d req/s, by wrk'"'"'s count / sustained (connections / mean latency):", c, ideal)
        n = split(v " may_minihttp hyper", names, " ")
        for (i = 1; i <= n; i++) {
          k = c " " names[i]
          line = line sprintf("  %s %.1f%% / %.1f%%", names[i], 100 * median(r[k]) / ideal, 100 * conns / (median(lat[k]) / 1000) / ideal)
        }
      }
      print line
    }
  }' | sort
