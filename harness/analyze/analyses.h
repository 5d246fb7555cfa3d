// The analyses of a run (DESIGN.md, Analyses): from what the run recorded
// to numbers and a verdict for each question users run herd to answer.
// BuildAnalyses returns summary.json's "analyses" object; every threshold
// below is a constant here, named in the output ("thresholds"), so a reader
// can check it.
//
// Windows are the applied faults' windows from faults.csv, numbered 0, 1, ...
// in the order given ("window" in the output is that index, "label" its
// label). "before" is [0, first window start), "after" the end of the last
// window to the end of the series (as summary.json's phases). Buckets are
// taken whole, as in the phases (PhaseBuckets below): a window takes every
// bucket it touches, before and after only the buckets no window touches.
// The load's end is load_end_s (the end of the series when it is 0); the
// goodput series of recovery and misses stops at the last bucket that ends
// by then, so the buckets after the fleets stopped do not count as a drop.
//
// Per fleet:
//   storm (per window): attempt rate in the window / offered rate in the
//     window (per second of the window's buckets); a storm when that ratio
//     exceeds kStormRatio (2) and the window had at least
//     kStormMinAttemptRate (1) attempt a second. Nothing offered but
//     attempts made: ratio null (infinite), a storm when the rate is met.
//   spreading (per window): peak-to-mean ratio and coefficient of variation
//     of the fine attempt counts (TimeSeries::fine_attempts, 100 ms) over the
//     fine slots the window touches, up to the load's end; slots with no
//     attempts count (as zeros). slots: how many.
//   recovery (per window): target = kRecoveredShare (0.95) x the goodput
//     rate before the first window (per bucket); recovery_s =
//     RecoveryTime(goodput per bucket, width, window end, target,
//     kRecoveryHold = 3 buckets, or fewer when the series ends); null when
//     it never recovers by the load's end. metastable: not recovered
//     although the offered rate after the window (its end to the load's
//     end) is at least kOfferedBackShare (0.9) of before's; false when it
//     recovered. Not judged (target, recovery_s and metastable all null)
//     when there is no before phase or before's goodput is 0; metastable
//     also null when no whole bucket lies between the window's end and the
//     load's end.
//   throttling: 429 (throttled) and 503 (shed) shares of the attempts that
//     completed (each has one outcome, filed at completion), over the run
//     and per phase (before, each window, after; none without windows);
//     retry_after_seen and retry_after_honoured totals; fairness: Jain's
//     index of the goodput (succeeded requests) across the fleet's
//     instances, and the min and max per instance (all null when the
//     instances are not known).
// Per probe and replica (when probes ran; ordered by probe, then replica).
// Every probe starts healthy; a check's state is the state after it.
//   per window: detection_delay_s (first check at or after the window start
//     whose state is unhealthy, minus the start; null when it never turned
//     unhealthy in the window or up to kDetectionGrace (30 s) after), and
//     recovery_delay_s (first healthy check at or after the window end and
//     after that unhealthy check, minus the end, when it had turned
//     unhealthy; null otherwise); collapsed: the goodput of all fleets
//     together fell below kCollapsedShare (0.5) of before's in at least one
//     of the window's buckets (null when not judged: no before, before's
//     goodput 0, or the window lies after the load); missed: collapsed and
//     no detection;
//   false_alarms: transitions to unhealthy at a time outside every window
//     (each window extended by kDetectionGrace after its end): the probe
//     cried wolf while no fault was active;
//   misses: windows missed (above): goodput collapsed while the probe never
//     turned unhealthy for that replica. A window that hit one replica
//     (AnalysisWindow::replica) is judged only for that replica's probes
//     (and left out of the others' windows list); false alarms count any
//     window, since a fault on one replica may load the others;
//   flaps: transitions between healthy and unhealthy, in all.
// Per monitor series (monitor, replica, series; when monitors ran; ordered
// by monitor, replica, series; samples whose value is not finite are left
// out):
//   samples, first, last, min, max; slope_per_min (Theil-Sen over the
//   samples taken while the load ran, t_s <= the load's end, x in minutes);
//   rise: slope_per_min x the minutes between the first and the last of
//   those samples (the fitted rise, robust to a last outlier);
//   mann_kendall tau and p over the same samples; leak: p < kLeakP (0.01)
//   and slope > 0 and rise > max(kLeakMinRise (3), kLeakMinRiseShare (10 %)
//   of |first|); baseline: the first sample; idle_after: the last sample
//   taken after the load stopped (null when there was none);
//   returned_to_baseline: idle_after <= baseline + max(kBaselineSlack (2),
//   kBaselineSlackShare (10 %) of |baseline|) (null when no idle sample).
// Durability (when the checker ran): CheckSet's figures passed through
//   (valid as SetCheck::valid; a key whose read failed counted as missing,
//   so lost includes read errors), read_errors, and up to 20 lost and
//   unexpected keys.
//
// The layout (numbers are JSON numbers; "x|null" may be null):
// {
//   "fleets": [{
//     "name": "clients",
//     "storm": [{"window", "label", "start_s", "end_s", "attempt_rate",
//                "offered_rate", "ratio": x|null, "storm": bool}],
//     "spreading": [{"window", "label", "peak_to_mean", "cv", "slots"}],
//     "recovery": [{"window", "label", "target_goodput_per_s": x|null,
//                   "recovery_s": x|null, "metastable": bool|null,
//                   "offered_before_per_s": x|null,
//                   "offered_after_per_s": x|null}],
//     "throttling": {"completed", "throttled_share", "shed_share",
//                    "retry_after_seen", "retry_after_honoured",
//                    "phases": [{"phase": "before"|"window"|"after", "label",
//                                "completed", "throttled_share", "shed_share",
//                                "retry_after_seen", "retry_after_honoured"}],
//                    "fairness": {"jain": x|null, "min": x|null,
//                                 "max": x|null, "instances"}}
//   }],
//   "probes": [{"probe", "replica", "checks",
//               "windows": [{"window", "label", "detection_delay_s": x|null,
//                            "recovery_delay_s": x|null,
//                            "collapsed": bool|null, "missed": bool}],
//               "false_alarms", "misses", "flaps"}],
//   "monitors": [{"monitor", "replica", "series", "samples", "first", "last",
//                 "min", "max", "slope_per_min", "rise",
//                 "mann_kendall": {"tau", "p"}, "leak": bool, "baseline",
//                 "idle_after": x|null, "returned_to_baseline": bool|null}],
//   "durability": {"attempted", "acknowledged", "failed", "indeterminate",
//                  "lost", "recovered", "unexpected", "read_errors",
//                  "valid": bool, "lost_keys": [...],
//                  "unexpected_keys": [...]} | null,
//   "thresholds": {"storm_ratio", "storm_min_attempt_rate_per_s",
//                  "recovered_share", "recovery_hold_buckets",
//                  "offered_back_share", "detection_grace_s",
//                  "collapsed_share", "leak_p", "leak_min_rise",
//                  "leak_min_rise_share", "baseline_slack",
//                  "baseline_slack_share"}
// }
// No windows, probes or monitors: empty arrays; no series: no fleets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/stats.h"
#include "measure/timeseries.h"

