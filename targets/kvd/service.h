// Service is kvd's core, shared by the REST and gRPC frontends (the book's
// hexagonal layout: the frontends are adapters, this is the application).
// A data request goes through, in order:
//
//   ready?     503 while the log replays or kvd drains
//   limits     400 empty or too long key, 413 value too large
//   throttle   429 + Retry-After when the client's bucket is empty
//   shed       503 + Retry-After beyond --max-inflight admitted requests
//   faults     stall, leak, latency, injected errors (see faults.h)
//   workers    wait in the FIFO queue for a worker, hold it for service_time
//   store      get, or put/delete through the store and the transaction log
//
// and is answered exactly once through its Reply, on whatever thread
// finished it (the caller's own when nothing had to wait).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "config.h"
#include "faults.h"
#include "leaks.h"
#include "logger.h"
#include "metrics.h"
#include "store.h"
#include "throttle.h"
#include "txlog.h"
#include "workers.h"

namespace kvd {

struct Request {
  Protocol protocol = Protocol::kHttp;
  Method method = Method::kGet;
  std::string key;
  std::string value;
  std::string client;  // X-Client-Id / x-client-id, else the peer address
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  uint64_t id = 0;  // request id, in logs and X-Request-Id
};

struct Response {
  int status = 200;          // HTTP status; the gRPC frontend maps it to a code
  std::string body;          // the value of a GET, else a short plain message
  int retry_after_s = 0;     // > 0: send Retry-After
  int64_t pushback_ms = -1;  // >= 0: send grpc-retry-pushback-ms
};

using Reply = std::function<void(Response&&)>;

class Service {
 public:
  Service(const Config& config, Store& store, Metrics& metrics, Faults& faults, Leaks& leaks,
          Logger& logger);
  ~Service();

  // The log is attached once replay is done; until then data requests and
  // deep health checks answer 503.
  void AttachLog(TxLog* log);
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }

  uint64_t NextRequestId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

  // Serves one data request. Timers run on `ex`.
  void Handle(Request&& request, const boost::asio::any_io_executor& ex, Reply reply);

  // /healthz/shallow: the data directory takes a write. Empty when healthy,
  // else why not.
  std::string ShallowCheck() const;
  // /healthz/deep: a real put and get through the store and the log within
  // --deep-timeout. done(ok, why) runs on any thread.
  void DeepCheck(const boost::asio::any_io_executor& ex,
                 std::function<void(bool ok, std::string why)> done);

  // Applies an /admin/faults change; requests held by a stall that is now
  // off go on.
  bool PatchFaults(const nlohmann::json& patch, std::string* error);
  void ClearFaults();

  // Drain: refuse new requests (503), answer stalled ones (503), and report
  // whether every admitted request was answered before the deadline.
  void BeginDrain();
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) const;
  // At exit, after the I/O threads stopped: forget requests still waiting.
  void Abandon();

 private:
  struct Call;
  void Reject(Reply& reply, Response&& response);
  void Continue(std::shared_ptr<Call> call);  // after stall
  void AfterLatency(std::shared_ptr<Call> call);
  void AfterWorker(std::shared_ptr<Call> call);
  void Execute(std::shared_ptr<Call> call);
  void ExecuteInline(Request&& request, Reply reply);
  void ReleaseStalled(int status);
  // Runs the store operation; done(response) is called once.
  template <typename Done>
  void RunOp(const Request& request, Done&& done);
  void LogStart(const Request& request) const;

  const Config& config_;
  Store& store_;
  Metrics& metrics_;
  Faults& faults_;
  Leaks& leaks_;
  Logger& logger_;
  Throttle throttle_;
  WorkerPool workers_;
  std::atomic<TxLog*> log_{nullptr};
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> deep_seq_{0};
  mutable std::atomic<uint64_t> shallow_seq_{0};

  std::mutex stalled_mu_;
  std::vector<std::shared_ptr<Call>> stalled_;
};

}  // namespace kvd
