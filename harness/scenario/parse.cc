// Scenario files: JSON with comments -> validated, defaulted Scenario.
//
// Validation never stops at the first problem: a user fixing a scenario
// wants every mistake in one go, each named by its JSON path. Reading goes
// through Fields (one JSON object at a time), which knows the object's field
// names up front so a typo gets "did you mean" instead of being ignored.
//
// The defaults live in scenario.h only. Resolved() writes a Scenario back as
// JSON, which fills Scenario::resolved and is also where schema.cc takes its
// "default"s from, so the parser, summary.json and the schema cannot disagree.

#include "scenario/parse.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "common/outcome.h"
#include "scenario/faults.h"
#include "scenario/fields.h"
#include "scenario/gates.h"
#include "scenario/observe.h"

namespace herd {
namespace {

using namespace scenario_detail;

// ---------------------------------------------------------------------------
// Names of enumerations, one table each, used both ways (parse and resolve).

const NameTable<Target::Protocol> kProtocols = {{"http", Target::Protocol::kHttp},
                                                {"grpc", Target::Protocol::kGrpc}};
const NameTable<Arrival::Model> kModels = {{"closed", Arrival::Model::kClosed},
                                           {"open", Arrival::Model::kOpen}};
const NameTable<Arrival::Spacing> kSpacings = {{"uniform", Arrival::Spacing::kUniform},
                                               {"poisson", Arrival::Spacing::kPoisson}};
const NameTable<Fleet::Connections> kConnections = {
    {"per_instance", Fleet::Connections::kPerInstance}, {"shared", Fleet::Connections::kShared}};
const NameTable<BudgetSpec::Kind> kBudgetKinds = {{"token_bucket", BudgetSpec::Kind::kTokenBucket},
                                                  {"ratio", BudgetSpec::Kind::kRatio}};



// host:port, [v6]:port or http://host:port[/...]. Whether the host is
// allowed (loopback unless allow_remote) is the runner's decision.
bool IsValidUrl(std::string_view url, std::string* why) {
  *why = fmt::format("expected host:port or http://host:port[/path], got {}", Quoted(url));
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return false;
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view host, port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() ||
        authority[close + 1] != ':') {
      return false;
    }
    host = authority.substr(1, close - 1);
    port = authority.substr(close + 2);
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return false;
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        })) {
      return false;
    }
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const int number = std::stoi(std::string(port));
  if (number < 1 || number > 65535) {
    *why = fmt::format("port must be 1..65535, got {}", number);
    return false;
  }
  return true;
}

bool IsToken(std::string_view s) {
  constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kExtra.find(c) != std::string_view::npos;
  });
}

// ---------------------------------------------------------------------------
// Sections.

void ParseLaunch(const json& j, const std::string& path, Errors* errors, LaunchSpec* launch) {
  Fields f(j, path, errors, {"command", "replicas", "ready", "ready_timeout"});
  if (const json* command = f.ReadArray("command")) {
    if (command->empty()) f.Fail("command", "must not be empty (the program and its arguments)");
    for (size_t i = 0; i < command->size(); ++i) {
      const json& arg = (*command)[i];
      if (!arg.is_string()) {
        errors->Add(IndexPath(f.At("command"), i), "expected a string, got " + Describe(arg));
      } else if (i == 0 && arg.get_ref<const std::string&>().empty()) {
        errors->Add(IndexPath(f.At("command"), i), "the program must not be empty");
      } else {
        launch->command.push_back(arg.get<std::string>());
      }
    }
  } else if (!f.Has("command")) {
    f.Fail("command",
           "required: the program to start and its arguments, e.g. [\"kvd\", "
           "\"--http\", \"127.0.0.1:{port}\"]");
  }
  f.ReadInteger("replicas", &launch->replicas, 1);
  if (f.ReadString("ready", &launch->ready) && !launch->ready.starts_with('/')) {
    f.Fail("ready", "expected a path starting with '/', got " + Quoted(launch->ready));
  }
  f.ReadDuration("ready_timeout", &launch->ready_timeout, kPositiveDuration);
}

