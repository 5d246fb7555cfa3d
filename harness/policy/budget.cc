#include "policy/budget.h"

#include <algorithm>
#include <cmath>

namespace herd {
namespace {

// gRPC keeps tokens in thousandths (A6 allows three decimals in tokenRatio).
// Rounding to that grid keeps the "tokens > max / 2" test exact: fifty
// successes of 0.1 from zero must give 5, not 5.000000000000002.
double ToMilliTokens(double tokens) { return std::round(tokens * 1000.0) / 1000.0; }

// Slots of at least 1 ns, so a tiny or zero ttl cannot divide by zero.
Duration SlotWidth(Duration span, int slots) {
  return std::max(Duration(1), span / slots);
}

}  // namespace

TokenBucketBudget::TokenBucketBudget(double max_tokens, double token_ratio)
    : max_tokens_(max_tokens), token_ratio_(token_ratio), tokens_(max_tokens) {}

void TokenBucketBudget::OnSuccess() {
  tokens_ = std::min(max_tokens_, ToMilliTokens(tokens_ + token_ratio_));
}

void TokenBucketBudget::OnFailure() { tokens_ = std::max(0.0, ToMilliTokens(tokens_ - 1.0)); }

RatioBudget::RatioBudget(double percent, double min_per_s, Duration ttl)
    : percent_(percent), min_per_s_(min_per_s), ttl_(ttl), slot_width_(SlotWidth(ttl, kSlots)) {}

void RatioBudget::Advance(Duration now) {
  const int64_t slot = now.count() / slot_width_.count();
  // Time should not go backwards; if it does, count into the newest slot
  // rather than rewriting history.
  if (slot <= head_slot_) return;
  if (slot - head_slot_ >= kSlots) {
    requests_.fill(0);
    retries_.fill(0);
  } else {
    for (int64_t s = head_slot_ + 1; s <= slot; ++s) {
      requests_[s % kSlots] = 0;
      retries_[s % kSlots] = 0;
    }
  }
  head_slot_ = slot;
}

void RatioBudget::OnRequest(Duration now) {
  Advance(now);
  ++requests_[head_slot_ % kSlots];
}

bool RatioBudget::TryRetry(Duration now) {
  Advance(now);
  double requests = 0, retries = 0;
  for (int i = 0; i < kSlots; ++i) {
    requests += requests_[i];
    retries += retries_[i];
  }
  // percent * requests / 100 rather than percent / 100 * requests: exact for
  // whole percents, so 10% of 100 requests is 10 retries, not 10.000000000000002.
  const double allowed = percent_ * requests / 100.0 + min_per_s_ * ToSeconds(ttl_);
  if (retries + 1 > allowed) return false;
  ++retries_[head_slot_ % kSlots];
  return true;
}

double RatioBudget::requests(Duration now) {
  Advance(now);
  double sum = 0;
  for (uint32_t r : requests_) sum += r;
  return sum;
}

double RatioBudget::retries(Duration now) {
  Advance(now);
  double sum = 0;
  for (uint32_t r : retries_) sum += r;
  return sum;
}

}  // namespace herd
