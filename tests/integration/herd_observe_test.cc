// herd's observers end to end, as a user runs them: a scenario file with
// `probes`, `monitors` or `durability`, `herd run` launching real kvd
// processes, and the run directory it leaves behind. Each test asserts
// through herd's own recording (probes.csv, monitors.csv, timeseries.csv,
// faults.csv, summary.json's "analyses" and "restarts"), reading fault
// windows from faults.csv rather than from the scenario, so the checks
// follow what herd says really happened.
//
// The machine is shared and noisy (2 cores): runs are short (4-5 s,
// 250-500 ms buckets), thresholds are generous, nothing asserts speed. With
// HERD_KEEP_TEST_DIRS set, a test's directory (scenario, run directory,
// herd's stderr) is kept; when a test fails, it is kept and its path printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/herd_run.h"
#include "support/process.h"

namespace herd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---- the scenario --------------------------------------------------------

// This file's KvdScenario options: one replica named explicitly
// (target.launch.replicas), 300 ms timeouts per attempt.
KvdScenarioOptions ObserveDefaults() {
  KvdScenarioOptions o;
  o.timeout = "300ms";
  o.replicas = 1;
  return o;
}

// An HTTP probe checking every 250 ms with a 200 ms timeout, unhealthy
// after 2 failures in a row; `more` overrides any field.
json Probe(const std::string& name, const std::string& path, const std::string& action,
           const json& more = json::object()) {
  json p = {{"name", name},       {"path", path},           {"period", "250ms"},
            {"timeout", "200ms"}, {"failure_threshold", 2}, {"action", action}};
  for (const auto& [key, value] : more.items()) p[key] = value;
  return p;
}

json Window(const std::string& kind, const std::string& at, const std::string& for_, int replica = -1) {
  json f = {{"kind", kind}, {"at", at}, {"for", for_}};
  if (replica >= 0) f["replica"] = replica;
  return f;
}

class HerdObserve : public HerdFixture {
 protected:
  HerdObserve() : HerdFixture("herd-observe") {}

  // Writes `scenario` as TAG.json, runs `herd run FILE --out DIR/TAG -q`,
  // and reads the run directory back.
  HerdRun Run(const json& scenario, const std::string& tag = "run", std::chrono::seconds timeout = 60s) {
    return RunHerd(scenario, {.scenario_file = dir_.path() / (tag + ".json"),
                              .out = dir_.path() / tag,
                              .stderr_path = dir_.path() / (tag + ".stderr"),
                              .timeout = timeout,
                              .during = nullptr});
  }
};

// The first check of `rows` at or after `from` whose state is unhealthy
// (healthy: false) or healthy (true); null when there is none.
const ProbeRow* FirstState(const std::vector<ProbeRow>& rows, double from, bool healthy) {
  for (const auto& p : rows) {
    if (p.t_s >= from - 1e-9 && p.healthy == healthy) return &p;
  }
  return nullptr;
}

// ---- probes --------------------------------------------------------------

