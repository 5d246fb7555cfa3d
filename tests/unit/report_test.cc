// The report: charts chosen from a run (report/charts.h), report.html
// (report/html.h) and figures (report/report.h), rendered from the fixed
// run directory tests/data/run-fixture and checked by parsing the output
// with libxml2: well-formed, every chart there, fault windows where
// faults.csv puts them, no URL anywhere. Then the same from broken copies
// of that directory, and from a synthetic hour at 1 s buckets.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/csv.h"
#include "measure/histogram.h"
#include "report/charts.h"
#include "report/compare.h"
#include "report/html.h"
#include "report/report.h"
#include "report/run_data.h"
#include "report/svg.h"

namespace herd {
namespace {

namespace fs = std::filesystem;

const fs::path kFixture = fs::path(HERD_TEST_DATA_DIR) / "run-fixture";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A copy of the fixture in a fresh temporary directory, removed at the end.
class RunCopy {
 public:
  RunCopy() {
    path_ = fs::temp_directory_path() /
            fmt::format("herd-report-test-{}-{}", ::getpid(), std::random_device{}());
    fs::create_directories(path_);
    fs::copy(kFixture, path_, fs::copy_options::recursive);
  }
  ~RunCopy() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses strictly: no recovery, no network, no entity loading.
XmlDoc Parse(const std::string& text) {
  return XmlDoc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "report.html", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

// The string values of an XPath query's nodes (attribute values or text).
std::vector<std::string> Query(xmlDoc* doc, const std::string& xpath) {
  std::vector<std::string> out;
  std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc),
                                                                      xmlXPathFreeContext);
  xmlXPathRegisterNs(ctx.get(), BAD_CAST "svg", BAD_CAST "http://www.w3.org/2000/svg");
  std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> res(
      xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx.get()), xmlXPathFreeObject);
  if (!res || !res->nodesetval) return out;
  for (int i = 0; i < res->nodesetval->nodeNr; ++i) {
    xmlChar* s = xmlNodeGetContent(res->nodesetval->nodeTab[i]);
    out.emplace_back(s ? reinterpret_cast<const char*>(s) : "");
    xmlFree(s);
  }
  return out;
}

const std::vector<std::string> kFixtureCharts = {
    "throughput-retrying", "outcomes-retrying", "latency-retrying", "throughput-plain", "outcomes-plain",
    "latency-plain",       "in-flight",         "probes",           "monitor-process-cpu-seconds",
    "monitor-process-fds", "monitor-process-rss-bytes", "monitor-process-threads",
};

TEST(Charts, FixtureGivesEveryChartInOrder) {
  const RunData run = LoadRunDir(kFixture);
  ASSERT_TRUE(run.problems.empty()) << run.problems.front();
  std::vector<std::string> ids;
  for (const Chart& c : BuildCharts(run)) ids.push_back(c.id);
  EXPECT_EQ(ids, kFixtureCharts);
}

TEST(Charts, EveryChartSharesTheTimeAxisAndCarriesTheFaultWindows) {
  const RunData run = LoadRunDir(kFixture);
  for (const Chart& c : BuildCharts(run)) {
    EXPECT_EQ(c.x_min, 0) << c.id;
    EXPECT_GE(c.x_max, 12.0) << c.id;
    ASSERT_EQ(c.windows.size(), 2u) << c.id;
    EXPECT_EQ(c.windows[0].label, "latency r0");
    EXPECT_EQ(c.windows[1].label, "kill r1");
  }
}

const ChartLine* LineOf(const Chart& c, const std::string& label) {
  for (const ChartLine& l : c.lines) {
    if (l.label == label) return &l;
  }
  return nullptr;
}

TEST(Charts, ThroughputIsPerSecondAndOutcomesOnlyThoseSeen) {
  const RunData run = LoadRunDir(kFixture);
  const std::vector<Chart> charts = BuildCharts(run);
  const Chart& t = charts[0];
  ASSERT_EQ(t.lines.size(), 3u);
  // Drawn bottom to top: attempts wide underneath, goodput on it, offered
  // dashed on top, so all three show where they coincide.
  EXPECT_EQ(t.lines[0].label, "attempts");
  EXPECT_EQ(t.lines[1].label, "goodput");
  EXPECT_EQ(t.lines[2].label, "offered");
  EXPECT_GT(t.lines[0].width, t.lines[1].width);
  EXPECT_TRUE(t.lines[2].dashed);
  // The fixture's first bucket is 0.5 s: a count of N is 2N per second.
  const ChartLine* offered = LineOf(t, "offered");
  ASSERT_NE(offered, nullptr);
  const double offered0 = run.fleets[0].Column("offered")[0];
  EXPECT_DOUBLE_EQ(offered->y[0], offered0 / 0.5);
  // The retrying fleet saw ok, not_found and refused (the kill), nothing else.
  std::set<std::string> outcomes;
  for (const ChartLine& l : charts[1].lines) outcomes.insert(l.label);
  EXPECT_TRUE(outcomes.count("ok"));
  EXPECT_TRUE(outcomes.count("not_found"));
  EXPECT_TRUE(outcomes.count("refused"));
  EXPECT_FALSE(outcomes.count("shed"));
  EXPECT_EQ(charts[1].kind, Chart::Kind::kStacked);
}

TEST(Charts, LatencyHasAttemptAndEndToEndPercentilesAndNoFalseZeros) {
  const RunData run = LoadRunDir(kFixture);
  const Chart latency = BuildCharts(run)[2];
  std::vector<std::string> labels;
  for (const ChartLine& l : latency.lines) labels.push_back(l.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"p50", "p90", "p99", "e2e p50", "e2e p90", "e2e p99"}));
  for (const ChartLine& l : latency.lines) {
    for (double v : l.y) EXPECT_TRUE(std::isnan(v) || v > 0) << l.label;
  }
  EXPECT_TRUE(latency.lines[3].dashed);
  EXPECT_FALSE(latency.lines[0].dashed);
}

