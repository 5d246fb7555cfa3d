#include "service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

namespace kvd {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Per-thread generator for fault decisions: no shared state on the hot path.
std::minstd_rand& Rng() {
  thread_local std::minstd_rand rng(std::random_device{}());
  return rng;
}

double Uniform01() { return std::uniform_real_distribution<double>(0, 1)(Rng()); }

Response Plain(int status, std::string body, int retry_after_s = 0) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after_s = retry_after_s;
  if (retry_after_s > 0) r.pushback_ms = int64_t{retry_after_s} * 1000;
  return r;
}

}  // namespace

// An admitted request that has to wait for something (a fault, a worker, the
// log). Holds its task token, so kvd_tasks counts it until it is answered.
struct Service::Call {
  Call(Service& s, Request&& r, const asio::any_io_executor& e, Reply&& rep,
       std::shared_ptr<const FaultSet> f)
      : service(s), request(std::move(r)), ex(e), reply(std::move(rep)), faults(std::move(f)),
        token(&s.metrics_), timer(e) {}

  void Finish(Response&& response) {
    if (holds_worker) {
      holds_worker = false;
      service.workers_.Release();
    }
    service.metrics_.inflight.fetch_sub(1, std::memory_order_relaxed);
    Reply r = std::move(reply);
    r(std::move(response));
  }

  Service& service;
  Request request;
  asio::any_io_executor ex;
  Reply reply;
  std::shared_ptr<const FaultSet> faults;
  TaskToken token;
  asio::steady_timer timer;
  bool holds_worker = false;
};

Service::Service(const Config& config, Store& store, Metrics& metrics, Faults& faults,
                 Leaks& leaks, Logger& logger)
    : config_(config),
      store_(store),
      metrics_(metrics),
      faults_(faults),
      leaks_(leaks),
      logger_(logger),
      throttle_(config.throttle_rate, config.throttle_burst, config.throttle_clients),
      workers_(config.workers, metrics) {}

Service::~Service() = default;

void Service::AttachLog(TxLog* log) {
  log_.store(log, std::memory_order_release);
  ready_.store(log != nullptr, std::memory_order_release);
}

void Service::LogStart(const Request& r) const {
  logger_.Info("request start", {{"request_id", r.id},
                                 {"protocol", r.protocol == Protocol::kHttp ? "http" : "grpc"},
                                 {"method", MethodName(r.method)},
                                 {"key", r.key},
                                 {"client", r.client}});
}

void Service::Reject(Reply& reply, Response&& response) {
  Reply r = std::move(reply);
  r(std::move(response));
}

void Service::Handle(Request&& request, const asio::any_io_executor& ex, Reply reply) {
  if (config_.log_requests) {
    LogStart(request);
    reply = [this, inner = std::move(reply), id = request.id, start = request.start](
                Response&& resp) {
      logger_.Info("request end",
                   {{"request_id", id},
                    {"status", resp.status},
                    {"latency_ms", std::chrono::duration<double, std::milli>(Clock::now() - start)
                                       .count()}});
      inner(std::move(resp));
    };
  }
  if (draining()) return Reject(reply, Plain(503, "draining: shutting down\n", 1));
  if (!ready()) {
    return Reject(reply, Plain(503, "not ready: replaying the transaction log\n", 1));
  }
  if (request.key.empty()) return Reject(reply, Plain(400, "empty key\n"));
  if (request.key.size() > config_.max_key_bytes) {
    return Reject(reply,
                  Plain(400, fmt::format("key longer than {} bytes\n", config_.max_key_bytes)));
  }
  if (request.value.size() > config_.max_value_bytes) {
    return Reject(reply,
                  Plain(413, fmt::format("value larger than {} bytes\n", config_.max_value_bytes)));
  }
  if (throttle_.enabled()) {
    Throttle::Decision d = throttle_.Take(request.client, Clock::now());
    if (!d.allowed) {
      metrics_.throttled.fetch_add(1, std::memory_order_relaxed);
      Response r = Plain(429, "too many requests: client quota exceeded\n", d.retry_after_s);
      r.pushback_ms = d.retry_after_ms;
      return Reject(reply, std::move(r));
    }
  }
  int64_t before = metrics_.inflight.fetch_add(1, std::memory_order_relaxed);
  if (config_.max_inflight > 0 && before >= config_.max_inflight) {
    metrics_.inflight.fetch_sub(1, std::memory_order_relaxed);
    metrics_.shed.fetch_add(1, std::memory_order_relaxed);
    return Reject(reply, Plain(503, "overloaded: load shed\n", 1));
  }

  std::shared_ptr<const FaultSet> faults = faults_.ForRequest();
  if (!faults && config_.workers == 0) return ExecuteInline(std::move(request), std::move(reply));

  auto call = std::make_shared<Call>(*this, std::move(request), ex, std::move(reply),
                                     std::move(faults));
  if (call->faults && call->faults->stall) {
    metrics_.stalled.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(stalled_mu_);
    stalled_.push_back(std::move(call));
    return;
  }
  Continue(std::move(call));
}

