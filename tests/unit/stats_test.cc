#include "analyze/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace herd {
namespace {

// --- Theil-Sen ------------------------------------------------------------

TEST(TheilSen, HandComputedLine) {
  // Slopes of the 10 pairs (i<j): (0,1) 2, (0,2) 1/2, (0,3) 4/3, (0,4) 3/4,
  // (1,2) -1, (1,3) 1, (1,4) 1/3, (2,3) 3, (2,4) 1, (3,4) -1.
  // Sorted: -1 -1 1/3 1/2 3/4 | 1 1 4/3 2 3: median (3/4 + 1) / 2 = 0.875.
  // y - 0.875 x = 1, 2.125, 0.25, 2.375, 0.5: median 1.
  Line line = TheilSen({0, 1, 2, 3, 4}, {1, 3, 2, 5, 4});
  EXPECT_DOUBLE_EQ(line.slope, 0.875);
  EXPECT_DOUBLE_EQ(line.intercept, 1.0);
}

TEST(TheilSen, OrderOfThePointsDoesNotMatter) {
  // The same points as HandComputedLine, shuffled.
  Line line = TheilSen({3, 0, 4, 2, 1}, {5, 1, 4, 2, 3});
  EXPECT_DOUBLE_EQ(line.slope, 0.875);
  EXPECT_DOUBLE_EQ(line.intercept, 1.0);
}

TEST(TheilSen, IgnoresAnOutlier) {
  // y = 2x except the last point. Six slopes are 2; those with the outlier
  // are 98/4, 96/3, 94/2, 92/1. Ten slopes: median = mean of 5th and 6th = 2.
  // Residuals y - 2x: 0, 0, 0, 0, 90: median 0. (Least squares: slope 20.)
  Line line = TheilSen({1, 2, 3, 4, 5}, {2, 4, 6, 8, 100});
  EXPECT_DOUBLE_EQ(line.slope, 2.0);
  EXPECT_DOUBLE_EQ(line.intercept, 0.0);
}

TEST(TheilSen, EvenCountTakesTheMeanOfTheTwoMiddleValues) {
  // Slopes: 1, 1, 10/3, 1, 9/2, 8. Sorted 1 1 1 | 10/3 9/2 8:
  // median (1 + 10/3) / 2 = 13/6. Residuals y - 13/6 x: 0, -7/6, -14/6, 21/6;
  // sorted -14/6 -7/6 | 0 21/6: median -7/12.
  Line line = TheilSen({0, 1, 2, 3}, {0, 1, 2, 10});
  EXPECT_NEAR(line.slope, 13.0 / 6, 1e-15);
  EXPECT_NEAR(line.intercept, -7.0 / 12, 1e-15);
}

TEST(TheilSen, SkipsPairsWithTheSameX) {
  // (0,1) has x equal: skipped. (0,2): 4/1 = 4, (1,2): -6/1 = -6: median -1.
  // y - (-1) x = 1, 11, 6: median 6.
  Line line = TheilSen({1, 1, 2}, {0, 10, 4});
  EXPECT_DOUBLE_EQ(line.slope, -1.0);
  EXPECT_DOUBLE_EQ(line.intercept, 6.0);
}

TEST(TheilSen, FewerThanTwoDistinctX) {
  Line same_x = TheilSen({2, 2, 2, 2}, {5, 1, 3, 9});
  EXPECT_EQ(same_x.slope, 0.0);
  EXPECT_DOUBLE_EQ(same_x.intercept, 4.0);  // median of 1 3 5 9
  Line one = TheilSen({7}, {3});
  EXPECT_EQ(one.slope, 0.0);
  EXPECT_EQ(one.intercept, 3.0);
  Line none = TheilSen({}, {});
  EXPECT_EQ(none.slope, 0.0);
  EXPECT_EQ(none.intercept, 0.0);
}

TEST(TheilSen, MismatchedLengthsUseThePointsWithBothCoordinates) {
  Line line = TheilSen({0, 1, 2}, {0, 2, 4, 1000});
  EXPECT_DOUBLE_EQ(line.slope, 2.0);
  EXPECT_DOUBLE_EQ(line.intercept, 0.0);
}

// Reference: every pair, sorted, (a + b) / 2 for an even count.
double BruteForceSlope(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> slopes;
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = i + 1; j < x.size(); ++j) {
      if (x[i] != x[j]) slopes.push_back((y[j] - y[i]) / (x[j] - x[i]));
    }
  }
  std::sort(slopes.begin(), slopes.end());
  size_t m = slopes.size() / 2;
  return slopes.size() % 2 ? slopes[m] : (slopes[m - 1] + slopes[m]) / 2;
}

