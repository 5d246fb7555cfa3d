#include "analyze/analyses.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>

#include "common/outcome.h"

namespace herd {

using nlohmann::json;

BucketSpan PhaseBuckets(double width_s, size_t buckets, double start_s, double end_s, bool window) {
  BucketSpan span;
  if (!(width_s > 0) || !std::isfinite(start_s) || !std::isfinite(end_s)) return span;
  const double n = static_cast<double>(buckets);
  // Windows take every bucket they touch; before and after only the
  // buckets no window touches (report/summary.cc's phases, the same rule).
  double from = window ? std::floor(start_s / width_s + 1e-9) : std::ceil(start_s / width_s - 1e-9);
  double to = window ? std::ceil(end_s / width_s - 1e-9) : std::floor(end_s / width_s + 1e-9);
  from = std::clamp(from, 0.0, n);
  to = std::clamp(to, from, n);
  span.from = static_cast<size_t>(from);
  span.to = static_cast<size_t>(to);
  return span;
}

namespace {

// A number, or null when absent: JSON has no infinity or NaN.
json OrNull(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

json OrNull(std::optional<bool> v) {
  if (!v) return nullptr;
  return *v;
}

double Share(uint64_t part, uint64_t whole) {
  return whole ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

uint64_t Completed(const BucketCounts& c) {
  uint64_t n = 0;
  for (uint64_t k : c.outcomes) n += k;
  return n;
}

// What every analysis of a run shares: the bucket grid and the phases.
struct Frame {
  const TimeSeries* series = nullptr;
  double width = 1;          // bucket width, seconds
  size_t buckets = 0;        // in the series
  double load_end = 0;       // seconds
  size_t load_buckets = 0;   // buckets that end by the load's end
  bool has_windows = false;
  double first_start = 0, last_end = 0;
  BucketSpan before;         // empty without windows
};

Frame MakeFrame(const AnalysisInput& in) {
  Frame fr;
  fr.series = in.series;
  fr.width = ToSeconds(in.series->width());
  fr.buckets = in.series->buckets();
  const double series_end = fr.width * static_cast<double>(fr.buckets);
  fr.load_end = in.load_end_s > 0 ? in.load_end_s : series_end;
  fr.load_buckets = PhaseBuckets(fr.width, fr.buckets, 0, fr.load_end, false).to;
  fr.has_windows = !in.windows.empty();
  if (fr.has_windows) {
    fr.first_start = in.windows.front().start_s;
    fr.last_end = in.windows.front().end_s;
    for (const AnalysisWindow& w : in.windows) {
      fr.first_start = std::min(fr.first_start, w.start_s);
      fr.last_end = std::max(fr.last_end, w.end_s);
    }
    fr.before = PhaseBuckets(fr.width, fr.load_buckets, 0, fr.first_start, false);
  }
  return fr;
}

double Seconds(const Frame& fr, const BucketSpan& span) {
  return static_cast<double>(span.size()) * fr.width;
}

// --- storm, spreading, recovery -------------------------------------------

json Storm(const AnalysisInput& in, const Frame& fr, size_t f) {
  json out = json::array();
  for (size_t i = 0; i < in.windows.size(); ++i) {
    const AnalysisWindow& w = in.windows[i];
    const BucketSpan span = PhaseBuckets(fr.width, fr.buckets, w.start_s, w.end_s, true);
    const BucketCounts c = fr.series->Total(f, span.from, span.to);
    const double seconds = Seconds(fr, span);
    const double attempt_rate = seconds > 0 ? static_cast<double>(c.attempts) / seconds : 0.0;
    const double offered_rate = seconds > 0 ? static_cast<double>(c.offered) / seconds : 0.0;
    std::optional<double> ratio;
    if (c.offered > 0) ratio = static_cast<double>(c.attempts) / static_cast<double>(c.offered);
    // Attempts with nothing offered: an infinite ratio (all retries).
    const bool over = ratio ? *ratio > kStormRatio : c.attempts > 0;
    out.push_back({{"window", i},
                   {"label", w.label},
                   {"start_s", w.start_s},
                   {"end_s", w.end_s},
                   {"attempt_rate", attempt_rate},
                   {"offered_rate", offered_rate},
                   {"ratio", OrNull(ratio)},
                   {"storm", over && attempt_rate >= kStormMinAttemptRate}});
  }
  return out;
}

json Spreading(const AnalysisInput& in, const Frame& fr, size_t f) {
  json out = json::array();
  const double fine = ToSeconds(fr.series->fine_width());
  const std::vector<uint32_t>& slots = fr.series->fine_attempts(f);
  // fine_attempts grows geometrically: only slots up to the load's end are
  // the run's (the rest are zeros nobody lived through).
  const auto fine_slots = static_cast<size_t>(std::max(0.0, std::ceil(fr.load_end / fine - 1e-9)));
  for (size_t i = 0; i < in.windows.size(); ++i) {
    const AnalysisWindow& w = in.windows[i];
    const BucketSpan span = PhaseBuckets(fine, fine_slots, w.start_s, w.end_s, true);
    std::vector<double> values;
    values.reserve(span.size());
    for (size_t s = span.from; s < span.to; ++s) values.push_back(s < slots.size() ? slots[s] : 0.0);
    out.push_back({{"window", i},
                   {"label", w.label},
                   {"peak_to_mean", PeakToMean(values)},
                   {"cv", CoefficientOfVariation(values)},
                   {"slots", values.size()}});
  }
  return out;
}

json Recovery(const AnalysisInput& in, const Frame& fr, size_t f) {
  json out = json::array();
  std::vector<double> goodput(fr.load_buckets);
  for (size_t b = 0; b < fr.load_buckets; ++b) {
    goodput[b] = static_cast<double>(fr.series->counts(f, b).succeeded);
  }
  const BucketCounts before = fr.series->Total(f, fr.before.from, fr.before.to);
  const bool judged = fr.before.size() > 0 && before.succeeded > 0;
  const double before_buckets = static_cast<double>(fr.before.size());
  for (size_t i = 0; i < in.windows.size(); ++i) {
    const AnalysisWindow& w = in.windows[i];
    json entry = {{"window", i},
                  {"label", w.label},
                  {"target_goodput_per_s", nullptr},
                  {"recovery_s", nullptr},
                  {"metastable", nullptr},
                  {"offered_before_per_s", nullptr},
                  {"offered_after_per_s", nullptr}};
    if (judged) {
      const double target = kRecoveredShare * static_cast<double>(before.succeeded) / before_buckets;
      const std::optional<double> recovery = RecoveryTime(goodput, fr.width, w.end_s, target, kRecoveryHold);
      const double offered_before = static_cast<double>(before.offered) / Seconds(fr, fr.before);
      const BucketSpan after = PhaseBuckets(fr.width, fr.load_buckets, w.end_s, fr.load_end, false);
      std::optional<bool> metastable;
      std::optional<double> offered_after;
      if (after.size() > 0) {
        offered_after =
            static_cast<double>(fr.series->Total(f, after.from, after.to).offered) / Seconds(fr, after);
      }
      if (recovery) {
        metastable = false;
      } else if (offered_after) {
        metastable = *offered_after >= kOfferedBackShare * offered_before;
      }
      entry["target_goodput_per_s"] = target / fr.width;
      entry["recovery_s"] = OrNull(recovery);
      entry["metastable"] = OrNull(metastable);
      entry["offered_before_per_s"] = offered_before;
      entry["offered_after_per_s"] = OrNull(offered_after);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// --- throttling -----------------------------------------------------------

json ThrottlingFigures(const BucketCounts& c) {
  const uint64_t completed = Completed(c);
  return {{"completed", completed},
          {"throttled_share", Share(c.outcomes[static_cast<int>(Outcome::kThrottled)], completed)},
          {"shed_share", Share(c.outcomes[static_cast<int>(Outcome::kShed)], completed)},
          {"retry_after_seen", c.pushback_seen},
          {"retry_after_honoured", c.pushback_honoured}};
}

json Throttling(const AnalysisInput& in, const Frame& fr, size_t f) {
  json out = ThrottlingFigures(fr.series->Total(f));
  json phases = json::array();
  auto phase = [&](const char* name, const std::string& label, const BucketSpan& span) {
    json p = {{"phase", name}, {"label", label}};
    p.update(ThrottlingFigures(fr.series->Total(f, span.from, span.to)));
    phases.push_back(std::move(p));
  };
  if (fr.has_windows) {
    // As summary.json's phases: after runs to the end of the series, so
    // attempts that complete after the fleets stop still count.
    const double end = std::max({fr.last_end, fr.load_end, fr.width * static_cast<double>(fr.buckets)});
    phase("before", "before the first fault", PhaseBuckets(fr.width, fr.buckets, 0, fr.first_start, false));
    for (const AnalysisWindow& w : in.windows) {
      phase("window", w.label, PhaseBuckets(fr.width, fr.buckets, w.start_s, w.end_s, true));
    }
    phase("after", "after the last fault", PhaseBuckets(fr.width, fr.buckets, fr.last_end, end, false));
  }
  out["phases"] = std::move(phases);

  json fairness = {{"jain", nullptr}, {"min", nullptr}, {"max", nullptr}, {"instances", 0}};
  if (f < in.succeeded_per_instance.size() && !in.succeeded_per_instance[f].empty()) {
    const std::vector<uint64_t>& per = in.succeeded_per_instance[f];
    std::vector<double> values(per.begin(), per.end());
    fairness["jain"] = JainIndex(values);
    fairness["min"] = *std::min_element(per.begin(), per.end());
    fairness["max"] = *std::max_element(per.begin(), per.end());
    fairness["instances"] = per.size();
  }
  out["fairness"] = std::move(fairness);
  return out;
}

// --- probes ---------------------------------------------------------------

// Per window: whether the goodput of all fleets together collapsed (below
// kCollapsedShare of before's in some bucket); nullopt when not judged.
std::vector<std::optional<bool>> Collapsed(const AnalysisInput& in, const Frame& fr) {
  std::vector<std::optional<bool>> out(in.windows.size());
  auto total = [&](size_t b) {
    uint64_t n = 0;
    for (size_t f = 0; f < fr.series->fleets(); ++f) n += fr.series->counts(f, b).succeeded;
    return static_cast<double>(n);
  };
  if (fr.before.size() == 0) return out;
  double before = 0;
  for (size_t b = fr.before.from; b < fr.before.to; ++b) before += total(b);
  if (before <= 0) return out;
  const double floor = kCollapsedShare * before / static_cast<double>(fr.before.size());
  for (size_t i = 0; i < in.windows.size(); ++i) {
    const AnalysisWindow& w = in.windows[i];
    const BucketSpan span = PhaseBuckets(fr.width, fr.load_buckets, w.start_s, w.end_s, true);
    if (span.size() == 0) continue;
    bool collapsed = false;
    for (size_t b = span.from; b < span.to && !collapsed; ++b) collapsed = total(b) < floor;
    out[i] = collapsed;
  }
  return out;
}

json Probes(const AnalysisInput& in, const std::vector<std::optional<bool>>& collapsed) {
  std::map<std::pair<std::string, int>, std::vector<const ProbeObservation*>> pairs;
  for (const ProbeObservation& c : in.probe_checks) pairs[{c.probe, c.replica}].push_back(&c);
  json out = json::array();
  for (auto& [key, checks] : pairs) {
    std::stable_sort(checks.begin(), checks.end(),
                     [](const ProbeObservation* a, const ProbeObservation* b) { return a->t_s < b->t_s; });
    json windows = json::array();
    int64_t misses = 0;
    for (size_t i = 0; i < in.windows.size(); ++i) {
      const AnalysisWindow& w = in.windows[i];
      // A fault on another replica is not this probe's to detect.
      if (w.replica >= 0 && w.replica != key.second) continue;
      std::optional<double> detected_at, recovered_at;
      for (const ProbeObservation* c : checks) {
        if (!detected_at) {
          if (c->t_s > w.end_s + kDetectionGrace) break;
          if (c->t_s >= w.start_s && !c->healthy) detected_at = c->t_s;
        } else if (c->healthy && c->t_s >= w.end_s) {
          recovered_at = c->t_s;
          break;
        }
      }
      std::optional<double> detection, recovery;
      if (detected_at) detection = *detected_at - w.start_s;
      if (recovered_at) recovery = *recovered_at - w.end_s;
      const bool missed = collapsed[i].value_or(false) && !detected_at;
      misses += missed;
      windows.push_back({{"window", i},
                         {"label", w.label},
                         {"detection_delay_s", OrNull(detection)},
                         {"recovery_delay_s", OrNull(recovery)},
                         {"collapsed", OrNull(collapsed[i])},
                         {"missed", missed}});
    }
    int64_t flaps = 0, false_alarms = 0;
    bool healthy = true;  // every probe starts healthy
    for (const ProbeObservation* c : checks) {
      if (c->healthy == healthy) continue;
      healthy = c->healthy;
      ++flaps;
      if (healthy) continue;
      const bool in_window = std::any_of(in.windows.begin(), in.windows.end(), [&](const AnalysisWindow& w) {
        return c->t_s >= w.start_s && c->t_s <= w.end_s + kDetectionGrace;
      });
      false_alarms += !in_window;
    }
    out.push_back({{"probe", key.first},
                   {"replica", key.second},
                   {"checks", checks.size()},
                   {"windows", std::move(windows)},
                   {"false_alarms", false_alarms},
                   {"misses", misses},
                   {"flaps", flaps}});
  }
  return out;
}

// --- monitors -------------------------------------------------------------

json Monitors(const AnalysisInput& in, const Frame& fr) {
  using Key = std::tuple<std::string, int, std::string>;
  std::map<Key, std::vector<const MonitorObservation*>> groups;
  for (const MonitorObservation& s : in.monitor_samples) {
    if (!std::isfinite(s.value) || !std::isfinite(s.t_s)) continue;  // the statistics need an order
    groups[{s.monitor, s.replica, s.series}].push_back(&s);
  }
  json out = json::array();
  for (auto& [key, samples] : groups) {
    std::stable_sort(samples.begin(), samples.end(),
                     [](const MonitorObservation* a, const MonitorObservation* b) { return a->t_s < b->t_s; });
    double lo = samples.front()->value, hi = lo;
    std::vector<double> x, y;  // while the load ran: minutes, values
    std::optional<double> idle_after;
    for (const MonitorObservation* s : samples) {
      lo = std::min(lo, s->value);
      hi = std::max(hi, s->value);
      if (s->t_s <= fr.load_end) {
        x.push_back(s->t_s / 60.0);
        y.push_back(s->value);
      } else {
        idle_after = s->value;  // the last one wins
      }
    }
    const Line line = TheilSen(x, y);
    const MannKendall mk = MannKendallTest(y);
    const double first = samples.front()->value;
    const double rise = x.empty() ? 0.0 : line.slope * (x.back() - x.front());
    const bool leak =
        mk.p < kLeakP && line.slope > 0 && rise > std::max(kLeakMinRise, kLeakMinRiseShare * std::fabs(first));
    const double baseline = first;
    std::optional<bool> returned;
    if (idle_after) {
      returned = *idle_after <= baseline + std::max(kBaselineSlack, kBaselineSlackShare * std::fabs(baseline));
    }
    out.push_back({{"monitor", std::get<0>(key)},
                   {"replica", std::get<1>(key)},
                   {"series", std::get<2>(key)},
                   {"samples", samples.size()},
                   {"first", first},
                   {"last", samples.back()->value},
                   {"min", lo},
                   {"max", hi},
                   {"slope_per_min", line.slope},
                   {"rise", rise},
                   {"mann_kendall", {{"tau", mk.tau}, {"p", mk.p}}},
                   {"leak", leak},
                   {"baseline", baseline},
                   {"idle_after", OrNull(idle_after)},
                   {"returned_to_baseline", OrNull(returned)}});
  }
  return out;
}

// --- durability and thresholds ---------------------------------------------

json Durability(const AnalysisInput& in) {
  if (!in.durability) return nullptr;
  const SetCheck& c = *in.durability;
  return {{"attempted", c.attempted},
          {"acknowledged", c.acknowledged},
          {"failed", c.failed},
          {"indeterminate", c.indeterminate},
          {"lost", c.lost},
          {"recovered", c.recovered},
          {"unexpected", c.unexpected},
          {"read_errors", in.durability_read_errors},
          {"valid", c.valid()},
          {"lost_keys", c.lost_keys},
          {"unexpected_keys", c.unexpected_keys}};
}

json Thresholds() {
  return {{"storm_ratio", kStormRatio},
          {"storm_min_attempt_rate_per_s", kStormMinAttemptRate},
          {"recovered_share", kRecoveredShare},
          {"recovery_hold_buckets", kRecoveryHold},
          {"offered_back_share", kOfferedBackShare},
          {"detection_grace_s", kDetectionGrace},
          {"collapsed_share", kCollapsedShare},
          {"leak_p", kLeakP},
          {"leak_min_rise", kLeakMinRise},
          {"leak_min_rise_share", kLeakMinRiseShare},
          {"baseline_slack", kBaselineSlack},
          {"baseline_slack_share", kBaselineSlackShare}};
}

}  // namespace

json BuildAnalyses(const AnalysisInput& in) {
  json fleets = json::array();
  // Without a series (a caller's mistake): no fleets, nothing collapsed, and
  // with no load end either, every monitor sample counts as under load.
  Frame fr;
  fr.load_end = in.load_end_s > 0 ? in.load_end_s : HUGE_VAL;
  std::vector<std::optional<bool>> collapsed(in.windows.size());
  if (in.series != nullptr) {
    fr = MakeFrame(in);
    for (size_t f = 0; f < in.series->fleets(); ++f) {
      fleets.push_back({{"name", in.series->fleet_name(f)},
                        {"storm", Storm(in, fr, f)},
                        {"spreading", Spreading(in, fr, f)},
                        {"recovery", Recovery(in, fr, f)},
                        {"throttling", Throttling(in, fr, f)}});
    }
    collapsed = Collapsed(in, fr);
  }
  return {{"fleets", std::move(fleets)},
          {"probes", Probes(in, collapsed)},
          {"monitors", Monitors(in, fr)},
          {"durability", Durability(in)},
          {"thresholds", Thresholds()}};
}

}  // namespace herd