// A paused replica answers nothing: its probe's checks time out, it turns
// unhealthy inside the window and healthy after it; the other replica's
// probe sees nothing wrong, and the pause (a fault on replica 0) is not one
// of its windows.
TEST_F(HerdObserve, ProbeDetectsAPauseAndRecoversAfterIt) {
  KvdScenarioOptions o = ObserveDefaults();
  o.replicas = 2;
  HerdRun r = Run(KvdScenario("observe-probe-pause",
                              {{"faults", json::array({Window("pause", "1.5s", "1.5s", 0)})},
                               {"probes", json::array({Probe("live", "/healthz", "none")})}},
                              o));
  ASSERT_RAN(r);
  ASSERT_FAULT(r, f, "pause");
  ASSERT_EQ(f->replica, 0) << r.Table();

  // Replica 0: unhealthy inside the window, on timed-out checks.
  const std::vector<ProbeRow> zero = r.ProbeRows("live", 0);
  ASSERT_GE(zero.size(), 8u) << r.Table();
  const ProbeRow* down = FirstState(zero, 0, false);
  ASSERT_NE(down, nullptr) << "the probe never turned unhealthy" << r.Table();
  EXPECT_GE(down->t_s, f->start_s - 0.25) << "unhealthy before the pause (a check may start just before it)"
                                          << r.Table();
  EXPECT_LE(down->t_s, f->end_s) << "unhealthy only after the pause" << r.Table();
  EXPECT_EQ(down->status, "timeout") << r.Table();
  for (const auto& p : zero) {
    if (!p.healthy) {
      EXPECT_EQ(p.status, "timeout") << "check at " << p.t_s << r.Table();
      // A check just after the SIGCONT may still time out on a busy
      // machine (kvd works off its backlog first): two periods' margin.
      EXPECT_LE(p.t_s, f->end_s + 0.5) << "unhealthy long after the pause ended" << r.Table();
    }
  }
  const ProbeRow* up = FirstState(zero, down->t_s, true);
  ASSERT_NE(up, nullptr) << "the probe never turned healthy again" << r.Table();
  EXPECT_GE(up->end_s(), f->end_s - 0.01) << r.Table();
  EXPECT_EQ(up->status, "200") << r.Table();
  EXPECT_TRUE(zero.back().healthy) << r.Table();

  // The analysis, per replica.
  const json a0 = r.ProbeAnalysis("live", 0);
  ASSERT_TRUE(a0.is_object()) << r.Table();
  ASSERT_EQ(a0["windows"].size(), 1u) << a0.dump(2);
  const json& w = a0["windows"][0];
  ASSERT_TRUE(w["detection_delay_s"].is_number()) << a0.dump(2);
  EXPECT_GE(w["detection_delay_s"].get<double>(), 0) << a0.dump(2);
  EXPECT_LE(w["detection_delay_s"].get<double>(), 1.5) << a0.dump(2);
  EXPECT_TRUE(w["recovery_delay_s"].is_number()) << a0.dump(2);
  EXPECT_EQ(a0["false_alarms"], 0) << a0.dump(2);
  EXPECT_EQ(a0["flaps"], 2) << "unhealthy once, healthy once" << a0.dump(2);
  EXPECT_EQ(a0["checks"], zero.size()) << a0.dump(2);

  // Replica 1 answered every check.
  const std::vector<ProbeRow> one = r.ProbeRows("live", 1);
  ASSERT_GE(one.size(), 8u) << r.Table();
  for (const auto& p : one) {
    EXPECT_EQ(p.status, "200") << "check at " << p.t_s << r.Table();
    EXPECT_TRUE(p.healthy) << "check at " << p.t_s << r.Table();
  }
  const json a1 = r.ProbeAnalysis("live", 1);
  ASSERT_TRUE(a1.is_object()) << r.Table();
  EXPECT_TRUE(a1["windows"].empty()) << "the pause hit replica 0 only" << a1.dump(2);
  EXPECT_EQ(a1["flaps"], 0) << a1.dump(2);
  EXPECT_EQ(a1["false_alarms"], 0) << a1.dump(2);
}

