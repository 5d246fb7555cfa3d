// The report, herd report, herd compare and herd run --baseline, as a user
// (or CI) runs them: real kvd processes over loopback, the run directory
// read back, report.html and compare.html parsed with libxml2.
//
// Runs are short (3 s, 250 ms buckets) and bounds generous: the machine is
// shared and noisy. With HERD_KEEP_TEST_DIRS set, a test's directory is
// kept; when a test fails, it is kept and its path printed.
#include <gtest/gtest.h>
#include <libxml/parser.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/herd_run.h"
#include "support/process.h"

namespace herd::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A closed-model fleet (5 clients, 2 s timeouts, herd's default value size)
// against a kvd herd launches, behind herd's proxy (a small latency fault
// puts a window on the charts); `extra_faults` added.
json Scenario(const std::string& name, const json& extra_faults = json::array()) {
  json faults = {{{"kind", "latency"}, {"at", "1s"}, {"for", "1s"}, {"latency", "1ms"}}};
  for (const json& f : extra_faults) faults.push_back(f);
  return KvdScenario(name, {{"faults", faults}},
                     {.duration = "3s", .instances = 5, .timeout = "2s", .value_bytes = std::nullopt});
}

// kvd itself 20 ms slower for the whole run (the admin API, no proxy).
json SlowerScenario(const std::string& name) {
  return Scenario(name, {{{"kind", "admin"}, {"at", "0s"}, {"latency", "20ms"}}});
}

bool WellFormed(const std::string& text) {
  xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), "x.html", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == nullptr) return false;
  xmlFreeDoc(doc);
  return true;
}

struct Output {
  int code = -1;
  std::string out, err;
};

class HerdReport : public HerdFixture {
 protected:
  HerdReport() : HerdFixture("herd-report") {}

  HerdRun Run(const json& scenario, const std::string& tag) {
    RunHerdOptions o;
    o.scenario_file = dir_.path() / (tag + ".json");
    o.out = dir_.path() / tag;
    o.stderr_path = dir_.path() / (tag + ".stderr");
    return RunHerd(scenario, o);
  }

  // herd with `args`, stdout and stderr kept (compare prints its table on
  // stdout), through sh so stdout lands in a file.
  Output HerdOut(const std::vector<std::string>& args, const std::string& tag, int timeout_s = 60) {
    std::string command = "exec '" + HerdBinary() + "'";
    for (const std::string& a : args) command += " '" + a + "'";
    const fs::path out = dir_.path() / (tag + ".stdout");
    command += " >'" + out.string() + "'";
    ProcessOptions o;
    o.argv = {"/bin/sh", "-c", command};
    o.stderr_path = dir_.path() / (tag + ".stderr");
    Process p;
    std::string error;
    EXPECT_TRUE(p.Start(o, &error)) << error;
    auto code = p.WaitExit(Millis(timeout_s * 1000));
    if (!code) code = p.Kill();
    return {code.value_or(-1), ReadFileText(out), p.StderrText()};
  }
};

TEST_F(HerdReport, RunWritesTheReportAndHerdReportRebuildsTheSameOne) {
  const HerdRun run = Run(Scenario("report-rebuild"), "run");
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  const std::string written = ReadFileText(run.out / "report.html");
  ASSERT_TRUE(WellFormed(written));
  EXPECT_NE(written.find("id=\"chart-throughput-clients\""), std::string::npos);
  EXPECT_NE(written.find("class=\"window\""), std::string::npos);
  EXPECT_TRUE(fs::exists(run.out / "figures" / "latency-clients.svg"));

  fs::remove(run.out / "report.html");
  fs::remove_all(run.out / "figures");
  const auto [code, err] = Herd({"report", run.out.string()}, "report");
  EXPECT_EQ(code, 0) << err;
  // Rebuilt from the same files: the same page, byte for byte.
  EXPECT_EQ(ReadFileText(run.out / "report.html"), written);
  EXPECT_TRUE(fs::exists(run.out / "figures" / "latency-clients.svg"));
}

TEST_F(HerdReport, ReportOnAMissingDirectoryExitsTwoNamingIt) {
  const fs::path missing = dir_.path() / "no-such-run";
  const auto [code, err] = Herd({"report", missing.string()}, "missing");
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("no-such-run"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(missing));
}

TEST_F(HerdReport, ReportOnABrokenRunNamesEachFileAndRendersWhatItCan) {
  const HerdRun run = Run(Scenario("report-broken"), "run");
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  // timeseries.csv cut in the middle of a line, summary.json cut in half,
  // probes.csv gone.
  const std::string ts = ReadFileText(run.out / "timeseries.csv");
  std::ofstream(run.out / "timeseries.csv", std::ios::trunc) << ts.substr(0, ts.size() - 20);
  const std::string summary = ReadFileText(run.out / "summary.json");
  std::ofstream(run.out / "summary.json", std::ios::trunc) << summary.substr(0, summary.size() / 2);
  fs::remove(run.out / "probes.csv");
  fs::remove(run.out / "report.html");

  const auto [code, err] = Herd({"report", run.out.string()}, "report");
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find("timeseries.csv"), std::string::npos) << err;
  EXPECT_NE(err.find("summary.json"), std::string::npos) << err;
  EXPECT_NE(err.find("probes.csv"), std::string::npos) << err;
  const std::string html = ReadFileText(run.out / "report.html");
  ASSERT_TRUE(WellFormed(html));
  EXPECT_NE(html.find("Could not read"), std::string::npos);
  // The complete rows of timeseries.csv still make the charts.
  EXPECT_NE(html.find("id=\"chart-throughput-clients\""), std::string::npos);
  EXPECT_NE(html.find("data-label=\"goodput\""), std::string::npos);
}

