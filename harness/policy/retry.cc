#include "policy/retry.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace herd {
namespace {

constexpr std::array<std::string_view, 8> kStrategyNames = {
    "none", "immediate", "fixed", "exponential",
    "book-jitter", "full-jitter", "equal-jitter", "decorrelated"};

constexpr int64_t kMaxNanos = std::numeric_limits<int64_t>::max();

// min(cap, base * 2^k) without forming base * 2^k: with n up to the hundreds
// (unbounded retries) the product overflows int64 long before the loop ends,
// and a wrapped negative delay would turn into a retry storm.
Duration Exp2Capped(Duration base, Duration cap, int k) {
  if (k < 0) k = 0;
  if (base.count() <= 0) return std::min(cap, Duration::zero());
  if (k >= 63 || base.count() > (cap.count() >> k)) return cap;
  return std::min(cap, Duration(base.count() << k));
}

Duration SaturatingAdd(Duration a, Duration b) {
  if (b.count() > 0 && a.count() > kMaxNanos - b.count()) return Duration(kMaxNanos);
  return a + b;
}

Duration SaturatingTimes3(Duration d) {
  if (d.count() > kMaxNanos / 3) return Duration(kMaxNanos);
  return d * 3;
}

// lo + U[0, hi - lo). Unlike Rng::Between it draws even when the range is
// empty, so every jittered delay takes exactly one number from the stream and
// an instance's later draws do not shift with the policy's values.
Duration Jitter(Rng& rng, Duration lo, Duration hi) {
  const double u = rng.Uniform();
  if (hi <= lo) return lo;
  return lo + Duration(static_cast<int64_t>(u * static_cast<double>((hi - lo).count())));
}

}  // namespace

std::string_view StrategyName(Strategy s) {
  const auto i = static_cast<size_t>(s);
  return i < kStrategyNames.size() ? kStrategyNames[i] : "unknown";
}

std::optional<Strategy> ParseStrategy(std::string_view name) {
  for (size_t i = 0; i < kStrategyNames.size(); ++i) {
    if (kStrategyNames[i] == name) return static_cast<Strategy>(i);
  }
  return std::nullopt;
}

bool ShouldRetry(const RetryPolicy& policy, Outcome outcome, int attempts) {
  if (policy.strategy == Strategy::kNone) return false;
  if (!policy.retry_on.Has(outcome)) return false;
  return policy.max_attempts == 0 || attempts < policy.max_attempts;
}

Duration BackoffDelay(const RetryPolicy& policy, int n, Duration previous, Rng& rng) {
  if (n < 1) n = 1;
  switch (policy.strategy) {
    case Strategy::kNone:
    case Strategy::kImmediate:
      return Duration::zero();
    case Strategy::kFixed:
      return policy.delay;
    case Strategy::kExponential:
      return Exp2Capped(policy.base, policy.cap, n - 1);
    case Strategy::kBookJitter: {
      const Duration backoff = Exp2Capped(policy.base, policy.cap, n - 1);
      const Duration jitter = Jitter(rng, Duration::zero(), SaturatingTimes3(backoff));
      return SaturatingAdd(policy.base, jitter);
    }
    case Strategy::kFullJitter:
      return Jitter(rng, Duration::zero(), Exp2Capped(policy.base, policy.cap, n));
    case Strategy::kEqualJitter: {
      const Duration half = Exp2Capped(policy.base, policy.cap, n) / 2;
      return half + Jitter(rng, Duration::zero(), half);
    }
    case Strategy::kDecorrelated:
      return std::min(policy.cap, Jitter(rng, policy.base, SaturatingTimes3(previous)));
  }
  return Duration::zero();
}

std::optional<Duration> RetryDelay(const RetryPolicy& policy, int n, Duration previous,
                                   std::optional<Duration> server_pushback, Rng& rng) {
  // A client that ignores pushback ignores "do not retry" too: that is the
  // misbehaviour such a scenario sets out to show.
  if (policy.honor_retry_after && server_pushback.has_value()) {
    if (*server_pushback < Duration::zero()) return std::nullopt;
    return *server_pushback;
  }
  return BackoffDelay(policy, n, previous, rng);
}

}  // namespace herd
