#include "measure/timeseries.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace herd {

// Reaches into TimeSeries to see what it holds in memory: a sealed bucket
// must keep no dense (37 KB) histogram.
class TimeSeriesPeer {
 public:
  static size_t Dense(const TimeSeries& ts) { return ts.DenseHistograms(); }
  static size_t Pooled(const TimeSeries& ts) { return ts.pool_.size(); }
  static size_t Open(const TimeSeries& ts) { return ts.open_.size(); }
  static const Histogram* AttemptDense(const TimeSeries& ts, size_t fleet, size_t bucket) {
    return ts.per_fleet_[fleet][bucket].dense[TimeSeries::kAttemptLatency].get();
  }
};

namespace {

using namespace std::chrono_literals;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.push_back("");
  return fields;
}

constexpr const char* kHeader =
    "t_s,fleet,offered,attempts,retries,ok,not_found,throttled,shed,server_error,client_error,"
    "timeout,refused,reset,other_error,succeeded,abandoned,budget_denied,breaker_rejected,"
    "client_throttled,in_flight,lat_p50_ms,lat_p90_ms,lat_p99_ms,lat_max_ms,e2e_p99_ms";

TEST(TimeSeries, EventsLandInTheirBuckets) {
  TimeSeries ts(1s, {"clients"});
  EXPECT_EQ(ts.buckets(), 0u);
  ts.Offered(0, 0ms);
  ts.Offered(0, 999ms);
  ts.Offered(0, -1500ms);  // before the start: bucket 0
  ts.Offered(0, 1s);
  ts.Offered(0, 2500ms);
  ts.Offered(0, 4999999999ns);
  EXPECT_EQ(ts.buckets(), 5u);
  EXPECT_EQ(ts.counts(0, 0).offered, 3u);
  EXPECT_EQ(ts.counts(0, 1).offered, 1u);
  EXPECT_EQ(ts.counts(0, 2).offered, 1u);
  EXPECT_EQ(ts.counts(0, 3).offered, 0u);
  EXPECT_EQ(ts.counts(0, 4).offered, 1u);
  EXPECT_EQ(ts.counts(0, 99).offered, 0u);  // beyond the end: zeros
}

TEST(TimeSeries, CountsAttemptsRetriesOutcomesAndResults) {
  TimeSeries ts(1s, {"clients"});
  for (int i = 0; i < 3; ++i) ts.Attempt(0, 1100ms, false);
  for (int i = 0; i < 2; ++i) ts.Attempt(0, 1200ms, true);
  for (int o = 0; o < kOutcomes; ++o) {
    for (int i = 0; i <= o; ++i) ts.Outcome(0, 1500ms, static_cast<Outcome>(o), 1ms);
  }
  for (int i = 0; i < 4; ++i) ts.Succeeded(0, 1600ms, 2ms);
  for (int i = 0; i < 5; ++i) ts.Failed(0, 1600ms, 2ms);
  for (int i = 0; i < 6; ++i) ts.Abandoned(0, 1600ms, 2ms);
  for (int i = 0; i < 7; ++i) ts.BudgetDenied(0, 1700ms);
  for (int i = 0; i < 8; ++i) ts.BreakerRejected(0, 1700ms);
  for (int i = 0; i < 9; ++i) ts.ClientThrottled(0, 1700ms);

  const BucketCounts& c = ts.counts(0, 1);
  EXPECT_EQ(c.attempts, 5u);
  EXPECT_EQ(c.retries, 2u);
  for (int o = 0; o < kOutcomes; ++o) EXPECT_EQ(c.outcomes[o], uint64_t(o + 1)) << kOutcomeNames[o];
  EXPECT_EQ(c.succeeded, 4u);
  EXPECT_EQ(c.failed, 5u);
  EXPECT_EQ(c.abandoned, 6u);
  EXPECT_EQ(c.budget_denied, 7u);
  EXPECT_EQ(c.breaker_rejected, 8u);
  EXPECT_EQ(c.client_throttled, 9u);
  EXPECT_EQ(ts.attempt_latency(0, 1).count(), 55u);  // 1 + 2 + ... + 10 outcomes
  EXPECT_EQ(ts.e2e_latency(0, 1).count(), 15u);      // every ended request
  // Bucket 0 exists (index of last + 1) and is empty.
  EXPECT_EQ(ts.buckets(), 2u);
  EXPECT_EQ(ts.counts(0, 0).attempts, 0u);
  EXPECT_EQ(ts.attempt_latency(0, 0).count(), 0u);
}

