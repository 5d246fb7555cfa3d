#include "report/compare.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

namespace herd {
namespace {

using nlohmann::json;

// The fixture's summary.json: fleets "retrying" and "plain", a 12 s run,
// windows ending at 5.000053616 s and 8.025003959 s. "retrying" never
// recovered from either window; "plain" took 5.999946384 s and 2.974996041 s.
json FixtureSummary() {
  std::ifstream in(std::string(HERD_TEST_DATA_DIR) + "/run-fixture/summary.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

RunData RunOf(json summary) {
  RunData run;
  run.dir = "/tmp/run";
  run.summary = std::move(summary);
  return run;
}

json& Fleet(json& summary, const std::string& name) {
  for (json& f : summary["fleets"]) {
    if (f["name"] == name) return f;
  }
  ADD_FAILURE() << "no fleet " << name;
  return summary;
}

json& Recovery(json& summary, const std::string& name) {
  for (json& f : summary["analyses"]["fleets"]) {
    if (f["name"] == name) return f["recovery"];
  }
  ADD_FAILURE() << "no analysis for " << name;
  return summary;
}

const HeadlineChange& Find(const Comparison& c, const std::string& fleet, const std::string& metric) {
  for (const HeadlineChange& h : c.changes) {
    if (h.fleet == fleet && h.metric == metric) return h;
  }
  ADD_FAILURE() << "no change " << fleet << " " << metric;
  static const HeadlineChange kNone;
  return kNone;
}

int Regressions(const Comparison& c) {
  int n = 0;
  for (const HeadlineChange& h : c.changes) n += h.regressed;
  return n;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string LineOf(const std::string& text, const std::string& fleet, const std::string& metric) {
  for (const std::string& line : Lines(text)) {
    if (line.rfind(fleet + " ", 0) == 0 && line.find(" " + metric + " ") != std::string::npos) return line;
  }
  ADD_FAILURE() << "no line for " << fleet << " " << metric << " in\n" << text;
  return "";
}

// The line with every run of blanks made one, so expectations do not
// depend on column widths (TextColumnsAlign checks those).
std::string Squeezed(const std::string& line) {
  std::string out;
  for (char ch : line) {
    if (ch != ' ' || out.empty() || out.back() != ' ') out += ch;
  }
  return out;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One summary with one fleet "f" whose figures are exactly what a test
// sets, for the metrics whose edge cases need small numbers.
json OneFleet(double goodput, double p99_ms) {
  return {{"name", "s"},
          {"elapsed_s", 10.0},
          {"fleets",
           {{{"name", "f"},
             {"amplification", 1.0},
             {"rates_per_s", {{"goodput", goodput}}},
             {"totals", {{"offered", 100}, {"succeeded", 100}}},
             {"latency_ms",
              {{"attempt", {{"count", 100}, {"p50", p99_ms}, {"p90", p99_ms}, {"p99", p99_ms}}},
               {"e2e", {{"count", 100}, {"p99", p99_ms}}}}}}}}};
}

TEST(CompareTest, HeadlineMetricsInTheHeadersOrder) {
  EXPECT_EQ(HeadlineMetrics(), (std::vector<std::string>{"goodput_per_s", "success_ratio", "amplification", "p50_ms",
                                                         "p90_ms", "p99_ms", "e2e_p99_ms", "recovery_s"}));
}

TEST(CompareTest, RunAgainstItselfPasses) {
  const RunData run = RunOf(FixtureSummary());
  const Comparison c = Compare(run, run, {});
  ASSERT_EQ(c.changes.size(), 2 * HeadlineMetrics().size());
  for (const HeadlineChange& h : c.changes) {
    EXPECT_TRUE(h.base.has_value()) << h.fleet << " " << h.metric;
    EXPECT_EQ(h.base, h.candidate) << h.fleet << " " << h.metric;
    EXPECT_EQ(h.change_pct, 0) << h.fleet << " " << h.metric;
    EXPECT_EQ(h.tolerance_pct, kDefaultTolerancePct);
    EXPECT_FALSE(h.regressed) << h.fleet << " " << h.metric;
  }
  // Fleets in the base's order, metrics in the table's.
  EXPECT_EQ(c.changes.front().fleet, "retrying");
  EXPECT_EQ(c.changes.front().metric, "goodput_per_s");
  EXPECT_EQ(c.changes.back().fleet, "plain");
  EXPECT_EQ(c.changes.back().metric, "recovery_s");
  EXPECT_TRUE(c.notes.empty());
  EXPECT_FALSE(c.regressed);

  // The figures come from where the header says.
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "goodput_per_s").base, 147.08333333333334);
  EXPECT_DOUBLE_EQ(*Find(c, "plain", "success_ratio").base, 720.0 / 732.0);
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "amplification").base, 1.0118980169971672);
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "p50_ms").base, 0.405503);
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "p90_ms").base, 40.632319);
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "p99_ms").base, 41.156607);
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "e2e_p99_ms").base, 42.205183);
  EXPECT_DOUBLE_EQ(*Find(c, "plain", "recovery_s").base, 5.999946384);
  // Never recovered from either window: the rest of the run after the first.
  EXPECT_DOUBLE_EQ(*Find(c, "retrying", "recovery_s").base, 12.0 - 5.000053616);

  const std::string text = ComparisonText(c);
  EXPECT_EQ(Lines(text).back(), "verdict: pass");
  EXPECT_EQ(text.find("REGRESSED"), std::string::npos);
}

