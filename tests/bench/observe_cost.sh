#!/usr/bin/env bash
# observe_cost.sh: a benchmark (not a test; CTest does not run it).
#
# What watching kvd costs it. Rounds alternate wrk against kvd alone and
# wrk against kvd while `herd run` observes it: three HTTP probes (liveness,
# shallow, deep) every second, a process monitor (/proc of kvd's pid) and a
# Prometheus monitor (kvd_tasks, kvd_open_connections) sampled every 1 s
# bucket, and one client instance sending a request a second. The figure is
# kvd's throughput under wrk with herd watching / without (target: the
# change is under 2 %).
#
# Usage: tests/bench/observe_cost.sh      (from anywhere in the repo)
# Environment (defaults in brackets):
#   BUILD_DIR [build]   build tree, relative to the repo root or absolute
#   ROUNDS [4]          rounds of (alone, observed); medians are printed
#   DURATION [8]        seconds of each wrk run
#   OUT [/tmp]          directory of observe_cost.json
#   KEEP_TMP [0]        1 keeps the temp dir
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR="$repo_root/$BUILD_DIR"
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-8}
OUT=${OUT:-/tmp}
TARGET_CHANGE_PCT=2

die() { echo "observe_cost: $*" >&2; exit 1; }

herd_bin="$BUILD_DIR/harness/herd"
kvd_bin="$BUILD_DIR/targets/kvd/kvd"
need_binary "$herd_bin" herd
need_binary "$kvd_bin" kvd
need_tools wrk
mkdir -p "$OUT"
kvd_pid="" herd_pid=""
stop_at_exit=(herd_pid kvd_pid)
bench_tmp observe_cost

"$kvd_bin" --http 127.0.0.1:0 --data-dir "$tmp/data" --fsync never >"$tmp/kvd.ready" 2>"$tmp/kvd.stderr" &
kvd_pid=$!
for ((i = 0; i < 50; i++)); do
  [[ -s $tmp/kvd.ready ]] && break
  sleep 0.1
done
kvd_addr=$(sed -n 's/.*"http":"\([^"]*\)".*/\1/p' "$tmp/kvd.ready")
[[ -n $kvd_addr ]] || die "kvd did not start: $(cat "$tmp/kvd.stderr")"
curl -s -o /dev/null -X PUT --data v "http://$kvd_addr/v1/bench"

cat >"$tmp/observe.json" <<EOF
{
  "name": "observe-cost",
  "duration": "$((DURATION + 2))s",
  "bucket": "1s",
  "target": {"url": "http://$kvd_addr"},
  "fleets": [{"instances": 1, "arrival": {"model": "closed", "think": "1s"}}],
  "probes": [
    {"name": "liveness", "path": "/healthz", "period": "1s"},
    {"name": "shallow", "path": "/healthz/shallow", "period": "1s"},
    {"name": "deep", "path": "/healthz/deep", "period": "1s"}
  ],
  "monitors": [
    {"kind": "process", "pid": $kvd_pid},
    {"kind": "prometheus", "series": ["kvd_tasks", "kvd_open_connections"]}
  ]
}
EOF

rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
alone=() observed=()
echo "observe_cost: kvd on $kvd_addr; $ROUNDS rounds of ${DURATION}s" >&2
machine0=$(machine_ticks)
for ((r = 1; r <= ROUNDS; r++)); do
  wrk -t2 -c50 -d"${DURATION}s" "http://$kvd_addr/v1/bench" >"$tmp/alone-$r.txt"
  "$herd_bin" run "$tmp/observe.json" --out "$tmp/run-$r" --quiet >/dev/null 2>"$tmp/herd-$r.stderr" &
  herd_pid=$!
  sleep 1
  wrk -t2 -c50 -d"${DURATION}s" "http://$kvd_addr/v1/bench" >"$tmp/observed-$r.txt"
  wait "$herd_pid" || die "herd run failed: $(tail -3 "$tmp/herd-$r.stderr")"
  herd_pid=""
  alone+=("$(rps "$tmp/alone-$r.txt")")
  observed+=("$(rps "$tmp/observed-$r.txt")")
  checks=$(($(wc -l <"$tmp/run-$r/probes.csv") - 1))
  samples=$(($(wc -l <"$tmp/run-$r/monitors.csv") - 1))
  echo "  round $r: alone ${alone[-1]} req/s, observed ${observed[-1]} req/s ($checks probe checks, $samples monitor samples)" >&2
done
read -r _ steal1 <<<"$(machine_ticks)"
read -r _ steal0 <<<"$machine0"

m() { printf '%s\n' "$@" | median; }
ma=$(m "${alone[@]}") mo=$(m "${observed[@]}")
change=$(awk -v a="$ma" -v o="$mo" 'BEGIN { printf "%.2f", (o - a) / a * 100 }')
verdict=$(awk -v c="$change" -v t="$TARGET_CHANGE_PCT" 'BEGIN { c = c < 0 ? -c : c; print (c < t) ? "PASS" : "FAIL" }')
steal=$(awk -v s=$((steal1 - steal0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", s / hz }')
printf '\nkvd req/s under wrk -t2 -c50 (median of %s rounds): alone %s, observed by herd %s: change %s %%\n' \
  "$ROUNDS" "$ma" "$mo" "$change"
printf 'target: |change| < %s %%: %s\n' "$TARGET_CHANGE_PCT" "$verdict"
printf 'noise: hypervisor steal during the run: %s s; rounds: alone %s / observed %s\n' "$steal" "${alone[*]}" "${observed[*]}"
cat >"$OUT/observe_cost.json" <<EOF
{"rounds": $ROUNDS, "alone_rps": $ma, "observed_rps": $mo, "change_pct": $change,
 "target_change_pct": $TARGET_CHANGE_PCT, "verdict": "$verdict", "steal_s": $steal}
EOF
echo "raw results: $OUT/observe_cost.json" >&2
