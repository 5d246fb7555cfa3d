#include "analyze/analyses.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace herd {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

Duration At(double seconds) { return Duration(std::llround(seconds * 1e9)); }

// Records, in the bucket [start, start + width), `offered` requests offered,
// `attempts` attempts, and `succeeded` requests that succeeded (each with an
// ok outcome), all at the bucket's middle.
void Fill(TimeSeries& ts, size_t fleet, double start, double width, int offered, int attempts, int succeeded) {
  const Duration t = At(start + width / 2);
  for (int i = 0; i < offered; ++i) ts.Offered(fleet, t);
  for (int i = 0; i < attempts; ++i) ts.Attempt(fleet, t, false);
  for (int i = 0; i < succeeded; ++i) {
    ts.Outcome(fleet, t, Outcome::kOk, milliseconds(5));
    ts.Succeeded(fleet, t, milliseconds(5));
  }
}

// Buckets [from, to) of `width`, each filled alike.
void FillRange(TimeSeries& ts, size_t fleet, int from, int to, double width, int offered, int attempts,
               int succeeded) {
  for (int b = from; b < to; ++b) Fill(ts, fleet, b * width, width, offered, attempts, succeeded);
}

// --- PhaseBuckets -------------------------------------------------------------

TEST(PhaseBuckets, WindowsTakeEveryBucketTheyTouchPhasesOnlyWholeOnes) {
  BucketSpan w = PhaseBuckets(1.0, 60, 10.2, 19.7, true);
  EXPECT_EQ(w.from, 10u);
  EXPECT_EQ(w.to, 20u);
  BucketSpan p = PhaseBuckets(1.0, 60, 10.2, 19.7, false);
  EXPECT_EQ(p.from, 11u);
  EXPECT_EQ(p.to, 19u);
  // 0.3 / 0.1 is 2.9999999999999996 in doubles: still on the boundary.
  BucketSpan fine = PhaseBuckets(0.1, 1000, 0.3, 0.7, true);
  EXPECT_EQ(fine.from, 3u);
  EXPECT_EQ(fine.to, 7u);
  BucketSpan clamped = PhaseBuckets(1.0, 5, 3, 10, true);
  EXPECT_EQ(clamped.from, 3u);
  EXPECT_EQ(clamped.to, 5u);
  BucketSpan beyond = PhaseBuckets(1.0, 5, 8, 10, true);
  EXPECT_EQ(beyond.size(), 0u);
  EXPECT_EQ(PhaseBuckets(1.0, 60, -3, 2, false).from, 0u);
}

// --- storm ----------------------------------------------------------------------

