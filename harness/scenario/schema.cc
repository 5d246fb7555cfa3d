// The JSON Schema (draft 2020-12) of scenario files, for `herd schema`,
// editors and CI linters.
//
// Types, enums and descriptions are written here. Every "default" is taken
// from what the real parser resolves for a scenario that leaves the field
// out (kDefaultsProbe below), so the defaults stay in one place, scenario.h,
// and the schema cannot drift from what herd does.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "common/outcome.h"
#include "policy/retry.h"
#include "scenario/gates.h"
#include "scenario/parse.h"

namespace herd {
namespace {

using json = nlohmann::json;

// Leaves out every optional field, and switches on every optional section
// once, so that its resolved form holds each field's default.
//   fleets[0]: nothing given (closed model, no budget/breaker/throttle)
//   fleets[1]: every optional section present but empty
//   fleets[2]: the open model without a rate, and the ratio budget
//   fleets[3]: the open model without stages
//   gates[0]: a per-fleet, per-phase metric with only a bound
constexpr char kDefaultsProbe[] = R"({
  "name": "defaults",
  "target": {"launch": {"command": ["kvd"]}},
  "fleets": [
    {},
    {"name": "sections", "budget": {}, "breaker": {}, "adaptive_throttle": {},
     "workload": {"requests": [{}]}},
    {"name": "open", "arrival": {"model": "open", "stages": [{"to": 1, "over": "1s"}]},
     "budget": {"kind": "ratio"}},
    {"name": "open-rate", "arrival": {"model": "open", "rate": 1}}
  ],
  "faults": [
    {"kind": "latency", "latency": "1ms"},
    {"kind": "http_error"},
    {"kind": "kill"}
  ],
  "probes": [{}],
  "monitors": [{"kind": "process"}, {"kind": "prometheus", "series": ["kvd_tasks"]}],
  "durability": {},
  "gates": [{"metric": "amplification", "max": 10}]
})";

json ResolvedDefaults() {
  Scenario scenario;
  std::vector<ParseError> errors;
  if (!ParseScenario(json::parse(kDefaultsProbe), &scenario, &errors)) {
    // The probe is valid by construction (and a unit test parses it); this
    // only fires if the parser and this file disagree.
    std::string all;
    for (const ParseError& e : errors) all += "\n  " + e.ToString();
    throw std::logic_error("scenario schema: the defaults probe does not parse:" + all);
  }
  return scenario.resolved;
}

// ---------------------------------------------------------------------------
// Building blocks.

constexpr char kDurationPattern[] = R"(^\s*(0|([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|ms|s|m|h))\s*$)";
constexpr char kNamePattern[] = R"(^[A-Za-z0-9][A-Za-z0-9._-]*$)";

json Prop(json schema, std::string_view description) {
  schema["description"] = description;
  return schema;
}

json Prop(json schema, std::string_view description, const json& default_value) {
  schema["description"] = description;
  schema["default"] = default_value;
  return schema;
}

json DurationType() { return {{"type", "string"}, {"pattern", kDurationPattern}}; }

json IntegerType(int64_t minimum) { return {{"type", "integer"}, {"minimum", minimum}}; }

json NumberType(double minimum, bool exclusive) {
  return {{"type", "number"}, {exclusive ? "exclusiveMinimum" : "minimum", minimum}};
}

json EnumType(std::vector<std::string> names) { return {{"type", "string"}, {"enum", names}}; }

json ObjectType(json properties, std::vector<std::string> required = {}) {
  json schema = {
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) schema["required"] = required;
  return schema;
}

json Nullable(json schema) {
  schema["type"] = {schema["type"], "null"};
  return schema;
}

// {"properties": {"a": false, "b": false}}: the listed fields must be absent.
json Forbid(std::initializer_list<const char*> keys) {
  json properties = json::object();
  for (const char* key : keys) properties[key] = false;
  return {{"properties", std::move(properties)}};
}

// if `key` == value then `then` else `otherwise`.
json IfEquals(const char* key, const char* value, json then, json otherwise) {
  json condition = {{"properties", {{key, {{"const", value}}}}}, {"required", {key}}};
  return {{"if", std::move(condition)}, {"then", std::move(then)}, {"else", std::move(otherwise)}};
}

// ---------------------------------------------------------------------------
// Sections.