TEST(CompareTest, TripledP99Regresses) {
  json summary = FixtureSummary();
  json changed = summary;
  Fleet(changed, "retrying")["latency_ms"]["attempt"]["p99"] = 3 * 41.156607;
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});

  const HeadlineChange& p99 = Find(c, "retrying", "p99_ms");
  EXPECT_NEAR(p99.change_pct, 200.0, 1e-9);
  EXPECT_TRUE(p99.regressed);
  EXPECT_TRUE(c.regressed);
  EXPECT_EQ(Regressions(c), 1);

  const std::string text = ComparisonText(c);
  const std::string line = LineOf(text, "retrying", "p99_ms");
  EXPECT_EQ(Squeezed(line), "retrying p99_ms 41.2 -> 123 +200.0% (max +20%) REGRESSED") << line;
  EXPECT_TRUE(EndsWith(line, "  REGRESSED")) << line;
  EXPECT_FALSE(EndsWith(LineOf(text, "retrying", "p90_ms"), "REGRESSED"));
  EXPECT_EQ(Lines(text).back(), "verdict: regression (1 metric)");
}

TEST(CompareTest, SubMillisecondLatencyChangeIsNoRegression) {
  const Comparison c = Compare(RunOf(OneFleet(100, 0.2)), RunOf(OneFleet(100, 0.4)), {});
  const HeadlineChange& p99 = Find(c, "f", "p99_ms");
  EXPECT_NEAR(p99.change_pct, 100.0, 1e-9);
  EXPECT_FALSE(p99.regressed);
  EXPECT_FALSE(c.regressed);
  // Just over the floor, it is one.
  EXPECT_TRUE(Find(Compare(RunOf(OneFleet(100, 0.2)), RunOf(OneFleet(100, 1.3)), {}), "f", "p99_ms").regressed);
}

TEST(CompareTest, GoodputDownRegressesUpDoesNot) {
  json summary = FixtureSummary();
  json down = summary, up = summary;
  Fleet(down, "plain")["rates_per_s"]["goodput"] = 60.0 * 0.7;
  Fleet(up, "plain")["rates_per_s"]["goodput"] = 60.0 * 1.3;

  const Comparison worse = Compare(RunOf(summary), RunOf(down), {});
  EXPECT_NEAR(Find(worse, "plain", "goodput_per_s").change_pct, -30.0, 1e-9);
  EXPECT_TRUE(Find(worse, "plain", "goodput_per_s").regressed);
  EXPECT_TRUE(worse.regressed);
  const std::string line = LineOf(ComparisonText(worse), "plain", "goodput_per_s");
  EXPECT_EQ(Squeezed(line), "plain goodput_per_s 60.0 -> 42.0 -30.0% (max -20%) REGRESSED") << line;

  const Comparison better = Compare(RunOf(summary), RunOf(up), {});
  EXPECT_NEAR(Find(better, "plain", "goodput_per_s").change_pct, 30.0, 1e-9);
  EXPECT_FALSE(better.regressed);
}

TEST(CompareTest, GoodputFloorIsOnePerSecond) {
  // -50%, but half a request a second.
  EXPECT_FALSE(Compare(RunOf(OneFleet(1.0, 5)), RunOf(OneFleet(0.5, 5)), {}).regressed);
}