// An unready probe takes a paused replica out of rotation: once it has
// turned unhealthy (and attempts already sent there have timed out), the
// fleet's attempts all go to the other replica. Without the probe, half
// of them keep timing out against the paused one.
TEST_F(HerdObserve, UnreadyProbeTakesAPausedReplicaOutOfRotation) {
  KvdScenarioOptions o = ObserveDefaults();
  o.replicas = 2;
  const json pause = json::array({Window("pause", "1.5s", "2s", 0)});
  HerdRun r = Run(KvdScenario("observe-unready",
                              {{"faults", pause}, {"probes", json::array({Probe("ready", "/healthz", "unready")})}}, o),
                  "with-probe");
  ASSERT_RAN(r);
  ASSERT_FAULT(r, f, "pause");
  const ProbeRow* down = FirstState(r.ProbeRows("ready", 0), f->start_s - 0.25, false);
  ASSERT_NE(down, nullptr) << "the probe never turned unhealthy" << r.Table();
  // The check that turned it unhealthy started at down->t_s and took up to
  // the probe's timeout; attempts sent to replica 0 before that time out
  // within the fleet's timeout. A bucket's margin for a busy machine.
  const double from = down->t_s + 0.2 + 0.3 + 0.1;
  ASSERT_LE(from + 2 * r.width, f->end_s) << "detected too late to judge" << r.Table();
  auto after_detection = [&](const Bucket& b) { return r.Inside(b, from, f->end_s); };
  const int judged = r.Count(after_detection);
  const double timeouts = r.Sum("timeout", after_detection);
  const double successes = r.Sum("ok", after_detection) + r.Sum("not_found", after_detection);
  double completions = 0;
  for (const auto& b : r.buckets) {
    if (after_detection(b)) completions += b.Completions();
  }
  EXPECT_EQ(timeouts, 0) << "attempts still went to the unready replica" << r.Table();
  EXPECT_GT(successes, 20) << r.Table();
  EXPECT_GE(successes, 0.8 * completions) << r.Table();

  // The same run without the probe.
  HerdRun n = Run(KvdScenario("observe-no-probe", {{"faults", pause}}, o), "without-probe");
  ASSERT_RAN(n);
  ASSERT_FAULT(n, g, "pause");
  // The same stretch of the window: from the same offset after its start.
  const double n_from = g->start_s + (from - f->start_s);
  auto same_stretch = [&](const Bucket& b) { return n.Inside(b, n_from, g->end_s); };
  const int n_judged = n.Count(same_stretch);
  ASSERT_GT(n_judged, 0) << n.Table();
  const double n_timeouts = n.Sum("timeout", same_stretch);
  const double n_successes = n.Sum("ok", same_stretch) + n.Sum("not_found", same_stretch);
  std::cout << fmt::format(
      "pause of replica 0 of 2: {} timeouts and {} successes in {} buckets with an unready probe, {} and {} in {} "
      "without\n",
      timeouts, successes, judged, n_timeouts, n_successes, n_judged);
  EXPECT_GT(n_timeouts, timeouts) << "without the probe:" << n.Table();
  // Per bucket, as the stretches may differ by a bucket.
  EXPECT_LT(n_successes / n_judged, 0.5 * successes / judged) << "without the probe:" << n.Table() << r.Table();
}

// With its only replica unready, the fleet sends to it anyway (all replicas
// again when none is ready): attempts time out instead of vanishing, and
// traffic is back once the pause ends.
TEST_F(HerdObserve, UnreadyProbeFailsOpenWhenNoReplicaIsReady) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  HerdRun r = Run(KvdScenario("observe-fail-open",
                              {{"faults", json::array({Window("pause", "1s", "1.5s")})},
                               {"probes", json::array({Probe("ready", "/healthz", "unready")})}},
                              o));
  ASSERT_RAN(r);
  ASSERT_FAULT(r, f, "pause");
  const std::vector<ProbeRow> rows = r.ProbeRows("ready", 0);
  const ProbeRow* down = FirstState(rows, f->start_s - 0.25, false);
  ASSERT_NE(down, nullptr) << "the probe never turned unhealthy" << r.Table();
  const ProbeRow* up = FirstState(rows, down->t_s, true);
  const double unready_from = down->end_s();
  const double unready_to = up ? up->end_s() : r.buckets.back().t + r.width;
  ASSERT_GT(unready_to, unready_from) << r.Table();
  auto unready = [&](const Bucket& b) { return r.Overlaps(b, unready_from, unready_to); };
  EXPECT_GT(r.Sum("attempts", unready), 0) << "no attempt sent while the only replica was unready" << r.Table();
  EXPECT_GT(r.Sum("timeout", unready), 0) << r.Table();
  // After the pause (and the fleet's timeout), traffic is back. (A
  // generous floor: 10 instances for about a second on a busy machine.)
  EXPECT_GT(r.Sum("ok", [&](const Bucket& b) { return r.StartsFrom(b, f->end_s + 0.3 + r.width); }), 20)
      << r.Table();
}

