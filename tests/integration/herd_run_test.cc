// herd run as a user runs it: the herd binary, scenario files, real kvd
// processes on loopback, and the run directory it leaves behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/herd_run.h"
#include "support/http.h"
#include "support/process.h"

namespace herd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct HerdRun {
  int exit_code = -1;
  std::string stderr_text;
  fs::path out;
  json summary;
  std::string csv;
};

// Writes `scenario` to a file in `dir`, runs `herd run` on it and reads the
// run directory back.
HerdRun RunHerd(const TempDir& dir, const json& scenario, std::vector<std::string> extra = {},
                std::chrono::seconds timeout = 60s, std::function<void(Process&)> during = nullptr) {
  HerdRun r;
  const fs::path file = dir.path() / "scenario.json";
  std::ofstream(file) << scenario.dump(2);
  r.out = dir.path() / "run";
  ProcessOptions o;
  o.argv = {HerdBinary(), "run", file.string(), "--out", r.out.string(), "--quiet"};
  for (auto& e : extra) o.argv.push_back(e);
  o.stderr_path = dir.path() / "herd.stderr";
  Process p;
  std::string error;
  EXPECT_TRUE(p.Start(o, &error)) << error;
  if (during) during(p);
  auto code = p.WaitExit(std::chrono::duration_cast<Millis>(timeout));
  if (!code) code = p.Kill();
  r.exit_code = code.value_or(-1);
  r.stderr_text = p.StderrText();
  if (fs::exists(r.out / "summary.json")) r.summary = json::parse(ReadFileText(r.out / "summary.json"), nullptr, false);
  if (fs::exists(r.out / "timeseries.csv")) r.csv = ReadFileText(r.out / "timeseries.csv");
  return r;
}

json UrlScenario(const std::string& address, const std::string& duration = "3s") {
  return {{"name", "it"},
          {"duration", duration},
          {"seed", 3},
          {"target", {{"url", "http://" + address}}},
          {"fleets",
           {{{"name", "clients"},
             {"instances", 20},
             {"arrival", {{"model", "closed"}, {"think", "5ms"}}},
             {"workload", {{"mix", {{"get", 0.7}, {"put", 0.3}}}, {"keys", {{"count", 100}}}}},
             {"timeout", "2s"},
             {"retry", {{"strategy", "none"}}}}}}};
}

uint64_t Total(const json& summary, const std::string& field) {
  return summary.at("totals").at(field).get<uint64_t>();
}
uint64_t OutcomeTotal(const json& summary, const std::string& outcome) {
  return summary.at("totals").at("outcomes").at(outcome).get<uint64_t>();
}

double KvdDataRequests(KvdProcess& kvd) {
  return MetricSum(kvd.MetricsText(), "kvd_requests_total", {{"route", "/v1/{key}"}});
}