TEST(Charts, ProbeRowsShowTheKilledReplicaUnhealthy) {
  const RunData run = LoadRunDir(kFixture);
  const Chart probes = BuildCharts(run)[7];
  ASSERT_EQ(probes.kind, Chart::Kind::kStates);
  ASSERT_EQ(probes.rows.size(), 2u);
  EXPECT_EQ(probes.rows[1].label, "readiness r1");
  // probes.csv: r1 unhealthy from 7.253 s (the kill is at 7.001 s).
  bool unhealthy = false;
  for (const StateSpan& s : probes.rows[1].spans) {
    if (s.state == "unhealthy") {
      unhealthy = true;
      EXPECT_NEAR(s.start_s, 7.253, 1e-6);
    }
  }
  EXPECT_TRUE(unhealthy);
  for (const StateSpan& s : probes.rows[0].spans) EXPECT_EQ(s.state, "healthy");
}

TEST(Charts, MonitorChartsHaveATrendLinePerReplicaAndTheSlopeInTheNote) {
  const RunData run = LoadRunDir(kFixture);
  const std::vector<Chart> charts = BuildCharts(run);
  const Chart& fds = charts[9];
  ASSERT_EQ(fds.id, "monitor-process-fds");
  size_t trends = 0, replicas = 0;
  for (const ChartLine& l : fds.lines) {
    if (l.label.empty()) {
      ++trends;
      EXPECT_TRUE(l.dashed);
      EXPECT_EQ(l.x.size(), 2u);
    } else {
      ++replicas;
    }
  }
  EXPECT_EQ(replicas, 2u);
  EXPECT_EQ(trends, 2u);
  // Each replica's slope, signed and per minute, then its p.
  EXPECT_NE(fds.note.find("r0 +27.2/min (p = "), std::string::npos) << fds.note;
  EXPECT_NE(fds.note.find("r1 +40/min"), std::string::npos) << fds.note;
  EXPECT_NE(fds.note.find("Mann-Kendall p"), std::string::npos) << fds.note;
  EXPECT_NE(fds.note.find("LEAK"), std::string::npos) << fds.note;
  // The slope carries the series' unit.
  const Chart& rss = charts[10];
  ASSERT_EQ(rss.id, "monitor-process-rss-bytes");
  EXPECT_EQ(rss.y_label, "bytes");
  EXPECT_NE(rss.note.find(" bytes/min"), std::string::npos) << rss.note;
}