void ParseTarget(const json& j, const std::string& path, Errors* errors, Target* target) {
  Fields f(j, path, errors, {"launch", "url", "model", "protocol", "allow_remote"});
  const bool has_launch = f.HasValue("launch");
  const bool has_url = f.HasValue("url");
  const bool has_model = f.HasValue("model");
  const int kinds = int{has_launch} + int{has_url} + int{has_model};
  if (kinds > 1) {
    errors->Add(path, "give exactly one of launch, url and model");
  } else if (kinds == 0) {
    errors->Add(path,
                "needs launch (a command herd starts), url (a service already running) or model "
                "(a simulated server)");
  }
  if (const json* model = f.ReadObject("model", /*nullable=*/true)) target->model = *model;
  if (const json* launch = f.ReadObject("launch", /*nullable=*/true)) {
    target->launch.emplace();
    ParseLaunch(*launch, f.At("launch"), errors, &*target->launch);
  }
  if (has_url && f.ReadString("url", &target->url)) {
    std::string why;
    if (!IsValidUrl(target->url, &why)) f.Fail("url", why);
  }
  f.ReadEnum("protocol", &target->protocol, kProtocols);
  f.ReadBool("allow_remote", &target->allow_remote);
}

void ParseArrival(const json& j, const std::string& path, Errors* errors, Arrival* arrival) {
  Fields f(j, path, errors,
           {"model", "requests_per_instance", "think", "rate", "stages", "spacing"});
  const bool model_known = !f.Has("model") || f.ReadEnum("model", &arrival->model, kModels);
  const bool closed = arrival->model == Arrival::Model::kClosed;
  // With a bad model every field is still type-checked; only the
  // model-specific rules wait for a model.
  if (model_known) {
    if (closed) {
      f.Reject({"rate", "stages", "spacing"}, "only for the open model");
    } else {
      f.Reject({"requests_per_instance", "think"}, "only for the closed model");
    }
  }
  if (!model_known || closed) {
    f.ReadInteger("requests_per_instance", &arrival->requests_per_instance, 0);
    f.ReadDuration("think", &arrival->think);
  }
  if (!model_known || !closed) {
    bool rate_ok = !f.Has("rate") || f.ReadNumber("rate", &arrival->rate, kNonNegative);
    bool stages_ok = true;
    if (const json* stages = f.ReadArray("stages")) {
      for (size_t i = 0; i < stages->size(); ++i) {
        const std::string stage_path = IndexPath(f.At("stages"), i);
        const json& s = (*stages)[i];
        if (!s.is_object()) {
          errors->Add(stage_path, "expected an object like {\"to\": 100, \"over\": \"30s\"}, got " +
                                      Describe(s));
          stages_ok = false;
          continue;
        }
        Fields sf(s, stage_path, errors, {"to", "over"});
        Stage stage;
        for (std::string_view key : {"to", "over"}) {
          if (!sf.Has(key)) {
            sf.Fail(key, "required");
            stages_ok = false;
          }
        }
        stages_ok &= !sf.Has("to") || sf.ReadNumber("to", &stage.to, kNonNegative);
        stages_ok &= !sf.Has("over") || sf.ReadDuration("over", &stage.over);
        arrival->stages.push_back(stage);
      }
    } else {
      stages_ok = !f.Has("stages");
    }
    f.ReadEnum("spacing", &arrival->spacing, kSpacings);
    if (model_known && rate_ok && stages_ok && arrival->rate == 0 && arrival->stages.empty()) {
      errors->Add(path, "an open-model fleet needs rate > 0 or stages");
    }
  }
}

// "uniform", "sequential", "zipf" (s = 1.1) or "zipf:S".
bool ParseDistribution(std::string_view text, KeySpace* keys, std::string* why) {
  if (text == "uniform") {
    keys->distribution = KeySpace::Distribution::kUniform;
    return true;
  }
  if (text == "sequential") {
    keys->distribution = KeySpace::Distribution::kSequential;
    return true;
  }
  if (text == "zipf") {
    keys->distribution = KeySpace::Distribution::kZipf;
    return true;
  }
  if (text.starts_with("zipf:")) {
    const std::string number(text.substr(5));
    char* end = nullptr;
    const double s = number.empty() ? 0 : std::strtod(number.c_str(), &end);
    if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(s)) {
      *why = fmt::format("expected a number after \"zipf:\", got {}", Quoted(text));
      return false;
    }
    if (s <= 0) {
      *why = fmt::format("the zipf parameter must be more than 0, got {}", Quoted(text));
      return false;
    }
    keys->distribution = KeySpace::Distribution::kZipf;
    keys->zipf_s = s;
    return true;
  }
  *why = fmt::format(
      "unknown distribution {}; expected \"uniform\", \"sequential\", \"zipf\" "
      "or \"zipf:S\" like \"zipf:1.1\"",
      Quoted(text));
  *why += DidYouMean(text, {"uniform", "sequential", "zipf"});
  return false;
}

