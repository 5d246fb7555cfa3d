// summary.json: what ran (the resolved scenario, seed, herd's version) and
// what came of it (totals, amplification, rates and latency per fleet).
// Later issues add phases, analyses, gates and the verdict's reasons.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "measure/timeseries.h"
#include "scenario/scenario.h"

namespace herd {

struct RunFacts {
  std::string started_at;     // UTC, ISO 8601
  Duration elapsed{};         // how long the fleets ran
  bool interrupted = false;   // SIGINT/SIGTERM
  bool virtual_time = false;
  nlohmann::json target;      // kind, addresses, replicas and their exits
};

nlohmann::json BuildSummary(const Scenario& scenario, const TimeSeries& series, const RunFacts& facts);

// Latency percentiles of a histogram, in milliseconds.
nlohmann::json LatencyJson(const Histogram& h);

// histograms/<fleet>.txt: one line per bucket, "t_s\tattempt\te2e"
// with Histogram::Serialize, so runs can be merged exactly later.
std::string HistogramsText(const TimeSeries& series, size_t fleet);

}  // namespace herd
