#include "observe/monitor.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace herd {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

SeriesSelector Select(std::string_view text) {
  SeriesSelector s;
  std::string error;
  EXPECT_TRUE(ParseSelector(text, &s, &error)) << text << ": " << error;
  return s;
}

// The sum for a selector, which must match (Missing: must not).
double Sum(std::string_view exposition, std::string_view selector) {
  double v = -12345;
  EXPECT_TRUE(SumSeries(exposition, Select(selector), &v)) << selector;
  return v;
}

bool Missing(std::string_view exposition, std::string_view selector) {
  double v = -12345;
  return !SumSeries(exposition, Select(selector), &v);
}

// ---- selectors -------------------------------------------------------------

TEST(Selector, BareMetricName) {
  SeriesSelector s = Select("kvd_tasks");
  EXPECT_EQ(s.metric, "kvd_tasks");
  EXPECT_TRUE(s.labels.empty());
  EXPECT_EQ(Select("go_goroutines").metric, "go_goroutines");
  EXPECT_EQ(Select("ns:rule_name:rate5m").metric, "ns:rule_name:rate5m");
  EXPECT_EQ(Select("_x9").metric, "_x9");
  EXPECT_EQ(Select("  kvd_tasks \t").metric, "kvd_tasks");
}

TEST(Selector, Labels) {
  SeriesSelector s = Select("kvd_requests_total{code=\"503\"}");
  EXPECT_EQ(s.metric, "kvd_requests_total");
  EXPECT_EQ(s.labels, (Labels{{"code", "503"}}));

  s = Select("kvd_requests_total{route=\"/v1/{key}\",method=\"PUT\",code=\"201\"}");
  EXPECT_EQ(s.labels, (Labels{{"route", "/v1/{key}"}, {"method", "PUT"}, {"code", "201"}}));

  // Blanks between the parts, a trailing comma, empty braces, empty values.
  s = Select("m { a = \"x\" , b=\"\" , }");
  EXPECT_EQ(s.metric, "m");
  EXPECT_EQ(s.labels, (Labels{{"a", "x"}, {"b", ""}}));
  EXPECT_TRUE(Select("m{}").labels.empty());
}

TEST(Selector, EscapedValues) {
  SeriesSelector s = Select(R"(m{a="say \"hi\"",b="C:\\dir",c="two\nlines"})");
  EXPECT_EQ(s.labels, (Labels{{"a", "say \"hi\""}, {"b", "C:\\dir"}, {"c", "two\nlines"}}));
  // Commas, braces and '=' inside a value are just characters.
  s = Select(R"(m{a="x,y}=z{"})");
  EXPECT_EQ(s.labels, (Labels{{"a", "x,y}=z{"}}));
}

TEST(Selector, RejectsWhatIsNotASelector) {
  struct Case {
    const char* text;
    const char* says;
  };
  const Case cases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"9lives", "metric name"},
      {"{a=\"x\"}", "metric name"},
      {"kvd-tasks", "after the metric name"},
      {"kvd tasks", "after the metric name"},
      {"m{a=\"x\"", "missing '}'"},
      {"m{a=\"x\",", "missing '}'"},
      {"m{", "missing '}'"},
      {"m{a=x}", "double quotes"},
      {"m{a}", "expected '='"},
      {"m{a=}", "double quotes"},
      {"m{=\"x\"}", "label name"},
      {"m{1a=\"x\"}", "label name"},
      {"m{a:b=\"x\"}", "expected '='"},
      {"m{a=\"x}", "unterminated"},
      {"m{a=\"x\\\"}", "unterminated"},
      {"m{a=\"\\t\"}", "bad escape"},
      {"m{a=\"x\" b=\"y\"}", "expected ','"},
      {"m{a=\"x\"}}", "after '}'"},
      {"m{a=\"x\"} extra", "after '}'"},
      {"m{a=\"x\",a=\"y\"}", "twice"},
      {"m{a!=\"x\"}", "only exact matches"},
      {"m{a=~\"x.*\"}", "only exact matches"},
      {"m{a==\"x\"}", "only exact matches"},
  };
  for (const Case& c : cases) {
    SeriesSelector s;
    std::string error;
    EXPECT_FALSE(ParseSelector(c.text, &s, &error)) << c.text;
    EXPECT_NE(error.find(c.says), std::string::npos) << c.text << " -> " << error;
    // The message names the selector it is about.
    EXPECT_NE(error.find("series \""), std::string::npos) << error;
  }
}

// ---- exposition ------------------------------------------------------------