TEST(CompareTest, AmplificationUpRegressesDownDoesNot) {
  json summary = FixtureSummary();
  json up = summary, down = summary;
  Fleet(up, "plain")["amplification"] = 1.5;
  Fleet(down, "retrying")["amplification"] = 0.5;
  const Comparison worse = Compare(RunOf(summary), RunOf(up), {});
  EXPECT_NEAR(Find(worse, "plain", "amplification").change_pct, 50.0, 1e-9);
  EXPECT_TRUE(Find(worse, "plain", "amplification").regressed);
  EXPECT_EQ(Regressions(worse), 1);
  EXPECT_FALSE(Compare(RunOf(summary), RunOf(down), {}).regressed);
}

TEST(CompareTest, SuccessRatioDownRegresses) {
  json summary = FixtureSummary();
  json changed = summary;
  Fleet(changed, "plain")["totals"]["succeeded"] = 366;  // half of 732, was 720
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});
  const HeadlineChange& ratio = Find(c, "plain", "success_ratio");
  EXPECT_DOUBLE_EQ(*ratio.candidate, 0.5);
  EXPECT_NEAR(ratio.change_pct, (0.5 - 720.0 / 732.0) / (720.0 / 732.0) * 100, 1e-9);
  EXPECT_TRUE(ratio.regressed);
  EXPECT_EQ(Regressions(c), 1);
  // Up is better.
  EXPECT_FALSE(Compare(RunOf(changed), RunOf(summary), {}).regressed);
}

TEST(CompareTest, RecoveryCountsANeverRecoveredWindowAsTheRestOfTheRun) {
  json summary = FixtureSummary();
  json changed = summary;
  changed["elapsed_s"] = 30.0;
  Recovery(changed, "plain")[0]["recovery_s"] = nullptr;  // judged, never recovered
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});
  const HeadlineChange& recovery = Find(c, "plain", "recovery_s");
  EXPECT_DOUBLE_EQ(*recovery.base, 5.999946384);
  EXPECT_DOUBLE_EQ(*recovery.candidate, 30.0 - 5.000053616);
  EXPECT_TRUE(recovery.regressed);
  EXPECT_TRUE(c.regressed);
  // Recovering (the base) from never recovering (the candidate) is better.
  EXPECT_FALSE(Compare(RunOf(changed), RunOf(summary), {}).regressed);
}

TEST(CompareTest, RecoverySkipsWindowsThatWereNotJudged) {
  json summary = FixtureSummary();
  json changed = summary;
  // Window 0 not judged (no goodput before the faults): only window 1 counts.
  json& windows = Recovery(changed, "plain");
  windows[0]["target_goodput_per_s"] = nullptr;
  windows[0]["recovery_s"] = nullptr;
  EXPECT_DOUBLE_EQ(*Find(Compare(RunOf(summary), RunOf(changed), {}), "plain", "recovery_s").candidate,
                   2.9749960410000007);
  // No window judged: missing, shown as "-", never a regression.
  windows[1]["target_goodput_per_s"] = nullptr;
  windows[1]["recovery_s"] = nullptr;
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});
  EXPECT_FALSE(Find(c, "plain", "recovery_s").candidate.has_value());
  EXPECT_FALSE(c.regressed);
  EXPECT_EQ(Squeezed(LineOf(ComparisonText(c), "plain", "recovery_s")), "plain recovery_s 6.00 -> - - (max +20%)");
}

TEST(CompareTest, ToleranceOverrideRaisesTheBar) {
  json summary = FixtureSummary();
  json changed = summary;
  Fleet(changed, "plain")["latency_ms"]["attempt"]["p99"] = 1.5 * 40.743799;

  const Comparison by_default = Compare(RunOf(summary), RunOf(changed), {});
  EXPECT_TRUE(Find(by_default, "plain", "p99_ms").regressed);

  const Comparison relaxed = Compare(RunOf(summary), RunOf(changed), {{"p99_ms", 60}});
  const HeadlineChange& p99 = Find(relaxed, "plain", "p99_ms");
  EXPECT_EQ(p99.tolerance_pct, 60);
  EXPECT_NEAR(p99.change_pct, 50.0, 1e-9);
  EXPECT_FALSE(p99.regressed);
  EXPECT_FALSE(relaxed.regressed);
  EXPECT_EQ(Find(relaxed, "plain", "p90_ms").tolerance_pct, kDefaultTolerancePct);
  EXPECT_NE(LineOf(ComparisonText(relaxed), "plain", "p99_ms").find("(max +60%)"), std::string::npos);

  // And lowers it.
  const Comparison strict = Compare(RunOf(summary), RunOf(changed), {{"p99_ms", 60}, {"goodput_per_s", 0}});
  EXPECT_FALSE(strict.regressed);  // goodput did not move
}

