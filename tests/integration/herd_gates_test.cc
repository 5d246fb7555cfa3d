// Gates end to end, as CI runs herd: a scenario with a "gates" list, `herd
// run` against a real kvd (or the model target, for what needs no process),
// the exit code (0 pass, 99 a gate failed, 2 invalid, 130 interrupted), the
// verdict and gates in summary.json, junit.xml, and the failures on stderr.
//
// Runs are short (3-4 s, 250 ms buckets) and bounds generous: the machine
// is shared and noisy. With HERD_KEEP_TEST_DIRS set, a test's directory is
// kept; when a test fails, it is kept and its path printed.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/herd_run.h"
#include "support/process.h"

namespace herd::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// One closed-model fleet against a kvd herd launches; `gates` as given.
json KvdScenario(const std::string& name, const json& gates, const std::string& duration = "3s") {
  return {{"name", name},
          {"duration", duration},
          {"bucket", "250ms"},
          {"seed", 1},
          {"target", {{"launch", {{"command", {KvdBinary(), "--http", "127.0.0.1:0", "--data-dir", "{data_dir}"}}}}}},
          {"fleets",
           {{{"name", "clients"},
             {"instances", 5},
             {"arrival", {{"model", "closed"}, {"think", "20ms"}}},
             {"workload", {{"mix", {{"get", 0.8}, {"put", 0.2}}}, {"keys", {{"count", 50}}}}},
             {"timeout", "1s"},
             {"retry", {{"strategy", "none"}}}}}},
          {"gates", gates}};
}

// A minimal well-formedness check of junit.xml (there is no XML library):
// the declaration, every tag closed in order, attribute values quoted and
// free of '<', no raw '<', '>' or '&' in text. "" when fine, else what is wrong.
std::string CheckXml(const std::string& xml) {
  if (!xml.starts_with("<?xml ")) return "no XML declaration";
  std::vector<std::string> open;
  size_t i = xml.find("?>");
  if (i == std::string::npos) return "an unclosed declaration";
  i += 2;
  bool root_seen = false;
  while (i < xml.size()) {
    const size_t lt = xml.find('<', i);
    const std::string text = xml.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
    if (text.find('>') != std::string::npos) return "a raw '>' in text";
    for (size_t a = text.find('&'); a != std::string::npos; a = text.find('&', a + 1)) {
      const size_t semi = text.find(';', a);
      if (semi == std::string::npos || semi - a > 8) return "a raw '&' in text";
    }
    if (open.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) return "text outside the root";
    if (lt == std::string::npos) break;
    size_t j = lt + 1;
    bool quoted = false;
    while (j < xml.size() && (quoted || xml[j] != '>')) {
      if (xml[j] == '"') quoted = !quoted;
      if (quoted && xml[j] == '<') return "a raw '<' in an attribute";
      ++j;
    }
    if (j >= xml.size()) return "an unclosed tag";
    const std::string tag = xml.substr(lt + 1, j - lt - 1);
    i = j + 1;
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1)) return "</" + tag.substr(1) + "> closes nothing open";
      open.pop_back();
      continue;
    }
    if (open.empty()) {
      if (root_seen) return "a second root element";
      root_seen = true;
    }
    if (!tag.ends_with("/")) open.push_back(tag.substr(0, tag.find_first_of(" \t\r\n")));
  }
  if (!open.empty()) return "<" + open.back() + "> is not closed";
  if (!root_seen) return "no root element";
  return "";
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class HerdGates : public HerdFixture {
 protected:
  HerdGates() : HerdFixture("herd-gates") {}

  // `herd run FILE --out DIR/<tag>` (not quiet: failing gates go to
  // stderr), and the run directory read back.
  HerdRun Run(const json& scenario, const std::string& tag,
              const std::function<void(Process&)>& during = nullptr) {
    RunHerdOptions o;
    o.scenario_file = dir_.path() / (tag + ".json");
    o.out = dir_.path() / tag;
    o.stderr_path = dir_.path() / (tag + ".stderr");
    o.quiet = false;
    if (during) o.during = [&](Process& p, const fs::path&) { during(p); };
    return RunHerd(scenario, o);
  }
};