constexpr std::string_view kExposition =
    "# HELP kvd_requests_total Requests answered, by protocol, route, method and code.\n"
    "# TYPE kvd_requests_total counter\n"
    "kvd_requests_total{protocol=\"http\",route=\"/v1/{key}\",method=\"GET\",code=\"200\"} 5\n"
    "kvd_requests_total{protocol=\"http\",route=\"/v1/{key}\",method=\"PUT\",code=\"201\"} 3\n"
    "kvd_requests_total{code=\"503\",method=\"PUT\",route=\"/v1/{key}\",protocol=\"http\"} 7\n"
    "kvd_requests_total{protocol=\"grpc\",route=\"keyvalue.KeyValue/Get\",method=\"GET\","
    "code=\"OK\"} 11\n"
    "# HELP kvd_tasks Live tasks.\n"
    "# TYPE kvd_tasks gauge\n"
    "kvd_tasks 4\n"
    "# HELP kvd_tasks_total Tasks ever started.\n"
    "# TYPE kvd_tasks_total counter\n"
    "kvd_tasks_total 1000\n"
    "kvd_tasks_created 99\n"
    "# HELP go_goroutines Number of goroutines that currently exist.\n"
    "# TYPE go_goroutines gauge\n"
    "go_goroutines 42\n";

TEST(Exposition, BareNameSumsEveryLabelSet) {
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total"), 5 + 3 + 7 + 11);
  EXPECT_EQ(Sum(kExposition, "go_goroutines"), 42);
}

TEST(Exposition, LabelsSelectASubset) {
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{code=\"503\"}"), 7);
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{protocol=\"http\"}"), 5 + 3 + 7);
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{method=\"PUT\"}"), 3 + 7);
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{route=\"/v1/{key}\",method=\"PUT\"}"), 3 + 7);
  // The order of the labels, in the selector or the exposition, is irrelevant.
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{method=\"PUT\",route=\"/v1/{key}\","
                             "code=\"503\",protocol=\"http\"}"),
            7);
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{code=\"201\",protocol=\"http\"}"), 3);
  EXPECT_EQ(Sum(kExposition, "kvd_requests_total{protocol=\"grpc\",code=\"OK\"}"), 11);
}

TEST(Exposition, NameMustMatchWhole) {
  // kvd_tasks is a prefix of kvd_tasks_total and kvd_tasks_created.
  EXPECT_EQ(Sum(kExposition, "kvd_tasks"), 4);
  EXPECT_EQ(Sum(kExposition, "kvd_tasks_total"), 1000);
  EXPECT_EQ(Sum(kExposition, "kvd_tasks_created"), 99);
  EXPECT_TRUE(Missing(kExposition, "kvd_task"));
  EXPECT_TRUE(Missing(kExposition, "kvd_tasks_"));
  EXPECT_TRUE(Missing(kExposition, "kvd_requests"));
  EXPECT_TRUE(Missing(kExposition, "go_goroutine"));
}