TEST(TheilSen, ExactUpTo2000Points) {
  // Noisy data: any subsample of the points would give another median.
  std::mt19937_64 rng(42);
  for (size_t n : {1999, 2000}) {
    std::vector<double> x(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = static_cast<double>(rng() % 5000);  // some x repeat
      y[i] = 0.25 * x[i] + static_cast<double>(rng() % 1000);
    }
    EXPECT_DOUBLE_EQ(TheilSen(x, y).slope, BruteForceSlope(x, y)) << n;
  }
}

TEST(TheilSen, LargeSeriesAreSubsampledAndStayRobust) {
  // y = 3x + 1 exactly, with a fifth of the points replaced by outliers
  // (both signs, chosen pseudo-randomly so no stride of the subsample
  // aliases with them). Well under the ~29% breakdown point, the median
  // slope is exactly 3 and the median residual exactly 1.
  std::mt19937_64 rng(7);
  for (size_t n : {2001, 5000, 100000}) {
    std::vector<double> x(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = static_cast<double>(i);
      y[i] = 3 * x[i] + 1;
      if (rng() % 5 == 0) y[i] += (rng() % 2 ? 1 : -1) * 1e6;
    }
    auto start = std::chrono::steady_clock::now();
    Line line = TheilSen(x, y);
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(line.slope, 3.0) << n;
    EXPECT_EQ(line.intercept, 1.0) << n;
    // The work is capped: ~2 million slopes however long the series.
    EXPECT_LT(elapsed, std::chrono::seconds(5)) << n;
    // Deterministic.
    Line again = TheilSen(x, y);
    EXPECT_EQ(again.slope, line.slope);
    EXPECT_EQ(again.intercept, line.intercept);
  }
}

TEST(TheilSen, LargeNoisyTrend) {
  // 10 000 points of y = 0.5 x + uniform noise in [0, 100): the subsampled
  // slope stays close to 0.5 (the exact estimator's spread here is ~0.001).
  std::mt19937_64 rng(3);
  const size_t n = 10000;
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = static_cast<double>(i);
    y[i] = 0.5 * x[i] + static_cast<double>(rng() % 100);
  }
  Line line = TheilSen(x, y);
  EXPECT_NEAR(line.slope, 0.5, 0.01);
  EXPECT_NEAR(line.intercept, 49.5, 3);
}

// --- Mann-Kendall -----------------------------------------------------------

TEST(MannKendall, Increasing) {
  // n = 5, every pair concordant: S = 10. Var = 5*4*15/18 = 50/3.
  // Z = (10 - 1) / sqrt(50/3) = 2.20454...; p = 2 (1 - Phi(Z)).
  MannKendall mk = MannKendallTest({1, 2, 3, 4, 5});
  EXPECT_EQ(mk.s, 10);
  EXPECT_DOUBLE_EQ(mk.var_s, 50.0 / 3);
  EXPECT_DOUBLE_EQ(mk.z, 9 / std::sqrt(50.0 / 3));
  EXPECT_NEAR(mk.z, 2.2045407685048604, 1e-12);
  EXPECT_NEAR(mk.p, 0.027486336111510353, 1e-12);
  EXPECT_DOUBLE_EQ(mk.tau, 1.0);
}

TEST(MannKendall, Decreasing) {
  MannKendall mk = MannKendallTest({5, 4, 3, 2, 1});
  EXPECT_EQ(mk.s, -10);
  EXPECT_DOUBLE_EQ(mk.var_s, 50.0 / 3);
  EXPECT_NEAR(mk.z, -2.2045407685048604, 1e-12);  // (S + 1) / sqrt(Var)
  EXPECT_NEAR(mk.p, 0.027486336111510353, 1e-12);
  EXPECT_DOUBLE_EQ(mk.tau, -1.0);
}

