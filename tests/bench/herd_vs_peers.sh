#!/usr/bin/env bash
# herd_vs_peers.sh: a benchmark (not a test; CTest does not run it).
#
# On one machine, in one run, against one nginx answering `return 200 "ok"`
# on loopback, it measures
#   1. throughput and client CPU: herd (closed model, 50 instances with a
#      connection each, no think time, no retries) against wrk -t1 (one
#      thread, like herd), wrk -t2 (for reference), hey and ab -k, all with
#      50 connections for the same time. It prints requests/s and the CPU
#      seconds each client spent per 100,000 requests, and the ratios
#      herd/wrk -t1 (target: CPU at most 1.5x) and herd/hey (target: below 1);
#   2. rate holding: herd's open model at RATE (20,000) requests/s; every full
#      1 s bucket of timeseries.csv must be within 1 % of the rate;
#   3. memory: herd's peak RSS with 100,000 idle instances (a model target,
#      instances that do not start within the run) less that with 1 instance,
#      per instance (target < 1 KiB).
# It also reports how much CPU other processes took meanwhile (the noise).
#
# Usage: tests/bench/herd_vs_peers.sh           (from anywhere in the repo)
# Environment (defaults in brackets):
#   BUILD_DIR [build]        build tree, relative to the repo root or absolute
#   DURATION [10s]           length of each throughput run (whole seconds)
#   CONNECTIONS [50]         connections (herd: instances) of the throughput runs
#   ROUNDS [2]               rounds of (wrk -t1, wrk -t2, hey, ab, herd);
#                            requests and CPU are summed, req/s is the median
#   RATE [20000]             requests/s of the open-model run
#   RATE_INSTANCES [200]     instances of the open-model run
#   RATE_DURATION [10s]      length of the open-model run
#   IDLE_INSTANCES [100000]  instances of the memory run
#   IDLE_DURATION [5s]       length of each memory run (wall clock)
#   OUT [/tmp]               directory of herd_vs_peers.json (raw results)
#   KEEP_TMP [0]             1 keeps the temp dir (scenarios, run dirs, outputs)
# Exit status: 0 whether the targets are met or not; non-zero only when
# something could not be run (missing tool or binary, nginx not starting, a
# client failing or printing what cannot be parsed).
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR="$repo_root/$BUILD_DIR"
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-50}
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-20000}
RATE_INSTANCES=${RATE_INSTANCES:-200}
RATE_DURATION=${RATE_DURATION:-10s}
IDLE_INSTANCES=${IDLE_INSTANCES:-100000}
IDLE_DURATION=${IDLE_DURATION:-5s}
OUT=${OUT:-/tmp}
KEEP_TMP=${KEEP_TMP:-0}
TARGET_CPU_VS_WRK=1.5 # herd CPU/request at most this times wrk -t1's
TARGET_CPU_VS_HEY=1.0 # ... and below hey's
TARGET_RATE_PCT=1     # each full second within this % of RATE
TARGET_IDLE_BYTES=1024

die() { echo "herd_vs_peers: $*" >&2; exit 1; }

seconds_of() { # "10s" or "10" -> 10
  [[ $1 =~ ^([0-9]+)s?$ ]] || die "$2 must be whole seconds such as 10s, not '$1'"
  echo "${BASH_REMATCH[1]}"
}
dur_s=$(seconds_of "$DURATION" DURATION)
rate_dur_s=$(seconds_of "$RATE_DURATION" RATE_DURATION)
idle_dur_s=$(seconds_of "$IDLE_DURATION" IDLE_DURATION)

herd_bin="$BUILD_DIR/harness/herd"
need_binary "$herd_bin" herd
need_tools wrk hey ab
# GNU time gives each client's exact peak RSS (getrusage); without it CPU
# comes from bash's `times` and peak RSS from polling /proc/PID/status.
gnu_time=""
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%M' -o /dev/null true 2>/dev/null; then gnu_time=/usr/bin/time; fi
mkdir -p "$OUT"

nginx_pid="" load_pid=""
stop_at_exit=(load_pid nginx_pid)
bench_tmp herd_vs_peers



# ---- CPU accounting ------------------------------------------------------
clk_tck=$(getconf CLK_TCK)
nginx_pids() { echo "$nginx_pid" "$( (pgrep -P "$nginx_pid" || true) | tr "\n" " ")"; }