// A restart probe on a check that always fails (kvd's deep dependency is
// down) restarts kvd over and over, as a kubelet would: a restart loop.
// A liveness probe on /healthz, which kvd keeps answering, sees at most a
// short refusal during each restart, below its threshold of 3.
TEST_F(HerdObserve, RestartProbeOnADeepCheckRestartsInALoop) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  o.kvd_args = {"--faults", R"({"deep_dependency_down":true})"};
  HerdRun r =
      Run(KvdScenario("observe-restart-loop",
                      {{"probes", json::array({Probe("deep", "/healthz/deep", "restart"),
                                               Probe("live", "/healthz", "none", {{"failure_threshold", 3}})})}},
                      o));
  ASSERT_RAN(r);
  const json& restarts = r.summary["restarts"];
  ASSERT_TRUE(restarts.is_array()) << r.Table();
  ASSERT_GE(restarts.size(), 2u) << r.Table();
  double last = -1;
  for (const auto& x : restarts) {
    EXPECT_EQ(x["ok"], true) << x.dump();
    EXPECT_EQ(x["error"], "") << x.dump();
    EXPECT_EQ(x["probe"], "deep") << x.dump();
    EXPECT_EQ(x["replica"], 0) << x.dump();
    EXPECT_GE(x["t_s"].get<double>(), last) << "restarts are in time order" << restarts.dump(2);
    EXPECT_GE(x["ready_s"].get<double>(), x["t_s"].get<double>()) << x.dump();
    last = x["t_s"].get<double>();
  }
  // The deep checks fail with kvd's 503.
  for (const auto& p : r.ProbeRows("deep", 0)) {
    EXPECT_NE(p.status, "200") << "check at " << p.t_s << r.Table();
  }
  // Each incarnation logged its "listening" line to the same stderr file.
  const std::string log = ReadFileText(r.out / "target-0.stderr");
  const std::vector<long> pids = ListeningPids(log);
  const std::set<long> distinct(pids.begin(), pids.end());
  std::cout << fmt::format("deep-check restart loop: {} restarts in {:.1f} s, {} kvd pids\n", restarts.size(),
                           r.summary["elapsed_s"].get<double>(), distinct.size());
  EXPECT_GE(distinct.size(), 3u) << log;
  EXPECT_EQ(distinct.size(), pids.size()) << "a pid per incarnation" << log;
  // The liveness probe never turned unhealthy.
  const json live = r.ProbeAnalysis("live", 0);
  ASSERT_TRUE(live.is_object()) << r.Table();
  EXPECT_EQ(live["flaps"], 0) << live.dump(2) << r.Table();
  EXPECT_GT(live["checks"].get<int>(), 8) << live.dump(2);
}

// ---- monitors ------------------------------------------------------------

