// summary.json: what ran (the resolved scenario, seed, herd's version) and
// what came of it (totals, amplification, rates and latency per fleet).
// Phases (DESIGN.md, Vocabulary): `before` the first fault, each fault
// `window`, and `after` the last one, each with the same per-fleet figures
// as the whole run. A phase covers whole buckets: a window from 10.2 s to
// 30.1 s with 1 s buckets counts buckets 10 to 30.
// "analyses" is analyze/analyses.h's object; "gates" the scenario's gates
// as analyze/gates.h evaluates them, and "verdict" "pass", "fail" (a gate
// failed) or "interrupted" (SIGINT/SIGTERM, whatever the gates say).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "measure/timeseries.h"
#include "report/xml.h"
#include "scenario/scenario.h"

namespace herd {

struct RunFacts {
  std::string started_at;     // UTC, ISO 8601
  Duration elapsed{};         // how long the fleets ran
  bool interrupted = false;   // SIGINT/SIGTERM
  bool virtual_time = false;
  nlohmann::json target;      // kind, addresses, replicas and their exits
  struct Window {
    double start_s = 0, end_s = 0;
    std::string label;        // "down on replica 0"
    int replica = -1;
  };
  std::vector<Window> windows;  // applied faults, in start order
  nlohmann::json faults = nlohmann::json::array();  // faults.csv's rows
  nlohmann::json restarts = nlohmann::json::array();  // probe-driven restarts
  nlohmann::json monitor_misses = nlohmann::json::array();  // samples not taken, and why
  nlohmann::json analyses = nlohmann::json::object();  // analyze/analyses.h
};

// "gates" is [] and "verdict" "pass" (or "interrupted") until SetGates.
nlohmann::json BuildSummary(const Scenario& scenario, const TimeSeries& series, const RunFacts& facts);

// Puts the evaluated gates (analyze/gates.h, GatesJson) into the summary
// and sets its verdict: "interrupted" when the run was, else "fail" when a
// gate failed, else "pass".
void SetGates(nlohmann::json* summary, const nlohmann::json& gates);

// junit.xml from a summary with its gates: one <testsuite
// name="herd.<scenario>"> with one <testcase classname="herd.<scenario>"
// name="<gate name>" time="0"> per gate, a <failure message="..."> naming
// the measured values for each failed one. Zero gates: tests="0".
std::string JunitXml(const nlohmann::json& summary);

// Latency percentiles of a histogram, in milliseconds.
nlohmann::json LatencyJson(const Histogram& h);

// histograms/<fleet>.txt: one line per bucket, "t_s\tattempt\te2e"
// with Histogram::Serialize, so runs can be merged exactly later.
std::string HistogramsText(const TimeSeries& series, size_t fleet);

}  // namespace herd
