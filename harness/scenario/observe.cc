// Parsing "probes", "monitors" and "durability".

#include "scenario/observe.h"

#include <set>

namespace herd::scenario_detail {
namespace {

const NameTable<ProbeSpec::Kind> kProbeKinds = {{"http", ProbeSpec::Kind::kHttp},
                                                {"grpc", ProbeSpec::Kind::kGrpc}};
const NameTable<ProbeSpec::Action> kProbeActions = {{"none", ProbeSpec::Action::kNone},
                                                    {"restart", ProbeSpec::Action::kRestart},
                                                    {"unready", ProbeSpec::Action::kUnready}};
const NameTable<MonitorSpec::Kind> kMonitorKinds = {{"process", MonitorSpec::Kind::kProcess},
                                                    {"prometheus", MonitorSpec::Kind::kPrometheus}};

// The objects of an array section, each with its path; errors for the rest.
template <typename F>
void ForEachObject(const json& list, std::string_view section, std::string_view what, Errors* errors, F each) {
  if (list.is_null()) return;
  if (!list.is_array()) {
    errors->Add(std::string(section), fmt::format("expected an array of {}s, got {}", what, Describe(list)));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = IndexPath(section, i);
    if (!list[i].is_object()) {
      errors->Add(path, fmt::format("expected an object (a {}), got {}", what, Describe(list[i])));
      continue;
    }
    each(list[i], path);
  }
}

// Names become CSV values and report labels: the same rule as fleet names,
// and unique within their section.
void ReadName(const Fields& f, std::string* name, std::set<std::string>* seen) {
  if (f.ReadString("name", name)) {
    std::string why;
    if (!IsSafeName(*name, &why)) f.Fail("name", why);
  }
  if (!seen->insert(*name).second) {
    f.Fail("name", fmt::format("duplicate name {}: give each one its own \"name\"", Quoted(*name)));
  }
}

}  // namespace

void ParseProbes(const json& list, Errors* errors, Scenario* s) {
  std::set<std::string> seen;
  ForEachObject(list, "probes", "probe", errors, [&](const json& j, const std::string& path) {
    Fields f(j, path, errors,
             {"name", "kind", "path", "service", "period", "timeout", "initial_delay", "failure_threshold",
              "success_threshold", "action"});
    ProbeSpec p;
    ReadName(f, &p.name, &seen);
    f.ReadEnum("kind", &p.kind, kProbeKinds);
    if (p.kind == ProbeSpec::Kind::kHttp) {
      f.Reject({"service"}, "only for kind \"grpc\"");
      if (f.ReadString("path", &p.path) && !p.path.starts_with('/')) {
        f.Fail("path", "expected a path starting with '/', got " + Quoted(p.path));
      }
    } else {
      f.Reject({"path"}, "only for kind \"http\"");
      f.ReadString("service", &p.service);
      if (s->target.protocol != Target::Protocol::kGrpc) {
        f.Fail("kind", "gRPC health probes need target.protocol \"grpc\"");
      }
    }
    f.ReadDuration("period", &p.period, kPositiveDuration);
    f.ReadDuration("timeout", &p.timeout, kPositiveDuration);
    f.ReadDuration("initial_delay", &p.initial_delay);
    f.ReadInteger("failure_threshold", &p.failure_threshold, 1);
    f.ReadInteger("success_threshold", &p.success_threshold, 1);
    f.ReadEnum("action", &p.action, kProbeActions);
    if (p.action == ProbeSpec::Action::kRestart) {
      if (!s->target.launch) f.Fail("action", "restart needs a target herd launches (target.launch)");
      // The kubelet refuses this for liveness probes, for the same reason.
      if (p.success_threshold != 1) {
        f.Fail("success_threshold", "must be 1 for a probe that restarts (as for Kubernetes liveness probes)");
      }
    }
    if (!s->target.model.is_null()) f.Fail("kind", "probes need a real target (launch or url), not a model");
    s->probes.push_back(std::move(p));
  });
}

void ParseMonitors(const json& list, Errors* errors, Scenario* s) {
  std::set<std::string> seen;
  ForEachObject(list, "monitors", "monitor", errors, [&](const json& j, const std::string& path) {
    Fields f(j, path, errors, {"kind", "name", "path", "series", "pid", "idle"});
    MonitorSpec m;
    if (!f.Has("kind")) {
      f.Fail("kind", "required: \"process\" or \"prometheus\"");
      return;
    }
    if (!f.ReadEnum("kind", &m.kind, kMonitorKinds)) return;
    m.name = m.kind == MonitorSpec::Kind::kProcess ? "process" : "prometheus";
    ReadName(f, &m.name, &seen);
    f.ReadDuration("idle", &m.idle);
    if (m.kind == MonitorSpec::Kind::kProcess) {
      f.Reject({"path", "series"}, "only for kind \"prometheus\"");
      f.ReadInteger("pid", &m.pid, 1);
      if (m.pid == 0 && !s->target.launch) {
        f.Fail("kind", "a process monitor needs a target herd launches, or a \"pid\"");
      }
    } else {
      f.Reject({"pid"}, "only for kind \"process\"");
      if (f.ReadString("path", &m.path) && !m.path.starts_with('/')) {
        f.Fail("path", "expected a path starting with '/', got " + Quoted(m.path));
      }
      if (const json* series = f.ReadArray("series")) {
        for (size_t i = 0; i < series->size(); ++i) {
          const json& v = (*series)[i];
          if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
            errors->Add(IndexPath(f.At("series"), i),
                        "expected a series name like \"kvd_tasks\" or \"go_goroutines\", got " + Describe(v));
          } else {
            m.series.push_back(v.get<std::string>());
          }
        }
        if (series->empty()) f.Fail("series", "needs at least one series, e.g. [\"kvd_tasks\"]");
      } else if (!f.Has("series")) {
        f.Fail("series", "required: the series to sample, e.g. [\"kvd_tasks\"] or [\"go_goroutines\"]");
      }
      if (!s->target.model.is_null()) f.Fail("kind", "monitors need a real target (launch or url), not a model");
    }
    s->monitors.push_back(std::move(m));
  });
}

