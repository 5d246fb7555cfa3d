// kvd's /admin/faults: authentication, validation, and what each fault does
// to real traffic, including the leak modes seen through /metrics.
#include <signal.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kvd_test_util.h"

namespace herd::test {
namespace {

using nlohmann::json;

constexpr const char* kToken = "s3cret-token";
const std::string kAuth = std::string("Authorization: Bearer ") + kToken;

class KvdAdmin : public ::testing::Test {
 protected:
  void StartKvd(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--admin-token", kToken};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(kvd_.Start(args)) << kvd_.Diagnostics();
  }
  HttpResult Admin(const std::string& method, const std::string& body = "") {
    return Http(method, kvd_.Url("/admin/faults"), body, {kAuth, "Content-Type: application/json"});
  }
  // PUT a patch; fails the test unless it is accepted.
  json SetFaults(const std::string& patch) {
    HttpResult r = Admin("PUT", patch);
    EXPECT_EQ(r.status, 200) << patch << " -> " << r.Describe();
    return json::parse(r.body, nullptr, false);
  }
  KvdProcess kvd_;
};

// 403 for peers that are not loopback cannot be tested here: every test
// talks to kvd over 127.0.0.1, which is loopback by definition.
TEST_F(KvdAdmin, RequiresTheBearerToken) {
  StartKvd();
  HttpResult r = HttpGet(kvd_.Url("/admin/faults"));
  EXPECT_EQ(r.status, 401) << r.Describe();
  EXPECT_EQ(r.Header("WWW-Authenticate"), "Bearer");
  r = HttpGet(kvd_.Url("/admin/faults"), {"Authorization: Bearer wrong"});
  EXPECT_EQ(r.status, 401) << r.Describe();
  r = HttpGet(kvd_.Url("/admin/faults"), {std::string("Authorization: ") + kToken});  // no "Bearer"
  EXPECT_EQ(r.status, 401) << r.Describe();
  r = Http("PUT", kvd_.Url("/admin/faults"), R"({"error_rate":1})", {"Authorization: Bearer wrong"});
  EXPECT_EQ(r.status, 401) << r.Describe();
  // The rejected PUT changed nothing.
  EXPECT_EQ(Http("PUT", kvd_.Url("/v1/k"), "v").status, 201);

  r = HttpGet(kvd_.Url("/admin/faults"), {kAuth});
  EXPECT_EQ(r.status, 200) << r.Describe();
  json faults = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(faults.is_object()) << r.body;
  EXPECT_TRUE(faults.empty()) << r.body;
}

TEST_F(KvdAdmin, RouteIs404WithoutAdminToken) {
  ASSERT_TRUE(kvd_.Start()) << kvd_.Diagnostics();
  EXPECT_EQ(HttpGet(kvd_.Url("/admin/faults"), {kAuth}).status, 404);
  EXPECT_EQ(Http("PUT", kvd_.Url("/admin/faults"), R"({"stall":true})", {kAuth}).status, 404);
  EXPECT_EQ(Http("PUT", kvd_.Url("/v1/k"), "v").status, 201);
}

TEST_F(KvdAdmin, RejectsBadPatches) {
  StartKvd();
  HttpResult r = Admin("PUT", "{not json");
  EXPECT_EQ(r.status, 400) << r.Describe();
  r = Admin("PUT", R"({"bogus_fault": 1})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_NE(r.body.find("bogus_fault"), std::string::npos) << "should name the field: " << r.body;
  r = Admin("PUT", R"({"error_rate": 2})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_NE(r.body.find("error_rate"), std::string::npos) << r.body;
  r = Admin("PUT", R"({"latency": "fast"})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_NE(r.body.find("latency"), std::string::npos) << r.body;
  r = Admin("PUT", R"({"leak": "memory"})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  r = Admin("PUT", R"([1, 2])");
  EXPECT_EQ(r.status, 400) << r.Describe();
  // A patch with one bad field changes nothing, not even its good fields.
  r = Admin("PUT", R"({"error_rate": 1, "nope": true})");
  EXPECT_EQ(r.status, 400) << r.Describe();
  r = Admin("GET");
  EXPECT_EQ(json::parse(r.body, nullptr, false), json::object()) << r.body;
  EXPECT_EQ(HttpGet(kvd_.Url("/v1/k")).status, 404);
  r = Http("POST", kvd_.Url("/admin/faults"), "{}", {kAuth});
  EXPECT_EQ(r.status, 405) << r.Describe();
}

TEST_F(KvdAdmin, PatchesMergeAndNullTurnsOff) {
  StartKvd();
  json f = SetFaults(R"({"latency": "0ms-198ms", "error_rate": 0.25, "error_status": 502})");
  // Echoed in kvd's own duration format ("0s-198ms"): same range.
  const std::string latency = f.value("latency", "");
  EXPECT_TRUE(latency == "0ms-198ms" || latency == "0s-198ms") << f.dump();
  EXPECT_EQ(f.value("error_rate", 0.0), 0.25) << f.dump();
  EXPECT_EQ(f.value("error_status", 0), 502) << f.dump();
  f = SetFaults(R"({"deep_dependency_down": true})");
  EXPECT_TRUE(f.contains("latency")) << "merge lost a field: " << f.dump();
  EXPECT_EQ(f.value("deep_dependency_down", false), true);
  f = SetFaults(R"({"latency": null, "error_rate": null})");
  EXPECT_FALSE(f.contains("latency")) << f.dump();
  EXPECT_FALSE(f.contains("error_rate")) << f.dump();
  EXPECT_TRUE(f.contains("deep_dependency_down")) << f.dump();
  HttpResult r = Admin("DELETE");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body, nullptr, false), json::object()) << r.body;
  EXPECT_EQ(json::parse(Admin("GET").body, nullptr, false), json::object());
}

TEST_F(KvdAdmin, LatencyFaultDelaysDataRequestsOnly) {
  StartKvd();
  ASSERT_EQ(Http("PUT", kvd_.Url("/v1/k"), "v").status, 201);
  SetFaults(R"({"latency": "200ms"})");
  for (int i = 0; i < 3; ++i) {
    HttpResult r = HttpGet(kvd_.Url("/v1/k"));
    EXPECT_EQ(r.status, 200);
    EXPECT_GE(r.seconds, 0.18) << "request " << i;
  }
  KvClient kv(kvd_.grpc_address());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(kv.Get("k").ok());
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.18);

  ASSERT_EQ(Admin("DELETE").status, 200);
  std::vector<double> times;
  for (int i = 0; i < 3; ++i) {
    HttpResult r = HttpGet(kvd_.Url("/v1/k"));
    EXPECT_EQ(r.status, 200);
    times.push_back(r.seconds);
  }
  std::sort(times.begin(), times.end());
  EXPECT_LT(times[1], 0.18) << "latency still there after the fault was cleared";
}

TEST_F(KvdAdmin, ErrorRateOneFailsEveryDataRequest) {
  StartKvd();
  SetFaults(R"({"error_rate": 1, "error_status": 503})");
  HttpClient c;
  for (int i = 0; i < 20; ++i) {
    HttpResult r = c.Put(kvd_.Url("/v1/k" + std::to_string(i)), "v");
    EXPECT_EQ(r.status, 503) << r.Describe();
  }
  KvClient kv(kvd_.grpc_address());
  EXPECT_EQ(kv.Get("k0").code(), grpc::StatusCode::UNAVAILABLE);
  // Health and metrics are not faulted.
  EXPECT_EQ(c.Get(kvd_.Url("/healthz")).status, 200);
  EXPECT_EQ(c.Get(kvd_.Url("/readyz")).status, 200);
  // Nothing was written.
  ASSERT_EQ(Admin("DELETE").status, 200);
  EXPECT_EQ(c.Get(kvd_.Url("/v1/k0")).status, 404);
  SetFaults(R"({"error_rate": 1, "error_status": 500})");
  EXPECT_EQ(c.Get(kvd_.Url("/v1/k0")).status, 500);
  EXPECT_EQ(kv.Get("k0").code(), grpc::StatusCode::INTERNAL);
}

TEST_F(KvdAdmin, ErrorRateHalfFailsAboutHalf) {
  StartKvd();
  SetFaults(R"({"error_rate": 0.5, "error_status": 503})");
  HttpClient c;
  const int n = 400;
  int failed = 0, served = 0;
  for (int i = 0; i < n; ++i) {
    HttpResult r = c.Get(kvd_.Url("/v1/k"));
    if (r.status == 503) ++failed;
    else if (r.status == 404) ++served;
    else ADD_FAILURE() << r.Describe();
  }
  EXPECT_EQ(failed + served, n);
  // Binomial(400, 0.5): sd = 10, so +-40 is four standard deviations.
  EXPECT_GE(failed, n / 2 - 40);
  EXPECT_LE(failed, n / 2 + 40);
}

TEST_F(KvdAdmin, StallHoldsRequestsButNotHealth) {
  StartKvd();
  ASSERT_EQ(Http("PUT", kvd_.Url("/v1/k"), "v").status, 201);
  SetFaults(R"({"stall": true})");
  HttpResult r = HttpGet(kvd_.Url("/v1/k"), {}, Millis(500));
  EXPECT_TRUE(r.timed_out()) << "a stalled request was answered: " << r.Describe();
  EXPECT_EQ(HttpGet(kvd_.Url("/healthz"), {}, Millis(2000)).status, 200);
  EXPECT_EQ(HttpGet(kvd_.Url("/readyz"), {}, Millis(2000)).status, 200);
  EXPECT_GE(kvd_.Metric("kvd_stalled_total"), 1);

  // A request waiting when the stall is lifted is answered.
  std::thread waiter_thread;
  HttpResult waiter;
  waiter_thread = std::thread([&] { waiter = HttpGet(kvd_.Url("/v1/k"), {}, Millis(10000)); });
  ASSERT_TRUE(Eventually([&] { return kvd_.Metric("kvd_stalled_total") >= 2; }, Millis(5000)));
  SetFaults(R"({"stall": null})");
  waiter_thread.join();
  EXPECT_EQ(waiter.status, 200) << waiter.Describe();
  EXPECT_EQ(waiter.body, "v");
  r = HttpGet(kvd_.Url("/v1/k"), {}, Millis(5000));
  EXPECT_EQ(r.status, 200) << r.Describe();
}

TEST_F(KvdAdmin, DeepDependencyDownFailsOnlyTheDeepCheck) {
  StartKvd();
  ASSERT_EQ(Http("PUT", kvd_.Url("/v1/k"), "v").status, 201);
  EXPECT_EQ(HttpGet(kvd_.Url("/healthz/deep")).status, 200);
  SetFaults(R"({"deep_dependency_down": true})");
  HttpResult r = HttpGet(kvd_.Url("/healthz/deep"));
  EXPECT_EQ(r.status, 503) << r.Describe();
  EXPECT_EQ(HttpGet(kvd_.Url("/healthz")).status, 200);
  EXPECT_EQ(HttpGet(kvd_.Url("/healthz/shallow")).status, 200);
  EXPECT_EQ(HttpGet(kvd_.Url("/readyz")).status, 200);
  r = HttpGet(kvd_.Url("/v1/k"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v");
  EXPECT_EQ(Http("PUT", kvd_.Url("/v1/k2"), "v2").status, 201);
  SetFaults(R"({"deep_dependency_down": false})");
  EXPECT_EQ(HttpGet(kvd_.Url("/healthz/deep")).status, 200);
}

TEST_F(KvdAdmin, FaultsFlagAppliesFromTheStart) {
  StartKvd({"--faults", R"({"error_rate":1,"error_status":503})"});
  HttpResult r = HttpGet(kvd_.Url("/v1/k"));
  EXPECT_EQ(r.status, 503) << r.Describe();
  json f = json::parse(Admin("GET").body, nullptr, false);
  EXPECT_EQ(f.value("error_rate", 0.0), 1.0) << f.dump();
  EXPECT_EQ(f.value("error_status", 0), 503) << f.dump();
  ASSERT_EQ(Admin("DELETE").status, 200);
  EXPECT_EQ(HttpGet(kvd_.Url("/v1/k")).status, 404);
}

TEST(KvdFaultsFlag, InvalidFaultsFlagExits2) {
  KvdProcess kvd;
  KvdProcess::Options o;
  o.args = {"--faults", R"({"unknown_thing":1})"};
  EXPECT_FALSE(kvd.StartWith(o));
  auto rc = kvd.WaitExit(Millis(10000));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 2);
  EXPECT_NE(kvd.StderrText().find("unknown_thing"), std::string::npos) << kvd.StderrTail();
}

// ---- leaks -------------------------------------------------------------------

struct Gauges {
  double tasks = 0, timers = 0, connections = 0, leaked = 0, fds = 0;
};

Gauges ReadGauges(const KvdProcess& kvd) {
  std::string text = kvd.MetricsText();
  Gauges g;
  g.tasks = MetricValue(text, "kvd_tasks").value_or(-1);
  g.timers = MetricValue(text, "kvd_timers").value_or(-1);
  g.connections = MetricValue(text, "kvd_open_connections").value_or(-1);
  g.leaked = MetricValue(text, "kvd_leaked_connections").value_or(-1);
  g.fds = MetricValue(text, "kvd_open_fds").value_or(-1);
  return g;
}

constexpr int kLeakRequests = 200;

// Sends kLeakRequests data requests on one keep-alive connection, then
// closes it.
void SendRequests(const KvdProcess& kvd) {
  HttpClient c;
  for (int i = 0; i < kLeakRequests; ++i) {
    HttpResult r = c.Get(kvd.Url("/v1/leaky"));
    ASSERT_EQ(r.status, 404) << r.Describe();
  }
}

TEST_F(KvdAdmin, TaskLeakGrowsTasks) {
  StartKvd();
  Gauges before = ReadGauges(kvd_);
  SetFaults(R"({"leak": "task"})");
  SendRequests(kvd_);
  ASSERT_EQ(Admin("DELETE").status, 200);  // stops new leaks, keeps the old ones
  Gauges after = ReadGauges(kvd_);
  EXPECT_GE(after.tasks - before.tasks, 0.9 * kLeakRequests)
      << "kvd_tasks " << before.tasks << " -> " << after.tasks;
  // Leaked tasks stay leaked.
  std::this_thread::sleep_for(Millis(300));
  EXPECT_GE(ReadGauges(kvd_).tasks - before.tasks, 0.9 * kLeakRequests);
}

TEST_F(KvdAdmin, TimerLeakGrowsTimers) {
  StartKvd();
  Gauges before = ReadGauges(kvd_);
  SetFaults(R"({"leak": "timer"})");
  SendRequests(kvd_);
  ASSERT_EQ(Admin("DELETE").status, 200);
  Gauges after = ReadGauges(kvd_);
  EXPECT_GE(after.timers - before.timers, 0.9 * kLeakRequests)
      << "kvd_timers " << before.timers << " -> " << after.timers;
}

TEST_F(KvdAdmin, ConnectionLeakGrowsConnectionsAndFds) {
  StartKvd();
  Gauges before = ReadGauges(kvd_);
  SetFaults(R"({"leak": "connection"})");
  SendRequests(kvd_);
  ASSERT_EQ(Admin("DELETE").status, 200);
  // The leaked connections are to kvd itself: give the connects a moment.
  Gauges after;
  Eventually([&] {
    after = ReadGauges(kvd_);
    return after.fds - before.fds >= 0.9 * kLeakRequests;
  }, Millis(5000));
  EXPECT_GE(after.leaked - before.leaked, 0.9 * kLeakRequests)
      << "kvd_leaked_connections " << before.leaked << " -> " << after.leaked;
  EXPECT_GE(after.connections - before.connections, 0.9 * kLeakRequests)
      << "kvd_open_connections " << before.connections << " -> " << after.connections;
  EXPECT_GE(after.fds - before.fds, 0.9 * kLeakRequests)
      << "kvd_open_fds " << before.fds << " -> " << after.fds;
}

TEST_F(KvdAdmin, NoLeakReturnsToBaseline) {
  StartKvd();
  Gauges before = ReadGauges(kvd_);
  SendRequests(kvd_);
  // A fault that is not a leak must not leak either.
  SetFaults(R"({"latency": "1ms"})");
  SendRequests(kvd_);
  ASSERT_EQ(Admin("DELETE").status, 200);
  Gauges after;
  bool settled = Eventually([&] {
    after = ReadGauges(kvd_);
    return after.tasks <= before.tasks + 2 && after.timers <= before.timers + 2 &&
           after.connections <= before.connections + 2 && after.fds <= before.fds + 4;
  }, Millis(5000));
  EXPECT_TRUE(settled) << "tasks " << before.tasks << " -> " << after.tasks << ", timers "
                       << before.timers << " -> " << after.timers << ", connections "
                       << before.connections << " -> " << after.connections << ", fds "
                       << before.fds << " -> " << after.fds;
  EXPECT_EQ(after.leaked, 0);
}

// Leaked resources live until exit, and exit is still clean.
TEST_F(KvdAdmin, DrainsCleanlyWithLeaks) {
  StartKvd();
  for (const char* mode : {"task", "timer", "connection"}) {
    SetFaults(std::string(R"({"leak": ")") + mode + "\"}");
    HttpClient c;
    for (int i = 0; i < 20; ++i) ASSERT_EQ(c.Get(kvd_.Url("/v1/k")).status, 404) << mode;
  }
  ASSERT_TRUE(kvd_.Signal(SIGTERM));
  auto rc = kvd_.WaitExit(Millis(15000));
  ASSERT_TRUE(rc.has_value()) << "kvd did not exit";
  EXPECT_EQ(*rc, 0) << kvd_.StderrTail();
}

}  // namespace
}  // namespace herd::test