TEST(HerdRun, AttemptsEqualWhatKvdCounted) {
  ASSERT_FALSE(HerdBinary().empty());
  KvdProcess kvd;
  ASSERT_TRUE(kvd.Start()) << kvd.Diagnostics();
  TempDir dir;
  HerdRun r = RunHerd(dir, UrlScenario(kvd.http_address()));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  ASSERT_TRUE(r.summary.is_object());
  const uint64_t attempts = Total(r.summary, "attempts");
  EXPECT_GT(attempts, 500u);
  // herd waits for its attempts in flight before it writes the summary, so
  // the two agree exactly.
  EXPECT_EQ(static_cast<double>(attempts), KvdDataRequests(kvd));
  EXPECT_EQ(OutcomeTotal(r.summary, "ok") + OutcomeTotal(r.summary, "not_found"), attempts);
  EXPECT_EQ(r.summary["verdict"], "pass");
  // The CSV's columns are DESIGN.md's, and its rows add up to the summary.
  ASSERT_EQ(r.csv.substr(0, r.csv.find('\n')),
            "t_s,fleet,offered,attempts,retries,ok,not_found,throttled,shed,server_error,"
            "client_error,timeout,refused,reset,other_error,succeeded,abandoned,budget_denied,"
            "breaker_rejected,client_throttled,in_flight,lat_p50_ms,lat_p90_ms,lat_p99_ms,"
            "lat_max_ms,e2e_p99_ms");
  std::istringstream rows(r.csv);
  std::string line;
  std::getline(rows, line);
  uint64_t csv_attempts = 0;
  while (std::getline(rows, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    ASSERT_EQ(cells.size(), 26u) << line;
    csv_attempts += std::stoull(cells[3]);
  }
  EXPECT_EQ(csv_attempts, attempts);
  EXPECT_TRUE(fs::exists(r.out / "histograms" / "clients.txt"));
}

TEST(HerdRun, ClassifiesKvdThrottlingAndShedding) {
  KvdProcess kvd;
  // Each instance is its own client (X-Client-Id): 5 tokens then 5/s each.
  ASSERT_TRUE(kvd.Start({"--throttle-rate", "5", "--throttle-burst", "5"})) << kvd.Diagnostics();
  TempDir dir;
  HerdRun r = RunHerd(dir, UrlScenario(kvd.http_address(), "2s"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string metrics = kvd.MetricsText();
  EXPECT_GT(OutcomeTotal(r.summary, "throttled"), 100u);
  EXPECT_EQ(static_cast<double>(OutcomeTotal(r.summary, "throttled")),
            MetricValue(metrics, "kvd_throttled_total", {}).value_or(-1));
  EXPECT_EQ(static_cast<double>(Total(r.summary, "attempts")), KvdDataRequests(kvd));

  KvdProcess shedding;
  ASSERT_TRUE(shedding.Start({"--max-inflight", "3", "--service-time", "20ms"})) << shedding.Diagnostics();
  TempDir dir2;
  HerdRun s = RunHerd(dir2, UrlScenario(shedding.http_address(), "2s"));
  ASSERT_EQ(s.exit_code, 0) << s.stderr_text;
  EXPECT_GT(OutcomeTotal(s.summary, "shed"), 50u);
  EXPECT_EQ(static_cast<double>(OutcomeTotal(s.summary, "shed")),
            MetricValue(shedding.MetricsText(), "kvd_shed_total", {}).value_or(-1));
}

TEST(HerdRun, RetriesAndAmplificationAgainstAFailingKvd) {
  KvdProcess kvd;
  ASSERT_TRUE(kvd.Start({"--faults", R"({"error_rate":1,"error_status":500})"})) << kvd.Diagnostics();
  TempDir dir;
  json s = UrlScenario(kvd.http_address(), "2s");
  s["fleets"][0]["instances"] = 5;
  s["fleets"][0]["retry"] = {{"strategy", "immediate"}, {"max_attempts", 4}};
  HerdRun r = RunHerd(dir, s);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const auto& fleet = r.summary["fleets"][0];
  // Every request fails 4 times and is abandoned: amplification is 4.
  EXPECT_NEAR(fleet["amplification"].get<double>(), 4.0, 0.05);
  EXPECT_EQ(OutcomeTotal(r.summary, "server_error"), Total(r.summary, "attempts"));
  EXPECT_EQ(static_cast<double>(Total(r.summary, "attempts")), KvdDataRequests(kvd));
}

TEST(HerdRun, LaunchesKvdAndStopsIt) {
  TempDir dir;
  json s = UrlScenario("unused:1", "2s");
  s["target"] = LaunchKvd();
  HerdRun r = RunHerd(dir, s);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_GT(Total(r.summary, "succeeded"), 100u);
  const json& replica = r.summary["target"]["replicas"][0];
  EXPECT_EQ(replica["exit_status"], 0) << "kvd should drain and exit 0 on SIGTERM";
  EXPECT_NE(ReadFileText(r.out / "target-0.stderr").find("drained"), std::string::npos);
}

TEST(HerdRun, TargetDyingMidRunIsRecordedAndTheRunCompletes) {
  TempDir dir;
  json s = UrlScenario("unused:1", "4s");
  s["target"] = LaunchKvd();
  s["fleets"][0]["retry"] = {{"strategy", "fixed"}, {"delay", "50ms"}, {"max_attempts", 3}};
  HerdRun r = RunHerd(dir, s, {}, 60s, [&](Process&) {
    // Kill kvd 1.5 s in: its pid is in the ready line herd kept.
    const fs::path ready = dir.path() / "run" / "target-0.stdout";
    for (int i = 0; i < 200 && ReadFileText(ready).empty(); ++i) std::this_thread::sleep_for(20ms);
    std::this_thread::sleep_for(1500ms);
    json line = json::parse(ReadFileText(ready), nullptr, false);
    ASSERT_TRUE(line.is_object());
    ::kill(line["pid"].get<pid_t>(), SIGKILL);
  });
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_GT(OutcomeTotal(r.summary, "refused") + OutcomeTotal(r.summary, "reset"), 10u);
  EXPECT_GT(OutcomeTotal(r.summary, "ok") + OutcomeTotal(r.summary, "not_found"), 10u);
  EXPECT_EQ(r.summary["target"]["replicas"][0]["exit_status"], 128 + SIGKILL);
}

TEST(HerdRun, SigintStopsAndStillWritesEveryFile) {
  KvdProcess kvd;
  ASSERT_TRUE(kvd.Start()) << kvd.Diagnostics();
  TempDir dir;
  auto started = std::chrono::steady_clock::now();
  HerdRun r = RunHerd(dir, UrlScenario(kvd.http_address(), "60s"), {}, 30s, [](Process& p) {
    std::this_thread::sleep_for(1500ms);
    p.Signal(SIGINT);
  });
  EXPECT_EQ(r.exit_code, 130) << r.stderr_text;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  ASSERT_TRUE(r.summary.is_object());
  EXPECT_EQ(r.summary["interrupted"], true);
  EXPECT_EQ(r.summary["verdict"], "interrupted");
  EXPECT_GT(Total(r.summary, "attempts"), 0u);
  EXPECT_FALSE(r.csv.empty());
}

TEST(HerdCli, BadInputExitsTwoNamingTheField) {
  TempDir dir;
  json s = UrlScenario("127.0.0.1:1");
  s["fleets"][0]["retyr"] = {{"strategy", "none"}};
  s["fleets"][0]["arrival"]["think"] = 5;
  HerdRun r = RunHerd(dir, s);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("fleets[0].retyr: unknown field (did you mean \"retry\"?)"), std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("fleets[0].arrival.think: expected a duration"), std::string::npos)
      << r.stderr_text;
  EXPECT_FALSE(fs::exists(r.out)) << "nothing may run on invalid input";

  json open = UrlScenario("127.0.0.1:1");
  open["fleets"][0]["arrival"] = {{"model", "open"}, {"rate", -5}};
  r = RunHerd(dir, open);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("fleets[0].arrival.rate"), std::string::npos) << r.stderr_text;

  ProcessOptions o;
  o.argv = {HerdBinary(), "run", (dir.path() / "no-such-file.json").string()};
  o.stderr_path = dir.path() / "missing.stderr";
  Process p;
  std::string error;
  ASSERT_TRUE(p.Start(o, &error)) << error;
  EXPECT_EQ(p.WaitExit(Millis(10000)), 2);
  EXPECT_NE(p.StderrText().find("no-such-file.json"), std::string::npos) << p.StderrText();
}

TEST(HerdCli, RemoteTargetsAreRefusedUnlessAllowed) {
  TempDir dir;
  HerdRun r = RunHerd(dir, UrlScenario("10.1.2.3:80"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("allow_remote"), std::string::npos) << r.stderr_text;
}

TEST(HerdCli, TargetThatNeverBecomesReadyExitsOneWithItsStderr) {
  TempDir dir;
  json s = UrlScenario("unused:1", "2s");
  s["target"] = {{"launch",
                  {{"command", {KvdBinary(), "--http", "127.0.0.1:0", "--no-such-flag"}},
                   {"ready_timeout", "5s"}}}};
  HerdRun r = RunHerd(dir, s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("no-such-flag"), std::string::npos) << r.stderr_text;
  ASSERT_TRUE(r.summary.is_object());
  EXPECT_EQ(r.summary["verdict"], "error");
}

TEST(HerdCli, ModelTargetRunsOnVirtualTime) {
  // The book's fig. 9-3 as a what-if: four minutes of 1,000 instances in
  // well under a second of wall time.
  TempDir dir;
  json s = {{"name", "fig9-3-model"},
            {"duration", "240s"},
            {"seed", 7},
            {"target", {{"model", {{"latency", "0ms-100ms"}, {"latency_terms", 2}, {"error_rate", 1}}}}},
            {"fleets",
             {{{"name", "clients"},
               {"instances", 1000},
               {"start_spread", "1s"},
               {"arrival", {{"model", "closed"}, {"requests_per_instance", 1}}},
               {"timeout", "10s"},
               {"retry", {{"strategy", "fixed"}, {"delay", "2s"}}}}}}};
  auto start = std::chrono::steady_clock::now();
  HerdRun r = RunHerd(dir, s);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_EQ(r.summary["virtual_time"], true);
  const double rate = r.summary["fleets"][0]["rates_per_s"]["attempts"].get<double>();
  EXPECT_NEAR(rate, 1000 / 2.1, 20);
}

}  // namespace
}  // namespace herd::test

