#include "policy/retry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace herd {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kSeed = 20240917;

RetryPolicy Policy(Strategy s, Duration base = 100ms, Duration cap = 60s) {
  RetryPolicy p;
  p.strategy = s;
  p.base = base;
  p.cap = cap;
  return p;
}

// The table in retry.h, written out again with plain arithmetic (fine for the
// small n used here) and fed from a twin Rng, one draw per jittered delay.
Duration Exp(const RetryPolicy& p, int k) { return std::min(p.cap, p.base * (int64_t{1} << k)); }
Duration U(Rng& rng, Duration width) {
  return Duration(static_cast<int64_t>(rng.Uniform() * static_cast<double>(width.count())));
}

Duration Expected(const RetryPolicy& p, int n, Duration previous, Rng& rng) {
  switch (p.strategy) {
    case Strategy::kNone:
    case Strategy::kImmediate:
      return 0s;
    case Strategy::kFixed:
      return p.delay;
    case Strategy::kExponential:
      return Exp(p, n - 1);
    case Strategy::kBookJitter:
      return p.base + U(rng, 3 * Exp(p, n - 1));
    case Strategy::kFullJitter:
      return U(rng, Exp(p, n));
    case Strategy::kEqualJitter: {
      const Duration half = Exp(p, n) / 2;
      return half + U(rng, half);
    }
    case Strategy::kDecorrelated:
      return std::min(p.cap, p.base + U(rng, 3 * previous - p.base));
  }
  return -1s;
}

TEST(Retry, EveryStrategyFollowsTheTable) {
  // The odd cap makes v/2 round down, which separates v/2 + U[0, v/2) from
  // U[v/2, v); the nanosecond one makes rounding of every draw visible.
  const std::pair<Duration, Duration> kBaseCap[] = {{100ms, 60s}, {1s, 60s + 1ns}, {3ns, 1001ns}};
  const Strategy kAll[] = {Strategy::kNone,        Strategy::kImmediate,  Strategy::kFixed,
                           Strategy::kExponential, Strategy::kBookJitter, Strategy::kFullJitter,
                           Strategy::kEqualJitter, Strategy::kDecorrelated};
  for (const auto& [base, cap] : kBaseCap) {
    for (Strategy s : kAll) {
      const RetryPolicy p = Policy(s, base, cap);
      Rng rng(kSeed), twin(kSeed);
      Duration previous = p.base, expected_previous = p.base;
      for (int n = 1; n <= 12; ++n) {
        const Duration got = BackoffDelay(p, n, previous, rng);
        const Duration want = Expected(p, n, expected_previous, twin);
        EXPECT_EQ(got.count(), want.count())
            << StrategyName(s) << " base=" << base.count() << " n=" << n;
        previous = got;
        expected_previous = want;
      }
      // Both streams consumed the same number of draws.
      EXPECT_EQ(rng.Next(), twin.Next()) << StrategyName(s);
    }
  }
}

// One draw per jittered delay whatever the bounds, so an instance's later
// draws (think times, other retries) line up across policies.
TEST(Retry, EveryJitteredDelayTakesOneDraw) {
  for (Strategy s : {Strategy::kBookJitter, Strategy::kFullJitter, Strategy::kEqualJitter,
                     Strategy::kDecorrelated}) {
    const RetryPolicy p = Policy(s, 0s, 0s);
    Rng rng(kSeed), twin(kSeed);
    for (int n = 1; n <= 5; ++n) {
      EXPECT_EQ(BackoffDelay(p, n, p.base, rng), 0s) << StrategyName(s);
      twin.Uniform();
    }
    EXPECT_EQ(rng.Next(), twin.Next()) << StrategyName(s);
  }
}

TEST(Retry, ExponentialDoublesUpToTheCap) {
  const RetryPolicy p = Policy(Strategy::kExponential, 1s, 60s);
  Rng rng(kSeed);
  const std::vector<Duration> want = {1s, 2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s, 60s};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(BackoffDelay(p, static_cast<int>(i) + 1, p.base, rng), want[i]) << "n=" << i + 1;
  }
}

// Cloud Native Go fig. 9-4: with base 1 s and a 1 min cap, the retries of
// instances that all start together land in bursts at these offsets. The
// figure's bursts sit at 1.1, 3.2, 7.3, ... 183.8 s because each failing
// request also takes ~0.1 s (U[0,100) + U[0,100) ms); that request time is
// added by the simulation, not by the policy, so it is not part of the sum.
TEST(Retry, BookFigure9_4Schedule) {
  const RetryPolicy p = Policy(Strategy::kExponential, 1s, 60s);
  Rng rng(kSeed);
  const std::vector<Duration> want = {1s, 3s, 7s, 15s, 31s, 63s, 123s, 183s};
  Duration at = 0s;
  for (size_t i = 0; i < want.size(); ++i) {
    at += BackoffDelay(p, static_cast<int>(i) + 1, p.base, rng);
    EXPECT_EQ(at, want[i]) << "retry " << i + 1;
  }
}

