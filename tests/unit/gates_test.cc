// Gates: parsing and validation (scenario/gates.h), evaluation against
// hand-built summary.json objects (analyze/gates.h), and the verdict and
// junit.xml (report/summary.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "analyze/gates.h"
#include "report/summary.h"
#include "scenario/parse.h"

namespace herd {
namespace {

using json = nlohmann::json;

// A scenario every gate below can name: two fleets, two launched replicas,
// three faults (3 windows: rows 0-2 of faults.csv), two probes, two
// monitors and the durability checker.
json ScenarioDoc(const json& gates) {
  return {
      {"name", "gates"},
      {"target", {{"launch", {{"command", {"kvd"}}, {"replicas", 2}}}}},
      {"fleets", {{{"name", "clients"}}, {{"name", "batch"}}}},
      {"faults",
       {{{"kind", "down"}, {"at", "2s"}, {"for", "2s"}, {"replica", 0}},
        {{"kind", "kill"}, {"at", "5s"}, {"replica", 1}},
        {{"kind", "latency"}, {"latency", "10ms"}, {"at", "7s"}, {"for", "1s"}, {"replica", 0}}}},
      {"probes", {{{"name", "deep"}, {"path", "/healthz/deep"}}, {{"name", "liveness"}}}},
      {"monitors", {{{"kind", "prometheus"}, {"series", {"kvd_tasks"}}}, {{"kind", "process"}}}},
      {"durability", {{"writes", 10}}},
      {"gates", gates},
  };
}

std::string Join(const std::vector<ParseError>& errors) {
  std::string all;
  for (const ParseError& e : errors) all += "\n  " + e.ToString();
  return all;
}

Scenario ParseOk(const json& doc) {
  Scenario s;
  std::vector<ParseError> errors;
  EXPECT_TRUE(ParseScenario(doc, &s, &errors)) << Join(errors);
  return s;
}

// One gate, parsed in ScenarioDoc's context.
GateSpec Gate(const json& gate) {
  Scenario s = ParseOk(ScenarioDoc(json::array({gate})));
  if (s.gates.size() != 1) {
    ADD_FAILURE() << "gate did not parse: " << gate.dump();
    return GateSpec{};
  }
  return s.gates[0];
}

std::vector<std::string> GateErrors(const json& gates, json doc = nullptr) {
  if (doc.is_null()) doc = ScenarioDoc(gates);
  doc["gates"] = gates;
  Scenario s;
  std::vector<ParseError> errors;
  EXPECT_FALSE(ParseScenario(doc, &s, &errors)) << "parsed: " << gates.dump();
  std::vector<std::string> out;
  for (const ParseError& e : errors) out.push_back(e.ToString());
  return out;
}

::testing::AssertionResult HasError(const std::vector<std::string>& errors, const std::string& exact) {
  if (std::find(errors.begin(), errors.end(), exact) != errors.end()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << "no error \"" << exact << "\" among:";
  for (const std::string& e : errors) failure << "\n  " << e;
  return failure;
}

// ---------------------------------------------------------------------------
// A hand-built summary.json.

// Fleet figures as report/summary.cc writes them, over `seconds`.
json Figures(const std::string& name, double offered, double attempts, double succeeded, const json& outcomes,
             double seconds = 10) {
  double completed = 0;
  for (const auto& [k, v] : outcomes.items()) completed += v.get<double>();
  return {{"name", name},
          {"totals", {{"offered", offered}, {"attempts", attempts}, {"succeeded", succeeded}, {"outcomes", outcomes}}},
          {"amplification", offered > 0 ? attempts / offered : 0.0},
          {"rates_per_s", {{"offered", offered / seconds}, {"attempts", attempts / seconds},
                           {"goodput", succeeded / seconds}}},
          {"latency_ms", {{"attempt", {{"count", completed}, {"p50", 10.0}, {"p90", 20.0}, {"p99", 30.0}}},
                          {"e2e", {{"count", succeeded}, {"p99", 40.0}}}}}};
}

json Phase(const std::string& phase, const std::string& label, json fleets) {
  return {{"phase", phase}, {"label", label}, {"fleets", std::move(fleets)}};
}

json Summary() {
  json s;
  s["name"] = "gates";
  s["seed"] = 7;
  s["interrupted"] = false;
  s["elapsed_s"] = 10.0;
  s["fleets"] = {Figures("clients", 100, 120, 95, {{"ok", 90}, {"not_found", 5}, {"shed", 10}, {"timeout", 15}}),
                 Figures("batch", 50, 50, 50, {{"ok", 50}})};
  // Row 1 (the kill) could not be applied: windows 0 and 2 are the
  // analyses' windows 0 and 1.
  s["faults"] = {
      {{"start_s", 2.0}, {"end_s", 4.0}, {"kind", "down"}, {"replica", 0}, {"applied", true}, {"detail", ""}},
      {{"start_s", 5.0}, {"end_s", 5.0}, {"kind", "kill"}, {"replica", 1}, {"applied", false},
       {"detail", "replica 1 is not running"}},
      {{"start_s", 7.0}, {"end_s", 8.0}, {"kind", "latency"}, {"replica", 0}, {"applied", true}, {"detail", ""}}};
  s["phases"] = {
      Phase("before", "before the first fault",
            {Figures("clients", 20, 20, 20, {{"ok", 20}}, 2), Figures("batch", 10, 10, 10, {{"ok", 10}}, 2)}),
      Phase("window", "down on replica 0",
            {Figures("clients", 10, 42.1, 0, {{"refused", 42}}, 2), Figures("batch", 0, 6, 0, {{"refused", 6}}, 2)}),
      Phase("window", "latency on replica 0",
            {Figures("clients", 10, 11, 10, {{"ok", 10}, {"timeout", 1}}, 1),
             Figures("batch", 5, 5, 5, {{"ok", 5}}, 1)}),
      Phase("after", "after the last fault",
            {Figures("clients", 20, 20, 20, {{"ok", 20}}, 2), Figures("batch", 0, 0, 0, json::object(), 2)}),
  };
  s["restarts"] = {{{"t_s", 3.0}, {"replica", 0}, {"probe", "deep"}, {"ok", true}},
                   {{"t_s", 3.5}, {"replica", 0}, {"probe", "deep"}, {"ok", true}},
                   {{"t_s", 6.0}, {"replica", 1}, {"probe", "liveness"}, {"ok", true}}};
  json clients = {
      {"name", "clients"},
      {"storm",
       {{{"window", 0}, {"label", "down on replica 0"}, {"attempt_rate", 21.05}, {"ratio", 4.21}, {"storm", true}},
        {{"window", 1}, {"label", "latency on replica 0"}, {"attempt_rate", 11}, {"ratio", 1.1}, {"storm", false}}}},
      {"spreading",
       {{{"window", 0}, {"peak_to_mean", 6.5}, {"cv", 2.1}}, {{"window", 1}, {"peak_to_mean", 1.2}, {"cv", 0.3}}}},
      {"recovery",
       {{{"window", 0}, {"target_goodput_per_s", 9.5}, {"recovery_s", 1.5}, {"metastable", false}},
        {{"window", 1}, {"target_goodput_per_s", 9.5}, {"recovery_s", nullptr}, {"metastable", nullptr}}}},
      {"throttling",
       {{"retry_after_seen", 3}, {"retry_after_honoured", 2}, {"fairness", {{"jain", 0.97}}}}}};
  json batch = {
      {"name", "batch"},
      {"storm",
       {{{"window", 0}, {"attempt_rate", 3}, {"ratio", nullptr}, {"storm", true}},
        {{"window", 1}, {"attempt_rate", 5}, {"ratio", 1.0}, {"storm", false}}}},
      {"spreading",
       {{{"window", 0}, {"peak_to_mean", 1.0}, {"cv", 0.0}}, {{"window", 1}, {"peak_to_mean", 1.0}, {"cv", 0.0}}}},
      {"recovery",
       {{{"window", 0}, {"target_goodput_per_s", nullptr}, {"recovery_s", nullptr}, {"metastable", nullptr}},
        {{"window", 1}, {"target_goodput_per_s", nullptr}, {"recovery_s", nullptr}, {"metastable", nullptr}}}},
      {"throttling", {{"retry_after_seen", 0}, {"retry_after_honoured", 0}, {"fairness", {{"jain", nullptr}}}}}};
  s["analyses"] = {
      {"fleets", {clients, batch}},
      // deep on replica 1 has no window entries: both windows hit replica 0.
      {"probes",
       {{{"probe", "deep"}, {"replica", 0},
         {"windows",
          {{{"window", 0}, {"detection_delay_s", 1.0}, {"recovery_delay_s", 2.0}},
           {{"window", 1}, {"detection_delay_s", nullptr}, {"recovery_delay_s", nullptr}}}},
         {"false_alarms", 0}, {"misses", 1}, {"flaps", 2}},
        {{"probe", "deep"}, {"replica", 1}, {"windows", json::array()}, {"false_alarms", 1}, {"misses", 0},
         {"flaps", 2}},
        {{"probe", "liveness"}, {"replica", 1}, {"windows", json::array()}, {"false_alarms", 0}, {"misses", 0},
         {"flaps", 0}}}},
      {"monitors",
       {{{"monitor", "prometheus"}, {"replica", 0}, {"series", "kvd_tasks"}, {"slope_per_min", 12.0},
         {"mann_kendall", {{"tau", 0.9}, {"p", 0.001}}}, {"rise", 30.0}, {"last", 40.0}, {"max", 41.0},
         {"leak", true}, {"returned_to_baseline", false}},
        {{"monitor", "process"}, {"replica", 0}, {"series", "threads"}, {"slope_per_min", 0.0},
         {"mann_kendall", {{"tau", 0.0}, {"p", 0.9}}}, {"rise", 0.0}, {"last", 8.0}, {"max", 9.0}, {"leak", false},
         {"returned_to_baseline", nullptr}}}},
      {"durability",
       {{"acknowledged", 100}, {"lost", 0}, {"unexpected", 0}, {"recovered", 2}, {"indeterminate", 3},
        {"valid", true}}},
  };
  return s;
}

// A run without faults: no phases, no windows.
json SummaryWithoutFaults() {
  json s = Summary();
  s["faults"] = json::array();
  s["phases"] = json::array();
  for (json& f : s["analyses"]["fleets"]) {
    f["storm"] = json::array();
    f["spreading"] = json::array();
    f["recovery"] = json::array();
  }
  return s;
}

GateResult Eval(const json& gate, const json& summary = Summary()) { return EvaluateGate(Gate(gate), summary); }

// The values as "scope=value" strings, for compact expectations.
std::vector<std::string> Values(const GateResult& r) {
  std::vector<std::string> out;
  for (const GateValue& v : r.values) {
    out.push_back(v.scope + "=" + (v.value.is_number() ? FormatGateNumber(v.value.get<double>()) : v.value.dump()));
  }
  return out;
}

using Strings = std::vector<std::string>;

// ---------------------------------------------------------------------------
// Evaluation: per fleet and phase.

TEST(GateEvaluation, PhaseMetricsOverTheRunCoverEveryFleet) {
  GateResult r = Eval({{"metric", "amplification"}, {"max", 1.5}});
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(Values(r), (Strings{"clients=1.2", "batch=1"}));
  EXPECT_EQ(r.name, "amplification <= 1.5");
  EXPECT_EQ(r.metric, "amplification");
  EXPECT_EQ(r.bound, json({{"max", 1.5}}));
  EXPECT_EQ(r.message, "amplification 1.2 <= 1.5 (clients); amplification 1 <= 1.5 (batch)");

  auto one = [](const char* metric) {
    GateResult r = Eval({{"metric", metric}, {"fleet", "clients"}, {"min", 0}});
    EXPECT_EQ(r.values.size(), 1u) << metric;
    return r.values.empty() ? -1.0 : r.values[0].value.get<double>();
  };
  EXPECT_DOUBLE_EQ(one("offered_per_s"), 10);
  EXPECT_DOUBLE_EQ(one("attempts_per_s"), 12);
  EXPECT_DOUBLE_EQ(one("goodput_per_s"), 9.5);
  EXPECT_DOUBLE_EQ(one("p50_ms"), 10);
  EXPECT_DOUBLE_EQ(one("p90_ms"), 20);
  EXPECT_DOUBLE_EQ(one("p99_ms"), 30);
  EXPECT_DOUBLE_EQ(one("e2e_p99_ms"), 40);
  EXPECT_DOUBLE_EQ(one("success_ratio"), 0.95);
  // Completed: 90 ok + 5 not_found + 10 shed + 15 timeout = 120.
  EXPECT_DOUBLE_EQ(one("error_share"), 25.0 / 120);
  EXPECT_DOUBLE_EQ(one("throttled_share"), 0);
  EXPECT_DOUBLE_EQ(one("shed_share"), 10.0 / 120);
  EXPECT_DOUBLE_EQ(one("timeout_share"), 15.0 / 120);
}

TEST(GateEvaluation, AFailingValueIsNamedWithItsScopeAndOnlyFailuresAreListed) {
  GateResult r = Eval({{"metric", "amplification"}, {"max", 1.1}});
  EXPECT_FALSE(r.passed);
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_FALSE(r.values[0].passed);
  EXPECT_TRUE(r.values[1].passed);
  EXPECT_EQ(r.message, "amplification 1.2 > 1.1 (clients)");

  GateResult low = Eval({{"metric", "success_ratio"}, {"min", 0.99}});
  EXPECT_FALSE(low.passed);
  EXPECT_EQ(low.message, "success_ratio 0.95 < 0.99 (clients)");

  GateResult both = Eval({{"metric", "p99_ms"}, {"min", 31}, {"max", 50}});
  EXPECT_FALSE(both.passed);
  EXPECT_EQ(both.name, "p99_ms in [31, 50]");
  EXPECT_EQ(both.message, "p99_ms 30 < 31 (clients); p99_ms 30 < 31 (batch)");
  EXPECT_TRUE(Eval({{"metric", "p99_ms"}, {"min", 30}, {"max", 30}}).passed) << "bounds are inclusive";
}

TEST(GateEvaluation, FleetFilterMeasuresOnlyThatFleet) {
  GateResult r = Eval({{"metric", "amplification"}, {"fleet", "batch"}, {"max", 1.1}});
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(Values(r), (Strings{"batch=1"}));
  EXPECT_EQ(r.name, "amplification <= 1.1 (batch)");
}

TEST(GateEvaluation, PhaseWindowMeasuresEveryAppliedWindowByItsFaultsCsvRow) {
  GateResult r = Eval({{"name", "no retry storm in the outage"}, {"metric", "amplification"}, {"fleet", "clients"},
                       {"phase", "window"}, {"max", 2}});
  EXPECT_FALSE(r.passed);
  // Row 1 (the kill) was not applied: no window of its own.
  EXPECT_EQ(Values(r), (Strings{"clients, window 0 (down on replica 0)=4.21", "clients, window 2 (latency on replica 0)=1.1"}));
  EXPECT_EQ(r.message, "amplification 4.21 > 2 (clients, window 0 (down on replica 0))");
  EXPECT_EQ(r.name, "no retry storm in the outage");

  GateResult one = Eval({{"metric", "amplification"}, {"fleet", "clients"}, {"phase", "window"}, {"window", 2},
                         {"max", 2}});
  EXPECT_TRUE(one.passed) << one.message;
  EXPECT_EQ(Values(one), (Strings{"clients, window 2 (latency on replica 0)=1.1"}));
  EXPECT_EQ(one.name, "amplification <= 2 (clients, window 2)");
}

TEST(GateEvaluation, BeforeAndAfterPhases) {
  GateResult before = Eval({{"metric", "goodput_per_s"}, {"phase", "before"}, {"min", 5}});
  EXPECT_TRUE(before.passed) << before.message;
  EXPECT_EQ(Values(before), (Strings{"clients, before the first fault=10", "batch, before the first fault=5"}));
  EXPECT_EQ(before.name, "goodput_per_s >= 5 (before the first fault)");

  // batch offered nothing after the faults: its success ratio is not measured.
  GateResult after = Eval({{"metric", "success_ratio"}, {"phase", "after"}, {"min", 0.9}});
  EXPECT_FALSE(after.passed);
  ASSERT_EQ(after.values.size(), 2u);
  EXPECT_TRUE(after.values[0].passed);
  EXPECT_TRUE(after.values[1].value.is_null());
  EXPECT_EQ(after.values[1].reason, "not measured: nothing offered");
  EXPECT_EQ(after.message, "success_ratio not measured: nothing offered (batch, after the last fault)");
}

TEST(GateEvaluation, NullValuesFailWithTheirReason) {
  // batch offered nothing in window 0 but made 6 attempts.
  GateResult amp = Eval({{"metric", "amplification"}, {"fleet", "batch"}, {"phase", "window"}, {"window", 0},
                         {"max", 100}});
  EXPECT_FALSE(amp.passed);
  ASSERT_EQ(amp.values.size(), 1u);
  EXPECT_TRUE(amp.values[0].value.is_null());
  EXPECT_EQ(amp.values[0].reason, "not measured: nothing offered but 6 attempts (infinite)");
  EXPECT_FALSE(amp.values[0].passed);

  // Nothing completed after the faults for batch: no latency, no shares.
  GateResult p99 = Eval({{"metric", "p99_ms"}, {"fleet", "batch"}, {"phase", "after"}, {"max", 1000}});
  EXPECT_FALSE(p99.passed);
  EXPECT_EQ(p99.message, "p99_ms not measured: no attempt completed (batch, after the last fault)");
  GateResult shed = Eval({{"metric", "shed_share"}, {"fleet", "batch"}, {"phase", "after"}, {"max", 1}});
  EXPECT_EQ(shed.message, "shed_share not measured: no attempt completed (batch, after the last fault)");
}

TEST(GateEvaluation, PhasesThatDoNotExistFail) {
  const json summary = SummaryWithoutFaults();
  for (const char* phase : {"before", "window", "after"}) {
    GateResult r = Eval({{"metric", "amplification"}, {"phase", phase}, {"max", 10}}, summary);
    EXPECT_FALSE(r.passed) << phase;
    EXPECT_TRUE(r.values.empty()) << phase;
    EXPECT_EQ(r.message, "no such phase: the run had no fault windows") << phase;
  }
  EXPECT_TRUE(Eval({{"metric", "amplification"}, {"max", 10}}, summary).passed);
  GateResult storm = Eval({{"metric", "storm"}, {"equals", false}}, summary);
  EXPECT_FALSE(storm.passed);
  EXPECT_EQ(storm.message, "no such phase: the run had no fault windows");
}

TEST(GateEvaluation, AWindowThatWasNotAppliedFails) {
  GateResult r = Eval({{"metric", "storm"}, {"window", 1}, {"equals", false}});
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.values.empty());
  EXPECT_EQ(r.message, "window 1 (kill on replica 1) was not applied: replica 1 is not running");
}

// ---------------------------------------------------------------------------
// Evaluation: per fleet and window, per fleet over the run.

TEST(GateEvaluation, StormIsJudgedInEveryWindowForEveryFleet) {
  GateResult r = Eval({{"metric", "storm"}, {"equals", false}});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.name, "storm == false (every window)");
  EXPECT_EQ(r.bound, json({{"equals", false}}));
  EXPECT_EQ(Values(r), (Strings{"clients, window 0 (down on replica 0)=true", "clients, window 2 (latency on replica 0)=false",
                                "batch, window 0 (down on replica 0)=true", "batch, window 2 (latency on replica 0)=false"}));
  EXPECT_EQ(r.message,
            "storm is true, expected false (clients, window 0 (down on replica 0)); "
            "storm is true, expected false (batch, window 0 (down on replica 0))");