TEST_F(HerdObserve, MonitorsSampleEveryReplicaEachBucketAndWhileIdle) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  o.bucket = "500ms";
  o.replicas = 2;
  const json monitors = json::array(
      {{{"kind", "process"}, {"idle", "1s"}},
       {{"kind", "prometheus"}, {"series", json::array({"kvd_tasks", "kvd_open_connections"})}, {"idle", "1s"}}});
  HerdRun r = Run(KvdScenario("observe-monitors", {{"monitors", monitors}}, o));
  ASSERT_RAN(r);
  const double elapsed = r.summary["elapsed_s"].get<double>();
  const int load_buckets = static_cast<int>(std::floor(elapsed / r.width + 1e-9));
  ASSERT_GE(load_buckets, 6) << r.MonitorTable();
  struct Want {
    std::string monitor, series;
  };
  const std::vector<Want> wants = {{"process", "threads"},     {"process", "fds"},
                                   {"process", "rss_bytes"},   {"process", "cpu_seconds"},
                                   {"prometheus", "kvd_tasks"}, {"prometheus", "kvd_open_connections"}};
  for (int replica = 0; replica < 2; ++replica) {
    for (const auto& want : wants) {
      SCOPED_TRACE(fmt::format("{} {} on replica {}", want.monitor, want.series, replica));
      const std::vector<MonitorRow> rows = r.MonitorRows(want.monitor, replica, want.series);
      // A sample in nearly every bucket while the load ran.
      std::set<int> sampled;
      for (const auto& m : rows) {
        if (m.t_s < elapsed) sampled.insert(static_cast<int>(std::floor(m.t_s / r.width)));
        EXPECT_TRUE(std::isfinite(m.value)) << m.t_s;
        EXPECT_GE(m.value, 0) << m.t_s;
      }
      EXPECT_GE(static_cast<int>(sampled.size()), load_buckets - std::max(1, load_buckets / 5))
          << "buckets with a sample, of " << load_buckets << r.MonitorTable();
      // And while idle, after the load stopped.
      EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [&](const MonitorRow& m) { return m.t_s > elapsed; }))
          << "no sample after the load stopped at " << elapsed << r.MonitorTable();
      if (want.series == "cpu_seconds") {
        for (size_t i = 1; i < rows.size(); ++i) {
          EXPECT_GE(rows[i].value, rows[i - 1].value) << "cpu_seconds decreased at " << rows[i].t_s;
        }
      }
      if (want.series == "threads") {
        for (const auto& m : rows) EXPECT_GE(m.value, 1) << m.t_s;
      }
      const json a = r.MonitorAnalysis(want.monitor, replica, want.series);
      ASSERT_TRUE(a.is_object()) << r.MonitorTable();
      EXPECT_EQ(a["samples"], rows.size()) << a.dump();
      EXPECT_EQ(a["leak"], false) << a.dump();
      EXPECT_FALSE(a["idle_after"].is_null()) << a.dump();
    }
  }
  EXPECT_EQ(r.Analyses()["monitors"].size(), 12u) << r.MonitorTable();
}

// kvd's task leak (a task per data request that never ends): kvd_tasks
// climbs with the load, the trend test calls it a leak, and it stays up
// once the load stops. The control run, without the leak, is flat.
TEST_F(HerdObserve, MonitorAnalysisFindsATaskLeakAndNotItsControl) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  const json monitors = json::array({{{"kind", "prometheus"}, {"series", json::array({"kvd_tasks"})}, {"idle", "1s"}}});
  KvdScenarioOptions leaky = o;
  leaky.kvd_args = {"--faults", R"({"leak":"task"})"};
  HerdRun r = Run(KvdScenario("observe-leak", {{"monitors", monitors}}, leaky), "leak");
  ASSERT_RAN(r);
  const json a = r.MonitorAnalysis("prometheus", 0, "kvd_tasks");
  ASSERT_TRUE(a.is_object()) << r.MonitorTable();
  EXPECT_EQ(a["leak"], true) << a.dump(2) << r.MonitorTable();
  EXPECT_GT(a["slope_per_min"].get<double>(), 0) << a.dump(2);
  EXPECT_GT(a["rise"].get<double>(), 50) << "one leaked task per data request" << a.dump(2);
  EXPECT_LT(a["mann_kendall"]["p"].get<double>(), 0.01) << a.dump(2);
  EXPECT_GT(a["mann_kendall"]["tau"].get<double>(), 0) << a.dump(2);
  EXPECT_EQ(a["returned_to_baseline"], false) << "leaked tasks live until kvd exits" << a.dump(2);

  HerdRun c = Run(KvdScenario("observe-leak-control", {{"monitors", monitors}}, o), "control");
  ASSERT_RAN(c);
  const json k = c.MonitorAnalysis("prometheus", 0, "kvd_tasks");
  ASSERT_TRUE(k.is_object()) << c.MonitorTable();
  std::cout << fmt::format("kvd_tasks with a task leak: {} -> {}, slope {:.0f}/min, p {:.2g}; control: {} -> {}\n",
                           a["first"].dump(), a["last"].dump(), a["slope_per_min"].get<double>(),
                           a["mann_kendall"]["p"].get<double>(), k["first"].dump(), k["last"].dump());
  EXPECT_EQ(k["leak"], false) << "kvd without a leak fault" << k.dump(2) << c.MonitorTable();
  EXPECT_LT(k["max"].get<double>(), 50) << k.dump(2);
  EXPECT_EQ(k["returned_to_baseline"], true) << k.dump(2) << c.MonitorTable();
}