TEST(TimeSeries, InFlightLatestWinsAndCarriesForward) {
  TimeSeries ts(1s, {"clients"});
  ts.InFlight(0, 500ms, 3);
  ts.InFlight(0, 900ms, 4);  // latest in the bucket wins
  ts.Offered(0, 2500ms);     // buckets 1 and 2 get no InFlight call
  ts.InFlight(0, 3200ms, 7);
  ts.Offered(0, 4100ms);
  std::vector<int64_t> got;
  for (size_t b = 0; b < ts.buckets(); ++b) got.push_back(ts.counts(0, b).in_flight);
  EXPECT_EQ(got, (std::vector<int64_t>{4, 4, 4, 7, 7}));

  // A late value for bucket 1 carries into 2, but not past bucket 3's own.
  ts.InFlight(0, 1500ms, 9);
  got.clear();
  for (size_t b = 0; b < ts.buckets(); ++b) got.push_back(ts.counts(0, b).in_flight);
  EXPECT_EQ(got, (std::vector<int64_t>{4, 9, 9, 7, 7}));

  EXPECT_EQ(ts.Total(0).in_flight, 7);
  EXPECT_EQ(ts.Total(0, 0, 3).in_flight, 9);
  const std::vector<std::string> lines = Lines(ts.Csv());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(Fields(lines[3])[20], "9");  // bucket 2's in_flight, carried
}

TEST(TimeSeries, TenMillisecondBuckets) {
  TimeSeries ts(10ms, {"clients"});
  ts.Offered(0, 0ms);
  ts.Offered(0, 9999us);
  ts.Offered(0, 10ms);
  ts.Offered(0, 25ms);
  ts.Offered(0, 1s);
  ASSERT_EQ(ts.buckets(), 101u);
  EXPECT_EQ(ts.counts(0, 0).offered, 2u);
  EXPECT_EQ(ts.counts(0, 1).offered, 1u);
  EXPECT_EQ(ts.counts(0, 2).offered, 1u);
  EXPECT_EQ(ts.counts(0, 100).offered, 1u);
  const std::vector<std::string> lines = Lines(ts.Csv());
  ASSERT_EQ(lines.size(), 102u);
  EXPECT_EQ(Fields(lines[1])[0], "0.000");
  EXPECT_EQ(Fields(lines[2])[0], "0.010");
  EXPECT_EQ(Fields(lines[3])[0], "0.020");
  EXPECT_EQ(Fields(lines[30])[0], "0.290");
  EXPECT_EQ(Fields(lines[101])[0], "1.000");
  EXPECT_EQ(Fields(lines[101])[2], "1");
}