  GateResult second = Eval({{"metric", "storm"}, {"window", 2}, {"equals", false}});
  EXPECT_TRUE(second.passed) << second.message;
  EXPECT_EQ(second.message,
            "storm is false (clients, window 2 (latency on replica 0)); storm is false (batch, window 2 (latency on "
            "replica 0))");
}

TEST(GateEvaluation, WindowNumbersAndTheirNulls) {
  GateResult ratio = Eval({{"metric", "storm_ratio"}, {"window", 0}, {"max", 5}});
  EXPECT_FALSE(ratio.passed);
  EXPECT_EQ(ratio.message,
            "storm_ratio not measured: attempts with nothing offered (infinite) (batch, window 0 (down on replica 0))");

  GateResult spread = Eval({{"metric", "peak_to_mean"}, {"fleet", "clients"}, {"max", 3}});
  EXPECT_EQ(Values(spread), (Strings{"clients, window 0 (down on replica 0)=6.5", "clients, window 2 (latency on replica 0)=1.2"}));
  EXPECT_FALSE(spread.passed);
  GateResult cv = Eval({{"metric", "cv"}, {"fleet", "clients"}, {"window", 2}, {"max", 0.5}});
  EXPECT_TRUE(cv.passed) << cv.message;

  GateResult recovery = Eval({{"metric", "recovery_s"}, {"fleet", "clients"}, {"max", 5}});
  EXPECT_FALSE(recovery.passed);
  EXPECT_EQ(recovery.message, "recovery_s never recovered (clients, window 2 (latency on replica 0))");
  GateResult not_judged = Eval({{"metric", "recovery_s"}, {"fleet", "batch"}, {"window", 0}, {"max", 5}});
  EXPECT_EQ(not_judged.message,
            "recovery_s not judged: no goodput before the first fault (batch, window 0 (down on replica 0))");

  GateResult metastable = Eval({{"metric", "metastable"}, {"fleet", "clients"}, {"equals", false}});
  EXPECT_FALSE(metastable.passed);
  ASSERT_EQ(metastable.values.size(), 2u);
  EXPECT_TRUE(metastable.values[0].passed);
  EXPECT_TRUE(metastable.values[1].value.is_null());
  EXPECT_FALSE(metastable.values[1].passed) << "null (not judged) fails";
  EXPECT_TRUE(Eval({{"metric", "metastable"}, {"fleet", "clients"}, {"window", 0}, {"equals", false}}).passed);
}

TEST(GateEvaluation, ThrottlingMetricsOverTheRun) {
  GateResult seen = Eval({{"metric", "retry_after_seen"}, {"fleet", "clients"}, {"min", 1}});
  EXPECT_TRUE(seen.passed) << seen.message;
  EXPECT_EQ(Values(seen), (Strings{"clients=3"}));
  EXPECT_EQ(Values(Eval({{"metric", "retry_after_honoured"}, {"min", 0}})), (Strings{"clients=2", "batch=0"}));
  GateResult jain = Eval({{"metric", "jain"}, {"min", 0.9}});
  EXPECT_FALSE(jain.passed);
  EXPECT_EQ(jain.message, "jain not measured: instances not known (batch)");
}

// ---------------------------------------------------------------------------
// Evaluation: probes, monitors, durability.

TEST(GateEvaluation, ProbeWindowMetricsOnlyForTheReplicasAWindowHit) {
  GateResult r = Eval({{"metric", "detection_delay_s"}, {"probe", "deep"}, {"max", 5}});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(Values(r), (Strings{"probe deep, replica 0, window 0 (down on replica 0)=1",
                                "probe deep, replica 0, window 2 (latency on replica 0)=null"}));
  EXPECT_EQ(r.message, "detection_delay_s never detected (probe deep, replica 0, window 2 (latency on replica 0))");
  EXPECT_EQ(r.name, "detection_delay_s <= 5 (probe deep, every window)");

  GateResult recovery = Eval({{"metric", "recovery_delay_s"}, {"window", 0}, {"max", 2}});
  EXPECT_TRUE(recovery.passed) << recovery.message;
  GateResult never = Eval({{"metric", "recovery_delay_s"}, {"window", 2}, {"max", 2}});
  EXPECT_EQ(never.message,
            "recovery_delay_s not measured: never turned unhealthy (probe deep, replica 0, window 2 (latency on replica 0))");

  // Replica 1's probes have no window (both windows hit replica 0).
  GateResult none = Eval({{"metric", "detection_delay_s"}, {"replica", 1}, {"max", 5}});
  EXPECT_FALSE(none.passed);
  EXPECT_TRUE(none.values.empty());
  EXPECT_EQ(none.message, "nothing to measure: no probe result matches");
}

TEST(GateEvaluation, ProbeRunMetricsAndRestarts) {
  GateResult alarms = Eval({{"metric", "false_alarms"}, {"max", 0}});
  EXPECT_FALSE(alarms.passed);
  EXPECT_EQ(Values(alarms), (Strings{"probe deep, replica 0=0", "probe deep, replica 1=1", "probe liveness, replica 1=0"}));
  EXPECT_EQ(alarms.message, "false_alarms 1 > 0 (probe deep, replica 1)");
  EXPECT_EQ(Values(Eval({{"metric", "misses"}, {"probe", "deep"}, {"replica", 0}, {"max", 0}})),
            (Strings{"probe deep, replica 0=1"}));
  EXPECT_TRUE(Eval({{"metric", "flaps"}, {"probe", "liveness"}, {"max", 0}}).passed);

  GateResult restarts = Eval({{"metric", "restarts"}, {"max", 1}});
  EXPECT_EQ(Values(restarts), (Strings{"probe deep, replica 0=2", "probe deep, replica 1=0", "probe liveness, replica 1=1"}));
  EXPECT_FALSE(restarts.passed);
  EXPECT_EQ(restarts.message, "restarts 2 > 1 (probe deep, replica 0)");

  json no_probes = Summary();
  no_probes["analyses"]["probes"] = json::array();
  GateResult none = Eval({{"metric", "flaps"}, {"max", 0}}, no_probes);
  EXPECT_FALSE(none.passed);
  EXPECT_EQ(none.message, "nothing to measure: no probe ran");
}

TEST(GateEvaluation, MonitorMetricsPerSeries) {
  GateResult leak = Eval({{"metric", "leak"}, {"equals", false}});
  EXPECT_FALSE(leak.passed);
  EXPECT_EQ(Values(leak), (Strings{"monitor prometheus, replica 0, series kvd_tasks=true",
                                   "monitor process, replica 0, series threads=false"}));
  EXPECT_EQ(leak.message, "leak is true, expected false (monitor prometheus, replica 0, series kvd_tasks)");

  GateResult threads = Eval({{"metric", "leak"}, {"monitor", "process"}, {"series", "threads"}, {"equals", false}});
  EXPECT_TRUE(threads.passed) << threads.message;
  EXPECT_EQ(threads.name, "leak == false (monitor process, series threads)");

  GateResult baseline = Eval({{"metric", "returned_to_baseline"}, {"equals", true}});
  EXPECT_FALSE(baseline.passed);
  EXPECT_EQ(baseline.message,
            "returned_to_baseline is false, expected true (monitor prometheus, replica 0, series kvd_tasks); "
            "returned_to_baseline not judged: no sample after the load stopped (give the monitor an \"idle\") "
            "(monitor process, replica 0, series threads)");

  EXPECT_EQ(Values(Eval({{"metric", "slope_per_min"}, {"series", "kvd_tasks"}, {"max", 1}})),
            (Strings{"monitor prometheus, replica 0, series kvd_tasks=12"}));
  EXPECT_TRUE(Eval({{"metric", "mann_kendall_p"}, {"series", "kvd_tasks"}, {"max", 0.01}}).passed);
  EXPECT_TRUE(Eval({{"metric", "rise"}, {"series", "threads"}, {"max", 1}}).passed);
  EXPECT_TRUE(Eval({{"metric", "last"}, {"monitor", "prometheus"}, {"min", 40}, {"max", 40}}).passed);
  EXPECT_FALSE(Eval({{"metric", "max"}, {"monitor", "prometheus"}, {"max", 40}}).passed);
  GateResult other_replica = Eval({{"metric", "max"}, {"replica", 1}, {"max", 40}});
  EXPECT_EQ(other_replica.message, "nothing to measure: no monitor series matches");
}

TEST(GateEvaluation, Durability) {
  EXPECT_TRUE(Eval({{"metric", "valid"}, {"equals", true}}).passed);
  EXPECT_TRUE(Eval({{"metric", "lost"}, {"max", 0}}).passed);
  EXPECT_TRUE(Eval({{"metric", "unexpected"}, {"max", 0}}).passed);
  EXPECT_EQ(Values(Eval({{"metric", "acknowledged"}, {"min", 1}})), (Strings{"durability=100"}));
  EXPECT_FALSE(Eval({{"metric", "recovered"}, {"max", 1}}).passed);
  EXPECT_EQ(Eval({{"metric", "indeterminate"}, {"max", 1}}).message, "indeterminate 3 > 1 (durability)");

  json none = Summary();
  none["analyses"]["durability"] = nullptr;
  GateResult r = Eval({{"metric", "lost"}, {"max", 0}}, none);
  EXPECT_FALSE(r.passed);
  EXPECT_TRUE(r.values.empty());
  EXPECT_EQ(r.message, "no durability checker");
}

// ---------------------------------------------------------------------------
// Names, JSON, verdict, junit.xml.

TEST(GateNames, DefaultNamesSayMetricBoundAndScope) {
  EXPECT_EQ(Gate({{"metric", "amplification"}, {"max", 2}}).name, "amplification <= 2");
  EXPECT_EQ(Gate({{"metric", "amplification"}, {"phase", "window"}, {"fleet", "clients"}, {"max", 2}}).name,
            "amplification <= 2 (clients, every window)");
  EXPECT_EQ(Gate({{"metric", "amplification"}, {"phase", "window"}, {"window", 0}, {"max", 2.5}}).name,
            "amplification <= 2.5 (window 0)");
  EXPECT_EQ(Gate({{"metric", "goodput_per_s"}, {"phase", "after"}, {"min", 1}}).name,
            "goodput_per_s >= 1 (after the last fault)");
  EXPECT_EQ(Gate({{"metric", "p99_ms"}, {"min", 1}, {"max", 2}}).name, "p99_ms in [1, 2]");
  EXPECT_EQ(Gate({{"metric", "metastable"}, {"equals", false}}).name, "metastable == false (every window)");
  EXPECT_EQ(Gate({{"metric", "flaps"}, {"probe", "deep"}, {"replica", 1}, {"max", 0}}).name,
            "flaps <= 0 (probe deep, replica 1)");
  EXPECT_EQ(Gate({{"metric", "valid"}, {"equals", true}}).name, "valid == true");
  EXPECT_EQ(Gate({{"name", "mine"}, {"metric", "valid"}, {"equals", true}}).name, "mine");
}

TEST(GateJson, LayoutOfAResult) {
  GateResult r = Eval({{"metric", "amplification"}, {"fleet", "batch"}, {"phase", "after"}, {"max", 2}});
  const json j = GateResultJson(r);
  EXPECT_EQ(j.at("name"), "amplification <= 2 (batch, after the last fault)");
  EXPECT_EQ(j.at("metric"), "amplification");
  EXPECT_EQ(j.at("bound"), json({{"max", 2}}));
  EXPECT_EQ(j.at("passed"), false);
  ASSERT_EQ(j.at("values").size(), 1u);
  EXPECT_EQ(j["values"][0].at("scope"), "batch, after the last fault");
  EXPECT_TRUE(j["values"][0].at("value").is_null());
  EXPECT_EQ(j["values"][0].at("passed"), false);
  EXPECT_EQ(j["values"][0].at("reason"), "not measured: nothing offered");
  EXPECT_EQ(j.at("message"), "amplification not measured: nothing offered (batch, after the last fault)");

  GateResult ok = Eval({{"metric", "valid"}, {"equals", true}});
  const json k = GateResultJson(ok);
  EXPECT_EQ(k["values"][0], json({{"scope", "durability"}, {"value", true}, {"passed", true}}));
}

TEST(GateVerdict, FailWhenAGateFailedButInterruptedWins) {
  json summary = Summary();
  SetGates(&summary, json::array());
  EXPECT_EQ(summary["verdict"], "pass");
  EXPECT_EQ(summary["gates"], json::array());

  std::vector<GateResult> results = {Eval({{"metric", "valid"}, {"equals", true}})};
  SetGates(&summary, GatesJson(results));
  EXPECT_EQ(summary["verdict"], "pass");
  results.push_back(Eval({{"metric", "storm"}, {"equals", false}}));
  SetGates(&summary, GatesJson(results));
  EXPECT_EQ(summary["verdict"], "fail");
  EXPECT_EQ(summary["gates"].size(), 2u);

  summary["interrupted"] = true;
  SetGates(&summary, GatesJson(results));
  EXPECT_EQ(summary["verdict"], "interrupted");
}

// Well-formed enough for CI: every tag closed in order, attributes quoted,
// no raw '<' or '&' outside markup. Returns "" or what is wrong.
std::string CheckXml(const std::string& xml) {
  std::vector<std::string> open;
  size_t i = 0;
  if (!xml.starts_with("<?xml ")) return "no XML declaration";
  i = xml.find("?>") + 2;
  while (i < xml.size()) {
    const size_t lt = xml.find('<', i);
    const std::string text = xml.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    for (size_t a = text.find('&'); a != std::string::npos; a = text.find('&', a + 1)) {
      const size_t semi = text.find(';', a);
      if (semi == std::string::npos || semi - a > 8) return "a raw '&' in text";
    }
    if (text.find('>') != std::string::npos) return "a raw '>' in text";
    if (lt == std::string::npos) break;
    // The tag, with quoted attribute values that must not hold '<'.
    size_t j = lt + 1;
    bool quoted = false;
    while (j < xml.size() && (quoted || xml[j] != '>')) {
      if (xml[j] == '"') quoted = !quoted;
      if (quoted && xml[j] == '<') return "a raw '<' in an attribute";
      ++j;
    }
    if (j >= xml.size()) return "an unclosed tag";
    std::string tag = xml.substr(lt + 1, j - lt - 1);
    i = j + 1;
    if (tag.starts_with("/")) {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) return "</" + name + "> does not close the open element";
      open.pop_back();
    } else if (!tag.ends_with("/")) {
      open.push_back(tag.substr(0, tag.find_first_of(" \t\n")));
    }
  }
  if (!open.empty()) return "<" + open.back() + "> is not closed";
  return "";
}