TEST(Retry, FullJitterBounds) {
  const RetryPolicy p = Policy(Strategy::kFullJitter);
  Rng rng(kSeed);
  for (int trial = 0; trial < 1000; ++trial) {
    for (int n = 1; n <= 12; ++n) {
      const Duration v = std::min(p.cap, p.base * (int64_t{1} << n));
      const Duration d = BackoffDelay(p, n, p.base, rng);
      ASSERT_GE(d, 0s) << "n=" << n;
      ASSERT_LT(d, v) << "n=" << n;
    }
  }
}

TEST(Retry, EqualJitterBounds) {
  const RetryPolicy p = Policy(Strategy::kEqualJitter);
  Rng rng(kSeed);
  for (int trial = 0; trial < 1000; ++trial) {
    for (int n = 1; n <= 12; ++n) {
      const Duration v = std::min(p.cap, p.base * (int64_t{1} << n));
      const Duration d = BackoffDelay(p, n, p.base, rng);
      ASSERT_GE(d, v / 2) << "n=" << n;
      ASSERT_LT(d, v) << "n=" << n;
    }
  }
}

TEST(Retry, BookJitterBounds) {
  const RetryPolicy p = Policy(Strategy::kBookJitter, 1s, 60s);
  Rng rng(kSeed);
  for (int trial = 0; trial < 1000; ++trial) {
    for (int n = 1; n <= 12; ++n) {
      const Duration backoff = std::min(p.cap, p.base * (int64_t{1} << (n - 1)));
      const Duration d = BackoffDelay(p, n, p.base, rng);
      ASSERT_GE(d, p.base) << "n=" << n;
      ASSERT_LT(d, p.base + 3 * backoff) << "n=" << n;
    }
  }
}

TEST(Retry, DecorrelatedBoundsAndCap) {
  const RetryPolicy p = Policy(Strategy::kDecorrelated, 1s, 20s);
  Rng rng(kSeed);
  bool hit_cap = false;
  for (int trial = 0; trial < 1000; ++trial) {
    Duration previous = p.base;
    for (int n = 1; n <= 12; ++n) {
      const Duration d = BackoffDelay(p, n, previous, rng);
      ASSERT_GE(d, p.base) << "n=" << n;
      ASSERT_LT(d, 3 * previous) << "n=" << n;
      ASSERT_LE(d, p.cap) << "n=" << n;
      hit_cap |= d == p.cap;
      previous = d;
    }
  }
  EXPECT_TRUE(hit_cap);
}

TEST(Retry, FullJitterMeanIsHalfTheCeiling) {
  const RetryPolicy p = Policy(Strategy::kFullJitter);
  Rng rng(kSeed);
  const int n = 3;
  const double v = static_cast<double>((p.base * 8).count());
  double sum = 0;
  const int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) sum += static_cast<double>(BackoffDelay(p, n, p.base, rng).count());
  EXPECT_NEAR(sum / kDraws, v / 2, 0.05 * v / 2);
}

TEST(Retry, HugeRetryNumbersSaturateAtTheCap) {
  for (Duration cap : {Duration(60s), Duration::max()}) {
    for (int n : {62, 63, 64, 65, 200, 1 << 30}) {
      Rng rng(kSeed);
      const RetryPolicy exp = Policy(Strategy::kExponential, 1s, cap);
      EXPECT_EQ(BackoffDelay(exp, n, exp.base, rng), cap) << n;
      for (Strategy s : {Strategy::kFullJitter, Strategy::kEqualJitter, Strategy::kDecorrelated}) {
        const RetryPolicy p = Policy(s, 1s, cap);
        for (Duration previous : {Duration(1s), cap}) {
          const Duration d = BackoffDelay(p, n, previous, rng);
          EXPECT_GE(d, 0s) << StrategyName(s) << " n=" << n;
          EXPECT_LE(d, cap) << StrategyName(s) << " n=" << n;
        }
      }
      const RetryPolicy book = Policy(Strategy::kBookJitter, 1s, cap);
      const Duration d = BackoffDelay(book, n, book.base, rng);
      EXPECT_GE(d, 1s) << n;
      if (cap == 60s) {
        EXPECT_LT(d, 1s + 3 * cap) << n;
      }
    }
  }
}