TEST(Charts, TrendLinesOfSeriesThatNeverGoNegativeStayAtOrAboveZero) {
  // A count from 0 rising fast: a trend fitted over it starts below 0 at
  // the first sample, and would stretch the axis to a value no sample had.
  RunCopy copy;
  std::ofstream m(copy.path() / "monitors.csv", std::ios::trunc);
  m << "t_s,monitor,replica,series,value\n";
  for (int t = 0; t <= 12; ++t) m << fmt::format("{}.000,app,0,tasks,{}\n", t, t < 2 ? 0 : 100 * (t - 1));
  m.close();
  const RunData run = LoadRunDir(copy.path());
  bool found = false;
  for (const Chart& c : BuildCharts(run)) {
    if (c.id != "monitor-app-tasks") continue;
    found = true;
    size_t trends = 0;
    for (const ChartLine& l : c.lines) {
      if (!l.label.empty()) continue;
      ++trends;
      ASSERT_EQ(l.y.size(), 2u);
      EXPECT_GE(l.y[0], 0);
      EXPECT_GT(l.y[1], l.y[0]);  // still the rising trend
    }
    EXPECT_EQ(trends, 1u);
  }
  EXPECT_TRUE(found);
}

TEST(Charts, MonitorSamplesAfterTheLoadWidenEveryChartAlike) {
  // Idle samples 3 s past the load's 12 s: every chart, not only the
  // monitors', spans them, so 6 s sits at the same place on all.
  RunCopy copy;
  std::ofstream(copy.path() / "monitors.csv", std::ios::app) << "15.000,process,0,threads,5\n";
  const RunData run = LoadRunDir(copy.path());
  const std::vector<Chart> charts = BuildCharts(run);
  ASSERT_FALSE(charts.empty());
  for (const Chart& c : charts) {
    EXPECT_EQ(c.x_min, 0) << c.id;
    EXPECT_DOUBLE_EQ(c.x_max, 15.0) << c.id;
  }
}

TEST(Report, FixtureRendersToWellFormedXhtmlWithEveryChart) {
  RunCopy copy;
  const ReportOutcome outcome = WriteReport(copy.path());
  ASSERT_TRUE(outcome.written) << outcome.error;
  EXPECT_TRUE(outcome.problems.empty());
  EXPECT_EQ(outcome.figures, kFixtureCharts.size());
  const std::string html = ReadFile(copy.path() / "report.html");
  XmlDoc doc = Parse(html);
  ASSERT_TRUE(doc) << "report.html is not well-formed XML";
  for (const std::string& id : kFixtureCharts) {
    EXPECT_EQ(Query(doc.get(), "//svg[@id='chart-" + id + "']/@id").size(), 1u) << id;
    const fs::path figure = copy.path() / "figures" / (id + ".svg");
    ASSERT_TRUE(fs::exists(figure)) << figure;
    XmlDoc svg = Parse(ReadFile(figure));
    ASSERT_TRUE(svg) << figure << " is not well-formed";
    // A figure stands alone: the SVG namespace and a title.
    EXPECT_EQ(Query(svg.get(), "/svg:svg/svg:title").size(), 1u) << figure;
  }
}