TEST(Exposition, NoMatchIsFalse) {
  double v = -1;
  EXPECT_FALSE(SumSeries(kExposition, Select("nothing_here"), &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(Missing(kExposition, "kvd_requests_total{code=\"404\"}"));
  EXPECT_TRUE(Missing(kExposition, "kvd_requests_total{nosuchlabel=\"\"}"));
  EXPECT_TRUE(Missing(kExposition, "kvd_tasks{a=\"b\"}"));
  EXPECT_TRUE(Missing("", "kvd_tasks"));
  EXPECT_TRUE(Missing("\n\n", "kvd_tasks"));
  // A metric mentioned only in comments has no samples.
  EXPECT_TRUE(Missing("# HELP x_total x.\n# TYPE x_total counter\n", "x_total"));
  // A zero sample is a match (true, 0), not "no match".
  double zero = -1;
  EXPECT_TRUE(SumSeries("kvd_tasks 0\n", Select("kvd_tasks"), &zero));
  EXPECT_EQ(zero, 0);
}

TEST(Exposition, EscapedLabelValues) {
  const std::string_view text =
      "m{path=\"C:\\\\dir\\\\\",msg=\"say \\\"hi\\\", then go\"} 1\n"
      "m{msg=\"two\\nlines\",path=\"x\"} 2\n"
      "m{msg=\"a } b\",path=\"{}\"} 4\n"
      "m{msg=\"quote\\\"} 3\",path=\"y\"} 8\n";
  EXPECT_EQ(Sum(text, "m"), 15);
  EXPECT_EQ(Sum(text, R"(m{path="C:\\dir\\"})"), 1);
  EXPECT_EQ(Sum(text, R"(m{msg="say \"hi\", then go"})"), 1);
  EXPECT_EQ(Sum(text, R"(m{msg="two\nlines"})"), 2);
  EXPECT_EQ(Sum(text, R"(m{msg="a } b",path="{}"})"), 4);
  EXPECT_EQ(Sum(text, R"(m{msg="quote\"} 3"})"), 8);
  // Unescaped, the value is not the escaped text.
  EXPECT_TRUE(Missing(text, R"(m{msg="two\\nlines"})"));
  EXPECT_TRUE(Missing(text, R"(m{path="C:\\\\dir\\\\"})"));
}

TEST(Exposition, TimestampsAreIgnored) {
  const std::string_view text =
      "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
      "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
      "http_requests_total{method=\"get\",code=\"200\"} 10 -5\n"
      "plain 2.5 1395066363000\n";
  EXPECT_EQ(Sum(text, "http_requests_total"), 1040);
  EXPECT_EQ(Sum(text, "http_requests_total{method=\"post\"}"), 1030);
  EXPECT_EQ(Sum(text, "plain"), 2.5);
}

TEST(Exposition, SpecialAndScientificValues) {
  const std::string_view text =
      "a 1e3\n"
      "b -1.5E-3\n"
      "c 1.7560473e+07\n"
      "d +Inf\n"
      "e -Inf\n"
      "f NaN\n"
      "g{x=\"1\"} +3\n"
      "g{x=\"2\"} -1\n"
      "h 0x10\n"      // hex is not a sample value: skipped
      "i .5\n"
      "j 5.\n";
  EXPECT_EQ(Sum(text, "a"), 1000);
  EXPECT_DOUBLE_EQ(Sum(text, "b"), -0.0015);
  EXPECT_DOUBLE_EQ(Sum(text, "c"), 17560473);
  EXPECT_EQ(Sum(text, "d"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(Sum(text, "e"), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(Sum(text, "f")));
  EXPECT_EQ(Sum(text, "g"), 2);
  EXPECT_TRUE(Missing(text, "h"));
  EXPECT_EQ(Sum(text, "i"), 0.5);
  EXPECT_EQ(Sum(text, "j"), 5);
  // A NaN sample makes the sum NaN, as Prometheus' sum() does.
  EXPECT_TRUE(std::isnan(Sum("n{a=\"1\"} 1\nn{a=\"2\"} NaN\n", "n")));
  EXPECT_EQ(Sum("n{a=\"1\"} 1\nn{a=\"2\"} NaN\n", "n{a=\"1\"}"), 1);
}

TEST(Exposition, Histograms) {
  const std::string_view text =
      "# HELP rpc_duration_seconds A histogram.\n"
      "# TYPE rpc_duration_seconds histogram\n"
      "rpc_duration_seconds_bucket{protocol=\"http\",le=\"0.05\"} 24054\n"
      "rpc_duration_seconds_bucket{protocol=\"http\",le=\"0.1\"} 33444\n"
      "rpc_duration_seconds_bucket{protocol=\"http\",le=\"+Inf\"} 144320\n"
      "rpc_duration_seconds_sum{protocol=\"http\"} 53423\n"
      "rpc_duration_seconds_count{protocol=\"http\"} 144320\n"
      "rpc_duration_seconds_bucket{protocol=\"grpc\",le=\"0.05\"} 1\n"
      "rpc_duration_seconds_bucket{protocol=\"grpc\",le=\"+Inf\"} 2\n"
      "rpc_duration_seconds_sum{protocol=\"grpc\"} 0.5\n"
      "rpc_duration_seconds_count{protocol=\"grpc\"} 2\n";
  // The histogram's own name has no samples of its own.
  EXPECT_TRUE(Missing(text, "rpc_duration_seconds"));
  EXPECT_EQ(Sum(text, "rpc_duration_seconds_count"), 144322);
  EXPECT_EQ(Sum(text, "rpc_duration_seconds_count{protocol=\"grpc\"}"), 2);
  EXPECT_EQ(Sum(text, "rpc_duration_seconds_sum"), 53423.5);
  EXPECT_EQ(Sum(text, "rpc_duration_seconds_bucket{le=\"+Inf\"}"), 144322);
  EXPECT_EQ(Sum(text, "rpc_duration_seconds_bucket{le=\"0.05\",protocol=\"http\"}"), 24054);
  EXPECT_EQ(Sum(text, "rpc_duration_seconds_bucket{protocol=\"http\"}"), 24054 + 33444 + 144320);
}

TEST(Exposition, BlankLinesCrlfAndWhitespace) {
  const std::string text =
      "\r\n"
      "# HELP a An a.\r\n"
      "# TYPE a gauge\r\n"
      "a{x=\"1\"} 1\r\n"
      "\r\n"
      "   \n"
      "\t\n"
      "a{x=\"2\"}\t2\r\n"
      "a   4   \r\n"
      "  a{x=\"3\"} 8\n"
      "a { x = \"4\" , } 16 123\r\n"
      "a{x=\"5\"} 32";  // no final newline
  EXPECT_EQ(Sum(text, "a"), 63);
  EXPECT_EQ(Sum(text, "a{x=\"2\"}"), 2);
  EXPECT_EQ(Sum(text, "a{x=\"4\"}"), 16);
  EXPECT_EQ(Sum(text, "a{x=\"5\"}"), 32);
}

TEST(Exposition, MalformedLinesAreSkipped) {
  const std::string text =
      "a 1\n"
      "a\n"                          // no value
      "a \n"                         // no value
      "a{x=\"1\"}\n"                 // no value
      "a{x=\"1\" 2\n"                // no '}'
      "a{x=1} 4\n"                   // unquoted value
      "a{x=\"1} 8\n"                 // unterminated value
      "a{x=\"\\q\"} 16\n"            // bad escape
      "a{=\"1\"} 32\n"               // no label name
      "a{x=\"1\"y=\"2\"} 64\n"       // no comma
      "a one\n"                      // not a number
      "a 1 2 3\n"                    // too many fields
      "a 1 notatimestamp\n"          // bad timestamp
      "a 1 1.5\n"                    // timestamps are integers
      "a 1e999\n"                    // out of range
      "a --1\n"
      "a{x=\"1\"}x 128\n"
      "a.b 256\n"
      "{a=\"x\"} 512\n"
      "# a 1024\n"
      "#a 2048\n"
      "a 2\n";
  EXPECT_EQ(Sum(text, "a"), 3);
  // Anything at all: never a crash, and only well-formed lines count.
  std::string junk;
  for (int i = 0; i < 256; ++i) junk.push_back(static_cast<char>(i));
  junk += "\na 5\n{{{}}}\"\"\\\\\n\\\na{\n";
  EXPECT_EQ(Sum(junk, "a"), 5);
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    double v = 0;
    SumSeries(std::string_view(text).substr(0, cut), Select("a"), &v);
  }
}

TEST(Exposition, OpenMetricsExemplarsAndEofAreTolerated) {
  const std::string_view text =
      "# TYPE foo histogram\n"
      "foo_bucket{le=\"0.01\"} 0\n"
      "foo_bucket{le=\"0.1\"} 8 # {trace_id=\"KOO5S4vxi0o\"} 0.067 1520879607.789\n"
      "foo_bucket{le=\"+Inf\"} 17 1520879607789 # {} 1\n"
      "# EOF\n";
  EXPECT_EQ(Sum(text, "foo_bucket"), 25);
}

// ---- /proc -----------------------------------------------------------------

ProcessSample Self() {
  ProcessSample s;
  std::string error;
  EXPECT_TRUE(ReadProcess(getpid(), &s, &error)) << error;
  return s;
}

TEST(Process, SeriesInOrder) {
  ProcessSample s;
  s.threads = 3;
  s.fds = 7;
  s.rss_bytes = 4096;
  s.cpu_seconds = 1.25;
  const auto series = ProcessSeries(s);
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0], (std::pair<std::string, double>{"threads", 3}));
  EXPECT_EQ(series[1], (std::pair<std::string, double>{"fds", 7}));
  EXPECT_EQ(series[2], (std::pair<std::string, double>{"rss_bytes", 4096}));
  EXPECT_EQ(series[3], (std::pair<std::string, double>{"cpu_seconds", 1.25}));
}