TEST(Retry, ShouldRetryCountsTheFirstAttempt) {
  RetryPolicy p = Policy(Strategy::kExponential);
  p.max_attempts = 5;  // gRPC style: 5 attempts in all, so 4 retries
  for (int attempts = 1; attempts <= 4; ++attempts) {
    EXPECT_TRUE(ShouldRetry(p, Outcome::kShed, attempts)) << attempts;
  }
  EXPECT_FALSE(ShouldRetry(p, Outcome::kShed, 5));
  EXPECT_FALSE(ShouldRetry(p, Outcome::kShed, 6));

  p.max_attempts = 0;
  EXPECT_TRUE(ShouldRetry(p, Outcome::kTimeout, 1));
  EXPECT_TRUE(ShouldRetry(p, Outcome::kTimeout, 1000000));
}

TEST(Retry, ShouldRetryOnlyListedOutcomes) {
  RetryPolicy p = Policy(Strategy::kFixed);
  for (Outcome o : {Outcome::kOk, Outcome::kNotFound, Outcome::kThrottled, Outcome::kClientError,
                    Outcome::kOtherError}) {
    EXPECT_FALSE(ShouldRetry(p, o, 1)) << OutcomeName(o);
  }
  for (Outcome o : {Outcome::kShed, Outcome::kServerError, Outcome::kTimeout, Outcome::kRefused,
                    Outcome::kReset}) {
    EXPECT_TRUE(ShouldRetry(p, o, 1)) << OutcomeName(o);
  }
  p.retry_on = {Outcome::kThrottled};
  EXPECT_TRUE(ShouldRetry(p, Outcome::kThrottled, 1));
  EXPECT_FALSE(ShouldRetry(p, Outcome::kShed, 1));
}

TEST(Retry, StrategyNoneNeverRetries) {
  RetryPolicy p = Policy(Strategy::kNone);
  p.max_attempts = 0;
  EXPECT_FALSE(ShouldRetry(p, Outcome::kShed, 1));
  p.max_attempts = 5;
  EXPECT_FALSE(ShouldRetry(p, Outcome::kShed, 1));
}

TEST(Retry, StrategyNamesRoundTrip) {
  const std::vector<std::pair<Strategy, std::string_view>> names = {
      {Strategy::kNone, "none"},
      {Strategy::kImmediate, "immediate"},
      {Strategy::kFixed, "fixed"},
      {Strategy::kExponential, "exponential"},
      {Strategy::kBookJitter, "book-jitter"},
      {Strategy::kFullJitter, "full-jitter"},
      {Strategy::kEqualJitter, "equal-jitter"},
      {Strategy::kDecorrelated, "decorrelated"},
  };
  for (const auto& [s, name] : names) {
    EXPECT_EQ(StrategyName(s), name);
    EXPECT_EQ(ParseStrategy(name), s) << name;
  }
  for (std::string_view bad : {"", "jitter", "Full-Jitter", "full_jitter", "exponential ", "unknown"}) {
    EXPECT_FALSE(ParseStrategy(bad).has_value()) << bad;
  }
}

TEST(Retry, PushbackOverridesTheDelayWhenHonoured) {
  RetryPolicy p = Policy(Strategy::kFullJitter);
  p.honor_retry_after = true;
  Rng rng(kSeed), twin(kSeed);
  EXPECT_EQ(RetryDelay(p, 3, p.base, 7s, rng), Duration(7s));
  EXPECT_EQ(RetryDelay(p, 3, p.base, 0s, rng), Duration(0s));
  // No pushback: the policy's own delay.
  EXPECT_EQ(RetryDelay(p, 3, p.base, std::nullopt, rng), BackoffDelay(p, 3, p.base, twin));
  // gRPC's negative pushback: do not retry.
  EXPECT_EQ(RetryDelay(p, 3, p.base, -1ms, rng), std::nullopt);
}

TEST(Retry, PushbackIgnoredWhenNotHonoured) {
  RetryPolicy p = Policy(Strategy::kFullJitter);
  p.honor_retry_after = false;
  Rng rng(kSeed), twin(kSeed);
  EXPECT_EQ(RetryDelay(p, 3, p.base, 7s, rng), BackoffDelay(p, 3, p.base, twin));
  // A client that ignores pushback ignores "do not retry" too.
  EXPECT_EQ(RetryDelay(p, 4, p.base, -1ms, rng), BackoffDelay(p, 4, p.base, twin));
}

}  // namespace
}  // namespace herd