void ParseRequestTemplate(const json& j, const std::string& path, Errors* errors, HttpTemplate* t) {
  Fields f(j, path, errors, {"method", "path", "headers", "body"});
  if (f.ReadString("method", &t->method) && !IsToken(t->method)) {
    f.Fail("method", "expected an HTTP method like \"GET\", got " + Quoted(t->method));
  }
  if (f.ReadString("path", &t->path)) {
    const bool clean = std::none_of(t->path.begin(), t->path.end(), [](char c) {
      return std::isspace(static_cast<unsigned char>(c)) ||
             std::iscntrl(static_cast<unsigned char>(c));
    });
    if (!t->path.starts_with('/') || !clean) {
      f.Fail("path", "expected a path starting with '/' without spaces, got " + Quoted(t->path));
    }
  }
  if (const json* headers = f.ReadObject("headers")) {
    for (const auto& [name, value] : headers->items()) {
      const std::string header_path = KeyPath(f.At("headers"), name);
      if (!IsToken(name)) {
        errors->Add(header_path, "not a valid header name");
      } else if (!value.is_string()) {
        errors->Add(header_path, "expected a string, got " + Describe(value));
      } else if (value.get_ref<const std::string&>().find_first_of("\r\n") != std::string::npos) {
        errors->Add(header_path, "a header value must not contain line breaks");
      } else {
        t->headers[name] = value.get<std::string>();
      }
    }
  }
  f.ReadString("body", &t->body);
}

void ParseWorkload(const json& j, const std::string& path, Errors* errors, Workload* w) {
  Fields f(j, path, errors, {"mix", "keys", "value_bytes", "requests"});
  const json* mix = f.ReadObject("mix");
  if (mix) {
    // A given mix starts from zero: {"put": 1} means only puts, not puts
    // and the default gets.
    Fields m(*mix, f.At("mix"), errors, {"get", "put", "delete"});
    double get = 0, put = 0, del = 0;
    bool ok = !m.Has("get") || m.ReadNumber("get", &get, kNonNegative);
    ok &= !m.Has("put") || m.ReadNumber("put", &put, kNonNegative);
    ok &= !m.Has("delete") || m.ReadNumber("delete", &del, kNonNegative);
    const double sum = get + put + del;
    if (ok && sum <= 0) {
      f.Fail("mix", "the weights must not all be zero");
    } else if (ok && !std::isfinite(sum)) {
      f.Fail("mix", "the weights are too large to add up");
    } else if (ok) {
      w->get = get / sum;
      w->put = put / sum;
      w->del = del / sum;
    }
  }
  if (const json* keys = f.ReadObject("keys")) {
    Fields k(*keys, f.At("keys"), errors, {"count", "distribution", "prefix"});
    k.ReadInteger("count", &w->keys.count, 1);
    std::string distribution;
    if (k.ReadString("distribution", &distribution)) {
      std::string why;
      if (!ParseDistribution(distribution, &w->keys, &why)) k.Fail("distribution", why);
    }
    k.ReadString("prefix", &w->keys.prefix);
  }
  f.ReadInteger("value_bytes", &w->value_bytes, 0);
  if (const json* requests = f.ReadArray("requests")) {
    for (size_t i = 0; i < requests->size(); ++i) {
      const json& r = (*requests)[i];
      const std::string request_path = IndexPath(f.At("requests"), i);
      if (!r.is_object()) {
        errors->Add(request_path,
                    "expected an object like {\"method\": \"GET\", \"path\": "
                    "\"/v1/{key}\"}, got " +
                        Describe(r));
        continue;
      }
      HttpTemplate t;
      ParseRequestTemplate(r, request_path, errors, &t);
      w->requests.push_back(std::move(t));
    }
    if (mix && !requests->empty()) {
      f.Fail("requests", "requests replace the mix; give one of them, not both");
    }
  }
}

