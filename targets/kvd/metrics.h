// Metrics counts what kvd does, for /metrics in the Prometheus text format.
// herd checks its own attempt counts against these, so they must be exact:
// every answered request is counted once, by protocol, route, method and
// code, including the 429s and 503s that throttling and shedding send.
//
// Updates are relaxed atomic adds into fixed arrays: no lock and no
// allocation per request.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kvd {

enum class Protocol : uint8_t { kHttp, kGrpc };
constexpr int kProtocols = 2;

enum class Route : uint8_t {
  kKey,  // /v1/{key} or keyvalue.KeyValue/*
  kHealthz,
  kHealthzShallow,
  kHealthzDeep,
  kReadyz,
  kMetrics,
  kInfo,
  kConnections,
  kAdmin,
  kUnknown,
};
constexpr int kRoutes = 10;

enum class Method : uint8_t { kGet, kPut, kDelete, kOther };
constexpr int kMethods = 4;

const char* RouteName(Protocol protocol, Route route, Method method);
const char* MethodName(Method method);

struct Gauge {
  std::string name;
  std::string help;
  double value;
};

class Metrics {
 public:
  Metrics();

  // code: the HTTP status, or the gRPC status code for gRPC.
  void Count(Protocol protocol, Route route, Method method, int code,
             std::chrono::nanoseconds latency);

  uint64_t Requests(Protocol protocol, Route route) const;  // all methods and codes

  // Live values kept by the rest of kvd.
  std::atomic<int64_t> inflight{0};     // data requests admitted and not yet answered
  std::atomic<int64_t> queued{0};       // of those, waiting for a worker
  std::atomic<int64_t> tasks{0};        // live tasks: requests, background jobs, leaks
  std::atomic<int64_t> timers{0};       // periodic timers running
  std::atomic<int64_t> connections{0};  // open client connections (HTTP) + leaked ones
  std::atomic<int64_t> leaked_connections{0};
  std::atomic<uint64_t> throttled{0};
  std::atomic<uint64_t> shed{0};
  std::atomic<uint64_t> stalled{0};

  // The whole exposition: counters, the latency histogram, the gauges above
  // and `extra` (store, log and process figures sampled by the caller).
  std::string Render(const std::vector<Gauge>& extra) const;

 private:
  static constexpr int kCodes = 600;
  static constexpr std::array<double, 16> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,     10};

  struct Histogram {
    std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last is +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_ns{0};
  };

  static size_t Index(Protocol p, Route r, Method m, int code) {
    return ((static_cast<size_t>(p) * kRoutes + static_cast<size_t>(r)) * kMethods +
            static_cast<size_t>(m)) * kCodes + static_cast<size_t>(code);
  }

  std::vector<std::atomic<uint64_t>> requests_;  // kProtocols*kRoutes*kMethods*kCodes
  std::array<Histogram, kProtocols> latency_;    // data routes only
};

// Reads the live thread count and open file descriptors of this process.
int64_t ProcessThreads();
int64_t ProcessOpenFds();

}  // namespace kvd

namespace kvd {

// TaskToken is one live task in kvd_tasks for as long as it exists. A request
// holds one from admission to answer; a leaked task holds one forever.
class TaskToken {
 public:
  TaskToken() = default;
  explicit TaskToken(Metrics* metrics) : metrics_(metrics) {
    metrics_->tasks.fetch_add(1, std::memory_order_relaxed);
  }
  TaskToken(TaskToken&& other) noexcept : metrics_(std::exchange(other.metrics_, nullptr)) {}
  TaskToken& operator=(TaskToken&& other) noexcept {
    if (this != &other) {
      Release();
      metrics_ = std::exchange(other.metrics_, nullptr);
    }
    return *this;
  }
  TaskToken(const TaskToken&) = delete;
  TaskToken& operator=(const TaskToken&) = delete;
  ~TaskToken() { Release(); }

 private:
  void Release() {
    if (metrics_) metrics_->tasks.fetch_sub(1, std::memory_order_relaxed);
    metrics_ = nullptr;
  }
  Metrics* metrics_ = nullptr;
};

}  // namespace kvd