# timed LABEL COMMAND...: runs COMMAND (stdout to $tmp/LABEL.out, stderr to
# $tmp/LABEL.err) and sets T_CPU (its CPU seconds, children included),
# T_RSS_KB (peak RSS), T_WALL, T_NGINX (nginx's CPU seconds meanwhile),
# T_OTHER and T_STEAL (CPU seconds of everything else, and stolen).
timed() {
  local label=$1
  shift
  local -a npids cmd
  local c0 c1 m0 m1 n0 n1 t0 t1 rc=0 hwm=0 k v _
  read -ra npids <<<"$(nginx_pids)"
  cmd=("$@")
  [[ -n $gnu_time ]] && cmd=("$gnu_time" -o "$tmp/$label.time" -f '%U %S %M' "$@")
  children_seconds
  c0=$REPLY n0=$(cpu_ticks "${npids[@]}") m0=$(machine_ticks) t0=$(date +%s.%N)
  # In the background and waited for, so that Ctrl-C runs the trap at once.
  "${cmd[@]}" >"$tmp/$label.out" 2>"$tmp/$label.err" &
  load_pid=$!
  if [[ -z $gnu_time ]]; then
    # VmHWM only grows: the last read before exit is (nearly) the peak.
    while kill -0 "$load_pid" 2>/dev/null; do
      while read -r k v _; do
        [[ $k == VmHWM: ]] && hwm=$v
      done 2>/dev/null <"/proc/$load_pid/status" || true
      sleep 0.1
    done
  fi
  wait "$load_pid" || rc=$?
  load_pid=""
  children_seconds
  c1=$REPLY n1=$(cpu_ticks "${npids[@]}") m1=$(machine_ticks) t1=$(date +%s.%N)
  if ((rc != 0)); then
    tail -n 5 "$tmp/$label.err" "$tmp/$label.out" >&2 2>/dev/null || true
    die "$* exited with status $rc"
  fi
  for pid in "${npids[@]}"; do
    kill -0 "$pid" 2>/dev/null || die "nginx (pid $pid) exited during $label; logs in $tmp (KEEP_TMP=1 keeps them)"
  done
  if [[ -n $gnu_time ]]; then
    read -r T_CPU T_RSS_KB < <(awk 'END { printf "%.2f %d\n", $1 + $2, $3 }' "$tmp/$label.time")
  else
    T_CPU=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    T_RSS_KB=$hwm
  fi
  read -r T_WALL T_NGINX T_OTHER T_STEAL < <(awk -v h="$clk_tck" -v c="$T_CPU" -v n0="$n0" -v n1="$n1" \
    -v m0="$m0" -v m1="$m1" -v t0="$t0" -v t1="$t1" 'BEGIN {
      split(m0, a, " "); split(m1, b, " ")
      n = (n1 - n0) / h; o = (b[1] - a[1]) / h - n - c; if (o < 0) o = 0
      printf "%.3f %.2f %.2f %.2f\n", t1 - t0, n, o, (b[2] - a[2]) / h
    }')
}

# ---- output parsers: each prints "requests errors elapsed_s" --------------
parse_wrk() {
  awk '
    / requests in / { req = $1; d = $4; sub(/,$/, "", d)
      if (d ~ /ms$/) el = d / 1000; else if (d ~ /m$/) el = d * 60; else el = d + 0 }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    END { if (req == "" || el <= 0) exit 1; printf "%d %d %.3f\n", req, err, el }' "$1"
}
parse_hey() {
  awk '
    /^ *Total:/ { el = $2 }
    /^Status code distribution:/ { sec = "status"; next }
    /^Error distribution:/ { sec = "error"; next }
    /^[A-Z]/ { sec = "" }
    sec == "status" && /^ *\[[0-9]+\]/ { code = $1; gsub(/[][]/, "", code); req += $2; if (code !~ /^2/) err += $2 }
    sec == "error" && /^ *\[[0-9]+\]/ { n = $1; gsub(/[][]/, "", n); req += n; err += n }
    END { if (req == "" || el <= 0) exit 1; printf "%d %d %.3f\n", req, err, el }' "$1"
}
parse_ab() {
  awk '
    /^Complete requests:/ { req = $3 }
    /^Failed requests:/ { err += $3 }
    /^Non-2xx responses:/ { err += $3 }
    /^Time taken for tests:/ { el = $5 }
    END { if (req == "" || el <= 0) exit 1; printf "%d %d %.3f\n", req, err, el }' "$1"
}
# herd's summary.json (pretty-printed, two spaces an indent level): the run's
# totals are the top-level "totals" object.
summary_field() { # file key [top|totals|outcomes]
  awk -v key="\"$2\":" -v where="${3:-top}" '
    /^  "totals": \{/ { in_totals = 1; next }
    in_totals && /^  \}/ { in_totals = 0 }
    where == "top" && $0 ~ "^  " key { v = $2 }
    where == "totals" && in_totals && $0 ~ "^    " key { v = $2 }
    where == "outcomes" && in_totals && $0 ~ "^      " key { v = $2 }
    END { sub(/,$/, "", v); if (v == "") exit 1; print v }' "$1"
}
parse_herd() { # run dir
  local s="$1/summary.json" att ok el
  att=$(summary_field "$s" attempts totals) && ok=$(summary_field "$s" ok outcomes) &&
    el=$(summary_field "$s" elapsed_s) || return 1
  echo "$att $((att - ok)) $el"
}


