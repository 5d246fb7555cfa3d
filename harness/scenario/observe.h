// The scenario's "probes", "monitors" and "durability" sections: parsing
// with validation, and writing back. Internal to scenario/ (parse.cc calls
// it); the specs are in scenario.h.
#pragma once

#include "scenario/fields.h"
#include "scenario/scenario.h"

namespace herd::scenario_detail {

// Each needs s's target parsed: restart needs a launched target, gRPC
// probes target.protocol "grpc", a process monitor without a pid a
// launched target.
void ParseProbes(const json& list, Errors* errors, Scenario* s);
void ParseMonitors(const json& list, Errors* errors, Scenario* s);
void ParseDurability(const json& value, Errors* errors, Scenario* s);

json ResolvedProbe(const ProbeSpec& p);
json ResolvedMonitor(const MonitorSpec& m);
json ResolvedDurability(const std::optional<DurabilityScenarioSpec>& d);

}  // namespace herd::scenario_detail
