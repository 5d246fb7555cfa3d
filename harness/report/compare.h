// herd compare: a candidate run against a baseline run, for CI (a
// performance regression is a failure like a gate).
//
// The headline figures come from each run's summary.json, per fleet (fleets
// are matched by name; a fleet in only one run is listed, not compared):
//
//   metric          from summary fleets[]              worse when
//   goodput_per_s   rates_per_s.goodput                 lower
//   success_ratio   totals.succeeded / totals.offered   lower
//   amplification   amplification                       higher
//   p50_ms          latency_ms.attempt.p50              higher
//   p90_ms          latency_ms.attempt.p90              higher
//   p99_ms          latency_ms.attempt.p99              higher
//   e2e_p99_ms      latency_ms.e2e.p99                  higher
//   recovery_s      the longest recovery_s of the fleet's windows in
//                   analyses (a window never recovered counts as the
//                   rest of the run)                    higher
//
// change_pct = (candidate - base) / base * 100 (base 0: 0 when both are
// 0, else +inf or -inf). A metric regresses when it is worse by more than
// its tolerance, in percent (20 unless --max-regression sets it) AND by
// more than an absolute floor (1 ms for latencies, 1 s for recovery, 1/s
// for goodput, 0.01 for ratios), so sub-millisecond loopback jitter is
// never a regression.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/run_data.h"

namespace herd {

inline constexpr double kDefaultTolerancePct = 20;

struct HeadlineChange {
  std::string fleet;
  std::string metric;
  std::optional<double> base, candidate;  // nullopt: the run lacks it
  double change_pct = 0;                  // 0 when either is missing
  double tolerance_pct = kDefaultTolerancePct;
  bool lower_is_worse = false;            // goodput_per_s, success_ratio
  bool regressed = false;
};

struct Comparison {
  std::vector<HeadlineChange> changes;  // fleet by fleet, metrics in the table's order
  std::vector<std::string> notes;       // "fleet 'x' only in the candidate", ...
  bool regressed = false;               // any change regressed
};

// The metric names above, in order.
const std::vector<std::string>& HeadlineMetrics();

// "p99_ms=10" -> tolerances["p99_ms"] = 10. False with *error (naming the
// known metrics) on an unknown metric, a missing '=', or a percentage that
// is not a number >= 0.
bool ParseMaxRegression(std::string_view arg, std::map<std::string, double>* tolerances, std::string* error);

Comparison Compare(const RunData& base, const RunData& candidate,
                   const std::map<std::string, double>& tolerances);

// The table for the terminal, one line per fleet and metric:
// "clients  p99_ms  0.52 -> 21.3  +3996.2% (max +20%)  REGRESSED"
// then "verdict: pass" or "verdict: regression (N metrics)".
std::string ComparisonText(const Comparison& comparison);

// compare.html is drawn by report/html.h (ComparisonHtml), with the report.

}  // namespace herd