# ---- herd scenarios ---------------------------------------------------------
write_scenarios() {
  cat >"$tmp/closed.json" <<EOF
{
  "name": "bench-closed",
  "duration": "${dur_s}s",
  "target": {"url": "http://127.0.0.1:$nginx_port"},
  "fleets": [{
    "name": "clients",
    "instances": $CONNECTIONS,
    "arrival": {"model": "closed", "think": "0s"},
    "connections": "per_instance",
    "timeout": "5s",
    "retry": {"strategy": "none"},
    "workload": {"mix": {"get": 1}}
  }]
}
EOF
  cat >"$tmp/open.json" <<EOF
{
  "name": "bench-open",
  "duration": "${rate_dur_s}s",
  "bucket": "1s",
  "target": {"url": "http://127.0.0.1:$nginx_port"},
  "fleets": [{
    "name": "clients",
    "instances": $RATE_INSTANCES,
    "arrival": {"model": "open", "rate": $RATE},
    "connections": "per_instance",
    "timeout": "5s",
    "retry": {"strategy": "none"},
    "workload": {"mix": {"get": 1}}
  }]
}
EOF
  # Idle instances: instance i starts at a uniform random time within
  # start_spread, so a spread of 10,000 h starts ~0.01 of 100,000 instances
  # in 5 s (a spread of 1 h would start ~140 of them, each then busy).
  local n
  for n in "$IDLE_INSTANCES" 1; do
    cat >"$tmp/idle-$n.json" <<EOF
{
  "name": "bench-idle",
  "duration": "${idle_dur_s}s",
  "target": {"model": {"latency": "1ms"}},
  "fleets": [{
    "name": "clients",
    "instances": $n,
    "start_spread": "10000h",
    "arrival": {"model": "closed", "think": "0s"},
    "timeout": "5s",
    "retry": {"strategy": "none"}
  }]
}
EOF
  done
  for f in closed open "idle-$IDLE_INSTANCES" idle-1; do
    "$herd_bin" validate "$tmp/$f.json" >"$tmp/validate.out" 2>&1 || { cat "$tmp/validate.out" >&2; die "herd rejects $tmp/$f.json"; }
  done
}

# ---- run ----------------------------------------------------------------
m0=$(machine_ticks)
sleep 1
m1=$(machine_ticks)
idle_load=$(awk -v a="${m0% *}" -v b="${m1% *}" -v h="$clk_tck" 'BEGIN { printf "%.2f", (b - a) / h }')

start_nginx
write_scenarios
herd_rev=$("$herd_bin" version 2>/dev/null | head -n 1 || true)
nginx_rev=$("$nginx_bin" -v 2>&1 | sed 's/.*: //')
echo "nginx $nginx_url ($nginx_rev); herd $herd_bin ($herd_rev)" >&2
echo "CPU used by other processes just before the start: $idle_load cores (of $(nproc))" >&2
others=$(pgrep -a -f '(^|/)herd run ' 2>/dev/null | grep -v "$tmp" | head -n 3 || true)
[[ -z $others ]] || echo "note: other herd runs are going on: $others" >&2
echo "throughput: $ROUNDS round(s) of wrk -t1, wrk -t2, hey, ab, herd; ${dur_s}s each, $CONNECTIONS connections" >&2
wrk -t1 -c"$CONNECTIONS" -d1s "$nginx_url" >/dev/null || die "wrk warm-up failed"

