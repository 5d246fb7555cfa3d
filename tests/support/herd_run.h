// Test support: running the herd CLI as a user does and reading back the
// run directory it leaves, so end-to-end tests assert through herd's own
// recording rather than through the scenario they wrote.
//
//   HerdRun      one `herd run`: exit code, stderr, and every file of the
//                run directory parsed (summary.json, timeseries.csv for the
//                fleet "clients", faults.csv, probes.csv, monitors.csv,
//                junit.xml), with helpers to select buckets by run time and
//                to print it all in failure messages.
//   RunHerd      writes a scenario, runs `herd run` on it to completion and
//                returns the HerdRun.
//   HerdCommand  herd with any arguments, to completion: exit code, stderr.
//   KvdScenario  the tests' usual scenario: one closed-model fleet without
//                retries against kvd replicas herd launches (LaunchKvd),
//                shaped by KvdScenarioOptions, plus any sections given.
//   HerdFixture  a gtest fixture owning a fresh directory for one test, kept
//                (and its path printed) when the test fails.
//
// A file missing from the run directory leaves its part of HerdRun empty; a
// file present but malformed (or with an unexpected header) is a
// non-fatal test failure.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"

namespace herd::test {

// Outcome columns of timeseries.csv that are errors (DESIGN.md, Vocabulary).
extern const std::vector<std::string> kErrorOutcomes;

// One row of faults.csv: a fault window as herd applied it.
struct FaultRow {
  double start_s = 0, end_s = 0;
  std::string kind;
  int replica = 0;
  std::string detail;
};

// One row of probes.csv: a single check and the probe's state after it.
struct ProbeRow {
  double t_s = 0;
  std::string probe;
  int replica = 0;
  std::string status;
  double latency_ms = 0;
  bool healthy = true;
  double end_s() const { return t_s + latency_ms / 1000; }  // when the check's answer (and any action) came
};

// One row of monitors.csv: one sample of one series.
struct MonitorRow {
  double t_s = 0;
  std::string monitor;
  int replica = 0;
  std::string series;
  double value = 0;
};

// One row of timeseries.csv: the bucket [t, t + width) of one fleet.
struct Bucket {
  double t = 0;
  std::map<std::string, double> v;  // every column but t_s and fleet
  // A column by name; an unknown name throws (a typo fails the test).
  double operator[](const std::string& column) const { return v.at(column); }
  double Errors() const;  // the sum of kErrorOutcomes
  double Successes() const { return v.at("ok") + v.at("not_found"); }
  double Completions() const { return Successes() + Errors(); }
};

// What one `herd run` did and left behind.
struct HerdRun {
  int exit_code = -1;
  std::string stderr_text;
  std::filesystem::path out;         // the run directory
  nlohmann::json summary;            // summary.json; discarded (not an object) when unparseable
  double width = 0;                  // bucket width, seconds (summary's bucket_s); 0 when unknown
  std::vector<Bucket> buckets;       // timeseries.csv's rows for the fleet "clients"
  std::vector<FaultRow> faults;      // faults.csv
  std::vector<ProbeRow> probes;      // probes.csv
  std::vector<MonitorRow> monitors;  // monitors.csv
  std::string faults_csv, probes_csv, monitors_csv;  // the files' text, for messages
  std::string junit;                 // junit.xml's text ("" when absent)

  // The first faults.csv row of `kind`; null when there is none.
  const FaultRow* Fault(const std::string& kind) const;

  // A bucket [t, t + width) against run times (1e-9 s of slack).
  bool EndsBy(const Bucket& b, double t) const { return b.t + width <= t + 1e-9; }
  bool StartsFrom(const Bucket& b, double t) const { return b.t >= t - 1e-9; }
  bool Inside(const Bucket& b, double lo, double hi) const { return StartsFrom(b, lo) && EndsBy(b, hi); }
  bool Overlaps(const Bucket& b, double lo, double hi) const { return b.t < hi && b.t + width > lo; }

  // `column` summed over the buckets `which` selects.
  double Sum(const std::string& column, const std::function<bool(const Bucket&)>& which) const;
  // The number of buckets `which` selects.
  int Count(const std::function<bool(const Bucket&)>& which) const;

  // summary.json's totals.FIELD and totals.outcomes.OUTCOME; throw when absent.
  double Total(const std::string& field) const;
  double Outcome(const std::string& outcome) const;

  // summary.json's "analyses"; throws when absent.
  const nlohmann::json& Analyses() const { return summary.at("analyses"); }
  // analyses.probes' entry for (probe, replica); null when there is none.
  nlohmann::json ProbeAnalysis(const std::string& probe, int replica) const;
  // analyses.monitors' entry for (monitor, replica, series); null when none.
  nlohmann::json MonitorAnalysis(const std::string& monitor, int replica, const std::string& series) const;
  // probes.csv's rows for (probe, replica) and monitors.csv's for
  // (monitor, replica, series), in file order.
  std::vector<ProbeRow> ProbeRows(const std::string& probe, int replica) const;
  std::vector<MonitorRow> MonitorRows(const std::string& monitor, int replica, const std::string& series) const;

