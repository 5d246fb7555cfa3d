#include "report/run_data.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "common/csv.h"
#include "measure/histogram.h"

namespace herd {

namespace fs = std::filesystem;

namespace {

// Buckets are written with three decimals in both timeseries.csv and
// histograms/: anything closer than this is the same bucket.
constexpr double kSameTime = 1e-6;

// Problems name files the way DESIGN.md does, relative to the run directory
// and with '/', whatever the platform.
void AddProblem(std::vector<std::string>* problems, std::string_view file, std::string_view what) {
  problems->push_back(fmt::format("{}: {}", file, what));
}

// The whole file into *text. False with *why when it is not there or cannot
// be read: a run directory's files are small enough to hold, and one read is
// much faster than streaming them.
bool ReadWholeFile(const fs::path& path, std::string* text, std::string* why) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    *why = "missing";
    return false;
  }
  if (!fs::is_regular_file(path, ec)) {
    *why = "not a regular file";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  const auto size = fs::file_size(path, ec);
  if (!in || ec) {
    *why = "cannot be read";
    return false;
  }
  text->resize(size);
  in.read(text->data(), static_cast<std::streamsize>(size));
  // A file that shrank between the two calls is read as far as it goes.
  text->resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    *why = "cannot be read";
    return false;
  }
  return true;
}

// The whole of `s` as a number; false when it is empty or has anything else.
bool ParseDouble(std::string_view s, double* out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return !s.empty() && ec == std::errc() && ptr == end;
}

bool ParseInt(std::string_view s, int* out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return !s.empty() && ec == std::errc() && ptr == end;
}

double NumberOrNaN(std::string_view s) {
  double v = kNoValue;
  return ParseDouble(s, &v) ? v : kNoValue;
}

// A row of a CSV file with the columns a reader asked for, by position in
// the list it asked with; failing conversions are remembered, so a reader
// converts every field and asks once whether the row is good.
class Row {
 public:
  Row(const std::vector<std::string>& fields, const std::vector<size_t>& index, std::span<const char* const> names)
      : fields_(fields), index_(index), names_(names) {}

  const std::string& Text(size_t i) const { return fields_[index_[i]]; }
  double Number(size_t i) {
    double v = 0;
    if (!ParseDouble(Text(i), &v)) Fail(i, "is not a number");
    return v;
  }
  int Integer(size_t i) {
    int v = 0;
    if (!ParseInt(Text(i), &v)) Fail(i, "is not an integer");
    return v;
  }
  // Empty when every conversion succeeded, else what the first failure was.
  const std::string& error() const { return error_; }

 private:
  void Fail(size_t i, const char* what) {
    if (error_.empty()) error_ = fmt::format("{} '{}' {}", names_[i], Text(i), what);
  }

  const std::vector<std::string>& fields_;
  const std::vector<size_t>& index_;
  std::span<const char* const> names_;
  std::string error_;
};

// Reads the CSV file `name` of `dir` record by record. `on_header` sees the
// header and says whether the rows can be read at all (naming what is wrong
// in *error); `on_row` gets each complete row with the header's field count,
// with its line, and returns "" or what is wrong with it. Everything else (a
// missing file, no header, a row of the wrong width, a last line cut short)
// is a problem; the good rows are kept whatever happens to the others.
void ReadCsvRows(const fs::path& dir, const std::string& name, std::vector<std::string>* problems,
                 const std::function<bool(const std::vector<std::string>&, std::string*)>& on_header,
                 const std::function<std::string(const std::vector<std::string>&, size_t)>& on_row) {
  std::string text, why;
  if (!ReadWholeFile(dir / name, &text, &why)) return AddProblem(problems, name, why);
  CsvReader reader(text);
  std::vector<std::string> header, fields;
  if (!reader.Next(&header)) return AddProblem(problems, name, "no header");
  if (!reader.complete()) return AddProblem(problems, name, "no header: line 1 is cut short");
  if (!on_header(header, &why)) return AddProblem(problems, name, why);
  while (reader.Next(&fields)) {
    const size_t line = reader.line();
    if (!reader.complete()) {
      // Only the last record can run into the end of the text: a partial
      // write. Its last field may be cut anywhere, so none of it is trusted.
      AddProblem(problems, name, fmt::format("line {} is cut short", line));
    } else if (fields.size() != header.size()) {
      AddProblem(problems, name,
                 fmt::format("line {} has {} fields, the header {}", line, fields.size(), header.size()));
    } else if (std::string error = on_row(fields, line); !error.empty()) {
      AddProblem(problems, name, fmt::format("line {}: {}", line, error));
    }
  }
}

