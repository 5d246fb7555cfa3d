#include "policy/breaker.h"

namespace herd {

Breaker::Breaker(int failures, Duration open_for, int half_open_probes)
    : failures_to_open_(failures), open_for_(open_for), half_open_probes_(half_open_probes) {}

Breaker::State Breaker::state(Duration now) const {
  // Half-open is a matter of time, not of a call: reports and the other
  // methods must agree on it even if no attempt came along to notice.
  if (state_ == State::kOpen && now >= opened_at_ + open_for_) return State::kHalfOpen;
  return state_;
}

bool Breaker::Allow(Duration now) {
  if (state_ == State::kOpen && state(now) == State::kHalfOpen) {
    state_ = State::kHalfOpen;
    probes_in_flight_ = 0;
  }
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      if (probes_in_flight_ >= half_open_probes_) return false;
      ++probes_in_flight_;
      return true;
  }
  return false;
}

void Breaker::OnSuccess(Duration now) {
  switch (state(now)) {
    case State::kClosed:
      consecutive_failures_ = 0;
      break;
    case State::kOpen:
      // An answer to an attempt sent before the breaker opened: the open
      // period is a promise to the backend, so it runs its course.
      break;
    case State::kHalfOpen:
      state_ = State::kClosed;
      consecutive_failures_ = 0;
      probes_in_flight_ = 0;
      break;
  }
}

void Breaker::OnFailure(Duration now) {
  switch (state(now)) {
    case State::kClosed:
      if (++consecutive_failures_ >= failures_to_open_) {
        state_ = State::kOpen;
        opened_at_ = now;
      }
      break;
    case State::kOpen:
      // A late failure from before the breaker opened: it must not extend
      // the open period, or a burst of stragglers would keep it open.
      break;
    case State::kHalfOpen:
      state_ = State::kOpen;
      opened_at_ = now;
      probes_in_flight_ = 0;
      break;
  }
}

}  // namespace herd
