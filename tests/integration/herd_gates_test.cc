// Gates end to end, as CI runs herd: a scenario with a "gates" list, `herd
// run` against a real kvd (or the model target, for what needs no process),
// the exit code (0 pass, 99 a gate failed, 2 invalid, 130 interrupted), the
// verdict and gates in summary.json, junit.xml (parsed with libxml2 and
// checked against those gates by XPath), and the failures on stderr.
//
// Runs are short (3-4 s, 250 ms buckets) and bounds generous: the machine
// is shared and noisy. With HERD_KEEP_TEST_DIRS set, a test's directory is
// kept; when a test fails, it is kept and its path printed.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
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

// One closed-model fleet against a kvd herd launches (5 clients, 1 s
// timeouts, herd's default value size); `gates` as given, no "faults".
json GatesScenario(const std::string& name, const json& gates, const std::string& duration = "3s") {
  return KvdScenario(name, {{"gates", gates}, {"faults", nullptr}},
                     {.duration = duration, .instances = 5, .timeout = "1s", .value_bytes = std::nullopt});
}

// junit.xml parsed with libxml2, strictly: no recovery, no network, no
// entity loading. Null when it is not well-formed XML.
struct XmlDocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using XmlDoc = std::unique_ptr<xmlDoc, XmlDocFree>;

XmlDoc ParseXml(const std::string& text) {
  return XmlDoc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "junit.xml", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
}

// The nodes an XPath query selects, relative to `context` (the document when null).
std::vector<xmlNode*> Nodes(xmlDoc* doc, const std::string& xpath, xmlNode* context = nullptr) {
  std::vector<xmlNode*> out;
  if (!doc) return out;
  std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc),
                                                                      xmlXPathFreeContext);
  if (!ctx) return out;
  if (context) ctx->node = context;
  std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> res(
      xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx.get()), xmlXPathFreeObject);
  EXPECT_TRUE(res) << "bad XPath " << xpath;
  if (!res || !res->nodesetval) return out;
  for (int i = 0; i < res->nodesetval->nodeNr; ++i) out.push_back(res->nodesetval->nodeTab[i]);
  return out;
}