namespace herd::test {
namespace {

TEST(HerdRun, RequestTemplatesReachAnyHttpService) {
  // For services other than kvd, the scenario spells out its requests; kvd
  // stands in here because it shows what arrived.
  KvdProcess kvd;
  ASSERT_TRUE(kvd.Start()) << kvd.Diagnostics();
  TempDir dir;
  json s = UrlScenario(kvd.http_address(), "1s");
  s["fleets"][0]["instances"] = 2;
  s["fleets"][0]["arrival"] = {{"model", "closed"}, {"requests_per_instance", 3}};
  s["fleets"][0]["workload"] = {
      {"value_bytes", 4},
      {"requests", {{{"method", "PUT"}, {"path", "/v1/t-{instance}-{seq}"}, {"body", "{value_b64}:{key}"}}}}};
  HerdRun r = RunHerd(dir, s);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(Total(r.summary, "succeeded"), 6u);
  for (int instance = 0; instance < 2; ++instance) {
    for (int seq = 1; seq <= 3; ++seq) {
      HttpResult got = HttpGet(kvd.Url("/v1/t-" + std::to_string(instance) + "-" + std::to_string(seq)));
      EXPECT_EQ(got.status, 200) << instance << "/" << seq;
      // value_bytes 4 of herd's fixed printable value, base64'd, then ':' and a key.
      EXPECT_EQ(got.body.size(), 8u + 1u + got.body.substr(9).size());
      EXPECT_EQ(got.body[8], ':') << got.body;
      EXPECT_EQ(got.body.substr(9, 1), "k") << got.body;
    }
  }
}

}  // namespace
}  // namespace herd::test

