#!/usr/bin/env bash
# proxy_vs_direct.sh: a benchmark (not a test; CTest does not run it).
#
# What herd's fault proxy costs when no fault is active. In one run, against
# one nginx answering `return 200 "ok"` on loopback, with `herd proxy` in
# front of it, rounds alternate between wrk direct and wrk through the proxy:
#   1. latency: wrk -t1 -c1 (one request at a time) with --latency; the
#      proxy's added latency is the difference of the p50s (target: at most
#      100 us) and of the p99s;
#   2. throughput: wrk -t2 -c50; the ratio proxy/direct of requests/s, and
#      the proxy's CPU seconds per 100,000 requests.
# It also reports the CPU other processes took meanwhile (the noise).
#
# Usage: tests/bench/proxy_vs_direct.sh      (from anywhere in the repo)
# Environment (defaults in brackets):
#   BUILD_DIR [build]   build tree, relative to the repo root or absolute
#   ROUNDS [3]          rounds of (direct, proxy); the medians are printed
#   LAT_DURATION [5s]   length of each latency run
#   DURATION [5s]       length of each throughput run
#   OUT [/tmp]          directory of proxy_vs_direct.json (raw results)
#   KEEP_TMP [0]        1 keeps the temp dir
# Exit status: 0 whether the target is met or not; non-zero only when
# something could not be run.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR="$repo_root/$BUILD_DIR"
ROUNDS=${ROUNDS:-3}
LAT_DURATION=${LAT_DURATION:-5s}
DURATION=${DURATION:-5s}
OUT=${OUT:-/tmp}
KEEP_TMP=${KEEP_TMP:-0}
TARGET_ADDED_P50_US=100

die() { echo "proxy_vs_direct: $*" >&2; exit 1; }

herd_bin="$BUILD_DIR/harness/herd"
need_binary "$herd_bin" herd
need_tools wrk
mkdir -p "$OUT"

nginx_pid="" proxy_pid=""
stop_at_exit=(proxy_pid nginx_pid)
bench_tmp proxy_vs_direct

start_nginx

"$herd_bin" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$nginx_port" --quiet >"$tmp/proxy.ready" 2>"$tmp/proxy.stderr" &
proxy_pid=$!
for ((i = 0; i < 50; i++)); do
  [[ -s $tmp/proxy.ready ]] && break
  kill -0 "$proxy_pid" 2>/dev/null || { cat "$tmp/proxy.stderr" >&2; die "herd proxy exited"; }
  sleep 0.1
done
proxy_addr=$(sed -n 's/.*"proxy":"\([^"]*\)".*/\1/p' "$tmp/proxy.ready")
[[ -n $proxy_addr ]] || die "no ready line from herd proxy: $(cat "$tmp/proxy.ready")"
[[ $(http_code "http://$proxy_addr/") == 200 ]] || die "nginx does not answer through the proxy"
direct_url="http://127.0.0.1:$nginx_port/"
proxy_url="http://$proxy_addr/"

# wrk's latency figures ("54.00us", "1.20ms", "2.00s") in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1e6; else f = -1
    if (f < 0) { print "nan"; exit } ; printf "%.1f", n * f }'
}
percentile() { awk -v p="$1" '$1 == p { print $2; exit }' "$2"; }
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
socket_errors() { awk '/Socket errors:/ { print; exit }' "$1"; }

