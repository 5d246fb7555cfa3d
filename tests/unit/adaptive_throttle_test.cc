#include "policy/adaptive_throttle.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kSeed = 99;

TEST(AdaptiveThrottle, NothingToRejectAtFirst) {
  AdaptiveThrottle t(2, 120s);
  Rng rng(kSeed);
  EXPECT_EQ(t.RejectProbability(0s), 0);
  EXPECT_TRUE(t.Allow(0s, rng));  // p was 0 / 1
  // The first request counted before the second decides.
  EXPECT_EQ(t.RejectProbability(0s), 1.0 / 2);
}

TEST(AdaptiveThrottle, WithoutAcceptsRejectionApproachesCertainty) {
  AdaptiveThrottle t(2, 120s);
  Rng rng(kSeed);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += t.Allow(1s, rng);
  // Rejected requests count as requests too, so p keeps growing.
  EXPECT_EQ(t.RejectProbability(1s), 1000.0 / 1001);
  EXPECT_LT(allowed, 20);
}

TEST(AdaptiveThrottle, NeverRejectsWhileEverythingIsAccepted) {
  AdaptiveThrottle t(2, 120s);
  Rng rng(kSeed), twin(kSeed);
  for (int i = 0; i < 1000; ++i) {
    const Duration now = i * 100ms;
    ASSERT_EQ(t.RejectProbability(now), 0) << i;
    ASSERT_TRUE(t.Allow(now, rng)) << i;
    t.OnAccepted(now);
  }
  // No draws while p is 0: the instance's stream is left as it was.
  EXPECT_EQ(rng.Next(), twin.Next());
}

TEST(AdaptiveThrottle, SreBookFormula) {
  AdaptiveThrottle t(2, 120s);
  Rng rng(kSeed);
  for (int i = 0; i < 300; ++i) t.Allow(10s, rng);
  for (int i = 0; i < 100; ++i) t.OnAccepted(10s);
  EXPECT_EQ(t.RejectProbability(10s), (300.0 - 200.0) / 301.0);
  for (int i = 0; i < 50; ++i) t.OnAccepted(10s);
  EXPECT_EQ(t.RejectProbability(10s), 0);  // never negative
}

// Each decision is one draw compared with p as it stood before the request.
TEST(AdaptiveThrottle, DecisionIsOneDrawAgainstP) {
  AdaptiveThrottle t(1.5, 60s);
  Rng rng(kSeed), twin(kSeed);
  for (int i = 0; i < 5000; ++i) {
    const Duration now = i * 10ms;
    const double p = t.RejectProbability(now);
    const bool want = p <= 0 || !(twin.Uniform() < p);
    const bool got = t.Allow(now, rng);
    ASSERT_EQ(got, want) << i;
    if (i % 3 == 0) t.OnAccepted(now);
  }
}

TEST(AdaptiveThrottle, RejectionRateMatchesP) {
  const double p = 100.0 / 301.0;
  Rng rng(kSeed), filler(1);
  const int kTrials = 10000;
  int rejected = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    AdaptiveThrottle t(2, 120s);
    for (int i = 0; i < 300; ++i) t.Allow(0s, filler);
    for (int i = 0; i < 100; ++i) t.OnAccepted(0s);
    ASSERT_EQ(t.RejectProbability(0s), p);
    rejected += !t.Allow(0s, rng);
  }
  EXPECT_NEAR(static_cast<double>(rejected) / kTrials, p, 0.02);
}

TEST(AdaptiveThrottle, OldCountsLeaveTheWindow) {
  AdaptiveThrottle t(2, 120s);  // slots of 6 s
  Rng rng(kSeed);
  for (int i = 0; i < 1000; ++i) t.Allow(0s, rng);
  EXPECT_EQ(t.RejectProbability(119999ms), 1000.0 / 1001);
  EXPECT_EQ(t.RejectProbability(120s), 0);
}

TEST(AdaptiveThrottle, AcceptsLeaveTheWindowToo) {
  AdaptiveThrottle t(2, 120s);
  Rng rng(kSeed);
  for (int i = 0; i < 100; ++i) {
    t.Allow(0s, rng);
    t.OnAccepted(0s);
  }
  for (int i = 0; i < 100; ++i) t.Allow(60s, rng);
  EXPECT_EQ(t.RejectProbability(60s), 0);  // 200 - 2 * 100 = 0
  EXPECT_EQ(t.RejectProbability(120s), 100.0 / 101);
  EXPECT_EQ(t.RejectProbability(std::chrono::hours(1000)), 0);
}

}  // namespace
}  // namespace herd
