#include "support/herd_run.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "common/csv.h"

namespace herd::test {

using nlohmann::json;
namespace fs = std::filesystem;

const std::vector<std::string> kErrorOutcomes = {"throttled", "shed",    "server_error", "client_error",
                                                 "timeout",   "refused", "reset",        "other_error"};

double Bucket::Errors() const {
  double n = 0;
  for (const auto& c : kErrorOutcomes) n += v.at(c);
  return n;
}

// ---- HerdRun ----------------------------------------------------------------

const FaultRow* HerdRun::Fault(const std::string& kind) const {
  for (const auto& f : faults) {
    if (f.kind == kind) return &f;
  }
  return nullptr;
}

double HerdRun::Sum(const std::string& column, const std::function<bool(const Bucket&)>& which) const {
  double n = 0;
  for (const auto& b : buckets) {
    if (which(b)) n += b[column];
  }
  return n;
}

int HerdRun::Count(const std::function<bool(const Bucket&)>& which) const {
  return static_cast<int>(std::count_if(buckets.begin(), buckets.end(), which));
}

double HerdRun::Total(const std::string& field) const { return summary.at("totals").at(field).get<double>(); }

double HerdRun::Outcome(const std::string& outcome) const {
  return summary.at("totals").at("outcomes").at(outcome).get<double>();
}

json HerdRun::ProbeAnalysis(const std::string& probe, int replica) const {
  for (const auto& p : Analyses().at("probes")) {
    if (p["probe"] == probe && p["replica"] == replica) return p;
  }
  return nullptr;
}

json HerdRun::MonitorAnalysis(const std::string& monitor, int replica, const std::string& series) const {
  for (const auto& m : Analyses().at("monitors")) {
    if (m["monitor"] == monitor && m["replica"] == replica && m["series"] == series) return m;
  }
  return nullptr;
}

std::vector<ProbeRow> HerdRun::ProbeRows(const std::string& probe, int replica) const {
  std::vector<ProbeRow> rows;
  for (const auto& p : probes) {
    if (p.probe == probe && p.replica == replica) rows.push_back(p);
  }
  return rows;
}

std::vector<MonitorRow> HerdRun::MonitorRows(const std::string& monitor, int replica,
                                             const std::string& series) const {
  std::vector<MonitorRow> rows;
  for (const auto& m : monitors) {
    if (m.monitor == monitor && m.replica == replica && m.series == series) rows.push_back(m);
  }
  return rows;
}

std::string HerdRun::Table() const {
  std::string s = "\nfaults.csv:\n" + faults_csv + "timeseries.csv (fleet clients):\n";
  const std::vector<std::string> cols = {"attempts", "ok",      "not_found", "shed",        "server_error",
                                         "timeout",  "refused", "reset",     "other_error", "lat_p50_ms",
                                         "lat_max_ms"};
  s += fmt::format("{:>6}", "t_s");
  for (const auto& c : cols) s += fmt::format(" {:>8.8}", c);
  s += "\n";
  for (const auto& b : buckets) {
    s += fmt::format("{:>6.3f}", b.t);
    for (const auto& c : cols) s += fmt::format(" {:>8.8}", fmt::format("{:g}", b[c]));
    s += "\n";
  }
  s += "probes.csv:\n" + probes_csv;
  if (summary.is_object() && summary.contains("analyses")) {
    s += "analyses.probes: " + summary["analyses"].value("probes", json::array()).dump() + "\n";
  }
  if (summary.is_object() && summary.contains("restarts")) s += "restarts: " + summary["restarts"].dump() + "\n";
  return s + "herd stderr:\n" + stderr_text;
}

std::string HerdRun::MonitorTable() const {
  std::string s = "\nmonitors.csv:\n" + monitors_csv;
  if (summary.is_object() && summary.contains("analyses")) {
    s += "analyses.monitors: " + summary["analyses"].value("monitors", json::array()).dump(1) + "\n";
  }
  return s + "herd stderr:\n" + stderr_text;
}

// ---- reading and running ----------------------------------------------------

void ReadRunDir(HerdRun* r) {
  if (fs::exists(r->out / "summary.json")) {
    r->summary = json::parse(ReadFileText(r->out / "summary.json"), nullptr, false);
    if (r->summary.is_object() && r->summary.contains("bucket_s")) r->width = r->summary["bucket_s"].get<double>();
  }
  std::string error;
  CsvTable ts;
  if (fs::exists(r->out / "timeseries.csv")) {
    EXPECT_TRUE(ReadCsvFile(r->out / "timeseries.csv", &ts, &error)) << error;
    for (size_t i = 0; i < ts.size(); ++i) {
      if (ts.Cell(i, "fleet") != "clients") continue;
      Bucket b;
      b.t = ts.Number(i, "t_s");
      for (const auto& name : ts.header) {
        if (name != "t_s" && name != "fleet") b.v[name] = ts.Number(i, name);
      }
      r->buckets.push_back(std::move(b));
    }
  }
  if (fs::exists(r->out / "faults.csv")) {
    r->faults_csv = ReadFileText(r->out / "faults.csv");
    CsvTable fc;
    EXPECT_TRUE(ParseCsv(r->faults_csv, &fc, &error)) << error;
    EXPECT_EQ(fc.header, (std::vector<std::string>{"start_s", "end_s", "kind", "replica", "detail"}));
    for (size_t i = 0; i < fc.size(); ++i) {
      r->faults.push_back(FaultRow{fc.Number(i, "start_s"), fc.Number(i, "end_s"), fc.Cell(i, "kind"),
                                   static_cast<int>(fc.Number(i, "replica")), fc.Cell(i, "detail")});
    }
  }
  if (fs::exists(r->out / "probes.csv")) {
    r->probes_csv = ReadFileText(r->out / "probes.csv");
    CsvTable pc;
    EXPECT_TRUE(ParseCsv(r->probes_csv, &pc, &error)) << error;
    EXPECT_EQ(pc.header, (std::vector<std::string>{"t_s", "probe", "replica", "status", "latency_ms", "state"}));
    for (size_t i = 0; i < pc.size(); ++i) {
      const std::string& state = pc.Cell(i, "state");
      EXPECT_TRUE(state == "healthy" || state == "unhealthy") << "probes.csv row " << i << ": " << state;
      r->probes.push_back(ProbeRow{pc.Number(i, "t_s"), pc.Cell(i, "probe"), static_cast<int>(pc.Number(i, "replica")),
                                   pc.Cell(i, "status"), pc.Number(i, "latency_ms"), state == "healthy"});
    }
  }
  if (fs::exists(r->out / "monitors.csv")) {
    r->monitors_csv = ReadFileText(r->out / "monitors.csv");
    CsvTable mc;
    EXPECT_TRUE(ParseCsv(r->monitors_csv, &mc, &error)) << error;
    EXPECT_EQ(mc.header, (std::vector<std::string>{"t_s", "monitor", "replica", "series", "value"}));
    for (size_t i = 0; i < mc.size(); ++i) {
      r->monitors.push_back(MonitorRow{mc.Number(i, "t_s"), mc.Cell(i, "monitor"),
                                       static_cast<int>(mc.Number(i, "replica")), mc.Cell(i, "series"),
                                       mc.Number(i, "value")});
    }
  }
  r->junit = ReadFileText(r->out / "junit.xml");
}

HerdRun RunHerd(const json& scenario, const RunHerdOptions& options) {
  HerdRun r;
  WriteScenario(options.scenario_file, scenario);
  r.out = options.out;
  ProcessOptions o;
  o.argv = {HerdBinary(), "run", options.scenario_file.string(), "--out", r.out.string()};
  if (options.quiet) o.argv.push_back("-q");
  o.stderr_path = options.stderr_path;
  Process p;
  std::string error;
  EXPECT_TRUE(p.Start(o, &error)) << error;
  if (options.during) options.during(p, r.out);
  auto code = p.WaitExit(std::chrono::duration_cast<Millis>(options.timeout));
  if (!code) {
    ADD_FAILURE() << "herd run did not finish within " << options.timeout.count() << " s";
    code = p.Kill();
  }
  r.exit_code = code.value_or(-1);
  r.stderr_text = p.StderrText();
  ReadRunDir(&r);
  return r;
}

std::pair<int, std::string> HerdCommand(const std::vector<std::string>& args, const fs::path& stderr_path) {
  ProcessOptions o;
  o.argv = {HerdBinary()};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.stderr_path = stderr_path;
  Process p;
  std::string error;
  EXPECT_TRUE(p.Start(o, &error)) << error;
  auto code = p.WaitExit(Millis(30000));
  if (!code) code = p.Kill();
  return {code.value_or(-1), p.StderrText()};
}

json LaunchKvd(const KvdScenarioOptions& o) {
  json command = json::array({KvdBinary(), "--http", "127.0.0.1:0", "--data-dir", "{data_dir}"});
  if (o.grpc) {
    command.push_back("--grpc");
    command.push_back("127.0.0.1:0");
  }
  for (const auto& a : o.kvd_args) command.push_back(a);
  json target = {{"launch", {{"command", command}}}};
  if (o.replicas) target["launch"]["replicas"] = *o.replicas;
  if (o.grpc) target["protocol"] = "grpc";
  return target;
}

json KvdScenario(const std::string& name, const json& extra, const KvdScenarioOptions& o) {
  json workload = {{"mix", {{"get", 0.8}, {"put", 0.2}}}, {"keys", {{"count", o.keys}}}};
  if (o.value_bytes) workload["value_bytes"] = *o.value_bytes;
  json fleet = {{"name", "clients"},
                {"instances", o.instances},
                {"arrival", {{"model", "closed"}, {"think", o.think}}},
                {"workload", workload},
                {"timeout", o.timeout},
                {"retry", {{"strategy", "none"}}}};
  json s = {{"name", name},
            {"duration", o.duration},
            {"bucket", o.bucket},
            {"seed", o.seed},
            {"target", LaunchKvd(o)},
            {"fleets", json::array({fleet})},
            {"faults", json::array()}};
  for (const auto& [key, value] : extra.items()) {
    if (value.is_null()) {
      s.erase(key);
    } else {
      s[key] = value;
    }
  }
  return s;
}

fs::path WriteScenario(const fs::path& file, const json& scenario) {
  std::ofstream(file) << scenario.dump(2);
  return file;
}

std::vector<long> ListeningPids(const std::string& stderr_text) {
  std::vector<long> pids;
  std::istringstream lines(stderr_text);
  for (std::string line; std::getline(lines, line);) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "") == "listening" && j.contains("pid")) pids.push_back(j["pid"].get<long>());
  }
  return pids;
}

// ---- HerdFixture ------------------------------------------------------------

void HerdFixture::TearDown() {
  if (HasFailure()) {
    dir_.Keep();
    std::cerr << "kept the test directory: " << dir_.path() << "\n";
  }
}

std::pair<int, std::string> HerdFixture::Herd(const std::vector<std::string>& args, const std::string& tag) {
  return HerdCommand(args, dir_.path() / (tag + ".stderr"));
}

fs::path HerdFixture::Write(const std::string& name, const json& scenario) {
  return WriteScenario(dir_.path() / name, scenario);
}

}  // namespace herd::test