TEST(GateJunit, OneTestCasePerGateWithFailuresNamingTheValues) {
  json summary = Summary();
  summary["name"] = "fig9-2";
  std::vector<GateResult> results = {
      Eval({{"name", "no retry storm in the outage"}, {"metric", "amplification"}, {"fleet", "clients"},
            {"phase", "window"}, {"max", 2}}),
      Eval({{"name", "odd <name> & \"quotes\" 'too'\tand\ttabs"}, {"metric", "valid"}, {"equals", true}}),
      Eval({{"metric", "storm"}, {"equals", false}}),
  };
  SetGates(&summary, GatesJson(results));
  const std::string xml = JunitXml(summary);
  EXPECT_EQ(CheckXml(xml), "") << xml;
  EXPECT_NE(xml.find("<testsuite name=\"herd.fig9-2\" tests=\"3\" failures=\"2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testcase classname=\"herd.fig9-2\" name=\"no retry storm in the outage\" time=\"0\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"amplification 4.21 &gt; 2 (clients, window 0 (down on replica 0))\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"odd &lt;name&gt; &amp; &quot;quotes&quot; &apos;too&apos;&#9;and&#9;tabs\" time=\"0\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("FAIL clients, window 0 (down on replica 0): amplification 4.21"), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"storm == false (every window)\""), std::string::npos) << xml;
}