void ParseRetry(const json& j, const std::string& path, Errors* errors, RetryPolicy* retry) {
  Fields f(j, path, errors,
           {"strategy", "base", "cap", "delay", "max_attempts", "on", "honor_retry_after"});
  if (const json* strategy = f.Find("strategy")) {
    std::vector<std::string_view> names;
    for (int i = 0; i <= static_cast<int>(Strategy::kDecorrelated); ++i) {
      names.push_back(StrategyName(static_cast<Strategy>(i)));
    }
    std::optional<Strategy> parsed;
    if (strategy->is_string()) parsed = ParseStrategy(strategy->get_ref<const std::string&>());
    if (parsed) {
      retry->strategy = *parsed;
    } else {
      f.Fail(
          "strategy",
          fmt::format(
              "unknown strategy {}; expected one of {}{}", Describe(*strategy), QuotedList(names),
              strategy->is_string() ? DidYouMean(strategy->get<std::string>(), names) : ""));
    }
  }
  f.ReadDuration("base", &retry->base);
  f.ReadDuration("cap", &retry->cap);
  f.ReadDuration("delay", &retry->delay);
  f.ReadInteger("max_attempts", &retry->max_attempts, 0);
  if (const json* on = f.ReadArray("on")) {
    // A given list replaces the default one: [] retries nothing.
    OutcomeSet set;
    std::vector<std::string_view> names;  // the retryable ones: all but ok
    for (std::string_view name : kOutcomeNames) {
      if (name != OutcomeName(Outcome::kOk)) names.push_back(name);
    }
    for (size_t i = 0; i < on->size(); ++i) {
      const json& name = (*on)[i];
      const std::string item_path = IndexPath(f.At("on"), i);
      if (!name.is_string()) {
        errors->Add(item_path, "expected an outcome name, got " + Describe(name));
        continue;
      }
      const std::string& s = name.get_ref<const std::string&>();
      std::optional<Outcome> outcome = ParseOutcome(s);
      if (!outcome) {
        errors->Add(item_path, fmt::format("unknown outcome {}; expected one of {}{}", Quoted(s),
                                           QuotedList(names), DidYouMean(s, names)));
      } else if (*outcome == Outcome::kOk) {
        errors->Add(item_path, "\"ok\" is a success; it is never retried");
      } else {
        set.Add(*outcome);
      }
    }
    retry->retry_on = set;
  }
  f.ReadBool("honor_retry_after", &retry->honor_retry_after);
}

void ParseBudget(const json& j, const std::string& path, Errors* errors, BudgetSpec* budget) {
  Fields f(j, path, errors, {"kind", "max_tokens", "token_ratio", "percent", "min_per_s", "ttl"});
  const bool kind_known = !f.Has("kind") || f.ReadEnum("kind", &budget->kind, kBudgetKinds);
  const bool bucket = budget->kind == BudgetSpec::Kind::kTokenBucket;
  if (kind_known) {
    if (bucket) {
      f.Reject({"percent", "min_per_s", "ttl"}, "only for kind \"ratio\"");
    } else {
      f.Reject({"max_tokens", "token_ratio"}, "only for kind \"token_bucket\"");
    }
  }
  if (!kind_known || bucket) {
    f.ReadNumber("max_tokens", &budget->token_bucket.max_tokens, kPositive);
    f.ReadNumber("token_ratio", &budget->token_bucket.token_ratio, kPositive);
  }
  if (!kind_known || !bucket) {
    f.ReadNumber("percent", &budget->ratio.percent, NumberRange{0, false, 100});
    f.ReadNumber("min_per_s", &budget->ratio.min_per_s, kNonNegative);
    f.ReadDuration("ttl", &budget->ratio.ttl, kPositiveDuration);
  }
}

// Returns false when the fleet's name is given but unusable, so that the
// caller does not also report it as a duplicate of the default name.
bool ParseFleet(const json& j, const std::string& path, Errors* errors, Fleet* fleet) {
  Fields f(j, path, errors,
           {"name", "instances", "start_spread", "arrival", "workload", "timeout", "deadline",
            "retry", "budget", "breaker", "adaptive_throttle", "connections", "pool_size"});
  bool name_ok = !f.Has("name");
  if (f.ReadString("name", &fleet->name)) {
    std::string why;
    name_ok = IsSafeName(fleet->name, &why);
    if (!name_ok) f.Fail("name", why);
  }
  f.ReadInteger("instances", &fleet->instances, 1);
  f.ReadDuration("start_spread", &fleet->start_spread);
  if (const json* arrival = f.ReadObject("arrival")) {
    ParseArrival(*arrival, f.At("arrival"), errors, &fleet->arrival);
  }
  if (const json* workload = f.ReadObject("workload")) {
    ParseWorkload(*workload, f.At("workload"), errors, &fleet->workload);
  }
  f.ReadDuration("timeout", &fleet->timeout, kPositiveDuration);
  f.ReadDuration("deadline", &fleet->deadline);
  if (const json* retry = f.ReadObject("retry"))
    ParseRetry(*retry, f.At("retry"), errors, &fleet->retry);
  if (const json* budget = f.ReadObject("budget", /*nullable=*/true)) {
    fleet->budget.emplace();
    ParseBudget(*budget, f.At("budget"), errors, &*fleet->budget);
  }
  if (const json* breaker = f.ReadObject("breaker", /*nullable=*/true)) {
    fleet->breaker.emplace();
    Fields b(*breaker, f.At("breaker"), errors, {"failures", "open_for", "half_open_probes"});
    b.ReadInteger("failures", &fleet->breaker->failures, 1);
    b.ReadDuration("open_for", &fleet->breaker->open_for, kPositiveDuration);
    b.ReadInteger("half_open_probes", &fleet->breaker->half_open_probes, 1);
  }
  if (const json* throttle = f.ReadObject("adaptive_throttle", /*nullable=*/true)) {
    fleet->adaptive_throttle.emplace();
    Fields a(*throttle, f.At("adaptive_throttle"), errors, {"k", "window"});
    a.ReadNumber("k", &fleet->adaptive_throttle->k, kPositive);
    a.ReadDuration("window", &fleet->adaptive_throttle->window, kPositiveDuration);
  }
  f.ReadEnum("connections", &fleet->connections, kConnections);
  f.ReadInteger("pool_size", &fleet->pool_size, 1);
  return name_ok;
}

