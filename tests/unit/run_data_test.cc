// RunData against the fixed run directory tests/data/run-fixture (written by
// a real `herd run`), against copies of it with one thing broken each, and
// against a synthetic one-hour run for speed.
#include "report/run_data.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/csv.h"
#include "measure/histogram.h"

namespace herd {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(HERD_TEST_DATA_DIR) / "run-fixture";

// A directory of its own under the system's temporary directory, removed
// with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = fs::temp_directory_path() /
            fmt::format("run_data_test-{}-{}-{}", ::getpid(), counter++, name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A copy of the fixture, to break.
class FixtureCopy : public TempDir {
 public:
  FixtureCopy() { fs::copy(kFixture, run(), fs::copy_options::recursive); }
  fs::path run() const { return path() / "run"; }
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// The lines of a file, without their line ends.
std::vector<std::string> Lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadText(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const fs::path& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  WriteText(path, text);
}

const FleetSeries* FindFleet(const RunData& run, const std::string& name) {
  for (const FleetSeries& f : run.fleets) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string Joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const std::string& p : problems) out += "\n  " + p;
  return out;
}

// --- the fixture as written --------------------------------------------------

TEST(RunDataFixture, LoadsWithoutProblems) {
  const RunData run = LoadRunDir(kFixture);
  EXPECT_TRUE(run.problems.empty()) << Joined(run.problems);
  EXPECT_EQ(run.dir, kFixture);
  ASSERT_TRUE(run.summary.is_object());
  EXPECT_EQ(run.Name(), "report-fixture");
  EXPECT_EQ(run.Verdict(), "fail");
  EXPECT_DOUBLE_EQ(run.bucket_s, 0.5);
  EXPECT_DOUBLE_EQ(run.end_s, 12.0);
}

TEST(RunDataFixture, FleetsInOrderOfFirstAppearance) {
  const RunData run = LoadRunDir(kFixture);
  ASSERT_EQ(run.fleets.size(), 2u);
  EXPECT_EQ(run.fleets[0].name, "retrying");
  EXPECT_EQ(run.fleets[1].name, "plain");
  for (const FleetSeries& f : run.fleets) {
    SCOPED_TRACE(f.name);
    ASSERT_EQ(f.t_s.size(), 24u);
    EXPECT_DOUBLE_EQ(f.t_s.front(), 0.0);
    EXPECT_DOUBLE_EQ(f.t_s[1], 0.5);
    EXPECT_DOUBLE_EQ(f.t_s.back(), 11.5);
    // Every column but t_s and fleet, each as long as t_s.
    EXPECT_EQ(f.columns.size(), 24u);
    for (const auto& [name, values] : f.columns) EXPECT_EQ(values.size(), 24u) << name;
    EXPECT_EQ(f.e2e_p50_ms.size(), 24u);
    EXPECT_EQ(f.e2e_p90_ms.size(), 24u);
  }
}

TEST(RunDataFixture, KnownCells) {
  const RunData run = LoadRunDir(kFixture);
  ASSERT_EQ(run.fleets.size(), 2u);
  const FleetSeries& retrying = run.fleets[0];
  const FleetSeries& plain = run.fleets[1];
  ASSERT_EQ(retrying.t_s.size(), 24u);
  ASSERT_EQ(plain.t_s.size(), 24u);
  // 0.500,retrying,83,83,0,19,64,...,0.354,0.680,1.393,1.393,2.297
  EXPECT_DOUBLE_EQ(retrying.Column("offered")[1], 83);
  EXPECT_DOUBLE_EQ(retrying.Column("not_found")[1], 64);
  EXPECT_DOUBLE_EQ(retrying.Column("lat_p99_ms")[1], 1.393);
  EXPECT_DOUBLE_EQ(retrying.Column("e2e_p99_ms")[1], 2.297);
  // 4.500,retrying,82,81,0,39,41,0,0,0,0,0,0,0,0,80,0,0,0,0,3,0.864,40.894,...
  EXPECT_DOUBLE_EQ(retrying.t_s[9], 4.5);
  EXPECT_DOUBLE_EQ(retrying.Column("attempts")[9], 81);
  EXPECT_DOUBLE_EQ(retrying.Column("succeeded")[9], 80);
  EXPECT_DOUBLE_EQ(retrying.Column("in_flight")[9], 3);
  EXPECT_DOUBLE_EQ(retrying.Column("lat_p90_ms")[9], 40.894);
  // 11.500,plain,37,37,0,25,12,...,0.369,0.545,0.564,0.564,1.453
  EXPECT_DOUBLE_EQ(plain.Column("offered")[23], 37);
  EXPECT_DOUBLE_EQ(plain.Column("ok")[23], 25);
  EXPECT_DOUBLE_EQ(plain.Column("e2e_p99_ms")[23], 1.453);
}

TEST(RunDataFixture, UnknownColumnIsEmpty) {
  const RunData run = LoadRunDir(kFixture);
  ASSERT_FALSE(run.fleets.empty());
  EXPECT_TRUE(run.fleets[0].Column("no_such_column").empty());
  EXPECT_TRUE(run.fleets[0].Column("t_s").empty());    // not a column of the map
  EXPECT_TRUE(run.fleets[0].Column("fleet").empty());
  EXPECT_EQ(&run.fleets[0].Column("x"), &run.fleets[1].Column("y"));  // the one static empty vector
}

TEST(RunDataFixture, E2eQuantilesFromHistograms) {
  const RunData run = LoadRunDir(kFixture);
  const FleetSeries* plain = FindFleet(run, "plain");
  const FleetSeries* retrying = FindFleet(run, "retrying");
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(retrying, nullptr);
  // Worked out by hand from histograms/plain.txt's first buckets: the
  // 16th and 28th of 31 e2e samples sit in buckets 1758 and 1824, the 15th
  // and 27th of 29 in 1755 and 1817; Quantile reports a bucket's upper edge.
  EXPECT_DOUBLE_EQ(plain->e2e_p50_ms[0], Histogram::UpperEdge(1758) / 1e6);
  EXPECT_DOUBLE_EQ(plain->e2e_p90_ms[0], Histogram::UpperEdge(1824) / 1e6);
  EXPECT_DOUBLE_EQ(plain->e2e_p50_ms[1], Histogram::UpperEdge(1755) / 1e6);
  EXPECT_DOUBLE_EQ(plain->e2e_p90_ms[1], Histogram::UpperEdge(1817) / 1e6);
  EXPECT_DOUBLE_EQ(retrying->e2e_p50_ms[0], Histogram::UpperEdge(1769) / 1e6);
  EXPECT_DOUBLE_EQ(retrying->e2e_p90_ms[1], Histogram::UpperEdge(1853) / 1e6);
  for (const FleetSeries& f : run.fleets) {
    const auto& p99 = f.Column("e2e_p99_ms");
    for (size_t i = 0; i < f.t_s.size(); ++i) {
      SCOPED_TRACE(fmt::format("{} bucket {}", f.name, i));
      // Every bucket of the fixture has e2e samples.
      ASSERT_FALSE(std::isnan(f.e2e_p50_ms[i]));
      ASSERT_FALSE(std::isnan(f.e2e_p90_ms[i]));
      EXPECT_GT(f.e2e_p50_ms[i], 0);
      EXPECT_LE(f.e2e_p50_ms[i], f.e2e_p90_ms[i]);
      // The CSV's p99 is rounded to 3 decimals.
      EXPECT_LE(f.e2e_p90_ms[i], p99[i] + 0.0005);
    }
  }
}

TEST(RunDataFixture, FaultsProbesMonitors) {
  const RunData run = LoadRunDir(kFixture);
  ASSERT_EQ(run.faults.size(), 2u);
  EXPECT_DOUBLE_EQ(run.faults[0].start_s, 2.001);
  EXPECT_DOUBLE_EQ(run.faults[0].end_s, 5.0);
  EXPECT_EQ(run.faults[0].kind, "latency");
  EXPECT_EQ(run.faults[0].replica, 0);
  EXPECT_EQ(run.faults[0].detail, "direction=down jitter=0s latency=40ms toxicity=1.0");
  EXPECT_TRUE(run.faults[0].applied);
  EXPECT_DOUBLE_EQ(run.faults[1].start_s, 7.001);
  EXPECT_DOUBLE_EQ(run.faults[1].end_s, 8.025);
  EXPECT_EQ(run.faults[1].kind, "kill");
  EXPECT_EQ(run.faults[1].replica, 1);
  // Quoted in the file because of its comma.
  EXPECT_EQ(run.faults[1].detail, "restart_after=1s; restarted, pid 25409");
  EXPECT_TRUE(run.faults[1].applied);

  ASSERT_EQ(run.probes.size(), 96u);
  EXPECT_DOUBLE_EQ(run.probes[0].t_s, 0.0);
  EXPECT_EQ(run.probes[0].probe, "readiness");
  EXPECT_EQ(run.probes[0].replica, 0);
  EXPECT_EQ(run.probes[0].status, "200");
  EXPECT_DOUBLE_EQ(run.probes[0].latency_ms, 0.828);
  EXPECT_EQ(run.probes[0].state, "healthy");
  EXPECT_DOUBLE_EQ(run.probes[5].t_s, 0.501);
  EXPECT_EQ(run.probes[5].replica, 1);

  ASSERT_EQ(run.monitors.size(), 192u);
  EXPECT_DOUBLE_EQ(run.monitors[2].t_s, 0.0);
  EXPECT_EQ(run.monitors[2].monitor, "process");
  EXPECT_EQ(run.monitors[2].replica, 0);
  EXPECT_EQ(run.monitors[2].series, "rss_bytes");
  EXPECT_DOUBLE_EQ(run.monitors[2].value, 13701120);
  EXPECT_DOUBLE_EQ(run.monitors[7].value, 0.01);
}

// --- a directory that is not there ------------------------------------------

TEST(RunDataMissing, DirectoryThatDoesNotExist) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "no-such-run";
  const RunData run = LoadRunDir(dir);
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_EQ(run.problems[0], dir.string() + ": no such directory");
  EXPECT_TRUE(run.summary.is_null());
  EXPECT_TRUE(run.fleets.empty());
  EXPECT_TRUE(run.faults.empty());
  EXPECT_TRUE(run.probes.empty());
  EXPECT_TRUE(run.monitors.empty());
  EXPECT_EQ(run.bucket_s, 0);
  EXPECT_EQ(run.end_s, 0);
  EXPECT_EQ(run.Name(), "no-such-run");
  EXPECT_EQ(run.Verdict(), "unknown");
}

TEST(RunDataMissing, FileInsteadOfDirectory) {
  TempDir tmp;
  const fs::path file = tmp.path() / "summary.json";
  WriteText(file, "{}");
  const RunData run = LoadRunDir(file);
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_EQ(run.problems[0], file.string() + ": not a directory");
  EXPECT_TRUE(run.summary.is_null());
}

TEST(RunDataMissing, NameOfADirectoryGivenWithATrailingSlash) {
  FixtureCopy copy;
  fs::remove(copy.run() / "summary.json");
  EXPECT_EQ(LoadRunDir(copy.run() / "").Name(), "run");
}

// Each file of the run directory removed in turn: that file is named, and
// everything the other files hold is still there.
class RunDataEachFileMissing : public testing::TestWithParam<const char*> {};

TEST_P(RunDataEachFileMissing, NamedAndTheRestKept) {
  const std::string file = GetParam();
  FixtureCopy copy;
  ASSERT_TRUE(fs::remove(copy.run() / file));
  const RunData run = LoadRunDir(copy.run());
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_EQ(run.problems[0], file + ": missing");

  EXPECT_EQ(run.summary.is_null(), file == "summary.json");
  EXPECT_EQ(run.Verdict(), file == "summary.json" ? "unknown" : "fail");
  EXPECT_EQ(run.Name(), file == "summary.json" ? "run" : "report-fixture");
  // Without the summary, the same times from timeseries.csv; without the
  // time series, still the summary's.
  EXPECT_DOUBLE_EQ(run.bucket_s, 0.5);
  EXPECT_DOUBLE_EQ(run.end_s, 12.0);

  EXPECT_EQ(run.fleets.size(), file == "timeseries.csv" ? 0u : 2u);
  for (const FleetSeries& f : run.fleets) {
    SCOPED_TRACE(f.name);
    EXPECT_EQ(f.t_s.size(), 24u);
    EXPECT_EQ(f.Column("offered").size(), 24u);
    ASSERT_EQ(f.e2e_p50_ms.size(), 24u);
    ASSERT_EQ(f.e2e_p90_ms.size(), 24u);
    const bool lost = file == "histograms/" + f.name + ".txt";
    for (size_t i = 0; i < 24; ++i) {
      EXPECT_EQ(std::isnan(f.e2e_p50_ms[i]), lost) << i;
      EXPECT_EQ(std::isnan(f.e2e_p90_ms[i]), lost) << i;
    }
  }
  EXPECT_EQ(run.faults.size(), file == "faults.csv" ? 0u : 2u);
  EXPECT_EQ(run.probes.size(), file == "probes.csv" ? 0u : 96u);
  EXPECT_EQ(run.monitors.size(), file == "monitors.csv" ? 0u : 192u);
}

INSTANTIATE_TEST_SUITE_P(Files, RunDataEachFileMissing,
                         testing::Values("summary.json", "timeseries.csv", "faults.csv", "probes.csv",
                                         "monitors.csv", "histograms/retrying.txt", "histograms/plain.txt"),
                         [](const testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// --- broken files -----------------------------------------------------------

TEST(RunDataBroken, TruncatedSummaryFallsBackToTheCsv) {
  FixtureCopy copy;
  const std::string json = ReadText(copy.run() / "summary.json");
  WriteText(copy.run() / "summary.json", json.substr(0, json.size() / 2));
  const RunData run = LoadRunDir(copy.run());
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_TRUE(run.problems[0].starts_with("summary.json: not JSON: ")) << run.problems[0];
  EXPECT_GT(run.problems[0].size(), std::string("summary.json: not JSON: ").size());  // the parser's message
  EXPECT_TRUE(run.summary.is_null());
  EXPECT_EQ(run.Name(), "run");
  EXPECT_EQ(run.Verdict(), "unknown");
  EXPECT_DOUBLE_EQ(run.bucket_s, 0.5);  // the step of t_s
  EXPECT_DOUBLE_EQ(run.end_s, 12.0);    // 11.5 + 0.5
  EXPECT_EQ(run.fleets.size(), 2u);
}

TEST(RunDataBroken, SummaryThatIsNotAnObject) {
  FixtureCopy copy;
  WriteText(copy.run() / "summary.json", "[1, 2]");
  const RunData run = LoadRunDir(copy.run());
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_EQ(run.problems[0], "summary.json: not a JSON object");
  EXPECT_TRUE(run.summary.is_null());
  EXPECT_DOUBLE_EQ(run.bucket_s, 0.5);
}

// A synthetic series whose times only the CSV can give: 1 s steps with a
// bucket missing for one fleet, and a summary without bucket_s or elapsed_s.
TEST(RunDataBroken, TimesFromTheCsvWhenTheSummaryHasNone) {
  FixtureCopy copy;
  WriteText(copy.run() / "summary.json", R"({"name": "n", "verdict": "pass"})");
  WriteLines(copy.run() / "timeseries.csv", {"t_s,fleet,offered", "0,a,1", "0,b,2", "1,a,3",
                                              "2,a,4", "2,b,5", "3,a,6"});
  const RunData run = LoadRunDir(copy.run());
  // (histograms/a.txt and b.txt do not exist.)
  EXPECT_EQ(run.problems, (std::vector<std::string>{"histograms/a.txt: missing", "histograms/b.txt: missing"}));
  EXPECT_EQ(run.Name(), "n");
  EXPECT_EQ(run.Verdict(), "pass");
  EXPECT_DOUBLE_EQ(run.bucket_s, 1.0);  // b's step is 2, a's 1: the smallest
  EXPECT_DOUBLE_EQ(run.end_s, 4.0);
  ASSERT_EQ(run.fleets.size(), 2u);
  EXPECT_EQ(run.fleets[0].t_s, (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(run.fleets[0].Column("offered"), (std::vector<double>{1, 3, 4, 6}));
  EXPECT_EQ(run.fleets[1].t_s, (std::vector<double>{0, 2}));
  EXPECT_EQ(run.fleets[1].Column("offered"), (std::vector<double>{2, 5}));
}

TEST(RunDataBroken, TimeseriesCutInTheMiddleOfItsLastLine) {
  FixtureCopy copy;
  const std::string text = ReadText(copy.run() / "timeseries.csv");
  // Cut inside the last line: "11.500,plain,37,37,0,2" stays of it.
  const size_t last = text.rfind('\n', text.size() - 2) + 1;
  WriteText(copy.run() / "timeseries.csv", text.substr(0, last + 22));
  const RunData run = LoadRunDir(copy.run());
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_EQ(run.problems[0], "timeseries.csv: line 49 is cut short");
  ASSERT_EQ(run.fleets.size(), 2u);
  EXPECT_EQ(run.fleets[0].t_s.size(), 24u);
  ASSERT_EQ(run.fleets[1].t_s.size(), 23u);
  EXPECT_DOUBLE_EQ(run.fleets[1].t_s.back(), 11.0);
  EXPECT_EQ(run.fleets[1].Column("offered").size(), 23u);
  EXPECT_EQ(run.fleets[1].e2e_p50_ms.size(), 23u);
  EXPECT_FALSE(std::isnan(run.fleets[1].e2e_p50_ms.back()));
  EXPECT_DOUBLE_EQ(run.end_s, 12.0);  // still the summary's
}

TEST(RunDataBroken, CutInsideAQuotedField) {
  FixtureCopy copy;
  const std::string text = ReadText(copy.run() / "faults.csv");
  WriteText(copy.run() / "faults.csv", text.substr(0, text.find("restarted")));
  const RunData run = LoadRunDir(copy.run());
  EXPECT_EQ(run.problems, std::vector<std::string>{"faults.csv: line 3 is cut short"});
  ASSERT_EQ(run.faults.size(), 1u);
  EXPECT_EQ(run.faults[0].kind, "latency");
}

TEST(RunDataBroken, RowWithTooFewFieldsInTheMiddle) {
  FixtureCopy copy;
  std::vector<std::string> lines = Lines(copy.run() / "timeseries.csv");
  ASSERT_EQ(lines[6].substr(0, 12), "1.000,plain,");
  lines[6] = "1.000,plain,32";  // line 7
  WriteLines(copy.run() / "timeseries.csv", lines);
  const RunData run = LoadRunDir(copy.run());
  ASSERT_EQ(run.problems.size(), 1u) << Joined(run.problems);
  EXPECT_EQ(run.problems[0], "timeseries.csv: line 7 has 3 fields, the header 26");

  const RunData whole = LoadRunDir(kFixture);
  const FleetSeries* plain = FindFleet(run, "plain");
  const FleetSeries* whole_plain = FindFleet(whole, "plain");
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(whole_plain, nullptr);
  ASSERT_EQ(plain->t_s.size(), 23u);
  EXPECT_EQ(FindFleet(run, "retrying")->t_s.size(), 24u);
  EXPECT_DOUBLE_EQ(plain->t_s[1], 0.5);
  EXPECT_DOUBLE_EQ(plain->t_s[2], 1.5);  // 1.0 is gone
  EXPECT_DOUBLE_EQ(plain->Column("offered")[2], whole_plain->Column("offered")[3]);
  // The e2e quantiles stay with their buckets, by time, not by position.
  EXPECT_DOUBLE_EQ(plain->e2e_p50_ms[2], whole_plain->e2e_p50_ms[3]);
  EXPECT_DOUBLE_EQ(plain->e2e_p90_ms[22], whole_plain->e2e_p90_ms[23]);
}

// A cell that is not a number is NaN, and not a problem: the header says
// "an empty or unreadable cell is NaN", the row's other cells are good, and a
// chart simply has a gap there.
TEST(RunDataBroken, NonNumericCellIsNaN) {
  FixtureCopy copy;
  std::vector<std::string> lines = Lines(copy.run() / "timeseries.csv");
  ASSERT_EQ(lines[3].substr(0, 19), "0.500,retrying,83,8");
  lines[3] = "0.500,retrying,abc,," + lines[3].substr(std::string("0.500,retrying,83,83,").size());
  WriteLines(copy.run() / "timeseries.csv", lines);
  const RunData run = LoadRunDir(copy.run());
  EXPECT_TRUE(run.problems.empty()) << Joined(run.problems);
  const FleetSeries& retrying = run.fleets.at(0);
  ASSERT_EQ(retrying.t_s.size(), 24u);
  EXPECT_TRUE(std::isnan(retrying.Column("offered")[1]));   // "abc"
  EXPECT_TRUE(std::isnan(retrying.Column("attempts")[1]));  // ""
  EXPECT_DOUBLE_EQ(retrying.Column("not_found")[1], 64);
  EXPECT_DOUBLE_EQ(retrying.Column("offered")[2], 81);
}

TEST(RunDataBroken, TimeThatIsNotANumberLosesTheRow) {
  FixtureCopy copy;
  WriteLines(copy.run() / "faults.csv", {"start_s,end_s,kind,replica,detail",
                                         "1.000,2.000,stall,0,x",
                                         "abc,2.000,stall,0,y",
                                         "3.000,4.000,stall,zero,z",
                                         "5.000,6.000,stall,1,w"});
  const RunData run = LoadRunDir(copy.run());
  EXPECT_EQ(run.problems, (std::vector<std::string>{"faults.csv: line 3: start_s 'abc' is not a number",
                                                    "faults.csv: line 4: replica 'zero' is not an integer"}));
  ASSERT_EQ(run.faults.size(), 2u);
  EXPECT_EQ(run.faults[0].detail, "x");
  EXPECT_EQ(run.faults[1].detail, "w");
  EXPECT_EQ(run.faults[1].replica, 1);
}

TEST(RunDataBroken, NotAppliedFaultsAndQuotes) {
  FixtureCopy copy;
  WriteLines(copy.run() / "faults.csv",
             {"start_s,end_s,kind,replica,detail",
              R"(1.000,1.000,kill,2,"not applied: no replica 2, skipped")",
              R"(2.000,3.000,latency,0,"say ""hi"", twice")",
              R"(4.000,5.000,latency,0,applied; not applied elsewhere)"});
  const RunData run = LoadRunDir(copy.run());
  EXPECT_TRUE(run.problems.empty()) << Joined(run.problems);
  ASSERT_EQ(run.faults.size(), 3u);
  EXPECT_EQ(run.faults[0].detail, "not applied: no replica 2, skipped");
  EXPECT_FALSE(run.faults[0].applied);
  EXPECT_EQ(run.faults[1].detail, R"(say "hi", twice)");
  EXPECT_TRUE(run.faults[1].applied);
  EXPECT_TRUE(run.faults[2].applied);  // only a detail that starts with it
}

TEST(RunDataBroken, HeaderOnlyFilesAreFineEmptyOnesAreNot) {
  FixtureCopy copy;
  WriteText(copy.run() / "faults.csv", "start_s,end_s,kind,replica,detail\n");
  WriteText(copy.run() / "probes.csv", "t_s,probe,replica,status,latency_ms,state\n");
  WriteText(copy.run() / "monitors.csv", "");
  const RunData run = LoadRunDir(copy.run());
  EXPECT_EQ(run.problems, std::vector<std::string>{"monitors.csv: no header"});
  EXPECT_TRUE(run.faults.empty());
  EXPECT_TRUE(run.probes.empty());
  EXPECT_TRUE(run.monitors.empty());
  EXPECT_EQ(run.fleets.size(), 2u);
}

TEST(RunDataBroken, MissingColumn) {
  FixtureCopy copy;
  WriteLines(copy.run() / "probes.csv", {"t_s,probe,replica,status,state", "0.000,readiness,0,200,healthy"});
  std::vector<std::string> ts = Lines(copy.run() / "timeseries.csv");
  for (std::string& line : ts) line = line.substr(line.find(',') + 1);  // no t_s
  WriteLines(copy.run() / "timeseries.csv", ts);
  const RunData run = LoadRunDir(copy.run());
  EXPECT_EQ(run.problems, (std::vector<std::string>{"timeseries.csv: no column 't_s'",
                                                    "probes.csv: no column 'latency_ms'"}));
  EXPECT_TRUE(run.fleets.empty());
  EXPECT_TRUE(run.probes.empty());
  EXPECT_EQ(run.monitors.size(), 192u);
}

TEST(RunDataBroken, GarbageHistogramsLines) {
  FixtureCopy copy;
  const fs::path file = copy.run() / "histograms" / "plain.txt";
  std::vector<std::string> lines = Lines(file);
  ASSERT_EQ(lines[3].substr(0, 6), "1.000\t");  // line 4: the bucket at 1.0 s
  lines[3] = "1.000\t3 1 2 3;\tgarbage";
  ASSERT_EQ(lines[5].substr(0, 6), "2.000\t");  // line 6
  lines[5] = "just some words";
  WriteLines(file, lines);
  const RunData run = LoadRunDir(copy.run());
  ASSERT_EQ(run.problems.size(), 2u) << Joined(run.problems);
  // The rest is Histogram::Parse's own message.
  EXPECT_TRUE(run.problems[0].starts_with("histograms/plain.txt: line 4: histogram: ")) << run.problems[0];
  EXPECT_EQ(run.problems[1], "histograms/plain.txt: line 6 is not t_s<TAB>attempt<TAB>e2e");

  const RunData whole = LoadRunDir(kFixture);
  const FleetSeries* plain = FindFleet(run, "plain");
  const FleetSeries* whole_plain = FindFleet(whole, "plain");
  ASSERT_NE(plain, nullptr);
  ASSERT_NE(whole_plain, nullptr);
  ASSERT_EQ(plain->t_s.size(), 24u);
  for (size_t i = 0; i < 24; ++i) {
    SCOPED_TRACE(i);
    if (i == 2 || i == 4) {  // 1.0 s and 2.0 s
      EXPECT_TRUE(std::isnan(plain->e2e_p50_ms[i]));
      EXPECT_TRUE(std::isnan(plain->e2e_p90_ms[i]));
    } else {
      EXPECT_DOUBLE_EQ(plain->e2e_p50_ms[i], whole_plain->e2e_p50_ms[i]);
      EXPECT_DOUBLE_EQ(plain->e2e_p90_ms[i], whole_plain->e2e_p90_ms[i]);
    }
  }
  // The other fleet's file is untouched.
  EXPECT_EQ(FindFleet(run, "retrying")->e2e_p50_ms, FindFleet(whole, "retrying")->e2e_p50_ms);
}

TEST(RunDataBroken, HistogramsCutShortAndEmptyBuckets) {
  FixtureCopy copy;
  const fs::path file = copy.run() / "histograms" / "retrying.txt";
  std::vector<std::string> lines = Lines(file);
  ASSERT_EQ(lines.size(), 25u);
  lines[1] = "0.000\t0 0 0 0;\t0 0 0 0;";  // a bucket without samples
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  text.resize(text.size() - 40);  // into the last line, 11.5 s
  WriteText(file, text);
  const RunData run = LoadRunDir(copy.run());
  EXPECT_EQ(run.problems, std::vector<std::string>{"histograms/retrying.txt: line 25 is cut short"});
  const FleetSeries* retrying = FindFleet(run, "retrying");
  ASSERT_NE(retrying, nullptr);
  ASSERT_EQ(retrying->e2e_p50_ms.size(), 24u);
  EXPECT_TRUE(std::isnan(retrying->e2e_p50_ms[0]));
  EXPECT_FALSE(std::isnan(retrying->e2e_p50_ms[1]));
  EXPECT_FALSE(std::isnan(retrying->e2e_p90_ms[22]));
  EXPECT_TRUE(std::isnan(retrying->e2e_p50_ms[23]));
  EXPECT_TRUE(std::isnan(retrying->e2e_p90_ms[23]));
}

// --- CsvReader, which the above reads with ----------------------------------

TEST(CsvReader, LinesCompletenessAndQuotes) {
  CsvReader reader("a,b\r\n\n\"x\ny\",\"q\"\"\"\n1,2\n3,\"4");
  std::vector<std::string> f;
  ASSERT_TRUE(reader.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(reader.line(), 1u);
  EXPECT_TRUE(reader.complete());
  ASSERT_TRUE(reader.Next(&f));  // the blank line 2 skipped
  EXPECT_EQ(f, (std::vector<std::string>{"x\ny", "q\""}));
  EXPECT_EQ(reader.line(), 3u);
  ASSERT_TRUE(reader.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(reader.line(), 5u);  // the quoted line end counted
  ASSERT_TRUE(reader.Next(&f));
  EXPECT_EQ(f, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(reader.line(), 6u);
  EXPECT_FALSE(reader.complete());
  EXPECT_TRUE(reader.unclosed_quote());
  EXPECT_FALSE(reader.Next(&f));
}

TEST(CsvReader, ParseCsvStillReadsTheFixture) {
  CsvTable table;
  std::string error;
  ASSERT_TRUE(ReadCsvFile(kFixture / "faults.csv", &table, &error)) << error;
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table.Cell(1, "detail"), "restart_after=1s; restarted, pid 25409");
  EXPECT_FALSE(ParseCsv("a,b\n1,2,3\n", &table, &error));
  EXPECT_EQ(error, "record 2 has 3 fields, the header 2");
  EXPECT_FALSE(ParseCsv("a\n\"1\n", &table, &error));
  EXPECT_FALSE(ParseCsv("", &table, &error));
  EXPECT_EQ(error, "no header line");
  ASSERT_TRUE(ParseCsv("a,b\n1,2", &table, &error)) << error;  // no last line end: still whole here
  EXPECT_EQ(table.Cell(0, "b"), "2");
}

// --- speed --------------------------------------------------------------------

// A one-hour run at 1 s buckets, two fleets, histograms of ~10 MB each,
// written in the run directory's formats. The time it takes to load is
// printed, not asserted: a loaded CI machine must not fail the test.
TEST(RunDataSpeed, OneHourRun) {
  TempDir tmp;
  const fs::path dir = tmp.path();
  constexpr int kBuckets = 3600;
  const std::vector<std::string> fleets = {"retrying", "plain"};
  fs::create_directories(dir / "histograms");
  WriteText(dir / "summary.json", R"({"name": "hour", "verdict": "pass", "bucket_s": 1, "elapsed_s": 3600})");
  std::string ts =
      "t_s,fleet,offered,attempts,retries,ok,not_found,throttled,shed,server_error,client_error,timeout,"
      "refused,reset,other_error,succeeded,abandoned,budget_denied,breaker_rejected,client_throttled,in_flight,"
      "lat_p50_ms,lat_p90_ms,lat_p99_ms,lat_max_ms,e2e_p99_ms\n";
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency_ns(std::log(2e6), 1.0);
  std::vector<std::string> hist(fleets.size(),
                                "# t_s<TAB>attempt latency<TAB>e2e latency, each Histogram::Serialize in nanoseconds\n");
  Histogram attempt, e2e;
  for (int b = 0; b < kBuckets; ++b) {
    for (size_t f = 0; f < fleets.size(); ++f) {
      attempt.Clear();
      e2e.Clear();
      for (int i = 0; i < 250; ++i) {
        const auto v = static_cast<int64_t>(latency_ns(rng));
        attempt.Record(v);
        e2e.Record(v + v / 3);
      }
      fmt::format_to(std::back_inserter(ts), "{}.000,{},250,260,10,200,40,0,0,5,0,5,0,0,0,245,5,0,0,0,{},", b,
                     fleets[f], b % 50);
      fmt::format_to(std::back_inserter(ts), "{:.3f},{:.3f},{:.3f},{:.3f},{:.3f}\n", attempt.Quantile(0.5) / 1e6,
                     attempt.Quantile(0.9) / 1e6, attempt.Quantile(0.99) / 1e6, attempt.max() / 1e6,
                     e2e.Quantile(0.99) / 1e6);
      fmt::format_to(std::back_inserter(hist[f]), "{:.3f}\t{}\t{}\n", static_cast<double>(b), attempt.Serialize(),
                     e2e.Serialize());
    }
  }
  WriteText(dir / "timeseries.csv", ts);
  for (size_t f = 0; f < fleets.size(); ++f) WriteText(dir / "histograms" / (fleets[f] + ".txt"), hist[f]);
  WriteText(dir / "faults.csv", "start_s,end_s,kind,replica,detail\n600.000,1200.000,stall,0,x\n");
  WriteText(dir / "probes.csv", "t_s,probe,replica,status,latency_ms,state\n");
  WriteText(dir / "monitors.csv", "t_s,monitor,replica,series,value\n");

  const auto start = std::chrono::steady_clock::now();
  const RunData run = LoadRunDir(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[          ] one-hour run (timeseries.csv %.1f MB, histograms %.1f + %.1f MB) loaded in %.3f s\n",
              ts.size() / 1e6, hist[0].size() / 1e6, hist[1].size() / 1e6, seconds);

  EXPECT_TRUE(run.problems.empty()) << Joined(run.problems);
  ASSERT_EQ(run.fleets.size(), 2u);
  for (const FleetSeries& f : run.fleets) {
    SCOPED_TRACE(f.name);
    ASSERT_EQ(f.t_s.size(), static_cast<size_t>(kBuckets));
    EXPECT_DOUBLE_EQ(f.t_s.back(), kBuckets - 1);
    EXPECT_DOUBLE_EQ(f.Column("in_flight")[kBuckets - 1], (kBuckets - 1) % 50);
    EXPECT_EQ(std::count_if(f.e2e_p50_ms.begin(), f.e2e_p50_ms.end(), [](double v) { return !std::isnan(v); }),
              kBuckets);
    EXPECT_EQ(std::count_if(f.e2e_p90_ms.begin(), f.e2e_p90_ms.end(), [](double v) { return !std::isnan(v); }),
              kBuckets);
  }
  EXPECT_EQ(run.faults.size(), 1u);
  EXPECT_DOUBLE_EQ(run.bucket_s, 1.0);
  EXPECT_DOUBLE_EQ(run.end_s, 3600.0);
}

}  // namespace
}  // namespace herd