// ---- durability ----------------------------------------------------------

// A cohort of 300 unique writes over the run, a SIGKILL in the middle
// (restarted 500 ms later), everything read back at the end.
json DurabilityScenario(const std::string& name, const std::vector<std::string>& kvd_args) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  o.kvd_args = kvd_args;
  const json kill = {{"kind", "kill"}, {"at", "2.5s"}, {"restart_after", "500ms"}};
  return KvdScenario(name, {{"faults", json::array({kill})}, {"durability", {{"writes", 300}}}}, o);
}

TEST_F(HerdObserve, DurabilityFsyncAlwaysLosesNothingAcrossAKill) {
  HerdRun r = Run(DurabilityScenario("observe-durable", {"--fsync", "always"}));
  ASSERT_RAN(r);
  ASSERT_FAULT(r, f, "kill");
  EXPECT_NE(f->detail.find("restarted"), std::string::npos) << f->detail;
  const json& d = r.Analyses()["durability"];
  ASSERT_TRUE(d.is_object()) << r.summary["analyses"].dump(2);
  std::cout << "fsync always, kill: " << d.dump() << "\n";
  EXPECT_EQ(d["attempted"], 300) << d.dump(2);
  EXPECT_GT(d["acknowledged"].get<int>(), 100) << d.dump(2);
  EXPECT_EQ(d["lost"], 0) << d.dump(2);
  EXPECT_EQ(d["unexpected"], 0) << d.dump(2);
  EXPECT_EQ(d["valid"], true) << d.dump(2);
}

TEST_F(HerdObserve, DurabilityFsyncNeverLosesTheUnsyncedTail) {
  // The background writer would write every 10 s: the kill at 2.5 s loses
  // every write acknowledged before it.
  HerdRun r = Run(DurabilityScenario("observe-not-durable", {"--fsync", "never", "--sync-interval", "10s"}));
  ASSERT_RAN(r);
  ASSERT_FAULT(r, f, "kill");
  EXPECT_NE(f->detail.find("restarted"), std::string::npos) << f->detail;
  const json& d = r.Analyses()["durability"];
  ASSERT_TRUE(d.is_object()) << r.summary["analyses"].dump(2);
  std::cout << "fsync never, kill: " << d.dump() << "\n";
  EXPECT_GT(d["acknowledged"].get<int>(), 100) << d.dump(2);
  EXPECT_GT(d["lost"].get<int>(), 10) << d.dump(2);
  EXPECT_EQ(d["valid"], false) << d.dump(2);
  EXPECT_FALSE(d["lost_keys"].empty()) << d.dump(2);
}

// ---- bad input -----------------------------------------------------------

TEST_F(HerdObserve, BadObserverInputExitsTwoNamingTheField) {
  struct Case {
    json scenario;
    std::string expect;  // in herd's stderr
  };
  const KvdScenarioOptions o = ObserveDefaults();
  json url_target = KvdScenario("bad", {{"probes", json::array({Probe("live", "/healthz", "restart")})}}, o);
  url_target["target"] = {{"url", "http://127.0.0.1:9"}};
  const std::vector<Case> cases = {
      {KvdScenario("bad", {{"probes", json::array({Probe("live", "/healthz", "none", {{"period", "0s"}})})}}, o),
       "probes[0].period"},
      {KvdScenario("bad", {{"monitors", json::array({{{"kind", "proc"}}})}}, o), "monitors[0].kind"},
      {KvdScenario("bad", {{"monitors", json::array({{{"kind", "prometheus"}}})}}, o), "monitors[0].series"},
      {KvdScenario("bad", {{"durability", {{"writes", 0}}}}, o), "durability.writes"},
      {url_target, "probes[0].action"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].expect);
    const fs::path file = Write(fmt::format("bad-{}.json", i), cases[i].scenario);
    auto [code, err] = Herd({"validate", file.string()}, fmt::format("validate-{}", i));
    EXPECT_EQ(code, 2) << err;
    EXPECT_NE(err.find(cases[i].expect), std::string::npos) << err;
    const fs::path out = dir_.path() / fmt::format("run-{}", i);
    auto [run_code, run_err] = Herd({"run", file.string(), "--out", out.string(), "-q"}, fmt::format("run-{}", i));
    EXPECT_EQ(run_code, 2) << run_err;
    EXPECT_NE(run_err.find(cases[i].expect), std::string::npos) << run_err;
    EXPECT_FALSE(fs::exists(out)) << "nothing may run on invalid input";
  }
}

