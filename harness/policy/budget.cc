#include "policy/budget.h"

#include <algorithm>
#include <cmath>

namespace herd {
namespace {

// gRPC keeps tokens in thousandths (A6 allows three decimals in tokenRatio).
// Rounding to that grid keeps the "tokens > max / 2" test exact: fifty
// successes of 0.1 from zero must give 5, not 5.000000000000002.
double ToMilliTokens(double tokens) { return std::round(tokens * 1000.0) / 1000.0; }

}  // namespace

TokenBucketBudget::TokenBucketBudget(double max_tokens, double token_ratio)
    : max_tokens_(max_tokens), token_ratio_(token_ratio), tokens_(max_tokens) {}

void TokenBucketBudget::OnSuccess() {
  tokens_ = std::min(max_tokens_, ToMilliTokens(tokens_ + token_ratio_));
}

void TokenBucketBudget::OnFailure() { tokens_ = std::max(0.0, ToMilliTokens(tokens_ - 1.0)); }

RatioBudget::RatioBudget(double percent, double min_per_s, Duration ttl)
    : percent_(percent), min_per_s_(min_per_s), ttl_(ttl), counts_(ttl) {}

void RatioBudget::OnRequest(Duration now) { counts_.AddFirst(now); }

bool RatioBudget::TryRetry(Duration now) {
  auto [requests, retries] = counts_.Sums(now);
  // percent * requests / 100 rather than percent / 100 * requests: exact for
  // whole percents, so 10% of 100 requests is 10 retries, not 10.000000000000002.
  const double allowed = percent_ * requests / 100.0 + min_per_s_ * ToSeconds(ttl_);
  if (retries + 1 > allowed) return false;
  counts_.AddSecond(now);
  return true;
}

double RatioBudget::requests(Duration now) { return counts_.Sums(now).first; }
double RatioBudget::retries(Duration now) { return counts_.Sums(now).second; }

}  // namespace herd