TEST(GateJunit, ZeroGatesIsAnEmptySuite) {
  json summary = Summary();
  SetGates(&summary, json::array());
  const std::string xml = JunitXml(summary);
  EXPECT_EQ(CheckXml(xml), "") << xml;
  EXPECT_NE(xml.find("<testsuite name=\"herd.gates\" tests=\"0\" failures=\"0\""), std::string::npos) << xml;
  EXPECT_EQ(xml.find("<testcase"), std::string::npos) << xml;
}

TEST(GateJunit, ControlCharactersCannotBreakTheXml) {
  EXPECT_EQ(XmlEscape("a\x01z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(XmlEscape("<&>"), "&lt;&amp;&gt;");
  EXPECT_EQ(XmlEscape("line\nbreak"), "line&#10;break");
  EXPECT_EQ(XmlEscape("line\nbreak", /*attribute=*/false), "line\nbreak");
  EXPECT_EQ(XmlEscape("é ✓"), "é ✓") << "UTF-8 passes through";
}

TEST(GateNumbers, ThreeSignificantDigitsWithoutNoise) {
  EXPECT_EQ(FormatGateNumber(4.2138), "4.21");
  EXPECT_EQ(FormatGateNumber(2), "2");
  EXPECT_EQ(FormatGateNumber(1234.6), "1235");
  EXPECT_EQ(FormatGateNumber(0.0123456), "0.0123");
  EXPECT_EQ(FormatGateNumber(0.5), "0.5");
  EXPECT_EQ(FormatGateNumber(-3.14159), "-3.14");
  EXPECT_EQ(FormatGateNumber(0), "0");
  EXPECT_EQ(FormatGateNumber(0.00001), "1e-05");
}

// ---------------------------------------------------------------------------
// Parsing: every rule, each error naming its path.

TEST(ScenarioGates, ParseIntoTypedSpecsAndRoundTrip) {
  const json gates = {
      {{"name", "no retry storm in the outage"}, {"metric", "amplification"}, {"fleet", "clients"},
       {"phase", "window"}, {"window", 0}, {"max", 2}, {"min", 0}},
      {{"metric", "storm"}, {"equals", false}},
      {{"metric", "detection_delay_s"}, {"probe", "deep"}, {"replica", 0}, {"max", 5}},
      {{"metric", "leak"}, {"monitor", "prometheus"}, {"series", "kvd_tasks"}, {"replica", 1}, {"equals", false}},
      {{"metric", "lost"}, {"max", 0}},
  };
  Scenario s = ParseOk(ScenarioDoc(gates));
  ASSERT_EQ(s.gates.size(), 5u);
  const GateSpec& g = s.gates[0];
  EXPECT_EQ(g.name, "no retry storm in the outage");
  EXPECT_EQ(g.metric, GateMetricId::kAmplification);
  EXPECT_EQ(g.fleet, "clients");
  EXPECT_EQ(g.phase, GateSpec::Phase::kWindow);
  EXPECT_EQ(g.window, 0);
  EXPECT_EQ(g.max, 2.0);
  EXPECT_EQ(g.min, 0.0);
  EXPECT_FALSE(g.equals);
  EXPECT_EQ(s.gates[1].phase, GateSpec::Phase::kWindow) << "window metrics are measured in windows";
  EXPECT_EQ(s.gates[1].equals, false);
  EXPECT_EQ(s.gates[3].series, "kvd_tasks");
  EXPECT_EQ(s.gates[4].phase, GateSpec::Phase::kRun);

  const json& resolved = s.resolved.at("gates");
  EXPECT_EQ(resolved[0], json({{"name", "no retry storm in the outage"}, {"metric", "amplification"},
                               {"fleet", "clients"}, {"phase", "window"}, {"window", 0}, {"max", 2}, {"min", 0}}));
  EXPECT_EQ(resolved[1], json({{"name", "storm == false (every window)"}, {"metric", "storm"}, {"phase", "window"},
                               {"equals", false}}));
  EXPECT_EQ(resolved[4], json({{"name", "lost <= 0"}, {"metric", "lost"}, {"max", 0}}));

  json again = s.resolved;
  Scenario t = ParseOk(again);
  EXPECT_EQ(s.gates, t.gates);
  EXPECT_EQ(s.resolved, t.resolved);
}

TEST(ScenarioGates, UnknownMetricSuggestsTheClosest) {
  const auto errors = GateErrors({{{"metric", "amplification"}, {"max", 2}}, {{"metric", "amplifcation"}, {"max", 2}}});
  EXPECT_TRUE(HasError(errors, "gates[1].metric: unknown metric \"amplifcation\" (did you mean \"amplification\"?)"));
  EXPECT_EQ(errors.size(), 1u);
  EXPECT_TRUE(HasError(GateErrors({{{"metric", 3}, {"max", 2}}}),
                       "gates[0].metric: expected a metric name like \"amplification\", got 3"));
  EXPECT_TRUE(HasError(GateErrors({{{"max", 2}}}),
                       "gates[0].metric: required: what to measure, e.g. \"amplification\" or \"p99_ms\""));
  const auto far = GateErrors({{{"metric", "zzzzzzzz"}, {"max", 2}}});
  ASSERT_EQ(far.size(), 1u);
  EXPECT_TRUE(far[0].starts_with("gates[0].metric: unknown metric \"zzzzzzzz\" (expected one of: \"offered_per_s\""))
      << far[0];
}

TEST(ScenarioGates, UnknownFieldsAndWrongTypes) {
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"max", 2}, {"fleets", "clients"}}}),
                       "gates[0].fleets: unknown field (did you mean \"fleet\"?)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"max", "2"}}}),
                       "gates[0].max: expected a number, got \"2\""));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}, {"equals", "false"}}}),
                       "gates[0].equals: expected true or false, got \"false\""));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"max", 2}, {"phase", "during"}}}),
                       "gates[0].phase: unknown value \"during\" (expected one of: \"run\", \"before\", \"window\", "
                       "\"after\")"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"max", 2}, {"name", ""}}}),
                       "gates[0].name: must not be empty (leave it out for a name built from the metric)"));
  EXPECT_TRUE(HasError(GateErrors({3}), "gates[0]: expected an object (a gate) like {\"metric\": \"amplification\", "
                                        "\"max\": 2}, got 3"));
}