TEST(Report, FaultWindowsAreDrawnWhereFaultsCsvSays) {
  RunCopy copy;
  ASSERT_TRUE(WriteReport(copy.path()).written);
  XmlDoc doc = Parse(ReadFile(copy.path() / "report.html"));
  ASSERT_TRUE(doc);
  CsvTable faults;
  std::string error;
  ASSERT_TRUE(ReadCsvFile(kFixture / "faults.csv", &faults, &error)) << error;
  const RunData run = LoadRunDir(kFixture);
  const std::vector<Chart> charts = BuildCharts(run);
  // The page renders every chart with one plot margin, so that their time
  // axes line up: the first window starts at the same pixel on each chart,
  // in report.html and in figures/.
  SvgOptions options;
  options.plot_left = FitPlotLeft(charts, options);
  std::set<std::string> first_x, first_figure_x;
  for (const Chart& chart : charts) {
    const std::string rects = "//svg[@id='chart-" + chart.id + "']//rect[@class='window']";
    const std::vector<std::string> starts = Query(doc.get(), rects + "/@data-start");
    const std::vector<std::string> ends = Query(doc.get(), rects + "/@data-end");
    const std::vector<std::string> xs = Query(doc.get(), rects + "/@x");
    const std::vector<std::string> widths = Query(doc.get(), rects + "/@width");
    ASSERT_EQ(starts.size(), faults.size()) << chart.id;
    ASSERT_EQ(xs.size(), faults.size()) << chart.id;
    for (size_t i = 0; i < faults.size(); ++i) {
      EXPECT_NEAR(std::stod(starts[i]), faults.Number(i, "start_s"), 0.0005) << chart.id;
      EXPECT_NEAR(std::stod(ends[i]), faults.Number(i, "end_s"), 0.0005) << chart.id;
      // And at the pixels of those times on this chart's axis.
      const double x0 = XPixel(chart, options, faults.Number(i, "start_s"));
      const double x1 = XPixel(chart, options, faults.Number(i, "end_s"));
      EXPECT_NEAR(std::stod(xs[i]), x0, 0.51) << chart.id;
      EXPECT_NEAR(std::stod(widths[i]), x1 - x0, 1.01) << chart.id;
    }
    first_x.insert(xs[0]);
    XmlDoc figure = Parse(ReadFile(copy.path() / "figures" / (chart.id + ".svg")));
    ASSERT_TRUE(figure) << chart.id;
    const std::vector<std::string> figure_xs = Query(figure.get(), "//svg:rect[@class='window']/@x");
    ASSERT_FALSE(figure_xs.empty()) << chart.id;
    first_figure_x.insert(figure_xs[0]);
  }
  EXPECT_EQ(first_x.size(), 1u) << "the charts' time axes do not line up";
  EXPECT_EQ(first_figure_x.size(), 1u) << "the figures' time axes do not line up";
}

TEST(Report, HoldsNoUrlScriptOrExternalResource) {
  RunCopy copy;
  ASSERT_TRUE(WriteReport(copy.path()).written);
  const std::string html = ReadFile(copy.path() / "report.html");
  for (const char* banned : {"http:", "https:", "src=", "href=", "url(", "<script", "@import", "<link", "<img"}) {
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  }
  // Figures name the SVG namespace, and nothing else.
  for (const auto& e : fs::directory_iterator(copy.path() / "figures")) {
    std::string svg = ReadFile(e.path());
    const std::string ns = "http://www.w3.org/2000/svg";
    const size_t at = svg.find(ns);
    ASSERT_NE(at, std::string::npos) << e.path();
    svg.erase(at, ns.size());
    for (const char* banned : {"http:", "https:", "href=", "url(", "<script"}) {
      EXPECT_EQ(svg.find(banned), std::string::npos) << e.path() << ": " << banned;
    }
  }
}

