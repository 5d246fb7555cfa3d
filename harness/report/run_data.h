// RunData: a run directory read back from its files (DESIGN.md, Run
// directory), the only input of the report, the figures and `herd compare`.
// `herd run` renders its report through it too, so a report rebuilt later
// with `herd report` is the same report.
//
// Reading never gives up on a run: a file that is missing, cut short or
// corrupt is named in `problems` and whatever could be read is kept, so the
// report shows what it can and says what it could not.
#pragma once

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace herd {

inline constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// One fleet's rows of timeseries.csv, in time order.
struct FleetSeries {
  std::string name;
  std::vector<double> t_s;  // bucket starts
  // Every column of timeseries.csv after t_s and fleet, by its header name
  // ("offered", "lat_p99_ms", ...), each as long as t_s. An empty or
  // unreadable cell is NaN.
  std::map<std::string, std::vector<double>, std::less<>> columns;
  // End-to-end latency p50 and p90 per bucket, in ms, from
  // histograms/<fleet>.txt (the CSV has only e2e p99); as long as t_s, NaN
  // for buckets without e2e samples or when the file is missing.
  std::vector<double> e2e_p50_ms, e2e_p90_ms;

  // The column by name; an empty vector when there is no such column.
  const std::vector<double>& Column(std::string_view name) const;
};

struct FaultRow {    // faults.csv
  double start_s = 0, end_s = 0;
  std::string kind;
  int replica = 0;
  std::string detail;
  bool applied = true;  // false when detail starts with "not applied"
};

struct ProbeRow {    // probes.csv
  double t_s = 0;
  std::string probe;
  int replica = 0;
  std::string status;      // as written: "200", "SERVING", "refused", "timeout", ...
  double latency_ms = 0;
  std::string state;       // "healthy", "unhealthy", ... as written
};

struct MonitorRow {  // monitors.csv
  double t_s = 0;
  std::string monitor;
  int replica = 0;
  std::string series;
  double value = 0;
};

struct RunData {
  std::filesystem::path dir;
  // summary.json; null when missing or not JSON. Everything below that the
  // summary also holds (bucket width, run length) falls back to the CSVs.
  nlohmann::json summary;
  double bucket_s = 0;    // summary's bucket_s, else the step of timeseries.csv's t_s
  double end_s = 0;       // summary's elapsed_s, else the last bucket's end
  std::vector<FleetSeries> fleets;  // in order of first appearance
  std::vector<FaultRow> faults;
  std::vector<ProbeRow> probes;
  std::vector<MonitorRow> monitors;
  // One line per thing that could not be read, each starting with the file
  // it concerns: "timeseries.csv: line 7 has 3 fields, the header 26",
  // "summary.json: missing", "histograms/clients.txt: line 4: ...".
  // Rows that fail are skipped; the rest are kept.
  std::vector<std::string> problems;

  std::string Name() const;     // summary's name, else the directory's name
  std::string Verdict() const;  // summary's verdict, else "unknown"
};

// Reads `dir`. A directory that does not exist (or is not a directory)
// gives one problem naming it and nothing else.
RunData LoadRunDir(const std::filesystem::path& dir);

}  // namespace herd