// ---- gRPC ----------------------------------------------------------------

// A gRPC target with HTTP too: an HTTP probe checks the replica's HTTP
// address, a gRPC probe (grpc.health.v1) its gRPC address, whichever comes
// first in the list.
TEST_F(HerdObserve, HttpAndGrpcProbesEachReachTheirOwnPort) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  o.grpc = true;
  // A generous timeout: the test is about which port each probe reaches, and
  // a stalled 2-core CI machine once took 238 ms to answer one check.
  const json http = Probe("http", "/healthz", "none", {{"timeout", "2s"}});
  json grpc = Probe("grpc", "/", "none", {{"timeout", "2s"}});
  grpc.erase("path");
  grpc["kind"] = "grpc";
  const std::vector<std::pair<std::string, json>> orders = {{"http-first", json::array({http, grpc})},
                                                            {"grpc-first", json::array({grpc, http})}};
  for (const auto& [tag, probes] : orders) {
    SCOPED_TRACE(tag);
    HerdRun r = Run(KvdScenario("observe-mixed-probes", {{"probes", probes}}, o), tag);
    ASSERT_RAN(r);
    EXPECT_GT(r.Sum("ok", [](const Bucket&) { return true; }) + r.Sum("not_found", [](const Bucket&) { return true; }),
              50)
        << "the fleet's gRPC traffic" << r.Table();
    const std::vector<ProbeRow> h = r.ProbeRows("http", 0), g = r.ProbeRows("grpc", 0);
    EXPECT_GE(h.size(), 8u) << r.Table();
    EXPECT_GE(g.size(), 8u) << r.Table();
    for (const auto& p : h) {
      EXPECT_EQ(p.status, "200") << "http check at " << p.t_s << r.Table();
      EXPECT_TRUE(p.healthy) << "http check at " << p.t_s << r.Table();
    }
    for (const auto& p : g) {
      EXPECT_EQ(p.status, "SERVING") << "grpc check at " << p.t_s << r.Table();
      EXPECT_TRUE(p.healthy) << "grpc check at " << p.t_s << r.Table();
    }
    for (const char* name : {"http", "grpc"}) {
      const json a = r.ProbeAnalysis(name, 0);
      ASSERT_TRUE(a.is_object()) << name << r.Table();
      EXPECT_EQ(a.value("flaps", -1), 0) << name << a.dump();
    }
  }
}

// ---- restart probes and kill faults ---------------------------------------