# One line per throughput run; columns:
#  1 client 2 round 3 requests 4 errors 5 elapsed_s 6 rps 7 cpu_s
#  8 rss_kb 9 nginx_cpu_s 10 other_cpu_s 11 steal_s 12 wall_s
runs="$tmp/runs.tsv"
: >"$runs"
clients=(wrk-t1 wrk-t2 hey ab herd)
declare -A DESC=(
  [wrk-t1]="wrk -t1 -c$CONNECTIONS -d${dur_s}s"
  [wrk-t2]="wrk -t2 -c$CONNECTIONS -d${dur_s}s"
  [hey]="hey -z ${dur_s}s -c $CONNECTIONS"
  [ab]="ab -k -c $CONNECTIONS -t $dur_s"
  [herd]="herd closed x$CONNECTIONS"
)
for ((r = 1; r <= ROUNDS; r++)); do
  for c in "${clients[@]}"; do
    label="$c.$r"
    case $c in
      wrk-t1) timed "$label" wrk -t1 -c"$CONNECTIONS" -d"${dur_s}s" "$nginx_url" ;;
      wrk-t2) timed "$label" wrk -t2 -c"$CONNECTIONS" -d"${dur_s}s" "$nginx_url" ;;
      hey) timed "$label" hey -z "${dur_s}s" -c "$CONNECTIONS" "$nginx_url" ;;
      ab) timed "$label" ab -k -c "$CONNECTIONS" -t "$dur_s" -n 100000000 "$nginx_url" ;;
      herd) timed "$label" "$herd_bin" run "$tmp/closed.json" --out "$tmp/$label.run" --quiet ;;
    esac
    case $c in
      wrk-*) parsed=$(parse_wrk "$tmp/$label.out") ;;
      hey) parsed=$(parse_hey "$tmp/$label.out") ;;
      ab) parsed=$(parse_ab "$tmp/$label.out") ;;
      herd) parsed=$(parse_herd "$tmp/$label.run") ;;
    esac || { cat "$tmp/$label.out" >&2; die "could not parse the output of ${DESC[$c]}"; }
    read -r req err el <<<"$parsed"
    awk -v c="$c" -v r="$r" -v req="$req" -v err="$err" -v el="$el" -v cpu="$T_CPU" -v rss="$T_RSS_KB" \
      -v n="$T_NGINX" -v o="$T_OTHER" -v s="$T_STEAL" -v w="$T_WALL" 'BEGIN {
        printf "%s %d %d %d %.3f %.0f %.2f %d %.2f %.2f %.2f %.3f\n", c, r, req, err, el, req / el, cpu, rss, n, o, s, w
      }' >>"$runs"
    tail -n 1 "$runs" | awk '{
      printf "  %-6s round %s: %7.0f req/s  cpu %5.2f s = %5.2f s/100k req  errors %d  other %.2f steal %.2f cores\n",
        $1, $2, $6, $7, ($3 > 0 ? $7 * 1e5 / $3 : 0), $4, $10 / $12, $11 / $12 }' >&2
  done
done

declare -A S
for c in "${clients[@]}"; do
  S[$c.rps]=$(awk -v c="$c" '$1 == c { print $6 }' "$runs" | median)
  read -r "S[$c.req]" "S[$c.err]" "S[$c.cpu]" "S[$c.nginx]" "S[$c.other]" "S[$c.steal]" "S[$c.rss]" < <(awk -v c="$c" '$1 == c {
      q += $3; e += $4; u += $7; n += $9; o += $10; s += $11; w += $12; if ($8 > m) m = $8 }
    END { printf "%d %d %.2f %.2f %.2f %.2f %d\n", q, e, u, n, (w > 0 ? o / w : 0), (w > 0 ? s / w : 0), m }' "$runs")
  S[$c.per100k]=$(awk -v u="${S[$c.cpu]}" -v q="${S[$c.req]}" 'BEGIN { printf "%.3f", (q > 0 ? u * 1e5 / q : 0) }')
  S[$c.nginx100k]=$(awk -v u="${S[$c.nginx]}" -v q="${S[$c.req]}" 'BEGIN { printf "%.3f", (q > 0 ? u * 1e5 / q : 0) }')
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
rps_vs_wrk=$(ratio "${S[herd.rps]}" "${S[wrk-t1.rps]}")
rps_vs_hey=$(ratio "${S[herd.rps]}" "${S[hey.rps]}")
cpu_vs_wrk=$(ratio "${S[herd.per100k]}" "${S[wrk-t1.per100k]}")
cpu_vs_hey=$(ratio "${S[herd.per100k]}" "${S[hey.per100k]}")
cpu_vs_wrk_pass=$(awk -v r="$cpu_vs_wrk" -v t=$TARGET_CPU_VS_WRK 'BEGIN { print (r <= t) ? "PASS" : "FAIL" }')
cpu_vs_hey_pass=$(awk -v r="$cpu_vs_hey" -v t=$TARGET_CPU_VS_HEY 'BEGIN { print (r < t) ? "PASS" : "FAIL" }')

