#include "engine/scheduler.h"

#include <algorithm>

namespace herd {

void Scheduler::At(Duration when, TimerTarget* target, uint64_t token) {
  heap_.push_back(Entry{when, seq_++, target, token});
  std::push_heap(heap_.begin(), heap_.end(), Later);
}

Scheduler::Entry Scheduler::Pop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later);
  Entry e = heap_.back();
  heap_.pop_back();
  return e;
}

uint64_t Scheduler::RunUntil(Duration until) {
  uint64_t fired = 0;
  while (!heap_.empty() && heap_.front().when < until) {
    Entry e = Pop();
    if (e.when > now_) now_ = e.when;
    e.target->OnTimer(e.token);
    ++fired;
  }
  if (until > now_) now_ = until;
  return fired;
}

uint64_t Scheduler::RunDue() {
  uint64_t fired = 0;
  while (!heap_.empty() && heap_.front().when <= now_) {
    Entry e = Pop();
    e.target->OnTimer(e.token);
    ++fired;
  }
  return fired;
}

}  // namespace herd