const json* GateNamed(const json& summary, const std::string& name) {
  if (!summary.is_object() || !summary.contains("gates")) return nullptr;
  for (const json& g : summary["gates"]) {
    if (g.value("name", "") == name) return &g;
  }
  return nullptr;
}

TEST_F(HerdGates, PassingGatesExitZeroAndAFailingOneNinetyNine) {
  const json passing = {{{"metric", "amplification"}, {"max", 1.5}},
                        {{"metric", "success_ratio"}, {"fleet", "clients"}, {"min", 0.5}}};
  HerdRun ok = Run(KvdScenario("gates-pass", passing), "pass");
  ASSERT_EQ(ok.exit_code, 0) << ok.stderr_text;
  ASSERT_TRUE(ok.summary.is_object()) << ok.stderr_text;
  EXPECT_EQ(ok.summary["verdict"], "pass");
  ASSERT_EQ(ok.summary["gates"].size(), 2u);
  for (const json& g : ok.summary["gates"]) {
    EXPECT_EQ(g["passed"], true) << g.dump();
    ASSERT_EQ(g["values"].size(), 1u) << g.dump();
    EXPECT_EQ(g["values"][0]["scope"], "clients");
    EXPECT_TRUE(g["values"][0]["value"].is_number()) << g.dump();
  }
  EXPECT_EQ(ok.summary["gates"][0]["name"], "amplification <= 1.5");
  EXPECT_EQ(ok.summary["gates"][0]["bound"], json({{"max", 1.5}}));
  EXPECT_EQ(CheckXml(ok.junit), "") << ok.junit;
  EXPECT_NE(ok.junit.find("<testsuite name=\"herd.gates-pass\" tests=\"2\" failures=\"0\""), std::string::npos)
      << ok.junit;
  EXPECT_EQ(Count(ok.junit, "<testcase classname=\"herd.gates-pass\""), 2u) << ok.junit;
  EXPECT_EQ(ok.junit.find("<failure"), std::string::npos) << ok.junit;
  EXPECT_EQ(ok.stderr_text.find("gate failed"), std::string::npos) << ok.stderr_text;

  // The same run, plus a gate nobody can pass, with a name XML must escape.
  json gates = passing;
  const std::string name = "throughput <huge> & \"steady\"";
  gates.push_back({{"name", name}, {"metric", "offered_per_s"}, {"min", 1e9}});
  HerdRun bad = Run(KvdScenario("gates-fail", gates), "fail");
  ASSERT_EQ(bad.exit_code, 99) << bad.stderr_text;
  ASSERT_TRUE(bad.summary.is_object()) << bad.stderr_text;
  EXPECT_EQ(bad.summary["verdict"], "fail");
  const json* failed = GateNamed(bad.summary, name);
  ASSERT_NE(failed, nullptr) << bad.summary["gates"].dump(2);
  EXPECT_EQ((*failed)["passed"], false);
  EXPECT_EQ((*failed)["metric"], "offered_per_s");
  ASSERT_EQ((*failed)["values"].size(), 1u);
  const double offered = (*failed)["values"][0]["value"].get<double>();
  EXPECT_GT(offered, 10) << "5 instances thinking 20 ms offer far more than 10/s";
  const std::string message = (*failed)["message"].get<std::string>();
  EXPECT_TRUE(message.starts_with("offered_per_s ")) << message;
  EXPECT_NE(message.find(" < 1000000000 (clients)"), std::string::npos) << message;
  EXPECT_EQ(GateNamed(bad.summary, "amplification <= 1.5")->at("passed"), true);

  EXPECT_EQ(CheckXml(bad.junit), "") << bad.junit;
  EXPECT_NE(bad.junit.find("tests=\"3\" failures=\"1\""), std::string::npos) << bad.junit;
  EXPECT_NE(bad.junit.find("name=\"throughput &lt;huge&gt; &amp; &quot;steady&quot;\" time=\"0\">"),
            std::string::npos)
      << bad.junit;
  EXPECT_NE(bad.junit.find("<failure message=\"" + message.substr(0, message.find(" < ")) + " &lt; 1000000000"),
            std::string::npos)
      << bad.junit;
  EXPECT_EQ(Count(bad.junit, "<failure "), 1u) << bad.junit;

  EXPECT_NE(bad.stderr_text.find("herd: gate failed: " + name + ": " + message), std::string::npos)
      << bad.stderr_text;
  EXPECT_NE(bad.stderr_text.find("herd: gates: 2 passed, 1 failed"), std::string::npos) << bad.stderr_text;
}