TEST(MannKendall, TiesReduceTheVariance) {
  // y = 1 2 2 3 3 3 4, n = 7, 21 pairs. Never decreasing, so every pair is
  // +1 except the tied ones: 1 pair among the two 2s, 3 among the three 3s.
  // S = 21 - 4 = 17.
  // n(n-1)(2n+5) = 7*6*19 = 798. Tie groups: t=2: 2*1*9 = 18; t=3: 3*2*11 = 66.
  // Var = (798 - 18 - 66) / 18 = 714/18 = 119/3 = 39.667 (without ties: 44.333).
  // Z = 16 / sqrt(119/3) = 2.54043, p = 0.0110716, tau = 17/21.
  MannKendall mk = MannKendallTest({1, 2, 2, 3, 3, 3, 4});
  EXPECT_EQ(mk.s, 17);
  EXPECT_DOUBLE_EQ(mk.var_s, 119.0 / 3);
  EXPECT_NEAR(mk.z, 2.540429395319823, 1e-12);
  EXPECT_NEAR(mk.p, 0.011071644553191887, 1e-12);
  EXPECT_DOUBLE_EQ(mk.tau, 17.0 / 21);
}

TEST(MannKendall, ZOfExactlyTwo) {
  // Nine values in three tie groups of 3: Var = (9*8*23 - 3*66)/18
  // = (1656 - 198)/18 = 81, sqrt 9. y = 1 2 1 1 3 2 2 3 3: 36 pairs, 9 tied,
  // 4 discordant (the 2 before two 1s, the 3 before two 2s), 23 concordant:
  // S = 19, Z = (19 - 1)/9 = 2 exactly, and p = P(|N(0,1)| > 2) = 0.0455003
  // from any normal table.
  MannKendall up = MannKendallTest({1, 2, 1, 1, 3, 2, 2, 3, 3});
  EXPECT_EQ(up.s, 19);
  EXPECT_DOUBLE_EQ(up.var_s, 81.0);
  EXPECT_DOUBLE_EQ(up.z, 2.0);
  EXPECT_NEAR(up.p, 0.04550026389635842, 1e-13);
  EXPECT_DOUBLE_EQ(up.tau, 19.0 / 36);
  // Reversed: S = -19, Z = (-19 + 1)/9 = -2, the same p.
  MannKendall down = MannKendallTest({3, 3, 2, 2, 3, 1, 1, 2, 1});
  EXPECT_EQ(down.s, -19);
  EXPECT_DOUBLE_EQ(down.var_s, 81.0);
  EXPECT_DOUBLE_EQ(down.z, -2.0);
  EXPECT_NEAR(down.p, 0.04550026389635842, 1e-13);
  EXPECT_DOUBLE_EQ(down.tau, -19.0 / 36);
}

TEST(MannKendall, TextbookExample) {
  // "A Mann-Kendall Example (By Hand)", College of the Holy Cross
  // (mathcs.holycross.edu/~little/Montserrat/MannKendallByHand.txt):
  // 14 values, 72 pairs up, 18 down, 1 tie: S = 54,
  // V = (14)(13)(33)/18 - (2)(1)(9)/18, Z = 2.9058; the page quotes the
  // one-sided p "about .0018", so the two-sided p is about .0036.
  MannKendall mk = MannKendallTest(
      {12.9, 14.8, 13.2, 15.7, 13.8, 15.6, 12.9, 11.0, 17.3, 15.9, 19.0, 18.3, 20.1, 21.7});
  EXPECT_EQ(mk.s, 54);
  EXPECT_DOUBLE_EQ(mk.var_s, (14.0 * 13 * 33 - 2 * 1 * 9) / 18);
  EXPECT_NEAR(mk.z, 2.9058, 5e-5);
  EXPECT_NEAR(mk.p, 2 * 0.0018, 1e-4);
  EXPECT_NEAR(mk.p, 0.003662723762882436, 1e-12);
  EXPECT_DOUBLE_EQ(mk.tau, 54.0 / 91);
}

TEST(MannKendall, NoTrendWithNonZeroVariance) {
  // 1 3 3 1: pairs +1 +1 0 0 -1 -1: S = 0. Var = (4*3*13 - 2*18)/18 = 20/3.
  MannKendall mk = MannKendallTest({1, 3, 3, 1});
  EXPECT_EQ(mk.s, 0);
  EXPECT_DOUBLE_EQ(mk.var_s, 20.0 / 3);
  EXPECT_EQ(mk.z, 0.0);
  EXPECT_EQ(mk.p, 1.0);
  EXPECT_EQ(mk.tau, 0.0);
}

