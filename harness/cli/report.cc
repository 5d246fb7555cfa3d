#include "cli/report.h"

#include <cstdio>

#include "report/compare.h"
#include "report/charts.h"
#include "report/html.h"
#include "report/report.h"
#include "report/run_data.h"
#include "report/run_dir.h"

namespace herd {

namespace fs = std::filesystem;

namespace {

constexpr int kExitPass = 0, kExitCannotRun = 1, kExitInvalid = 2, kExitRegression = 99;

void PrintProblems(const fs::path& dir, const std::vector<std::string>& problems) {
  for (const std::string& p : problems) std::fprintf(stderr, "herd: %s: %s\n", dir.c_str(), p.c_str());
}

// A run directory good enough to compare: its summary.json was read.
bool Comparable(const RunData& run, std::string* error) {
  if (run.summary.is_object()) return true;
  *error = run.problems.empty() ? run.dir.string() + ": not a run directory"
                                : run.dir.string() + ": " + run.problems.front();
  return false;
}

}  // namespace

int ReportCommand(const std::string& dir, bool quiet) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::fprintf(stderr, "herd: %s: %s\n", dir.c_str(), fs::exists(dir, ec) ? "not a directory" : "no such directory");
    return kExitInvalid;
  }
  const ReportOutcome outcome = WriteReport(dir);
  PrintProblems(dir, outcome.problems);
  if (!outcome.written) {
    std::fprintf(stderr, "herd: writing the report: %s\n", outcome.error.c_str());
    return kExitCannotRun;
  }
  if (!quiet) {
    std::fprintf(stderr, "herd: wrote %s and %zu figures%s\n", (fs::path(dir) / "report.html").c_str(),
                 outcome.figures, outcome.problems.empty() ? "" : " (with what could be read)");
  }
  return outcome.problems.empty() ? kExitPass : kExitInvalid;
}

bool CheckCompareInput(const std::string& base, const std::vector<std::string>& max_regression,
                       std::map<std::string, double>* tolerances, std::string* error) {
  for (const std::string& arg : max_regression) {
    if (!ParseMaxRegression(arg, tolerances, error)) return false;
  }
  std::error_code ec;
  if (!fs::is_directory(base, ec)) {
    *error = base + ": no such run directory";
    return false;
  }
  return Comparable(LoadRunDir(base), error);
}

int CompareCommand(const CompareOptions& o) {
  std::map<std::string, double> tolerances;
  std::string error;
  if (!CheckCompareInput(o.base, o.max_regression, &tolerances, &error)) {
    std::fprintf(stderr, "herd: %s\n", error.c_str());
    return kExitInvalid;
  }
  const RunData base = LoadRunDir(o.base);
  const RunData candidate = LoadRunDir(o.candidate);
  if (!Comparable(candidate, &error)) {
    std::fprintf(stderr, "herd: %s\n", error.c_str());
    return kExitInvalid;
  }
  // The figures come from summary.json; a CSV that cannot be read only
  // costs compare.html a chart, so it is a warning here.
  PrintProblems(base.dir, base.problems);
  PrintProblems(candidate.dir, candidate.problems);
  const Comparison comparison = Compare(base, candidate, tolerances);
  std::fputs(ComparisonText(comparison).c_str(), stdout);
  std::fflush(stdout);

  const fs::path out = o.out.empty() ? fs::path(o.candidate) / "compare.html" : fs::path(o.out);
  RunDir dir;
  const fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (!RunDir::Open(parent, &dir, &error) ||
      !dir.Write(out.filename().string(),
                 ComparisonHtml(base, candidate, comparison, BuildCompareCharts(base, candidate)), &error)) {
    std::fprintf(stderr, "herd: writing compare.html: %s\n", error.c_str());
    return kExitCannotRun;
  }
  if (!o.quiet) std::fprintf(stderr, "herd: wrote %s\n", out.c_str());
  return comparison.regressed ? kExitRegression : kExitPass;
}

}  // namespace herd
