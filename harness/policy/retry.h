// Retry policy: which outcomes are retried, how often, and how long to wait
// before each retry. The delays are DESIGN.md's table, exactly:
//
//   none          no retry
//   immediate     0                                      (CNG fig. 9-2)
//   fixed         delay                                  (fig. 9-3)
//   exponential   min(cap, base * 2^(n-1))               (fig. 9-4)
//   book-jitter   base + U[0, 3 * min(cap, base * 2^(n-1)))   (fig. 9-5)
//   full-jitter   U[0, min(cap, base * 2^n))             (Brooker 2015; gRPC A6)
//   equal-jitter  v/2 + U[0, v/2), v = min(cap, base * 2^n)   (Brooker 2015)
//   decorrelated  min(cap, U[base, 3 * previous)), previous starts at base
//
// for retry n = 1, 2, ... (the attempt after it is attempt n + 1). Random
// draws come from the instance's own Rng, so a seed reproduces every delay.
#pragma once

#include <optional>
#include <string_view>

#include "common/duration.h"
#include "common/outcome.h"
#include "common/rng.h"

namespace herd {

enum class Strategy : uint8_t {
  kNone,
  kImmediate,
  kFixed,
  kExponential,
  kBookJitter,
  kFullJitter,
  kEqualJitter,
  kDecorrelated,
};

std::string_view StrategyName(Strategy s);             // "book-jitter", ...
std::optional<Strategy> ParseStrategy(std::string_view name);

struct RetryPolicy {
  Strategy strategy = Strategy::kNone;
  Duration base = std::chrono::seconds(1);   // exponential family
  Duration cap = std::chrono::seconds(60);   // exponential family
  Duration delay = std::chrono::seconds(2);  // fixed
  int max_attempts = 0;                      // including the first; 0 = unbounded
  OutcomeSet retry_on = {Outcome::kShed, Outcome::kServerError, Outcome::kTimeout,
                         Outcome::kRefused, Outcome::kReset};
  bool honor_retry_after = false;            // Retry-After / grpc-retry-pushback-ms
};

// Whether an attempt that ended in `outcome` may be followed by another,
// given `attempts` made so far (>= 1). Budgets and breakers are separate.
bool ShouldRetry(const RetryPolicy& policy, Outcome outcome, int attempts);

// The wait before retry n (n >= 1). `previous` is the wait before retry n-1
// (ignored except by decorrelated; pass policy.base for n = 1).
Duration BackoffDelay(const RetryPolicy& policy, int n, Duration previous, Rng& rng);

// The wait actually used: the server's pushback when the policy honours it
// and the server sent one, else BackoffDelay. A negative pushback (gRPC's
// "do not retry") returns nullopt: the request must not be retried.
std::optional<Duration> RetryDelay(const RetryPolicy& policy, int n, Duration previous,
                                   std::optional<Duration> server_pushback, Rng& rng);

}  // namespace herd