TEST(Report, VerdictGatesTablesScenarioVersionAndSeed) {
  RunCopy copy;
  ASSERT_TRUE(WriteReport(copy.path()).written);
  XmlDoc doc = Parse(ReadFile(copy.path() / "report.html"));
  ASSERT_TRUE(doc);
  EXPECT_EQ(Query(doc.get(), "//h1/span[contains(@class,'badge')]"), std::vector<std::string>{"fail"});
  // The failing gate comes first, marked, with its scope, its measured
  // value and its bound, both in the metric's unit.
  const std::vector<std::string> first = Query(doc.get(), "//h2[@id='gates']/following-sibling::table[1]//tbody/tr[1]/td");
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(first[0], "FAIL");
  EXPECT_NE(first[1].find("fails on purpose"), std::string::npos);
  EXPECT_EQ(first[2], "p99_ms");
  EXPECT_EQ(first[3], "plain, before the first fault");
  EXPECT_EQ(first[4], "0.713 ms");
  EXPECT_EQ(first[5], "\u2264 0.001 ms");
  EXPECT_EQ(Query(doc.get(), "//p[@class='lead']"), std::vector<std::string>{"1 of 2 gates failed."});
  EXPECT_EQ(Query(doc.get(), "//h2[@id='gates']/following-sibling::table[1]//tbody/tr[2]/td[1]"),
            std::vector<std::string>{"pass"});
  for (const char* id : {"totals", "phases", "faults", "analyses", "scenario"}) {
    EXPECT_EQ(Query(doc.get(), fmt::format("//h2[@id='{}']", id)).size(), 1u) << id;
  }
  // Phases: before, the two windows, after; two fleets each, the phase
  // named once for both.
  EXPECT_EQ(Query(doc.get(), "//h2[@id='phases']/following-sibling::table[1]//tbody/tr").size(), 8u);
  EXPECT_EQ(Query(doc.get(), "//h2[@id='phases']/following-sibling::table[1]//tbody/tr/td[@rowspan='2']").size(), 4u);
  // Counts show the outcomes the run saw (ok, not_found, refused), not
  // ten columns of zeros.
  const std::vector<std::string> counts =
      Query(doc.get(), "//h2[@id='totals']/following-sibling::table[2]//thead//th");
  EXPECT_NE(std::find(counts.begin(), counts.end(), "refused"), counts.end());
  EXPECT_EQ(std::find(counts.begin(), counts.end(), "shed"), counts.end());
  const std::vector<std::string> scenario = Query(doc.get(), "//h2[@id='scenario']/following-sibling::pre[1]");
  ASSERT_EQ(scenario.size(), 1u);
  EXPECT_NE(scenario[0].find("\"report-fixture\""), std::string::npos);
  const std::vector<std::string> footer = Query(doc.get(), "//footer");
  ASSERT_EQ(footer.size(), 1u);
  EXPECT_NE(footer[0].find("herd 0.1.0"), std::string::npos) << footer[0];
  EXPECT_NE(footer[0].find("seed 3"), std::string::npos) << footer[0];
}

TEST(Report, MissingTimeseriesIsNamedAndTheRestStillRenders) {
  RunCopy copy;
  fs::remove(copy.path() / "timeseries.csv");
  const ReportOutcome outcome = WriteReport(copy.path());
  ASSERT_TRUE(outcome.written) << outcome.error;
  ASSERT_FALSE(outcome.problems.empty());
  EXPECT_EQ(outcome.problems[0].rfind("timeseries.csv", 0), 0u) << outcome.problems[0];
  XmlDoc doc = Parse(ReadFile(copy.path() / "report.html"));
  ASSERT_TRUE(doc);
  const std::vector<std::string> problems = Query(doc.get(), "//div[@class='problems']//li");
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("timeseries.csv"), std::string::npos);
  // The charts are there and say so; gates, probes and monitors are intact.
  EXPECT_EQ(Query(doc.get(), "//svg[@id='chart-throughput-retrying']").size(), 1u);
  EXPECT_NE(Query(doc.get(), "//svg[@id='chart-throughput-retrying']")[0].find("no data"), std::string::npos);
  EXPECT_EQ(Query(doc.get(), "//svg[@id='chart-probes']").size(), 1u);
  EXPECT_EQ(Query(doc.get(), "//h2[@id='gates']/following-sibling::table[1]//tbody/tr").size(), 2u);
}