# ---- rate holding ------------------------------------------------------------
echo "rate: herd open model at $RATE req/s, $RATE_INSTANCES instances, ${rate_dur_s}s" >&2
timed rate "$herd_bin" run "$tmp/open.json" --out "$tmp/rate.run" --quiet
rate_summary="$tmp/rate.run/summary.json"
if ! { rate_el=$(summary_field "$rate_summary" elapsed_s) && rate_bucket=$(summary_field "$rate_summary" bucket_s) &&
  rate_att=$(summary_field "$rate_summary" attempts totals) && rate_ok=$(summary_field "$rate_summary" ok outcomes); }; then
  die "could not parse $rate_summary"
fi
rate_cpu=$T_CPU rate_other=$(awk -v o="$T_OTHER" -v w="$T_WALL" 'BEGIN { printf "%.2f", o / w }')
rate_steal=$(awk -v o="$T_STEAL" -v w="$T_WALL" 'BEGIN { printf "%.2f", o / w }')
# Full buckets only (t_s + bucket_s <= elapsed_s): "t offered attempts" lines.
awk -F, -v el="$rate_el" -v b="$rate_bucket" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  $col["t_s"] + b <= el + 1e-6 { print $col["t_s"], $col["offered"], $col["attempts"] }' \
  "$tmp/rate.run/timeseries.csv" >"$tmp/rate.buckets"
[[ -s $tmp/rate.buckets ]] || die "no full bucket in $tmp/rate.run/timeseries.csv"
read -r rate_buckets rate_dev_off rate_dev_att rate_min rate_max < <(awk -v rate="$RATE" -v b="$rate_bucket" '{
    want = rate * b; d = ($2 - want) / want * 100; if (d < 0) d = -d; if (d > mo) mo = d
    d = ($3 - want) / want * 100; if (d < 0) d = -d; if (d > ma) ma = d
    if (NR == 1 || $3 < lo) lo = $3; if ($3 > hi) hi = $3
  } END { printf "%d %.2f %.2f %d %d\n", NR, mo, ma, lo, hi }' "$tmp/rate.buckets")
rate_per_bucket=$(awk '{ printf "%s%d", (NR > 1 ? " " : ""), $3 }' "$tmp/rate.buckets")
rate_pass=$(awk -v d="$rate_dev_att" -v o="$rate_dev_off" -v t=$TARGET_RATE_PCT 'BEGIN { print (d <= t && o <= t) ? "PASS" : "FAIL" }')

# ---- memory -----------------------------------------------------------------
echo "memory: herd with $IDLE_INSTANCES idle instances, then 1, on a model target, ${idle_dur_s}s on the wall clock" >&2
declare -A M
for n in "$IDLE_INSTANCES" 1; do
  timed "idle-$n" "$herd_bin" run "$tmp/idle-$n.json" --real-time --out "$tmp/idle-$n.run" --quiet
  M[$n.rss]=$T_RSS_KB
  M[$n.cpu]=$T_CPU
  M[$n.att]=$(summary_field "$tmp/idle-$n.run/summary.json" attempts totals) || die "could not parse idle-$n's summary"
  M[$n.virtual]=$(summary_field "$tmp/idle-$n.run/summary.json" virtual_time) || M[$n.virtual]=unknown
  echo "  $n instance(s): peak RSS ${M[$n.rss]} KiB, cpu ${M[$n.cpu]} s, ${M[$n.att]} attempts, virtual_time ${M[$n.virtual]}" >&2