// The positions of `names` in `header` into *index; false with *error naming
// the first one absent.
bool FindColumns(const std::vector<std::string>& header, std::span<const char* const> names,
                 std::vector<size_t>* index, std::string* error) {
  index->clear();
  for (const char* name : names) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      *error = fmt::format("no column '{}'", name);
      return false;
    }
    index->push_back(static_cast<size_t>(it - header.begin()));
  }
  return true;
}

void ReadSummary(RunData* run) {
  std::string text, why;
  if (!ReadWholeFile(run->dir / "summary.json", &text, &why)) {
    return AddProblem(&run->problems, "summary.json", why);
  }
  try {
    run->summary = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return AddProblem(&run->problems, "summary.json", fmt::format("not JSON: {}", e.what()));
  }
  // Name(), Verdict() and every reader of the summary index it as an object.
  if (!run->summary.is_object()) {
    run->summary = nullptr;
    return AddProblem(&run->problems, "summary.json", "not a JSON object");
  }
}

void ReadTimeseries(RunData* run) {
  // Per fleet, the vector of each CSV column (null for t_s and fleet), so a
  // cell goes to its place without a map look-up.
  std::vector<std::vector<std::vector<double>*>> targets;
  std::vector<std::string> header;
  size_t t_col = 0, fleet_col = 0;
  auto on_header = [&](const std::vector<std::string>& h, std::string* error) {
    std::vector<size_t> index;
    static constexpr const char* kKeys[] = {"t_s", "fleet"};
    if (!FindColumns(h, kKeys, &index, error)) return false;
    t_col = index[0];
    fleet_col = index[1];
    header = h;
    return true;
  };
  auto fleet_of = [&](const std::string& name) -> size_t {
    for (size_t f = 0; f < run->fleets.size(); ++f) {
      if (run->fleets[f].name == name) return f;
    }
    FleetSeries& fleet = run->fleets.emplace_back();
    fleet.name = name;
    auto& cols = targets.emplace_back(header.size(), nullptr);
    for (size_t c = 0; c < header.size(); ++c) {
      if (c != t_col && c != fleet_col) cols[c] = &fleet.columns[header[c]];
    }
    return run->fleets.size() - 1;
  };
  auto on_row = [&](const std::vector<std::string>& fields, size_t) -> std::string {
    double t = 0;
    if (!ParseDouble(fields[t_col], &t)) return fmt::format("t_s '{}' is not a number", fields[t_col]);
    if (fields[fleet_col].empty()) return "no fleet";
    const size_t f = fleet_of(fields[fleet_col]);
    run->fleets[f].t_s.push_back(t);
    // A cell that is not a number is only that cell lost, not the row.
    const auto& cols = targets[f];
    for (size_t c = 0; c < fields.size(); ++c) {
      if (cols[c] != nullptr) cols[c]->push_back(NumberOrNaN(fields[c]));
    }
    return "";
  };
  ReadCsvRows(run->dir, "timeseries.csv", &run->problems, on_header, on_row);
}