json TargetSchema(const json& d) {
  const json& target = d.at("target");
  const json& launch = target.at("launch");
  json launch_schema = Prop(
      ObjectType(
          {{"command", Prop({{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}},
                            "The program and its arguments. {port} is replaced by a free port.")},
           {"replicas", Prop(IntegerType(1), "How many copies to start.", launch.at("replicas"))},
           {"ready", Prop({{"type", "string"}, {"pattern", "^/"}},
                          "HTTP path polled until it answers 200.", launch.at("ready"))},
           {"ready_timeout", Prop(DurationType(), "How long to wait for ready (more than 0s).",
                                  launch.at("ready_timeout"))}},
          {"command"}),
      "A target herd starts itself; exactly one of launch, url and model.");
  launch_schema["type"] = {"object", "null"};

  json schema = ObjectType(
      {{"launch", std::move(launch_schema)},
       {"url",
        Prop({{"type", {"string", "null"}},
              {"pattern", R"(^(http://)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}(/.*)?$)"}},
             "A service already running: host:port or http://host:port[/path]; exactly "
             "one of launch, url and model.")},
       {"model",
        Prop({{"type", {"object", "null"}},
              {"properties",
               {{"latency", {{"type", "string"}, {"description", "Each latency term: a duration or a uniform range like \"0ms-100ms\"."}}},
                {"latency_terms", {{"type", "integer"}, {"minimum", 1}, {"maximum", 16}, {"description", "Latency is the sum of this many terms (the book's simulator: 2)."}}},
                {"servers", {{"type", "integer"}, {"minimum", 0}, {"description", "Workers serving a FIFO queue; 0 = unlimited."}}},
                {"error_rate", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"description", "Share of requests that fail."}}},
                {"error", {{"type", "string"}, {"description", "The outcome of a failed request, e.g. server_error, shed, throttled."}}},
                {"retry_after", {{"type", "string"}, {"description", "Retry-After sent with errors."}}}}},
              {"additionalProperties", false}},
             "A simulated server on herd's own clock (virtual time): exactly one of launch, url and model.")},
       {"protocol",
        Prop(EnumType({"http", "grpc"}), "How fleets talk to the target.", target.at("protocol"))},
       {"allow_remote", Prop({{"type", "boolean"}},
                             "Allow a url that is not on this machine (herd refuses others: it "
                             "is a load generator).",
                             target.at("allow_remote"))}});
  json object_only = {{"type", "object"}};
  json null_only = {{"type", "null"}};
  schema["oneOf"] = {
      {{"required", {"launch"}},
       {"properties", {{"launch", object_only}, {"url", null_only}, {"model", null_only}}}},
      {{"required", {"url"}},
       {"properties", {{"url", {{"type", "string"}}}, {"launch", null_only}, {"model", null_only}}}},
      {{"required", {"model"}},
       {"properties", {{"model", object_only}, {"launch", null_only}, {"url", null_only}}}}};
  return Prop(std::move(schema), "What the fleets hammer.");
}

// `open` has no rate given, `open_rate` no stages.
json ArrivalSchema(const json& closed, const json& open, const json& open_rate) {
  json stage =
      ObjectType({{"to", Prop(NumberType(0, false), "Requests/s reached at the end of the stage.")},
                  {"over", Prop(DurationType(), "How long the linear ramp takes.")}},
                 {"to", "over"});
  json schema = ObjectType(
      {{"model", Prop(EnumType({"closed", "open"}),
                      "closed: each instance sends, waits for the result, thinks, repeats. "
                      "open: requests arrive at a rate whatever the answers (no coordinated "
                      "omission).",
                      closed.at("model"))},
       {"requests_per_instance", Prop(IntegerType(0),
                                      "Closed model: requests each instance "
                                      "makes; 0 = until the run ends.",
                                      closed.at("requests_per_instance"))},
       {"think", Prop(DurationType(), "Closed model: pause between an instance's requests.",
                      closed.at("think"))},
       {"rate",
        Prop(NumberType(0, false), "Open model: requests/s for the whole fleet.", open.at("rate"))},
       {"stages", Prop({{"type", "array"}, {"items", std::move(stage)}},
                       "Open model: linear ramps after `rate`, e.g. [{\"to\": 8000, \"over\": "
                       "\"60s\"}].",
                       open_rate.at("stages"))},
       {"spacing",
        Prop(EnumType({"uniform", "poisson"}),
             "Open model: gaps between arrivals, even or exponential.", open.at("spacing"))}});
  json needs_load = {
      {"anyOf",
       {{{"required", {"rate"}}, {"properties", {{"rate", {{"exclusiveMinimum", 0}}}}}},
        {{"required", {"stages"}}, {"properties", {{"stages", {{"minItems", 1}}}}}}}}};
  json open_rules = Forbid({"requests_per_instance", "think"});
  open_rules["allOf"] = {std::move(needs_load)};
  json if_open =
      IfEquals("model", "open", std::move(open_rules), Forbid({"rate", "stages", "spacing"}));
  schema.update(if_open);
  return Prop(std::move(schema), "When requests start.", closed);
}

