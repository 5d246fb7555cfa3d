// Writing a run's report: report.html and figures/<chart id>.svg, from the
// run directory's own files (`herd run` at its end, `herd report` later).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace herd {

struct ReportOutcome {
  bool written = false;               // report.html and the figures are in place
  std::vector<std::string> problems;  // RunData::problems: files that could not be read
  std::string error;                  // why nothing was written (no such directory, a write failed)
  size_t figures = 0;
};

// Reads `dir` (LoadRunDir), builds the charts and writes report.html and
// figures/*.svg into it, each atomically (RunDir::Write). Figures of charts
// that no longer exist are not removed.
ReportOutcome WriteReport(const std::filesystem::path& dir);

}  // namespace herd