// histograms/<fleet>.txt: '#' comment lines, then "t_s<TAB>attempt<TAB>e2e"
// per bucket, each histogram in Histogram::Serialize's form. Fills the
// fleet's e2e p50 and p90 for the buckets it has.
void ReadHistograms(const fs::path& dir, FleetSeries* fleet, std::vector<std::string>* problems) {
  const size_t n = fleet->t_s.size();
  fleet->e2e_p50_ms.assign(n, kNoValue);
  fleet->e2e_p90_ms.assign(n, kNoValue);
  const std::string name = "histograms/" + fleet->name + ".txt";
  std::string text, why;
  if (!ReadWholeFile(dir / "histograms" / (fleet->name + ".txt"), &text, &why)) {
    return AddProblem(problems, name, why);
  }
  Histogram e2e;  // reused: 37 KB, cleared by every Parse
  std::string e2e_text, error;
  std::string_view rest = text;
  for (size_t line = 1; !rest.empty(); ++line) {
    const size_t eol = rest.find('\n');
    std::string_view row = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (row.empty() || row.front() == '#') continue;
    if (eol == std::string_view::npos) {
      AddProblem(problems, name, fmt::format("line {} is cut short", line));
      break;
    }
    const size_t tab1 = row.find('\t');
    const size_t tab2 = tab1 == std::string_view::npos ? tab1 : row.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos || row.find('\t', tab2 + 1) != std::string_view::npos) {
      AddProblem(problems, name, fmt::format("line {} is not t_s<TAB>attempt<TAB>e2e", line));
      continue;
    }
    double t = 0;
    if (!ParseDouble(row.substr(0, tab1), &t)) {
      AddProblem(problems, name, fmt::format("line {}: t_s '{}' is not a number", line, row.substr(0, tab1)));
      continue;
    }
    // Only the e2e histogram is parsed: the attempt latency quantiles are
    // in timeseries.csv already, and parsing is most of the time spent here.
    e2e_text.assign(row.substr(tab2 + 1));
    if (!Histogram::Parse(e2e_text, &e2e, &error)) {
      AddProblem(problems, name, fmt::format("line {}: {}", line, error));
      continue;
    }
    // Buckets are in time order in both files; a bucket that timeseries.csv
    // does not have (it was cut short, say) has nowhere to go.
    auto it = std::lower_bound(fleet->t_s.begin(), fleet->t_s.end(), t - kSameTime);
    if (it == fleet->t_s.end() || std::abs(*it - t) > kSameTime || e2e.count() == 0) continue;
    const size_t b = static_cast<size_t>(it - fleet->t_s.begin());
    fleet->e2e_p50_ms[b] = static_cast<double>(e2e.Quantile(0.50)) / 1e6;
    fleet->e2e_p90_ms[b] = static_cast<double>(e2e.Quantile(0.90)) / 1e6;
  }
}

void ReadFaults(RunData* run) {
  static constexpr const char* kColumns[] = {"start_s", "end_s", "kind", "replica", "detail"};
  std::vector<size_t> index;
  ReadCsvRows(
      run->dir, "faults.csv", &run->problems,
      [&](const std::vector<std::string>& h, std::string* error) { return FindColumns(h, kColumns, &index, error); },
      [&](const std::vector<std::string>& fields, size_t) {
        Row row(fields, index, kColumns);
        FaultRow f;
        f.start_s = row.Number(0);
        f.end_s = row.Number(1);
        f.kind = row.Text(2);
        f.replica = row.Integer(3);
        f.detail = row.Text(4);
        f.applied = !f.detail.starts_with("not applied");
        if (row.error().empty()) run->faults.push_back(std::move(f));
        return row.error();
      });
}

void ReadProbes(RunData* run) {
  static constexpr const char* kColumns[] = {"t_s", "probe", "replica", "status", "latency_ms", "state"};
  std::vector<size_t> index;
  ReadCsvRows(
      run->dir, "probes.csv", &run->problems,
      [&](const std::vector<std::string>& h, std::string* error) { return FindColumns(h, kColumns, &index, error); },
      [&](const std::vector<std::string>& fields, size_t) {
        Row row(fields, index, kColumns);
        ProbeRow p;
        p.t_s = row.Number(0);
        p.probe = row.Text(1);
        p.replica = row.Integer(2);
        p.status = row.Text(3);
        p.latency_ms = row.Number(4);
        p.state = row.Text(5);
        if (row.error().empty()) run->probes.push_back(std::move(p));
        return row.error();
      });
}

