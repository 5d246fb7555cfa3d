#include "server.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "connections.h"
#include "context.h"
#include "grpc_server.h"
#include "herd/version.h"
#include "http_server.h"
#include "leaks.h"
#include "logger.h"
#include "metrics.h"
#include "service.h"
#include "store.h"
#include "txlog.h"

namespace kvd {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// One io_context and one thread: connections on it need no locks.
struct IoThread {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
  std::thread thread;
  void Start() {
    thread = std::thread([this] { ioc.run(); });
  }
  void Stop() {
    guard.reset();
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
};

class Kvd final : public Context {
 public:
  explicit Kvd(const Config& config)
      : config_(config),
        faults_(config.faults),
        leaks_(aux_.ioc, metrics_),
        service_(config_, store_, metrics_, faults_, leaks_, logger_),
        started_(std::chrono::system_clock::now()),
        started_steady_(Clock::now()) {}

  const Config& config() const override { return config_; }
  Service& service() override { return service_; }
  Metrics& metrics() override { return metrics_; }
  Faults& faults() override { return faults_; }
  Connections& connections() override { return connections_; }
  Logger& logger() override { return logger_; }

  std::string MetricsText() override {
    TxLog* log = log_.get();
    std::vector<Gauge> extra = {
        {"kvd_keys", "Keys in the store.", static_cast<double>(store_.size())},
        {"kvd_log_bytes", "Size of the transaction log file, in bytes.",
         log ? static_cast<double>(log->bytes()) : 0},
        {"kvd_log_records", "Records in the transaction log file.",
         log ? static_cast<double>(log->records()) : 0},
        {"kvd_log_compactions", "Times the transaction log was compacted since start.",
         log ? static_cast<double>(log->compactions()) : 0},
        {"kvd_threads", "Threads in the kvd process.", static_cast<double>(ProcessThreads())},
        {"kvd_open_fds", "Open file descriptors of the kvd process.",
         static_cast<double>(ProcessOpenFds())},
        {"kvd_ready", "1 when serving data requests, 0 while replaying or draining.",
         service_.ready() && !service_.draining() ? 1.0 : 0.0},
        {"kvd_uptime_seconds", "Seconds since kvd started.",
         std::chrono::duration<double>(Clock::now() - started_steady_).count()},
    };
    return metrics_.Render(extra);
  }

  nlohmann::json Info() override {
    return {{"name", "kvd"},
            {"version", herd::build::kVersion},
            {"revision", herd::build::kRevision},
            {"build_date", herd::build::kDate},
            {"pid", getpid()},
            {"start_time", fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                                       std::chrono::floor<std::chrono::seconds>(started_))},
            {"uptime_s", std::chrono::duration<double>(Clock::now() - started_steady_).count()},
            {"http", http_address_},
            {"grpc", grpc_address_},
            {"data_dir", config_.data_dir},
            {"fsync", SyncModeName(config_.fsync)},
            {"workers", config_.workers},
            {"max_inflight", config_.max_inflight},
            {"throttle_rate", config_.throttle_rate},
            {"faults", faults_.Current().ToJson()}};
  }

  int Run();

 private:
  int Serve();
  bool Drain();

  const Config& config_;
  Logger logger_;
  Metrics metrics_;
  Store store_;
  Faults faults_;
  Connections connections_;
  IoThread aux_;  // timers for gRPC requests, leaks, signals
  Leaks leaks_;
  Service service_;
  std::unique_ptr<TxLog> log_;
  std::vector<std::unique_ptr<IoThread>> io_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<GrpcServer> grpc_;
  std::string http_address_;
  std::string grpc_address_;
  const std::chrono::system_clock::time_point started_;
  const Clock::time_point started_steady_;
};

int Kvd::Run() {
  int rc = Serve();
  // Threads first (no handler runs past here), then the frontends they used.
  for (auto& t : io_) t->Stop();
  aux_.Stop();
  http_.reset();
  if (log_) log_->Close();
  // Requests a timed-out drain left waiting hold timers on the I/O threads'
  // contexts; drop them before those contexts go.
  service_.Abandon();
  return rc;
}

int Kvd::Serve() {
  std::error_code fs_error;
  std::filesystem::create_directories(config_.data_dir, fs_error);
  if (fs_error) {
    logger_.Error("cannot create the data directory",
                  {{"data_dir", config_.data_dir}, {"error", fs_error.message()}});
    return 1;
  }

  int threads = config_.threads > 0 ? config_.threads
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) io_.push_back(std::make_unique<IoThread>());

