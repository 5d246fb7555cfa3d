// The engine on the virtual clock against the model transport: exact and
// fast. The first proof is Cloud Native Go's figures 9-2 to 9-5: 1,000
// instances retrying a request that always fails after (U[0,100) +
// U[0,100)) ms, with four retry strategies.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "transport/model.h"

namespace herd {
namespace {

using namespace std::chrono_literals;

ModelSpec BookServer() {
  ModelSpec m;
  m.latency_min = 0ms;
  m.latency_max = 100ms;
  m.latency_terms = 2;
  m.error_rate = 1;
  m.error = Outcome::kServerError;
  return m;
}

Scenario BookScenario(Strategy strategy, Duration duration) {
  Scenario s;
  s.name = "book";
  s.duration = duration;
  s.seed = 7;
  Fleet f;
  f.instances = 1000;
  f.start_spread = 1s;
  f.arrival.model = Arrival::Model::kClosed;
  f.arrival.requests_per_instance = 1;
  f.timeout = 10s;
  f.retry.strategy = strategy;
  f.retry.base = 1s;
  f.retry.cap = 60s;
  f.retry.delay = 2s;
  f.retry.max_attempts = 0;
  s.fleets.push_back(f);
  return s;
}

// One open-model fleet without retries: `rate` requests/s over `instances`.
Scenario OpenScenario(double rate, int64_t instances, Duration duration) {
  Scenario s;
  s.name = "open";
  s.duration = duration;
  Fleet f;
  f.instances = instances;
  f.arrival.model = Arrival::Model::kOpen;
  f.arrival.rate = rate;
  f.retry.strategy = Strategy::kNone;
  s.fleets.push_back(f);
  return s;
}

struct Run {
  TimeSeries series;
  std::vector<uint32_t> attempts_per_instance;
  EngineTotals totals;
};

std::unique_ptr<Run> RunModel(const Scenario& s, const ModelSpec& model, Duration bucket = 1s) {
  Scheduler scheduler;
  ModelTransport transport(scheduler, model, s.seed);
  auto run = std::unique_ptr<Run>(new Run{TimeSeries(bucket, {"clients"}), {}, {}});
  Engine engine(s, scheduler, transport, run->series);
  engine.Start();
  scheduler.RunUntil(s.duration);
  engine.Stop();
  scheduler.RunUntil(s.duration + 30s);  // let attempts in flight finish
  run->attempts_per_instance = engine.AttemptsPerInstance(0);
  run->totals = engine.Totals();
  return run;
}

std::vector<double> AttemptRates(const TimeSeries& ts, size_t from, size_t to) {
  std::vector<double> out;
  for (size_t b = from; b < to && b < ts.buckets(); ++b) {
    out.push_back(static_cast<double>(ts.counts(0, b).attempts) / ToSeconds(ts.width()));
  }
  return out;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
double PeakToMean(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()) / Mean(v); }

// The largest ratio of a bucket to the mean of the 11 buckets around it:
// high for synchronised bursts, near 1 for an even rate, whatever the
// rate's slow trend (the book's jitter still decays as delays grow).
double LocalPeakToMean(const std::vector<double>& v) {
  double worst = 0;
  for (size_t b = 5; b + 5 < v.size(); ++b) {
    double sum = 0;
    for (size_t i = b - 5; i <= b + 5; ++i) sum += v[i];
    if (sum > 0) worst = std::max(worst, v[b] / (sum / 11));
  }
  return worst;
}

TEST(BookFigures, ImmediateRetryRunsNearInstancesOverLatency) {  // fig. 9-2
  auto run = RunModel(BookScenario(Strategy::kImmediate, 30s), BookServer());
  // Steady state, after every instance has started: 1000 / 0.099 s.
  double rate = Mean(AttemptRates(run->series, 5, 30));
  EXPECT_NEAR(rate, 1000 / 0.099, 1000 / 0.099 * 0.03);
  EXPECT_EQ(run->totals.offered, 1000u);
  EXPECT_EQ(run->totals.succeeded, 0u);
}

TEST(BookFigures, FixedDelayRunsNearInstancesOverDelayPlusLatency) {  // fig. 9-3
  auto run = RunModel(BookScenario(Strategy::kFixed, 120s), BookServer());
  double rate = Mean(AttemptRates(run->series, 10, 120));
  EXPECT_NEAR(rate, 1000 / 2.099, 1000 / 2.099 * 0.03);
}

TEST(BookFigures, ExponentialBackoffSendsSynchronisedBursts) {  // fig. 9-4
  auto run = RunModel(BookScenario(Strategy::kExponential, 240s), BookServer());
  // Sends at about 0, 1.1, 3.2, 7.3, 15.4, 31.5, 63.6, 123.7, 183.8 s: nine
  // attempts each in four minutes, the tenth would be at ~244 s.
  for (uint32_t a : run->attempts_per_instance) ASSERT_EQ(a, 9u);
  const TimeSeries& ts = run->series;
  // Each burst lands within a couple of one-second buckets of its schedule.
  for (double at : {31.5, 63.6, 123.7, 183.8}) {
    uint64_t near = 0;
    for (size_t b = static_cast<size_t>(at) - 1; b <= static_cast<size_t>(at) + 2; ++b) {
      near += ts.counts(0, b).attempts;
    }
    EXPECT_EQ(near, 1000u) << "burst at " << at << " s";
  }
  EXPECT_GT(PeakToMean(AttemptRates(ts, 0, 240)), 20);
}

TEST(BookFigures, BookJitterSpreadsTheSameRetries) {  // fig. 9-5
  auto expo = RunModel(BookScenario(Strategy::kExponential, 240s), BookServer());
  auto jitter = RunModel(BookScenario(Strategy::kBookJitter, 240s), BookServer());
  double expo_peak = LocalPeakToMean(AttemptRates(expo->series, 10, 240));
  double jitter_peak = LocalPeakToMean(AttemptRates(jitter->series, 10, 240));
  EXPECT_GT(expo_peak, 5) << "exponential backoff should burst";
  EXPECT_LT(jitter_peak, 2.5) << "jitter should smear the bursts";
  // Still a handful of attempts per instance, not a storm.
  double mean_attempts = std::accumulate(jitter->attempts_per_instance.begin(),
                                         jitter->attempts_per_instance.end(), 0.0) / 1000;
  EXPECT_GT(mean_attempts, 3);
  EXPECT_LT(mean_attempts, 9);
}

TEST(Engine, SameSeedSameRunOtherSeedOtherRun) {
  Scenario s = BookScenario(Strategy::kFullJitter, 60s);
  auto a = RunModel(s, BookServer());
  auto b = RunModel(s, BookServer());
  EXPECT_EQ(a->series.Csv(), b->series.Csv());
  s.seed = 8;
  auto c = RunModel(s, BookServer());
  EXPECT_NE(a->series.Csv(), c->series.Csv());
}

TEST(Engine, TokenBucketBudgetStopsRetriesAtHalfTheTokens) {
  Scenario s = BookScenario(Strategy::kImmediate, 10s);
  s.fleets[0].instances = 10;
  BudgetSpec budget;
  budget.kind = BudgetSpec::Kind::kTokenBucket;
  budget.token_bucket = {10, 0.1};
  s.fleets[0].budget = budget;
  auto run = RunModel(s, BookServer());
  // 10 tokens, -1 per failure, retries while tokens > 5: five attempts.
  for (uint32_t a : run->attempts_per_instance) EXPECT_EQ(a, 5u);
  EXPECT_EQ(run->series.Total(0).budget_denied, 10u);
  EXPECT_EQ(run->totals.abandoned, 10u);
}

TEST(Engine, MaxAttemptsAbandonsTheRequest) {
  Scenario s = BookScenario(Strategy::kImmediate, 10s);
  s.fleets[0].instances = 3;
  s.fleets[0].retry.max_attempts = 4;
  auto run = RunModel(s, BookServer());
  for (uint32_t a : run->attempts_per_instance) EXPECT_EQ(a, 4u);
  BucketCounts t = run->series.Total(0);
  EXPECT_EQ(t.attempts, 12u);
  EXPECT_EQ(t.retries, 9u);
  EXPECT_EQ(t.abandoned, 3u);
}

TEST(Engine, NonRetryableOutcomeFailsAtOnce) {
  Scenario s = BookScenario(Strategy::kImmediate, 10s);
  s.fleets[0].instances = 5;
  ModelSpec m = BookServer();
  m.error = Outcome::kClientError;  // not in retry.on
  auto run = RunModel(s, m);
  EXPECT_EQ(run->totals.failed, 5u);
  EXPECT_EQ(run->series.Total(0).attempts, 5u);
}

TEST(Engine, BreakerFailsFastWhileOpen) {
  Scenario s = BookScenario(Strategy::kFixed, 20s);
  s.fleets[0].instances = 1;
  s.fleets[0].retry.delay = 100ms;
  s.fleets[0].arrival.requests_per_instance = 0;  // keep going
  s.fleets[0].retry.max_attempts = 1;             // no retries: one attempt a request
  s.fleets[0].arrival.think = 100ms;
  s.fleets[0].breaker = BreakerSpec{3, 5s, 1};
  auto run = RunModel(s, BookServer());
  BucketCounts t = run->series.Total(0);
  EXPECT_GT(t.breaker_rejected, 0u);
  // Open 5 s after 3 failures, then one probe that fails: about 3 + 3 probes
  // in 20 s instead of ~100 attempts.
  EXPECT_LT(t.attempts, 12u);
}

TEST(Engine, HonouredRetryAfterOverridesTheBackoff) {
  Scenario s = BookScenario(Strategy::kFixed, 20s);
  s.fleets[0].instances = 1;
  s.fleets[0].start_spread = 0s;
  s.fleets[0].retry.delay = 100ms;
  ModelSpec m;
  m.latency_min = m.latency_max = 10ms;
  m.error_rate = 1;
  m.error = Outcome::kShed;
  m.pushback = 3s;  // Retry-After: 3
  s.fleets[0].retry.honor_retry_after = true;
  auto honoured = RunModel(s, m);
  // Sends at 0, 3.01, 6.02, ... 18.06: seven in 20 s.
  EXPECT_EQ(honoured->attempts_per_instance[0], 7u);
  s.fleets[0].retry.honor_retry_after = false;
  auto ignored = RunModel(s, m);
  // Every 110 ms instead.
  EXPECT_NEAR(ignored->attempts_per_instance[0], 20.0 / 0.11, 2);
}

TEST(Engine, HundredThousandInstancesOnOneTimerHeap) {
  Scenario s;
  s.name = "many";
  s.duration = 10s;
  Fleet f;
  f.instances = 100000;
  f.start_spread = 1s;
  f.arrival.model = Arrival::Model::kClosed;
  f.arrival.think = 1s;
  f.retry.strategy = Strategy::kNone;
  s.fleets.push_back(f);
  ModelSpec m;
  m.latency_min = 1ms;
  m.latency_max = 9ms;
  auto run = RunModel(s, m);
  // Each instance: a request about every 1.005 s, ten of them in 10 s.
  const uint64_t succeeded = run->series.Total(0).succeeded;
  EXPECT_GT(succeeded, 900000u);
  EXPECT_LE(succeeded, 1000000u);
  for (uint32_t a : run->attempts_per_instance) ASSERT_GE(a, 9u);
}

TEST(OpenModel, KeepsItsRateAndIntendedStarts) {
  Scenario s = OpenScenario(1000, 50, 10s);
  ModelSpec m;
  m.latency_min = m.latency_max = 5ms;
  auto run = RunModel(s, m);
  for (size_t b = 0; b < 10; ++b) EXPECT_EQ(run->series.counts(0, b).offered, 1000u) << b;
  EXPECT_EQ(run->series.TotalE2eLatency(0).Quantile(0.99), run->series.TotalE2eLatency(0).Quantile(0.5));
}

TEST(OpenModel, QueueingShowsInEndToEndLatency) {
  // One instance, 10 ms per request, 200 requests/s offered: half of them
  // must wait, and e2e latency grows although attempt latency stays 10 ms.
  Scenario s = OpenScenario(200, 1, 5s);
  ModelSpec m;
  m.latency_min = m.latency_max = 10ms;
  auto run = RunModel(s, m);
  const TimeSeries& ts = run->series;
  EXPECT_LE(ts.TotalAttemptLatency(0).Quantile(0.99), 10'100'000);
  EXPECT_GT(ts.e2e_latency(0, 4).Quantile(0.99), 1'500'000'000);  // > 1.5 s by the end
  EXPECT_EQ(ts.Total(0).offered, 1000u);
}

TEST(OpenModel, PoissonSpacingKeepsTheMeanRate) {
  Scenario s = OpenScenario(500, 100, 20s);
  s.fleets[0].arrival.spacing = Arrival::Spacing::kPoisson;
  ModelSpec m;
  m.latency_min = m.latency_max = 1ms;
  auto run = RunModel(s, m);
  EXPECT_NEAR(static_cast<double>(run->series.Total(0).offered), 10000, 300);
}

TEST(OpenModel, StagesRampTheRate) {
  Scenario s = OpenScenario(100, 100, 10s);
  s.fleets[0].arrival.stages = {Stage{1100, 10s}};
  ModelSpec m;
  m.latency_min = m.latency_max = 1ms;
  auto run = RunModel(s, m);
  // Linear from 100/s to 1100/s: bucket b holds about 100 + 100 * (b + 0.5).
  for (size_t b = 0; b < 10; ++b) {
    EXPECT_NEAR(static_cast<double>(run->series.counts(0, b).offered), 150 + 100.0 * b, 5) << b;
  }
}

TEST(ModelTransport, ServerKeepsWorkingForClientsThatGaveUp) {
  // 1 server, 100 ms per request, 50 ms client timeout: every attempt times
  // out, yet the server serves every one of them.
  Scenario s;
  s.name = "futile";
  s.duration = 2s;
  Fleet f;
  f.instances = 10;
  f.arrival.model = Arrival::Model::kClosed;
  f.arrival.requests_per_instance = 1;
  f.timeout = 50ms;
  f.retry.strategy = Strategy::kNone;
  s.fleets.push_back(f);
  ModelSpec m;
  m.latency_min = m.latency_max = 100ms;
  m.servers = 1;
  Scheduler scheduler;
  ModelTransport transport(scheduler, m, 1);
  TimeSeries ts(1s, {"clients"});
  Engine engine(s, scheduler, transport, ts);
  engine.Start();
  scheduler.RunUntil(5s);
  EXPECT_EQ(ts.Total(0).outcomes[static_cast<int>(Outcome::kTimeout)], 10u);
  EXPECT_EQ(transport.served(), 10u);
}

}  // namespace
}  // namespace herd