TEST(MannKendall, ConstantSeries) {
  // One tie group of n: Var = 0. S = 0, Z = 0, p = 1.
  MannKendall mk = MannKendallTest({4, 4, 4, 4, 4});
  EXPECT_EQ(mk.s, 0);
  EXPECT_EQ(mk.var_s, 0.0);
  EXPECT_EQ(mk.z, 0.0);
  EXPECT_EQ(mk.p, 1.0);
  EXPECT_EQ(mk.tau, 0.0);
}

TEST(MannKendall, FewerThanThreePoints) {
  for (const std::vector<double>& y :
       {std::vector<double>{}, std::vector<double>{1}, std::vector<double>{1, 2}}) {
    MannKendall mk = MannKendallTest(y);
    EXPECT_EQ(mk.s, 0) << y.size();  // even {1, 2}, whose one pair is +1
    EXPECT_EQ(mk.var_s, 0.0);
    EXPECT_EQ(mk.z, 0.0);
    EXPECT_EQ(mk.p, 1.0);
    EXPECT_EQ(mk.tau, 0.0);
  }
}

TEST(MannKendall, LongSeriesMatchTheDefinition) {
  // 3000 points with many ties (values 0..49 plus a slight trend): S and
  // Var(S) against the O(n^2) definition.
  std::mt19937_64 rng(11);
  const int64_t n = 3000;
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<double>(rng() % 50 + i / 500);
  int64_t s = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = i + 1; j < n; ++j) s += (y[j] > y[i]) - (y[j] < y[i]);
  }
  std::vector<double> sorted(y);
  std::sort(sorted.begin(), sorted.end());
  double ties = 0;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    double t = static_cast<double>(j - i);
    ties += t * (t - 1) * (2 * t + 5);
    i = j;
  }
  MannKendall mk = MannKendallTest(y);
  EXPECT_EQ(mk.s, s);
  EXPECT_DOUBLE_EQ(mk.var_s, (double(n) * (n - 1) * (2 * n + 5) - ties) / 18);
  EXPECT_GT(mk.s, 0);
  EXPECT_DOUBLE_EQ(mk.z, (s - 1) / std::sqrt(mk.var_s));
  EXPECT_DOUBLE_EQ(mk.p, std::erfc(mk.z / std::sqrt(2.0)));
  EXPECT_DOUBLE_EQ(mk.tau, double(s) / (double(n) * (n - 1) / 2));
}

// --- spreading and fairness ---------------------------------------------

TEST(PeakToMean, HandValues) {
  EXPECT_DOUBLE_EQ(PeakToMean({1, 2, 3, 6}), 2.0);  // mean 3, max 6
  EXPECT_DOUBLE_EQ(PeakToMean({5, 5, 5}), 1.0);
  EXPECT_DOUBLE_EQ(PeakToMean({4}), 1.0);
  EXPECT_DOUBLE_EQ(PeakToMean({0, 0, 10, 0}), 4.0);  // mean 2.5
  EXPECT_EQ(PeakToMean({}), 0.0);
  EXPECT_EQ(PeakToMean({0, 0}), 0.0);
}

TEST(CoefficientOfVariation, HandValues) {
  // Mean 5; squared deviations 9 1 1 1 0 0 4 16 = 32, / 8 = 4: sd 2.
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({2, 4, 4, 4, 5, 5, 7, 9}), 0.4);
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({1, 3}), 0.5);  // population sd 1, not sqrt 2
  EXPECT_DOUBLE_EQ(CoefficientOfVariation({0, 0, 10, 0}), std::sqrt(3.0));  // sd 2.5 sqrt 3
  EXPECT_EQ(CoefficientOfVariation({3, 3, 3}), 0.0);
  EXPECT_EQ(CoefficientOfVariation({}), 0.0);
  EXPECT_EQ(CoefficientOfVariation({0, 0}), 0.0);
}

