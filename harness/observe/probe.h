// Prober runs a scenario's health probes against every replica, with
// Kubernetes' semantics (scenario.h, ProbeSpec), and writes down each
// check for probes.csv: t_s,probe,replica,status,latency_ms,state.
//
// Each (probe, replica) pair has a thread of its own that checks, sleeps
// until the next period, and checks again: checks block (an HTTP GET with
// libcurl, or grpc.health.v1.Health/Check through gRPC's generic stub), and
// a probe is a handful of threads, not a hot path. A check never overlaps
// the one before it (the kubelet's rule too).
//
// status is the HTTP status ("200", "503"), the gRPC health answer
// ("SERVING", "NOT_SERVING", "UNKNOWN") or what went wrong ("timeout",
// "refused", "reset", "error"). HTTP passes on 2xx and 3xx, gRPC on
// SERVING. state is the replica's state for that probe after the check:
// "healthy" or "unhealthy" (every probe starts healthy: the launcher has
// already waited for the target to be ready).
//
// When a replica turns unhealthy or healthy, on_change runs on the probe's
// thread. For a restart probe the caller restarts the replica and then
// calls Resume: meanwhile that pair does not check (so a restarting
// replica is not restarted again), and the first check after Resume waits
// initial_delay, as after a container restart.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scenario/scenario.h"

namespace herd {

struct ProbeCheck {
  double t_s = 0;       // when the check started, run time
  int probe = 0;        // index in the scenario's probes
  int replica = 0;
  std::string status;
  double latency_ms = 0;
  bool healthy = true;  // the state after this check
};

// probes.csv, header line included.
std::string ProbesCsv(const std::vector<ProbeSpec>& probes, const std::vector<ProbeCheck>& checks);

class Prober {
 public:
  using OnChange = std::function<void(int probe, int replica, bool healthy)>;

  // "host:port" per replica: HTTP probes use http_addresses, gRPC probes
  // grpc_addresses (both lists have one entry per replica).
  Prober(std::vector<ProbeSpec> probes, std::vector<std::string> http_addresses,
         std::vector<std::string> grpc_addresses, std::chrono::steady_clock::time_point zero, OnChange on_change);
  ~Prober();  // Stop()

  void Start();
  // Stops every thread (a check in progress finishes or times out first).
  void Stop();
  // After a restart: that replica's restart probes check again, after
  // their initial_delay. Thread-safe.
  void Resume(int replica);

  std::vector<ProbeCheck> checks() const;  // in time order

 private:
  struct Pair;
  void Run(Pair& pair);

  std::vector<ProbeSpec> probes_;
  std::vector<std::string> http_addresses_, grpc_addresses_;
  std::chrono::steady_clock::time_point zero_;
  OnChange on_change_;
  std::vector<std::unique_ptr<Pair>> pairs_;
  mutable std::mutex mu_;
  std::vector<ProbeCheck> checks_;
};

}  // namespace herd
