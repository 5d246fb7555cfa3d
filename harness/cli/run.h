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
};

// Returns the process exit code: 0 pass, 2 invalid input, 1 could not run,
// 130 interrupted (files still written).
int RunCommand(const RunOptions& options);

// herd validate: 0 when the scenario is valid, else 2 with every error.
int ValidateCommand(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace herd
