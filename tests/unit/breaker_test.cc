#include "policy/breaker.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

using namespace std::chrono_literals;
using State = Breaker::State;

// Fails `n` attempts at `now`, each one allowed first.
void Fail(Breaker& b, int n, Duration now) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(b.Allow(now));
    b.OnFailure(now);
  }
}

TEST(Breaker, FullCycleClosedOpenHalfOpenClosed) {
  Breaker b(5, 5s, 1);
  EXPECT_EQ(b.state(0s), State::kClosed);
  Fail(b, 4, 1s);
  EXPECT_EQ(b.state(1s), State::kClosed);
  Fail(b, 1, 2s);
  EXPECT_EQ(b.state(2s), State::kOpen);
  EXPECT_FALSE(b.Allow(2s));
  EXPECT_FALSE(b.Allow(6999ms));
  EXPECT_EQ(b.state(6999ms), State::kOpen);
  // Half-open as soon as the period is over, before any Allow notices.
  EXPECT_EQ(b.state(7s), State::kHalfOpen);
  EXPECT_TRUE(b.Allow(7s));   // the probe
  EXPECT_FALSE(b.Allow(7s));  // no second probe while it is out
  EXPECT_EQ(b.state(7s), State::kHalfOpen);
  b.OnSuccess(7100ms);
  EXPECT_EQ(b.state(7100ms), State::kClosed);
  EXPECT_TRUE(b.Allow(7100ms));
  EXPECT_TRUE(b.Allow(7100ms));
  // Closed again with a fresh count: four failures do not reopen it.
  Fail(b, 4, 8s);
  EXPECT_EQ(b.state(8s), State::kClosed);
}

TEST(Breaker, FailedProbeOpensItForAnotherPeriod) {
  Breaker b(3, 5s, 1);
  Fail(b, 3, 0s);
  EXPECT_EQ(b.state(0s), State::kOpen);
  ASSERT_TRUE(b.Allow(5s));
  b.OnFailure(6s);  // the probe failed a second later
  EXPECT_EQ(b.state(6s), State::kOpen);
  EXPECT_FALSE(b.Allow(10999ms));
  EXPECT_EQ(b.state(11s), State::kHalfOpen);
  EXPECT_TRUE(b.Allow(11s));
  b.OnSuccess(11s);
  EXPECT_EQ(b.state(11s), State::kClosed);
}

TEST(Breaker, HalfOpenLetsOnlyTheProbesThrough) {
  Breaker b(1, 1s, 3);
  Fail(b, 1, 0s);
  EXPECT_TRUE(b.Allow(1s));
  EXPECT_TRUE(b.Allow(1s));
  EXPECT_TRUE(b.Allow(1500ms));
  EXPECT_FALSE(b.Allow(1500ms));
  EXPECT_FALSE(b.Allow(100s));  // still waiting on the probes, however long
  b.OnFailure(100s);
  EXPECT_FALSE(b.Allow(100s));
  // A new half-open period gets a fresh set of probes.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.Allow(101s)) << i;
  EXPECT_FALSE(b.Allow(101s));
}

TEST(Breaker, SuccessResetsTheConsecutiveCount) {
  Breaker b(5, 5s, 1);
  Fail(b, 4, 0s);
  ASSERT_TRUE(b.Allow(0s));
  b.OnSuccess(0s);
  Fail(b, 4, 1s);
  EXPECT_EQ(b.state(1s), State::kClosed);
  Fail(b, 1, 1s);
  EXPECT_EQ(b.state(1s), State::kOpen);
}

TEST(Breaker, LateAnswersWhileOpenChangeNothing) {
  Breaker b(2, 5s, 1);
  Fail(b, 2, 0s);
  // Answers to attempts sent before it opened.
  b.OnFailure(3s);  // must not push the end of the open period to 8 s
  b.OnSuccess(4s);  // must not close it early
  EXPECT_EQ(b.state(4s), State::kOpen);
  EXPECT_FALSE(b.Allow(4999ms));
  EXPECT_TRUE(b.Allow(5s));
}

}  // namespace
}  // namespace herd