  // For failure messages: faults.csv, the time series, probes.csv, the probe
  // analyses, the restarts and herd's stderr.
  std::string Table() const;
  // For failure messages: monitors.csv, the monitor analyses and herd's stderr.
  std::string MonitorTable() const;
};

// Parses the files of r->out into *r (everything but exit_code and
// stderr_text). Missing files are skipped.
void ReadRunDir(HerdRun* r);

struct RunHerdOptions {
  std::filesystem::path scenario_file;  // where the scenario is written
  std::filesystem::path out;            // --out
  std::filesystem::path stderr_path;    // herd's stderr
  bool quiet = true;                    // pass -q
  std::chrono::seconds timeout{60};     // then a test failure, and SIGKILL
  // Called on the test's thread once herd has started, while it runs.
  std::function<void(Process&, const std::filesystem::path& out)> during;
};

// Writes `scenario` to options.scenario_file, runs `herd run FILE --out OUT
// [-q]`, waits for it and reads the run directory back. Failing to start
// herd, or herd outliving the timeout, is a non-fatal test failure.
HerdRun RunHerd(const nlohmann::json& scenario, const RunHerdOptions& options);

// herd with `args`, stderr to `stderr_path`, waited for up to 30 s (then
// SIGKILLed): exit code (-1 if unknown) and stderr.
std::pair<int, std::string> HerdCommand(const std::vector<std::string>& args,
                                        const std::filesystem::path& stderr_path);

// The pids of the "listening" lines kvd logs (JSON, one per start) in
// `stderr_text`, e.g. a run directory's target-N.stderr, which herd appends
// to across restarts: in order, one per incarnation.
std::vector<long> ListeningPids(const std::string& stderr_text);

// The knobs of KvdScenario (and, for replicas, grpc and kvd_args, of
// LaunchKvd). The defaults are the integration tests' usual run: 5 s in
// 250 ms buckets, 10 clients thinking 20 ms, 1 s timeouts, 50 keys of
// 128-byte values, seed 1, one kvd over HTTP.
struct KvdScenarioOptions {
  std::string duration = "5s";
  std::string bucket = "250ms";
  int seed = 1;
  // The fleet "clients".
  int instances = 10;
  std::string think = "20ms";            // closed model
  std::string timeout = "1s";            // per attempt
  int keys = 50;                         // workload.keys.count
  std::optional<int> value_bytes = 128;  // unset: workload.value_bytes left out (herd's default)
  // The target.
  std::optional<int> replicas = std::nullopt;  // unset: target.launch.replicas left out (herd's default, 1)
  bool grpc = false;                           // kvd serves gRPC too, and the fleets use it (target.protocol "grpc")
  std::vector<std::string> kvd_args = {};      // after --http, --grpc and --data-dir
};

// A scenario's "target" that launches the kvd under test on a free loopback
// port with its own data directory: {"launch": {"command": [kvd, "--http",
// "127.0.0.1:0", "--data-dir", "{data_dir}"]}}. From `o`, only replicas
// ("launch.replicas"), grpc ("--grpc 127.0.0.1:0" and "protocol": "grpc")
// and kvd_args (appended to the command) are used.
nlohmann::json LaunchKvd(const KvdScenarioOptions& o = {});

// One closed-model fleet "clients" without retries (a get/put 80/20 mix)
// against kvd replicas herd launches (LaunchKvd(o)), with "faults": [].
// Each key of `extra` (an object: "faults", "probes", "monitors",
// "durability", "gates", ...) is then set on the scenario, replacing any
// default; a null value removes the key instead (e.g. {"faults", nullptr}
// for a scenario with no "faults" at all).
nlohmann::json KvdScenario(const std::string& name, const nlohmann::json& extra = nlohmann::json::object(),
                           const KvdScenarioOptions& o = {});

// Writes `scenario` (indented JSON) to `file`; returns `file`.
std::filesystem::path WriteScenario(const std::filesystem::path& file, const nlohmann::json& scenario);

// A fixture whose tests each get a fresh directory dir_ (a TempDir named
// after `prefix`), kept and its path printed on stderr when the test fails.
class HerdFixture : public ::testing::Test {
 protected:
  explicit HerdFixture(const std::string& prefix) : dir_(prefix) {}
  void TearDown() override;

  // herd with any arguments, to completion (HerdCommand), stderr in
  // dir_/TAG.stderr.
  std::pair<int, std::string> Herd(const std::vector<std::string>& args, const std::string& tag);
  // Writes `scenario` as dir_/NAME; returns its path.
  std::filesystem::path Write(const std::string& name, const nlohmann::json& scenario);

  TempDir dir_;
};

}  // namespace herd::test

// Stops the test unless `r` (a HerdRun) exited 0 with a summary, a bucket
// width and at least one bucket.
#define ASSERT_RAN(r)                                        \
  do {                                                       \
    ASSERT_EQ((r).exit_code, 0) << (r).stderr_text;          \
    ASSERT_TRUE((r).summary.is_object()) << (r).stderr_text; \
    ASSERT_GT((r).width, 0.0);                               \
    ASSERT_FALSE((r).buckets.empty()) << (r).stderr_text;    \
  } while (0)

// Declares `const FaultRow* var`, the run's first fault of `kind`; stops the
// test when there is none.
#define ASSERT_FAULT(r, var, kind)                    \
  const ::herd::test::FaultRow* var = (r).Fault(kind); \
  ASSERT_NE(var, nullptr) << "no " << kind << " row" << (r).Table()
