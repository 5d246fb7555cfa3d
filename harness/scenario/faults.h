// The scenario's "faults" list: parsing with validation, and writing back.
// Internal to scenario/ (parse.cc calls it); FaultSpec is in scenario.h.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/fields.h"
#include "scenario/scenario.h"

namespace herd::scenario_detail {

// Reads `list` (the value of "faults") into s->faults. Needs s's duration
// and target already parsed: a window past the run's end, a replica out of
// range, or a kind the target cannot take (process faults on a url target,
// HTTP faults on gRPC) is an error naming the field.
void ParseFaults(const json& list, Errors* errors, Scenario* s);

// Every field with its default, as ParseFaults reads it back.
json ResolvedFault(const FaultSpec& f);

}  // namespace herd::scenario_detail