TEST(JainIndex, HandValues) {
  EXPECT_DOUBLE_EQ(JainIndex({1, 1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(JainIndex({1, 0, 0, 0}), 0.25);       // 1 / n
  EXPECT_DOUBLE_EQ(JainIndex({1, 2, 3}), 36.0 / 42);     // 6^2 / (3 * 14)
  EXPECT_DOUBLE_EQ(JainIndex({3, 1}), 16.0 / 20);        // 4^2 / (2 * 10)
  EXPECT_DOUBLE_EQ(JainIndex({7}), 1.0);
  EXPECT_EQ(JainIndex({}), 1.0);
  EXPECT_EQ(JainIndex({0, 0, 0}), 1.0);
}

// --- recovery -------------------------------------------------------------

TEST(RecoveryTime, RecoversInTheFirstBucketAfterTheWindow) {
  // 1 s buckets; the window ends at 5 s; bucket 5 on are all back.
  std::vector<double> v = {10, 10, 0, 0, 0, 10, 10, 10, 10};
  std::optional<double> r = RecoveryTime(v, 1.0, 5.0, 9.5, 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0.0);
}

TEST(RecoveryTime, RecoversAfterSomeBuckets) {
  // Ends at 2 s; buckets 2, 3, 4 still low, 5.. back: 3 s.
  std::vector<double> v = {10, 0, 0, 1, 5, 10, 10, 10, 10};
  std::optional<double> r = RecoveryTime(v, 1.0, 2.0, 9.5, 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 3.0);
  // The target is inclusive: 9.5 meets 9.5.
  std::vector<double> w = {10, 0, 0, 9.5, 9.5, 9.5};
  r = RecoveryTime(w, 1.0, 2.0, 9.5, 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 1.0);
}

TEST(RecoveryTime, ADipWithinTheHoldRestartsTheCount) {
  // Ends at 2 s. Bucket 2 and 3 are fine but 4 dips: with hold 3 neither 2
  // nor 3 counts, nor 4; bucket 5 starts 3 good ones: 5 - 2 = 3 s.
  std::vector<double> v = {10, 0, 10, 10, 0, 10, 10, 10, 0};
  std::optional<double> r = RecoveryTime(v, 1.0, 2.0, 9.5, 3);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 3.0);
  // With hold 2, bucket 2 (2 and 3 good) is enough.
  r = RecoveryTime(v, 1.0, 2.0, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0.0);
}

TEST(RecoveryTime, NeverRecovers) {
  // Metastable: stuck low after the window.
  std::vector<double> v = {10, 10, 0, 2, 3, 2, 3, 2};
  EXPECT_FALSE(RecoveryTime(v, 1.0, 2.0, 9.5, 3).has_value());
  // Good before the window's end does not count: ending at 3 s, never; at
  // 2 s, bucket 2 would have been enough.
  std::vector<double> w = {10, 10, 10, 0, 0, 0};
  EXPECT_FALSE(RecoveryTime(w, 1.0, 3.0, 9.5, 1).has_value());
  EXPECT_EQ(RecoveryTime(w, 1.0, 2.0, 9.5, 1), std::optional<double>(0.0));
  // The window ends at or after the end of the series.
  EXPECT_FALSE(RecoveryTime(w, 1.0, 6.0, 9.5, 1).has_value());
  EXPECT_FALSE(RecoveryTime(w, 1.0, 100.0, 9.5, 1).has_value());
  EXPECT_FALSE(RecoveryTime({}, 1.0, 0.0, 9.5, 1).has_value());
}

TEST(RecoveryTime, EndBetweenBucketBoundaries) {
  // 2 s buckets; the window ends at 3.5 s, inside bucket 1 [2, 4). Bucket 1
  // is good but does not count: it starts before the end. Bucket 2 (starts
  // at 4 s) is the first candidate, and it is bad; bucket 3 (6 s) recovers:
  // 6 - 3.5 = 2.5 s.
  std::vector<double> v = {10, 10, 0, 10, 10, 10};
  std::optional<double> r = RecoveryTime(v, 2.0, 3.5, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 2.5);
  // Bucket 2 good: 4 - 3.5 = 0.5 s.
  std::vector<double> w = {10, 10, 10, 10, 10, 10};
  r = RecoveryTime(w, 2.0, 3.5, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0.5);
  // 0.5 s buckets, end at 1.25 s: bucket 3 starts at 1.5 s.
  r = RecoveryTime({0, 0, 0, 10, 10}, 0.5, 1.25, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0.25);
}

TEST(RecoveryTime, BucketStartsAreComparedAsComputed) {
  // 0.1 s buckets. 3 * 0.1 is 0.30000000000000004: an end of 0.3 s is
  // before it, so bucket 3 is the first candidate (not 4), recovery ~0.
  std::vector<double> v = {0, 0, 0, 10, 10, 10};
  std::optional<double> r = RecoveryTime(v, 0.1, 0.3, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_NEAR(*r, 0.0, 1e-15);
  EXPECT_GE(*r, 0.0);
  // An end exactly on bucket 3's start (0.30000000000000004, though
  // end / width rounds to just above 3): bucket 3, exactly 0.
  r = RecoveryTime(v, 0.1, 3 * 0.1, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 0.0);
  // With bucket 3 bad, bucket 4: 0.4 - 0.3 (~0.1).
  std::vector<double> w = {0, 0, 0, 0, 10, 10};
  r = RecoveryTime(w, 0.1, 0.3, 9.5, 2);
  ASSERT_TRUE(r.has_value());
  EXPECT_NEAR(*r, 0.1, 1e-15);
}

TEST(RecoveryTime, ShorterThanHoldAtTheEnd) {
  // Hold 5 but only 2 buckets remain after the dip at bucket 3: up to the
  // end of the series counts. Ends at 1 s: buckets 1, 2 good but 3 bad;
  // 4 and 5 good to the end: 4 - 1 = 3 s.
  std::vector<double> v = {10, 10, 10, 0, 10, 10};
  std::optional<double> r = RecoveryTime(v, 1.0, 1.0, 9.5, 5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 3.0);
  // Only the very last bucket meets the target: it is enough.
  std::vector<double> w = {10, 0, 0, 0, 10};
  r = RecoveryTime(w, 1.0, 1.0, 9.5, 5);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 3.0);
  // The last bucket is bad: never.
  std::vector<double> u = {10, 0, 10, 10, 0};
  EXPECT_FALSE(RecoveryTime(u, 1.0, 1.0, 9.5, 5).has_value());
}

TEST(RecoveryTime, EdgeParameters) {
  std::vector<double> v = {0, 10, 0, 10};
  // hold < 1 is taken as 1: bucket 1.
  std::optional<double> r = RecoveryTime(v, 1.0, 0.0, 9.5, 0);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 1.0);
  // A window that ended before the series: from bucket 0, never negative.
  r = RecoveryTime({10, 10}, 1.0, -2.0, 9.5, 1);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 2.0);
  // No bucket width: nothing to say.
  EXPECT_FALSE(RecoveryTime(v, 0.0, 0.0, 9.5, 1).has_value());
  EXPECT_FALSE(RecoveryTime(v, -1.0, 0.0, 9.5, 1).has_value());
}

