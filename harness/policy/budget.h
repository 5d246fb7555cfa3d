// Retry budgets: limits on retries an instance may make, whatever its retry
// policy allows. A denied retry is not sent; the request is abandoned and the
// denial counted (budget_denied).
#pragma once

#include <array>
#include <cstdint>

#include "common/duration.h"
#include "policy/window.h"

namespace herd {

// gRPC A6 retryThrottling: tokens start at max_tokens; each failed attempt
// takes 1, each successful one gives token_ratio back (never above max);
// retries are allowed only while tokens > max_tokens / 2.
class TokenBucketBudget {
 public:
  TokenBucketBudget(double max_tokens, double token_ratio);
  bool AllowRetry() const { return tokens_ > max_tokens_ / 2; }
  void OnSuccess();
  void OnFailure();
  double tokens() const { return tokens_; }

 private:
  double max_tokens_;
  double token_ratio_;
  double tokens_;
};

// SRE book / Finagle RetryBudget: over the last `ttl`, retries may be at most
// percent% of requests, plus min_per_s * ttl. Requests and retries are counted
// in a sliding window of 10 slots of ttl/10 each.
class RatioBudget {
 public:
  RatioBudget(double percent, double min_per_s, Duration ttl);
  void OnRequest(Duration now);    // a new request (its first attempt)
  // True (and counts the retry) when one more retry fits the budget now.
  bool TryRetry(Duration now);
  double requests(Duration now);  // in the window
  double retries(Duration now);

 private:
  double percent_;
  double min_per_s_;
  Duration ttl_;
  WindowCounts<10> counts_;  // requests, retries
};

}  // namespace herd