// ---------------------------------------------------------------------------
// Resolved: a Scenario as JSON, every default filled in. ParseScenario of
// the result gives the same Scenario back.

json Resolved(const Fleet& fleet) {
  json f;
  f["name"] = fleet.name;
  f["instances"] = fleet.instances;
  f["start_spread"] = FormatDuration(fleet.start_spread);

  const Arrival& a = fleet.arrival;
  json arrival = {{"model", NameOf(kModels, a.model)}};
  if (a.model == Arrival::Model::kClosed) {
    arrival["requests_per_instance"] = a.requests_per_instance;
    arrival["think"] = FormatDuration(a.think);
  } else {
    arrival["rate"] = a.rate;
    arrival["stages"] = json::array();
    for (const Stage& s : a.stages) {
      arrival["stages"].push_back({{"to", s.to}, {"over", FormatDuration(s.over)}});
    }
    arrival["spacing"] = NameOf(kSpacings, a.spacing);
  }
  f["arrival"] = std::move(arrival);

  const Workload& w = fleet.workload;
  json workload;
  // Templates replace the mix, and the parser refuses both at once.
  if (w.requests.empty()) workload["mix"] = {{"get", w.get}, {"put", w.put}, {"delete", w.del}};
  std::string distribution;
  switch (w.keys.distribution) {
    case KeySpace::Distribution::kUniform:
      distribution = "uniform";
      break;
    case KeySpace::Distribution::kSequential:
      distribution = "sequential";
      break;
    case KeySpace::Distribution::kZipf:
      distribution = fmt::format("zipf:{}", w.keys.zipf_s);
      break;
  }
  workload["keys"] = {
      {"count", w.keys.count}, {"distribution", distribution}, {"prefix", w.keys.prefix}};
  workload["value_bytes"] = w.value_bytes;
  workload["requests"] = json::array();
  for (const HttpTemplate& t : w.requests) {
    workload["requests"].push_back(
        {{"method", t.method}, {"path", t.path}, {"headers", t.headers}, {"body", t.body}});
  }
  f["workload"] = std::move(workload);

  f["timeout"] = FormatDuration(fleet.timeout);
  f["deadline"] = FormatDuration(fleet.deadline);

  const RetryPolicy& r = fleet.retry;
  json on = json::array();
  for (int i = 0; i < kOutcomes; ++i) {
    if (r.retry_on.Has(static_cast<Outcome>(i))) on.push_back(kOutcomeNames[i]);
  }
  f["retry"] = {{"strategy", StrategyName(r.strategy)},
                {"base", FormatDuration(r.base)},
                {"cap", FormatDuration(r.cap)},
                {"delay", FormatDuration(r.delay)},
                {"max_attempts", r.max_attempts},
                {"on", std::move(on)},
                {"honor_retry_after", r.honor_retry_after}};

  f["budget"] = nullptr;
  if (const auto& b = fleet.budget) {
    if (b->kind == BudgetSpec::Kind::kTokenBucket) {
      f["budget"] = {{"kind", "token_bucket"},
                     {"max_tokens", b->token_bucket.max_tokens},
                     {"token_ratio", b->token_bucket.token_ratio}};
    } else {
      f["budget"] = {{"kind", "ratio"},
                     {"percent", b->ratio.percent},
                     {"min_per_s", b->ratio.min_per_s},
                     {"ttl", FormatDuration(b->ratio.ttl)}};
    }
  }
  f["breaker"] = nullptr;
  if (const auto& b = fleet.breaker) {
    f["breaker"] = {{"failures", b->failures},
                    {"open_for", FormatDuration(b->open_for)},
                    {"half_open_probes", b->half_open_probes}};
  }
  f["adaptive_throttle"] = nullptr;
  if (const auto& t = fleet.adaptive_throttle) {
    f["adaptive_throttle"] = {{"k", t->k}, {"window", FormatDuration(t->window)}};
  }
  f["connections"] = NameOf(kConnections, fleet.connections);
  f["pool_size"] = fleet.pool_size;
  return f;
}