TEST_F(HerdGates, ZeroGatesStillWriteAnEmptyJunitSuite) {
  // The model target runs in virtual time: no process, a second of wall time at most.
  json s = {{"name", "gates-none"},
            {"duration", "30s"},
            {"target", {{"model", {{"latency", "10ms"}}}}},
            {"fleets", {{{"instances", 10}, {"arrival", {{"model", "closed"}, {"think", "100ms"}}}}}}};
  HerdRun r = Run(s, "none");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.summary["verdict"], "pass");
  EXPECT_EQ(r.summary["gates"], json::array());
  EXPECT_EQ(CheckXml(r.junit), "") << r.junit;
  EXPECT_NE(r.junit.find("<testsuite name=\"herd.gates-none\" tests=\"0\" failures=\"0\""), std::string::npos)
      << r.junit;
  EXPECT_EQ(r.junit.find("<testcase"), std::string::npos) << r.junit;
}

TEST_F(HerdGates, UnknownMetricExitsTwoAtLoadTimeNamingThePath) {
  json s = KvdScenario("gates-typo", {{{"metric", "amplification"}, {"max", 2}},
                                      {{"metric", "amplifcation"}, {"phase", "window"}, {"max", 2}}});
  const fs::path file = dir_.path() / "typo.json";
  std::ofstream(file) << s.dump(2);
  const std::string expected = "gates[1].metric: unknown metric \"amplifcation\" (did you mean \"amplification\"?)";

  const fs::path out = dir_.path() / "typo-run";
  auto [code, err] = Herd({"run", file.string(), "--out", out.string()}, "typo-run");
  EXPECT_EQ(code, 2) << err;
  EXPECT_NE(err.find(expected), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out)) << "nothing may run on invalid input";

  auto [vcode, verr] = Herd({"validate", file.string()}, "typo-validate");
  EXPECT_EQ(vcode, 2) << verr;
  EXPECT_NE(verr.find(expected), std::string::npos) << verr;

  // A window the faults do not make, and a bound of the wrong type.
  s["gates"] = {{{"metric", "storm"}, {"window", 0}, {"max", 1}}};
  std::ofstream(file) << s.dump(2);
  auto [wcode, werr] = Herd({"validate", file.string()}, "window-validate");
  EXPECT_EQ(wcode, 2) << werr;
  EXPECT_NE(werr.find("gates[0].window: the scenario has no faults, so no window 0"), std::string::npos) << werr;
  EXPECT_NE(werr.find("gates[0].max: metric \"storm\" is true or false"), std::string::npos) << werr;
}

// The book's retry storm (fig. 9-2) as a CI check: a down window, clients
// that retry at once. Without a budget every failed request is retried up
// to 10 times and the window's amplification is far above 2; the gate
// fails and herd exits 99. With a token-bucket budget the retries stop
// after a few failures, amplification stays near 1, and herd exits 0.
json StormScenario(const std::string& name, bool budget) {
  json s = KvdScenario(name,
                       {{{"name", "no retry storm in the outage"},
                         {"metric", "amplification"},
                         {"fleet", "clients"},
                         {"phase", "window"},
                         {"window", 0},
                         {"max", 2}}},
                       "4s");
  s["faults"] = {{{"kind", "down"}, {"at", "1s"}, {"for", "1.5s"}}};
  s["fleets"][0]["retry"] = {{"strategy", "immediate"}, {"max_attempts", 10}};
  if (budget) s["fleets"][0]["budget"] = {{"kind", "token_bucket"}, {"max_tokens", 10}, {"token_ratio", 0.1}};
  return s;
}