namespace herd {

inline constexpr double kStormRatio = 2.0;
inline constexpr double kStormMinAttemptRate = 1.0;  // attempts per second
inline constexpr double kRecoveredShare = 0.95;
inline constexpr int kRecoveryHold = 3;
inline constexpr double kOfferedBackShare = 0.9;
inline constexpr double kDetectionGrace = 30.0;
inline constexpr double kCollapsedShare = 0.5;
inline constexpr double kLeakP = 0.01;
inline constexpr double kLeakMinRise = 3.0;
inline constexpr double kLeakMinRiseShare = 0.1;
inline constexpr double kBaselineSlack = 2.0;
inline constexpr double kBaselineSlackShare = 0.1;

// The buckets [from, to) of a phase from start_s to end_s, with buckets of
// width_s and `buckets` of them (summary.json's phases count the same way).
// A fault window (window = true) takes every bucket it touches,
// floor(start / width) to ceil(end / width); before and after (window =
// false) only the whole buckets inside, ceil(start / width) to
// floor(end / width), so no bucket a window touched. Within 1e-9 of a bucket
// boundary counts as on it. Clamped to [0, buckets], from <= to.
struct BucketSpan {
  size_t from = 0, to = 0;
  size_t size() const { return to - from; }
};
BucketSpan PhaseBuckets(double width_s, size_t buckets, double start_s, double end_s, bool window);

struct AnalysisWindow {
  double start_s = 0, end_s = 0;
  std::string label;  // "down on replica 0"
  int replica = -1;   // the replica it hit; -1: all (or unknown)
};

struct ProbeObservation {  // one check, from observe/probe.h's ProbeCheck
  double t_s = 0;
  std::string probe;
  int replica = 0;
  bool healthy = true;
};

struct MonitorObservation {  // one row of monitors.csv
  double t_s = 0;
  std::string monitor;
  int replica = 0;
  std::string series;
  double value = 0;
};

struct AnalysisInput {
  const TimeSeries* series = nullptr;  // required
  double load_end_s = 0;               // when the fleets stopped (0: the series' end)
  std::vector<AnalysisWindow> windows; // in start order
  // Per fleet: succeeded requests per instance (Engine::SucceededPerInstance).
  std::vector<std::vector<uint64_t>> succeeded_per_instance;
  std::vector<ProbeObservation> probe_checks;       // in time order
  std::vector<MonitorObservation> monitor_samples;  // in time order
  std::optional<SetCheck> durability;
  int64_t durability_read_errors = 0;
};

// The "analyses" object, laid out as at the top of this file.
nlohmann::json BuildAnalyses(const AnalysisInput& in);

}  // namespace herd
