// Parsing the "faults" list. Each kind knows its own parameters, so a field
// that belongs to another kind ("kbps" on a reset) is reported, not ignored.

#include "scenario/faults.h"

#include <set>

namespace herd::scenario_detail {
namespace {

using Kind = FaultSpec::Kind;
using Direction = ProxyFault::Direction;

const NameTable<Kind> kFaultKinds = {
    {"latency", Kind::kLatency},     {"bandwidth", Kind::kBandwidth},
    {"reset", Kind::kReset},         {"blackhole", Kind::kBlackhole},
    {"down", Kind::kDown},           {"slow_close", Kind::kSlowClose},
    {"slicer", Kind::kSlicer},       {"limit_data", Kind::kLimitData},
    {"http_error", Kind::kHttpError}, {"http_delay", Kind::kHttpDelay},
    {"kill", Kind::kKill},           {"pause", Kind::kPause},
    {"term", Kind::kTerm},           {"fd_limit", Kind::kFdLimit},
    {"admin", Kind::kAdmin},
};
const NameTable<Direction> kDirections = {
    {"up", Direction::kUp}, {"down", Direction::kDown}, {"both", Direction::kBoth}};

// kvd's /admin/faults fields (targets/kvd/faults.h); kvd checks the values.
const std::vector<std::string_view> kAdminFields = {
    "latency", "service_time", "error_rate", "error_status", "stall", "deep_dependency_down", "leak"};

ProxyFault::Kind ProxyKind(Kind k) {
  switch (k) {
    case Kind::kBandwidth: return ProxyFault::Kind::kBandwidth;
    case Kind::kReset: return ProxyFault::Kind::kReset;
    case Kind::kBlackhole: return ProxyFault::Kind::kBlackhole;
    case Kind::kSlowClose: return ProxyFault::Kind::kSlowClose;
    case Kind::kSlicer: return ProxyFault::Kind::kSlicer;
    case Kind::kLimitData: return ProxyFault::Kind::kLimitData;
    case Kind::kHttpError: return ProxyFault::Kind::kHttpError;
    case Kind::kHttpDelay: return ProxyFault::Kind::kHttpDelay;
    default: return ProxyFault::Kind::kLatency;
  }
}

// The parameters of each kind, besides at/for/until/kind/replica.
std::vector<std::string_view> ParamsOf(Kind k) {
  switch (k) {
    case Kind::kLatency: return {"latency", "jitter", "direction", "toxicity"};
    case Kind::kBandwidth: return {"kbps", "direction", "toxicity"};
    case Kind::kReset: return {"after", "bytes", "direction", "toxicity"};
    case Kind::kBlackhole: return {"direction", "toxicity"};
    case Kind::kDown: return {};
    case Kind::kSlowClose: return {"delay", "direction", "toxicity"};
    case Kind::kSlicer: return {"average_size", "size_variation", "delay", "direction", "toxicity"};
    case Kind::kLimitData: return {"bytes", "direction", "toxicity"};
    case Kind::kHttpError: return {"status", "probability", "latency"};
    case Kind::kHttpDelay: return {"latency", "mean", "stddev", "probability"};
    case Kind::kKill: case Kind::kTerm: return {"restart_after"};
    case Kind::kPause: return {};
    case Kind::kFdLimit: return {"limit"};
    case Kind::kAdmin: return kAdminFields;
  }
  return {};
}

// Toxiproxy's default stream is downstream; faults whose point is that
// nothing gets through act both ways.
Direction DefaultDirection(Kind k) {
  return k == Kind::kReset || k == Kind::kBlackhole ? Direction::kBoth : Direction::kDown;
}

void ReadProxyParams(const Fields& f, Kind kind, FaultSpec* out) {
  ProxyFault& p = out->proxy;
  p.kind = ProxyKind(kind);
  p.direction = DefaultDirection(kind);
  f.ReadEnum("direction", &p.direction, kDirections);
  f.ReadNumber("toxicity", &p.toxicity, NumberRange{0, false, 1});
  auto required = [&](std::string_view key, std::string_view example) {
    if (!f.Has(key)) f.Fail(key, fmt::format("required for {}, e.g. {}", FaultKindName(kind), example));
  };
  switch (kind) {
    case Kind::kLatency:
      required("latency", "\"100ms\"");
      f.ReadDuration("latency", &p.latency);
      f.ReadDuration("jitter", &p.jitter);
      break;
    case Kind::kBandwidth:
      required("kbps", "100 (kilobits per second)");
      f.ReadNumber("kbps", &p.kbps, kPositive);
      break;
    case Kind::kReset:
      f.ReadDuration("after", &p.after);
      f.ReadInteger("bytes", &p.bytes, 0);
      break;
    case Kind::kSlowClose:
      required("delay", "\"2s\"");
      f.ReadDuration("delay", &p.delay);
      break;
    case Kind::kSlicer:
      required("average_size", "64 (bytes)");
      f.ReadInteger("average_size", &p.average_size, 1);
      f.ReadInteger("size_variation", &p.size_variation, 0);
      f.ReadDuration("delay", &p.delay);
      if (p.size_variation >= p.average_size && f.Has("size_variation")) {
        f.Fail("size_variation", fmt::format("must be less than average_size ({}), got {}",
                                             p.average_size, p.size_variation));
      }
      break;
    case Kind::kLimitData:
      required("bytes", "1024");
      f.ReadInteger("bytes", &p.bytes, 1);
      break;
    case Kind::kHttpError:
      f.ReadInteger("status", &p.status, 100, 599);
      f.ReadNumber("probability", &p.probability, NumberRange{0, false, 1});
      if (const json* v = f.Find("latency")) {
        std::string why;
        if (!v->is_string() ||
            !ParseDurationRange(v->get_ref<const std::string&>(), &p.latency_lo, &p.latency_hi, &why)) {
          f.Fail("latency", "expected a duration or a range like \"0ms-198ms\", got " + Describe(*v));
        }
      }
      break;
    case Kind::kHttpDelay: {
      f.ReadNumber("probability", &p.probability, NumberRange{0, false, 1});
      const bool range = f.Has("latency"), normal = f.Has("mean") || f.Has("stddev");
      if (range == normal) {
        f.Fail(range ? "mean" : "latency",
               "give either latency (\"100ms\" or \"50ms-150ms\") or mean and stddev (a normal "
               "distribution)");
      } else if (range) {
        const json* v = f.Find("latency");
        std::string why;
        if (!v->is_string() ||
            !ParseDurationRange(v->get_ref<const std::string&>(), &p.latency_lo, &p.latency_hi, &why)) {
          f.Fail("latency", "expected a duration or a range like \"50ms-150ms\", got " + Describe(*v));
        }
      } else {
        p.normal = true;
        if (!f.Has("mean")) f.Fail("mean", "required with stddev, e.g. \"100ms\"");
        f.ReadDuration("mean", &p.mean);
        f.ReadDuration("stddev", &p.stddev);
      }
      break;
    }
    default:
      break;
  }
}

// Replicas the target has (url targets: 1).
int ReplicaCount(const Scenario& s) { return s.target.launch ? s.target.launch->replicas : 1; }

void ParseOne(const json& j, const std::string& path, Errors* errors, Scenario* s, size_t index) {
  // The kind first: it decides which fields are known.
  Kind kind = Kind::kLatency;
  bool kind_ok = false;
  {
    auto it = j.find("kind");
    if (it == j.end()) {
      errors->Add(KeyPath(path, "kind"), "required: what to inject, e.g. \"latency\", \"down\", \"kill\"");
    } else {
      const json only_kind = json::object({{"kind", *it}});
      Fields probe(only_kind, path, errors, {"kind"});
      kind_ok = probe.ReadEnum("kind", &kind, kFaultKinds);
    }
  }
  std::vector<std::string_view> known = {"at", "for", "until", "kind", "replica"};
  if (kind_ok) {
    for (std::string_view p : ParamsOf(kind)) known.push_back(p);
  } else {
    // Unknown kind: do not also flag its parameters.
    for (auto it = j.begin(); it != j.end(); ++it) known.push_back(it.key());
  }
  Fields f(j, path, errors, known);
  if (!kind_ok) return;

  FaultSpec out;
  out.kind = kind;
  f.ReadDuration("at", &out.at);
  const bool restarts = kind == Kind::kKill || kind == Kind::kTerm;
  if (restarts) {
    f.Reject({"for", "until"},
             "not used by kill and term: they last until the replica restarts (restart_after)");
    out.restart_after = kind == Kind::kKill ? Duration(std::chrono::seconds(1)) : Duration::zero();
    if (const json* v = f.Find("restart_after"); v && v->is_null()) {
      out.restart_after.reset();
    } else {
      f.ReadDuration("restart_after", &*out.restart_after);
    }
    out.end = out.restart_after ? out.at + *out.restart_after : s->duration;
  } else {
    out.end = s->duration;
    if (f.Has("for") && f.Has("until")) {
      f.Fail("until", "give for or until, not both");
    } else if (Duration d{}; f.ReadDuration("for", &d, kPositiveDuration)) {
      out.end = out.at + d;
    } else if (Duration u{}; f.ReadDuration("until", &u)) {
      if (u <= out.at) {
        f.Fail("until", fmt::format("must be after at ({}), got {}", FormatDuration(out.at),
                                    Describe(*f.Find("until"))));
      }
      out.end = u;
    }
  }
  if (out.at >= s->duration && f.Has("at")) {
    f.Fail("at", fmt::format("must be before the end of the run ({}), got {}",
                             FormatDuration(s->duration), Describe(*f.Find("at"))));
  } else if (out.end > s->duration) {
    const char* key = restarts ? "restart_after" : f.Has("until") ? "until" : "for";
    f.Fail(key, fmt::format("the window ends at {}, past the end of the run ({})",
                            FormatDuration(out.end), FormatDuration(s->duration)));
  }
  if (f.Has("replica")) {
    const int n = ReplicaCount(*s);
    int r = -1;
    if (const json* v = f.Find("replica"); v->is_string() && v->get<std::string>() == "all") {
      out.replica = -1;
    } else if (f.ReadInteger("replica", &r, 0)) {
      if (r >= n) {
        f.Fail("replica", fmt::format("the target has {} replica{} (0{}), got {}", n, n == 1 ? "" : "s",
                                      n == 1 ? "" : fmt::format("..{}", n - 1), r));
      }
      out.replica = r;
    }
  }

  // What the target can take.
  const Target& t = s->target;
  if (!t.model.is_null()) {
    errors->Add(KeyPath(path, "kind"), "faults need a real target (launch or url), not a model");
  } else if ((out.is_process() || kind == Kind::kAdmin) && !t.launch) {
    errors->Add(KeyPath(path, "kind"),
                fmt::format("{} needs a target herd launches (target.launch)", FaultKindName(kind)));
  } else if (out.proxy.is_http() || kind == Kind::kHttpError || kind == Kind::kHttpDelay) {
    if (t.protocol != Target::Protocol::kHttp) {
      errors->Add(KeyPath(path, "kind"), fmt::format("{} needs target.protocol \"http\"", FaultKindName(kind)));
    }
  }

  if (out.is_proxy()) ReadProxyParams(f, kind, &out);
  if (kind == Kind::kFdLimit) {
    if (!f.Has("limit")) f.Fail("limit", "required for fd_limit: the new open-file limit, e.g. 32");
    f.ReadInteger("limit", &out.fd_limit, 3);
  }
  if (kind == Kind::kAdmin) {
    for (std::string_view key : kAdminFields) {
      if (const json* v = f.Find(key)) out.admin[std::string(key)] = *v;
    }
    if (out.admin.empty()) {
      errors->Add(path, fmt::format("admin needs at least one of {}", QuotedList(kAdminFields)));
    }
  }
  // Reproducible draws, different for each fault.
  out.proxy.seed = s->seed * 1000003 + index + 1;
  s->faults.push_back(std::move(out));
}

}  // namespace

void ParseFaults(const json& list, Errors* errors, Scenario* s) {
  if (list.is_null()) return;
  if (!list.is_array()) {
    errors->Add("faults", "expected an array of faults, got " + Describe(list));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = IndexPath("faults", i);
    if (!list[i].is_object()) {
      errors->Add(path, "expected an object (a fault), got " + Describe(list[i]));
      continue;
    }
    ParseOne(list[i], path, errors, s, i);
  }
}

json ResolvedFault(const FaultSpec& f) {
  json j;
  j["kind"] = FaultKindName(f.kind);
  j["at"] = FormatDuration(f.at);
  if (f.kind == Kind::kKill || f.kind == Kind::kTerm) {
    j["restart_after"] = f.restart_after ? json(FormatDuration(*f.restart_after)) : json(nullptr);
  } else {
    j["until"] = FormatDuration(f.end);
  }
  j["replica"] = f.replica < 0 ? json("all") : json(f.replica);
  const ProxyFault& p = f.proxy;
  if (f.is_proxy() && f.kind != Kind::kDown && !p.is_http()) {
    j["direction"] = NameOf(kDirections, p.direction);
    j["toxicity"] = p.toxicity;
  }
  auto range = [](Duration lo, Duration hi) {
    return lo == hi ? FormatDuration(lo) : FormatDuration(lo) + "-" + FormatDuration(hi);
  };
  switch (f.kind) {
    case Kind::kLatency:
      j["latency"] = FormatDuration(p.latency);
      j["jitter"] = FormatDuration(p.jitter);
      break;
    case Kind::kBandwidth: j["kbps"] = p.kbps; break;
    case Kind::kReset:
      j["after"] = FormatDuration(p.after);
      j["bytes"] = p.bytes;
      break;
    case Kind::kSlowClose: j["delay"] = FormatDuration(p.delay); break;
    case Kind::kSlicer:
      j["average_size"] = p.average_size;
      j["size_variation"] = p.size_variation;
      j["delay"] = FormatDuration(p.delay);
      break;
    case Kind::kLimitData: j["bytes"] = p.bytes; break;
    case Kind::kHttpError:
      j["status"] = p.status;
      j["probability"] = p.probability;
      j["latency"] = range(p.latency_lo, p.latency_hi);
      break;
    case Kind::kHttpDelay:
      j["probability"] = p.probability;
      if (p.normal) {
        j["mean"] = FormatDuration(p.mean);
        j["stddev"] = FormatDuration(p.stddev);
      } else {
        j["latency"] = range(p.latency_lo, p.latency_hi);
      }
      break;
    case Kind::kFdLimit: j["limit"] = f.fd_limit; break;
    case Kind::kAdmin:
      for (const auto& [key, value] : f.admin.items()) j[key] = value;
      break;
    default:
      break;
  }
  return j;
}

}  // namespace herd::scenario_detail

namespace herd {

const char* FaultKindName(FaultSpec::Kind kind) {
  for (const auto& [name, k] : scenario_detail::kFaultKinds) {
    if (k == kind) return name.data();
  }
  return "unknown";
}

nlohmann::json FaultParameters(const FaultSpec& fault) {
  nlohmann::json j = scenario_detail::ResolvedFault(fault);
  for (const char* key : {"kind", "at", "until", "replica"}) j.erase(key);
  return j;
}

}  // namespace herd
