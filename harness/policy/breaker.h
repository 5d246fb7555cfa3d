// Circuit breaker (CNG ch. 9): opens after `failures` consecutive failed
// attempts and fails fast while open; after `open_for` it is half-open and
// lets `half_open_probes` attempts through; a success closes it, a failure
// opens it again for another `open_for`. Rejected attempts are not sent and
// are counted (breaker_rejected).
#pragma once

#include <cstdint>

#include "common/duration.h"

namespace herd {

class Breaker {
 public:
  enum class State : uint8_t { kClosed, kOpen, kHalfOpen };

  Breaker(int failures, Duration open_for, int half_open_probes);

  // May an attempt be sent at `now`? In half-open, each true uses a probe.
  bool Allow(Duration now);
  void OnSuccess(Duration now);
  void OnFailure(Duration now);
  State state(Duration now) const;

 private:
  int failures_to_open_;
  Duration open_for_;
  int half_open_probes_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  int probes_in_flight_ = 0;
  Duration opened_at_{};
};

}  // namespace herd
