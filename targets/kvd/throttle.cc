#include "throttle.h"

#include <algorithm>
#include <cmath>

namespace kvd {

Throttle::Throttle(double rate, double burst, size_t max_clients)
    : rate_(rate),
      burst_(burst > 0 ? burst : std::max(1.0, rate)),
      per_shard_(std::max<size_t>(1, max_clients / kShards)) {
  for (size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
}

Throttle::Decision Throttle::Take(std::string_view client, Clock::time_point now) {
  Decision d;
  if (rate_ <= 0) return d;
  Shard& s = *shards_[std::hash<std::string_view>{}(client) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.index.find(client);
  Bucket* b;
  if (it == s.index.end()) {
    if (s.lru.size() >= per_shard_) {
      // Forget the least recently seen client; if it comes back it starts
      // full again, which is the price of a bounded table.
      s.index.erase(s.lru.back().client);
      s.lru.pop_back();
    }
    s.lru.push_front(Bucket{std::string(client), burst_, now});
    s.index.emplace(s.lru.front().client, s.lru.begin());
    b = &s.lru.front();
  } else {
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    b = &*it->second;
    double elapsed = std::chrono::duration<double>(now - b->last).count();
    if (elapsed > 0) {
      b->tokens = std::min(burst_, b->tokens + elapsed * rate_);
      b->last = now;
    }
  }
  if (b->tokens >= 1) {
    b->tokens -= 1;
    return d;
  }
  d.allowed = false;
  double wait_s = (1 - b->tokens) / rate_;
  d.retry_after_ms = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s * 1000)));
  d.retry_after_s = std::max(1, static_cast<int>(std::ceil(wait_s)));
  return d;
}

size_t Throttle::clients() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->lru.size();
  }
  return n;
}

}  // namespace kvd