TEST(CompareTest, FleetsInOneRunOnlyAreNotesNotRegressions) {
  json summary = FixtureSummary();
  json changed = summary;
  Fleet(changed, "plain")["name"] = "plain2";
  Fleet(changed, "plain2")["rates_per_s"]["goodput"] = 0.0;
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});
  EXPECT_EQ(c.changes.size(), HeadlineMetrics().size());
  for (const HeadlineChange& h : c.changes) EXPECT_EQ(h.fleet, "retrying");
  EXPECT_EQ(c.notes, (std::vector<std::string>{"fleet 'plain' only in the base", "fleet 'plain2' only in the candidate"}));
  EXPECT_FALSE(c.regressed);

  const std::vector<std::string> lines = Lines(ComparisonText(c));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines[lines.size() - 3], "note: fleet 'plain' only in the base");
  EXPECT_EQ(lines[lines.size() - 2], "note: fleet 'plain2' only in the candidate");
  EXPECT_EQ(lines.back(), "verdict: pass");
}

TEST(CompareTest, NothingInCommon) {
  const Comparison c = Compare(RunOf(json()), RunOf(FixtureSummary()), {});
  EXPECT_TRUE(c.changes.empty());
  EXPECT_FALSE(c.regressed);
  EXPECT_EQ(c.notes.front(), "the base has no readable summary.json");
  EXPECT_EQ(c.notes.back(), "no fleet is in both runs: nothing was compared");
  EXPECT_EQ(Lines(ComparisonText(c)).back(), "verdict: pass");
}

TEST(CompareTest, BaseZero) {
  const double inf = std::numeric_limits<double>::infinity();
  // Latency from 0 up: +inf, and over the floor.
  const Comparison up = Compare(RunOf(OneFleet(100, 0)), RunOf(OneFleet(100, 5)), {});
  EXPECT_EQ(Find(up, "f", "p99_ms").change_pct, inf);
  EXPECT_TRUE(Find(up, "f", "p99_ms").regressed);
  EXPECT_EQ(Squeezed(LineOf(ComparisonText(up), "f", "p99_ms")), "f p99_ms 0 -> 5.00 +inf% (max +20%) REGRESSED");
  // ... but under the floor it is not.
  EXPECT_FALSE(Find(Compare(RunOf(OneFleet(100, 0)), RunOf(OneFleet(100, 0.5)), {}), "f", "p99_ms").regressed);
  // Both 0: no change.
  const Comparison zero = Compare(RunOf(OneFleet(0, 0)), RunOf(OneFleet(0, 0)), {});
  EXPECT_EQ(Find(zero, "f", "goodput_per_s").change_pct, 0);
  EXPECT_EQ(Find(zero, "f", "p99_ms").change_pct, 0);
  EXPECT_FALSE(zero.regressed);
  // Goodput from 0 up is +inf and better; down to 0 is -100% and worse.
  const Comparison from_zero = Compare(RunOf(OneFleet(0, 5)), RunOf(OneFleet(50, 5)), {});
  EXPECT_EQ(Find(from_zero, "f", "goodput_per_s").change_pct, inf);
  EXPECT_FALSE(from_zero.regressed);
  const Comparison to_zero = Compare(RunOf(OneFleet(50, 5)), RunOf(OneFleet(0, 5)), {});
  EXPECT_EQ(Find(to_zero, "f", "goodput_per_s").change_pct, -100);
  EXPECT_TRUE(to_zero.regressed);
}

