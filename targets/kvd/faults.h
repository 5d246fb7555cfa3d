// FaultSet is what kvd is told to get wrong, by flags at start or through
// /admin/faults at run time, so herd can make it slow, failing, stuck or
// leaking on a schedule.
//
// JSON form (every field optional; PUT /admin/faults merges an object into
// the current set, and a field set to null switches that fault off):
//   {"latency": "0ms-198ms",      added before the request is served, holds no worker
//    "service_time": "20ms",      holds a worker that long per request (see --workers)
//    "error_rate": 1.0,           share of requests answered with error_status
//    "error_status": 503,
//    "stall": true,               accept requests, never answer them
//    "deep_dependency_down": true,  /healthz/deep fails, traffic still served
//    "leak": "task" | "connection" | "timer" | "none"}
// Faults apply to the data routes (/v1/{key} and gRPC), never to /healthz,
// /readyz, /metrics or /admin, except deep_dependency_down.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace kvd {

enum class LeakMode { kNone, kTask, kConnection, kTimer };

const char* LeakModeName(LeakMode mode);

struct FaultSet {
  std::chrono::nanoseconds latency_min{0};
  std::chrono::nanoseconds latency_max{0};
  std::chrono::nanoseconds service_time{0};
  double error_rate = 0;
  int error_status = 500;
  bool stall = false;
  bool deep_dependency_down = false;
  LeakMode leak = LeakMode::kNone;

  // True when any fault that touches data requests is on.
  bool AffectsRequests() const;
  nlohmann::json ToJson() const;
};

// Merges `patch` into *faults. On a bad field, returns false and sets *error
// to a message naming the field and what was expected; *faults is unchanged.
bool ApplyFaultPatch(const nlohmann::json& patch, FaultSet* faults, std::string* error);

// Faults holds the current set for every thread. Requests read it on the hot
// path, so the common case (no fault on) is one relaxed atomic load.
class Faults {
 public:
  explicit Faults(const FaultSet& initial = {});

  // The current set; null when nothing affects requests.
  std::shared_ptr<const FaultSet> ForRequest() const;
  FaultSet Current() const;

  bool Patch(const nlohmann::json& patch, std::string* error);
  void Set(const FaultSet& faults);
  void Clear() { Set(FaultSet{}); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const FaultSet> current_;
  std::atomic<bool> affects_requests_{false};
};

}  // namespace kvd
