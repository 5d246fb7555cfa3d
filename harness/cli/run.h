// herd run: load a scenario, start or find its target, run the fleets for
// the scenario's duration, and write the run directory (DESIGN.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herd {

struct RunOptions {
  std::string scenario_path;
  std::string out;                     // empty: reports/<name>-<time>
  std::vector<std::string> overrides;  // --set PATH=VALUE
  std::optional<uint64_t> seed;
  std::string duration;                // --duration, empty: the scenario's
  bool quiet = false;
  bool real_time = false;              // a model target runs on virtual time unless set
  std::string baseline;                // --baseline DIR: compare with that run afterwards
  std::vector<std::string> max_regression;  // METRIC=PCT, for --baseline
};

// Returns the process exit code: 0 pass, 2 invalid input, 1 could not run,
// 99 a gate failed or (with a baseline) a headline figure regressed, 130
// interrupted (files still written). The run directory gets report.html
// and figures/ (report/report.h) and, with a baseline, compare.html.
int RunCommand(const RunOptions& options);

// herd validate: 0 when the scenario is valid, else 2 with every error.
int ValidateCommand(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace herd