TEST(TimeSeries, SealKeepsCountsAndLatenciesExact) {
  TimeSeries ts(1s, {"clients"});
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> latency(std::log(20e6), 1.0);  // ~20 ms, long tail
  for (int b = 0; b < 10; ++b) {
    for (int i = 0; i < 1000; ++i) {
      const Duration t = b * 1s + i * 1ms;
      ts.Outcome(0, t, i % 7 ? Outcome::kOk : Outcome::kShed, Duration(int64_t(latency(rng))));
      ts.Succeeded(0, t, Duration(int64_t(latency(rng) * 3)));
    }
  }
  std::vector<std::string> attempt_before, e2e_before;
  std::vector<int64_t> p99_before;
  for (size_t b = 0; b < ts.buckets(); ++b) {
    attempt_before.push_back(ts.attempt_latency(0, b).Serialize());
    e2e_before.push_back(ts.e2e_latency(0, b).Serialize());
    p99_before.push_back(ts.attempt_latency(0, b).Quantile(0.99));
  }
  const std::string total_before = ts.TotalAttemptLatency(0).Serialize();
  const std::string csv_before = ts.Csv();
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 20u);

  ts.Seal(10s);
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 0u);
  EXPECT_EQ(TimeSeriesPeer::Open(ts), 0u);
  for (size_t b = 0; b < ts.buckets(); ++b) {
    EXPECT_EQ(ts.attempt_latency(0, b).Serialize(), attempt_before[b]) << b;
    EXPECT_EQ(ts.e2e_latency(0, b).Serialize(), e2e_before[b]) << b;
    EXPECT_EQ(ts.attempt_latency(0, b).Quantile(0.99), p99_before[b]) << b;
    EXPECT_EQ(ts.counts(0, b).outcomes[static_cast<int>(Outcome::kOk)], 857u);
  }
  EXPECT_EQ(ts.TotalAttemptLatency(0).Serialize(), total_before);
  EXPECT_EQ(ts.Csv(), csv_before);  // quantiles from the sparse form match
}

TEST(TimeSeries, SealOnlyBucketsThatHaveEnded) {
  TimeSeries ts(1s, {"clients"});
  for (int b = 0; b < 4; ++b) ts.Outcome(0, b * 1s + 500ms, Outcome::kOk, 1ms);
  ts.Seal(2500ms);  // buckets 0 and 1 ended; 2 is still open
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 2u);
  ts.Seal(3s);  // bucket 2 ends exactly at 3 s
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 1u);
  ts.Seal(-1s);
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 1u);
}

TEST(TimeSeries, LateEventInASealedBucketIsStillCounted) {
  TimeSeries ts(1s, {"clients"});
  ts.Outcome(0, 100ms, Outcome::kOk, 3ms);
  ts.Seal(1s);
  ts.Outcome(0, 200ms, Outcome::kTimeout, 900ms);
  EXPECT_EQ(ts.counts(0, 0).outcomes[static_cast<int>(Outcome::kTimeout)], 1u);
  Histogram h = ts.attempt_latency(0, 0);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min(), 3'000'000);
  EXPECT_EQ(h.max(), 900'000'000);
  ts.Seal(1s);  // sealed again, still exact
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 0u);
  EXPECT_EQ(ts.attempt_latency(0, 0).Serialize(), h.Serialize());
}

TEST(TimeSeries, SteadyStateReusesDenseHistograms) {
  TimeSeries ts(1s, {"clients"});
  ts.Outcome(0, 100ms, Outcome::kOk, 1ms);
  const Histogram* first = TimeSeriesPeer::AttemptDense(ts, 0, 0);
  ASSERT_NE(first, nullptr);
  ts.Seal(1s);
  EXPECT_EQ(TimeSeriesPeer::Pooled(ts), 1u);
  ts.Outcome(0, 1100ms, Outcome::kOk, 1ms);
  // The histogram freed by bucket 0 serves bucket 1: no allocation.
  EXPECT_EQ(TimeSeriesPeer::AttemptDense(ts, 0, 1), first);
  EXPECT_EQ(TimeSeriesPeer::Pooled(ts), 0u);
  EXPECT_EQ(ts.attempt_latency(0, 1).count(), 1u);  // and it was cleared
}