void Service::Continue(std::shared_ptr<Call> call) {
  const FaultSet* f = call->faults.get();
  if (f && f->leak != LeakMode::kNone) leaks_.Leak(f->leak);
  if (f && f->latency_max.count() > 0) {
    auto span = (f->latency_max - f->latency_min).count();
    auto delay = f->latency_min + std::chrono::nanoseconds(static_cast<int64_t>(
                                      static_cast<double>(span) * Uniform01()));
    call->timer.expires_after(delay);
    call->timer.async_wait([this, call](const boost::system::error_code&) { AfterLatency(call); });
    return;
  }
  AfterLatency(std::move(call));
}

void Service::AfterLatency(std::shared_ptr<Call> call) {
  const FaultSet* f = call->faults.get();
  if (f && f->error_rate > 0 && Uniform01() < f->error_rate) {
    return call->Finish(Plain(f->error_status, "injected fault\n"));
  }
  if (config_.workers > 0) {
    asio::any_io_executor ex = call->ex;
    workers_.Acquire(ex, [this, call]() mutable {
      call->holds_worker = true;
      AfterWorker(std::move(call));
    });
    return;
  }
  AfterWorker(std::move(call));
}

void Service::AfterWorker(std::shared_ptr<Call> call) {
  const FaultSet* f = call->faults.get();
  if (f && f->service_time.count() > 0) {
    call->timer.expires_after(f->service_time);
    call->timer.async_wait([this, call](const boost::system::error_code&) { Execute(call); });
    return;
  }
  Execute(std::move(call));
}

template <typename Done>
void Service::RunOp(const Request& request, Done&& done) {
  TxLog* log = log_.load(std::memory_order_acquire);
  switch (request.method) {
    case Method::kGet: {
      Response r;
      if (store_.Get(request.key, &r.body)) {
        r.status = 200;
      } else {
        r.status = 404;
        r.body = "no such key\n";
      }
      done(std::move(r));
      return;
    }
    case Method::kPut:
    case Method::kDelete: {
      const bool put = request.method == Method::kPut;
      auto logged = [done = std::forward<Done>(done), put](bool ok) mutable {
        if (!ok) return done(Plain(500, "transaction log write failed\n"));
        done(put ? Plain(201, "") : Plain(200, ""));
      };
      if (put) {
        store_.Put(request.key, request.value, [&] {
          log->Append(LogOp::kPut, request.key, request.value, std::move(logged));
        });
      } else {
        store_.Delete(request.key, [&] {
          log->Append(LogOp::kDelete, request.key, {}, std::move(logged));
        });
      }
      return;
    }
    case Method::kOther:
      done(Plain(405, "method not allowed\n"));
      return;
  }
}

void Service::Execute(std::shared_ptr<Call> call) {
  RunOp(call->request, [call](Response&& r) { call->Finish(std::move(r)); });
}