void ReadMonitors(RunData* run) {
  static constexpr const char* kColumns[] = {"t_s", "monitor", "replica", "series", "value"};
  std::vector<size_t> index;
  ReadCsvRows(
      run->dir, "monitors.csv", &run->problems,
      [&](const std::vector<std::string>& h, std::string* error) { return FindColumns(h, kColumns, &index, error); },
      [&](const std::vector<std::string>& fields, size_t) {
        Row row(fields, index, kColumns);
        MonitorRow m;
        m.t_s = row.Number(0);
        m.monitor = row.Text(1);
        m.replica = row.Integer(2);
        m.series = row.Text(3);
        m.value = row.Number(4);
        if (row.error().empty()) run->monitors.push_back(std::move(m));
        return row.error();
      });
}

// bucket_s and end_s from the summary when it has them, else from the time
// series: the smallest step between a fleet's buckets (a bucket without
// rows, had there ever been one, would only make a step larger).
void FindTimes(RunData* run) {
  double step = 0, last = kNoValue;
  for (const FleetSeries& fleet : run->fleets) {
    for (size_t i = 0; i < fleet.t_s.size(); ++i) {
      const double t = fleet.t_s[i];
      if (std::isnan(last) || t > last) last = t;
      if (i == 0) continue;
      const double d = t - fleet.t_s[i - 1];
      if (d > kSameTime && (step == 0 || d < step)) step = d;
    }
  }
  const nlohmann::json* bucket = nullptr;
  const nlohmann::json* elapsed = nullptr;
  if (run->summary.is_object()) {
    if (auto it = run->summary.find("bucket_s"); it != run->summary.end()) bucket = &*it;
    if (auto it = run->summary.find("elapsed_s"); it != run->summary.end()) elapsed = &*it;
  }
  run->bucket_s = bucket != nullptr && bucket->is_number() && bucket->get<double>() > 0 ? bucket->get<double>() : step;
  if (elapsed != nullptr && elapsed->is_number()) {
    run->end_s = elapsed->get<double>();
  } else if (!std::isnan(last)) {
    run->end_s = last + run->bucket_s;
  }
}

}  // namespace

const std::vector<double>& FleetSeries::Column(std::string_view name) const {
  static const std::vector<double> kEmpty;
  auto it = columns.find(name);
  return it == columns.end() ? kEmpty : it->second;
}

std::string RunData::Name() const {
  if (summary.is_object()) {
    if (auto it = summary.find("name"); it != summary.end() && it->is_string()) return it->get<std::string>();
  }
  // "runs/x/" has an empty filename: the name is that of the directory itself.
  fs::path p = dir.lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  if (p.filename().empty() || p.filename() == "." || p.filename() == "..") {
    std::error_code ec;
    const fs::path absolute = fs::weakly_canonical(dir, ec);
    if (!ec) p = absolute;
  }
  return p.filename().string();
}

std::string RunData::Verdict() const {
  if (summary.is_object()) {
    if (auto it = summary.find("verdict"); it != summary.end() && it->is_string()) return it->get<std::string>();
  }
  return "unknown";
}

RunData LoadRunDir(const fs::path& dir) {
  RunData run;
  run.dir = dir;
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (!fs::exists(status)) {
    AddProblem(&run.problems, dir.string(), "no such directory");
    return run;
  }
  if (!fs::is_directory(status)) {
    AddProblem(&run.problems, dir.string(), "not a directory");
    return run;
  }
  ReadSummary(&run);
  ReadTimeseries(&run);
  for (FleetSeries& fleet : run.fleets) ReadHistograms(dir, &fleet, &run.problems);
  ReadFaults(&run);
  ReadProbes(&run);
  ReadMonitors(&run);
  FindTimes(&run);
  return run;
}

}  // namespace herd