TEST(Analyses, StormWhenAttemptsAreAMultipleOfOffered) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  FillRange(ts, 0, 0, 10, 1.0, 10, 10, 10);
  FillRange(ts, 0, 10, 20, 1.0, 10, 30, 0);   // window 0: 3x
  FillRange(ts, 0, 20, 30, 1.0, 10, 10, 10);
  FillRange(ts, 0, 30, 40, 1.0, 10, 12, 10);  // window 1: 1.2x
  Fill(ts, 0, 40, 1.0, 3, 9, 0);              // window 2: 3x, 0.9 attempts/s
  FillRange(ts, 0, 50, 55, 1.0, 0, 10, 0);    // window 3: nothing offered
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 55;
  in.windows = {{10.2, 19.7, "w0"}, {30, 40, "w1"}, {40, 50, "w2"}, {50, 55, "w3"}};
  const json a = BuildAnalyses(in);
  const json& storm = a["fleets"][0]["storm"];
  ASSERT_EQ(storm.size(), 4u);

  EXPECT_EQ(storm[0]["window"], 0);
  EXPECT_EQ(storm[0]["label"], "w0");
  EXPECT_DOUBLE_EQ(storm[0]["start_s"].get<double>(), 10.2);
  EXPECT_DOUBLE_EQ(storm[0]["end_s"].get<double>(), 19.7);
  EXPECT_DOUBLE_EQ(storm[0]["attempt_rate"].get<double>(), 30.0);  // buckets 10..19
  EXPECT_DOUBLE_EQ(storm[0]["offered_rate"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(storm[0]["ratio"].get<double>(), 3.0);
  EXPECT_EQ(storm[0]["storm"], true);

  EXPECT_DOUBLE_EQ(storm[1]["ratio"].get<double>(), 1.2);
  EXPECT_DOUBLE_EQ(storm[1]["attempt_rate"].get<double>(), 12.0);
  EXPECT_EQ(storm[1]["storm"], false);

  EXPECT_DOUBLE_EQ(storm[2]["ratio"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(storm[2]["attempt_rate"].get<double>(), 0.9);
  EXPECT_EQ(storm[2]["storm"], false);  // under one attempt a second

  EXPECT_TRUE(storm[3]["ratio"].is_null());
  EXPECT_DOUBLE_EQ(storm[3]["attempt_rate"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(storm[3]["offered_rate"].get<double>(), 0.0);
  EXPECT_EQ(storm[3]["storm"], true);

  const json& t = a["thresholds"];
  EXPECT_DOUBLE_EQ(t["storm_ratio"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(t["storm_min_attempt_rate_per_s"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(t["recovered_share"].get<double>(), 0.95);
  EXPECT_EQ(t["recovery_hold_buckets"], 3);
  EXPECT_DOUBLE_EQ(t["offered_back_share"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(t["detection_grace_s"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(t["collapsed_share"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(t["leak_p"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(t["leak_min_rise"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(t["leak_min_rise_share"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(t["baseline_slack"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(t["baseline_slack_share"].get<double>(), 0.1);
}

// --- spreading ------------------------------------------------------------------

TEST(Analyses, SpreadingOfTheFineAttemptCounts) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  for (int i = 0; i < 10; ++i) ts.Attempt(0, At(10.05), true);  // all in slot 100
  for (int s = 0; s < 10; ++s) {
    for (int i = 0; i < 2; ++i) ts.Attempt(0, At(20.05 + 0.1 * s), false);  // 2 per slot
  }
  for (int i = 0; i < 5; ++i) ts.Attempt(0, At(35.05), true);  // slot 350
  ts.Attempt(0, At(39.95), false);                             // slot 399, outside every window
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 40;
  // The last window runs past the load's end: only slots 350..399 count,
  // though fine_attempts holds zeros beyond.
  in.windows = {{10, 11, "spike"}, {20.02, 20.97, "flat"}, {35, 45, "past the end"}};
  ASSERT_GT(ts.fine_attempts(0).size(), 400u);  // zeros past the load
  const json a = BuildAnalyses(in);
  const json& sp = a["fleets"][0]["spreading"];
  ASSERT_EQ(sp.size(), 3u);
  // 10 0 0 0 0 0 0 0 0 0: mean 1, peak 10; variance (81 + 9) / 10 = 9.
  EXPECT_EQ(sp[0]["window"], 0);
  EXPECT_EQ(sp[0]["slots"], 10);
  EXPECT_DOUBLE_EQ(sp[0]["peak_to_mean"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(sp[0]["cv"].get<double>(), 3.0);
  // Touches slots 200..209: 2 each.
  EXPECT_EQ(sp[1]["slots"], 10);
  EXPECT_DOUBLE_EQ(sp[1]["peak_to_mean"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(sp[1]["cv"].get<double>(), 0.0);
  // 5, 48 zeros, 1 (slot 399): mean 6/50 = 0.12, peak 5: 125/3.
  // Variance (5^2 + 1^2) / 50 - 0.12^2 = 0.5056.
  EXPECT_EQ(sp[2]["slots"], 50);
  EXPECT_NEAR(sp[2]["peak_to_mean"].get<double>(), 125.0 / 3, 1e-12);
  EXPECT_NEAR(sp[2]["cv"].get<double>(), std::sqrt(0.5056) / 0.12, 1e-12);
}

// --- recovery -------------------------------------------------------------------

// 0.5 s buckets; 100/s offered and succeeded before a window [10, 15) of no
// goodput; `after(b)` fills each bucket b from 30 (t = 15 s) to 59; the load
// ends at 30 s. Bucket 62 (after the load) gets late completions.
template <typename After>
json RecoveryOf(After after, std::vector<AnalysisWindow> windows = {{10, 15, "down"}}) {
  TimeSeries ts(milliseconds(500), {"clients"});
  FillRange(ts, 0, 0, 20, 0.5, 50, 50, 50);
  FillRange(ts, 0, 20, 30, 0.5, 50, 50, 0);
  for (int b = 30; b < 60; ++b) after(ts, b);
  Fill(ts, 0, 31, 0.5, 0, 0, 7);
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 30;
  in.windows = std::move(windows);
  return BuildAnalyses(in)["fleets"][0]["recovery"];
}

TEST(Analyses, RecoveryTimeHoldsForThreeBuckets) {
  const json r = RecoveryOf([](TimeSeries& ts, int b) {
    // 96/s at bucket 30, a dip at 31, then 96/s from bucket 32 on.
    Fill(ts, 0, b * 0.5, 0.5, 50, 50, b == 31 ? 10 : 48);
  });
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["window"], 0);
  EXPECT_EQ(r[0]["label"], "down");
  EXPECT_DOUBLE_EQ(r[0]["target_goodput_per_s"].get<double>(), 95.0);
  EXPECT_DOUBLE_EQ(r[0]["recovery_s"].get<double>(), 2 * 0.5);
  EXPECT_EQ(r[0]["metastable"], false);
  EXPECT_DOUBLE_EQ(r[0]["offered_before_per_s"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(r[0]["offered_after_per_s"].get<double>(), 100.0);
}

TEST(Analyses, NeverBackWhileOfferedStaysIsMetastable) {
  const json r = RecoveryOf([](TimeSeries& ts, int b) { Fill(ts, 0, b * 0.5, 0.5, 50, 50, 5); });
  EXPECT_TRUE(r[0]["recovery_s"].is_null());
  EXPECT_EQ(r[0]["metastable"], true);
  EXPECT_DOUBLE_EQ(r[0]["offered_after_per_s"].get<double>(), 100.0);
}

TEST(Analyses, NeverBackWithOfferedDroppedIsNotMetastable) {
  // 40/s offered after: under 90 % of before's 100/s.
  const json r = RecoveryOf([](TimeSeries& ts, int b) { Fill(ts, 0, b * 0.5, 0.5, 20, 20, 5); });
  EXPECT_TRUE(r[0]["recovery_s"].is_null());
  EXPECT_EQ(r[0]["metastable"], false);
  EXPECT_DOUBLE_EQ(r[0]["offered_after_per_s"].get<double>(), 40.0);
}

TEST(Analyses, RecoveryNotJudgedWithoutABefore) {
  const json r = RecoveryOf([](TimeSeries& ts, int b) { Fill(ts, 0, b * 0.5, 0.5, 50, 50, 50); },
                            {{0, 15, "from the start"}});
  EXPECT_TRUE(r[0]["target_goodput_per_s"].is_null());
  EXPECT_TRUE(r[0]["recovery_s"].is_null());
  EXPECT_TRUE(r[0]["metastable"].is_null());
  EXPECT_TRUE(r[0]["offered_before_per_s"].is_null());
}

TEST(Analyses, MetastableNotJudgedWhenTheWindowRunsToTheLoadsEnd) {
  const json r = RecoveryOf([](TimeSeries& ts, int b) { Fill(ts, 0, b * 0.5, 0.5, 50, 50, 50); },
                            {{10, 30, "to the end"}});
  EXPECT_DOUBLE_EQ(r[0]["target_goodput_per_s"].get<double>(), 95.0);
  EXPECT_TRUE(r[0]["recovery_s"].is_null());
  EXPECT_TRUE(r[0]["metastable"].is_null());
  EXPECT_TRUE(r[0]["offered_after_per_s"].is_null());
}

TEST(Analyses, RecoveryNotJudgedWhenBeforeHadNoGoodput) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  FillRange(ts, 0, 0, 20, 1.0, 10, 10, 0);
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 20;
  in.windows = {{5, 10, "w"}};
  const json r = BuildAnalyses(in)["fleets"][0]["recovery"];
  EXPECT_TRUE(r[0]["recovery_s"].is_null());
  EXPECT_TRUE(r[0]["metastable"].is_null());
}

// --- throttling -----------------------------------------------------------------

TEST(Analyses, ThrottlingSharesPushbackAndFairness) {
  TimeSeries ts(std::chrono::seconds(1), {"a", "b"});
  FillRange(ts, 0, 0, 5, 1.0, 10, 10, 10);
  for (int b = 5; b < 10; ++b) {
    const Duration t = At(b + 0.5);
    Fill(ts, 0, b, 1.0, 10, 10, 4);
    for (int i = 0; i < 4; ++i) ts.Outcome(0, t, Outcome::kThrottled, milliseconds(1));
    for (int i = 0; i < 2; ++i) ts.Outcome(0, t, Outcome::kShed, milliseconds(1));
    for (int i = 0; i < 6; ++i) ts.PushbackSeen(0, t);
    for (int i = 0; i < 2; ++i) ts.PushbackHonoured(0, t);
  }
  FillRange(ts, 0, 10, 15, 1.0, 10, 10, 10);
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 15;
  in.windows = {{5, 10, "throttled"}};
  in.succeeded_per_instance = {{10, 10, 10, 10}, {40, 0, 0, 0}};
  const json a = BuildAnalyses(in);

  const json& th = a["fleets"][0]["throttling"];
  EXPECT_EQ(th["completed"], 150);
  EXPECT_DOUBLE_EQ(th["throttled_share"].get<double>(), 20.0 / 150);
  EXPECT_DOUBLE_EQ(th["shed_share"].get<double>(), 10.0 / 150);
  EXPECT_EQ(th["retry_after_seen"], 30);
  EXPECT_EQ(th["retry_after_honoured"], 10);
  const json& ph = th["phases"];
  ASSERT_EQ(ph.size(), 3u);
  EXPECT_EQ(ph[0]["phase"], "before");
  EXPECT_EQ(ph[0]["completed"], 50);
  EXPECT_DOUBLE_EQ(ph[0]["throttled_share"].get<double>(), 0.0);
  EXPECT_EQ(ph[1]["phase"], "window");
  EXPECT_EQ(ph[1]["label"], "throttled");
  EXPECT_EQ(ph[1]["completed"], 50);
  EXPECT_DOUBLE_EQ(ph[1]["throttled_share"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(ph[1]["shed_share"].get<double>(), 0.2);
  EXPECT_EQ(ph[1]["retry_after_seen"], 30);
  EXPECT_EQ(ph[1]["retry_after_honoured"], 10);
  EXPECT_EQ(ph[2]["phase"], "after");
  EXPECT_EQ(ph[2]["completed"], 50);
  EXPECT_DOUBLE_EQ(ph[2]["shed_share"].get<double>(), 0.0);

  const json& fa = th["fairness"];
  EXPECT_DOUBLE_EQ(fa["jain"].get<double>(), 1.0);
  EXPECT_EQ(fa["min"], 10);
  EXPECT_EQ(fa["max"], 10);
  EXPECT_EQ(fa["instances"], 4);

  const json& tb = a["fleets"][1]["throttling"];
  EXPECT_EQ(a["fleets"][1]["name"], "b");
  EXPECT_EQ(tb["completed"], 0);
  EXPECT_DOUBLE_EQ(tb["throttled_share"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(tb["fairness"]["jain"].get<double>(), 0.25);
  EXPECT_EQ(tb["fairness"]["min"], 0);
  EXPECT_EQ(tb["fairness"]["max"], 40);
}

// --- probes ---------------------------------------------------------------------

TEST(Analyses, ProbesDetectionRecoveryFalseAlarmsMissesFlaps) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  FillRange(ts, 0, 0, 10, 1.0, 100, 100, 100);
  FillRange(ts, 0, 10, 20, 1.0, 100, 100, 0);  // window 0: goodput collapses
  FillRange(ts, 0, 20, 60, 1.0, 100, 100, 100);
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 60;
  // Window 1 keeps goodput normal; its grace ends at 56.
  in.windows = {{10, 20, "down"}, {25, 26, "blip"}};
  for (int t = 0; t <= 60; ++t) {
    // live/0: unhealthy 12..22 (the fault), and at 58 (no fault: a false alarm).
    in.probe_checks.push_back({double(t), "live", 0, !((t >= 12 && t <= 22) || t == 58)});
    // live/1: unhealthy only at 45, within both windows' grace.
    in.probe_checks.push_back({double(t), "live", 1, t != 45});
    // shallow/0: healthy throughout, through the collapse: a miss.
    in.probe_checks.push_back({double(t), "shallow", 0, true});
  }
  const json p = BuildAnalyses(in)["probes"];
  ASSERT_EQ(p.size(), 3u);

  EXPECT_EQ(p[0]["probe"], "live");
  EXPECT_EQ(p[0]["replica"], 0);
  EXPECT_EQ(p[0]["checks"], 61);
  ASSERT_EQ(p[0]["windows"].size(), 2u);
  EXPECT_DOUBLE_EQ(p[0]["windows"][0]["detection_delay_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(p[0]["windows"][0]["recovery_delay_s"].get<double>(), 3.0);  // healthy at 23
  EXPECT_EQ(p[0]["windows"][0]["collapsed"], true);
  EXPECT_EQ(p[0]["windows"][0]["missed"], false);
  EXPECT_TRUE(p[0]["windows"][1]["detection_delay_s"].is_null());  // 58 is past 26 + 30
  EXPECT_TRUE(p[0]["windows"][1]["recovery_delay_s"].is_null());
  EXPECT_EQ(p[0]["windows"][1]["collapsed"], false);
  EXPECT_EQ(p[0]["false_alarms"], 1);
  EXPECT_EQ(p[0]["misses"], 0);
  EXPECT_EQ(p[0]["flaps"], 4);

  EXPECT_EQ(p[1]["probe"], "live");
  EXPECT_EQ(p[1]["replica"], 1);
  EXPECT_DOUBLE_EQ(p[1]["windows"][0]["detection_delay_s"].get<double>(), 35.0);  // 45 <= 20 + 30
  EXPECT_DOUBLE_EQ(p[1]["windows"][0]["recovery_delay_s"].get<double>(), 26.0);   // healthy at 46
  EXPECT_DOUBLE_EQ(p[1]["windows"][1]["detection_delay_s"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(p[1]["windows"][1]["recovery_delay_s"].get<double>(), 20.0);
  EXPECT_EQ(p[1]["false_alarms"], 0);
  EXPECT_EQ(p[1]["misses"], 0);
  EXPECT_EQ(p[1]["flaps"], 2);

  EXPECT_EQ(p[2]["probe"], "shallow");
  EXPECT_TRUE(p[2]["windows"][0]["detection_delay_s"].is_null());
  EXPECT_TRUE(p[2]["windows"][0]["recovery_delay_s"].is_null());
  EXPECT_EQ(p[2]["windows"][0]["missed"], true);
  EXPECT_EQ(p[2]["windows"][1]["missed"], false);
  EXPECT_EQ(p[2]["false_alarms"], 0);
  EXPECT_EQ(p[2]["misses"], 1);
  EXPECT_EQ(p[2]["flaps"], 0);
}

// --- monitors -------------------------------------------------------------------

TEST(Analyses, MonitorsLeakTrendAndBaseline) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  AnalysisInput in;
  in.series = &ts;
  in.load_end_s = 120;
  for (int k = 0; k <= 8; ++k) {  // every 15 s while the load runs
    const double t = 15.0 * k;
    in.monitor_samples.push_back({t, "proc", 0, "rss_mb", 50.0 + 4 * k});  // 16 per minute
    in.monitor_samples.push_back({t, "proc", 0, "threads", 8});
    if (k == 4) in.monitor_samples.push_back({t, "proc", 1, "fds", std::numeric_limits<double>::quiet_NaN()});
    in.monitor_samples.push_back({t, "proc", 1, "fds", 10 + k / 8.0});  // 0.5 per minute: rises 1
  }
  in.monitor_samples.push_back({150, "proc", 0, "rss_mb", 52});  // back within 50 + 5
  in.monitor_samples.push_back({150, "proc", 0, "threads", 20});  // not within 8 + 2
  const json m = BuildAnalyses(in)["monitors"];
  ASSERT_EQ(m.size(), 3u);

  EXPECT_EQ(m[0]["monitor"], "proc");
  EXPECT_EQ(m[0]["replica"], 0);
  EXPECT_EQ(m[0]["series"], "rss_mb");
  EXPECT_EQ(m[0]["samples"], 10);
  EXPECT_DOUBLE_EQ(m[0]["first"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(m[0]["last"].get<double>(), 52.0);
  EXPECT_DOUBLE_EQ(m[0]["min"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(m[0]["max"].get<double>(), 82.0);
  EXPECT_EQ(m[0]["slope_per_min"].get<double>(), 16.0);
  EXPECT_EQ(m[0]["rise"].get<double>(), 32.0);
  // n = 9, strictly rising: S = 36, Var = 9 * 8 * 23 / 18 = 92, Z = 35 / sqrt(92).
  EXPECT_DOUBLE_EQ(m[0]["mann_kendall"]["tau"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m[0]["mann_kendall"]["p"].get<double>(), std::erfc(35 / std::sqrt(92.0) / std::sqrt(2.0)));
  EXPECT_EQ(m[0]["leak"], true);
  EXPECT_DOUBLE_EQ(m[0]["baseline"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(m[0]["idle_after"].get<double>(), 52.0);
  EXPECT_EQ(m[0]["returned_to_baseline"], true);

  EXPECT_EQ(m[1]["series"], "threads");
  EXPECT_EQ(m[1]["slope_per_min"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m[1]["mann_kendall"]["tau"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m[1]["mann_kendall"]["p"].get<double>(), 1.0);
  EXPECT_EQ(m[1]["leak"], false);
  EXPECT_DOUBLE_EQ(m[1]["idle_after"].get<double>(), 20.0);
  EXPECT_EQ(m[1]["returned_to_baseline"], false);

  // A significant rise, but of 1 (under 3): no leak. The NaN is left out.
  EXPECT_EQ(m[2]["replica"], 1);
  EXPECT_EQ(m[2]["series"], "fds");
  EXPECT_EQ(m[2]["samples"], 9);
  EXPECT_EQ(m[2]["slope_per_min"].get<double>(), 0.5);
  EXPECT_EQ(m[2]["rise"].get<double>(), 1.0);
  EXPECT_LT(m[2]["mann_kendall"]["p"].get<double>(), kLeakP);
  EXPECT_EQ(m[2]["leak"], false);
  EXPECT_TRUE(m[2]["idle_after"].is_null());
  EXPECT_TRUE(m[2]["returned_to_baseline"].is_null());
}

// --- durability -----------------------------------------------------------------

TEST(Analyses, DurabilityPassesTheSetCheckThrough) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  AnalysisInput in;
  in.series = &ts;
  EXPECT_TRUE(BuildAnalyses(in)["durability"].is_null());

  SetCheck c;
  c.attempted = 10;
  c.acknowledged = 7;
  c.failed = 1;
  c.indeterminate = 2;
  c.lost = 1;
  c.recovered = 1;
  c.unexpected = 0;
  c.lost_keys = {"k3"};
  in.durability = c;
  in.durability_read_errors = 2;
  const json d = BuildAnalyses(in)["durability"];
  EXPECT_EQ(d["attempted"], 10);
  EXPECT_EQ(d["acknowledged"], 7);
  EXPECT_EQ(d["failed"], 1);
  EXPECT_EQ(d["indeterminate"], 2);
  EXPECT_EQ(d["lost"], 1);
  EXPECT_EQ(d["recovered"], 1);
  EXPECT_EQ(d["unexpected"], 0);
  EXPECT_EQ(d["read_errors"], 2);
  EXPECT_EQ(d["valid"], false);
  EXPECT_EQ(d["lost_keys"], json::array({"k3"}));
  EXPECT_EQ(d["unexpected_keys"], json::array());
}

// --- empty input ----------------------------------------------------------------

TEST(Analyses, EmptyInput) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  AnalysisInput in;
  in.series = &ts;
  const json a = BuildAnalyses(in);
  ASSERT_EQ(a["fleets"].size(), 1u);
  const json& f = a["fleets"][0];
  EXPECT_EQ(f["name"], "clients");
  EXPECT_EQ(f["storm"], json::array());
  EXPECT_EQ(f["spreading"], json::array());
  EXPECT_EQ(f["recovery"], json::array());
  EXPECT_EQ(f["throttling"]["completed"], 0);
  EXPECT_DOUBLE_EQ(f["throttling"]["throttled_share"].get<double>(), 0.0);
  EXPECT_EQ(f["throttling"]["phases"], json::array());
  EXPECT_TRUE(f["throttling"]["fairness"]["jain"].is_null());
  EXPECT_EQ(f["throttling"]["fairness"]["instances"], 0);
  EXPECT_EQ(a["probes"], json::array());
  EXPECT_EQ(a["monitors"], json::array());
  EXPECT_TRUE(a["durability"].is_null());
  EXPECT_TRUE(a["thresholds"].is_object());

  AnalysisInput none;  // no series at all: no fleets, no crash
  EXPECT_EQ(BuildAnalyses(none)["fleets"], json::array());
}

TEST(Analyses, WindowsOverAnEmptySeries) {
  TimeSeries ts(std::chrono::seconds(1), {"clients"});
  AnalysisInput in;
  in.series = &ts;
  in.windows = {{5, 10, "w"}};
  in.probe_checks = {{6, "live", 0, false}};
  const json a = BuildAnalyses(in);
  const json& f = a["fleets"][0];
  EXPECT_EQ(f["storm"][0]["storm"], false);
  EXPECT_DOUBLE_EQ(f["storm"][0]["attempt_rate"].get<double>(), 0.0);
  EXPECT_EQ(f["spreading"][0]["slots"], 0);
  EXPECT_TRUE(f["recovery"][0]["recovery_s"].is_null());
  EXPECT_EQ(f["throttling"]["phases"].size(), 3u);
  EXPECT_TRUE(a["probes"][0]["windows"][0]["collapsed"].is_null());
  EXPECT_DOUBLE_EQ(a["probes"][0]["windows"][0]["detection_delay_s"].get<double>(), 1.0);
  EXPECT_EQ(a["probes"][0]["misses"], 0);
}

}  // namespace
}  // namespace herd
