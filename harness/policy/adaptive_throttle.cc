#include "policy/adaptive_throttle.h"

#include <algorithm>

namespace herd {

AdaptiveThrottle::AdaptiveThrottle(double k, Duration window)
    : k_(k), window_(window), slot_width_(std::max(Duration(1), window_ / kSlots)) {}

void AdaptiveThrottle::Advance(Duration now) {
  const int64_t slot = now.count() / slot_width_.count();
  // Time should not go backwards; if it does, count into the newest slot
  // rather than rewriting history.
  if (slot <= head_slot_) return;
  if (slot - head_slot_ >= kSlots) {
    requests_.fill(0);
    accepts_.fill(0);
  } else {
    for (int64_t s = head_slot_ + 1; s <= slot; ++s) {
      requests_[s % kSlots] = 0;
      accepts_[s % kSlots] = 0;
    }
  }
  head_slot_ = slot;
}

double AdaptiveThrottle::RejectProbability(Duration now) {
  Advance(now);
  double requests = 0, accepts = 0;
  for (int i = 0; i < kSlots; ++i) {
    requests += requests_[i];
    accepts += accepts_[i];
  }
  return std::max(0.0, (requests - k_ * accepts) / (requests + 1));
}

bool AdaptiveThrottle::Allow(Duration now, Rng& rng) {
  const double p = RejectProbability(now);
  ++requests_[head_slot_ % kSlots];
  // No draw while nothing can be rejected: a healthy backend then leaves the
  // instance's random stream exactly as it would be without throttling.
  if (p <= 0) return true;
  return !(rng.Uniform() < p);
}

void AdaptiveThrottle::OnAccepted(Duration now) {
  Advance(now);
  ++accepts_[head_slot_ % kSlots];
}

}  // namespace herd