// A restart probe that brings back a replica a kill fault took down lets
// traffic through once the kill's window ends: the fault proxy, down while
// the replica was, comes back up although the kill's own restart finds the
// replica running already.
TEST_F(HerdObserve, ARestartProbeBringingBackAKilledReplicaLetsTrafficThrough) {
  KvdScenarioOptions o = ObserveDefaults();
  o.instances = 5;
  // A latency fault, so there is a fault proxy in front of kvd.
  json latency = {{"kind", "latency"}, {"at", "0s"}, {"for", "500ms"}, {"latency", "1ms"}};
  json kill = {{"kind", "kill"}, {"at", "1s"}, {"restart_after", "1500ms"}};
  HerdRun r = Run(KvdScenario("observe-kill-and-restart-probe",
                              {{"faults", json::array({latency, kill})},
                               {"probes", json::array({Probe("live", "/healthz", "restart")})}},
                              o));
  ASSERT_RAN(r);
  ASSERT_FAULT(r, f, "kill");
  ASSERT_GE(r.summary["restarts"].size(), 1u) << "the probe restarted the killed replica" << r.Table();
  EXPECT_EQ(f->detail.find("restart failed"), std::string::npos) << f->detail;
  // kvd is up again from the probe's restart (or the fault's) on: traffic
  // gets through after the window.
  auto after = [&](const Bucket& b) { return b.t >= f->end_s + 0.5; };
  EXPECT_GT(r.Sum("ok", after) + r.Sum("not_found", after), 20) << r.Table();
  EXPECT_EQ(r.Sum("refused", after), 0) << r.Table();
}

// A probe restart of a replica that was not running records no stale error
// from the failed SIGKILL.
TEST_F(HerdObserve, ARestartRecordThatSucceededHasNoError) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "4s";
  o.instances = 5;
  json kill = {{"kind", "kill"}, {"at", "1s"}, {"restart_after", "1500ms"}};
  HerdRun r = Run(KvdScenario(
      "observe-restart-record",
      {{"faults", json::array({kill})}, {"probes", json::array({Probe("live", "/healthz", "restart")})}}, o));
  ASSERT_RAN(r);
  ASSERT_GE(r.summary["restarts"].size(), 1u) << r.Table();
  for (const auto& x : r.summary["restarts"]) {
    if (x["ok"] == true) {
      EXPECT_EQ(x["error"], "") << x.dump();
    }
  }
}

// Observers that cannot observe (a probe path that 404s, a metrics path
// that is not a metrics page, a series that does not exist, a pid that is
// gone) are recorded with their reason, and the run goes on.
TEST_F(HerdObserve, BadObserversAreRecordedWithTheirReasonAndTheRunGoesOn) {
  KvdScenarioOptions o = ObserveDefaults();
  o.duration = "3s";
  o.bucket = "500ms";
  json monitors = json::array(
      {{{"kind", "prometheus"}, {"name", "notmetrics"}, {"path", "/healthz"}, {"series", {"kvd_tasks"}}},
       {{"kind", "prometheus"}, {"series", {"no_such_series"}}},
       {{"kind", "process"}, {"name", "gone"}, {"pid", 999999}}});
  HerdRun r = Run(KvdScenario("observe-bad", {{"probes", json::array({Probe("missing", "/nope", "none")})},
                                              {"monitors", monitors}},
                              o));
  ASSERT_RAN(r);
  const auto rows = r.ProbeRows("missing", 0);
  ASSERT_FALSE(rows.empty()) << r.probes_csv;
  for (const auto& row : rows) EXPECT_EQ(row.status, "404") << r.probes_csv;
  EXPECT_FALSE(rows.back().healthy) << r.probes_csv;
  const json& misses = r.summary["monitor_misses"];
  ASSERT_TRUE(misses.is_array()) << r.summary.dump(2);
  auto reason = [&](const std::string& monitor, const std::string& series) -> std::string {
    for (const auto& m : misses) {
      if (m["monitor"] == monitor && m["series"] == series) {
        EXPECT_GE(m["count"].get<int>(), 2) << m.dump();
        return m["reason"].get<std::string>();
      }
    }
    return "(none)";
  };
  EXPECT_NE(reason("notmetrics", "kvd_tasks").find("no sample of this series"), std::string::npos) << misses.dump(2);
  EXPECT_NE(reason("prometheus", "no_such_series").find("no sample of this series"), std::string::npos)
      << misses.dump(2);
  EXPECT_NE(reason("gone", "").find("no such process"), std::string::npos) << misses.dump(2);
  // The load went on: requests succeeded to the end.
  EXPECT_GT(r.Sum("ok", [](const Bucket&) { return true; }) + r.Sum("not_found", [](const Bucket&) { return true; }),
            100)
      << r.Table();
}

}  // namespace
}  // namespace herd::test