json Resolved(const Scenario& s) {
  json j;
  j["name"] = s.name;
  j["duration"] = FormatDuration(s.duration);
  j["bucket"] = FormatDuration(s.bucket);
  j["seed"] = s.seed;

  json target;
  if (s.target.launch) {
    const LaunchSpec& l = *s.target.launch;
    target["launch"] = {{"command", l.command},
                        {"replicas", l.replicas},
                        {"ready", l.ready},
                        {"ready_timeout", FormatDuration(l.ready_timeout)}};
  } else if (!s.target.model.is_null()) {
    target["model"] = s.target.model;
  } else {
    target["url"] = s.target.url;
  }
  target["protocol"] = NameOf(kProtocols, s.target.protocol);
  target["allow_remote"] = s.target.allow_remote;
  j["target"] = std::move(target);

  j["fleets"] = json::array();
  for (const Fleet& fleet : s.fleets) j["fleets"].push_back(Resolved(fleet));

  j["faults"] = json::array();
  for (const FaultSpec& f : s.faults) j["faults"].push_back(ResolvedFault(f));
  j["probes"] = json::array();
  for (const ProbeSpec& p : s.probes) j["probes"].push_back(ResolvedProbe(p));
  j["monitors"] = json::array();
  for (const MonitorSpec& m : s.monitors) j["monitors"].push_back(ResolvedMonitor(m));
  j["durability"] = ResolvedDurability(s.durability);
  j["gates"] = json::array();
  for (const GateSpec& g : s.gates) j["gates"].push_back(ResolvedGate(g));
  return j;
}

// ---------------------------------------------------------------------------
// --set paths: name(.name|[index])*

struct PathStep {
  std::string key;   // when !is_index
  size_t index = 0;  // when is_index
  bool is_index = false;
};

bool ParseOverridePath(std::string_view path, std::vector<PathStep>* steps, std::string* why) {
  size_t i = 0;
  auto bad = [&](std::string_view what) {
    *why = fmt::format("bad path {}: {}", Quoted(path), what);
    return false;
  };
  if (path.empty()) return bad("empty");
  while (i < path.size()) {
    const size_t start = i;
    while (i < path.size() && path[i] != '.' && path[i] != '[' && path[i] != ']') ++i;
    if (i == start) return bad("expected a field name");
    steps->push_back(PathStep{std::string(path.substr(start, i - start)), 0, false});
    while (i < path.size() && path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string_view::npos) return bad("missing ']'");
      std::string_view digits = path.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return bad("an index must be a non-negative integer");
      }
      steps->push_back(PathStep{"", static_cast<size_t>(std::stoul(std::string(digits))), true});
      i = close + 1;
    }
    if (i < path.size()) {
      if (path[i] != '.') return bad("expected '.' or '[' after a field or index");
      ++i;
      if (i == path.size()) return bad("ends with '.'");
    }
  }
  return true;
}

std::string_view TypeName(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  return "null";
}

