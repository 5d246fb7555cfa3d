// Throttle is kvd's per-client quota: one token bucket per client (the
// X-Client-Id header, gRPC metadata x-client-id, or else the peer address),
// refilled on demand as in Cloud Native Go's Throttle. The book leaves two
// things for production and kvd does both: it is safe for concurrent use
// (the table is sharded, one lock per shard), and it is bounded by an LRU, so
// a million distinct client ids cost at most `max_clients` buckets.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kvd {

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Decision {
    bool allowed = true;
    // When not allowed: whole seconds until a token is back (>= 1), for
    // Retry-After; and the same in milliseconds for grpc-retry-pushback-ms.
    int retry_after_s = 0;
    int64_t retry_after_ms = 0;
  };

  // rate tokens per second, up to burst tokens; rate <= 0 disables.
  Throttle(double rate, double burst, size_t max_clients);

  bool enabled() const { return rate_ > 0; }

  // Takes a token from client's bucket if there is one. A new client starts
  // with a full bucket.
  Decision Take(std::string_view client, Clock::time_point now);

  size_t clients() const;  // buckets held now (<= max_clients)

 private:
  struct Bucket {
    std::string client;
    double tokens;
    Clock::time_point last;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mu;
    std::list<Bucket> lru;  // most recently used first
    std::unordered_map<std::string_view, std::list<Bucket>::iterator, Hash, std::equal_to<>> index;
  };
  static constexpr size_t kShards = 16;

  const double rate_;
  const double burst_;
  const size_t per_shard_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace kvd
