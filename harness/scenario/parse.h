// Turning scenario files into Scenarios. JSON with // and /* */ comments.
// Every error names the JSON path and what was expected, e.g.
//   fleets[0].retry.base: expected a duration like "1s", got 5
// and nothing runs when there is one (herd exits 2).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/scenario.h"

namespace herd {

struct ParseError {
  std::string path;     // "fleets[0].retry.base", or "" for the whole file
  std::string message;  // what was expected and what was found
  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
};

// Reads JSON text with comments. On a syntax error, returns false with the
// line and column in *error.
bool ReadJsonWithComments(std::string_view text, nlohmann::json* out, ParseError* error);

// Applies --set overrides ("fleets[0].instances=200", "duration=30s") to the
// raw JSON before validation. The value is parsed as JSON when it is valid
// JSON (200, true, {"a":1}), else taken as a string ("30s").
bool ApplyOverride(std::string_view assignment, nlohmann::json* doc, ParseError* error);

// Validates and defaults. Collects every error it can (not just the first).
bool ParseScenario(const nlohmann::json& doc, Scenario* out, std::vector<ParseError>* errors);

// Convenience: read a file, apply overrides, parse.
bool LoadScenario(const std::string& path, const std::vector<std::string>& overrides,
                  Scenario* out, std::vector<ParseError>* errors);

// One fault on its own, as a scenario's "faults" entry without a window
// (herd proxy's control API applies it now): kind and parameters, and an
// optional "for". Errors name the field ("latency: required for latency").
bool ParseFault(const nlohmann::json& fault, FaultSpec* out, std::vector<ParseError>* errors);

// The JSON Schema (draft 2020-12) of the scenario format, every default and
// every field documented. `herd schema` prints it.
nlohmann::json ScenarioSchema();

}  // namespace herd
