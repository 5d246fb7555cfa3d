// Proxy is herd's fault proxy: a TCP proxy from one listening address to one
// upstream, with faults that can be added and removed while connections are
// open. herd puts one in front of each replica when a scenario has proxy or
// HTTP faults; `herd proxy` runs one standalone.
//
// TCP faults ("toxics") follow Toxiproxy's semantics. Each has a direction
// (up = client to upstream, down = upstream to client, or both) and a
// toxicity: the chance that a given connection is affected, decided once per
// connection and fault (so a keep-alive connection is all or nothing, as in
// Toxiproxy). A fault added while connections are open applies to them too.
//   latency     each chunk of data waits latency +- U[0, jitter) before it is
//               forwarded; order is kept.
//   bandwidth   at most kbps kilobits per second (125 bytes/s per unit).
//   reset       the connection is reset (RST to both peers) `after` once the
//               fault applies to it, or once `bytes` have passed in its
//               direction; with neither, on the first data.
//   blackhole   data is swallowed, never forwarded: the peer waits forever.
//   slow_close  when one side closes, the close reaches the other side only
//               `delay` later.
//   slicer      chunks are cut into slices of average_size +- size_variation
//               bytes, `delay` apart.
//   limit_data  the connection is closed once `bytes` have passed.
// And one proxy-wide state, set with SetDown: `down` stops listening (new
// connections are refused: the client sees ECONNREFUSED) and cuts every open
// connection; SetDown(false) listens again on the same address.
//
// HTTP faults are decided per request, so they work on keep-alive
// connections (Toxiproxy and Chaos Mesh decide per connection). The proxy
// finds request boundaries in the up direction with an HTTP/1.1 parser (only
// while an HTTP fault is installed; otherwise it copies bytes). For each
// request, each HTTP fault fires with its probability:
//   http_error  the request is not forwarded; after a latency drawn from
//               [latency_lo, latency_hi) the client gets `status` with an
//               empty body (and "Connection: keep-alive").
//   http_delay  the request is forwarded after a delay: fixed (lo == hi),
//               uniform in [lo, hi), or normal(mean, stddev) clipped at 0.
// Requests are assumed not pipelined (herd's and curl's clients do not).
//
// Threads: a Proxy runs on its own thread (one io_context), so a busy
// engine loop does not add to the latency it forwards. Every public method
// is thread-safe; changes reach open connections within a millisecond.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/duration.h"

namespace herd {

struct ProxyFault {
  enum class Kind {
    kLatency, kBandwidth, kReset, kBlackhole, kSlowClose, kSlicer, kLimitData,  // TCP
    kHttpError, kHttpDelay,                                                       // HTTP
  };
  enum class Direction { kUp, kDown, kBoth };

  Kind kind = Kind::kLatency;
  Direction direction = Direction::kDown;
  double toxicity = 1.0;           // TCP: share of connections affected
  uint64_t seed = 1;               // draws (toxicity, jitter, probability) are reproducible

  Duration latency{};              // latency
  Duration jitter{};               // latency
  double kbps = 0;                 // bandwidth
  Duration after{};                // reset (0 with bytes == 0: on first data)
  int64_t bytes = 0;               // reset, limit_data
  Duration delay{};                // slow_close; slicer (between slices)
  int64_t average_size = 0;        // slicer
  int64_t size_variation = 0;      // slicer

  int status = 503;                // http_error
  double probability = 1.0;        // http_error, http_delay: share of requests
  Duration latency_lo{}, latency_hi{};  // http_error, http_delay (uniform; equal = fixed)
  bool normal = false;             // http_delay: normal(mean, stddev) instead
  Duration mean{}, stddev{};       // http_delay when normal

  bool is_http() const { return kind == Kind::kHttpError || kind == Kind::kHttpDelay; }
};

// "latency", "bandwidth", ... "http_delay"; false for other names.
bool ParseProxyFaultKind(const std::string& name, ProxyFault::Kind* kind);
const char* ProxyFaultKindName(ProxyFault::Kind kind);

struct ProxyStats {
  uint64_t accepted = 0;        // connections accepted
  uint64_t refused_upstream = 0;  // upstream connect failed (client connection closed)
  uint64_t open = 0;            // open now
  uint64_t bytes_up = 0, bytes_down = 0;
  uint64_t http_requests = 0;   // requests seen while parsing (HTTP faults installed)
  uint64_t http_errors = 0;     // answered by http_error
  uint64_t http_delayed = 0;
};

class Proxy {
 public:
  // listen: "127.0.0.1:0" picks a free port; upstream: "host:port".
  Proxy(std::string listen, std::string upstream);
  ~Proxy();  // stops the thread, closes every connection
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds, then starts the thread. False with *error ("127.0.0.1:80:
  // permission denied") when the address cannot be bound or parsed.
  bool Start(std::string* error);
  // The bound address, "127.0.0.1:40123" (valid after Start).
  std::string address() const;

  // Adds a fault; returns its id (> 0). Removing an unknown id does nothing.
  uint64_t Add(const ProxyFault& fault);
  void Remove(uint64_t id);
  void Clear();  // every fault and down

  // down: refuse new connections and cut open ones; false: listen again.
  // Counted, so overlapping downs compose: the proxy is up when every
  // SetDown(true) has had its SetDown(false).
  void SetDown(bool down);

  // A new upstream for new connections (open ones keep theirs).
  void SetUpstream(std::string upstream);

  ProxyStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd
