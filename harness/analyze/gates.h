// Evaluating a scenario's gates (scenario/gates.h has the format and the
// metric table) against a run's summary.json, before its "gates" and
// "verdict" are filled in (report/summary.h, SetGates).
//
// Each gate measures one value per thing it covers, each with a scope label:
//   per fleet and phase    "clients" (whole run), "clients, before the first
//                          fault", "clients, window 0 (down on replica 0)",
//                          "clients, after the last fault"
//   per fleet and window   "clients, window 0 (down on replica 0)"
//   per fleet, whole run   "clients"
//   probes                 "probe deep, replica 0[, window 0 (...)]"
//   monitors               "monitor prometheus, replica 0, series kvd_tasks"
//   durability             "durability"
// Windows are numbered by their row in faults.csv (summary "faults"); a
// fault that could not be applied has no window (a gate on it fails,
// "every window" leaves it out). A window-scoped probe value exists only
// for the replicas the window hit (analyses.h).
//
// A gate passes when it measured at least one value and every value is
// within bounds (max and min inclusive; equals exactly). A null value fails
// with its reason ("not measured: nothing offered", "never recovered").
// Nothing measured fails too: "nothing to measure", "no such phase: the run
// had no fault windows" (phase before, window or after without faults),
// "no durability checker".
//
// In summary.json (GateResultJson):
//   {"name", "metric", "bound": {"max"?, "min"?, "equals"?}, "passed",
//    "values": [{"scope", "value": x|bool|null, "passed", "reason"?}],
//    "message"}
// message: the failing values, e.g.
//   "amplification 4.21 > 2 (clients, window 0 (down on replica 0))"
// (joined by "; "), or, when it passed, every value within its bound.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/gates.h"

namespace herd {

struct GateValue {
  std::string scope;
  nlohmann::json value;  // a number, true or false, or null
  std::string reason;    // null: why ("not measured: nothing offered")
  bool passed = false;
};

struct GateResult {
  std::string name;
  std::string metric;
  nlohmann::json bound = nlohmann::json::object();
  bool passed = false;
  std::vector<GateValue> values;
  std::string message;
};

// `summary`: BuildSummary's object (fleets, phases, faults, restarts,
// analyses). Missing parts read as nothing measured.
GateResult EvaluateGate(const GateSpec& gate, const nlohmann::json& summary);
std::vector<GateResult> EvaluateGates(const std::vector<GateSpec>& gates, const nlohmann::json& summary);

nlohmann::json GateResultJson(const GateResult& result);
nlohmann::json GatesJson(const std::vector<GateResult>& results);

// A value for messages: 4.2138 -> "4.21", 1234.5 -> "1235" (three
// significant digits, at least the integer part; no trailing zeros).
std::string FormatGateNumber(double v);

}  // namespace herd
