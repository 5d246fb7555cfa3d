// Observers runs what watches a run rather than loads it: the scenario's
// health probes (observe/probe.h), its monitors (observe/monitor.h) and
// the durability checker (observe/durability.h). herd run starts it with
// the fleets and asks it for probes.csv, monitors.csv and the inputs of
// the analyses at the end.
//
// Probes and monitors talk to each replica directly (a kubelet probes the
// pod, not the load balancer); the durability cohort goes where the fleets
// go (through the fault proxies), so faults hit it too.
//
// Probe actions: a restart probe that turns unhealthy has the replica
// killed and restarted on its actor (the same one process faults use, so
// they never interleave), then probing resumes; an unready probe calls
// set_ready, from a probe thread (the caller posts it to its loop).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/analyses.h"
#include "analyze/stats.h"
#include "fault/actor.h"
#include "scenario/scenario.h"

namespace herd {

class Launcher;

class Observers {
 public:
  struct Context {
    const Scenario* scenario = nullptr;
    Launcher* launcher = nullptr;           // null for url targets
    std::vector<std::string> direct_http;   // per replica ("" when it has none)
    std::vector<std::string> direct_grpc;   // per replica ("" when it has none)
    std::vector<std::string> cohort_http;   // where the durability cohort writes, per replica
    std::vector<Actor*> actors;             // per replica, with a launcher
    std::function<void(int replica, bool ready)> set_ready;
    bool log = true;
  };

  explicit Observers(Context context);
  ~Observers();

  // Starts probes, monitor sampling (once a bucket) and the cohort's
  // writes (spread over `duration`). `zero` is run time 0.
  void Start(std::chrono::steady_clock::time_point zero, Duration duration);
  // The fleets stopped: the cohort stops writing (waiting for its last
  // writes up to their timeout).
  void StopLoad();
  // After faults are healed: monitors sample `idle` longer, probes stop,
  // every replica is brought back if down and the cohort is read back.
  void Finish();

  // Results, after Finish.
  std::string ProbesCsv() const;
  std::string MonitorsCsv() const;
  std::vector<ProbeObservation> probe_observations() const;
  std::vector<MonitorObservation> monitor_samples() const;
  std::optional<SetCheck> durability() const { return durability_; }
  int64_t durability_read_errors() const { return read_errors_; }
  nlohmann::json restarts() const;  // probe-driven restarts
  // Samples that could not be taken (a dead pid, a scrape that failed, a
  // series missing from the page): [{monitor, replica, series, reason,
  // count, first_s, last_s}].
  nlohmann::json monitor_misses() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::optional<SetCheck> durability_;
  int64_t read_errors_ = 0;
};

}  // namespace herd
