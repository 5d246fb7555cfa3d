#include "policy/budget.h"

#include <gtest/gtest.h>

namespace herd {
namespace {

using namespace std::chrono_literals;

// gRFC A6 retryThrottling with its example values.
TEST(TokenBucketBudget, StartsFullAndAllowsRetries) {
  TokenBucketBudget b(10, 0.1);
  EXPECT_EQ(b.tokens(), 10);
  EXPECT_TRUE(b.AllowRetry());
}

TEST(TokenBucketBudget, StopsAtHalfAndResumesAboveIt) {
  TokenBucketBudget b(10, 0.1);
  for (int i = 0; i < 4; ++i) b.OnFailure();
  EXPECT_EQ(b.tokens(), 6);
  EXPECT_TRUE(b.AllowRetry());
  b.OnFailure();
  EXPECT_EQ(b.tokens(), 5);
  EXPECT_FALSE(b.AllowRetry());  // not > 5
  b.OnSuccess();
  EXPECT_DOUBLE_EQ(b.tokens(), 5.1);
  EXPECT_TRUE(b.AllowRetry());
  b.OnFailure();
  EXPECT_DOUBLE_EQ(b.tokens(), 4.1);
  EXPECT_FALSE(b.AllowRetry());
}

TEST(TokenBucketBudget, NeverAboveMaxNorBelowZero) {
  TokenBucketBudget b(10, 0.1);
  b.OnSuccess();
  EXPECT_EQ(b.tokens(), 10);
  for (int i = 0; i < 25; ++i) b.OnFailure();
  EXPECT_EQ(b.tokens(), 0);
  EXPECT_FALSE(b.AllowRetry());
  b.OnSuccess();
  EXPECT_DOUBLE_EQ(b.tokens(), 0.1);
}

// Summing 0.1 in binary drifts; gRPC counts thousandths, so fifty successes
// from empty give exactly 5 tokens, which is still not enough.
TEST(TokenBucketBudget, TokensDoNotDriftAcrossTheThreshold) {
  TokenBucketBudget b(10, 0.1);
  for (int i = 0; i < 10; ++i) b.OnFailure();
  for (int i = 0; i < 50; ++i) b.OnSuccess();
  EXPECT_EQ(b.tokens(), 5);
  EXPECT_FALSE(b.AllowRetry());
  b.OnSuccess();
  EXPECT_TRUE(b.AllowRetry());
  for (int i = 0; i < 100; ++i) b.OnSuccess();
  EXPECT_EQ(b.tokens(), 10);
}

TEST(RatioBudget, TenPercentOfRequests) {
  RatioBudget b(10, 0, 10s);
  for (int i = 0; i < 100; ++i) b.OnRequest(1s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.TryRetry(2s)) << i;
  EXPECT_FALSE(b.TryRetry(2s));
  EXPECT_EQ(b.requests(2s), 100);
  EXPECT_EQ(b.retries(2s), 10);  // the denied one is not counted
  b.OnRequest(3s);               // 101 requests: still 10.1, no 11th
  EXPECT_FALSE(b.TryRetry(3s));
  for (int i = 0; i < 9; ++i) b.OnRequest(3s);
  EXPECT_TRUE(b.TryRetry(3s));  // 110 requests: 11
  EXPECT_FALSE(b.TryRetry(3s));
}

TEST(RatioBudget, NothingWithoutRequestsOrMinimum) {
  RatioBudget b(10, 0, 10s);
  EXPECT_FALSE(b.TryRetry(0s));
  for (int i = 0; i < 9; ++i) b.OnRequest(0s);
  EXPECT_FALSE(b.TryRetry(0s));  // 0.9 of a retry is none
  b.OnRequest(0s);
  EXPECT_TRUE(b.TryRetry(0s));
}

TEST(RatioBudget, MinimumPerSecondOverTheTtl) {
  RatioBudget b(10, 1, 10s);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.TryRetry(500ms)) << i;
  EXPECT_FALSE(b.TryRetry(500ms));
  EXPECT_EQ(b.requests(500ms), 0);
}

TEST(RatioBudget, OldRequestsAndRetriesExpire) {
  RatioBudget b(10, 0, 10s);  // slots of 1 s
  for (int i = 0; i < 100; ++i) b.OnRequest(0s);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.TryRetry(0s));
  EXPECT_EQ(b.requests(9999ms), 100);  // slot 0 is still one of the last ten
  EXPECT_FALSE(b.TryRetry(9999ms));
  EXPECT_EQ(b.requests(10s), 0);
  EXPECT_EQ(b.retries(10s), 0);
  EXPECT_FALSE(b.TryRetry(10s));
}

TEST(RatioBudget, WindowSlidesSlotBySlot) {
  RatioBudget b(10, 0, 10s);
  for (int i = 0; i < 50; ++i) b.OnRequest(0s);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.TryRetry(0s));
  for (int i = 0; i < 50; ++i) b.OnRequest(5s);
  EXPECT_EQ(b.requests(9s), 100);
  EXPECT_EQ(b.retries(9s), 5);
  // Slot 0 (its 50 requests and 5 retries) leaves; the 50 from 5 s stay.
  EXPECT_EQ(b.requests(10s), 50);
  EXPECT_EQ(b.retries(10s), 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.TryRetry(10s)) << i;
  EXPECT_FALSE(b.TryRetry(10s));
  EXPECT_EQ(b.requests(15s), 0);
}

TEST(RatioBudget, LargeJumpInTimeClearsEverything) {
  RatioBudget b(10, 0, 10s);
  for (int i = 0; i < 100; ++i) b.OnRequest(3s);
  for (int i = 0; i < 100; ++i) b.OnRequest(8s);
  const Duration later = std::chrono::hours(24 * 365);
  EXPECT_EQ(b.requests(later), 0);
  EXPECT_FALSE(b.TryRetry(later));
  b.OnRequest(later);
  EXPECT_EQ(b.requests(later), 1);
}

TEST(RatioBudget, TimeGoingBackwardsCountsInTheNewestSlot) {
  RatioBudget b(10, 0, 10s);
  for (int i = 0; i < 5; ++i) b.OnRequest(5s);
  for (int i = 0; i < 5; ++i) b.OnRequest(1s);  // earlier than the newest slot
  EXPECT_EQ(b.requests(5s), 10);
  // They expire with the newest slot, not with the old one.
  EXPECT_EQ(b.requests(14s), 10);
  EXPECT_EQ(b.requests(15s), 0);
}

}  // namespace
}  // namespace herd
