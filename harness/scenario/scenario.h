// Scenario is a parsed, validated, defaulted scenario file (DESIGN.md,
// "Scenario file"). Everything the engine needs is here, in plain types;
// parse.h turns JSON into it, schema.h describes the JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "fault/proxy.h"
#include "policy/retry.h"
#include "scenario/gates.h"

namespace herd {

struct LaunchSpec {
  std::vector<std::string> command;  // {port} is replaced by a free port
  int replicas = 1;
  std::string ready = "/readyz";     // path polled until 200
  Duration ready_timeout = std::chrono::seconds(15);
};

struct Target {
  std::optional<LaunchSpec> launch;  // exactly one of launch, url and model
  std::string url;                   // e.g. "http://127.0.0.1:8080" or "127.0.0.1:50051" for grpc
  // A simulated server on herd's own clock (transport/model.h documents the
  // fields; the runner checks them): runs in virtual time, for exact
  // experiments and what-if questions in seconds.
  nlohmann::json model = nullptr;
  enum class Protocol { kHttp, kGrpc } protocol = Protocol::kHttp;
  bool allow_remote = false;         // refuse non-loopback targets unless true
};

struct Stage {
  double to = 0;                      // requests/s reached at the end of the stage
  Duration over = std::chrono::seconds(0);
};

struct Arrival {
  enum class Model { kClosed, kOpen } model = Model::kClosed;
  // closed
  int64_t requests_per_instance = 0;  // 0 = unbounded
  Duration think = Duration::zero();
  // open
  double rate = 0;                    // requests/s for the whole fleet
  std::vector<Stage> stages;          // linear ramps after `rate`
  enum class Spacing { kUniform, kPoisson } spacing = Spacing::kUniform;
};

struct KeySpace {
  int64_t count = 10000;
  enum class Distribution { kUniform, kZipf, kSequential } distribution = Distribution::kUniform;
  double zipf_s = 1.1;                // for "zipf:1.1"
  std::string prefix = "k";
};

struct HttpTemplate {                 // for targets other than kvd
  std::string method = "GET";
  std::string path = "/v1/{key}";
  std::map<std::string, std::string> headers;
  std::string body;                   // may use {key} {value} {key_b64} {value_b64} {instance} {seq}
};

struct Workload {
  double get = 1, put = 0, del = 0;   // the mix, normalised to sum 1
  KeySpace keys;
  int64_t value_bytes = 128;
  std::vector<HttpTemplate> requests; // when set, replaces get/put/delete (weights = equal)
};

struct TokenBucketBudgetSpec {
  double max_tokens = 10;
  double token_ratio = 0.1;
};
struct RatioBudgetSpec {
  double percent = 10;
  double min_per_s = 10;
  Duration ttl = std::chrono::seconds(10);
};
struct BudgetSpec {
  enum class Kind { kTokenBucket, kRatio } kind = Kind::kTokenBucket;
  TokenBucketBudgetSpec token_bucket;
  RatioBudgetSpec ratio;
};
struct BreakerSpec {
  int failures = 5;
  Duration open_for = std::chrono::seconds(5);
  int half_open_probes = 1;
};
struct AdaptiveThrottleSpec {
  double k = 2.0;
  Duration window = std::chrono::seconds(120);
};

struct Fleet {
  std::string name = "clients";
  int64_t instances = 1;
  Duration start_spread = Duration::zero();
  Arrival arrival;
  Workload workload;
  Duration timeout = std::chrono::seconds(1);  // per attempt
  Duration deadline = Duration::zero();        // per request, 0 = none
  RetryPolicy retry;
  std::optional<BudgetSpec> budget;
  std::optional<BreakerSpec> breaker;
  std::optional<AdaptiveThrottleSpec> adaptive_throttle;
  enum class Connections { kPerInstance, kShared } connections = Connections::kShared;
  int pool_size = 64;                          // shared pool: max connections per target
};

// One entry of the scenario's "faults" list (DESIGN.md, Faults). The window
// is [at, end). fault/timeline.h carries them out.
struct FaultSpec {
  enum class Kind {
    // herd's proxy in front of each replica
    kLatency, kBandwidth, kReset, kBlackhole, kDown, kSlowClose, kSlicer, kLimitData,
    kHttpError, kHttpDelay,
    // processes herd launched
    kKill, kPause, kTerm, kFdLimit,
    // kvd's /admin/faults, with the launch's token
    kAdmin,
  };
  Kind kind = Kind::kLatency;
  Duration at{};
  // End of the window: `for` or `until`, by default the end of the run. For
  // kill and term, at + restart_after (the replica is ready again somewhat
  // later; faults.csv records when).
  Duration end{};
  int replica = -1;                    // -1: every replica