TEST(TimeSeries, TotalsOverRanges) {
  TimeSeries ts(1s, {"clients"});
  for (int b = 0; b < 6; ++b) {
    for (int i = 0; i <= b; ++i) {
      ts.Offered(0, b * 1s);
      ts.Attempt(0, b * 1s, i > 0);
      ts.Outcome(0, b * 1s, Outcome::kThrottled, Duration((b + 1) * 1ms));
      ts.Abandoned(0, b * 1s, Duration((b + 1) * 10ms));
    }
    ts.InFlight(0, b * 1s, 100 + b);
  }
  ts.Seal(3s);  // half sealed, half open: totals must not care
  BucketCounts all = ts.Total(0);
  EXPECT_EQ(all.offered, 21u);
  EXPECT_EQ(all.attempts, 21u);
  EXPECT_EQ(all.retries, 15u);
  EXPECT_EQ(all.outcomes[static_cast<int>(Outcome::kThrottled)], 21u);
  EXPECT_EQ(all.abandoned, 21u);
  EXPECT_EQ(all.in_flight, 105);
  BucketCounts mid = ts.Total(0, 2, 4);  // buckets 2 and 3
  EXPECT_EQ(mid.offered, 7u);
  EXPECT_EQ(mid.retries, 5u);
  EXPECT_EQ(mid.in_flight, 103);
  EXPECT_EQ(ts.Total(0, 4, 4).offered, 0u);
  EXPECT_EQ(ts.Total(0, 5, 1000).offered, 6u);

  Histogram lat = ts.TotalAttemptLatency(0, 2, 4);
  EXPECT_EQ(lat.count(), 7u);
  EXPECT_EQ(lat.min(), 3'000'000);
  EXPECT_EQ(lat.max(), 4'000'000);
  Histogram merged = ts.attempt_latency(0, 2);
  merged.Merge(ts.attempt_latency(0, 3));
  EXPECT_EQ(lat.Serialize(), merged.Serialize());
  Histogram e2e = ts.TotalE2eLatency(0);
  EXPECT_EQ(e2e.count(), 21u);
  EXPECT_EQ(e2e.max(), 60'000'000);
}

TEST(TimeSeries, CsvHeaderAndRowFieldByField) {
  TimeSeries ts(1s, {"readers"});
  ts.Offered(0, 1100ms);
  ts.Offered(0, 1200ms);
  ts.Attempt(0, 1100ms, false);
  ts.Attempt(0, 1200ms, false);
  ts.Attempt(0, 1300ms, true);
  ts.Outcome(0, 1400ms, Outcome::kShed, 1ms);
  ts.Outcome(0, 1500ms, Outcome::kOk, 3ms);
  ts.Succeeded(0, 1500ms, 250ms);
  ts.BudgetDenied(0, 1600ms);
  ts.InFlight(0, 1900ms, 1);

  const std::vector<std::string> lines = Lines(ts.Csv());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], kHeader);
  // Bucket 0 had nothing: a zero row.
  EXPECT_EQ(lines[1], "0.000,readers,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0.000,0.000,0.000,0.000,0.000");
  const std::vector<std::string> f = Fields(lines[2]);
  const std::vector<std::string> names = Fields(kHeader);
  ASSERT_EQ(f.size(), names.size());
  const std::vector<std::pair<std::string, std::string>> want = {
      {"t_s", "1.000"}, {"fleet", "readers"}, {"offered", "2"}, {"attempts", "3"},
      {"retries", "1"}, {"ok", "1"}, {"not_found", "0"}, {"throttled", "0"}, {"shed", "1"},
      {"server_error", "0"}, {"client_error", "0"}, {"timeout", "0"}, {"refused", "0"},
      {"reset", "0"}, {"other_error", "0"}, {"succeeded", "1"}, {"abandoned", "0"},
      {"budget_denied", "1"}, {"breaker_rejected", "0"}, {"client_throttled", "0"},
      {"in_flight", "1"},
      // 1 ms is in the bucket [999424, 1003519] ns: p50 reports its upper edge.
      {"lat_p50_ms", "1.004"}, {"lat_p90_ms", "3.000"}, {"lat_p99_ms", "3.000"},
      {"lat_max_ms", "3.000"}, {"e2e_p99_ms", "250.000"}};
  ASSERT_EQ(want.size(), names.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(names[i], want[i].first);
    EXPECT_EQ(f[i], want[i].second) << want[i].first;
  }
}