TEST(Report, CorruptSummaryIsNamedAndChartsStillRender) {
  RunCopy copy;
  const std::string summary = ReadFile(copy.path() / "summary.json");
  std::ofstream(copy.path() / "summary.json", std::ios::trunc) << summary.substr(0, summary.size() / 2);
  const ReportOutcome outcome = WriteReport(copy.path());
  ASSERT_TRUE(outcome.written) << outcome.error;
  ASSERT_EQ(outcome.problems.size(), 1u);
  EXPECT_EQ(outcome.problems[0].rfind("summary.json", 0), 0u) << outcome.problems[0];
  XmlDoc doc = Parse(ReadFile(copy.path() / "report.html"));
  ASSERT_TRUE(doc);
  EXPECT_EQ(Query(doc.get(), "//h1/span[contains(@class,'badge')]"), std::vector<std::string>{"unknown"});
  for (const std::string& id : kFixtureCharts) {
    EXPECT_EQ(Query(doc.get(), "//svg[@id='chart-" + id + "']/@id").size(), 1u) << id;
  }
}

TEST(Report, NoDirectoryIsAnErrorNotAReport) {
  const ReportOutcome outcome = WriteReport("/nonexistent/herd-run");
  EXPECT_FALSE(outcome.written);
  EXPECT_NE(outcome.error.find("/nonexistent/herd-run"), std::string::npos) << outcome.error;
}

TEST(Report, CompareHtmlSignsEachToleranceTheWayItsMetricGetsWorse) {
  const RunData run = LoadRunDir(kFixture);
  Comparison comparison;
  HeadlineChange goodput{.fleet = "plain", .metric = "goodput_per_s", .base = 60.0, .candidate = 30.0,
                         .change_pct = -50.0, .tolerance_pct = 20, .lower_is_worse = true, .regressed = true};
  HeadlineChange p99{.fleet = "plain", .metric = "p99_ms", .base = 40.0, .candidate = 44.0, .change_pct = 10.0,
                     .tolerance_pct = 25, .regressed = false};
  comparison.changes = {goodput, p99};
  comparison.regressed = true;
  XmlDoc doc = Parse(ComparisonHtml(run, run, comparison, BuildCompareCharts(run, run)));
  ASSERT_TRUE(doc) << "compare.html is not well-formed XML";
  const std::string rows = "//h2[@id='headline']/following-sibling::table[1]//tbody/tr";
  // As the text table says it: "(max -20%)" for goodput, "(max +25%)" for p99.
  EXPECT_EQ(Query(doc.get(), rows + "[1]/td[6]"), std::vector<std::string>{"max -20%"});
  EXPECT_EQ(Query(doc.get(), rows + "[1]/td[7]"), std::vector<std::string>{"REGRESSED"});
  EXPECT_EQ(Query(doc.get(), rows + "[2]/td[6]"), std::vector<std::string>{"max +25%"});
  EXPECT_EQ(Query(doc.get(), rows + "[2]/td[7]"), std::vector<std::string>{"worse, within tolerance"});
  EXPECT_EQ(Query(doc.get(), "//p[@class='lead']"),
            std::vector<std::string>{"1 of 2 headline figures regressed beyond tolerance."});
  for (const char* banned : {"http:", "https:", "href=", "<script"}) {
    EXPECT_EQ(ComparisonHtml(run, run, comparison, {}).find(banned), std::string::npos) << banned;
  }
}