json WorkloadSchema(const json& workload, const json& request) {
  const json& keys = workload.at("keys");
  const json& mix = workload.at("mix");
  json weight = NumberType(0, false);
  json mix_schema = ObjectType({{"get", Prop(weight, "Weight of GET.", mix.at("get"))},
                                {"put", Prop(weight, "Weight of PUT.", mix.at("put"))},
                                {"delete", Prop(weight, "Weight of DELETE.", mix.at("delete"))}});
  json keys_schema = ObjectType(
      {{"count", Prop(IntegerType(1), "Number of distinct keys.", keys.at("count"))},
       {"distribution",
        Prop({{"type", "string"},
              {"pattern", R"(^(uniform|sequential|zipf|zipf:[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$)"}},
             "Which keys requests pick: uniform, sequential, or zipf:S (S > 0; \"zipf\" is "
             "zipf:1.1).",
             keys.at("distribution"))},
       {"prefix", Prop({{"type", "string"}}, "Keys are prefix + number.", keys.at("prefix"))}});
  json request_schema = ObjectType(
      {{"method",
        Prop({{"type", "string"}, {"minLength", 1}}, "HTTP method.", request.at("method"))},
       {"path", Prop({{"type", "string"}, {"pattern", "^/[^\\s]*$"}},
                     "Request path; may use {key}.", request.at("path"))},
       {"headers", Prop({{"type", "object"}, {"additionalProperties", {{"type", "string"}}}},
                        "Extra headers.", request.at("headers"))},
       {"body", Prop({{"type", "string"}},
                     "Body; may use {key} {value} {key_b64} {value_b64} {instance} {seq}.",
                     request.at("body"))}});
  json schema = ObjectType(
      {{"mix", Prop(std::move(mix_schema),
                    "Weights of GET, PUT and DELETE (normalised; a weight left out of a given "
                    "mix is 0; not all zero).",
                    mix)},
       {"keys", Prop(std::move(keys_schema), "The key space.", keys)},
       {"value_bytes", Prop(IntegerType(0), "Size of PUT values.", workload.at("value_bytes"))},
       {"requests", Prop({{"type", "array"}, {"items", std::move(request_schema)}},
                         "HTTP request templates for targets other than kvd; when given they "
                         "replace the mix (picked with equal weights). HTTP only.",
                         workload.at("requests"))}});
  return Prop(std::move(schema), "What requests do.", workload);
}

json RetrySchema(const json& retry) {
  std::vector<std::string> strategies;
  for (int i = 0; i <= static_cast<int>(Strategy::kDecorrelated); ++i) {
    strategies.emplace_back(StrategyName(static_cast<Strategy>(i)));
  }
  std::vector<std::string> outcomes;
  for (std::string_view name : kOutcomeNames) {
    if (name != OutcomeName(Outcome::kOk)) outcomes.emplace_back(name);
  }
  json schema = ObjectType(
      {{"strategy", Prop(EnumType(strategies),
                         "Delay before retry n: none, immediate (0), fixed (delay), exponential "
                         "min(cap, base*2^(n-1)), book-jitter base + U[0, 3*min(cap, "
                         "base*2^(n-1))), full-jitter U[0, min(cap, base*2^n)), equal-jitter "
                         "v/2 + U[0, v/2), decorrelated min(cap, U[base, 3*previous)).",
                         retry.at("strategy"))},
       {"base", Prop(DurationType(), "Exponential family: first delay.", retry.at("base"))},
       {"cap", Prop(DurationType(), "Exponential family: largest delay.", retry.at("cap"))},
       {"delay", Prop(DurationType(), "fixed: the delay.", retry.at("delay"))},
       {"max_attempts", Prop(IntegerType(0),
                             "Attempts per request including the first; 0 = "
                             "unbounded.",
                             retry.at("max_attempts"))},
       {"on", Prop({{"type", "array"}, {"items", EnumType(outcomes)}, {"uniqueItems", true}},
                   "Outcomes that are retried; [] retries nothing.", retry.at("on"))},
       {"honor_retry_after",
        Prop({{"type", "boolean"}},
             "Wait what Retry-After (or grpc-retry-pushback-ms) says instead of the backoff.",
             retry.at("honor_retry_after"))}});
  return Prop(std::move(schema), "How failed attempts are retried.", retry);
}

