// Gates: a scenario's "gates" list turns a run into a CI verdict (DESIGN.md,
// Scenario file; exit code 99 when one fails). This header holds the format
// (GateSpec) and the metric table, which both the parser (scenario/gates.cc)
// and the evaluation (analyze/gates.h, against summary.json) use.
//
//   "gates": [
//     { "name": "no retry storm in the outage",  // optional; default built from
//                                                //   metric, bound and scope
//       "metric": "amplification",               // required, from the table below
//       "fleet": "clients",                      // optional: default every fleet
//                                                //   (each must pass)
//       "phase": "window",                       // run (default) | before | window | after
//       "window": 0,                             // with phase window: one window, the
//                                                //   index of its row in faults.csv
//                                                //   (default: every window)
//       "probe": "deep", "replica": 0,           // probe metrics: filters (default all);
//                                                //   replica also filters monitor metrics
//       "monitor": "prometheus", "series": "kvd_tasks",  // monitor metrics: filters
//       "max": 2, "min": 0,                      // numbers: at least one of them
//       "equals": false                          // booleans: the value required
//     } ]
//
// Metrics, and where each comes from in summary.json:
//
//   per fleet and phase ("fleets" for phase run, "phases" for before, window
//   and after; phase run is the default):
//     offered_per_s, attempts_per_s, goodput_per_s   rates_per_s
//     amplification     attempts / offered (nothing offered: not measured)
//     p50_ms, p90_ms, p99_ms                         attempt latency
//     e2e_p99_ms        end-to-end latency (from the intended start)
//     success_ratio     succeeded / offered
//     error_share       attempts whose outcome is neither ok nor not_found /
//                       completed attempts
//     throttled_share, shed_share, timeout_share     that outcome / completed
//   per fleet and fault window (analyses.fleets[]; phase window or absent):
//     storm (bool), storm_ratio       storm[]
//     peak_to_mean, cv                spreading[]
//     recovery_s (null: never recovered), metastable (bool; null: not judged)
//   per fleet, whole run (analyses.fleets[].throttling):
//     retry_after_seen, retry_after_honoured, jain (fairness)
//   per probe and replica (analyses.probes[]):
//     detection_delay_s, recovery_delay_s            per fault window
//     false_alarms, misses, flaps                    whole run
//     restarts          summary "restarts" entries of that probe and replica
//   per monitor, replica and series (analyses.monitors[]):
//     slope_per_min, mann_kendall_p, rise, last, max, leak (bool),
//     returned_to_baseline (bool; null: no idle sample)
//   durability (analyses.durability; none configured: the gate fails):
//     lost, unexpected, acknowledged, recovered, indeterminate, valid (bool)
//
// A gate measures one value for each fleet, window, probe and replica, or
// monitor series it covers, and passes when every one is within its bounds
// (max and min inclusive). A value that could not be measured (null) fails;
// so does a gate that found nothing to measure. Rules checked when the
// scenario loads (errors name the path, exit 2): a known metric, a bound
// of the metric's type, fields the metric uses, names of fleets, probes,
// monitors and series the scenario has, and window and replica indexes in
// range. A fault on every replica makes one window per replica.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace herd {

// Which summary.json entries a metric is measured on, and so which of
// fleet, phase, window, probe, replica, monitor and series it takes.
enum class GateScope {
  kFleetPhase,   // per fleet, in a phase: fleet, phase, window
  kFleetWindow,  // per fleet and fault window: fleet, phase (window), window
  kFleetRun,     // per fleet, whole run: fleet
  kProbeWindow,  // per probe, replica and fault window: probe, replica, phase (window), window
  kProbeRun,     // per probe and replica, whole run: probe, replica
  kMonitor,      // per monitor, replica and series: monitor, replica, series
  kDurability,   // once
};

enum class GateMetricId {
  kOfferedPerS, kAttemptsPerS, kGoodputPerS, kAmplification, kP50Ms, kP90Ms, kP99Ms, kE2eP99Ms,
  kSuccessRatio, kErrorShare, kThrottledShare, kShedShare, kTimeoutShare,
  kStorm, kStormRatio, kPeakToMean, kCv, kRecoveryS, kMetastable,
  kRetryAfterSeen, kRetryAfterHonoured, kJain,
  kDetectionDelayS, kRecoveryDelayS, kFalseAlarms, kMisses, kFlaps, kRestarts,
  kSlopePerMin, kMannKendallP, kRise, kLast, kMax, kLeak, kReturnedToBaseline,
  kLost, kUnexpected, kAcknowledged, kRecovered, kIndeterminate, kValid,
};