// --- durability -------------------------------------------------------------

WriteRecord W(std::string key, std::string value, WriteFate fate) {
  return WriteRecord{std::move(key), std::move(value), fate};
}

TEST(CheckSet, EveryCategory) {
  const auto ok = WriteFate::kAcknowledged;
  const auto fail = WriteFate::kFailed;
  const auto info = WriteFate::kIndeterminate;
  std::vector<WriteRecord> writes = {
      W("a", "va", ok),    // read back: fine
      W("b", "vb", ok),    // missing: lost
      W("c", "vc", fail),  // missing: fine
      W("d", "vd", fail),  // read back: unexpected
      W("e", "ve", info),  // read back: recovered
      W("f", "vf", info),  // missing: fine
      W("g", "vg", ok),    // read back as "other" (never written): lost and unexpected
      W("h", "vh", info),  // read back as "zz" (never written): unexpected only
      W("i", "vi", ok),    // read back as "vj", j's value: lost; "vj" is not j's key's
      W("j", "vj", info),  // missing: fine
  };
  std::vector<std::pair<std::string, std::string>> read_back = {
      {"a", "va"}, {"d", "vd"}, {"e", "ve"}, {"g", "other"},
      {"h", "zz"}, {"i", "vj"}, {"z", "vz"},  // z: never attempted
  };
  SetCheck c = CheckSet(writes, read_back);
  EXPECT_EQ(c.attempted, 10);
  EXPECT_EQ(c.acknowledged, 4);
  EXPECT_EQ(c.failed, 2);
  EXPECT_EQ(c.indeterminate, 4);
  EXPECT_EQ(c.lost, 3);
  EXPECT_EQ(c.recovered, 1);
  EXPECT_EQ(c.unexpected, 5);
  EXPECT_EQ(c.lost_keys, (std::vector<std::string>{"b", "g", "i"}));
  EXPECT_EQ(c.unexpected_keys, (std::vector<std::string>{"d", "g", "h", "i", "z"}));
  EXPECT_FALSE(c.valid());
}