void ParseDurability(const json& value, Errors* errors, Scenario* s) {
  if (value.is_null()) return;
  if (!value.is_object()) {
    errors->Add("durability", "expected an object like {\"writes\": 5000} or null, got " + Describe(value));
    return;
  }
  Fields f(value, "durability", errors, {"writes", "timeout"});
  DurabilityScenarioSpec d;
  f.ReadInteger("writes", &d.writes, 1, 10'000'000);
  f.ReadDuration("timeout", &d.timeout, kPositiveDuration);
  if (!s->target.model.is_null()) {
    errors->Add("durability", "the durability checker needs a real target (launch or url), not a model");
  }
  s->durability = d;
}

json ResolvedProbe(const ProbeSpec& p) {
  json j = {{"name", p.name},
            {"kind", NameOf(kProbeKinds, p.kind)},
            {"period", FormatDuration(p.period)},
            {"timeout", FormatDuration(p.timeout)},
            {"initial_delay", FormatDuration(p.initial_delay)},
            {"failure_threshold", p.failure_threshold},
            {"success_threshold", p.success_threshold},
            {"action", NameOf(kProbeActions, p.action)}};
  if (p.kind == ProbeSpec::Kind::kHttp) {
    j["path"] = p.path;
  } else {
    j["service"] = p.service;
  }
  return j;
}

json ResolvedMonitor(const MonitorSpec& m) {
  json j = {{"kind", NameOf(kMonitorKinds, m.kind)}, {"name", m.name}, {"idle", FormatDuration(m.idle)}};
  if (m.kind == MonitorSpec::Kind::kPrometheus) {
    j["path"] = m.path;
    j["series"] = m.series;
  } else if (m.pid > 0) {
    j["pid"] = m.pid;
  }
  return j;
}

json ResolvedDurability(const std::optional<DurabilityScenarioSpec>& d) {
  if (!d) return nullptr;
  return {{"writes", d->writes}, {"timeout", FormatDuration(d->timeout)}};
}

}  // namespace herd::scenario_detail