TEST(TimeSeries, TwoFleetsInterleaved) {
  TimeSeries ts(1s, {"a", "b,c"});
  ts.Offered(0, 100ms);
  ts.Offered(1, 150ms);
  ts.Offered(1, 160ms);
  ts.Outcome(1, 2100ms, Outcome::kReset, 5ms);
  ts.Offered(0, 2200ms);
  ts.InFlight(0, 300ms, 2);
  EXPECT_EQ(ts.fleets(), 2u);
  EXPECT_EQ(ts.buckets(), 3u);
  EXPECT_EQ(ts.counts(0, 0).offered, 1u);
  EXPECT_EQ(ts.counts(1, 0).offered, 2u);
  EXPECT_EQ(ts.counts(1, 2).outcomes[static_cast<int>(Outcome::kReset)], 1u);
  EXPECT_EQ(ts.counts(0, 2).outcomes[static_cast<int>(Outcome::kReset)], 0u);
  EXPECT_EQ(ts.attempt_latency(0, 2).count(), 0u);
  EXPECT_EQ(ts.attempt_latency(1, 2).count(), 1u);
  EXPECT_EQ(ts.Total(0).offered, 2u);
  EXPECT_EQ(ts.Total(1).offered, 2u);

  const std::vector<std::string> lines = Lines(ts.Csv());
  ASSERT_EQ(lines.size(), 7u);  // bucket-major, fleets in order
  const std::vector<std::string> rows = {"0.000,a,", "0.000,\"b,c\",", "1.000,a,",
                                         "1.000,\"b,c\",", "2.000,a,", "2.000,\"b,c\","};
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(lines[i + 1].substr(0, rows[i].size()), rows[i]) << lines[i + 1];
  }
  EXPECT_EQ(lines[3].substr(0, 10), "1.000,a,0,");
  EXPECT_EQ(Fields(lines[5])[20], "2");  // fleet a's in_flight carried to bucket 2
}

TEST(TimeSeries, AnHourOfSealedBucketsHoldsNoDenseHistogram) {
  TimeSeries ts(1s, {"clients"});
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<int64_t> latency(100'000, 2'000'000'000);
  size_t most_dense = 0;
  for (int b = 0; b < 3600; ++b) {
    for (int i = 0; i < 20; ++i) {
      const Duration t = b * 1s + i * 50ms;
      ts.Attempt(0, t, false);
      ts.Outcome(0, t, Outcome::kOk, Duration(latency(rng)));
      ts.Succeeded(0, t, Duration(latency(rng)));
    }
    ts.Seal(b * 1s);  // as the engine would, a bucket behind
    most_dense = std::max(most_dense, TimeSeriesPeer::Dense(ts));
  }
  EXPECT_LE(most_dense, 4u);  // two open buckets, two kinds each
  EXPECT_LE(TimeSeriesPeer::Pooled(ts), 16u);
  ts.Seal(3600s);
  EXPECT_EQ(TimeSeriesPeer::Dense(ts), 0u);
  // Sparse: each sealed bucket holds at most its 20 samples' buckets.
  size_t entries = 0;
  for (size_t b = 0; b < ts.buckets(); ++b) {
    const Histogram h = ts.attempt_latency(0, b);
    ASSERT_EQ(h.count(), 20u);
    entries += h.NonEmpty().size();
  }
  EXPECT_LE(entries, 3600u * 20u);
  EXPECT_EQ(ts.Total(0).attempts, 72'000u);
  EXPECT_EQ(ts.TotalE2eLatency(0).count(), 72'000u);
}

}  // namespace
}  // namespace herd
