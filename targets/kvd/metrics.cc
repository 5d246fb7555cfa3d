#include "metrics.h"

#include <dirent.h>

#include <fstream>
#include <fmt/format.h>

namespace kvd {

namespace {
const char* GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",           "CANCELLED",          "UNKNOWN",        "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS", "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",    "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "UNKNOWN";
}
}  // namespace

const char* RouteName(Protocol protocol, Route route, Method method) {
  if (protocol == Protocol::kGrpc) {
    switch (method) {
      case Method::kGet: return "keyvalue.KeyValue/Get";
      case Method::kPut: return "keyvalue.KeyValue/Put";
      case Method::kDelete: return "keyvalue.KeyValue/Delete";
      case Method::kOther: return "keyvalue.KeyValue/other";
    }
  }
  switch (route) {
    case Route::kKey: return "/v1/{key}";
    case Route::kHealthz: return "/healthz";
    case Route::kHealthzShallow: return "/healthz/shallow";
    case Route::kHealthzDeep: return "/healthz/deep";
    case Route::kReadyz: return "/readyz";
    case Route::kMetrics: return "/metrics";
    case Route::kInfo: return "/info";
    case Route::kConnections: return "/connections";
    case Route::kAdmin: return "/admin/faults";
    case Route::kUnknown: return "other";
  }
  return "other";
}

const char* MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Metrics::Metrics() : requests_(kProtocols * kRoutes * kMethods * kCodes) {}

void Metrics::Count(Protocol protocol, Route route, Method method, int code,
                    std::chrono::nanoseconds latency) {
  if (code < 0 || code >= kCodes) code = 0;
  requests_[Index(protocol, route, method, code)].fetch_add(1, std::memory_order_relaxed);
  if (route != Route::kKey) return;
  Histogram& h = latency_[static_cast<size_t>(protocol)];
  double seconds = std::chrono::duration<double>(latency).count();
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  h.buckets[i].fetch_add(1, std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<uint64_t>(latency.count()), std::memory_order_relaxed);
}

uint64_t Metrics::Requests(Protocol protocol, Route route) const {
  uint64_t n = 0;
  for (int m = 0; m < kMethods; ++m)
    for (int c = 0; c < kCodes; ++c)
      n += requests_[Index(protocol, route, static_cast<Method>(m), c)].load(
          std::memory_order_relaxed);
  return n;
}

std::string Metrics::Render(const std::vector<Gauge>& extra) const {
  std::string out;
  out.reserve(16 << 10);
  auto append = [&out]<typename... A>(fmt::format_string<A...> f, A&&... a) {
    fmt::format_to(std::back_inserter(out), f, std::forward<A>(a)...);
  };

  append("# HELP kvd_requests_total Requests answered, by protocol, route, method and code.\n"
         "# TYPE kvd_requests_total counter\n");
  for (int p = 0; p < kProtocols; ++p) {
    for (int r = 0; r < kRoutes; ++r) {
      for (int m = 0; m < kMethods; ++m) {
        for (int c = 0; c < kCodes; ++c) {
          auto proto = static_cast<Protocol>(p);
          uint64_t n = requests_[Index(proto, static_cast<Route>(r), static_cast<Method>(m), c)]
                           .load(std::memory_order_relaxed);
          if (n == 0) continue;
          std::string code = proto == Protocol::kGrpc ? GrpcCodeName(c) : std::to_string(c);
          append("kvd_requests_total{{protocol=\"{}\",route=\"{}\",method=\"{}\",code=\"{}\"}} {}\n",
                 proto == Protocol::kGrpc ? "grpc" : "http",
                 RouteName(proto, static_cast<Route>(r), static_cast<Method>(m)),
                 MethodName(static_cast<Method>(m)), code, n);
        }
      }
    }
  }

  append("# HELP kvd_request_duration_seconds Latency of data requests, from read to answer.\n"
         "# TYPE kvd_request_duration_seconds histogram\n");
  for (int p = 0; p < kProtocols; ++p) {
    const Histogram& h = latency_[p];
    const char* proto = p == 0 ? "http" : "grpc";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i].load(std::memory_order_relaxed);
      append("kvd_request_duration_seconds_bucket{{protocol=\"{}\",le=\"{}\"}} {}\n", proto,
             kBuckets[i], cumulative);
    }
    cumulative += h.buckets[kBuckets.size()].load(std::memory_order_relaxed);
    append("kvd_request_duration_seconds_bucket{{protocol=\"{}\",le=\"+Inf\"}} {}\n", proto,
           cumulative);
    append("kvd_request_duration_seconds_sum{{protocol=\"{}\"}} {}\n", proto,
           static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9);
    append("kvd_request_duration_seconds_count{{protocol=\"{}\"}} {}\n", proto,
           h.count.load(std::memory_order_relaxed));
  }

  auto counter = [&](const char* name, const char* help, uint64_t v) {
    append("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](std::string_view name, std::string_view help, double v) {
    append("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  counter("kvd_throttled_total", "Requests refused by the per-client throttle (429).",
          throttled.load());
  counter("kvd_shed_total", "Requests shed beyond --max-inflight (503).", shed.load());
  counter("kvd_stalled_total", "Requests held unanswered by the stall fault.", stalled.load());
  gauge("kvd_inflight", "Data requests admitted and not yet answered (queued or in service).",
        static_cast<double>(inflight.load()));
  gauge("kvd_queue_depth", "Data requests waiting for a worker.",
        static_cast<double>(queued.load()));
  gauge("kvd_tasks", "Live tasks: requests in progress, background jobs and leaked tasks.",
        static_cast<double>(tasks.load()));
  gauge("kvd_timers", "Periodic timers running.", static_cast<double>(timers.load()));
  gauge("kvd_open_connections", "Open client connections, including leaked ones.",
        static_cast<double>(connections.load()));
  gauge("kvd_leaked_connections", "Connections opened by the connection leak and never closed.",
        static_cast<double>(leaked_connections.load()));
  for (const Gauge& g : extra) gauge(g.name, g.help, g.value);
  return out;
}

int64_t ProcessThreads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoll(line.substr(8));
  }
  return -1;
}

int64_t ProcessOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int64_t n = 0;
  while (readdir(dir)) ++n;
  closedir(dir);
  return n - 3;  // ".", ".." and the directory's own fd
}

}  // namespace kvd