TEST(ScenarioGates, BoundsMustFitTheMetric) {
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}}}),
                       "gates[0]: needs a bound: \"max\" and/or \"min\" (metric \"amplification\" is a number)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}}}),
                       "gates[0]: needs a bound: \"equals\": true or false (metric \"storm\" is true or false)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}, {"max", 1}}}),
                       "gates[0].max: metric \"storm\" is true or false: give \"equals\": true or false"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "leak"}, {"min", 0}}}),
                       "gates[0].min: metric \"leak\" is true or false: give \"equals\": true or false"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"equals", true}}}),
                       "gates[0].equals: metric \"amplification\" is a number: give \"max\" and/or \"min\""));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"min", 3}, {"max", 2}}}),
                       "gates[0].min: must be at most max (2), got 3"));
}

TEST(ScenarioGates, PhasesOnlyWhereTheMetricHasThem) {
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "jain"}, {"phase", "window"}, {"min", 0.9}}}),
                       "gates[0].phase: metric \"jain\" has no phases: it is measured over the whole run"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "lost"}, {"phase", "run"}, {"max", 0}}}),
                       "gates[0].phase: metric \"lost\" has no phases: it is measured over the whole run"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}, {"phase", "before"}, {"equals", false}}}),
                       "gates[0].phase: metric \"storm\" is measured in fault windows: phase must be \"window\" "
                       "(or left out)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"window", 0}, {"max", 2}}}),
                       "gates[0].window: only with phase \"window\""));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "flaps"}, {"window", 0}, {"max", 2}}}),
                       "gates[0].window: window is not used by metric \"flaps\" (a per-probe metric of the whole run)"));
}

