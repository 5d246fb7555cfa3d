#!/usr/bin/env bash
# How long `herd report` takes on an hour at 1 s buckets, and how big the
# report is. Targets (issue 6): under 2 s, report.html under 5 MB.
#
# The hour is synthetic (report_test writes it: two fleets, histograms,
# 30 fault windows, a probe every 2 s, monitors every second), so the bench
# needs no hour of load. ROUNDS renders; the median is judged.
#   BUILD_DIR=build ROUNDS=5 bash tests/bench/report_render.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
BUILD_DIR=${BUILD_DIR:-build}
ROUNDS=${ROUNDS:-5}
herd=$BUILD_DIR/harness/herd
report_test=$BUILD_DIR/tests/unit/report_test
need_binary "$herd" herd
need_binary "$report_test" report_test
bench_tmp report-render
dir=$tmp/hour
HERD_KEEP_HOUR_RUN=$dir "$report_test" --gtest_filter='*AnHour*' >/dev/null

times=()
for ((i = 0; i < ROUNDS; i++)); do
  start=$(date +%s%N)
  "$herd" report "$dir" -q
  end=$(date +%s%N)
  times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", (b - a) / 1e9}')")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
bytes=$(stat -c %s "$dir/report.html")
figures=$(du -sb "$dir/figures" | cut -f1)
printf 'herd report, an hour at 1 s buckets (%s rounds)\n' "$ROUNDS"
printf '  render time   median %.2f s  (target < 2 s)   %s\n' "$median" "$(awk -v t="$median" 'BEGIN {print (t < 2) ? "PASS" : "FAIL"}')"
printf '  report.html   %.2f MB        (target < 5 MB)  %s\n' "$(awk -v b="$bytes" 'BEGIN {print b / 1e6}')" \
  "$(awk -v b="$bytes" 'BEGIN {print (b < 5000000) ? "PASS" : "FAIL"}')"
printf '  figures/      %.2f MB\n' "$(awk -v b="$figures" 'BEGIN {print b / 1e6}')"