// An XPath expression's string value: "string(/testsuite/@tests)",
// "count(//failure)". "" when the document did not parse.
std::string Eval(xmlDoc* doc, const std::string& xpath) {
  if (!doc) return "";
  std::unique_ptr<xmlXPathContext, decltype(&xmlXPathFreeContext)> ctx(xmlXPathNewContext(doc),
                                                                      xmlXPathFreeContext);
  if (!ctx) return "";
  std::unique_ptr<xmlXPathObject, decltype(&xmlXPathFreeObject)> res(
      xmlXPathEvalExpression(BAD_CAST xpath.c_str(), ctx.get()), xmlXPathFreeObject);
  EXPECT_TRUE(res) << "bad XPath " << xpath;
  if (!res) return "";
  xmlChar* v = xmlXPathCastToString(res.get());
  std::string out = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

// An attribute's value as parsed (entities resolved); "" when absent.
std::string Attr(xmlNode* node, const char* name) {
  xmlChar* v = xmlGetProp(node, BAD_CAST name);
  std::string out = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

// A node's text content.
std::string Text(xmlNode* node) {
  xmlChar* v = xmlNodeGetContent(node);
  std::string out = v ? reinterpret_cast<const char*>(v) : "";
  xmlFree(v);
  return out;
}

// The <testcase> whose parsed name is `name` (compared as a string, so
// names with quotes need no XPath literal); null when there is none.
xmlNode* TestcaseNamed(xmlDoc* doc, const std::string& name) {
  for (xmlNode* tc : Nodes(doc, "/testsuite/testcase")) {
    if (Attr(tc, "name") == name) return tc;
  }
  return nullptr;
}

// The numbers a gate message prints after "<metric> ", in order: the
// measured values ("amplification 3.41 > 2 (clients)").
std::vector<double> NumbersAfter(const std::string& text, const std::string& metric) {
  std::vector<double> out;
  const std::string prefix = metric + " ";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
    const char* begin = text.c_str() + at + prefix.size();
    char* end = nullptr;
    const double v = std::strtod(begin, &end);
    if (end != begin) out.push_back(v);
  }
  return out;
}

// Whether `shown` is `value` as herd prints it: at least three significant
// digits (FormatGateNumber), so within half a unit of the third.
bool ShowsValue(double shown, double value) {
  return std::fabs(shown - value) <= 0.005 * std::fabs(value) + 1e-9;
}

// junit.xml against summary.json's gates: it parses; one <testsuite> named
// herd.<scenario> whose tests/failures count the gates; one <testcase> per
// gate, in order, named after it; a failed gate's testcase holds exactly
// one <failure type="gate"> whose message is the gate's message in
// summary.json and shows every failing value summary.json measured; a
// passed gate's holds none. Returns the document for further checks.
XmlDoc ExpectJunitMatchesGates(const std::string& junit, const json& summary) {
  XmlDoc doc = ParseXml(junit);
  EXPECT_TRUE(doc) << "junit.xml is not well-formed XML:\n" << junit;
  if (!doc) return doc;
  const std::vector<xmlNode*> suites = Nodes(doc.get(), "/testsuite");
  EXPECT_EQ(suites.size(), 1u) << junit;
  if (suites.size() != 1) return doc;
  xmlNode* suite = suites[0];
  const std::string suite_name = "herd." + summary.value("name", std::string());
  EXPECT_EQ(Attr(suite, "name"), suite_name) << junit;

  const json gates = summary.value("gates", json::array());
  size_t failed = 0;
  for (const json& g : gates) failed += !g.value("passed", false);
  EXPECT_EQ(Attr(suite, "tests"), std::to_string(gates.size())) << junit;
  EXPECT_EQ(Attr(suite, "failures"), std::to_string(failed)) << junit;
  EXPECT_EQ(Nodes(doc.get(), "//failure").size(), failed) << junit;

  const std::vector<xmlNode*> cases = Nodes(doc.get(), "testcase", suite);
  EXPECT_EQ(Nodes(doc.get(), "//testcase").size(), cases.size()) << "testcases outside the suite\n" << junit;
  EXPECT_EQ(cases.size(), gates.size()) << junit;
  for (size_t i = 0; i < std::min(cases.size(), gates.size()); ++i) {
    const json& g = gates[i];
    const std::string name = g.value("name", std::string());
    SCOPED_TRACE("gate " + std::to_string(i) + " \"" + name + "\"");
    EXPECT_EQ(Attr(cases[i], "name"), name) << junit;
    EXPECT_EQ(Attr(cases[i], "classname"), suite_name) << junit;
    const std::vector<xmlNode*> failures = Nodes(doc.get(), "failure", cases[i]);
    if (g.value("passed", false)) {
      EXPECT_TRUE(failures.empty()) << "a passed gate with a <failure>\n" << junit;
      continue;
    }
    EXPECT_EQ(failures.size(), 1u) << junit;
    if (failures.empty()) continue;
    const std::string message = Attr(failures[0], "message");
    EXPECT_EQ(message, g.value("message", std::string())) << junit;
    EXPECT_EQ(Attr(failures[0], "type"), "gate") << junit;
    const std::vector<double> shown = NumbersAfter(message, g.value("metric", std::string()));
    for (const json& v : g.value("values", json::array())) {
      if (v.value("passed", false) || !v.contains("value") || !v["value"].is_number()) continue;
      const double value = v["value"].get<double>();
      EXPECT_TRUE(std::any_of(shown.begin(), shown.end(), [&](double s) { return ShowsValue(s, value); }))
          << "the failure message does not show the measured " << value << " (" << v.value("scope", "")
          << "): " << message;
    }
  }
  return doc;
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
  HerdRun ok = Run(GatesScenario("gates-pass", passing), "pass");
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
  const XmlDoc ok_xml = ExpectJunitMatchesGates(ok.junit, ok.summary);
  EXPECT_EQ(Eval(ok_xml.get(), "string(/testsuite/@name)"), "herd.gates-pass") << ok.junit;
  EXPECT_EQ(Eval(ok_xml.get(), "string(/testsuite/@tests)"), "2") << ok.junit;
  EXPECT_EQ(Eval(ok_xml.get(), "string(/testsuite/@failures)"), "0") << ok.junit;
  EXPECT_EQ(Eval(ok_xml.get(), "count(/testsuite/testcase[@classname = 'herd.gates-pass'])"), "2") << ok.junit;
  EXPECT_NE(TestcaseNamed(ok_xml.get(), "amplification <= 1.5"), nullptr) << ok.junit;
  EXPECT_EQ(Eval(ok_xml.get(), "count(//failure)"), "0") << ok.junit;
  EXPECT_EQ(ok.stderr_text.find("gate failed"), std::string::npos) << ok.stderr_text;

  // The same run, plus a gate nobody can pass, with a name XML must escape.
  json gates = passing;
  const std::string name = "throughput <huge> & \"steady\"";
  gates.push_back({{"name", name}, {"metric", "offered_per_s"}, {"min", 1e9}});
  HerdRun bad = Run(GatesScenario("gates-fail", gates), "fail");
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

  const XmlDoc bad_xml = ExpectJunitMatchesGates(bad.junit, bad.summary);
  EXPECT_EQ(Eval(bad_xml.get(), "string(/testsuite/@tests)"), "3") << bad.junit;
  EXPECT_EQ(Eval(bad_xml.get(), "string(/testsuite/@failures)"), "1") << bad.junit;
  EXPECT_EQ(Eval(bad_xml.get(), "count(//failure)"), "1") << bad.junit;
  // Escaped on the way out, the name parses back to itself.
  xmlNode* bad_case = TestcaseNamed(bad_xml.get(), name);
  EXPECT_NE(bad_case, nullptr) << bad.junit;
  const std::vector<xmlNode*> bad_failures = Nodes(bad_xml.get(), "failure", bad_case);
  EXPECT_EQ(bad_failures.size(), 1u) << bad.junit;
  if (!bad_failures.empty()) {
    const std::string junit_message = Attr(bad_failures[0], "message");
    EXPECT_EQ(junit_message, message) << bad.junit;
    EXPECT_TRUE(junit_message.starts_with("offered_per_s ")) << junit_message;
    EXPECT_NE(junit_message.find(" < 1000000000 (clients)"), std::string::npos) << junit_message;
    const std::vector<double> shown = NumbersAfter(junit_message, "offered_per_s");
    EXPECT_EQ(shown.size(), 1u) << junit_message;
    EXPECT_TRUE(shown.size() == 1 && ShowsValue(shown[0], offered))
        << junit_message << " in junit.xml, " << offered << " in summary.json";
    const std::string body = Text(bad_failures[0]);
    EXPECT_NE(body.find("FAIL clients: offered_per_s "), std::string::npos) << body;
  }
  // The two gates that passed: testcases without a <failure>.
  EXPECT_EQ(Eval(bad_xml.get(), "count(/testsuite/testcase[not(failure)])"), "2") << bad.junit;
  for (const json& g : bad.summary["gates"]) {
    if (g["name"] == name) continue;
    xmlNode* tc = TestcaseNamed(bad_xml.get(), g["name"].get<std::string>());
    EXPECT_NE(tc, nullptr) << g.dump() << "\n" << bad.junit;
    EXPECT_TRUE(Nodes(bad_xml.get(), "failure", tc).empty()) << bad.junit;
  }

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
  const XmlDoc xml = ExpectJunitMatchesGates(r.junit, r.summary);
  EXPECT_EQ(Eval(xml.get(), "string(/testsuite/@name)"), "herd.gates-none") << r.junit;
  EXPECT_EQ(Eval(xml.get(), "string(/testsuite/@tests)"), "0") << r.junit;
  EXPECT_EQ(Eval(xml.get(), "string(/testsuite/@failures)"), "0") << r.junit;
  EXPECT_EQ(Eval(xml.get(), "count(//testcase)"), "0") << r.junit;
}

TEST_F(HerdGates, UnknownMetricExitsTwoAtLoadTimeNamingThePath) {
  json s = GatesScenario("gates-typo", {{{"metric", "amplification"}, {"max", 2}},
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
  json s = GatesScenario(name,
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
  const XmlDoc storm_xml = ExpectJunitMatchesGates(storm.junit, storm.summary);
  EXPECT_EQ(Eval(storm_xml.get(), "string(/testsuite/@tests)"), "1") << storm.junit;
  EXPECT_EQ(Eval(storm_xml.get(), "string(/testsuite/@failures)"), "1") << storm.junit;
  const std::vector<xmlNode*> storm_failures =
      Nodes(storm_xml.get(), "/testsuite/testcase[@name = 'no retry storm in the outage']/failure");
  EXPECT_EQ(storm_failures.size(), 1u) << storm.junit;
  if (!storm_failures.empty()) {
    const std::string junit_message = Attr(storm_failures[0], "message");
    EXPECT_EQ(junit_message, message) << storm.junit;
    const std::vector<double> shown = NumbersAfter(junit_message, "amplification");
    EXPECT_EQ(shown.size(), 1u) << junit_message;
    EXPECT_TRUE(shown.size() == 1 && ShowsValue(shown[0], value["value"].get<double>()))
        << junit_message << " in junit.xml, " << value["value"] << " in summary.json";
    // The body lists the value too, with its scope.
    const std::string body = Text(storm_failures[0]);
    const std::string line = "FAIL clients, window 0 (down on replica 0): amplification";
    EXPECT_NE(body.find(line), std::string::npos) << body;
    const std::vector<double> listed = NumbersAfter(body.substr(std::min(body.find(line), body.size())),
                                                    "amplification");
    EXPECT_TRUE(!listed.empty() && ShowsValue(listed[0], value["value"].get<double>())) << body;
  }

  HerdRun calm = Run(StormScenario("gates-budget", true), "budget");
  ASSERT_EQ(calm.exit_code, 0) << calm.stderr_text << "\n" << calm.summary["gates"].dump(2);
  EXPECT_EQ(calm.summary["verdict"], "pass");
  const json* kept = GateNamed(calm.summary, "no retry storm in the outage");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ((*kept)["passed"], true);
  EXPECT_LE((*kept)["values"][0]["value"].get<double>(), 2.0);
  const XmlDoc calm_xml = ExpectJunitMatchesGates(calm.junit, calm.summary);
  EXPECT_EQ(Eval(calm_xml.get(), "string(/testsuite/@tests)"), "1") << calm.junit;
  EXPECT_EQ(Eval(calm_xml.get(), "string(/testsuite/@failures)"), "0") << calm.junit;
  EXPECT_EQ(Eval(calm_xml.get(), "count(/testsuite/testcase[@name = 'no retry storm in the outage'])"), "1")
      << calm.junit;
  EXPECT_EQ(Eval(calm_xml.get(), "count(//failure)"), "0") << calm.junit;
}

TEST_F(HerdGates, InterruptedWinsOverAFailedGate) {
  json s = GatesScenario("gates-interrupted", {{{"metric", "offered_per_s"}, {"min", 1e9}}}, "30s");
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
  const XmlDoc xml = ExpectJunitMatchesGates(r.junit, r.summary);
  EXPECT_EQ(Eval(xml.get(), "string(/testsuite/@tests)"), "1") << r.junit;
  EXPECT_EQ(Eval(xml.get(), "string(/testsuite/@failures)"), "1") << r.junit;
  xmlNode* tc = TestcaseNamed(xml.get(), r.summary["gates"][0]["name"].get<std::string>());
  EXPECT_NE(tc, nullptr) << r.junit;
  EXPECT_EQ(Nodes(xml.get(), "failure", tc).size(), 1u) << r.junit;
}

}  // namespace
}  // namespace herd::test
