// Parsing "gates" (the format and the metrics are in gates.h).

#include "scenario/gates.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "scenario/fields.h"
#include "scenario/scenario.h"

namespace herd {

const GateMetric* FindGateMetric(std::string_view name) {
  for (const GateMetric& m : kGateMetrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const GateMetric& GateMetricOf(GateMetricId id) {
  for (const GateMetric& m : kGateMetrics) {
    if (m.id == id) return m;
  }
  return kGateMetrics[0];  // unreachable: every id is in the table
}

const char* GatePhaseName(GateSpec::Phase phase) {
  switch (phase) {
    case GateSpec::Phase::kRun: return "run";
    case GateSpec::Phase::kBefore: return "before";
    case GateSpec::Phase::kWindow: return "window";
    case GateSpec::Phase::kAfter: return "after";
  }
  return "run";
}

nlohmann::json GateNumberJson(double v) {
  if (std::trunc(v) == v && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

std::string GateBoundText(const GateSpec& g) {
  using scenario_detail::FormatNumber;
  if (g.equals) return fmt::format("== {}", *g.equals ? "true" : "false");
  if (g.max && g.min) return fmt::format("in [{}, {}]", FormatNumber(*g.min), FormatNumber(*g.max));
  if (g.max) return "<= " + FormatNumber(*g.max);
  if (g.min) return ">= " + FormatNumber(*g.min);
  return "";
}

std::string GateScopeText(const GateSpec& g) {
  std::vector<std::string> parts;
  const GateScope scope = GateMetricOf(g.metric).scope;
  if (g.fleet) parts.push_back(*g.fleet);
  if (g.probe) parts.push_back("probe " + *g.probe);
  if (g.monitor) parts.push_back("monitor " + *g.monitor);
  if (g.replica) parts.push_back(fmt::format("replica {}", *g.replica));
  if (g.series) parts.push_back("series " + *g.series);
  const bool has_phases =
      scope == GateScope::kFleetPhase || scope == GateScope::kFleetWindow || scope == GateScope::kProbeWindow;
  if (has_phases) {
    switch (g.phase) {
      case GateSpec::Phase::kRun: break;
      case GateSpec::Phase::kBefore: parts.push_back("before the first fault"); break;
      case GateSpec::Phase::kAfter: parts.push_back("after the last fault"); break;
      case GateSpec::Phase::kWindow:
        parts.push_back(g.window ? fmt::format("window {}", *g.window) : "every window");
        break;
    }
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::string GateDefaultName(const GateSpec& g) {
  std::string name = fmt::format("{} {}", GateMetricOf(g.metric).name, GateBoundText(g));
  const std::string scope = GateScopeText(g);
  if (!scope.empty()) name += " (" + scope + ")";
  return name;
}

namespace scenario_detail {
namespace {

const NameTable<GateSpec::Phase> kGatePhases = {{"run", GateSpec::Phase::kRun},
                                                {"before", GateSpec::Phase::kBefore},
                                                {"window", GateSpec::Phase::kWindow},
                                                {"after", GateSpec::Phase::kAfter}};

std::string_view ScopeWords(GateScope scope) {
  switch (scope) {
    case GateScope::kFleetPhase: return "a per-fleet metric";
    case GateScope::kFleetWindow: return "a per-fleet, per-window metric";
    case GateScope::kFleetRun: return "a per-fleet metric of the whole run";
    case GateScope::kProbeWindow: return "a per-probe, per-window metric";
    case GateScope::kProbeRun: return "a per-probe metric of the whole run";
    case GateScope::kMonitor: return "a per-monitor-series metric";
    case GateScope::kDurability: return "a durability metric";
  }
  return "a metric";
}

// Replicas the target has (url and model targets: 1), as faults.cc counts.
int Replicas(const Scenario& s) { return s.target.launch ? s.target.launch->replicas : 1; }

// Fault windows the scenario makes: one per fault, and one per replica for
// a fault on every replica (fault/timeline.h: a faults.csv row each).
int WindowCount(const Scenario& s) {
  int n = 0;
  for (const FaultSpec& f : s.faults) n += f.replica < 0 ? Replicas(s) : 1;
  return n;
}

// A name that must be one of `known`; "what" is "fleet", "probe", ...
void CheckName(const Fields& f, std::string_view key, const std::string& name, std::string_view what,
               const std::vector<std::string_view>& known) {
  if (std::find(known.begin(), known.end(), name) != known.end()) return;
  if (known.empty()) {
    f.Fail(key, fmt::format("no {} named {}: the scenario has no {}s", what, Quoted(name), what));
    return;
  }
  std::string hint = DidYouMean(name, known);
  if (hint.empty()) hint = fmt::format(" (the {}s are: {})", what, QuotedList(known));
  f.Fail(key, fmt::format("no {} named {}{}", what, Quoted(name), hint));
}

void ParseGate(const json& j, const std::string& path, Errors* errors, Scenario* s) {
  Fields f(j, path, errors,
           {"name", "metric", "fleet", "phase", "window", "probe", "replica", "monitor", "series", "max", "min",
            "equals"});
  GateSpec g;
  const GateMetric* metric = nullptr;
  if (const json* m = f.Find("metric")) {
    std::vector<std::string_view> names;
    for (const GateMetric& known : kGateMetrics) names.push_back(known.name);
    if (!m->is_string()) {
      f.Fail("metric", "expected a metric name like \"amplification\", got " + Describe(*m));
    } else {
      const std::string& name = m->get_ref<const std::string&>();
      metric = FindGateMetric(name);
      if (!metric) f.Fail("metric", Unknown(fmt::format("unknown metric {}", Quoted(name)), name, names));
    }
  } else {
    f.Fail("metric", "required: what to measure, e.g. \"amplification\" or \"p99_ms\"");
  }

  bool name_given = false;
  if (f.ReadString("name", &g.name)) {
    name_given = true;
    if (g.name.empty()) f.Fail("name", "must not be empty (leave it out for a name built from the metric)");
  }
  std::string text;
  if (f.ReadString("fleet", &text)) g.fleet = text;
  const bool phase_ok = !f.Has("phase") || f.ReadEnum("phase", &g.phase, kGatePhases);
  int64_t index = 0;
  if (f.ReadInteger("window", &index, 0, std::numeric_limits<int>::max())) g.window = static_cast<int>(index);
  if (f.ReadString("probe", &text)) g.probe = text;
  if (f.ReadInteger("replica", &index, 0, std::numeric_limits<int>::max())) g.replica = static_cast<int>(index);
  if (f.ReadString("monitor", &text)) g.monitor = text;
  if (f.ReadString("series", &text)) g.series = text;
  double number = 0;
  if (f.ReadNumber("max", &number)) g.max = number;
  if (f.ReadNumber("min", &number)) g.min = number;
  bool flag = false;
  if (f.ReadBool("equals", &flag)) g.equals = flag;

  if (!metric) return;  // nothing else can be judged without one
  g.metric = metric->id;
  const std::string metric_name = Quoted(metric->name);

  // Which fields the metric takes.
  const GateScope scope = metric->scope;
  const bool per_fleet =
      scope == GateScope::kFleetPhase || scope == GateScope::kFleetWindow || scope == GateScope::kFleetRun;
  const bool per_probe = scope == GateScope::kProbeWindow || scope == GateScope::kProbeRun;
  const bool per_monitor = scope == GateScope::kMonitor;
  const bool per_window = scope == GateScope::kFleetWindow || scope == GateScope::kProbeWindow;
  const std::string not_used = fmt::format("not used by metric {} ({})", metric_name, ScopeWords(scope));
  if (!per_fleet) f.Reject({"fleet"}, not_used);
  if (!per_probe) f.Reject({"probe"}, not_used);
  if (!per_monitor) f.Reject({"monitor", "series"}, not_used);
  if (!per_probe && !per_monitor) f.Reject({"replica"}, not_used);

  if (per_window) {
    if (phase_ok && f.Has("phase") && g.phase != GateSpec::Phase::kWindow) {
      f.Fail("phase", fmt::format("metric {} is measured in fault windows: phase must be \"window\" (or left out)",
                                  metric_name));
    }
    g.phase = GateSpec::Phase::kWindow;
  } else if (scope != GateScope::kFleetPhase) {
    if (f.Has("phase")) {
      f.Fail("phase", fmt::format("metric {} has no phases: it is measured over the whole run", metric_name));
    }
    g.phase = GateSpec::Phase::kRun;
  }
  if (f.Has("window")) {
    if (scope != GateScope::kFleetPhase && !per_window) {
      f.Reject({"window"}, not_used);
    } else if (phase_ok && g.phase != GateSpec::Phase::kWindow) {
      f.Fail("window", "only with phase \"window\"");
    } else if (g.window) {
      const int windows = WindowCount(*s);
      if (windows == 0) {
        f.Fail("window", fmt::format("the scenario has no faults, so no window {}", *g.window));
      } else if (*g.window >= windows) {
        f.Fail("window", fmt::format("the scenario's faults make {} window{} (0{}), got {}", windows,
                                     windows == 1 ? "" : "s", windows == 1 ? "" : fmt::format("-{}", windows - 1),
                                     *g.window));
      }
    }
  }

  // Names and indexes the scenario has.
  if (per_fleet && g.fleet) {
    std::vector<std::string_view> known;
    for (const Fleet& fleet : s->fleets) known.push_back(fleet.name);
    CheckName(f, "fleet", *g.fleet, "fleet", known);
  }
  if (per_probe && g.probe) {
    std::vector<std::string_view> known;
    for (const ProbeSpec& p : s->probes) known.push_back(p.name);
    CheckName(f, "probe", *g.probe, "probe", known);
  }
  if ((per_probe || per_monitor) && g.replica) {
    const int n = Replicas(*s);
    if (*g.replica >= n) {
      f.Fail("replica", fmt::format("the target has {} replica{} (0{}), got {}", n, n == 1 ? "" : "s",
                                    n == 1 ? "" : fmt::format("-{}", n - 1), *g.replica));
    }
  }
  if (per_monitor) {
    const MonitorSpec* named = nullptr;
    if (g.monitor) {
      std::vector<std::string_view> known;
      for (const MonitorSpec& m : s->monitors) {
        known.push_back(m.name);
        if (m.name == *g.monitor) named = &m;
      }
      CheckName(f, "monitor", *g.monitor, "monitor", known);
    }
    if (g.series && (named || !g.monitor)) {
      // The series the named monitor (or any monitor) samples.
      std::vector<std::string_view> known;
      for (const MonitorSpec& m : s->monitors) {
        if (named && &m != named) continue;
        if (m.kind == MonitorSpec::Kind::kProcess) {
          for (std::string_view series : kProcessSeries) known.push_back(series);
        } else {
          for (const std::string& series : m.series) known.push_back(series);
        }
      }
      std::sort(known.begin(), known.end());
      known.erase(std::unique(known.begin(), known.end()), known.end());
      if (std::find(known.begin(), known.end(), *g.series) == known.end()) {
        const std::string who = named ? fmt::format("monitor {}", Quoted(named->name)) : "no monitor";
        if (known.empty()) {
          f.Fail("series", fmt::format("{} samples series {}: the scenario has no monitors", who, Quoted(*g.series)));
        } else {
          std::string hint = DidYouMean(*g.series, known);
          if (hint.empty()) hint = fmt::format(" (the series are: {})", QuotedList(known));
          f.Fail("series", fmt::format("{} samples series {}{}", named ? who + " never" : who, Quoted(*g.series),
                                       hint));
        }
      }
    }
  }

  // Bounds of the metric's type.
  if (metric->boolean) {
    for (std::string_view key : {"max", "min"}) {
      if (f.Has(key)) {
        f.Fail(key, fmt::format("metric {} is true or false: give \"equals\": true or false", metric_name));
      }
    }
    if (!f.Has("equals") && !f.Has("max") && !f.Has("min")) {
      errors->Add(path, fmt::format("needs a bound: \"equals\": true or false (metric {} is true or false)",
                                    metric_name));
    }
  } else {
    if (f.Has("equals")) {
      f.Fail("equals", fmt::format("metric {} is a number: give \"max\" and/or \"min\"", metric_name));
    }
    if (!f.Has("max") && !f.Has("min") && !f.Has("equals")) {
      errors->Add(path, fmt::format("needs a bound: \"max\" and/or \"min\" (metric {} is a number)", metric_name));
    }
    if (g.max && g.min && *g.min > *g.max) {
      f.Fail("min", fmt::format("must be at most max ({}), got {}", FormatNumber(*g.max), FormatNumber(*g.min)));
    }
  }

  if (!name_given) g.name = GateDefaultName(g);
  s->gates.push_back(std::move(g));
}

}  // namespace

void ParseGates(const json& list, Errors* errors, Scenario* s) {
  if (list.is_null()) return;
  if (!list.is_array()) {
    errors->Add("gates", "expected an array of gates like [{\"metric\": \"amplification\", \"max\": 2}], got " +
                             Describe(list));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = IndexPath("gates", i);
    if (!list[i].is_object()) {
      errors->Add(path, "expected an object (a gate) like {\"metric\": \"amplification\", \"max\": 2}, got " +
                            Describe(list[i]));
      continue;
    }
    ParseGate(list[i], path, errors, s);
  }
}

json ResolvedGate(const GateSpec& g) {
  const GateMetric& metric = GateMetricOf(g.metric);
  json j = {{"name", g.name}, {"metric", metric.name}};
  if (g.fleet) j["fleet"] = *g.fleet;
  if (metric.scope == GateScope::kFleetPhase || metric.scope == GateScope::kFleetWindow ||
      metric.scope == GateScope::kProbeWindow) {
    j["phase"] = GatePhaseName(g.phase);
  }
  if (g.window) j["window"] = *g.window;
  if (g.probe) j["probe"] = *g.probe;
  if (g.replica) j["replica"] = *g.replica;
  if (g.monitor) j["monitor"] = *g.monitor;
  if (g.series) j["series"] = *g.series;
  if (g.max) j["max"] = GateNumberJson(*g.max);
  if (g.min) j["min"] = GateNumberJson(*g.min);
  if (g.equals) j["equals"] = *g.equals;
  return j;
}

}  // namespace scenario_detail
}  // namespace herd