void Service::ExecuteInline(Request&& request, Reply reply) {
  // The common case: no fault, no worker limit. Nothing waits except,
  // perhaps, the log; only then does the request need state on the heap.
  struct Inline {
    Service* service;
    Reply reply;
    std::shared_ptr<TaskToken> token;
    void operator()(Response&& r) {
      service->metrics_.inflight.fetch_sub(1, std::memory_order_relaxed);
      Reply rep = std::move(reply);
      rep(std::move(r));
    }
  };
  if (request.method == Method::kGet) {
    TaskToken token(&metrics_);
    RunOp(request, Inline{this, std::move(reply), nullptr});
    return;
  }
  RunOp(request, Inline{this, std::move(reply), std::make_shared<TaskToken>(&metrics_)});
}

std::string Service::ShallowCheck() const {
  std::string path =
      fmt::format("{}/.healthz-{}-{}", config_.data_dir, getpid(), shallow_seq_.fetch_add(1));
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fmt::format("cannot create a file in {}: {}", config_.data_dir, strerror(errno));
  bool wrote = ::write(fd, "ok", 2) == 2;
  int saved = errno;
  ::close(fd);
  ::unlink(path.c_str());
  if (!wrote) return fmt::format("cannot write in {}: {}", config_.data_dir, strerror(saved));
  return {};
}

void Service::DeepCheck(const asio::any_io_executor& ex,
                        std::function<void(bool ok, std::string why)> done) {
  if (faults_.Current().deep_dependency_down) return done(false, "deep dependency down");
  TxLog* log = log_.load(std::memory_order_acquire);
  if (!log || !ready()) return done(false, "not ready: replaying the transaction log");

  // Whichever comes first, the log's answer or the timeout, decides.
  struct State {
    explicit State(const asio::any_io_executor& e) : timer(e) {}
    std::atomic<bool> decided{false};
    asio::steady_timer timer;
    std::function<void(bool, std::string)> done;
    void Decide(bool ok, std::string why) {
      if (decided.exchange(true)) return;
      timer.cancel();
      auto d = std::move(done);
      d(ok, std::move(why));
    }
  };
  auto state = std::make_shared<State>(ex);
  state->done = std::move(done);
  state->timer.expires_after(config_.deep_timeout);
  state->timer.async_wait([state](const boost::system::error_code& ec) {
    if (!ec) state->Decide(false, "deep check timed out");
  });
  const std::string key = "__kvd_deep_health__";
  const std::string value = std::to_string(deep_seq_.fetch_add(1));
  store_.Put(key, value, [&] {
    log->Append(LogOp::kPut, key, value, [this, state, key, value](bool ok) {
      // With --fsync never the log answers at once, inside Put, while the
      // key's shard is locked for writing: reading the key back here would
      // lock it again (std::shared_mutex throws EDEADLK, and kvd died).
      // So the read-back runs after, on the check's executor.
      asio::post(state->timer.get_executor(), [this, state, key, ok] {
        if (!ok) return state->Decide(false, "transaction log write failed");
        std::string got;
        if (!store_.Get(key, &got)) return state->Decide(false, "written key not found");
        // A newer check may have overwritten it; any value we wrote is fine.
        state->Decide(true, {});
      });
    });
  });
}

bool Service::PatchFaults(const nlohmann::json& patch, std::string* error) {
  if (!faults_.Patch(patch, error)) return false;
  if (!faults_.Current().stall) ReleaseStalled(0);
  return true;
}

void Service::ClearFaults() {
  faults_.Clear();
  ReleaseStalled(0);
}

void Service::ReleaseStalled(int status) {
  std::vector<std::shared_ptr<Call>> calls;
  {
    std::lock_guard lock(stalled_mu_);
    calls.swap(stalled_);
  }
  for (auto& call : calls) {
    if (status != 0) {
      call->Finish(Plain(status, "draining: shutting down\n", 1));
    } else {
      // Back on the request's own executor, as if the stall had just ended.
      asio::post(call->ex, [this, call]() mutable { Continue(std::move(call)); });
    }
  }
}

void Service::BeginDrain() {
  draining_.store(true, std::memory_order_release);
  ReleaseStalled(503);
}

void Service::Abandon() {
  workers_.Clear();
  std::lock_guard lock(stalled_mu_);
  stalled_.clear();
}

bool Service::WaitIdle(Clock::time_point deadline) const {
  while (metrics_.inflight.load() > 0) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace kvd