json BudgetSchema(const json& token_bucket, const json& ratio, const json& default_value) {
  json schema = ObjectType(
      {{"kind", Prop(EnumType({"token_bucket", "ratio"}),
                     "token_bucket: gRPC retryThrottling; ratio: retries at most `percent` of "
                     "requests over `ttl`, plus min_per_s.",
                     token_bucket.at("kind"))},
       {"max_tokens", Prop(NumberType(0, true), "token_bucket: tokens at the start and at most.",
                           token_bucket.at("max_tokens"))},
       {"token_ratio", Prop(NumberType(0, true), "token_bucket: tokens a success gives back.",
                            token_bucket.at("token_ratio"))},
       {"percent", Prop({{"type", "number"}, {"minimum", 0}, {"maximum", 100}},
                        "ratio: retries as a percentage of requests.", ratio.at("percent"))},
       {"min_per_s",
        Prop(NumberType(0, false), "ratio: retries/s always allowed.", ratio.at("min_per_s"))},
       {"ttl", Prop(DurationType(), "ratio: the window requests are counted over (more than 0s).",
                    ratio.at("ttl"))}});
  schema.update(IfEquals("kind", "ratio", Forbid({"max_tokens", "token_ratio"}),
                         Forbid({"percent", "min_per_s", "ttl"})));
  return Prop(Nullable(std::move(schema)), "A retry budget per instance; null = none.",
              default_value);
}

json FleetSchema(const json& d) {
  const json& fleet = d.at("fleets").at(0);
  const json& sections = d.at("fleets").at(1);
  const json& open = d.at("fleets").at(2);
  const json& open_rate = d.at("fleets").at(3);
  const json& breaker = sections.at("breaker");
  const json& throttle = sections.at("adaptive_throttle");
  json properties = {
      {"name", Prop({{"type", "string"}, {"pattern", kNamePattern}, {"maxLength", 100}},
                    "Unique within the scenario.", fleet.at("name"))},
      {"instances", Prop(IntegerType(1), "Simulated clients, each with its own policy state.",
                         fleet.at("instances"))},
      {"start_spread", Prop(DurationType(), "Instances start spread evenly over this time.",
                            fleet.at("start_spread"))},
      {"arrival", ArrivalSchema(fleet.at("arrival"), open.at("arrival"), open_rate.at("arrival"))},
      {"workload",
       WorkloadSchema(fleet.at("workload"), sections.at("workload").at("requests").at(0))},
      {"timeout", Prop(DurationType(), "Per attempt (more than 0s).", fleet.at("timeout"))},
      {"deadline",
       Prop(DurationType(), "Per request, backoff included; 0s = none.", fleet.at("deadline"))},
      {"retry", RetrySchema(fleet.at("retry"))},
      {"budget", BudgetSchema(sections.at("budget"), open.at("budget"), fleet.at("budget"))},
      {"breaker",
       Prop(Nullable(ObjectType(
                {{"failures", Prop(IntegerType(1), "Consecutive failures that open it.",
                                   breaker.at("failures"))},
                 {"open_for", Prop(DurationType(), "Time it fails fast before probing.",
                                   breaker.at("open_for"))},
                 {"half_open_probes", Prop(IntegerType(1), "Attempts let through to probe.",
                                           breaker.at("half_open_probes"))}})),
            "A circuit breaker per instance; null = none.", fleet.at("breaker"))},
      {"adaptive_throttle",
       Prop(Nullable(ObjectType({{"k", Prop(NumberType(0, true),
                                            "Accepts multiplier: reject with probability "
                                            "max(0, (requests - k*accepts)/(requests+1)).",
                                            throttle.at("k"))},
                                 {"window", Prop(DurationType(), "The window counts are kept over.",
                                                 throttle.at("window"))}})),
            "Client-side adaptive throttling (SRE book); null = none.",
            fleet.at("adaptive_throttle"))},
      {"connections",
       Prop(EnumType({"per_instance", "shared"}),
            "Each instance its own connection, or a shared pool.", fleet.at("connections"))},
      {"pool_size",
       Prop(IntegerType(1), "Shared pool: connections per target at most.", fleet.at("pool_size"))},
  };
  return ObjectType(std::move(properties));
}