// An hour at 1 s buckets: two fleets, monitors sampled every second, a
// probe checking every 2 s, 30 faults. Written where HERD_KEEP_HOUR_RUN
// says when set (tests/bench/report_render.sh times `herd report` on it).
void WriteHourRun(const fs::path& dir) {
  fs::create_directories(dir / "histograms");
  std::mt19937_64 rng(1);
  std::ofstream ts(dir / "timeseries.csv");
  ts << "t_s,fleet,offered,attempts,retries,ok,not_found,throttled,shed,server_error,client_error,timeout,"
        "refused,reset,other_error,succeeded,abandoned,budget_denied,breaker_rejected,client_throttled,in_flight,"
        "lat_p50_ms,lat_p90_ms,lat_p99_ms,lat_max_ms,e2e_p99_ms\n";
  std::string hist[2];
  for (int f = 0; f < 2; ++f) hist[f] = "# t_s\tattempt latency\te2e latency, each Histogram::Serialize in nanoseconds\n";
  for (int t = 0; t < 3600; ++t) {
    for (int f = 0; f < 2; ++f) {
      const int n = 400 + static_cast<int>(rng() % 50);
      const int fail = (t % 120 < 10) ? n / 2 : 0;
      ts << fmt::format("{}.000,{},{},{},{},{},0,0,0,{},0,0,0,0,0,{},0,0,0,0,{},{:.3f},{:.3f},{:.3f},{:.3f},{:.3f}\n", t,
                        f == 0 ? "web" : "batch", n, n + fail, fail, n - fail, fail, n - fail, rng() % 20,
                        0.3 + (rng() % 100) / 1000.0, 1.2, 4.5, 9.0, 5.0);
      Histogram a, e;
      for (int k = 0; k < 60; ++k) {
        a.Record(200000 + static_cast<int64_t>(rng() % 4000000));
        e.Record(250000 + static_cast<int64_t>(rng() % 5000000));
      }
      hist[f] += fmt::format("{}.000\t{}\t{}\n", t, a.Serialize(), e.Serialize());
    }
  }
  std::ofstream(dir / "histograms" / "web.txt") << hist[0];
  std::ofstream(dir / "histograms" / "batch.txt") << hist[1];
  std::ofstream faults(dir / "faults.csv");
  faults << "start_s,end_s,kind,replica,detail\n";
  for (int i = 0; i < 30; ++i) faults << fmt::format("{}.000,{}.000,latency,{},latency=100ms\n", i * 120, i * 120 + 10, i % 2);
  std::ofstream probes(dir / "probes.csv");
  probes << "t_s,probe,replica,status,latency_ms,state\n";
  for (int t = 0; t < 3600; t += 2) {
    for (int r = 0; r < 2; ++r) {
      probes << fmt::format("{}.000,readiness,{},200,0.4,{}\n", t, r, (t % 120 < 10 && r == t / 120 % 2) ? "unhealthy" : "healthy");
    }
  }
  std::ofstream monitors(dir / "monitors.csv");
  monitors << "t_s,monitor,replica,series,value\n";
  for (int t = 0; t < 3600; ++t) {
    for (int r = 0; r < 2; ++r) {
      monitors << fmt::format("{}.000,process,{},threads,{}\n", t, r, 5 + (rng() % 2));
      monitors << fmt::format("{}.000,process,{},rss_bytes,{}\n", t, r, 14000000 + t * 1000 + rng() % 50000);
    }
  }
  std::ofstream(dir / "summary.json") << R"({"name": "an-hour", "verdict": "pass", "bucket_s": 1.0, "elapsed_s": 3600.0,
    "seed": 1, "herd": {"version": "test"}, "gates": [], "fleets": []})";
}

TEST(Report, AnHourAtOneSecondBucketsStaysUnderFiveMegabytes) {
  const char* keep = std::getenv("HERD_KEEP_HOUR_RUN");
  const fs::path dir = keep != nullptr ? fs::path(keep)
                                       : fs::temp_directory_path() / fmt::format("herd-hour-{}", ::getpid());
  fs::remove_all(dir);
  WriteHourRun(dir);
  const auto start = std::chrono::steady_clock::now();
  const ReportOutcome outcome = WriteReport(dir);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(outcome.written) << outcome.error;
  EXPECT_TRUE(outcome.problems.empty()) << outcome.problems.front();
  const auto size = fs::file_size(dir / "report.html");
  // Speed is the benchmark's to judge (tests/bench/report_render.sh); this
  // prints it and checks what does not depend on the machine.
  std::printf("an hour at 1 s: report.html %.2f MB, rendered in %.2f s\n", static_cast<double>(size) / 1e6, seconds);
  EXPECT_LT(size, 5u * 1000 * 1000);
  XmlDoc doc = Parse(ReadFile(dir / "report.html"));
  ASSERT_TRUE(doc);
  // 30 windows on each chart.
  EXPECT_EQ(Query(doc.get(), "//svg[@id='chart-throughput-web']//rect[@class='window']").size(), 30u);
  if (keep == nullptr) fs::remove_all(dir);
}

}  // namespace
}  // namespace herd
