#include "policy/adaptive_throttle.h"

#include <algorithm>

namespace herd {

AdaptiveThrottle::AdaptiveThrottle(double k, Duration window) : k_(k), counts_(window) {}

double AdaptiveThrottle::RejectProbability(Duration now) {
  auto [requests, accepts] = counts_.Sums(now);
  return std::max(0.0, (requests - k_ * accepts) / (requests + 1));
}

bool AdaptiveThrottle::Allow(Duration now, Rng& rng) {
  const double p = RejectProbability(now);
  counts_.AddFirst(now);
  // No draw while nothing can be rejected: a healthy backend then leaves the
  // instance's random stream exactly as it would be without throttling.
  if (p <= 0) return true;
  return !(rng.Uniform() < p);
}

void AdaptiveThrottle::OnAccepted(Duration now) { counts_.AddSecond(now); }

}  // namespace herd
