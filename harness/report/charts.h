// The report's charts, built from a run's files: what each chart shows is
// decided here, how it is drawn in report/svg.h.
//
// Every chart spans one time axis, [0, end_s] or longer when monitors kept
// sampling after the load (their idle tail), the same for every chart of a
// run, and carries every applied fault window of faults.csv (labelled
// "<kind> r<replica>"), so a reader lines up cause and effect across charts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/run_data.h"
#include "report/svg.h"

namespace herd {

// In this order (ids in quotes; <fleet> is the fleet name as a slug):
// - "throughput-<fleet>": offered, attempts and goodput (succeeded) per
//   second, one per fleet;
// - "outcomes-<fleet>": attempts per second by outcome, stacked, one colour
//   per outcome (ok, not_found, throttled, shed, server_error,
//   client_error, timeout, refused, reset, other_error), outcomes never
//   seen in the run left out of the legend;
// - "latency-<fleet>": attempt latency p50, p90, p99 (solid) and
//   end-to-end p50, p90, p99 (dashed, same colours) in ms; log scale when
//   the values span more than two decades;
// - "in-flight": attempts in flight at each bucket's end, a line per fleet;
// - "probes": one state row per probe and replica (only when probes.csv
//   has checks); a check's state holds until the next check;
// - "monitor-<monitor>-<series>": one line per replica with its Theil-Sen
//   trend line (dashed) over the load; the note gives each replica's slope
//   per minute, Mann-Kendall p and leak verdict from summary.json's
//   analyses when present.
// A run with no timeseries rows still gets its charts, each saying "no data".
std::vector<Chart> BuildCharts(const RunData& run);

// compare.html's charts: throughput and latency of each fleet present in
// both runs, the base run dashed and labelled "(base)", the candidate
// solid; the time axis spans the longer run, the windows are the
// candidate's. Ids as in BuildCharts with the prefix "compare-".
std::vector<Chart> BuildCompareCharts(const RunData& base, const RunData& candidate);

// The applied windows of faults.csv ("not applied" rows left out).
std::vector<ChartWindow> FaultWindows(const RunData& run);

// "clients" -> "clients", "Big Fleet #2" -> "big-fleet-2": [a-z0-9-]+, never empty.
std::string Slug(std::string_view name);

}  // namespace herd