json FaultSchema(const json& d) {
  const json& latency = d.at("faults").at(0);
  const json& http_error = d.at("faults").at(1);
  const json& kill = d.at("faults").at(2);
  json duration_or_range = {{"type", "string"}};
  json properties = {
      {"kind", Prop(EnumType({"latency", "bandwidth", "reset", "blackhole", "down", "slow_close",
                              "slicer", "limit_data", "http_error", "http_delay", "kill", "pause",
                              "term", "fd_limit", "admin"}),
                    "What to inject. Proxy kinds (latency..limit_data) and HTTP kinds act in "
                    "herd's proxy in front of each replica; kill, pause, term and fd_limit act "
                    "on launched processes; admin sets kvd's /admin/faults.")},
      {"at", Prop(DurationType(), "When it starts, from the start of the run.", latency.at("at"))},
      {"for", Prop(DurationType(), "How long it lasts (default: to the end of the run).")},
      {"until", Prop(DurationType(), "When it ends, instead of for.")},
      {"replica", Prop({{"oneOf", {IntegerType(0), {{"const", "all"}}}}},
                       "The replica it hits, 0-based, or \"all\".", latency.at("replica"))},
      {"direction", Prop(EnumType({"up", "down", "both"}),
                         "Proxy kinds: up = client to target, down = target to client. Default "
                         "down, but both for reset and blackhole.",
                         latency.at("direction"))},
      {"toxicity", Prop({{"type", "number"}, {"minimum", 0}, {"maximum", 1}},
                        "Proxy kinds: the share of connections affected, decided per connection.",
                        latency.at("toxicity"))},
      {"latency", Prop(duration_or_range,
                       "latency: added to each chunk; http_error: before the answer, a duration "
                       "or a range \"0ms-198ms\"; http_delay: fixed or a range; admin: kvd's "
                       "latency.")},
      {"jitter", Prop(DurationType(), "latency: plus U[0, jitter).", latency.at("jitter"))},
      {"kbps", Prop(NumberType(0, true), "bandwidth: kilobits per second.")},
      {"after", Prop(DurationType(), "reset: reset this long after the fault reaches a connection.")},
      {"bytes", Prop(IntegerType(0), "reset: after this many bytes; limit_data: close after this many.")},
      {"delay", Prop(DurationType(), "slow_close: how late a close is passed on; slicer: between slices.")},
      {"average_size", Prop(IntegerType(1), "slicer: average slice in bytes.")},
      {"size_variation", Prop(IntegerType(0), "slicer: slices vary by up to this many bytes.")},
      {"status", Prop({{"type", "integer"}, {"minimum", 100}, {"maximum", 599}},
                      "http_error: the status answered.", http_error.at("status"))},
      {"probability", Prop({{"type", "number"}, {"minimum", 0}, {"maximum", 1}},
                           "http_error, http_delay: the share of requests hit, decided per request.",
                           http_error.at("probability"))},
      {"mean", Prop(DurationType(), "http_delay: mean of a normal distribution (instead of latency).")},
      {"stddev", Prop(DurationType(), "http_delay: its standard deviation.")},
      {"restart_after", Prop(Nullable(DurationType()),
                             "kill, term: restart the replica this long after it stopped; null = "
                             "it stays down. Default 1s for kill, 0s for term.",
                             kill.at("restart_after"))},
      {"limit", Prop(IntegerType(3), "fd_limit: the replica's new soft RLIMIT_NOFILE.")},
      {"service_time", Prop(DurationType(), "admin: kvd's service_time.")},
      {"error_rate", Prop({{"type", "number"}, {"minimum", 0}, {"maximum", 1}}, "admin: kvd's error_rate.")},
      {"error_status", Prop({{"type", "integer"}}, "admin: kvd's error_status.")},
      {"stall", Prop({{"type", "boolean"}}, "admin: kvd holds requests unanswered.")},
      {"deep_dependency_down", Prop({{"type", "boolean"}}, "admin: kvd's deep health check fails.")},
      {"leak", Prop(EnumType({"task", "connection", "timer"}), "admin: kvd's leak mode.")},
  };
  return Prop({{"type", "array"}, {"items", ObjectType(std::move(properties), {"kind"})}},
              "Faults on a timeline; each start and end is written to faults.csv.",
              json::array());
}