TEST(CompareTest, MissingValuesNeverRegress) {
  json summary = FixtureSummary();
  json changed = summary;
  Fleet(changed, "retrying").erase("latency_ms");
  Fleet(changed, "plain")["latency_ms"]["attempt"]["p99"] = nullptr;
  Fleet(changed, "plain")["rates_per_s"].erase("goodput");
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});
  for (const char* metric : {"p50_ms", "p90_ms", "p99_ms", "e2e_p99_ms"}) {
    const HeadlineChange& h = Find(c, "retrying", metric);
    EXPECT_TRUE(h.base.has_value());
    EXPECT_FALSE(h.candidate.has_value());
    EXPECT_EQ(h.change_pct, 0);
    EXPECT_FALSE(h.regressed);
  }
  EXPECT_FALSE(Find(c, "plain", "p99_ms").candidate.has_value());
  EXPECT_FALSE(Find(c, "plain", "goodput_per_s").candidate.has_value());
  EXPECT_FALSE(c.regressed);
  const std::string line = LineOf(ComparisonText(c), "plain", "p99_ms");
  EXPECT_EQ(Squeezed(line), "plain p99_ms 40.7 -> - - (max +20%)");

  // A fleet with nothing offered writes 0 for amplification and latencies:
  // placeholders, so missing.
  json idle = summary;
  json& fleet = Fleet(idle, "plain");
  fleet["totals"]["offered"] = 0;
  fleet["totals"]["succeeded"] = 0;
  fleet["amplification"] = 0.0;
  fleet["latency_ms"]["attempt"] = {{"count", 0}, {"p50", 0.0}, {"p90", 0.0}, {"p99", 0.0}};
  const Comparison i = Compare(RunOf(idle), RunOf(summary), {});
  EXPECT_FALSE(Find(i, "plain", "amplification").base.has_value());
  EXPECT_FALSE(Find(i, "plain", "success_ratio").base.has_value());
  EXPECT_FALSE(Find(i, "plain", "p99_ms").base.has_value());
  EXPECT_FALSE(i.regressed);
}

TEST(CompareTest, ParseMaxRegressionAcceptsMetricEqualsPercent) {
  std::map<std::string, double> tolerances;
  std::string error;
  EXPECT_TRUE(ParseMaxRegression("p99_ms=10", &tolerances, &error)) << error;
  EXPECT_TRUE(ParseMaxRegression(" goodput_per_s = 12.5 ", &tolerances, &error)) << error;
  EXPECT_TRUE(ParseMaxRegression("recovery_s=0", &tolerances, &error)) << error;
  EXPECT_TRUE(ParseMaxRegression("amplification=30%", &tolerances, &error)) << error;
  EXPECT_EQ(tolerances, (std::map<std::string, double>{
                            {"p99_ms", 10}, {"goodput_per_s", 12.5}, {"recovery_s", 0}, {"amplification", 30}}));
  EXPECT_TRUE(ParseMaxRegression("p99_ms=15", &tolerances, &error)) << error;
  EXPECT_EQ(tolerances["p99_ms"], 15);  // the last one wins
}

TEST(CompareTest, ParseMaxRegressionRejectsTheRest) {
  for (const char* bad : {"p99", "p99=10", "=10", "p99_ms", "p99_ms=", "p99_ms=abc", "p99_ms=-5", "p99_ms=10x",
                          "p99_ms=nan", "p99_ms=inf", "p99_ms=1e400"}) {
    std::map<std::string, double> tolerances;
    std::string error;
    EXPECT_FALSE(ParseMaxRegression(bad, &tolerances, &error)) << bad;
    EXPECT_TRUE(tolerances.empty()) << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
    for (const std::string& metric : HeadlineMetrics()) {
      EXPECT_NE(error.find(metric), std::string::npos) << bad << ": " << error;
    }
  }
  std::string error;
  std::map<std::string, double> tolerances;
  ASSERT_FALSE(ParseMaxRegression("p99=10", &tolerances, &error));
  EXPECT_NE(error.find("unknown metric 'p99'"), std::string::npos) << error;
}

TEST(CompareTest, TextColumnsAlignAndTheVerdictIsLast) {
  json summary = FixtureSummary();
  json changed = summary;
  Fleet(changed, "retrying")["latency_ms"]["attempt"]["p99"] = 3 * 41.156607;
  Fleet(changed, "plain")["rates_per_s"]["goodput"] = 30.0;
  const Comparison c = Compare(RunOf(summary), RunOf(changed), {});
  EXPECT_EQ(Regressions(c), 2);
  const std::string text = ComparisonText(c);
  const std::vector<std::string> lines = Lines(text);
  ASSERT_EQ(lines.size(), c.changes.size() + 1) << text;

  const size_t arrow = lines[0].find(" -> ");
  ASSERT_NE(arrow, std::string::npos);
  const size_t tolerance = lines[0].find("(max");
  for (size_t i = 0; i < c.changes.size(); ++i) {
    EXPECT_EQ(lines[i].find(" -> "), arrow) << text;
    EXPECT_EQ(lines[i].find("(max"), tolerance) << text;
    EXPECT_NE(lines[i].back(), ' ') << lines[i];
    EXPECT_EQ(EndsWith(lines[i], "REGRESSED"), c.changes[i].regressed) << lines[i];
  }
  EXPECT_EQ(lines.back(), "verdict: regression (2 metrics)");
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace herd