// nlohmann reports the offset of the last character of the offending token
// ("seed" is reported at its closing quote); people look for its first.
size_t TokenStart(std::string_view text, size_t at) {
  if (at >= text.size()) return at;
  if (text[at] == '"') {
    // Back to the opening quote: the first one not escaped, on this line
    // (JSON strings cannot span lines).
    for (size_t i = at; i-- > 0;) {
      if (text[i] == '\n') return at;
      if (text[i] != '"') continue;
      size_t backslashes = 0;
      while (backslashes < i && text[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return i;
    }
    return at;
  }
  auto in_literal = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '-';
  };
  if (!in_literal(text[at])) return at;
  size_t start = at;
  while (start > 0 && in_literal(text[start - 1])) --start;
  return start;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

bool ReadJsonWithComments(std::string_view text, nlohmann::json* out, ParseError* error) {
  try {
    *out = json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
    return true;
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the character the parser stopped at.
    // nlohmann's own "line, column" in what() is off after whitespace, so
    // they are computed here from the text.
    const size_t at = TokenStart(text, std::min(e.byte == 0 ? 0 : e.byte - 1, text.size()));
    const size_t line = 1 + std::count(text.begin(), text.begin() + at, '\n');
    const size_t line_start = text.rfind('\n', at == 0 ? 0 : at - 1);
    const size_t column =
        (line_start == std::string_view::npos || at == 0) ? at + 1 : at - line_start;
    std::string detail = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
    const size_t colon = detail.find(": ", detail.find("parse error"));
    if (colon != std::string::npos) detail = detail.substr(colon + 2);
    error->path.clear();
    error->message = fmt::format("line {}, column {}: {}", line, column, detail);
    return false;
  } catch (const json::exception& e) {
    // Not a syntax error but a value JSON cannot hold (a number like 1e400).
    error->path.clear();
    error->message = e.what();
    return false;
  }
}

bool ApplyOverride(std::string_view assignment, nlohmann::json* doc, ParseError* error) {
  // Everything else in a scenario comes through the JSON parser, which
  // insists on UTF-8; so must this, or summary.json could not be written.
  try {
    (void)json(std::string(assignment)).dump();
  } catch (const json::type_error&) {
    *error = ParseError{"", fmt::format("--set {}: not valid UTF-8", Quoted(assignment))};
    return false;
  }
  const size_t eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    *error = ParseError{"", fmt::format("--set {}: expected PATH=VALUE, like "
                                        "fleets[0].instances=200",
                                        Quoted(assignment))};
    return false;
  }
  const std::string_view path = Trim(assignment.substr(0, eq));
  const std::string_view text = assignment.substr(eq + 1);
  std::vector<PathStep> steps;
  std::string why;
  if (!ParseOverridePath(path, &steps, &why)) {
    *error = ParseError{"", "--set: " + why};
    return false;
  }
  // "30s" is not JSON, so it is the string "30s"; 200, true, null and
  // {"k": 1} are JSON values.
  json value = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) value = std::string(text);

  // Work on a copy so that a failing override leaves the document as it was
  // (intermediate objects created before the failure included).
  json result = *doc;
  json* node = &result;
  std::string walked;
  for (const PathStep& step : steps) {
    if (step.is_index) {
      if (!node->is_array()) {
        *error = ParseError{
            std::string(path),
            fmt::format("cannot index {}: it is {}, not an array", walked, TypeName(*node))};
        return false;
      }
      if (step.index >= node->size()) {
        *error =
            ParseError{std::string(path),
                       fmt::format("no element {}[{}] ({} has {} element{})", walked, step.index,
                                   walked, node->size(), node->size() == 1 ? "" : "s")};
        return false;
      }
      node = &(*node)[step.index];
      walked = IndexPath(walked, step.index);
    } else {
      if (node->is_null()) *node = json::object();  // "budget": null, --set budget.kind=ratio
      if (!node->is_object()) {
        *error = ParseError{
            std::string(path),
            fmt::format("cannot set field {} of {}: it is {}, not an object", Quoted(step.key),
                        walked.empty() ? "the scenario" : walked, TypeName(*node))};
        return false;
      }
      node = &(*node)[step.key];
      walked = KeyPath(walked, step.key);
    }
  }
  *node = std::move(value);
  *doc = std::move(result);
  return true;
}