TEST(ScenarioGates, FiltersMustNameWhatTheScenarioHas) {
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"fleet", "client"}, {"max", 2}}}),
                       "gates[0].fleet: no fleet named \"client\" (did you mean \"clients\"?)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"fleet", "zzzzzz"}, {"max", 2}}}),
                       "gates[0].fleet: no fleet named \"zzzzzz\" (the fleets are: \"clients\", \"batch\")"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "flaps"}, {"probe", "deeep"}, {"max", 2}}}),
                       "gates[0].probe: no probe named \"deeep\" (did you mean \"deep\"?)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "leak"}, {"monitor", "prom"}, {"equals", false}}}),
                       "gates[0].monitor: no monitor named \"prom\" (the monitors are: \"prometheus\", \"process\")"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "leak"}, {"series", "kvd_task"}, {"equals", false}}}),
                       "gates[0].series: no monitor samples series \"kvd_task\" (did you mean \"kvd_tasks\"?)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "leak"}, {"monitor", "process"}, {"series", "kvd_tasks"},
                                    {"equals", false}}}),
                       "gates[0].series: monitor \"process\" never samples series \"kvd_tasks\" (the series are: "
                       "\"cpu_seconds\", \"fds\", \"rss_bytes\", \"threads\")"));
  json no_probes = ScenarioDoc(json::array());
  no_probes.erase("probes");
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "flaps"}, {"probe", "deep"}, {"max", 2}}}, no_probes),
                       "gates[0].probe: no probe named \"deep\": the scenario has no probes"));
}