struct GateMetric {
  std::string_view name;
  GateMetricId id;
  GateScope scope;
  bool boolean;  // true or false (equals); else a number (max, min)
  std::string_view description;
};

inline constexpr GateMetric kGateMetrics[] = {
    {"offered_per_s", GateMetricId::kOfferedPerS, GateScope::kFleetPhase, false, "new requests per second"},
    {"attempts_per_s", GateMetricId::kAttemptsPerS, GateScope::kFleetPhase, false, "attempts per second"},
    {"goodput_per_s", GateMetricId::kGoodputPerS, GateScope::kFleetPhase, false, "succeeded requests per second"},
    {"amplification", GateMetricId::kAmplification, GateScope::kFleetPhase, false, "attempts / offered"},
    {"p50_ms", GateMetricId::kP50Ms, GateScope::kFleetPhase, false, "attempt latency, median"},
    {"p90_ms", GateMetricId::kP90Ms, GateScope::kFleetPhase, false, "attempt latency, 90th percentile"},
    {"p99_ms", GateMetricId::kP99Ms, GateScope::kFleetPhase, false, "attempt latency, 99th percentile"},
    {"e2e_p99_ms", GateMetricId::kE2eP99Ms, GateScope::kFleetPhase, false,
     "end-to-end request latency from the intended start, 99th percentile"},
    {"success_ratio", GateMetricId::kSuccessRatio, GateScope::kFleetPhase, false, "succeeded / offered"},
    {"error_share", GateMetricId::kErrorShare, GateScope::kFleetPhase, false,
     "attempts neither ok nor not_found / completed attempts"},
    {"throttled_share", GateMetricId::kThrottledShare, GateScope::kFleetPhase, false,
     "throttled (429) attempts / completed attempts"},
    {"shed_share", GateMetricId::kShedShare, GateScope::kFleetPhase, false, "shed (503) attempts / completed attempts"},
    {"timeout_share", GateMetricId::kTimeoutShare, GateScope::kFleetPhase, false,
     "timed-out attempts / completed attempts"},
    {"storm", GateMetricId::kStorm, GateScope::kFleetWindow, true, "a retry storm in the window"},
    {"storm_ratio", GateMetricId::kStormRatio, GateScope::kFleetWindow, false,
     "attempt rate / offered rate in the window"},
    {"peak_to_mean", GateMetricId::kPeakToMean, GateScope::kFleetWindow, false,
     "peak-to-mean ratio of the fine attempt rate in the window"},
    {"cv", GateMetricId::kCv, GateScope::kFleetWindow, false,
     "coefficient of variation of the fine attempt rate in the window"},
    {"recovery_s", GateMetricId::kRecoveryS, GateScope::kFleetWindow, false,
     "seconds from the window's end until goodput is back (null: never)"},
    {"metastable", GateMetricId::kMetastable, GateScope::kFleetWindow, true,
     "not recovered although the offered load is back"},
    {"retry_after_seen", GateMetricId::kRetryAfterSeen, GateScope::kFleetRun, false,
     "answers with Retry-After (or gRPC pushback)"},
    {"retry_after_honoured", GateMetricId::kRetryAfterHonoured, GateScope::kFleetRun, false,
     "retries that waited what Retry-After said"},
    {"jain", GateMetricId::kJain, GateScope::kFleetRun, false,
     "Jain's fairness index of goodput across the fleet's instances"},
    {"detection_delay_s", GateMetricId::kDetectionDelayS, GateScope::kProbeWindow, false,
     "seconds from a window's start until the probe turned unhealthy"},
    {"recovery_delay_s", GateMetricId::kRecoveryDelayS, GateScope::kProbeWindow, false,
     "seconds from a window's end until the probe turned healthy again"},
    {"false_alarms", GateMetricId::kFalseAlarms, GateScope::kProbeRun, false,
     "turns to unhealthy outside every fault window"},
    {"misses", GateMetricId::kMisses, GateScope::kProbeRun, false,
     "windows where goodput collapsed and the probe stayed healthy"},
    {"flaps", GateMetricId::kFlaps, GateScope::kProbeRun, false, "transitions between healthy and unhealthy"},
    {"restarts", GateMetricId::kRestarts, GateScope::kProbeRun, false, "restarts the probe caused"},
    {"slope_per_min", GateMetricId::kSlopePerMin, GateScope::kMonitor, false,
     "Theil-Sen slope per minute while the load ran"},
    {"mann_kendall_p", GateMetricId::kMannKendallP, GateScope::kMonitor, false, "Mann-Kendall trend test's p"},
    {"rise", GateMetricId::kRise, GateScope::kMonitor, false, "the fitted rise over the load"},
    {"last", GateMetricId::kLast, GateScope::kMonitor, false, "the last sample"},
    {"max", GateMetricId::kMax, GateScope::kMonitor, false, "the largest sample"},
    {"leak", GateMetricId::kLeak, GateScope::kMonitor, true, "a significant upward trend (a leak)"},
    {"returned_to_baseline", GateMetricId::kReturnedToBaseline, GateScope::kMonitor, true,
     "back to its first sample once the load stopped (null: no idle sample)"},
    {"lost", GateMetricId::kLost, GateScope::kDurability, false, "acknowledged writes not read back"},
    {"unexpected", GateMetricId::kUnexpected, GateScope::kDurability, false, "values read back but never written"},
    {"acknowledged", GateMetricId::kAcknowledged, GateScope::kDurability, false, "acknowledged writes"},
    {"recovered", GateMetricId::kRecovered, GateScope::kDurability, false,
     "indeterminate writes that were read back"},
    {"indeterminate", GateMetricId::kIndeterminate, GateScope::kDurability, false,
     "writes whose outcome is unknown (timeouts, resets)"},
    {"valid", GateMetricId::kValid, GateScope::kDurability, true, "no acknowledged write lost, nothing unexpected"},
};