TEST(Process, ReadsItself) {
  const ProcessSample s = Self();
  EXPECT_GE(s.threads, 1);
  EXPECT_GE(s.fds, 3);  // at least stdin, stdout, stderr
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_EQ(s.rss_bytes % 1024, 0);  // kB in /proc, bytes here
  EXPECT_GE(s.cpu_seconds, 0);
  // The same figures, read independently.
  std::ifstream status("/proc/self/status");
  std::string line;
  long rss_kb = -1;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss_kb = std::stol(line.substr(6));
  }
  ASSERT_GT(rss_kb, 0);
  // RSS moves a little between the two reads; within a factor of two.
  EXPECT_GT(s.rss_bytes, rss_kb * 1024 / 2);
  EXPECT_LT(s.rss_bytes, rss_kb * 1024 * 2);
  const auto series = ProcessSeries(s);
  EXPECT_EQ(series[0].second, static_cast<double>(s.threads));
  EXPECT_EQ(series[1].second, static_cast<double>(s.fds));
  EXPECT_EQ(series[2].second, static_cast<double>(s.rss_bytes));
  EXPECT_EQ(series[3].second, s.cpu_seconds);
}

TEST(Process, ThreadsRiseWithAThread) {
  const int64_t before = Self().threads;
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, stop = false;
  std::thread t([&] {
    std::unique_lock lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return stop; });
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  const int64_t during = Self().threads;
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  cv.notify_all();
  t.join();
  EXPECT_GE(during, before + 1);
}