  ProxyFault proxy;                    // proxy and HTTP kinds: the parameters
  std::optional<Duration> restart_after;  // kill, term: none = stays down
  int64_t fd_limit = 0;                // fd_limit: the new RLIMIT_NOFILE (soft)
  nlohmann::json admin = nlohmann::json::object();  // admin: the /admin/faults patch

  bool is_proxy() const { return kind <= Kind::kHttpDelay; }
  bool is_process() const { return kind >= Kind::kKill && kind <= Kind::kFdLimit; }
};

// "latency", ..., "admin".
const char* FaultKindName(FaultSpec::Kind kind);
// Its parameters (everything but kind, window and replica), as resolved,
// e.g. {"latency": "100ms", "jitter": "0s", ...}: for faults.csv.
nlohmann::json FaultParameters(const FaultSpec& fault);

// A health probe per replica, with Kubernetes' semantics (ANCHORS.md):
// every `period` after `initial_delay`, a check that must answer within
// `timeout`; `failure_threshold` failures in a row make the replica
// unhealthy, `success_threshold` successes in a row healthy again.
struct ProbeSpec {
  std::string name = "liveness";
  enum class Kind { kHttp, kGrpc } kind = Kind::kHttp;
  std::string path = "/healthz";      // http: 2xx and 3xx pass, as the kubelet
  std::string service;                // grpc: grpc.health.v1 service ("" = the server)
  Duration period = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(1);
  Duration initial_delay = Duration::zero();
  int failure_threshold = 3;
  int success_threshold = 1;
  // restart: a kubelet's liveness restart of the launched replica; unready:
  // the fleets stop sending to it (all of them again when none is ready).
  enum class Action { kNone, kRestart, kUnready } action = Action::kNone;
};

// Sampled once a bucket per replica into monitors.csv.
struct MonitorSpec {
  enum class Kind { kProcess, kPrometheus } kind = Kind::kProcess;
  std::string name;                   // default: the kind
  std::string path = "/metrics";      // prometheus
  std::vector<std::string> series;    // prometheus selectors, e.g. "kvd_tasks"
  int64_t pid = 0;                    // process: watch this pid instead of the replicas
  // After the fleets stop, keep sampling this long: does the series return
  // to its idle baseline once the load is gone (leaks)? The run waits the
  // longest idle of its monitors.
  Duration idle = Duration::zero();
};

// A cohort of unique writes, read back at the end (observe/durability.h).
struct DurabilityScenarioSpec {
  int64_t writes = 1000;
  Duration timeout = std::chrono::seconds(1);
};

struct Scenario {
  std::string name;
  Duration duration = std::chrono::seconds(60);
  Duration bucket = std::chrono::seconds(1);
  uint64_t seed = 1;
  Target target;
  std::vector<Fleet> fleets;
  std::vector<FaultSpec> faults;
  std::vector<ProbeSpec> probes;
  std::vector<MonitorSpec> monitors;
  std::optional<DurabilityScenarioSpec> durability;
  std::vector<GateSpec> gates;  // scenario/gates.h

  nlohmann::json resolved;  // the scenario with every default filled in
};

}  // namespace herd