TEST(ScenarioGates, FiltersOnlyForTheirMetrics) {
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "lost"}, {"fleet", "clients"}, {"max", 0}}}),
                       "gates[0].fleet: fleet is not used by metric \"lost\" (a durability metric)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"probe", "deep"}, {"max", 2}}}),
                       "gates[0].probe: probe is not used by metric \"amplification\" (a per-fleet metric)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"replica", 0}, {"max", 2}}}),
                       "gates[0].replica: replica is not used by metric \"amplification\" (a per-fleet metric)"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "flaps"}, {"series", "kvd_tasks"}, {"max", 2}}}),
                       "gates[0].series: series is not used by metric \"flaps\" (a per-probe metric of the whole "
                       "run)"));
}

TEST(ScenarioGates, WindowAndReplicaIndexesInRange) {
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}, {"window", 3}, {"equals", false}}}),
                       "gates[0].window: the scenario's faults make 3 windows (0-2), got 3"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "amplification"}, {"phase", "window"}, {"window", -1}, {"max", 2}}}),
                       "gates[0].window: must not be negative, got -1"));
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "flaps"}, {"replica", 2}, {"max", 2}}}),
                       "gates[0].replica: the target has 2 replicas (0-1), got 2"));

  // A fault on every replica is one window per replica.
  json doc = ScenarioDoc(json::array());
  doc["faults"] = {{{"kind", "down"}, {"at", "1s"}, {"for", "1s"}}};
  doc["gates"] = {{{"metric", "storm"}, {"window", 1}, {"equals", false}}};
  EXPECT_EQ(ParseOk(doc).gates.size(), 1u);
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}, {"window", 2}, {"equals", false}}}, doc),
                       "gates[0].window: the scenario's faults make 2 windows (0-1), got 2"));
  doc.erase("faults");
  EXPECT_TRUE(HasError(GateErrors({{{"metric", "storm"}, {"window", 0}, {"equals", false}}}, doc),
                       "gates[0].window: the scenario has no faults, so no window 0"));
  // Without faults, phase window is not an error when loading: the run says "no such phase".
  doc["gates"] = {{{"metric", "storm"}, {"equals", false}}};
  EXPECT_EQ(ParseOk(doc).gates.size(), 1u);
}