TEST_F(HerdGates, WindowGateFailsOnARetryStormAndPassesWithABudget) {
  HerdRun storm = Run(StormScenario("gates-storm", false), "storm");
  ASSERT_EQ(storm.exit_code, 99) << storm.stderr_text;
  ASSERT_TRUE(storm.summary.is_object());
  EXPECT_EQ(storm.summary["verdict"], "fail");
  const json* gate = GateNamed(storm.summary, "no retry storm in the outage");
  ASSERT_NE(gate, nullptr) << storm.summary["gates"].dump(2);
  EXPECT_EQ((*gate)["passed"], false) << gate->dump(2);
  ASSERT_EQ((*gate)["values"].size(), 1u) << gate->dump(2);
  const json& value = (*gate)["values"][0];
  EXPECT_EQ(value["scope"], "clients, window 0 (down on replica 0)");
  ASSERT_TRUE(value["value"].is_number()) << gate->dump(2);
  EXPECT_GT(value["value"].get<double>(), 2.0);
  // The value is the window phase's amplification in summary.json.
  const json& phase = storm.summary["phases"][1];
  EXPECT_EQ(phase["phase"], "window");
  EXPECT_DOUBLE_EQ(value["value"].get<double>(), phase["fleets"][0]["amplification"].get<double>());
  const std::string message = (*gate)["message"].get<std::string>();
  EXPECT_TRUE(message.starts_with("amplification ")) << message;
  EXPECT_NE(message.find(" > 2 (clients, window 0 (down on replica 0))"), std::string::npos) << message;
  EXPECT_NE(storm.stderr_text.find("herd: gate failed: no retry storm in the outage: " + message), std::string::npos)
      << storm.stderr_text;
  EXPECT_EQ(CheckXml(storm.junit), "") << storm.junit;
  EXPECT_NE(storm.junit.find("name=\"no retry storm in the outage\""), std::string::npos) << storm.junit;
  EXPECT_NE(storm.junit.find("FAIL clients, window 0 (down on replica 0): amplification"), std::string::npos)
      << storm.junit;

  HerdRun calm = Run(StormScenario("gates-budget", true), "budget");
  ASSERT_EQ(calm.exit_code, 0) << calm.stderr_text << "\n" << calm.summary["gates"].dump(2);
  EXPECT_EQ(calm.summary["verdict"], "pass");
  const json* kept = GateNamed(calm.summary, "no retry storm in the outage");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ((*kept)["passed"], true);
  EXPECT_LE((*kept)["values"][0]["value"].get<double>(), 2.0);
  EXPECT_NE(calm.junit.find("tests=\"1\" failures=\"0\""), std::string::npos) << calm.junit;
}

TEST_F(HerdGates, InterruptedWinsOverAFailedGate) {
  json s = KvdScenario("gates-interrupted", {{{"metric", "offered_per_s"}, {"min", 1e9}}}, "30s");
  HerdRun r = Run(s, "interrupted", [&](Process& p) {
    // Once kvd is up and the fleet has run a moment.
    std::this_thread::sleep_for(2500ms);
    p.Signal(SIGINT);
  });
  EXPECT_EQ(r.exit_code, 130) << r.stderr_text;
  ASSERT_TRUE(r.summary.is_object()) << r.stderr_text;
  EXPECT_EQ(r.summary["verdict"], "interrupted");
  ASSERT_EQ(r.summary["gates"].size(), 1u);
  EXPECT_EQ(r.summary["gates"][0]["passed"], false) << "gates are still evaluated";
  EXPECT_EQ(CheckXml(r.junit), "") << r.junit;
  EXPECT_NE(r.junit.find("tests=\"1\" failures=\"1\""), std::string::npos) << r.junit;
}

}  // namespace
}  // namespace herd::test