json ProbeSchema(const json& d) {
  const json& p = d.at("probes").at(0);
  json properties = {
      {"name", Prop({{"type", "string"}, {"pattern", kNamePattern}}, "Names it in probes.csv; unique.", p.at("name"))},
      {"kind", Prop(EnumType({"http", "grpc"}),
                    "http: GET path, 2xx/3xx pass; grpc: grpc.health.v1 Check (target.protocol grpc).",
                    p.at("kind"))},
      {"path", Prop({{"type", "string"}, {"pattern", "^/"}}, "http: the path.", p.at("path"))},
      {"service", Prop({{"type", "string"}}, "grpc: the health service name (\"\" = the server).")},
      {"period", Prop(DurationType(), "How often (Kubernetes' periodSeconds).", p.at("period"))},
      {"timeout", Prop(DurationType(), "How long a check may take.", p.at("timeout"))},
      {"initial_delay", Prop(DurationType(), "Before the first check.", p.at("initial_delay"))},
      {"failure_threshold", Prop(IntegerType(1), "Failures in a row that make it unhealthy.", p.at("failure_threshold"))},
      {"success_threshold", Prop(IntegerType(1), "Successes in a row that make it healthy (1 with restart).",
                                 p.at("success_threshold"))},
      {"action", Prop(EnumType({"none", "restart", "unready"}),
                      "On unhealthy: nothing, restart the launched replica (a kubelet's liveness restart), or "
                      "stop sending it traffic (all replicas again when none is ready).",
                      p.at("action"))},
  };
  return Prop({{"type", "array"}, {"items", ObjectType(std::move(properties))}},
              "Health probes per replica, with Kubernetes' semantics; written to probes.csv.", json::array());
}

json MonitorSchema(const json& d) {
  const json& prom = d.at("monitors").at(1);
  json properties = {
      {"kind", Prop(EnumType({"process", "prometheus"}),
                    "process: threads, fds, RSS and CPU from /proc; prometheus: series scraped from a metrics "
                    "path.")},
      {"name", Prop({{"type", "string"}, {"pattern", kNamePattern}}, "Names it in monitors.csv (default: the kind).")},
      {"path", Prop({{"type", "string"}, {"pattern", "^/"}}, "prometheus: the metrics path.", prom.at("path"))},
      {"series", Prop({{"type", "array"}, {"items", {{"type", "string"}}}, {"minItems", 1}},
                      "prometheus: selectors, e.g. \"kvd_tasks\", \"go_goroutines\", "
                      "\"kvd_requests_total{code=\\\"503\\\"}\" (samples summed).")},
      {"pid", Prop(IntegerType(1), "process: watch this pid instead of the launched replicas.")},
      {"idle", Prop(DurationType(),
                    "Keep sampling this long after the fleets stop: does the series return to its idle "
                    "baseline once the load is gone?",
                    prom.at("idle"))},
  };
  return Prop({{"type", "array"}, {"items", ObjectType(std::move(properties), {"kind"})}},
              "Sampled once a bucket per replica into monitors.csv.", json::array());
}

json DurabilitySchema(const json& d) {
  const json& dur = d.at("durability");
  return Prop(Nullable(ObjectType(
                  {{"writes", Prop(IntegerType(1), "Unique writes spread over the run.", dur.at("writes"))},
                   {"timeout", Prop(DurationType(), "Per write and per read back.", dur.at("timeout"))}})),
              "A cohort of unique writes, read back at the end (Jepsen's set check); null = none.", nullptr);
}