declare -a d50 d99 p50 p99 drps prps pcpu
echo "proxy_vs_direct: nginx on :$nginx_port, herd proxy on $proxy_addr; $ROUNDS rounds" >&2
machine0=$(machine_ticks)
for ((r = 1; r <= ROUNDS; r++)); do
  wrk -t1 -c1 -d"$LAT_DURATION" --latency "$direct_url" >"$tmp/lat-direct-$r.txt"
  wrk -t1 -c1 -d"$LAT_DURATION" --latency "$proxy_url" >"$tmp/lat-proxy-$r.txt"
  d50+=("$(to_us "$(percentile 50% "$tmp/lat-direct-$r.txt")")")
  d99+=("$(to_us "$(percentile 99% "$tmp/lat-direct-$r.txt")")")
  p50+=("$(to_us "$(percentile 50% "$tmp/lat-proxy-$r.txt")")")
  p99+=("$(to_us "$(percentile 99% "$tmp/lat-proxy-$r.txt")")")
  wrk -t2 -c50 -d"$DURATION" "$direct_url" >"$tmp/tput-direct-$r.txt"
  before=$(cpu_ticks "$proxy_pid")
  wrk -t2 -c50 -d"$DURATION" "$proxy_url" >"$tmp/tput-proxy-$r.txt"
  after=$(cpu_ticks "$proxy_pid")
  drps+=("$(rps "$tmp/tput-direct-$r.txt")")
  prps+=("$(rps "$tmp/tput-proxy-$r.txt")")
  seconds=${DURATION%s}
  pcpu+=("$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v rps="${prps[-1]}" -v s="$seconds" \
    'BEGIN { printf "%.3f", (t / hz) / (rps * s) * 100000 }')")
  for f in "$tmp/tput-proxy-$r.txt" "$tmp/lat-proxy-$r.txt"; do
    if [[ -n $(socket_errors "$f") ]]; then echo "  round $r: $(socket_errors "$f") ($f)" >&2; fi
  done
  echo "  round $r: p50 direct ${d50[-1]} us, proxy ${p50[-1]} us; req/s direct ${drps[-1]}, proxy ${prps[-1]}" >&2
done
read -r _ steal1 <<<"$(machine_ticks)"
read -r _ steal0 <<<"$machine0"

m() { printf '%s\n' "$@" | median; }
md50=$(m "${d50[@]}") mp50=$(m "${p50[@]}") md99=$(m "${d99[@]}") mp99=$(m "${p99[@]}")
mdrps=$(m "${drps[@]}") mprps=$(m "${prps[@]}") mpcpu=$(m "${pcpu[@]}")
added50=$(awk -v a="$mp50" -v b="$md50" 'BEGIN { printf "%.1f", a - b }')
added99=$(awk -v a="$mp99" -v b="$md99" 'BEGIN { printf "%.1f", a - b }')
ratio=$(awk -v a="$mprps" -v b="$mdrps" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v a="$added50" -v t="$TARGET_ADDED_P50_US" 'BEGIN { print (a <= t) ? "PASS" : "FAIL" }')
steal=$(awk -v s=$((steal1 - steal0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", s / hz }')

printf '\n%-34s %12s %12s %12s\n' "(medians of $ROUNDS rounds)" direct "via proxy" added
printf '%-34s %12s %12s %12s\n' "latency p50, one request at a time" "${md50} us" "${mp50} us" "${added50} us"
printf '%-34s %12s %12s %12s\n' "latency p99, one request at a time" "${md99} us" "${mp99} us" "${added99} us"
printf '%-34s %12s %12s %12s\n' "requests/s, wrk -t2 -c50" "$mdrps" "$mprps" "ratio $ratio"
printf '%-34s %12s %12s\n' "proxy CPU s per 100k requests" "" "$mpcpu"
printf '\ntarget: added p50 <= %s us: %s (%s us)\n' "$TARGET_ADDED_P50_US" "$verdict" "$added50"
printf 'noise: hypervisor steal during the run: %s s\n' "$steal"

cat >"$OUT/proxy_vs_direct.json" <<EOF
{"rounds": $ROUNDS, "direct_p50_us": $md50, "proxy_p50_us": $mp50, "added_p50_us": $added50,
 "direct_p99_us": $md99, "proxy_p99_us": $mp99, "added_p99_us": $added99,
 "direct_rps": $mdrps, "proxy_rps": $mprps, "throughput_ratio": $ratio,
 "proxy_cpu_s_per_100k": $mpcpu, "steal_s": $steal, "target_added_p50_us": $TARGET_ADDED_P50_US, "verdict": "$verdict"}
EOF
echo "raw results: $OUT/proxy_vs_direct.json" >&2