TEST_F(HerdReport, CompareARunWithItselfPasses) {
  const HerdRun run = Run(Scenario("compare-self"), "run");
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  const fs::path html = dir_.path() / "self.html";
  const Output o = HerdOut({"compare", run.out.string(), run.out.string(), "--out", html.string()}, "compare");
  EXPECT_EQ(o.code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("verdict: pass"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("REGRESSED"), std::string::npos) << o.out;
  ASSERT_TRUE(fs::exists(html));
  EXPECT_TRUE(WellFormed(ReadFileText(html)));
}

TEST_F(HerdReport, CompareWithASlowerKvdFailsOnLatencyAndSaysByHowMuch) {
  const HerdRun base = Run(Scenario("compare"), "base");
  ASSERT_EQ(base.exit_code, 0) << base.stderr_text;
  const HerdRun slow = Run(SlowerScenario("compare"), "slow");
  ASSERT_EQ(slow.exit_code, 0) << slow.stderr_text;

  const Output o = HerdOut({"compare", base.out.string(), slow.out.string()}, "compare");
  EXPECT_EQ(o.code, 99) << o.out << o.err;
  // p50 goes from well under a millisecond to over 20 ms: more than +1000 %.
  bool p50_line = false;
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("p50_ms") == std::string::npos) continue;
    p50_line = true;
    EXPECT_NE(line.find("REGRESSED"), std::string::npos) << line;
    const size_t plus = line.find('+');
    ASSERT_NE(plus, std::string::npos) << line;
    EXPECT_GT(std::stod(line.substr(plus + 1)), 1000) << line;
  }
  EXPECT_TRUE(p50_line) << o.out;
  EXPECT_NE(o.out.find("verdict: regression"), std::string::npos) << o.out;
  // compare.html lands in the candidate's directory by default.
  const std::string html = ReadFileText(slow.out / "compare.html");
  ASSERT_TRUE(WellFormed(html));
  EXPECT_NE(html.find("REGRESSED"), std::string::npos);
  EXPECT_NE(html.find("id=\"chart-compare-latency-clients\""), std::string::npos);
}

TEST_F(HerdReport, RunWithABaselineComparesInOneStep) {
  const HerdRun base = Run(Scenario("baseline"), "base");
  ASSERT_EQ(base.exit_code, 0) << base.stderr_text;
  WriteScenario(dir_.path() / "slow.json", SlowerScenario("baseline"));
  const Output slow = HerdOut({"run", (dir_.path() / "slow.json").string(), "--out", (dir_.path() / "slow").string(),
                               "-q", "--baseline", base.out.string()},
                              "slow");
  EXPECT_EQ(slow.code, 99) << slow.out << slow.err;
  EXPECT_NE(slow.out.find("REGRESSED"), std::string::npos) << slow.out;
  EXPECT_TRUE(fs::exists(dir_.path() / "slow" / "compare.html"));
  EXPECT_TRUE(fs::exists(dir_.path() / "slow" / "report.html"));

  // The same scenario again passes. On a busy 2-core machine a repeat's p99
  // can double (2 ms -> 4 ms was seen under a parallel build), so this
  // half allows up to ten times worse on every figure: it checks that
  // --baseline without a regression exits 0, not that the machine is quiet.
  WriteScenario(dir_.path() / "again.json", Scenario("baseline"));
  std::vector<std::string> args = {"run", (dir_.path() / "again.json").string(), "--out",
                                   (dir_.path() / "again").string(), "-q", "--baseline", base.out.string()};
  for (const char* tolerance : {"goodput_per_s=90", "success_ratio=90", "amplification=1000", "p50_ms=1000",
                                 "p90_ms=1000", "p99_ms=1000", "e2e_p99_ms=1000", "recovery_s=1000"}) {
    args.insert(args.end(), {"--max-regression", tolerance});
  }
  const Output again = HerdOut(args, "again");
  EXPECT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("verdict: pass"), std::string::npos) << again.out;
}

TEST_F(HerdReport, BadBaselineOrToleranceExitsTwoBeforeRunning) {
  const fs::path scenario = Write("s.json", Scenario("bad-baseline"));
  auto [code, err] = Herd({"run", scenario.string(), "--out", (dir_.path() / "a").string(), "--baseline",
                           (dir_.path() / "nothing-here").string()},
                          "no-baseline");
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("nothing-here"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_.path() / "a"));

  const HerdRun base = Run(Scenario("bad-baseline"), "base");
  ASSERT_EQ(base.exit_code, 0) << base.stderr_text;
  std::tie(code, err) = Herd({"compare", base.out.string(), base.out.string(), "--max-regression", "p99=10"}, "bad-metric");
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("p99_ms"), std::string::npos) << "should list the known metrics: " << err;
  std::tie(code, err) = Herd({"run", scenario.string(), "--max-regression", "p99_ms=10"}, "no-baseline-flag");
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace herd::test