// nullptr for an unknown name.
const GateMetric* FindGateMetric(std::string_view name);
const GateMetric& GateMetricOf(GateMetricId id);

// The process monitor's series (observe/monitor.h, ProcessSeries).
inline constexpr std::string_view kProcessSeries[] = {"threads", "fds", "rss_bytes", "cpu_seconds"};

struct GateSpec {
  enum class Phase { kRun, kBefore, kWindow, kAfter };

  std::string name;                 // as given, or GateDefaultName
  GateMetricId metric = GateMetricId::kAmplification;
  std::optional<std::string> fleet;
  Phase phase = Phase::kRun;        // kFleetWindow and kProbeWindow metrics: kWindow
  std::optional<int> window;        // index in faults.csv; only with phase window
  std::optional<std::string> probe;
  std::optional<int> replica;
  std::optional<std::string> monitor;
  std::optional<std::string> series;
  std::optional<double> max, min;   // numeric metrics
  std::optional<bool> equals;       // boolean metrics

  bool operator==(const GateSpec&) const = default;
};

const char* GatePhaseName(GateSpec::Phase phase);

// A bound as JSON: 2, not 2.0, when it is a whole number.
nlohmann::json GateNumberJson(double v);

// "max 2" -> "<= 2", both -> "in [0, 2]", equals -> "== false".
std::string GateBoundText(const GateSpec& g);
// The scope a gate covers, as the values' scope labels read:
// "clients, every window", "probe deep, replica 0"; "" for every fleet over
// the whole run.
std::string GateScopeText(const GateSpec& g);
// "amplification <= 2 (clients, every window)".
std::string GateDefaultName(const GateSpec& g);

struct Scenario;
namespace scenario_detail {
class Errors;
// Reads `list` (the value of "gates") into s->gates. Needs every other
// section of s parsed: fleets, faults, probes and monitors are named.
void ParseGates(const nlohmann::json& list, Errors* errors, Scenario* s);
// Every field as ParseGates reads it back (name always; phase for metrics
// with phases; the filters given).
nlohmann::json ResolvedGate(const GateSpec& g);
}  // namespace scenario_detail

}  // namespace herd
