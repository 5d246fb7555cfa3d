#!/usr/bin/env bash
# kvd_vs_nginx.sh: a benchmark (not a test; CTest does not run it).
#
# On one machine, in one run, it measures
#   1. the closed-loop throughput of kvd serving `GET /v1/bench` (a 5-byte
#      value) against nginx answering `return 200 "ok"`, with the same wrk
#      settings, and prints kvd/nginx (target >= 0.60);
#   2. kvd's p99 latency when paced at half the throughput it just reached
#      (target < 2 ms). nginx is paced at the same rate as a control: its p99
#      is the floor this machine and load generator allow.
# It also reports the CPU time each server spent per request, and how much CPU
# other processes took meanwhile (on a shared machine, the main noise).
#
# Usage: tests/bench/kvd_vs_nginx.sh            (from anywhere in the repo)
# Environment (defaults in brackets):
#   BUILD_DIR [build]         build tree, relative to the repo root or absolute
#   THREADS [2] CONNECTIONS [50] DURATION [10s]   wrk settings of the max runs
#   WARMUP [2s]               wrk warm-up before each max run (discarded)
#   ROUNDS [2]                rounds of (nginx, kvd); medians are reported
#   PACE_CONNECTIONS [10]     connections of the paced (half capacity) runs
#   PACE_DURATION [5s]        length of each paced run (ROUNDS of nginx, kvd)
#   OUT [/tmp]                directory of kvd_vs_nginx.json (raw results)
#   KEEP_TMP [0]              1 keeps the temp dir (configs, logs, wrk output)
# Exit status: 0 whether the targets are met or not; non-zero only when
# something could not be run (missing tool or binary, a server not starting).
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR="$repo_root/$BUILD_DIR"
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-2}
PACE_CONNECTIONS=${PACE_CONNECTIONS:-10}
PACE_DURATION=${PACE_DURATION:-5s}
OUT=${OUT:-/tmp}
KEEP_TMP=${KEEP_TMP:-0}
TARGET_RATIO=0.60
TARGET_P99_MS=2

die() { echo "kvd_vs_nginx: $*" >&2; exit 1; }

kvd_bin="$BUILD_DIR/targets/kvd/kvd"
need_binary "$kvd_bin" kvd
need_tools wrk
mkdir -p "$OUT"

nginx_pid="" kvd_pid="" load_pid=""
stop_at_exit=(load_pid kvd_pid nginx_pid)
bench_tmp kvd_vs_nginx



# ---- CPU accounting ------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
server_pids() { # server -> pids whose CPU counts
  if [[ $1 == nginx ]]; then
    echo "$nginx_pid" "$( (pgrep -P "$nginx_pid" || true) | tr "\n" " ")"
  else
    echo "$kvd_pid"
  fi
}


# ---- kvd ----------------------------------------------------------------
start_kvd() {
  "$kvd_bin" --http 127.0.0.1:0 --data-dir "$tmp/kvd" --fsync never \
    >"$tmp/kvd.out" 2>"$tmp/kvd.err" &
  kvd_pid=$!
  local i addr="" code
  for ((i = 0; i < 100; i++)); do
    kill -0 "$kvd_pid" 2>/dev/null || break
    addr=$(grep -o '"http":"[^"]*"' "$tmp/kvd.out" 2>/dev/null | head -n 1 | cut -d'"' -f4 || true)
    if [[ -n $addr && $(http_code "http://$addr/readyz") == 200 ]]; then
      kvd_addr=$addr
      break
    fi
    sleep 0.1
  done
  if [[ -z ${kvd_addr:-} ]]; then
    tail -n 5 "$tmp/kvd.err" >&2 || true
    die "kvd did not become ready"
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary hello "http://$kvd_addr/v1/bench")
  [[ $code == 2?? ]] || die "seeding kvd failed (PUT /v1/bench: HTTP $code)"
  [[ $(curl -s "http://$kvd_addr/v1/bench") == hello ]] || die "kvd does not return the seeded value"
  kvd_url="http://$kvd_addr/v1/bench"
}

