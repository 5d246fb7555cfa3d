#include "config.h"

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/duration.h"
#include "herd/version.h"

namespace kvd {

namespace {

// CLI11 validator for durations, so a bad one is reported like any flag.
struct DurationValidator : public CLI::Validator {
  DurationValidator() {
    name_ = "DURATION";
    func_ = [](std::string& text) -> std::string {
      herd::Duration d;
      std::string error;
      return herd::ParseDuration(text, &d, &error) ? std::string() : error;
    };
  }
};

herd::Duration ToDuration(const std::string& text) {
  herd::Duration d{};
  std::string error;
  herd::ParseDuration(text, &d, &error);  // already validated
  return d;
}

}  // namespace

int ParseConfig(int argc, char** argv, Config* c, bool* exit_now) {
  *exit_now = false;
  CLI::App app{
      "kvd: the key-value store of Cloud Native Go, ported to C++ and built to be hammered.\n"
      "REST: GET|PUT|DELETE /v1/{key}; gRPC: keyvalue.KeyValue. Every flag can also be set\n"
      "by an environment variable, shown as (Env:KVD_...)."};
  app.set_help_flag("-h,--help", "print this help and exit");
  app.get_formatter()->column_width(34);

  bool version = false;
  std::string fsync = "always", sync_interval = "10ms", drain = "10s", idle = "60s",
              deep = "1s", service_time, faults_json;
  const DurationValidator duration;

  app.add_flag("--version", version, "print version, git revision and build date, and exit");
  app.add_option("--http", c->http, "REST address host:port, port 0 for any free port; \"off\" disables")
      ->envname("KVD_HTTP")->capture_default_str();
  app.add_option("--grpc", c->grpc, "gRPC address host:port, port 0 for any free port; \"off\" disables")
      ->envname("KVD_GRPC")->capture_default_str();
  app.add_option("--threads", c->threads, "I/O threads; 0 = one per core")
      ->envname("KVD_THREADS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--data-dir", c->data_dir, "directory of the transaction log")
      ->envname("KVD_DATA_DIR")->capture_default_str();
  app.add_option("--fsync", fsync,
                 "always: fsync each write before acknowledging it; interval: write before "
                 "acknowledging, fsync every --sync-interval; never: acknowledge at once, a "
                 "background writer writes every --sync-interval (a crash loses that buffer)")
      ->envname("KVD_FSYNC")->check(CLI::IsMember({"always", "interval", "never"}))
      ->capture_default_str();
  app.add_option("--sync-interval", sync_interval, "period of fsync (interval) or of writes (never)")
      ->envname("KVD_SYNC_INTERVAL")->check(duration)->capture_default_str();
  app.add_option("--compact-bytes", c->compact_bytes,
                 "compact the log once it passes this size (and twice the last snapshot)")
      ->envname("KVD_COMPACT_BYTES")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--workers", c->workers,
                 "requests are served by N workers from one FIFO queue; 0 = no limit")
      ->envname("KVD_WORKERS")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--service-time", service_time,
                 "each data request holds its worker this long (capacity = workers / service time)")
      ->envname("KVD_SERVICE_TIME")->check(duration);
  app.add_option("--throttle-rate", c->throttle_rate,
                 "per-client token bucket refill, tokens per second; 0 = no throttle")
      ->envname("KVD_THROTTLE_RATE")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--throttle-burst", c->throttle_burst, "per-client bucket size; 0 = max(1, rate)")
      ->envname("KVD_THROTTLE_BURST")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--throttle-clients", c->throttle_clients,
                 "most client buckets kept (least recently seen are forgotten)")
      ->envname("KVD_THROTTLE_CLIENTS")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-inflight", c->max_inflight,
                 "shed (503) data requests beyond this many queued or in service; 0 = never")
      ->envname("KVD_MAX_INFLIGHT")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--drain-timeout", drain, "on SIGTERM, how long to wait for in-flight requests")
      ->envname("KVD_DRAIN_TIMEOUT")->check(duration)->capture_default_str();
  app.add_option("--idle-timeout", idle,
                 "close a connection that sends nothing (or half a request) for this long")
      ->envname("KVD_IDLE_TIMEOUT")->check(duration)->capture_default_str();
  app.add_option("--deep-timeout", deep, "time limit of the /healthz/deep write and read")
      ->envname("KVD_DEEP_TIMEOUT")->check(duration)->capture_default_str();
  app.add_option("--max-key-bytes", c->max_key_bytes, "longest key (longer: 400)")
      ->envname("KVD_MAX_KEY_BYTES")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-value-bytes", c->max_value_bytes, "largest value (larger: 413)")
      ->envname("KVD_MAX_VALUE_BYTES")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-header-bytes", c->max_header_bytes, "largest request head (larger: 431)")
      ->envname("KVD_MAX_HEADER_BYTES")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--admin-token", c->admin_token,
                 "enable /admin/faults for loopback clients sending Authorization: Bearer TOKEN")
      ->envname("KVD_ADMIN_TOKEN");
  app.add_option("--faults", faults_json,
                 "faults on from the start, as PUT /admin/faults takes them, e.g. "
                 "'{\"latency\":\"0ms-198ms\",\"error_rate\":1,\"error_status\":503}'")
      ->envname("KVD_FAULTS");
  app.add_flag("--log-requests", c->log_requests, "log each request's start and end with its id")
      ->envname("KVD_LOG_REQUESTS");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_now = true;
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (version) {
    std::printf("kvd %s (revision %s, built %s)\n", herd::build::kVersion, herd::build::kRevision,
                herd::build::kDate);
    *exit_now = true;
    return 0;
  }
  ParseSyncMode(fsync, &c->fsync);
  c->sync_interval = ToDuration(sync_interval);
  c->drain_timeout = ToDuration(drain);
  c->idle_timeout = ToDuration(idle);
  c->deep_timeout = ToDuration(deep);
  if (c->sync_interval.count() <= 0) c->sync_interval = std::chrono::milliseconds(10);
  if (!faults_json.empty()) {
    auto patch = nlohmann::json::parse(faults_json, nullptr, false);
    std::string error;
    if (patch.is_discarded()) {
      std::fprintf(stderr, "kvd: --faults: not valid JSON: %s\n", faults_json.c_str());
      *exit_now = true;
      return 2;
    }
    if (!ApplyFaultPatch(patch, &c->faults, &error)) {
      std::fprintf(stderr, "kvd: --faults: %s\n", error.c_str());
      *exit_now = true;
      return 2;
    }
  }
  if (!service_time.empty()) c->faults.service_time = ToDuration(service_time);
  return 0;
}

}  // namespace kvd
