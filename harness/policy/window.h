// WindowCounts counts two kinds of event over a sliding window, in `Slots`
// slots of span/Slots each: the ratio budget counts requests and retries,
// adaptive throttling requests and accepts. Fixed arrays, no allocation, so
// every instance can have its own.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

#include "common/duration.h"

namespace herd {

template <int Slots>
class WindowCounts {
 public:
  // Slots of at least 1 ns, so a tiny or zero span cannot divide by zero.
  explicit WindowCounts(Duration span) : width_(std::max(Duration(1), span / Slots)) {}

  void AddFirst(Duration now) { ++first_[Slot(now)]; }
  void AddSecond(Duration now) { ++second_[Slot(now)]; }

  // The two counts over the window that ends at `now`.
  std::pair<double, double> Sums(Duration now) {
    Advance(now);
    double a = 0, b = 0;
    for (int i = 0; i < Slots; ++i) {
      a += first_[i];
      b += second_[i];
    }
    return {a, b};
  }

 private:
  size_t Slot(Duration now) {
    Advance(now);
    return static_cast<size_t>(head_ % Slots);
  }

  void Advance(Duration now) {
    const int64_t slot = now.count() / width_.count();
    // Time should not go backwards; if it does, count into the newest slot
    // rather than rewriting history.
    if (slot <= head_) return;
    if (slot - head_ >= Slots) {
      first_.fill(0);
      second_.fill(0);
    } else {
      for (int64_t s = head_ + 1; s <= slot; ++s) {
        first_[s % Slots] = 0;
        second_[s % Slots] = 0;
      }
    }
    head_ = slot;
  }

  Duration width_;
  int64_t head_ = 0;  // absolute index of the newest slot
  std::array<uint32_t, Slots> first_{};
  std::array<uint32_t, Slots> second_{};
};

}  // namespace herd
