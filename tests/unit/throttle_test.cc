// Throttle on an explicit clock: exact, no sleeping.
#include "throttle.h"

#include <gtest/gtest.h>

#include <string>

namespace kvd {
namespace {

using Clock = Throttle::Clock;
using std::chrono::milliseconds;

TEST(Throttle, DisabledAllowsEverything) {
  Throttle t(0, 0, 10);
  EXPECT_FALSE(t.enabled());
  auto now = Clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(t.Take("a", now).allowed);
}

TEST(Throttle, NewClientStartsWithAFullBurstThenRefillsAtRate) {
  Throttle t(/*rate=*/10, /*burst=*/3, 100);
  auto t0 = Clock::now();
  EXPECT_TRUE(t.Take("a", t0).allowed);
  EXPECT_TRUE(t.Take("a", t0).allowed);
  EXPECT_TRUE(t.Take("a", t0).allowed);
  auto denied = t.Take("a", t0);
  EXPECT_FALSE(denied.allowed);
  // One token comes back every 100 ms at 10/s.
  EXPECT_EQ(denied.retry_after_ms, 100);
  EXPECT_EQ(denied.retry_after_s, 1);  // Retry-After is whole seconds, at least 1
  EXPECT_FALSE(t.Take("a", t0 + milliseconds(99)).allowed);
  EXPECT_TRUE(t.Take("a", t0 + milliseconds(100)).allowed);
  EXPECT_FALSE(t.Take("a", t0 + milliseconds(100)).allowed);
}

TEST(Throttle, RefillIsCappedAtBurst) {
  Throttle t(100, 2, 100);
  auto t0 = Clock::now();
  t.Take("a", t0);
  t.Take("a", t0);
  auto later = t0 + std::chrono::seconds(60);  // would be 6000 tokens uncapped
  EXPECT_TRUE(t.Take("a", later).allowed);
  EXPECT_TRUE(t.Take("a", later).allowed);
  EXPECT_FALSE(t.Take("a", later).allowed);
}

TEST(Throttle, ClientsAreIsolated) {
  Throttle t(1, 1, 100);
  auto t0 = Clock::now();
  EXPECT_TRUE(t.Take("greedy", t0).allowed);
  EXPECT_FALSE(t.Take("greedy", t0).allowed);
  EXPECT_TRUE(t.Take("polite", t0).allowed);
}

TEST(Throttle, RetryAfterRoundsUpToWholeSeconds) {
  Throttle t(0.25, 1, 100);  // a token every 4 s
  auto t0 = Clock::now();
  EXPECT_TRUE(t.Take("a", t0).allowed);
  auto d = t.Take("a", t0 + milliseconds(500));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_s, 4);  // 3.5 s left, rounded up
  EXPECT_EQ(d.retry_after_ms, 3500);
}

TEST(Throttle, TableIsBoundedByLru) {
  Throttle t(1, 1, 160);  // 16 shards x 10
  auto now = Clock::now();
  for (int i = 0; i < 100000; ++i) t.Take("client-" + std::to_string(i), now);
  EXPECT_LE(t.clients(), 160u);
  EXPECT_GT(t.clients(), 0u);
}

TEST(Throttle, RecentlySeenClientSurvivesEviction) {
  Throttle t(1, 1, 16);  // one bucket per shard
  auto now = Clock::now();
  EXPECT_TRUE(t.Take("keep", now).allowed);
  EXPECT_FALSE(t.Take("keep", now).allowed);
  // A forgotten client would start full again; "keep" is denied as long as
  // nothing else lands in its shard. Evicting it takes a newcomer in its shard.
  int evictions_to_forget = 0;
  for (int i = 0; i < 1000 && !t.Take("keep", now).allowed; ++i) {
    t.Take("other-" + std::to_string(i), now);
    ++evictions_to_forget;
  }
  EXPECT_GT(evictions_to_forget, 0);  // it was remembered for a while
  EXPECT_LT(evictions_to_forget, 1000);  // and the table is bounded
}

}  // namespace
}  // namespace kvd