bool ParseScenario(const nlohmann::json& doc, Scenario* out, std::vector<ParseError>* errors) {
  Errors e(errors);
  *out = Scenario{};
  if (!doc.is_object()) {
    e.Add("", "expected a JSON object at the top level, got " + Describe(doc));
    return false;
  }
  // "$schema" lets editors find `herd schema`'s output; it means nothing here.
  Fields top(doc, "", &e,
             {"$schema", "name", "duration", "bucket", "seed", "target", "fleets", "faults",
              "probes", "monitors", "durability", "gates"});

  if (!top.Has("name")) {
    top.Fail("name", "required: the scenario's name, used for its report directory");
  } else if (top.ReadString("name", &out->name)) {
    std::string why;
    if (!IsSafeName(out->name, &why)) top.Fail("name", why);
  }
  const bool duration_ok =
      !top.Has("duration") || top.ReadDuration("duration", &out->duration, kPositiveDuration);
  const bool bucket_ok =
      !top.Has("bucket") ||
      top.ReadDuration("bucket", &out->bucket, DurationRange{std::chrono::milliseconds(10), false});
  if (duration_ok && bucket_ok && out->bucket > out->duration) {
    top.Fail("bucket",
             top.Has("bucket")
                 ? fmt::format("must be at most the duration ({}), got {}",
                               FormatDuration(out->duration), Describe(*top.Find("bucket")))
                 : fmt::format("the default bucket ({}) is longer than the duration "
                               "({}): set a shorter bucket",
                               FormatDuration(out->bucket), FormatDuration(out->duration)));
  }
  if (const json* seed = top.Find("seed")) {
    if (seed->is_number_unsigned()) {
      out->seed = seed->get<uint64_t>();
    } else {
      int64_t n = 0;
      if (!Fields::AsInteger(*seed, &n)) {
        top.Fail("seed", "expected a non-negative integer, got " + Describe(*seed));
      } else if (n < 0) {
        top.Fail("seed", "must not be negative, got " + Describe(*seed));
      } else {
        out->seed = static_cast<uint64_t>(n);
      }
    }
  }

  if (const json* target = top.ReadObject("target")) {
    ParseTarget(*target, "target", &e, &out->target);
  } else if (!top.Has("target")) {
    top.Fail("target", "required: {\"launch\": {\"command\": [...]}}, {\"url\": \"host:port\"} or {\"model\": {...}}");
  }

  if (const json* fleets = top.ReadArray("fleets")) {
    if (fleets->empty()) top.Fail("fleets", "needs at least one fleet");
    std::map<std::string, size_t> first_with_name;
    for (size_t i = 0; i < fleets->size(); ++i) {
      const std::string path = IndexPath("fleets", i);
      const json& f = (*fleets)[i];
      if (!f.is_object()) {
        e.Add(path, "expected an object (a fleet), got " + Describe(f));
        continue;
      }
      Fleet fleet;
      if (ParseFleet(f, path, &e, &fleet)) {
        auto [it, inserted] = first_with_name.emplace(fleet.name, i);
        if (!inserted) {
          e.Add(KeyPath(path, "name"),
                fmt::format("duplicate fleet name {} (fleets[{}] has it too)", Quoted(fleet.name),
                            it->second));
        }
      }
      if (!fleet.workload.requests.empty() && out->target.protocol == Target::Protocol::kGrpc) {
        e.Add(KeyPath(KeyPath(path, "workload"), "requests"),
              "HTTP request templates need target.protocol \"http\"");
      }
      out->fleets.push_back(std::move(fleet));
    }
  } else if (!top.Has("fleets")) {
    top.Fail("fleets", "required: at least one fleet");
  }

  if (const json* faults = top.Find("faults")) ParseFaults(*faults, &e, out);
  if (const json* probes = top.Find("probes")) ParseProbes(*probes, &e, out);
  if (const json* monitors = top.Find("monitors")) ParseMonitors(*monitors, &e, out);
  if (const json* durability = top.Find("durability")) ParseDurability(*durability, &e, out);
  if (const json* gates = top.Find("gates")) ParseGates(*gates, &e, out);

  if (e.any()) return false;
  out->resolved = Resolved(*out);
  return true;
}

bool LoadScenario(const std::string& path, const std::vector<std::string>& overrides, Scenario* out,
                  std::vector<ParseError>* errors) {
  // An ifstream opens a directory and then reads nothing, which would be
  // reported as a syntax error at 1:1.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    errors->push_back(ParseError{
        "", fmt::format("cannot read scenario file {}: it is a directory", Quoted(path))});
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back(ParseError{
        "", fmt::format("cannot read scenario file {}: {}", Quoted(path), std::strerror(errno))});
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    errors->push_back(ParseError{"", fmt::format("cannot read scenario file {}", Quoted(path))});
    return false;
  }
  json doc;
  ParseError error;
  if (!ReadJsonWithComments(text.str(), &doc, &error)) {
    error.message = fmt::format("{}: {}", path, error.message);
    errors->push_back(std::move(error));
    return false;
  }
  bool overrides_ok = true;
  for (const std::string& assignment : overrides) {
    if (!ApplyOverride(assignment, &doc, &error)) {
      errors->push_back(error);
      overrides_ok = false;
    }
  }
  // A scenario the user did not ask for would only produce confusing errors.
  if (!overrides_ok) return false;
  return ParseScenario(doc, out, errors);
}

bool ParseFault(const nlohmann::json& fault, FaultSpec* out, std::vector<ParseError>* errors) {
  if (!fault.is_object()) {
    errors->push_back({"", "expected a fault object like {\"kind\": \"latency\", \"latency\": \"100ms\"}, got " +
                               Describe(fault)});
    return false;
  }
  // A scenario around it: a loopback HTTP target, a run long enough for any "for".
  Scenario s;
  s.duration = std::chrono::hours(24 * 365);
  s.target.url = "127.0.0.1:1";
  std::vector<ParseError> found;
  Errors e(&found);
  for (const char* key : {"at", "until"}) {
    if (fault.contains(key)) e.Add(key, "the control API applies a fault now; give only \"for\" to end it");
  }
  ParseFaults(json::array({fault}), &e, &s);
  for (ParseError& error : found) {
    if (error.path.starts_with("faults[0].")) {
      error.path = error.path.substr(10);
    } else if (error.path == "faults[0]") {
      error.path.clear();
    }
    errors->push_back(std::move(error));
  }
  if (!found.empty()) return false;
  *out = s.faults.at(0);
  if (!fault.contains("for")) out->end = Duration::max();
  return true;
}

}  // namespace herd