namespace herd::test {
namespace {

TEST(HerdRun, GrpcGivesTheSameAccountingAsHttp) {
  KvdProcess kvd;
  ASSERT_TRUE(kvd.Start({"--throttle-rate", "20", "--throttle-burst", "20"})) << kvd.Diagnostics();
  TempDir dir;
  json s = UrlScenario(kvd.grpc_address(), "2s");
  s["target"] = {{"url", kvd.grpc_address()}, {"protocol", "grpc"}};
  HerdRun r = RunHerd(dir, s);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string metrics = kvd.MetricsText();
  const double grpc_requests = MetricSum(metrics, "kvd_requests_total", {{"protocol", "grpc"}});
  EXPECT_GT(Total(r.summary, "attempts"), 200u);
  EXPECT_EQ(static_cast<double>(Total(r.summary, "attempts")), grpc_requests);
  // RESOURCE_EXHAUSTED is throttled, as 429 is over HTTP.
  EXPECT_GT(OutcomeTotal(r.summary, "throttled"), 0u);
  EXPECT_EQ(static_cast<double>(OutcomeTotal(r.summary, "throttled")),
            MetricValue(metrics, "kvd_throttled_total", {}).value_or(-1));
  EXPECT_EQ(OutcomeTotal(r.summary, "ok") + OutcomeTotal(r.summary, "not_found") +
                OutcomeTotal(r.summary, "throttled"),
            Total(r.summary, "attempts"));
}

}  // namespace
}  // namespace herd::test
