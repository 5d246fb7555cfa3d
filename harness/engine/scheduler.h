// Scheduler is the engine's clock and timer queue. Time is a Duration since
// the run's start. It is one binary heap of (when, target, token) entries,
// not one OS or Asio timer per instance, so 100,000 instances waiting on
// backoff cost 32 bytes each and no allocation per wait.
//
// The same scheduler runs on virtual time (tests and what-if runs: RunUntil
// jumps from event to event, exact and instant) or on real time (a driver
// sets now from the steady clock and runs what is due; see loop.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/duration.h"

namespace herd {

class TimerTarget {
 public:
  virtual ~TimerTarget() = default;
  virtual void OnTimer(uint64_t token) = 0;
};

class Scheduler {
 public:
  Duration now() const { return now_; }

  // On real time, the steady-clock instant that is time zero. Then Fresh()
  // reads the clock (and moves now forward) so that send and completion
  // stamps are exact even when many events are handled in one pass; on
  // virtual time Fresh() is now().
  void UseRealClock(std::chrono::steady_clock::time_point zero) {
    real_ = true;
    zero_ = zero;
  }
  bool real() const { return real_; }
  Duration Fresh() {
    if (real_) AdvanceTo(std::chrono::steady_clock::now() - zero_);
    return now_;
  }

  // target->OnTimer(token) at `when`; a time in the past means "as soon as
  // possible". Timers at the same time fire in the order they were set.
  // There is no cancel: targets ignore stale tokens (a generation count).
  void At(Duration when, TimerTarget* target, uint64_t token);
  void After(Duration delay, TimerTarget* target, uint64_t token) { At(now_ + delay, target, token); }

  bool empty() const { return heap_.empty(); }
  Duration next() const { return heap_.front().when; }  // requires !empty()
  size_t pending() const { return heap_.size(); }

  // Virtual time: fires every timer due before `until` in order, setting
  // now to each one's time, then sets now to `until`. A run of duration D is
  // RunUntil(D): [0, D), nothing starts at D itself.
  uint64_t RunUntil(Duration until);

  // Real time: the driver moves now forward (never back) ...
  void AdvanceTo(Duration t) {
    if (t > now_) now_ = t;
  }
  // ... and fires what is due by then. Returns how many fired.
  uint64_t RunDue();

 private:
  struct Entry {
    Duration when;
    uint64_t seq;  // ties fire in insertion order
    TimerTarget* target;
    uint64_t token;
  };
  static bool Later(const Entry& a, const Entry& b) {
    return a.when != b.when ? a.when > b.when : a.seq > b.seq;
  }
  Entry Pop();

  Duration now_{};
  bool real_ = false;
  std::chrono::steady_clock::time_point zero_{};
  uint64_t seq_ = 0;
  std::vector<Entry> heap_;
};

}  // namespace herd
