// Config is everything kvd can be told at start. Every flag can also come
// from an environment variable (--http from KVD_HTTP, --max-inflight from
// KVD_MAX_INFLIGHT, ...), as Cloud Native Go's chapter 10 recommends; a flag
// given on the command line wins over the environment.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "faults.h"
#include "txlog.h"

namespace kvd {

using Duration = std::chrono::nanoseconds;

struct Config {
  std::string http = "127.0.0.1:8080";  // "off" disables the REST frontend
  std::string grpc = "off";             // e.g. "127.0.0.1:50051"; port 0 picks one
  int threads = 0;                      // I/O threads; 0 = one per core

  std::string data_dir = "kvd-data";
  SyncMode fsync = SyncMode::kAlways;
  Duration sync_interval = std::chrono::milliseconds(10);
  uint64_t compact_bytes = 64ull << 20;

  int workers = 0;  // 0 = no worker limit (each request served at once)

  double throttle_rate = 0;     // tokens per second per client; 0 = off
  double throttle_burst = 0;    // bucket size; 0 = max(1, rate)
  size_t throttle_clients = 100000;  // LRU bound on the bucket table

  int64_t max_inflight = 0;  // 0 = never shed

  Duration drain_timeout = std::chrono::seconds(10);
  Duration idle_timeout = std::chrono::seconds(60);
  Duration deep_timeout = std::chrono::seconds(1);

  size_t max_key_bytes = 1024;
  size_t max_value_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;

  std::string admin_token;  // empty = /admin/* disabled
  FaultSet faults;          // faults active from the start

  bool log_requests = false;
};

// Parses argv and the KVD_* environment. Returns 0 with *config filled, or
// the exit code to leave with (0 after --help/--version, 2 on bad input,
// having printed why).
int ParseConfig(int argc, char** argv, Config* config, bool* exit_now);

}  // namespace kvd
