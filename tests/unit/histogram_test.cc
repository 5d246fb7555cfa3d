#include "measure/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

namespace herd {
namespace {

constexpr int64_t kHour = 3'600'000'000'000;
constexpr int64_t kTop = (int64_t{1} << Histogram::kMaxBits) - 1;

// 100k values log-uniform between 1 ns and 1 h: every magnitude the harness
// sees, from a loopback GET to a stuck request.
std::vector<int64_t> LogUniform(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(0, std::log(static_cast<double>(kHour)));
  std::vector<int64_t> values(n);
  for (int64_t& v : values) v = std::llround(std::exp(exponent(rng)));
  return values;
}

// Histograms are 37 KB: keep them off the test's stack.
std::unique_ptr<Histogram> Of(const std::vector<int64_t>& values) {
  auto h = std::make_unique<Histogram>();
  for (int64_t v : values) h->Record(v);
  return h;
}

void ExpectSame(const Histogram& a, const Histogram& b) {
  EXPECT_EQ(a.count(), b.count());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_DOUBLE_EQ(a.mean(), b.mean());
  EXPECT_EQ(a.NonEmpty(), b.NonEmpty());
  EXPECT_EQ(a.Serialize(), b.Serialize());
}

TEST(Histogram, QuantilesAreWithinOnePercentOfTheExactOrderStatistic) {
  std::vector<int64_t> values = LogUniform(100'000, 42);
  auto h = Of(values);
  std::sort(values.begin(), values.end());
  const uint64_t n = values.size();
  ASSERT_EQ(h->count(), n);
  EXPECT_EQ(h->min(), values.front());
  EXPECT_EQ(h->max(), values.back());
  // q = k / 10000 for every k, so the exact rank is integer arithmetic.
  for (uint64_t k = 0; k <= 10'000; ++k) {
    const double q = static_cast<double>(k) / 10'000;
    const uint64_t rank = std::max<uint64_t>(1, (k * n + 9'999) / 10'000);
    const int64_t exact = values[rank - 1];
    const int64_t got = h->Quantile(q);
    ASSERT_GE(got, exact) << "q=" << q;
    ASSERT_LE(got - exact, exact / 128) << "q=" << q << " exact=" << exact;
    if (k == 0) {
      ASSERT_EQ(got, values.front());
    } else if (k == 10'000) {
      ASSERT_EQ(got, values.back());
    } else {
      // The rank-th value's bucket is the one reported, at its upper edge.
      ASSERT_EQ(got, std::clamp(Histogram::UpperEdge(Histogram::IndexOf(exact)), h->min(),
                                h->max()))
          << "q=" << q;
    }
  }
}

TEST(Histogram, RankIsCeilEvenWhenTheProductIsNotExact) {
  auto h = std::make_unique<Histogram>();
  for (int v = 1; v <= 100; ++v) h->Record(v);  // below 256: one bucket per value
  EXPECT_EQ(h->Quantile(0.07), 7);                // 0.07 * 100 = 7.000000000000001
  EXPECT_EQ(h->Quantile(0.29), 29);               // 0.29 * 100 = 28.999999999999996
  EXPECT_EQ(h->Quantile(0.5), 50);
  EXPECT_EQ(h->Quantile(0.99), 99);
  EXPECT_EQ(h->Quantile(0.991), 100);
  EXPECT_EQ(h->Quantile(0.001), 1);
  EXPECT_EQ(h->Quantile(0), 1);
  EXPECT_EQ(h->Quantile(1), 100);
}

TEST(Histogram, GeometryIsContiguousMonotonicAndWithinOnePart128) {
  EXPECT_EQ(Histogram::LowerEdge(0), 0);
  EXPECT_EQ(Histogram::UpperEdge(Histogram::kBuckets - 1), kTop);
  for (int i = 0; i < Histogram::kBuckets; ++i) {
    const int64_t lo = Histogram::LowerEdge(i), hi = Histogram::UpperEdge(i);
    ASSERT_LE(lo, hi) << i;
    ASSERT_EQ(Histogram::IndexOf(lo), i);
    ASSERT_EQ(Histogram::IndexOf(hi), i);
    if (i + 1 < Histogram::kBuckets) {
      ASSERT_EQ(Histogram::LowerEdge(i + 1), hi + 1) << i;
    }
    if (i < 256) {
      ASSERT_EQ(lo, i);  // the first 256 values are exact
      ASSERT_EQ(hi, i);
    } else {
      ASSERT_LE(hi - lo, lo / 128) << i;
    }
  }
  // A sweep of values: each lies in its bucket, indices never decrease, and
  // the reported edge is within 1/128.
  int previous = 0;
  auto check = [&](int64_t v) {
    const int i = Histogram::IndexOf(v);
    ASSERT_GE(i, previous) << v;
    previous = i;
    ASSERT_LE(Histogram::LowerEdge(i), v);
    ASSERT_GE(Histogram::UpperEdge(i), v);
    ASSERT_LE(Histogram::UpperEdge(i) - v, v / 128) << v;
  };
  for (int64_t v = 0; v < 200'000; ++v) check(v);
  for (int64_t v = 200'000; v < kTop; v += v / 997 + 1) check(v);
  check(kTop);
}

TEST(Histogram, MergeOfTwoHalvesEqualsTheWhole) {
  const std::vector<int64_t> values = LogUniform(100'000, 7);
  const std::vector<int64_t> first(values.begin(), values.begin() + 50'000);
  const std::vector<int64_t> second(values.begin() + 50'000, values.end());
  auto all = Of(values);
  auto merged = Of(first);
  auto other = Of(second);
  merged->Merge(*other);
  ExpectSame(*merged, *all);
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) EXPECT_EQ(merged->Quantile(q), all->Quantile(q));

  // Empty on either side changes nothing.
  auto empty = std::make_unique<Histogram>();
  merged->Merge(*empty);
  ExpectSame(*merged, *all);
  empty->Merge(*all);
  ExpectSame(*empty, *all);
}

TEST(Histogram, SerializeParseRoundTripsExactly) {
  std::vector<int64_t> values = LogUniform(20'000, 3);
  values.push_back(0);
  values.push_back(int64_t{1} << 50);  // clamped into the top bucket
  auto h = Of(values);
  const std::string text = h->Serialize();
  auto back = std::make_unique<Histogram>();
  back->Record(12345);  // Parse replaces what was there
  std::string error;
  ASSERT_TRUE(Histogram::Parse(text, back.get(), &error)) << error;
  ExpectSame(*back, *h);
  for (double q : {0.0, 0.25, 0.5, 0.99, 1.0}) EXPECT_EQ(back->Quantile(q), h->Quantile(q));

  auto empty = std::make_unique<Histogram>();
  EXPECT_EQ(empty->Serialize(), "0 0 0 0;");
  ASSERT_TRUE(Histogram::Parse(empty->Serialize(), back.get(), &error)) << error;
  ExpectSame(*back, *empty);

  auto small = std::make_unique<Histogram>();
  small->Record(5);
  small->Record(5);
  small->Record(300);
  EXPECT_EQ(small->Serialize(), "3 5 300 310;5:2,278:1");

  // The sum stays exact beyond a double's 53 bits, and beyond 64.
  auto wide = std::make_unique<Histogram>();
  wide->Record((int64_t{1} << 60) + 1);
  wide->Record(2);
  EXPECT_EQ(wide->Serialize(), "2 2 1152921504606846977 1152921504606846979;2:1,4607:1");
  wide->RecordN(int64_t{1} << 62, 8);
  const std::string wide_text = wide->Serialize();
  EXPECT_EQ(wide_text, "10 2 4611686018427387904 38046409652025950211;2:1,4607:9");
  ASSERT_TRUE(Histogram::Parse(wide_text, back.get(), &error)) << error;
  EXPECT_EQ(back->Serialize(), wide_text);
}

TEST(Histogram, ParseRejectsGarbageWithAMessage) {
  auto h = std::make_unique<Histogram>();
  h->Record(42);
  const std::string before = h->Serialize();
  for (const char* bad : {
           "", "garbage", "1 2 3", "1 5 5 5", "1 5 5 5;", "1 5 5 5;5:2", "1 5 5 5;5:1,",
           "1 5 5 5;5:1x", "1 5 5 5;5:1 ", "2 5 6 11;6:1,5:1", "2 5 5 10;5:1,5:1",
           "1 5 5 5;99999:1", "1 5 5 5;5:0", "-1 0 0 0;", "1 -5 5 5;5:1", "1 7 7 7;5:1",
           "2 5 9 14;5:1,8:1", "1 5 5 500;5:1", "0 1 0 0;", " 1 5 5 5;5:1", "1 5 5 5;;5:1",
           "1 5 5 5;5:99999999999999999999999", "1 5 5 5;-5:1",
           "1 5 5 9999999999999999999999999999999999999999999;5:1"}) {
    std::string error;
    EXPECT_FALSE(Histogram::Parse(bad, h.get(), &error)) << bad;
    EXPECT_NE(error.find("histogram"), std::string::npos) << bad << ": " << error;
    EXPECT_EQ(h->Serialize(), before) << "a failed Parse must leave the histogram alone";
  }
}

TEST(Histogram, ClampsAboveTheTopAndBelowZero) {
  auto h = std::make_unique<Histogram>();
  const int64_t huge = int64_t{1} << 50;
  h->Record(huge);
  h->Record(int64_t{1} << Histogram::kMaxBits);
  h->Record(INT64_MAX);
  EXPECT_EQ(h->count(), 3u);
  EXPECT_EQ(h->NonEmpty(), (std::vector<std::pair<int, uint64_t>>{{Histogram::kBuckets - 1, 3}}));
  EXPECT_EQ(h->max(), INT64_MAX);  // the true maximum is kept
  EXPECT_EQ(h->Quantile(0.5), INT64_MAX);
  EXPECT_EQ(Histogram::IndexOf(INT64_MAX), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::IndexOf(kTop), Histogram::kBuckets - 1);

  auto low = std::make_unique<Histogram>();
  low->Record(-5);
  low->Record(INT64_MIN);
  EXPECT_EQ(low->count(), 2u);
  EXPECT_EQ(low->NonEmpty(), (std::vector<std::pair<int, uint64_t>>{{0, 2}}));
  EXPECT_EQ(low->min(), 0);
  EXPECT_EQ(low->max(), 0);
  EXPECT_EQ(Histogram::IndexOf(-1), 0);
}

TEST(Histogram, EmptyReportsZero) {
  auto h = std::make_unique<Histogram>();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->min(), 0);
  EXPECT_EQ(h->max(), 0);
  EXPECT_EQ(h->mean(), 0);
  for (double q : {0.0, 0.5, 1.0}) EXPECT_EQ(h->Quantile(q), 0);
  EXPECT_TRUE(h->NonEmpty().empty());

  h->Record(1000);
  h->Clear();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->Quantile(0.5), 0);
  EXPECT_TRUE(h->NonEmpty().empty());
  h->Record(7);
  EXPECT_EQ(h->min(), 7);  // Clear reset the minimum too
}

TEST(Histogram, MeanUsesTheTrueValues) {
  auto h = std::make_unique<Histogram>();
  for (int64_t v = 1; v <= 1000; ++v) h->Record(v * 1'000'003);
  EXPECT_DOUBLE_EQ(h->mean(), 500.5 * 1'000'003);
  auto big = std::make_unique<Histogram>();
  big->Record(int64_t{1} << 50);
  big->Record(0);
  EXPECT_DOUBLE_EQ(big->mean(), static_cast<double>(int64_t{1} << 49));
}

TEST(Histogram, RecordNIsNRecords) {
  auto a = std::make_unique<Histogram>();
  auto b = std::make_unique<Histogram>();
  a->RecordN(123'456'789, 5);
  a->RecordN(999, 0);  // counts nothing, moves no extreme
  for (int i = 0; i < 5; ++i) b->Record(123'456'789);
  ExpectSame(*a, *b);
}

}  // namespace
}  // namespace herd
