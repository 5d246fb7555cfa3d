// herd report and herd compare: everything made from run directories that
// already exist, with no rerun.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace herd {

// herd report RUN_DIR: rewrites report.html and figures/*.svg from the
// run's files. 0 when every file was read; 2 when RUN_DIR is not a run
// directory, or when a file is missing or corrupt (each named on stderr;
// the report is still written with what could be read, and says what
// could not); 1 when writing failed.
int ReportCommand(const std::string& dir, bool quiet);

struct CompareOptions {
  std::string base, candidate;              // run directories
  std::vector<std::string> max_regression;  // METRIC=PCT
  std::string out;                          // compare.html; empty: <candidate>/compare.html
  bool quiet = false;
};

// herd compare: prints the table and verdict, writes compare.html. 0 no
// regression, 99 a regression beyond tolerance, 2 invalid input (a
// directory without a readable summary.json, a bad --max-regression), 1
// when compare.html cannot be written.
int CompareCommand(const CompareOptions& options);

// The checks of CompareCommand's input that can be made before a run
// (herd run --baseline): the tolerances parse and `base` has a readable
// summary.json. False with *error.
bool CheckCompareInput(const std::string& base, const std::vector<std::string>& max_regression,
                       std::map<std::string, double>* tolerances, std::string* error);

}  // namespace herd