  // Listen before replaying, so a launcher learns the ports at once and
  // watches /readyz turn 200 when the data is back.
  if (config_.http != "off") {
    http_ = std::make_unique<HttpServer>(*this);
    std::string error;
    if (!http_->Listen(io_[0]->ioc, config_.http, &error)) {
      logger_.Error("cannot start the HTTP frontend", {{"error", error}});
      return 1;
    }
    http_address_ = fmt::format("{}:{}", http_->endpoint().address().to_string(),
                                http_->endpoint().port());
    leaks_.SetSelf(http_->endpoint());
  }
  if (config_.grpc != "off") {
    grpc_ = std::make_unique<GrpcServer>(*this, aux_.ioc.get_executor());
    std::string error;
    if (!grpc_->Start(config_.grpc, &error)) {
      logger_.Error("cannot start the gRPC frontend", {{"error", error}});
      return 1;
    }
    grpc_address_ = grpc_->address();
    if (!http_) {
      asio::ip::tcp::endpoint ep;
      if (ParseEndpoint(grpc_address_, &ep, &error)) leaks_.SetSelf(ep);
    }
  }
  if (!http_ && !grpc_) {
    logger_.Error("both frontends are off: give --http or --grpc an address");
    return 1;
  }

  asio::signal_set signals(aux_.ioc, SIGTERM, SIGINT);
  std::promise<int> stop;
  auto stopped = stop.get_future();
  signals.async_wait([&stop](const boost::system::error_code& ec, int sig) {
    if (!ec) stop.set_value(sig);
  });

  aux_.Start();
  for (auto& t : io_) t->Start();
  if (http_) {
    std::vector<asio::io_context*> contexts;
    for (auto& t : io_) contexts.push_back(&t->ioc);
    http_->Start(contexts);
  }

  nlohmann::json ready = {{"http", http_ ? nlohmann::json(http_address_) : nlohmann::json(nullptr)},
                          {"grpc", grpc_ ? nlohmann::json(grpc_address_) : nlohmann::json(nullptr)},
                          {"pid", getpid()}};
  std::fputs((ready.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
  logger_.Info("listening", ready);

  // Replay the transaction log into the store.
  auto replay_start = Clock::now();
  TxLog::Options options;
  options.dir = config_.data_dir;
  options.sync = config_.fsync;
  options.interval = std::chrono::duration_cast<std::chrono::milliseconds>(config_.sync_interval);
  options.compact_min_bytes = config_.compact_bytes;
  ReplayStats stats;
  std::string error;
  log_ = TxLog::Open(
      options,
      [this](const LogRecord& r) {
        if (r.op == LogOp::kPut) store_.Put(r.key, r.value);
        else store_.Delete(r.key);
      },
      &stats, &error);
  if (!log_) {
    logger_.Error("cannot open the transaction log", {{"error", error}});
    signals.cancel();
    return 1;
  }
  if (!stats.warning.empty()) {
    logger_.Warn("transaction log tail cut", {{"warning", stats.warning}, {"cut_bytes", stats.cut_bytes}});
  }
  log_->SetSnapshotSource([this](const auto& sink) { store_.ForEach(sink); });
  service_.AttachLog(log_.get());
  logger_.Info("ready", {{"replayed_records", stats.records},
                         {"keys", store_.size()},
                         {"replay_ms", std::chrono::duration<double, std::milli>(Clock::now() - replay_start).count()},
                         {"fsync", SyncModeName(config_.fsync)}});

  int sig = stopped.get();
  logger_.Info("draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                            {"inflight", metrics_.inflight.load()},
                            {"connections", connections_.size()}});
  return Drain() ? 0 : 1;
}

bool Kvd::Drain() {
  auto deadline = Clock::now() + config_.drain_timeout;
  auto wall_deadline = std::chrono::system_clock::now() + config_.drain_timeout;
  service_.BeginDrain();
  if (grpc_) grpc_->SetServing(false);
  if (http_) http_->StopAccepting();
  connections_.ShutdownAll();
  std::thread grpc_stop;
  if (grpc_) grpc_stop = std::thread([this, wall_deadline] { grpc_->Shutdown(wall_deadline); });

  bool idle = service_.WaitIdle(deadline);
  // Answers in flight still have to reach their sockets.
  while (connections_.size() > 0 && Clock::now() < deadline) {
    connections_.ShutdownAll();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (grpc_stop.joinable()) grpc_stop.join();
  log_->Flush();
  if (!idle) {
    logger_.Warn("drain timed out with requests unanswered",
                 {{"inflight", metrics_.inflight.load()}});
    return false;
  }
  logger_.Info("drained", {{"log_records", log_->records()}});
  return true;
}

}  // namespace

int RunServer(const Config& config) {
  // A client that hangs up must not kill kvd through SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  Kvd kvd(config);
  return kvd.Run();
}

}  // namespace kvd