TEST(CheckSet, ValidWhenNothingIsLostOrUnexpected) {
  std::vector<WriteRecord> writes = {
      W("a", "1", WriteFate::kAcknowledged),
      W("b", "2", WriteFate::kAcknowledged),
      W("c", "3", WriteFate::kIndeterminate),  // applied after all
      W("d", "4", WriteFate::kIndeterminate),  // never applied
      W("e", "5", WriteFate::kFailed),
  };
  SetCheck c = CheckSet(writes, {{"b", "2"}, {"a", "1"}, {"c", "3"}});
  EXPECT_TRUE(c.valid());
  EXPECT_EQ(c.attempted, 5);
  EXPECT_EQ(c.acknowledged, 2);
  EXPECT_EQ(c.indeterminate, 2);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.recovered, 1);
  EXPECT_EQ(c.lost, 0);
  EXPECT_EQ(c.unexpected, 0);
  EXPECT_TRUE(c.lost_keys.empty());
  EXPECT_TRUE(c.unexpected_keys.empty());

  SetCheck empty = CheckSet({}, {});
  EXPECT_TRUE(empty.valid());
  EXPECT_EQ(empty.attempted, 0);
}

TEST(CheckSet, LostOrUnexpectedAloneIsInvalid) {
  SetCheck lost = CheckSet({W("a", "1", WriteFate::kAcknowledged)}, {});
  EXPECT_EQ(lost.lost, 1);
  EXPECT_EQ(lost.unexpected, 0);
  EXPECT_FALSE(lost.valid());
  SetCheck unexpected = CheckSet({}, {{"x", "1"}});
  EXPECT_EQ(unexpected.lost, 0);
  EXPECT_EQ(unexpected.unexpected, 1);
  EXPECT_FALSE(unexpected.valid());
  SetCheck failed_back = CheckSet({W("a", "1", WriteFate::kFailed)}, {{"a", "1"}});
  EXPECT_EQ(failed_back.unexpected, 1);
  EXPECT_EQ(failed_back.unexpected_keys, std::vector<std::string>{"a"});
  EXPECT_FALSE(failed_back.valid());
}

TEST(CheckSet, DuplicateReadBackCountsOnce) {
  SetCheck c = CheckSet({W("e", "1", WriteFate::kIndeterminate)},
                        {{"e", "1"}, {"e", "1"}, {"x", "9"}, {"x", "9"}});
  EXPECT_EQ(c.recovered, 1);
  EXPECT_EQ(c.unexpected, 1);
  EXPECT_EQ(c.unexpected_keys, std::vector<std::string>{"x"});
}

TEST(CheckSet, KeyListsStopAtTwenty) {
  std::vector<WriteRecord> writes;
  std::vector<std::pair<std::string, std::string>> read_back;
  for (int i = 0; i < 25; ++i) {
    writes.push_back(W("lost" + std::to_string(i), "v" + std::to_string(i),
                       WriteFate::kAcknowledged));
    read_back.emplace_back("new" + std::to_string(i), "u" + std::to_string(i));
  }
  SetCheck c = CheckSet(writes, read_back);
  EXPECT_EQ(c.lost, 25);        // the counts are complete
  EXPECT_EQ(c.unexpected, 25);
  ASSERT_EQ(c.lost_keys.size(), 20u);  // the lists are not
  ASSERT_EQ(c.unexpected_keys.size(), 20u);
  for (int i = 0; i < 20; ++i) {  // the first ones, in input order
    EXPECT_EQ(c.lost_keys[i], "lost" + std::to_string(i));
    EXPECT_EQ(c.unexpected_keys[i], "new" + std::to_string(i));
  }
}

}  // namespace
}  // namespace herd