TEST(Process, FdsRiseWithOpenFiles) {
  const int64_t before = Self().fds;
  std::vector<int> fds;
  for (int i = 0; i < 5; ++i) {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    fds.push_back(fd);
  }
  const int64_t during = Self().fds;
  for (int fd : fds) close(fd);
  const int64_t after = Self().fds;
  // This test is single-threaded and ReadProcess does not count the
  // descriptor it reads /proc/self/fd through: the counts are exact.
  EXPECT_EQ(during, before + 5);
  EXPECT_EQ(after, before);
}

TEST(Process, RssRisesWithTouchedMemory) {
  const int64_t before = Self().rss_bytes;
  constexpr size_t kBytes = 64u << 20;
  std::vector<char> block(kBytes);
  for (size_t i = 0; i < kBytes; i += 4096) block[i] = static_cast<char>(i);
  const int64_t during = Self().rss_bytes;
  EXPECT_GE(during, before + static_cast<int64_t>(kBytes) / 2)
      << "before " << before << " during " << during;
  volatile char sink = block[kBytes / 2];
  (void)sink;
}

TEST(Process, CpuSecondsGrowWithBusyWork) {
  const double before = Self().cpu_seconds;
  // Spin until the kernel's tick-granular counter moves (one tick is 10 ms
  // at the usual 100 Hz); bounded so a broken reader fails instead of hangs.
  volatile uint64_t x = 0;
  double now = before;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (now <= before && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 5'000'000; ++i) x = x + static_cast<uint64_t>(i);
    now = Self().cpu_seconds;
  }
  EXPECT_GT(now, before);
}

TEST(Process, CommWithSpacesAndParens) {
  // The kernel's comm (this thread's name, up to 15 bytes) sits in
  // /proc/<pid>/stat between parentheses, unescaped.
  char old_name[17] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, old_name, 0, 0, 0), 0);
  ASSERT_EQ(prctl(PR_SET_NAME, "a) (b 1 2 ) 3", 0, 0, 0), 0);
  ProcessSample s;
  std::string error;
  const bool ok = ReadProcess(getpid(), &s, &error);
  prctl(PR_SET_NAME, old_name, 0, 0, 0);
  ASSERT_TRUE(ok) << error;
  EXPECT_GE(s.threads, 1);
  EXPECT_GT(s.rss_bytes, 0);
  const ProcessSample plain = Self();
  // The CPU figure is the same field either way (it can only have grown).
  EXPECT_GE(plain.cpu_seconds, s.cpu_seconds);
  EXPECT_LT(plain.cpu_seconds - s.cpu_seconds, 5);
}

TEST(Process, DeadPidIsAnError) {
  const pid_t child = fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) _exit(0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ProcessSample s;
  s.threads = 77;
  std::string error;
  EXPECT_FALSE(ReadProcess(child, &s, &error));
  EXPECT_NE(error.find("pid " + std::to_string(child)), std::string::npos) << error;
  EXPECT_NE(error.find("no such process"), std::string::npos) << error;
  EXPECT_EQ(s.threads, 77);  // untouched

  error.clear();
  EXPECT_FALSE(ReadProcess(0, &s, &error));
  EXPECT_FALSE(error.empty());
  error.clear();
  EXPECT_FALSE(ReadProcess(-1, &s, &error));
  EXPECT_FALSE(error.empty());
}

TEST(Process, ZombieIsAnError) {
  const pid_t child = fork();
  ASSERT_GE(child, 0) << std::strerror(errno);
  if (child == 0) _exit(0);
  // Wait (without reaping) until it is a zombie.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0)
      << std::strerror(errno);
  ProcessSample s;
  std::string error;
  EXPECT_FALSE(ReadProcess(child, &s, &error));
  EXPECT_NE(error.find("pid " + std::to_string(child)), std::string::npos) << error;
  int status = 0;
  EXPECT_EQ(waitpid(child, &status, 0), child);
}

}  // namespace
}  // namespace herd