TEST(ScenarioGates, SchemaDescribesGatesAndItsMetricsParse) {
  const json schema = ScenarioSchema();
  const json& gates = schema.at("properties").at("gates");
  EXPECT_EQ(gates.at("default"), json::array());
  const json& item = gates.at("items");
  EXPECT_EQ(item.at("required"), json({"metric"}));
  EXPECT_EQ(item.at("additionalProperties"), false);
  EXPECT_EQ(item.at("properties").at("phase").at("default"), "run");
  const json& metrics = item.at("properties").at("metric").at("enum");
  EXPECT_EQ(metrics.size(), std::size(kGateMetrics));
  for (const json& name : metrics) {
    const GateMetric* m = FindGateMetric(name.get<std::string>());
    ASSERT_NE(m, nullptr) << name;
    const json gate = m->boolean ? json{{"metric", name}, {"equals", true}} : json{{"metric", name}, {"max", 1}};
    EXPECT_EQ(ParseOk(ScenarioDoc(json::array({gate}))).gates.size(), 1u) << name;
  }
  // Every field of a resolved gate is a property of the schema's gate.
  Scenario s = ParseOk(ScenarioDoc({{{"metric", "amplification"}, {"fleet", "clients"}, {"phase", "window"},
                                     {"window", 0}, {"max", 2}, {"min", 0}},
                                    {{"metric", "leak"}, {"monitor", "process"}, {"series", "fds"}, {"replica", 0},
                                     {"equals", false}},
                                    {{"metric", "flaps"}, {"probe", "deep"}, {"max", 0}}}));
  for (const json& g : s.resolved.at("gates")) {
    for (const auto& [key, value] : g.items()) EXPECT_TRUE(item.at("properties").contains(key)) << key;
  }
}

}  // namespace
}  // namespace herd