json GatesSchema(const json& d) {
  const json& g = d.at("gates").at(0);
  std::vector<std::string> names;
  std::string table;
  for (const GateMetric& m : kGateMetrics) {
    names.emplace_back(m.name);
    table += fmt::format("{}{} ({}{})", table.empty() ? "" : "; ", m.name, m.description,
                         m.boolean ? ", true or false" : "");
  }
  json name_schema = {{"type", "string"}};
  json properties = {
      {"name", Prop({{"type", "string"}, {"minLength", 1}},
                    "Names the gate in summary.json, junit.xml and messages (default: built from metric, "
                    "bound and scope, e.g. \"amplification <= 2 (clients, every window)\").")},
      {"metric", Prop(EnumType(names),
                      "What to measure. Per fleet and phase: offered_per_s .. timeout_share; per fleet and "
                      "fault window: storm .. metastable; per fleet over the run: retry_after_seen, "
                      "retry_after_honoured, jain; per probe and replica: detection_delay_s, recovery_delay_s "
                      "(per window), false_alarms, misses, flaps, restarts; per monitor series: slope_per_min "
                      ".. returned_to_baseline; durability: lost .. valid. " + table + ".")},
      {"fleet", Prop(name_schema, "Per-fleet metrics: only this fleet (default: every fleet, each must pass).")},
      {"phase", Prop(EnumType({"run", "before", "window", "after"}),
                     "Per-fleet, per-phase metrics: the whole run, before the first fault, each fault window, "
                     "or after the last fault; per-window metrics take only \"window\". A phase the run does "
                     "not have (no faults) fails the gate.",
                     g.at("phase"))},
      {"window", Prop(IntegerType(0),
                      "With phase window: only this window, the index of its row in faults.csv (a fault on "
                      "every replica makes one window per replica); default every window.")},
      {"probe", Prop(name_schema, "Probe metrics: only this probe (default: every probe).")},
      {"replica", Prop(IntegerType(0), "Probe and monitor metrics: only this replica (default: every replica).")},
      {"monitor", Prop(name_schema, "Monitor metrics: only this monitor (default: every monitor).")},
      {"series", Prop(name_schema, "Monitor metrics: only this series (default: every series).")},
      {"max", Prop({{"type", "number"}}, "Numeric metrics: every value must be at most this.")},
      {"min", Prop({{"type", "number"}}, "Numeric metrics: every value must be at least this.")},
      {"equals", Prop({{"type", "boolean"}}, "Boolean metrics: every value must be this.")},
  };
  json item = ObjectType(std::move(properties), {"metric"});
  item["anyOf"] = {{{"required", {"max"}}}, {{"required", {"min"}}}, {{"required", {"equals"}}}};
  return Prop({{"type", {"array", "null"}}, {"items", std::move(item)}},
              "CI verdict: each gate bounds a metric of the run; every value it measures (one per fleet, "
              "window, probe and replica, or monitor series) must be within bounds, and a value that "
              "could not be measured fails. Any failed gate makes herd exit 99 and is a failed test case in "
              "junit.xml.",
              json::array());
}

}  // namespace

nlohmann::json ScenarioSchema() {
  const json d = ResolvedDefaults();
  json properties = {
      {"$schema", Prop({{"type", "string"}}, "Where editors find this schema; ignored by herd.")},
      {"name", Prop({{"type", "string"}, {"pattern", kNamePattern}, {"maxLength", 100}},
                    "Names the run's report directory: letters, digits, '-', '_', '.'.")},
      {"duration", Prop(DurationType(), "How long fleets run (more than 0s).", d.at("duration"))},
      {"bucket",
       Prop(DurationType(), "Time-series interval, 10ms up to the duration.", d.at("bucket"))},
      {"seed", Prop(IntegerType(0), "Seeds every instance's random stream: same seed, same run.",
                    d.at("seed"))},
      {"target", TargetSchema(d)},
      {"fleets", Prop({{"type", "array"}, {"items", FleetSchema(d)}, {"minItems", 1}},
                      "Groups of identical simulated clients.")},
      {"faults", FaultSchema(d)},
      {"probes", ProbeSchema(d)},
      {"monitors", MonitorSchema(d)},
      {"durability", DurabilitySchema(d)},
      {"gates", GatesSchema(d)},
  };
  json schema = ObjectType(std::move(properties), {"name", "target", "fleets"});
  schema["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  schema["title"] = "herd scenario";
  schema["description"] =
      "A herd scenario: fleets of retrying clients, a target, and what to measure. JSON with "
      "// and /* */ comments.";
  return schema;
}

}  // namespace herd