# ---- wrk ----------------------------------------------------------------
# wrk output file -> "rps requests p50 p75 p90 p99 socket_errors non2xx" (ms)
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/)  return v * 60000
      if (v ~ /s$/)  return v * 1000
      return v + 0
    }
    /^ *50% / { p50 = ms($2) }
    /^ *75% / { p75 = ms($2) }
    /^ *90% / { p90 = ms($2) }
    /^ *99% / { p99 = ms($2) }
    / requests in / { req = $1 }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(/,/, ""); se = $4 + $6 + $8 + $10 }
    END {
      if (rps == "" || p99 == "") exit 1
      printf "%.0f %d %.3f %.3f %.3f %.3f %d %d\n", rps, req, p50, p75, p90, p99, se, non2xx
    }' "$1"
}

# One line per measured run; columns:
#  1 kind (max|paced) 2 server 3 round 4 rps 5 requests 6 p50 7 p75 8 p90
#  9 p99 10 socket_errors 11 non2xx 12 server_cpu_s 13 wrk_cpu_s
#  14 other_cpu_s 15 steal_s 16 wall_s
runs="$tmp/runs.tsv"
: >"$runs"

# measure KIND SERVER ROUND COMMAND...: one measured load-generator run.
measure() {
  local kind=$1 server=$2 round=$3 f="$tmp/wrk.$1.$2.$3.txt"
  shift 3
  local -a pids
  local s0 m0 w0 t0 s1 m1 w1 t1 parsed pid
  read -ra pids <<<"$(server_pids "$server")"
  children_seconds
  s0=$(cpu_ticks "${pids[@]}") m0=$(machine_ticks) w0=$REPLY t0=$(date +%s.%N)
  # In the background and waited for, so that Ctrl-C runs the trap at once.
  "$@" >"$f" &
  load_pid=$!
  wait "$load_pid" || die "$1 failed: $(tail -n 3 "$f")"
  load_pid=""
  children_seconds
  s1=$(cpu_ticks "${pids[@]}") m1=$(machine_ticks) w1=$REPLY t1=$(date +%s.%N)
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "$server (pid $pid) exited during the run; logs in $tmp (KEEP_TMP=1 keeps them)"
  done
  parsed=$(parse_wrk "$f") || { cat "$f" >&2; die "could not parse the output of $*"; }
  awk -v kind="$kind" -v server="$server" -v round="$round" -v parsed="$parsed" -v h="$clk_tck" \
    -v s0="$s0" -v s1="$s1" -v m0="$m0" -v m1="$m1" -v w0="$w0" -v w1="$w1" -v t0="$t0" -v t1="$t1" 'BEGIN {
      split(m0, a, " "); split(m1, b, " ")
      scpu = (s1 - s0) / h; wcpu = w1 - w0
      other = (b[1] - a[1]) / h - scpu - wcpu; if (other < 0) other = 0
      printf "%s %s %s %s %.2f %.2f %.2f %.2f %.2f\n", kind, server, round, parsed, scpu, wcpu, other, (b[2] - a[2]) / h, t1 - t0
    }' >>"$runs"
  tail -n 1 "$runs" | awk '{
    printf "  %-5s %-5s round %s: %7.0f req/s  p50 %6.3f ms  p99 %7.3f ms  server %5.2f us/req  other %.2f steal %.2f cores\n",
      $1, $2, $3, $4, $6, $9, ($5 > 0 ? $12 * 1e6 / $5 : 0), $14 / $16, $15 / $16 }' >&2
}

col() { awk -v k="$1" -v s="$2" -v c="$3" '$1 == k && $2 == s { print $c }' "$runs"; }
colsum() { awk -v k="$1" -v s="$2" -v c="$3" '$1 == k && $2 == s { t += $c } END { printf "%.10g", t }' "$runs"; }

