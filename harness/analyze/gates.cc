#include "analyze/gates.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>

namespace herd {

using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------
// Reading summary.json defensively: a missing part is nothing measured.

const json& Null() {
  static const json null;
  return null;
}

const json& At(const json& j, std::string_view key) {
  if (!j.is_object()) return Null();
  auto it = j.find(key);
  return it == j.end() ? Null() : *it;
}

const json& Array(const json& j, std::string_view key) {
  static const json empty = json::array();
  const json& v = At(j, key);
  return v.is_array() ? v : empty;
}

std::optional<double> Number(const json& v) {
  if (!v.is_number()) return std::nullopt;
  return v.get<double>();
}

double Count(const json& v) { return Number(v).value_or(0); }

std::string String(const json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

// One measured value before it is judged: a number or boolean, or null
// with the reason.
struct Measured {
  json value;
  std::string reason;
};

Measured Value(const json& v, std::string_view reason_if_null = "not measured") {
  if (v.is_number() || v.is_boolean()) return {v, ""};
  return {nullptr, std::string(reason_if_null)};
}

Measured Nothing(std::string reason) { return {nullptr, std::move(reason)}; }

// ---------------------------------------------------------------------------
// Windows: faults.csv's rows (summary "faults"), each applied one a window
// of the analyses and a "window" phase, numbered in order.

struct WindowRef {
  int index = 0;      // the row in faults.csv: the gate's numbering
  int analysis = -1;  // the analyses' "window" (and phases' order); -1: not applied
  std::string label;
  std::string detail;
  std::string Scope() const { return fmt::format("window {} ({})", index, label); }
};

std::vector<WindowRef> Windows(const json& summary) {
  std::vector<const json*> phases;
  for (const json& p : Array(summary, "phases")) {
    if (String(At(p, "phase")) == "window") phases.push_back(&p);
  }
  std::vector<WindowRef> out;
  if (At(summary, "faults").is_array()) {
    int applied = 0;
    for (const json& row : Array(summary, "faults")) {
      WindowRef w;
      w.index = static_cast<int>(out.size());
      const json& a = At(row, "applied");
      if (!a.is_boolean() || a.get<bool>()) w.analysis = applied++;
      w.detail = String(At(row, "detail"));
      if (w.analysis >= 0 && static_cast<size_t>(w.analysis) < phases.size()) {
        w.label = String(At(*phases[static_cast<size_t>(w.analysis)], "label"));
      }
      if (w.label.empty()) {
        const json& replica = At(row, "replica");
        w.label = fmt::format("{} on replica {}", String(At(row, "kind")), replica.is_number() ? replica.dump() : "?");
      }
      out.push_back(std::move(w));
    }
  } else {
    for (size_t i = 0; i < phases.size(); ++i) {
      out.push_back({static_cast<int>(i), static_cast<int>(i), String(At(*phases[i], "label")), ""});
    }
  }
  return out;
}

// The windows a window-phase gate covers; false with *why when it cannot
// be measured at all.
bool SelectWindows(const GateSpec& g, const json& summary, std::vector<WindowRef>* out, std::string* why) {
  const std::vector<WindowRef> all = Windows(summary);
  const bool any_applied = std::any_of(all.begin(), all.end(), [](const WindowRef& w) { return w.analysis >= 0; });
  if (!any_applied) {
    *why = all.empty() ? "no such phase: the run had no fault windows"
                       : "no such phase: no fault of the run could be applied";
    return false;
  }
  if (g.window) {
    if (*g.window >= static_cast<int>(all.size())) {
      *why = fmt::format("no such window: the run recorded {} fault window{} (faults.csv), not window {}",
                         all.size(), all.size() == 1 ? "" : "s", *g.window);
      return false;
    }
    const WindowRef& w = all[static_cast<size_t>(*g.window)];
    if (w.analysis < 0) {
      *why = fmt::format("window {} ({}) was not applied: {}", w.index, w.label, w.detail);
      return false;
    }
    out->push_back(w);
    return true;
  }
  for (const WindowRef& w : all) {
    if (w.analysis >= 0) out->push_back(w);
  }
  return true;
}

// The entry of an analyses list (storm, spreading, ...) for a window.
const json* ForWindow(const json& list, int analysis) {
  if (!list.is_array()) return nullptr;
  for (const json& e : list) {
    const json& w = At(e, "window");
    if (w.is_number() && w.get<int>() == analysis) return &e;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------
// Metrics.

// Per fleet and phase, from summary.json's fleet figures.
Measured FromFigures(GateMetricId id, const json& fig) {
  const json& totals = At(fig, "totals");
  const double offered = Count(At(totals, "offered"));
  const double attempts = Count(At(totals, "attempts"));
  const double succeeded = Count(At(totals, "succeeded"));
  const json& outcomes = At(totals, "outcomes");
  double completed = 0, errors = 0;
  if (outcomes.is_object()) {
    for (const auto& [name, n] : outcomes.items()) {
      completed += Count(n);
      if (name != "ok" && name != "not_found") errors += Count(n);
    }
  }
  auto share = [&](double part) -> Measured {
    if (completed <= 0) return Nothing("not measured: no attempt completed");
    return {part / completed, ""};
  };
  const json& rates = At(fig, "rates_per_s");
  const json& attempt_latency = At(At(fig, "latency_ms"), "attempt");
  const json& e2e_latency = At(At(fig, "latency_ms"), "e2e");
  auto latency = [](const json& h, std::string_view key, std::string_view what) -> Measured {
    if (Count(At(h, "count")) <= 0) return Nothing(fmt::format("not measured: no {} completed", what));
    return Value(At(h, key));
  };
  switch (id) {
    case GateMetricId::kOfferedPerS: return Value(At(rates, "offered"));
    case GateMetricId::kAttemptsPerS: return Value(At(rates, "attempts"));
    case GateMetricId::kGoodputPerS: return Value(At(rates, "goodput"));
    case GateMetricId::kAmplification:
      if (offered <= 0) {
        return Nothing(attempts > 0 ? fmt::format("not measured: nothing offered but {} attempts (infinite)",
                                                  FormatGateNumber(attempts))
                                    : "not measured: nothing offered");
      }
      return {attempts / offered, ""};
    case GateMetricId::kP50Ms: return latency(attempt_latency, "p50", "attempt");
    case GateMetricId::kP90Ms: return latency(attempt_latency, "p90", "attempt");
    case GateMetricId::kP99Ms: return latency(attempt_latency, "p99", "attempt");
    case GateMetricId::kE2eP99Ms: return latency(e2e_latency, "p99", "request");
    case GateMetricId::kSuccessRatio:
      if (offered <= 0) return Nothing("not measured: nothing offered");
      return {succeeded / offered, ""};
    case GateMetricId::kErrorShare: return share(errors);
    case GateMetricId::kThrottledShare: return share(Count(At(outcomes, "throttled")));
    case GateMetricId::kShedShare: return share(Count(At(outcomes, "shed")));
    case GateMetricId::kTimeoutShare: return share(Count(At(outcomes, "timeout")));
    default: return Nothing("not measured");
  }
}

// Per fleet and window, from analyses.fleets[].
Measured FromFleetWindow(GateMetricId id, const json& fleet, int analysis) {
  const json* storm = ForWindow(At(fleet, "storm"), analysis);
  const json* spreading = ForWindow(At(fleet, "spreading"), analysis);
  const json* recovery = ForWindow(At(fleet, "recovery"), analysis);
  const char* missing = "not measured: not in the analyses";
  switch (id) {
    case GateMetricId::kStorm:
      return storm ? Value(At(*storm, "storm")) : Nothing(missing);
    case GateMetricId::kStormRatio:
      if (!storm) return Nothing(missing);
      return Value(At(*storm, "ratio"), Count(At(*storm, "attempt_rate")) > 0
                                            ? "not measured: attempts with nothing offered (infinite)"
                                            : "not measured: nothing offered");
    case GateMetricId::kPeakToMean:
      return spreading ? Value(At(*spreading, "peak_to_mean")) : Nothing(missing);
    case GateMetricId::kCv:
      return spreading ? Value(At(*spreading, "cv")) : Nothing(missing);
    case GateMetricId::kRecoveryS:
      if (!recovery) return Nothing(missing);
      return Value(At(*recovery, "recovery_s"), At(*recovery, "target_goodput_per_s").is_null()
                                                    ? "not judged: no goodput before the first fault"
                                                    : "never recovered");
    case GateMetricId::kMetastable:
      if (!recovery) return Nothing(missing);
      return Value(At(*recovery, "metastable"),
                   At(*recovery, "target_goodput_per_s").is_null()
                       ? "not judged: no goodput before the first fault"
                       : "not judged: no whole bucket of load after the window");
    default: return Nothing("not measured");
  }
}

Measured FromThrottling(GateMetricId id, const json& fleet) {
  const json& t = At(fleet, "throttling");
  switch (id) {
    case GateMetricId::kRetryAfterSeen: return Value(At(t, "retry_after_seen"));
    case GateMetricId::kRetryAfterHonoured: return Value(At(t, "retry_after_honoured"));
    case GateMetricId::kJain: return Value(At(At(t, "fairness"), "jain"), "not measured: instances not known");
    default: return Nothing("not measured");
  }
}

Measured FromProbeWindow(GateMetricId id, const json& w) {
  const bool detected = At(w, "detection_delay_s").is_number();
  switch (id) {
    case GateMetricId::kDetectionDelayS: return Value(At(w, "detection_delay_s"), "never detected");
    case GateMetricId::kRecoveryDelayS:
      return Value(At(w, "recovery_delay_s"),
                   detected ? "never turned healthy again" : "not measured: never turned unhealthy");
    default: return Nothing("not measured");
  }
}

Measured FromMonitor(GateMetricId id, const json& m) {
  switch (id) {
    case GateMetricId::kSlopePerMin: return Value(At(m, "slope_per_min"));
    case GateMetricId::kMannKendallP: return Value(At(At(m, "mann_kendall"), "p"));
    case GateMetricId::kRise: return Value(At(m, "rise"));
    case GateMetricId::kLast: return Value(At(m, "last"));
    case GateMetricId::kMax: return Value(At(m, "max"));
    case GateMetricId::kLeak: return Value(At(m, "leak"));
    case GateMetricId::kReturnedToBaseline:
      return Value(At(m, "returned_to_baseline"),
                   "not judged: no sample after the load stopped (give the monitor an \"idle\")");
    default: return Nothing("not measured");
  }
}

Measured FromDurability(GateMetricId id, const json& d) {
  switch (id) {
    case GateMetricId::kLost: return Value(At(d, "lost"));
    case GateMetricId::kUnexpected: return Value(At(d, "unexpected"));
    case GateMetricId::kAcknowledged: return Value(At(d, "acknowledged"));
    case GateMetricId::kRecovered: return Value(At(d, "recovered"));
    case GateMetricId::kIndeterminate: return Value(At(d, "indeterminate"));
    case GateMetricId::kValid: return Value(At(d, "valid"));
    default: return Nothing("not measured");
  }
}

// ---------------------------------------------------------------------------
// Judging.

// "amplification 4.21 > 2", "storm is true, expected false",
// "recovery_s never recovered"; sets *passed.
std::string Judge(const GateSpec& g, std::string_view metric, const Measured& m, bool* passed) {
  *passed = false;
  if (m.value.is_boolean()) {
    const bool v = m.value.get<bool>();
    if (!g.equals) return fmt::format("{} is {}, and the gate has no \"equals\"", metric, v);
    *passed = v == *g.equals;
    return *passed ? fmt::format("{} is {}", metric, v) : fmt::format("{} is {}, expected {}", metric, v, *g.equals);
  }
  if (m.value.is_number()) {
    const double v = m.value.get<double>();
    const std::string text = FormatGateNumber(v);
    if (g.equals) return fmt::format("{} is {}, expected {}", metric, text, *g.equals);
    if (g.max && v > *g.max) return fmt::format("{} {} > {}", metric, text, FormatGateNumber(*g.max));
    if (g.min && v < *g.min) return fmt::format("{} {} < {}", metric, text, FormatGateNumber(*g.min));
    *passed = true;
    if (g.max && g.min) {
      return fmt::format("{} {} in [{}, {}]", metric, text, FormatGateNumber(*g.min), FormatGateNumber(*g.max));
    }
    if (g.max) return fmt::format("{} {} <= {}", metric, text, FormatGateNumber(*g.max));
    if (g.min) return fmt::format("{} {} >= {}", metric, text, FormatGateNumber(*g.min));
    return fmt::format("{} {}", metric, text);
  }
  return fmt::format("{} {}", metric, m.reason.empty() ? "not measured" : m.reason);
}

class Collector {
 public:
  Collector(const GateSpec& g, GateResult* r) : g_(g), r_(r), metric_(GateMetricOf(g.metric).name) {}

  void Add(std::string scope, const Measured& m) {
    GateValue v;
    v.scope = std::move(scope);
    v.value = m.value;
    const std::string text = Judge(g_, metric_, m, &v.passed);
    if (m.value.is_null()) v.reason = m.reason.empty() ? "not measured" : m.reason;
    lines_.push_back({fmt::format("{} ({})", text, v.scope), v.passed});
    r_->values.push_back(std::move(v));
  }

  // Every failing value, or every value when all passed.
  std::string Message() const {
    constexpr size_t kMaxListed = 10;
    const bool failed = std::any_of(lines_.begin(), lines_.end(), [](const auto& l) { return !l.second; });
    std::vector<std::string> listed;
    size_t more = 0;
    for (const auto& [text, passed] : lines_) {
      if (failed && passed) continue;
      if (listed.size() < kMaxListed) {
        listed.push_back(text);
      } else {
        ++more;
      }
    }
    std::string out;
    for (size_t i = 0; i < listed.size(); ++i) out += (i ? "; " : "") + listed[i];
    if (more > 0) out += fmt::format("; and {} more", more);
    return out;
  }

 private:
  const GateSpec& g_;
  GateResult* r_;
  std::string_view metric_;
  std::vector<std::pair<std::string, bool>> lines_;
};

// The fleets a per-fleet gate covers, by name, in summary order.
std::vector<std::string> FleetNames(const GateSpec& g, const json& summary) {
  std::vector<std::string> names;
  for (const json& f : Array(summary, "fleets")) {
    const std::string name = String(At(f, "name"));
    if (!g.fleet || *g.fleet == name) names.push_back(name);
  }
  return names;
}

const json* FleetIn(const json& list, const std::string& name) {
  if (!list.is_array()) return nullptr;
  for (const json& f : list) {
    if (String(At(f, "name")) == name) return &f;
  }
  return nullptr;
}

// Collects the gate's values; returns why there are none when it knows.
std::string Collect(const GateSpec& g, const json& summary, Collector* c) {
  const GateMetric& metric = GateMetricOf(g.metric);
  const json& analyses = At(summary, "analyses");
  const std::vector<std::string> fleets = FleetNames(g, summary);
  const std::string no_fleet =
      g.fleet ? fmt::format("nothing to measure: the run has no fleet {}", json(*g.fleet).dump()) : "nothing to measure";

  std::vector<WindowRef> windows;
  if (g.phase == GateSpec::Phase::kWindow) {
    std::string why;
    if (!SelectWindows(g, summary, &windows, &why)) return why;
  }

  switch (metric.scope) {
    case GateScope::kFleetPhase: {
      if (fleets.empty()) return no_fleet;
      const json& phases = Array(summary, "phases");
      if (g.phase != GateSpec::Phase::kRun && phases.empty()) return "no such phase: the run had no fault windows";
      for (const std::string& name : fleets) {
        if (g.phase == GateSpec::Phase::kRun) {
          const json* fig = FleetIn(At(summary, "fleets"), name);
          c->Add(name, fig ? FromFigures(g.metric, *fig) : Nothing("not measured"));
          continue;
        }
        if (g.phase == GateSpec::Phase::kWindow) {
          std::vector<const json*> window_phases;
          for (const json& p : phases) {
            if (String(At(p, "phase")) == "window") window_phases.push_back(&p);
          }
          for (const WindowRef& w : windows) {
            const json* phase =
                static_cast<size_t>(w.analysis) < window_phases.size() ? window_phases[w.analysis] : nullptr;
            const json* fig = phase ? FleetIn(At(*phase, "fleets"), name) : nullptr;
            c->Add(name + ", " + w.Scope(), fig ? FromFigures(g.metric, *fig) : Nothing("not measured"));
          }
          continue;
        }
        const std::string wanted = GatePhaseName(g.phase);
        for (const json& p : phases) {
          if (String(At(p, "phase")) != wanted) continue;
          const json* fig = FleetIn(At(p, "fleets"), name);
          std::string label = String(At(p, "label"));
          if (label.empty()) label = wanted;
          c->Add(name + ", " + label, fig ? FromFigures(g.metric, *fig) : Nothing("not measured"));
        }
      }
      return "nothing to measure";
    }
    case GateScope::kFleetWindow: {
      if (fleets.empty()) return no_fleet;
      for (const std::string& name : fleets) {
        const json* fleet = FleetIn(At(analyses, "fleets"), name);
        for (const WindowRef& w : windows) {
          c->Add(name + ", " + w.Scope(),
                 fleet ? FromFleetWindow(g.metric, *fleet, w.analysis) : Nothing("not measured: not in the analyses"));
        }
      }
      return "nothing to measure";
    }
    case GateScope::kFleetRun: {
      if (fleets.empty()) return no_fleet;
      for (const std::string& name : fleets) {
        const json* fleet = FleetIn(At(analyses, "fleets"), name);
        c->Add(name, fleet ? FromThrottling(g.metric, *fleet) : Nothing("not measured: not in the analyses"));
      }
      return "nothing to measure";
    }
    case GateScope::kProbeWindow:
    case GateScope::kProbeRun: {
      const json& probes = Array(analyses, "probes");
      for (const json& p : probes) {
        const std::string probe = String(At(p, "probe"));
        const int replica = At(p, "replica").is_number() ? At(p, "replica").get<int>() : 0;
        if ((g.probe && *g.probe != probe) || (g.replica && *g.replica != replica)) continue;
        const std::string scope = fmt::format("probe {}, replica {}", probe, replica);
        if (metric.scope == GateScope::kProbeWindow) {
          for (const WindowRef& w : windows) {
            // Absent: the window hit another replica, not this probe's to detect.
            if (const json* entry = ForWindow(At(p, "windows"), w.analysis)) {
              c->Add(scope + ", " + w.Scope(), FromProbeWindow(g.metric, *entry));
            }
          }
        } else if (g.metric == GateMetricId::kRestarts) {
          double restarts = 0;
          for (const json& r : Array(summary, "restarts")) {
            const json& rr = At(r, "replica");
            restarts += String(At(r, "probe")) == probe && rr.is_number() && rr.get<int>() == replica;
          }
          c->Add(scope, {restarts, ""});
        } else {
          const char* key = g.metric == GateMetricId::kFalseAlarms ? "false_alarms"
                            : g.metric == GateMetricId::kMisses    ? "misses"
                                                                   : "flaps";
          c->Add(scope, Value(At(p, key)));
        }
      }
      if (probes.empty()) return "nothing to measure: no probe ran";
      return "nothing to measure: no probe result matches";
    }
    case GateScope::kMonitor: {
      const json& monitors = Array(analyses, "monitors");
      for (const json& m : monitors) {
        const std::string monitor = String(At(m, "monitor"));
        const std::string series = String(At(m, "series"));
        const int replica = At(m, "replica").is_number() ? At(m, "replica").get<int>() : 0;
        if ((g.monitor && *g.monitor != monitor) || (g.series && *g.series != series) ||
            (g.replica && *g.replica != replica)) {
          continue;
        }
        c->Add(fmt::format("monitor {}, replica {}, series {}", monitor, replica, series), FromMonitor(g.metric, m));
      }
      if (monitors.empty()) return "nothing to measure: no monitor samples";
      return "nothing to measure: no monitor series matches";
    }
    case GateScope::kDurability: {
      const json& d = At(analyses, "durability");
      if (!d.is_object()) return "no durability checker";
      c->Add("durability", FromDurability(g.metric, d));
      return "nothing to measure";
    }
  }
  return "nothing to measure";
}

}  // namespace

std::string FormatGateNumber(double v) {
  if (!std::isfinite(v)) return v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a < 1e-3) return fmt::format("{:.3g}", v);
  if (a >= 1e15) return fmt::format("{:.6g}", v);
  const int decimals = std::clamp(2 - static_cast<int>(std::floor(std::log10(a))), 0, 6);
  std::string s = fmt::format("{:.{}f}", v, decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

GateResult EvaluateGate(const GateSpec& gate, const json& summary) {
  GateResult r;
  r.name = gate.name.empty() ? GateDefaultName(gate) : gate.name;
  r.metric = std::string(GateMetricOf(gate.metric).name);
  if (gate.max) r.bound["max"] = GateNumberJson(*gate.max);
  if (gate.min) r.bound["min"] = GateNumberJson(*gate.min);
  if (gate.equals) r.bound["equals"] = *gate.equals;
  Collector c(gate, &r);
  const std::string none = Collect(gate, summary, &c);
  if (r.values.empty()) {
    r.passed = false;
    r.message = none;
    return r;
  }
  r.passed = std::all_of(r.values.begin(), r.values.end(), [](const GateValue& v) { return v.passed; });
  r.message = c.Message();
  return r;
}

std::vector<GateResult> EvaluateGates(const std::vector<GateSpec>& gates, const json& summary) {
  std::vector<GateResult> out;
  out.reserve(gates.size());
  for (const GateSpec& g : gates) out.push_back(EvaluateGate(g, summary));
  return out;
}

json GateResultJson(const GateResult& r) {
  json values = json::array();
  for (const GateValue& v : r.values) {
    json j = {{"scope", v.scope}, {"value", v.value}, {"passed", v.passed}};
    if (!v.reason.empty()) j["reason"] = v.reason;
    values.push_back(std::move(j));
  }
  return {{"name", r.name},      {"metric", r.metric},           {"bound", r.bound},
          {"passed", r.passed},  {"values", std::move(values)},  {"message", r.message}};
}

json GatesJson(const std::vector<GateResult>& results) {
  json out = json::array();
  for (const GateResult& r : results) out.push_back(GateResultJson(r));
  return out;
}

}  // namespace herd