done
[[ ${M[$IDLE_INSTANCES.virtual]} == false ]] || echo "  WARNING: the memory run was not on the wall clock" >&2
idle_bytes=$(awk -v a="${M[$IDLE_INSTANCES.rss]}" -v b="${M[1.rss]}" -v n="$IDLE_INSTANCES" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')
idle_pass=$(awk -v v="$idle_bytes" -v t=$TARGET_IDLE_BYTES 'BEGIN { print (v < t) ? "PASS" : "FAIL" }')
rss_how=$([[ -n $gnu_time ]] && echo "getrusage maxrss via $gnu_time" || echo "VmHWM polled every 0.1 s")

# ---- report -------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
cpu_model=${cpu_model:-unknown}
ncpu=$(nproc)
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
max_other=$(awk '{ o = $10 / $12; if (o > m) m = o } END { printf "%.2f", m }' "$runs")
max_steal=$(awk '{ o = $11 / $12; if (o > m) m = o } END { printf "%.2f", m }' "$runs")

echo
echo "herd vs wrk, hey and ab, $date_utc, $ncpu x $cpu_model"
echo "against nginx $nginx_rev return 200 on loopback; $CONNECTIONS connections, ${dur_s}s per run, $ROUNDS round(s)"
echo "req/s: median over rounds; cpu: the client's own user+system time, summed over rounds;"
echo "nginx: the server's CPU meanwhile; other/steal: cores busy with anything else / stolen (noise)"
printf '%-22s %9s %11s %8s %13s %13s %7s %9s %6s %6s\n' client req/s requests cpu_s "cpu_s/100k" "nginx_s/100k" errors rss_KiB other steal
for c in "${clients[@]}"; do
  printf '%-22s %9.0f %11d %8.2f %13.3f %13.3f %7d %9d %6.2f %6.2f\n' "${DESC[$c]}" "${S[$c.rps]}" "${S[$c.req]}" \
    "${S[$c.cpu]}" "${S[$c.per100k]}" "${S[$c.nginx100k]}" "${S[$c.err]}" "${S[$c.rss]}" "${S[$c.other]}" "${S[$c.steal]}"
done
echo
echo "herd / wrk -t1: req/s $rps_vs_wrk, CPU per request $cpu_vs_wrk (target <= $TARGET_CPU_VS_WRK)  $cpu_vs_wrk_pass"
echo "herd / hey:     req/s $rps_vs_hey, CPU per request $cpu_vs_hey (target < $TARGET_CPU_VS_HEY)  $cpu_vs_hey_pass"
printf 'rate: open model at %d req/s, %d full 1 s buckets: attempts per bucket %s\n' "$RATE" "$rate_buckets" "$rate_per_bucket"
printf '  max deviation: attempts %.2f %%, offered %.2f %% (target <= %s %% each)  %s   (herd cpu %.2f s = %.2f cores; %d attempts, %d not ok; other %.2f steal %.2f cores)\n' \
  "$rate_dev_att" "$rate_dev_off" "$TARGET_RATE_PCT" "$rate_pass" "$rate_cpu" \
  "$(awk -v c="$rate_cpu" -v e="$rate_el" 'BEGIN { print c / e }')" "$rate_att" "$((rate_att - rate_ok))" "$rate_other" "$rate_steal"
printf 'memory: peak RSS %d KiB with %d idle instances, %d KiB with 1: %d bytes per instance (target < %d)  %s  (%s)\n' \
  "${M[$IDLE_INSTANCES.rss]}" "$IDLE_INSTANCES" "${M[1.rss]}" "$idle_bytes" "$TARGET_IDLE_BYTES" "$idle_pass" "$rss_how"
for c in "${clients[@]}"; do
  if ((S[$c.err] > 0)); then echo "  WARNING: ${DESC[$c]} had ${S[$c.err]} errors or non-2xx responses"; fi
done
if awk -v o="$max_other" -v t="$max_steal" -v r="$rate_other" 'BEGIN { exit !(o > 0.25 || t > 0.1 || r > 0.25) }'; then
  echo "  WARNING: the machine was not quiet: during some run other processes kept up to $max_other cores busy"
  echo "  (rate run: $rate_other) and the hypervisor stole up to $max_steal cores; expect noise"
fi

json="$OUT/herd_vs_peers.json"
tf() { if [[ $1 == PASS ]]; then echo true; else echo false; fi; }
{
  printf '{\n'
  printf '  "date": "%s",\n  "host": "%s",\n  "cpu_model": "%s",\n  "nproc": %d,\n  "kernel": "%s",\n' \
    "$date_utc" "$(hostname)" "${cpu_model//\"/}" "$ncpu" "$(uname -r)"
  printf '  "herd_bin": "%s",\n  "herd_version": "%s",\n  "nginx_version": "%s",\n  "other_load_before_cores": %s,\n' \
    "$herd_bin" "${herd_rev//\"/}" "$nginx_rev" "$idle_load"
  printf '  "settings": {"duration_s": %d, "connections": %d, "rounds": %d, "rate": %s, "rate_instances": %d, "rate_duration_s": %d, "idle_instances": %d, "idle_duration_s": %d, "rss_measure": "%s"},\n' \
    "$dur_s" "$CONNECTIONS" "$ROUNDS" "$RATE" "$RATE_INSTANCES" "$rate_dur_s" "$IDLE_INSTANCES" "$idle_dur_s" "$rss_how"
  printf '  "runs": [\n'
  awk '{
    printf "%s    {\"client\": \"%s\", \"round\": %d, \"requests\": %d, \"errors\": %d, \"elapsed_s\": %s, \"rps\": %s, \"cpu_s\": %s, \"cpu_s_per_100k\": %.3f, \"rss_kib\": %d, \"nginx_cpu_s\": %s, \"other_cpu_s\": %s, \"steal_s\": %s, \"wall_s\": %s}",
      (NR > 1 ? ",\n" : ""), $1, $2, $3, $4, $5, $6, $7, ($3 > 0 ? $7 * 1e5 / $3 : 0), $8, $9, $10, $11, $12
  } END { print "" }' "$runs"
  printf '  ],\n  "throughput": {\n'
  for c in "${clients[@]}"; do
    printf '    "%s": {"command": "%s", "rps": %s, "requests": %s, "errors": %s, "cpu_s": %s, "cpu_s_per_100k": %s, "nginx_cpu_s_per_100k": %s, "other_cores": %s, "steal_cores": %s},\n' \
      "$c" "${DESC[$c]}" "${S[$c.rps]}" "${S[$c.req]}" "${S[$c.err]}" "${S[$c.cpu]}" "${S[$c.per100k]}" "${S[$c.nginx100k]}" "${S[$c.other]}" "${S[$c.steal]}"
  done
  printf '    "herd_vs_wrk_t1": {"rps_ratio": %s, "cpu_ratio": %s, "target": %s, "pass": %s},\n' \
    "$rps_vs_wrk" "$cpu_vs_wrk" "$TARGET_CPU_VS_WRK" "$(tf "$cpu_vs_wrk_pass")"
  printf '    "herd_vs_hey": {"rps_ratio": %s, "cpu_ratio": %s, "target_below": %s, "pass": %s}\n  },\n' \
    "$rps_vs_hey" "$cpu_vs_hey" "$TARGET_CPU_VS_HEY" "$(tf "$cpu_vs_hey_pass")"
  printf '  "rate": {"rate": %s, "instances": %d, "elapsed_s": %s, "full_buckets": %d, "attempts_per_bucket": [%s], ' \
    "$RATE" "$RATE_INSTANCES" "$rate_el" "$rate_buckets" "${rate_per_bucket// /, }"
  printf '"offered_per_bucket": [%s], "min_attempts": %d, "max_attempts": %d, "max_dev_attempts_pct": %s, "max_dev_offered_pct": %s, "target_pct": %s, "pass": %s, ' \
    "$(awk '{ printf "%s%d", (NR > 1 ? ", " : ""), $2 }' "$tmp/rate.buckets")" "$rate_min" "$rate_max" "$rate_dev_att" "$rate_dev_off" "$TARGET_RATE_PCT" "$(tf "$rate_pass")"
  printf '"attempts": %d, "not_ok": %d, "herd_cpu_s": %s, "other_cores": %s, "steal_cores": %s},\n' \
    "$rate_att" "$((rate_att - rate_ok))" "$rate_cpu" "$rate_other" "$rate_steal"
  printf '  "memory": {"instances": %d, "peak_rss_kib": %d, "baseline_peak_rss_kib": %d, "bytes_per_instance": %s, "target_below": %d, "pass": %s, "attempts": %d, "virtual_time": %s}\n' \
    "$IDLE_INSTANCES" "${M[$IDLE_INSTANCES.rss]}" "${M[1.rss]}" "$idle_bytes" "$TARGET_IDLE_BYTES" "$(tf "$idle_pass")" \
    "${M[$IDLE_INSTANCES.att]}" "${M[$IDLE_INSTANCES.virtual]}"
  printf '}\n'
} >"$json"
echo "raw results: $json"