# summarize KIND SERVER: medians of rate and latencies, sums of requests and
# CPU, into S[KIND.SERVER.FIELD]
declare -A S
summarize() {
  local k=$1 s=$2 c=4 name
  for name in rps requests p50 p75 p90 p99; do
    if [[ $name == requests ]]; then S[$k.$s.$name]=$(colsum "$k" "$s" $c); else S[$k.$s.$name]=$(col "$k" "$s" $c | median); fi
    c=$((c + 1))
  done
  S[$k.$s.errors]=$(awk -v k="$k" -v s="$s" '$1 == k && $2 == s { t += $10 + $11 } END { print t + 0 }' "$runs")
  S[$k.$s.cpu]=$(colsum "$k" "$s" 12)
  S[$k.$s.cpu_us]=$(awk -v c="${S[$k.$s.cpu]}" -v n="${S[$k.$s.requests]}" 'BEGIN { printf "%.2f", (n > 0 ? c * 1e6 / n : 0) }')
  S[$k.$s.other]=$(awk -v k="$k" -v s="$s" '$1 == k && $2 == s { o += $14; w += $16 } END { printf "%.2f", (w > 0 ? o / w : 0) }' "$runs")
  S[$k.$s.steal]=$(awk -v k="$k" -v s="$s" '$1 == k && $2 == s { o += $15; w += $16 } END { printf "%.2f", (w > 0 ? o / w : 0) }' "$runs")
}

# ---- run ----------------------------------------------------------------
m0=$(machine_ticks)
sleep 1
m1=$(machine_ticks)
idle_load=$(awk -v a="${m0% *}" -v b="${m1% *}" -v h="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / h }')

start_nginx
start_kvd
echo "kvd   $kvd_url  ($kvd_bin)" >&2
echo "nginx $nginx_url  ($("$nginx_bin" -v 2>&1 | sed 's/.*: //'))" >&2
echo "CPU used by other processes just before the start: $idle_load cores (of $(nproc))" >&2
echo "max: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency after a $WARMUP warm-up; $ROUNDS round(s) of nginx then kvd" >&2

for ((r = 1; r <= ROUNDS; r++)); do
  for s in nginx kvd; do
    if [[ $s == nginx ]]; then url=$nginx_url; else url=$kvd_url; fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null &
    load_pid=$!
    wait "$load_pid" || die "warm-up of $s failed"
    load_pid=""
    measure max $s "$r" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url"
  done
done
summarize max nginx
summarize max kvd
ratio=$(awk -v k="${S[max.kvd.rps]}" -v n="${S[max.nginx.rps]}" 'BEGIN { printf "%.3f", k / n }')
ratio_pass=$(awk -v r="$ratio" -v t=$TARGET_RATIO 'BEGIN { print (r >= t) ? "PASS" : "FAIL" }')

# ---- half capacity, paced -------------------------------------------------
# wrk cannot pace requests; wrk2 can (-R) but is not in Debian. Without it, a
# Lua delay() paces: each wrk thread hands out send slots 1/rate apart and
# every connection waits for its slot (wrk truncates delays to whole ms, so a
# request may go up to 1 ms early; the average rate is unaffected).
half=$(awk -v r="${S[max.kvd.rps]}" 'BEGIN { printf "%d", r / 2 }')
pace_args=()
if command -v wrk2 >/dev/null; then
  pacer="wrk2 -R$half"
  pace_cmd=(wrk2 -t"$THREADS" -c"$PACE_CONNECTIONS" -d"$PACE_DURATION" -R"$half" --latency)
else
  pacer="wrk + Lua delay()"
  cat >"$tmp/pace.lua" <<'EOF'
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } kvd_bench_ts;
  int clock_gettime(int clk, kvd_bench_ts *ts);
]]
local ts = ffi.new("kvd_bench_ts")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) * 1e-6
end
local interval, next_slot
function init(args) interval = 1000 / tonumber(args[1]) end -- ms between sends of this thread
function delay()
  local now = now_ms()
  -- Catch up on slots missed while every connection was busy, but forget
  -- a backlog older than 50 ms rather than burst to pay it back.
  if next_slot == nil or next_slot < now - 50 then next_slot = now end
  local d = next_slot - now
  next_slot = next_slot + interval
  if d < 0 then return 0 end
  return d
end
EOF
  per_thread=$(awk -v r="$half" -v t="$THREADS" 'BEGIN { printf "%.3f", r / t }')
  pace_cmd=(wrk -t"$THREADS" -c"$PACE_CONNECTIONS" -d"$PACE_DURATION" --latency -s "$tmp/pace.lua")
  pace_args=(-- "$per_thread")
fi
echo "paced: $pacer at $half req/s, $PACE_CONNECTIONS connections, $PACE_DURATION each; $ROUNDS round(s) of nginx (control) then kvd" >&2
for ((r = 1; r <= ROUNDS; r++)); do
  measure paced nginx "$r" "${pace_cmd[@]}" "$nginx_url" "${pace_args[@]}"
  measure paced kvd "$r" "${pace_cmd[@]}" "$kvd_url" "${pace_args[@]}"
done
summarize paced nginx
summarize paced kvd
p99_pass=$(awk -v p="${S[paced.kvd.p99]}" -v t=$TARGET_P99_MS 'BEGIN { print (p < t) ? "PASS" : "FAIL" }')
pace_short=$(awk -v a="${S[paced.kvd.rps]}" -v h="$half" 'BEGIN { print (a < 0.95 * h) ? 1 : 0 }')
max_other=$(awk '{ o = $14 / $16; if (o > m) m = o } END { printf "%.2f", m }' "$runs")
max_steal=$(awk '{ o = $15 / $16; if (o > m) m = o } END { printf "%.2f", m }' "$runs")

# ---- report -------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
cpu_model=${cpu_model:-unknown}
ncpu=$(nproc)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kvd_rev=$("$kvd_bin" --version 2>/dev/null | head -n 1 || true)
nginx_rev=$("$nginx_bin" -v 2>&1 | sed 's/.*: //')

echo
echo "kvd vs nginx, $date_utc, $ncpu x $cpu_model"
echo "max: wrk -t$THREADS -c$CONNECTIONS -d$DURATION; paced: $pacer -c$PACE_CONNECTIONS -d$PACE_DURATION at $half req/s"
echo "medians of $ROUNDS round(s); latency in ms; cpu_us/req = server CPU time per request"
echo "other = cores busy with processes other than the server and wrk; steal = cores"
echo "taken by the hypervisor (both are noise: the load generator shares the machine with the servers)"
printf '%-12s %9s %8s %8s %8s %8s %11s %7s %6s %6s\n' run req/s p50 p75 p90 p99 cpu_us/req errors other steal
for k in max paced; do
  for s in nginx kvd; do
    printf '%-12s %9.0f %8.3f %8.3f %8.3f %8.3f %11.2f %7d %6.2f %6.2f\n' "$s $k" "${S[$k.$s.rps]}" "${S[$k.$s.p50]}" \
      "${S[$k.$s.p75]}" "${S[$k.$s.p90]}" "${S[$k.$s.p99]}" "${S[$k.$s.cpu_us]}" "${S[$k.$s.errors]}" "${S[$k.$s.other]}" "${S[$k.$s.steal]}"
  done
done
echo
echo "kvd/nginx throughput ratio: $ratio  (target >= $TARGET_RATIO)  $ratio_pass"
printf 'kvd p99 at ~%.0f req/s (half capacity): %.3f ms (target < %s ms)  %s\n' \
  "${S[paced.kvd.rps]}" "${S[paced.kvd.p99]}" "$TARGET_P99_MS" "$p99_pass"
printf '  (nginx at the same pace: p99 %.3f ms. Paced with %s; wrk times each request\n' "${S[paced.nginx.p99]}" "$pacer"
echo "   from its send, so these p99s are not corrected for coordinated omission)"
if [[ $pace_short == 1 ]]; then
  echo "  WARNING: the paced kvd runs reached ${S[paced.kvd.rps]} of $half req/s: stalls over 50 ms drop send"
  echo "  slots, or PACE_CONNECTIONS is too few for kvd's latency"
fi
for k in max paced; do
  for s in nginx kvd; do
    if ((S[$k.$s.errors] > 0)); then echo "  WARNING: $s ($k) had ${S[$k.$s.errors]} socket errors or non-2xx responses"; fi
  done
done
if awk -v o="$max_other" -v t="$max_steal" 'BEGIN { exit !(o > 0.25 || t > 0.1) }'; then
  echo "  WARNING: the machine was not quiet: during some run other processes kept up to $max_other cores busy"
  echo "  and the hypervisor stole up to $max_steal cores; expect noise, above all in the p99s"
fi

json="$OUT/kvd_vs_nginx.json"
tf() { if [[ $1 == PASS ]]; then echo true; else echo false; fi; }
{
  printf '{\n'
  printf '  "date": "%s",\n  "host": "%s",\n  "cpu_model": "%s",\n  "nproc": %d,\n  "kernel": "%s",\n' \
    "$date_utc" "$(hostname)" "${cpu_model//\"/}" "$ncpu" "$(uname -r)"
  printf '  "kvd_bin": "%s",\n  "kvd_version": "%s",\n  "nginx_version": "%s",\n  "other_load_before_cores": %s,\n' \
    "$kvd_bin" "${kvd_rev//\"/}" "$nginx_rev" "$idle_load"
  printf '  "settings": {"threads": %d, "connections": %d, "duration": "%s", "warmup": "%s", "rounds": %d, ' \
    "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS"
  printf '"pace_rps": %d, "pace_connections": %d, "pace_duration": "%s", "pacer": "%s"},\n' \
    "$half" "$PACE_CONNECTIONS" "$PACE_DURATION" "$pacer"
  printf '  "runs": [\n'
  awk '{
    printf "%s    {\"kind\": \"%s\", \"server\": \"%s\", \"round\": %d, \"rps\": %s, \"requests\": %s, \"p50_ms\": %s, \"p75_ms\": %s, \"p90_ms\": %s, \"p99_ms\": %s, \"socket_errors\": %s, \"non2xx\": %s, \"server_cpu_s\": %s, \"wrk_cpu_s\": %s, \"other_cpu_s\": %s, \"steal_s\": %s, \"wall_s\": %s, \"server_cpu_us_per_req\": %.2f}",
      (NR > 1 ? ",\n" : ""), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, ($5 > 0 ? $12 * 1e6 / $5 : 0)
  } END { print "" }' "$runs"
  printf '  ],\n  "summary": {\n'
  for k in max paced; do
    for s in nginx kvd; do
      printf '    "%s_%s": {"rps": %s, "p50_ms": %s, "p75_ms": %s, "p90_ms": %s, "p99_ms": %s, "requests": %s, "server_cpu_s": %s, "server_cpu_us_per_req": %s, "errors": %s, "other_cores": %s, "steal_cores": %s},\n' \
        "$s" "$k" "${S[$k.$s.rps]}" "${S[$k.$s.p50]}" "${S[$k.$s.p75]}" "${S[$k.$s.p90]}" "${S[$k.$s.p99]}" \
        "${S[$k.$s.requests]}" "${S[$k.$s.cpu]}" "${S[$k.$s.cpu_us]}" "${S[$k.$s.errors]}" "${S[$k.$s.other]}" "${S[$k.$s.steal]}"
    done
  done
  printf '    "ratio": %s, "ratio_target": %s, "ratio_pass": %s,\n' "$ratio" "$TARGET_RATIO" "$(tf "$ratio_pass")"
  printf '    "half_capacity_p99_ms": %s, "p99_target_ms": %s, "p99_pass": %s, "coordinated_omission_corrected": %s\n' \
    "${S[paced.kvd.p99]}" "$TARGET_P99_MS" "$(tf "$p99_pass")" "$([[ $pacer == wrk2* ]] && echo true || echo false)"
  printf '  }\n}\n'
} >"$json"
echo "raw results: $json"
