#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "scenario/parse.h"

namespace herd {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The smallest valid scenario: everything else is a default.
constexpr char kMinimal[] = R"({
  "name": "minimal",
  "target": {"url": "127.0.0.1:8080"},
  "fleets": [{}]
})";

std::string FixturePath(const std::string& name) {
  // __FILE__ locates the fixtures; HERD_SOURCE_DIR points at another tree.
  if (const char* root = std::getenv("HERD_SOURCE_DIR")) {
    return (std::filesystem::path(root) / "tests/unit/scenarios" / name).string();
  }
  return (std::filesystem::path(__FILE__).parent_path() / "scenarios" / name).string();
}

json Read(std::string_view text) {
  json doc;
  ParseError error;
  EXPECT_TRUE(ReadJsonWithComments(text, &doc, &error)) << error.ToString();
  return doc;
}

std::string Join(const std::vector<ParseError>& errors) {
  std::string all;
  for (const ParseError& e : errors) all += "\n  " + e.ToString();
  return all;
}

Scenario ParseOk(const json& doc) {
  Scenario s;
  std::vector<ParseError> errors;
  EXPECT_TRUE(ParseScenario(doc, &s, &errors)) << Join(errors);
  EXPECT_TRUE(errors.empty()) << Join(errors);
  return s;
}

// Every error of a scenario that must not parse, as "path: message".
std::vector<std::string> ErrorsOf(const json& doc) {
  Scenario s;
  std::vector<ParseError> errors;
  EXPECT_FALSE(ParseScenario(doc, &s, &errors)) << "parsed: " << doc.dump();
  std::vector<std::string> out;
  for (const ParseError& e : errors) out.push_back(e.ToString());
  return out;
}

// kMinimal with `patch` applied (RFC 7386 merge patch: null deletes).
json Minimal(const json& patch = json::object()) {
  json doc = Read(kMinimal);
  doc.merge_patch(patch);
  return doc;
}

// kMinimal with its only fleet replaced by `fleet`.
json WithFleet(const json& fleet) {
  json doc = Read(kMinimal);
  doc["fleets"] = json::array({fleet});
  return doc;
}

::testing::AssertionResult HasError(const std::vector<std::string>& errors,
                                    const std::string& exact) {
  if (std::find(errors.begin(), errors.end(), exact) != errors.end()) {
    return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure() << "no error \"" << exact << "\" among:";
  for (const std::string& e : errors) failure << "\n  " << e;
  return failure;
}

// An error that starts with `prefix` (usually "path: ") and contains every
// one of `parts`.
::testing::AssertionResult HasErrorWith(const std::vector<std::string>& errors,
                                        const std::string& prefix,
                                        std::vector<std::string> parts = {}) {
  for (const std::string& e : errors) {
    if (!e.starts_with(prefix)) continue;
    if (std::all_of(parts.begin(), parts.end(),
                    [&](const std::string& p) { return e.find(p) != std::string::npos; })) {
      return ::testing::AssertionSuccess();
    }
  }
  auto failure = ::testing::AssertionFailure() << "no error starting \"" << prefix << "\" with";
  for (const std::string& p : parts) failure << " \"" << p << "\"";
  failure << " among:";
  for (const std::string& e : errors) failure << "\n  " << e;
  return failure;
}

// Field by field, so that a field the resolved JSON forgets shows up as a
// difference instead of being lost on both sides.
void ExpectSameScenario(const Scenario& a, const Scenario& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.duration, b.duration);
  EXPECT_EQ(a.bucket, b.bucket);
  EXPECT_EQ(a.seed, b.seed);
  ASSERT_EQ(a.target.launch.has_value(), b.target.launch.has_value());
  if (a.target.launch) {
    EXPECT_EQ(a.target.launch->command, b.target.launch->command);
    EXPECT_EQ(a.target.launch->replicas, b.target.launch->replicas);
    EXPECT_EQ(a.target.launch->ready, b.target.launch->ready);
    EXPECT_EQ(a.target.launch->ready_timeout, b.target.launch->ready_timeout);
  }
  EXPECT_EQ(a.target.url, b.target.url);
  EXPECT_EQ(a.target.protocol, b.target.protocol);
  EXPECT_EQ(a.target.allow_remote, b.target.allow_remote);
  ASSERT_EQ(a.fleets.size(), b.fleets.size());
  for (size_t i = 0; i < a.fleets.size(); ++i) {
    SCOPED_TRACE("fleet " + std::to_string(i));
    const Fleet& x = a.fleets[i];
    const Fleet& y = b.fleets[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.instances, y.instances);
    EXPECT_EQ(x.start_spread, y.start_spread);
    EXPECT_EQ(x.arrival.model, y.arrival.model);
    EXPECT_EQ(x.arrival.requests_per_instance, y.arrival.requests_per_instance);
    EXPECT_EQ(x.arrival.think, y.arrival.think);
    EXPECT_EQ(x.arrival.rate, y.arrival.rate);
    ASSERT_EQ(x.arrival.stages.size(), y.arrival.stages.size());
    for (size_t s = 0; s < x.arrival.stages.size(); ++s) {
      EXPECT_EQ(x.arrival.stages[s].to, y.arrival.stages[s].to);
      EXPECT_EQ(x.arrival.stages[s].over, y.arrival.stages[s].over);
    }
    EXPECT_EQ(x.arrival.spacing, y.arrival.spacing);
    EXPECT_DOUBLE_EQ(x.workload.get, y.workload.get);
    EXPECT_DOUBLE_EQ(x.workload.put, y.workload.put);
    EXPECT_DOUBLE_EQ(x.workload.del, y.workload.del);
    EXPECT_EQ(x.workload.keys.count, y.workload.keys.count);
    EXPECT_EQ(x.workload.keys.distribution, y.workload.keys.distribution);
    EXPECT_EQ(x.workload.keys.zipf_s, y.workload.keys.zipf_s);
    EXPECT_EQ(x.workload.keys.prefix, y.workload.keys.prefix);
    EXPECT_EQ(x.workload.value_bytes, y.workload.value_bytes);
    ASSERT_EQ(x.workload.requests.size(), y.workload.requests.size());
    for (size_t r = 0; r < x.workload.requests.size(); ++r) {
      EXPECT_EQ(x.workload.requests[r].method, y.workload.requests[r].method);
      EXPECT_EQ(x.workload.requests[r].path, y.workload.requests[r].path);
      EXPECT_EQ(x.workload.requests[r].headers, y.workload.requests[r].headers);
      EXPECT_EQ(x.workload.requests[r].body, y.workload.requests[r].body);
    }
    EXPECT_EQ(x.timeout, y.timeout);
    EXPECT_EQ(x.deadline, y.deadline);
    EXPECT_EQ(x.retry.strategy, y.retry.strategy);
    EXPECT_EQ(x.retry.base, y.retry.base);
    EXPECT_EQ(x.retry.cap, y.retry.cap);
    EXPECT_EQ(x.retry.delay, y.retry.delay);
    EXPECT_EQ(x.retry.max_attempts, y.retry.max_attempts);
    EXPECT_TRUE(x.retry.retry_on == y.retry.retry_on);
    EXPECT_EQ(x.retry.honor_retry_after, y.retry.honor_retry_after);
    ASSERT_EQ(x.budget.has_value(), y.budget.has_value());
    if (x.budget) {
      EXPECT_EQ(x.budget->kind, y.budget->kind);
      EXPECT_EQ(x.budget->token_bucket.max_tokens, y.budget->token_bucket.max_tokens);
      EXPECT_EQ(x.budget->token_bucket.token_ratio, y.budget->token_bucket.token_ratio);
      EXPECT_EQ(x.budget->ratio.percent, y.budget->ratio.percent);
      EXPECT_EQ(x.budget->ratio.min_per_s, y.budget->ratio.min_per_s);
      EXPECT_EQ(x.budget->ratio.ttl, y.budget->ratio.ttl);
    }
    ASSERT_EQ(x.breaker.has_value(), y.breaker.has_value());
    if (x.breaker) {
      EXPECT_EQ(x.breaker->failures, y.breaker->failures);
      EXPECT_EQ(x.breaker->open_for, y.breaker->open_for);
      EXPECT_EQ(x.breaker->half_open_probes, y.breaker->half_open_probes);
    }
    ASSERT_EQ(x.adaptive_throttle.has_value(), y.adaptive_throttle.has_value());
    if (x.adaptive_throttle) {
      EXPECT_EQ(x.adaptive_throttle->k, y.adaptive_throttle->k);
      EXPECT_EQ(x.adaptive_throttle->window, y.adaptive_throttle->window);
    }
    EXPECT_EQ(x.connections, y.connections);
    EXPECT_EQ(x.pool_size, y.pool_size);
  }
  ASSERT_EQ(a.faults.size(), b.faults.size());
  for (size_t i = 0; i < a.faults.size(); ++i) {
    EXPECT_EQ(a.faults[i].kind, b.faults[i].kind);
    EXPECT_EQ(a.faults[i].at, b.faults[i].at);
    EXPECT_EQ(a.faults[i].end, b.faults[i].end);
    EXPECT_EQ(a.faults[i].replica, b.faults[i].replica);
    EXPECT_EQ(FaultParameters(a.faults[i]), FaultParameters(b.faults[i]));
  }
  EXPECT_EQ(a.resolved["probes"], b.resolved["probes"]);
  EXPECT_EQ(a.resolved["monitors"], b.resolved["monitors"]);
  EXPECT_EQ(a.resolved["durability"], b.resolved["durability"]);
  EXPECT_EQ(a.gates, b.gates);
  EXPECT_EQ(a.resolved, b.resolved);
}

// ---------------------------------------------------------------------------
// Whole files.

TEST(Scenario, DesignExampleParsesIntoEveryField) {
  Scenario s;
  std::vector<ParseError> errors;
  ASSERT_TRUE(LoadScenario(FixturePath("design_example.jsonc"), {}, &s, &errors)) << Join(errors);

  EXPECT_EQ(s.name, "fig9-5-exponential-jitter");
  EXPECT_EQ(s.duration, 240s);
  EXPECT_EQ(s.bucket, 1s);
  EXPECT_EQ(s.seed, 7u);

  ASSERT_TRUE(s.target.launch.has_value());
  EXPECT_EQ(s.target.launch->command,
            (std::vector<std::string>{"kvd", "--http", "127.0.0.1:{port}"}));
  EXPECT_EQ(s.target.launch->replicas, 1);
  EXPECT_EQ(s.target.launch->ready, "/healthz");
  EXPECT_EQ(s.target.launch->ready_timeout, 15s);  // not in the file: the default
  // Every section as DESIGN.md writes it.
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].kind, FaultSpec::Kind::kHttpError);
  EXPECT_EQ(s.faults[0].end, 240s);
  EXPECT_EQ(s.faults[0].proxy.latency_hi, std::chrono::milliseconds(198));
  ASSERT_EQ(s.probes.size(), 1u);
  EXPECT_EQ(s.probes[0].period, 1s);
  ASSERT_EQ(s.monitors.size(), 2u);
  EXPECT_EQ(s.monitors[1].series, std::vector<std::string>{"kvd_tasks"});
  EXPECT_FALSE(s.durability.has_value());
  ASSERT_EQ(s.gates.size(), 1u);
  EXPECT_EQ(s.target.url, "");
  EXPECT_EQ(s.target.protocol, Target::Protocol::kHttp);
  EXPECT_FALSE(s.target.allow_remote);

  ASSERT_EQ(s.fleets.size(), 1u);
  const Fleet& f = s.fleets[0];
  EXPECT_EQ(f.name, "clients");
  EXPECT_EQ(f.instances, 1000);
  EXPECT_EQ(f.start_spread, 1s);
  EXPECT_EQ(f.arrival.model, Arrival::Model::kClosed);
  EXPECT_EQ(f.arrival.requests_per_instance, 1);
  EXPECT_EQ(f.arrival.think, 0s);
  EXPECT_DOUBLE_EQ(f.workload.get, 0.9);
  EXPECT_DOUBLE_EQ(f.workload.put, 0.1);
  EXPECT_DOUBLE_EQ(f.workload.del, 0.0);
  EXPECT_EQ(f.workload.keys.count, 10000);
  EXPECT_EQ(f.workload.keys.distribution, KeySpace::Distribution::kZipf);
  EXPECT_DOUBLE_EQ(f.workload.keys.zipf_s, 1.1);
  EXPECT_EQ(f.workload.value_bytes, 128);
  EXPECT_TRUE(f.workload.requests.empty());
  EXPECT_EQ(f.timeout, 1s);
  EXPECT_EQ(f.retry.strategy, Strategy::kBookJitter);
  EXPECT_EQ(f.retry.base, 1s);
  EXPECT_EQ(f.retry.cap, 60s);
  EXPECT_EQ(f.retry.max_attempts, 0);
  const OutcomeSet expected_on = {Outcome::kShed, Outcome::kServerError, Outcome::kTimeout,
                                  Outcome::kRefused, Outcome::kReset};
  EXPECT_TRUE(f.retry.retry_on == expected_on);
  EXPECT_FALSE(f.retry.honor_retry_after);
  EXPECT_FALSE(f.budget.has_value());
  EXPECT_FALSE(f.breaker.has_value());
  EXPECT_FALSE(f.adaptive_throttle.has_value());

  EXPECT_EQ(s.resolved.at("name"), "fig9-5-exponential-jitter");
}

TEST(Scenario, MinimalScenarioGetsTheDocumentedDefaults) {
  Scenario s = ParseOk(Minimal());
  EXPECT_EQ(s.duration, 60s);
  EXPECT_EQ(s.bucket, 1s);
  EXPECT_EQ(s.seed, 1u);
  EXPECT_FALSE(s.target.launch.has_value());
  EXPECT_EQ(s.target.url, "127.0.0.1:8080");
  EXPECT_EQ(s.target.protocol, Target::Protocol::kHttp);
  EXPECT_FALSE(s.target.allow_remote);
  ASSERT_EQ(s.fleets.size(), 1u);
  const Fleet& f = s.fleets[0];
  EXPECT_EQ(f.name, "clients");
  EXPECT_EQ(f.instances, 1);
  EXPECT_EQ(f.start_spread, 0s);
  EXPECT_EQ(f.arrival.model, Arrival::Model::kClosed);
  EXPECT_EQ(f.arrival.requests_per_instance, 0);
  EXPECT_EQ(f.arrival.think, 0s);
  EXPECT_EQ(f.arrival.spacing, Arrival::Spacing::kUniform);
  EXPECT_EQ(f.workload.get, 1);
  EXPECT_EQ(f.workload.put, 0);
  EXPECT_EQ(f.workload.del, 0);
  EXPECT_EQ(f.workload.keys.count, 10000);
  EXPECT_EQ(f.workload.keys.distribution, KeySpace::Distribution::kUniform);
  EXPECT_EQ(f.workload.keys.prefix, "k");
  EXPECT_EQ(f.workload.value_bytes, 128);
  EXPECT_EQ(f.timeout, 1s);
  EXPECT_EQ(f.deadline, 0s);
  EXPECT_EQ(f.retry.strategy, Strategy::kNone);
  EXPECT_EQ(f.retry.base, 1s);
  EXPECT_EQ(f.retry.cap, 60s);
  EXPECT_EQ(f.retry.delay, 2s);
  EXPECT_EQ(f.retry.max_attempts, 0);
  EXPECT_TRUE(f.retry.retry_on == RetryPolicy{}.retry_on);
  EXPECT_FALSE(f.retry.honor_retry_after);
  EXPECT_FALSE(f.budget.has_value());
  EXPECT_FALSE(f.breaker.has_value());
  EXPECT_FALSE(f.adaptive_throttle.has_value());
  EXPECT_EQ(f.connections, Fleet::Connections::kShared);
  EXPECT_EQ(f.pool_size, 64);
}

TEST(Scenario, EmptySectionsGetTheirDefaults) {
  Scenario s = ParseOk(WithFleet({{"budget", json::object()},
                                  {"breaker", json::object()},
                                  {"adaptive_throttle", json::object()}}));
  const Fleet& f = s.fleets[0];
  ASSERT_TRUE(f.budget && f.breaker && f.adaptive_throttle);
  EXPECT_EQ(f.budget->kind, BudgetSpec::Kind::kTokenBucket);
  EXPECT_EQ(f.budget->token_bucket.max_tokens, 10);
  EXPECT_EQ(f.budget->token_bucket.token_ratio, 0.1);
  EXPECT_EQ(f.breaker->failures, 5);
  EXPECT_EQ(f.breaker->open_for, 5s);
  EXPECT_EQ(f.breaker->half_open_probes, 1);
  EXPECT_EQ(f.adaptive_throttle->k, 2.0);
  EXPECT_EQ(f.adaptive_throttle->window, 120s);

  Scenario launched =
      ParseOk(Minimal({{"target", {{"url", nullptr}, {"launch", {{"command", {"kvd"}}}}}}}));
  ASSERT_TRUE(launched.target.launch.has_value());
  EXPECT_EQ(launched.target.launch->replicas, 1);
  EXPECT_EQ(launched.target.launch->ready, "/readyz");
  EXPECT_EQ(launched.target.launch->ready_timeout, 15s);
}

TEST(Scenario, OpenModelRatioBudgetTemplatesAndGrpc) {
  json doc = Read(R"({
    "name": "open.v2_x", "duration": "1m", "bucket": "10ms", "seed": 18446744073709551615,
    "target": {"url": "http://[::1]:8080/base", "protocol": "http", "allow_remote": true},
    "fleets": [
      {"name": "a", "arrival": {"model": "open", "rate": 2000,
                                "stages": [{"to": 8000, "over": "60s"}, {"to": 0, "over": "0s"}],
                                "spacing": "poisson"},
       "workload": {"mix": {"get": 1, "put": 2, "delete": 1},
                    "keys": {"count": 5, "distribution": "zipf", "prefix": ""}},
       "budget": {"kind": "ratio", "percent": 12.5, "min_per_s": 0, "ttl": "2s"},
       "connections": "per_instance", "pool_size": 1, "deadline": "5s",
       "retry": {"strategy": "fixed", "delay": "150ms", "max_attempts": 3, "on": [],
                 "honor_retry_after": true}},
      {"name": "b", "instances": 1e3,
       "workload": {"keys": {"distribution": "sequential"}, "value_bytes": 0,
                    "requests": [{"method": "POST", "path": "/v1/{key}",
                                  "headers": {"X-Client-Id": "{instance}"}, "body": "{value}"}]}}
    ]
  })");
  Scenario s = ParseOk(doc);
  EXPECT_EQ(s.bucket, 10ms);
  EXPECT_EQ(s.seed, 18446744073709551615u);
  EXPECT_TRUE(s.target.allow_remote);
  const Fleet& a = s.fleets[0];
  EXPECT_EQ(a.arrival.model, Arrival::Model::kOpen);
  EXPECT_EQ(a.arrival.rate, 2000);
  ASSERT_EQ(a.arrival.stages.size(), 2u);
  EXPECT_EQ(a.arrival.stages[0].to, 8000);
  EXPECT_EQ(a.arrival.stages[0].over, 60s);
  EXPECT_EQ(a.arrival.spacing, Arrival::Spacing::kPoisson);
  EXPECT_DOUBLE_EQ(a.workload.get, 0.25);  // normalised
  EXPECT_DOUBLE_EQ(a.workload.put, 0.5);
  EXPECT_DOUBLE_EQ(a.workload.del, 0.25);
  EXPECT_EQ(a.workload.keys.distribution, KeySpace::Distribution::kZipf);
  EXPECT_EQ(a.workload.keys.zipf_s, 1.1);
  EXPECT_EQ(a.workload.keys.prefix, "");
  ASSERT_TRUE(a.budget.has_value());
  EXPECT_EQ(a.budget->kind, BudgetSpec::Kind::kRatio);
  EXPECT_EQ(a.budget->ratio.percent, 12.5);
  EXPECT_EQ(a.budget->ratio.min_per_s, 0);
  EXPECT_EQ(a.budget->ratio.ttl, 2s);
  EXPECT_EQ(a.connections, Fleet::Connections::kPerInstance);
  EXPECT_EQ(a.deadline, 5s);
  EXPECT_EQ(a.retry.strategy, Strategy::kFixed);
  EXPECT_EQ(a.retry.delay, 150ms);
  EXPECT_EQ(a.retry.max_attempts, 3);
  EXPECT_TRUE(a.retry.retry_on.empty());  // [] retries nothing
  EXPECT_TRUE(a.retry.honor_retry_after);
  const Fleet& b = s.fleets[1];
  EXPECT_EQ(b.instances, 1000);
  EXPECT_EQ(b.workload.keys.distribution, KeySpace::Distribution::kSequential);
  ASSERT_EQ(b.workload.requests.size(), 1u);
  EXPECT_EQ(b.workload.requests[0].method, "POST");
  EXPECT_EQ(b.workload.requests[0].headers.at("X-Client-Id"), "{instance}");
  EXPECT_EQ(b.workload.requests[0].body, "{value}");

  // gRPC: templates are HTTP only.
  doc["target"]["protocol"] = "grpc";
  EXPECT_TRUE(HasErrorWith(ErrorsOf(doc), "fleets[1].workload.requests: ", {"http"}));
}

// ---------------------------------------------------------------------------
// Comments.

TEST(Scenario, CommentsAreIgnoredOutsideStrings) {
  json doc = Read(R"(// leading line comment
  {
    /* a block
       comment */ "name": "c", // trailing
    "target": {"url": "127.0.0.1:1" /* inline */},
    "fleets": [{"name": "x//y/*z*/",
                "workload": {"requests": [{"path": "/a//b",
                                           "body": "/* not a comment */ // nor this"}]}}]
  }
  // trailing comment at the end, no newline)");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.at("name"), "c");
  EXPECT_EQ(doc["fleets"][0]["name"], "x//y/*z*/");
  EXPECT_EQ(doc["fleets"][0]["workload"]["requests"][0]["path"], "/a//b");
  EXPECT_EQ(doc["fleets"][0]["workload"]["requests"][0]["body"], "/* not a comment */ // nor this");
  EXPECT_EQ(doc.size(), 3u);
}

TEST(Scenario, SyntaxErrorsReportLineAndColumn) {
  json doc;
  ParseError error;
  ASSERT_FALSE(
      ReadJsonWithComments("{\n  \"name\": \"x\",  // fine\n  \"seed\" 7\n}", &doc, &error));
  EXPECT_EQ(error.path, "");
  EXPECT_TRUE(error.message.starts_with("line 3, column 10: ")) << error.message;

  // A token is reported where it starts, escaped quotes and all.
  ASSERT_FALSE(ReadJsonWithComments("{\"a\": 1\n  \"s\\\"x\" : 2}", &doc, &error));
  EXPECT_TRUE(error.message.starts_with("line 2, column 3: ")) << error.message;
  ASSERT_FALSE(ReadJsonWithComments("[1,\n  12345 6]", &doc, &error));
  EXPECT_TRUE(error.message.starts_with("line 2, column 9: ")) << error.message;
  ASSERT_FALSE(ReadJsonWithComments("[1,\n  true false]", &doc, &error));
  EXPECT_TRUE(error.message.starts_with("line 2, column 8: ")) << error.message;

  ASSERT_FALSE(ReadJsonWithComments("{\n\"a\": [1, 2,]\n}", &doc, &error));
  EXPECT_TRUE(error.message.starts_with("line 2, column 12: ")) << error.message;

  ASSERT_FALSE(ReadJsonWithComments("{\"a\": 1} /* never closed", &doc, &error));
  EXPECT_TRUE(error.message.starts_with("line 1, column ")) << error.message;
  EXPECT_NE(error.message.find("comment"), std::string::npos) << error.message;

  ASSERT_FALSE(ReadJsonWithComments("", &doc, &error));
  EXPECT_TRUE(error.message.starts_with("line 1, column 1: ")) << error.message;
}

// ---------------------------------------------------------------------------
// Errors name the JSON path.

TEST(ScenarioErrors, TypoSuggestsTheClosestField) {
  auto errors = ErrorsOf(WithFleet({{"retyr", {{"strategy", "fixed"}}}}));
  EXPECT_TRUE(HasError(errors, "fleets[0].retyr: unknown field (did you mean \"retry\"?)"));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"durtion", "1s"}})),
                       "durtion: unknown field (did you mean \"duration\"?)"));
  // Nothing close: the list of what is allowed instead.
  EXPECT_TRUE(HasErrorWith(ErrorsOf(WithFleet({{"breaker", {{"zzzzzzzz", 1}}}})),
                           "fleets[0].breaker.zzzzzzzz: unknown field (expected one of: ",
                           {"\"failures\"", "\"open_for\"", "\"half_open_probes\""}));
}

TEST(ScenarioErrors, WrongTypeForADuration) {
  auto errors = ErrorsOf(WithFleet({{"retry", {{"base", 5}}}}));
  EXPECT_TRUE(HasError(errors, "fleets[0].retry.base: expected a duration like \"1s\", got 5"));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"duration", "5"}})),
                       "duration: expected a duration like \"1s\", got \"5\""));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"timeout", "0s"}})),
                       "fleets[0].timeout: must be more than 0s, got \"0s\""));
}

TEST(ScenarioErrors, ImpossibleNumbers) {
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"arrival", {{"model", "open"}, {"rate", -5}}}})),
                       "fleets[0].arrival.rate: must not be negative, got -5"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"instances", 0}})),
                       "fleets[0].instances: must be at least 1, got 0"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"instances", 1.5}})),
                       "fleets[0].instances: expected an integer, got 1.5"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"retry", {{"max_attempts", -1}}}})),
                       "fleets[0].retry.max_attempts: must not be negative, got -1"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"budget", {{"kind", "ratio"}, {"percent", 101}}}})),
                       "fleets[0].budget.percent: must be between 0 and 100, got 101"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"workload", {{"mix", {{"get", 0}, {"put", 0}}}}}})),
                       "fleets[0].workload.mix: the weights must not all be zero"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"workload", {{"mix", {{"get", -1}, {"put", 2}}}}}})),
                       "fleets[0].workload.mix.get: must not be negative, got -1"));
  EXPECT_TRUE(
      HasErrorWith(ErrorsOf(WithFleet({{"workload", {{"keys", {{"distribution", "zipf:0"}}}}}})),
                   "fleets[0].workload.keys.distribution: ", {"more than 0", "zipf:0"}));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"bucket", "5ms"}})),
                       "bucket: must be at least 10ms, got \"5ms\""));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"duration", "10s"}, {"bucket", "20s"}})),
                       "bucket: must be at most the duration (10s), got \"20s\""));
  EXPECT_TRUE(
      HasErrorWith(ErrorsOf(Minimal({{"duration", "500ms"}})), "bucket: the default bucket (1s)"));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"duration", "0s"}})),
                       "duration: must be more than 0s, got \"0s\""));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"seed", -3}})), "seed: must not be negative, got -3"));
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"seed", "7"}})),
                       "seed: expected a non-negative integer, got \"7\""));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"breaker", {{"failures", 0}}}})),
                       "fleets[0].breaker.failures: must be at least 1, got 0"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"adaptive_throttle", {{"k", 0}}}})),
                       "fleets[0].adaptive_throttle.k: must be more than 0, got 0"));
}

TEST(ScenarioErrors, UnknownStrategyListsTheValidNames) {
  auto errors = ErrorsOf(WithFleet({{"retry", {{"strategy", "jitter"}}}}));
  EXPECT_TRUE(
      HasErrorWith(errors, "fleets[0].retry.strategy: unknown strategy \"jitter\"",
                   {"\"none\"", "\"immediate\"", "\"fixed\"", "\"exponential\"", "\"book-jitter\"",
                    "\"full-jitter\"", "\"equal-jitter\"", "\"decorrelated\""}));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(WithFleet({{"retry", {{"strategy", "book_jitter"}}}})),
                           "fleets[0].retry.strategy: ", {"(did you mean \"book-jitter\"?)"}));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(WithFleet({{"retry", {{"strategy", 3}}}})),
                           "fleets[0].retry.strategy: unknown strategy 3; expected one of "));
}

TEST(ScenarioErrors, UnknownOutcomeInRetryOn) {
  auto errors = ErrorsOf(WithFleet({{"retry", {{"on", {"shed", "tiemout", "ok"}}}}}));
  EXPECT_TRUE(HasErrorWith(errors, "fleets[0].retry.on[1]: unknown outcome \"tiemout\"",
                           {"\"throttled\"", "(did you mean \"timeout\"?)"}));
  EXPECT_TRUE(HasErrorWith(errors, "fleets[0].retry.on[2]: ", {"never retried"}));
}

TEST(ScenarioErrors, EveryErrorIsReportedNotJustTheFirst) {
  json doc = Minimal({{"duration", 5}});
  doc["fleets"] = {{{"instances", 0}}, {{"name", "b"}, {"retry", {{"base", true}}}}};
  auto errors = ErrorsOf(doc);
  EXPECT_EQ(errors.size(), 3u);
  EXPECT_TRUE(HasError(errors, "duration: expected a duration like \"1s\", got 5"));
  EXPECT_TRUE(HasError(errors, "fleets[0].instances: must be at least 1, got 0"));
  EXPECT_TRUE(HasError(errors, "fleets[1].retry.base: expected a duration like \"1s\", got true"));
}

TEST(ScenarioErrors, RequiredFields) {
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"name", nullptr}})), "name: required"));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"name", ""}})), "name: must not be empty"));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"name", "../etc"}})), "name: must start with"));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"name", "a b"}})), "name: ", {"letters, digits"}));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"target", nullptr}})), "target: required"));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"fleets", nullptr}})), "fleets: required"));
  EXPECT_TRUE(
      HasError(ErrorsOf(Minimal({{"fleets", json::array()}})), "fleets: needs at least one fleet"));
  EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"target", {{"url", nullptr}}}})), "target: needs"));
}

TEST(ScenarioErrors, TargetNeedsExactlyOneOfLaunchAndUrl) {
  auto both = ErrorsOf(Minimal({{"target", {{"launch", {{"command", {"kvd"}}}}}}}));
  EXPECT_TRUE(HasError(both, "target: give exactly one of launch, url and model"));
  EXPECT_TRUE(HasErrorWith(
      ErrorsOf(Minimal({{"target", {{"url", nullptr}, {"launch", {{"command", json::array()}}}}}})),
      "target.launch.command: must not be empty"));
  EXPECT_TRUE(HasError(
      ErrorsOf(Minimal({{"target", {{"url", nullptr}, {"launch", {{"command", {"kvd", 5}}}}}}})),
      "target.launch.command[1]: expected a string, got 5"));
  for (const char* bad : {"localhost", "127.0.0.1:", "127.0.0.1:99999", "https://a:1", "a b:80",
                          "http://:80", "[::1]80"}) {
    EXPECT_TRUE(HasErrorWith(ErrorsOf(Minimal({{"target", {{"url", bad}}}})), "target.url: "))
        << bad;
  }
  for (const char* good : {"localhost:80", "http://127.0.0.1:8080", "http://h.example:1/x/y",
                           "[::1]:50051", "10.1.2.3:65535"}) {
    EXPECT_EQ(ParseOk(Minimal({{"target", {{"url", good}}}})).target.url, good);
  }
}

TEST(ScenarioErrors, ModelSpecificFields) {
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"arrival", {{"rate", 100}}}})),
                       "fleets[0].arrival.rate: rate is only for the open model"));
  EXPECT_TRUE(HasError(
      ErrorsOf(WithFleet({{"arrival", {{"model", "open"}, {"rate", 1}, {"think", "1s"}}}})),
      "fleets[0].arrival.think: think is only for the closed model"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"arrival", {{"model", "open"}}}})),
                       "fleets[0].arrival: an open-model fleet needs rate > 0 or stages"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"arrival", {{"model", "opn"}}}})),
                       "fleets[0].arrival.model: unknown value \"opn\" (did you mean \"open\"?)"));
  EXPECT_TRUE(
      HasError(ErrorsOf(WithFleet({{"arrival", {{"model", "open"}, {"stages", {{{"to", 5}}}}}}})),
               "fleets[0].arrival.stages[0].over: required"));
  EXPECT_TRUE(HasError(ErrorsOf(WithFleet({{"budget", {{"percent", 5}}}})),
                       "fleets[0].budget.percent: percent is only for kind \"ratio\""));
  EXPECT_TRUE(HasErrorWith(
      ErrorsOf(WithFleet({{"workload", {{"mix", {{"get", 1}}}, {"requests", {json::object()}}}}})),
      "fleets[0].workload.requests: ", {"not both"}));
}

TEST(ScenarioErrors, FleetNamesAreUnique) {
  json doc = Minimal();
  doc["fleets"] = {json::object(), {{"name", "b"}}, json::object()};
  EXPECT_TRUE(HasError(ErrorsOf(doc),
                       "fleets[2].name: duplicate fleet name \"clients\" (fleets[0] has it too)"));
}

TEST(ScenarioErrors, EmptySectionsParse) {
  EXPECT_TRUE(HasError(ErrorsOf(Minimal({{"gates", 3}})),
                       "gates: expected an array of gates like [{\"metric\": \"amplification\", \"max\": 2}], "
                       "got 3"));
  json empty = Minimal();
  for (const char* key : {"faults", "probes", "monitors", "gates"}) empty[key] = json::array();
  empty["durability"] = nullptr;
  Scenario s = ParseOk(empty);
  EXPECT_TRUE(s.faults.empty());
  EXPECT_FALSE(s.durability.has_value());
}


// Some error starts with `prefix`.
::testing::AssertionResult Starts(const std::vector<std::string>& errors, const std::string& prefix) {
  for (const std::string& e : errors) {
    if (e.starts_with(prefix)) return ::testing::AssertionSuccess();
  }
  auto failure = ::testing::AssertionFailure() << "no error starting \"" << prefix << "\" among:";
  for (const std::string& e : errors) failure << "\n  " << e;
  return failure;
}

// A launched target with two replicas, 60 s, and these faults.
json WithFaults(const json& faults) {
  json doc = Minimal({{"target", {{"url", nullptr}, {"launch", {{"command", {"kvd"}}, {"replicas", 2}}}}},
                      {"duration", "60s"}});
  doc["faults"] = faults;
  return doc;
}

TEST(ScenarioFaults, WindowsReplicasAndParameters) {
  Scenario s = ParseOk(WithFaults({
      {{"kind", "latency"}, {"at", "10s"}, {"for", "5s"}, {"latency", "100ms"}, {"jitter", "10ms"}},
      {{"kind", "down"}, {"at", "20s"}, {"until", "40s"}, {"replica", 1}},
      {{"kind", "kill"}, {"at", "30s"}},
      {{"kind", "term"}, {"at", "30s"}, {"restart_after", nullptr}},
      {{"kind", "http_error"}, {"at", "0s"}, {"probability", 0.25}, {"latency", "0ms-198ms"}},
      {{"kind", "admin"}, {"at", "5s"}, {"for", "1s"}, {"error_rate", 0.5}, {"leak", "task"}},
      {{"kind", "http_delay"}, {"at", "1s"}, {"mean", "50ms"}, {"stddev", "5ms"}},
  }));
  ASSERT_EQ(s.faults.size(), 7u);
  const FaultSpec& latency = s.faults[0];
  EXPECT_EQ(latency.kind, FaultSpec::Kind::kLatency);
  EXPECT_EQ(latency.at, std::chrono::seconds(10));
  EXPECT_EQ(latency.end, std::chrono::seconds(15));
  EXPECT_EQ(latency.replica, -1);
  EXPECT_EQ(latency.proxy.latency, std::chrono::milliseconds(100));
  EXPECT_EQ(latency.proxy.direction, ProxyFault::Direction::kDown);
  EXPECT_EQ(latency.proxy.toxicity, 1.0);
  EXPECT_EQ(s.faults[1].end, std::chrono::seconds(40));
  EXPECT_EQ(s.faults[1].replica, 1);
  EXPECT_EQ(s.faults[2].restart_after, Duration(std::chrono::seconds(1)));  // kill's default
  EXPECT_EQ(s.faults[2].end, std::chrono::seconds(31));
  EXPECT_FALSE(s.faults[3].restart_after.has_value());                        // stays down
  EXPECT_EQ(s.faults[3].end, std::chrono::seconds(60));
  EXPECT_EQ(s.faults[4].end, std::chrono::seconds(60));                       // to the end of the run
  EXPECT_EQ(s.faults[4].proxy.status, 503);
  EXPECT_EQ(s.faults[4].proxy.latency_hi, std::chrono::milliseconds(198));
  EXPECT_EQ(s.faults[5].admin, json({{"error_rate", 0.5}, {"leak", "task"}}));
  EXPECT_TRUE(s.faults[6].proxy.normal);
  EXPECT_EQ(s.faults[6].proxy.mean, std::chrono::milliseconds(50));
  // Resolved and parsed again: the same faults (the round trip test checks the rest).
  EXPECT_EQ(s.resolved["faults"][2]["restart_after"], "1s");
  EXPECT_EQ(s.resolved["faults"][1]["replica"], 1);
  EXPECT_EQ(s.resolved["faults"][0]["replica"], "all");
  Scenario again = ParseOk(s.resolved);
  ASSERT_EQ(again.faults.size(), 7u);
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(FaultParameters(again.faults[i]), FaultParameters(s.faults[i])) << i;
    EXPECT_EQ(again.faults[i].end, s.faults[i].end) << i;
  }
}

TEST(ScenarioFaults, BadFaultsNameTheField) {
  auto errors = [](const json& fault) { return ErrorsOf(WithFaults(json::array({fault}))); };
  EXPECT_TRUE(Starts(errors({{"kind", "latncy"}}), "faults[0].kind: unknown value \"latncy\" (did you mean \"latency\"?)"));
  EXPECT_TRUE(Starts(errors({{"at", "1s"}}), "faults[0].kind: required"));
  EXPECT_TRUE(Starts(errors({{"kind", "pause"}, {"for", "-1s"}}), "faults[0].for: expected a duration"));
  EXPECT_TRUE(Starts(errors({{"kind", "pause"}, {"replica", 2}}), "faults[0].replica: the target has 2 replicas (0..1), got 2"));
  EXPECT_TRUE(Starts(errors({{"kind", "pause"}, {"at", "50s"}, {"for", "20s"}}),
                       "faults[0].for: the window ends at 70s, past the end of the run (1m)"));
  EXPECT_TRUE(Starts(errors({{"kind", "pause"}, {"at", "70s"}}), "faults[0].at: must be before the end of the run"));
  EXPECT_TRUE(Starts(errors({{"kind", "kill"}, {"at", "59s"}, {"restart_after", "2s"}}),
                       "faults[0].restart_after: the window ends at 61s, past the end of the run"));
  EXPECT_TRUE(Starts(errors({{"kind", "kill"}, {"for", "2s"}}), "faults[0].for: for is not used by kill and term"));
  EXPECT_TRUE(Starts(errors({{"kind", "reset"}, {"kbps", 5}}), "faults[0].kbps: unknown field"));
  EXPECT_TRUE(Starts(errors({{"kind", "latency"}}), "faults[0].latency: required for latency"));
  EXPECT_TRUE(Starts(errors({{"kind", "latency"}, {"latency", "1ms"}, {"toxicity", 2}}),
                       "faults[0].toxicity: must be between 0 and 1"));
  EXPECT_TRUE(Starts(errors({{"kind", "admin"}}), "faults[0]: admin needs at least one of"));
  EXPECT_TRUE(Starts(errors({{"kind", "pause"}, {"for", "1s"}, {"until", "2s"}}), "faults[0].until: give for or until"));
  EXPECT_TRUE(Starts(errors({{"kind", "http_delay"}}), "faults[0].latency: give either latency"));
  // What the target cannot take.
  EXPECT_TRUE(Starts(ErrorsOf(Minimal({{"faults", {{{"kind", "kill"}}}}})),
                       "faults[0].kind: kill needs a target herd launches"));
  json grpc = WithFaults({{{"kind", "http_error"}}});
  grpc["target"]["protocol"] = "grpc";
  EXPECT_TRUE(Starts(ErrorsOf(grpc), "faults[0].kind: http_error needs target.protocol \"http\""));
  EXPECT_TRUE(Starts(errors(5), "faults[0]: expected an object (a fault), got 5"));
  // A url target has one replica; TCP faults work on it.
  ParseOk(Minimal({{"faults", {{{"kind", "down"}, {"at", "1s"}, {"for", "1s"}}}}}));
}

TEST(ScenarioObserve, ProbesMonitorsAndDurability) {
  json doc = WithFaults(json::array());
  doc["probes"] = {{{"name", "deep"}, {"path", "/healthz/deep"}, {"period", "1s"}, {"action", "restart"}},
                   json::object()};
  doc["monitors"] = {{{"kind", "process"}}, {{"kind", "prometheus"}, {"series", {"kvd_tasks", "go_goroutines"}}}};
  doc["durability"] = {{"writes", 500}};
  Scenario s = ParseOk(doc);
  ASSERT_EQ(s.probes.size(), 2u);
  EXPECT_EQ(s.probes[0].name, "deep");
  EXPECT_EQ(s.probes[0].path, "/healthz/deep");
  EXPECT_EQ(s.probes[0].period, std::chrono::seconds(1));
  EXPECT_EQ(s.probes[0].action, ProbeSpec::Action::kRestart);
  // Kubernetes' defaults.
  EXPECT_EQ(s.probes[1].name, "liveness");
  EXPECT_EQ(s.probes[1].period, std::chrono::seconds(10));
  EXPECT_EQ(s.probes[1].timeout, std::chrono::seconds(1));
  EXPECT_EQ(s.probes[1].failure_threshold, 3);
  EXPECT_EQ(s.probes[1].success_threshold, 1);
  ASSERT_EQ(s.monitors.size(), 2u);
  EXPECT_EQ(s.monitors[0].name, "process");
  EXPECT_EQ(s.monitors[1].name, "prometheus");
  EXPECT_EQ(s.monitors[1].path, "/metrics");
  EXPECT_EQ(s.monitors[1].series, (std::vector<std::string>{"kvd_tasks", "go_goroutines"}));
  ASSERT_TRUE(s.durability.has_value());
  EXPECT_EQ(s.durability->writes, 500);
  EXPECT_EQ(s.durability->timeout, std::chrono::seconds(1));
  Scenario again = ParseOk(s.resolved);
  EXPECT_EQ(again.resolved, s.resolved);
}

TEST(ScenarioObserve, BadSectionsNameTheField) {
  auto errors = [](const char* key, const json& value) {
    json doc = WithFaults(json::array());
    doc[key] = value;
    return ErrorsOf(doc);
  };
  EXPECT_TRUE(Starts(errors("probes", {{{"period", "0s"}}}), "probes[0].period: must be more than 0s"));
  EXPECT_TRUE(Starts(errors("probes", {{{"action", "reboot"}}}), "probes[0].action: unknown value \"reboot\""));
  EXPECT_TRUE(Starts(errors("probes", {{{"action", "restart"}, {"success_threshold", 2}}}),
                     "probes[0].success_threshold: must be 1"));
  EXPECT_TRUE(Starts(errors("probes", {json::object(), json::object()}), "probes[1].name: duplicate name \"liveness\""));
  EXPECT_TRUE(Starts(errors("probes", {{{"kind", "grpc"}}}), "probes[0].kind: gRPC health probes need"));
  EXPECT_TRUE(Starts(errors("monitors", {{{"kind", "prometheus"}}}), "monitors[0].series: required"));
  EXPECT_TRUE(Starts(errors("monitors", {{{"kind", "proc"}}}), "monitors[0].kind: unknown value \"proc\""));
  EXPECT_TRUE(Starts(errors("monitors", {{{"kind", "process"}, {"series", {"x"}}}}),
                     "monitors[0].series: series is only for kind \"prometheus\""));
  EXPECT_TRUE(Starts(errors("durability", {{"writes", 0}}), "durability.writes: must be at least 1"));
  EXPECT_TRUE(Starts(errors("durability", 5), "durability: expected an object"));
  // A url target: no restart, no process monitor without a pid.
  EXPECT_TRUE(Starts(ErrorsOf(Minimal({{"probes", {{{"action", "restart"}}}}})), "probes[0].action: restart needs"));
  EXPECT_TRUE(Starts(ErrorsOf(Minimal({{"monitors", {{{"kind", "process"}}}}})), "monitors[0].kind: a process monitor"));
  ParseOk(Minimal({{"monitors", {{{"kind", "process"}, {"pid", 1}}}}}));
}

TEST(ScenarioErrors, LoadScenarioNamesTheFile) {
  Scenario s;
  std::vector<ParseError> errors;
  EXPECT_FALSE(LoadScenario("/nonexistent/herd/x.jsonc", {}, &s, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].ToString().find("/nonexistent/herd/x.jsonc"), std::string::npos)
      << errors[0].ToString();

  errors.clear();
  const std::string dir = std::filesystem::path(FixturePath("x")).parent_path().string();
  EXPECT_FALSE(LoadScenario(dir, {}, &s, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("directory"), std::string::npos) << errors[0].message;

  // Syntax errors name the file as well as the line and column.
  const std::string broken = (std::filesystem::temp_directory_path() /
                              ("herd_scenario_test_" + std::to_string(::getpid()) + ".jsonc"))
                                 .string();
  {
    std::ofstream out(broken);
    out << "{\n  \"name\": \"x\"\n  \"seed\": 1\n}\n";
  }
  errors.clear();
  EXPECT_FALSE(LoadScenario(broken, {}, &s, &errors));
  std::filesystem::remove(broken);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].message.starts_with(broken + ": line 3, column 3: ")) << errors[0].message;
}

// ---------------------------------------------------------------------------
// --set.

TEST(Overrides, SetScalarsByPath) {
  json doc = Read(kMinimal);
  ParseError error;
  ASSERT_TRUE(ApplyOverride("fleets[0].instances=200", &doc, &error)) << error.ToString();
  ASSERT_TRUE(ApplyOverride("duration=30s", &doc, &error)) << error.ToString();
  ASSERT_TRUE(ApplyOverride("seed=9", &doc, &error)) << error.ToString();
  ASSERT_TRUE(ApplyOverride("fleets[0].retry.honor_retry_after=true", &doc, &error));
  ASSERT_TRUE(ApplyOverride("name=\"quoted\"", &doc, &error));
  EXPECT_EQ(doc["fleets"][0]["instances"], 200);
  EXPECT_EQ(doc["duration"], "30s");  // not JSON, so a string
  EXPECT_EQ(doc["seed"], 9);          // JSON, so a number
  Scenario s = ParseOk(doc);
  EXPECT_EQ(s.name, "quoted");
  EXPECT_EQ(s.fleets[0].instances, 200);
  EXPECT_EQ(s.duration, 30s);
  EXPECT_EQ(s.seed, 9u);
  EXPECT_TRUE(s.fleets[0].retry.honor_retry_after);
}

TEST(Overrides, CreateNestedObjectsAndReplaceWholeValues) {
  json doc = Read(kMinimal);
  ParseError error;
  ASSERT_TRUE(ApplyOverride("fleets[0].retry.base=250ms", &doc, &error)) << error.ToString();
  ASSERT_TRUE(ApplyOverride("fleets[0].budget.kind=ratio", &doc, &error)) << error.ToString();
  ASSERT_TRUE(ApplyOverride("fleets[0].arrival={\"model\": \"open\", \"rate\": 50}", &doc, &error));
  ASSERT_TRUE(ApplyOverride("target.launch.command=[\"kvd\", \"--http\", \"x\"]", &doc, &error));
  ASSERT_TRUE(ApplyOverride("target.launch.command[2]=127.0.0.1:{port}", &doc, &error));
  ASSERT_TRUE(ApplyOverride("target.url=null", &doc, &error));
  Scenario s = ParseOk(doc);
  EXPECT_EQ(s.fleets[0].retry.base, 250ms);
  ASSERT_TRUE(s.fleets[0].budget.has_value());
  EXPECT_EQ(s.fleets[0].budget->kind, BudgetSpec::Kind::kRatio);
  EXPECT_EQ(s.fleets[0].arrival.model, Arrival::Model::kOpen);
  EXPECT_EQ(s.fleets[0].arrival.rate, 50);
  ASSERT_TRUE(s.target.launch.has_value());
  EXPECT_EQ(s.target.launch->command,
            (std::vector<std::string>{"kvd", "--http", "127.0.0.1:{port}"}));
}

TEST(Overrides, BadIndexesAndSyntaxAreErrors) {
  const json original = Read(kMinimal);
  json doc = original;
  ParseError error;
  EXPECT_FALSE(ApplyOverride("fleets[3].instances=2", &doc, &error));
  EXPECT_EQ(error.path, "fleets[3].instances");
  EXPECT_NE(error.message.find("fleets[3]"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("1 element"), std::string::npos) << error.message;

  // Nothing half-applied: "x" would have been created before the failure.
  EXPECT_FALSE(ApplyOverride("x.y[0]=1", &doc, &error));
  EXPECT_EQ(error.path, "x.y[0]");
  EXPECT_FALSE(ApplyOverride("name.first=1", &doc, &error));  // a string, not an object
  EXPECT_EQ(doc, original);

  EXPECT_FALSE(ApplyOverride("fleets[0].instances", &doc, &error));
  EXPECT_NE(error.message.find("PATH=VALUE"), std::string::npos) << error.message;
  for (const char* bad : {"=1", "a..b=1", "a.=1", "fleets[x]=1", "fleets[0=1", "a]b=1", ".a=1"}) {
    EXPECT_FALSE(ApplyOverride(bad, &doc, &error)) << bad;
    EXPECT_NE(error.message.find("bad path"), std::string::npos) << bad << ": " << error.message;
  }
  EXPECT_FALSE(ApplyOverride("name=\xff\xfe", &doc, &error));
  EXPECT_NE(error.message.find("UTF-8"), std::string::npos) << error.message;
  EXPECT_EQ(doc, original);
}

TEST(Overrides, LoadScenarioAppliesOverridesInOrder) {
  Scenario s;
  std::vector<ParseError> errors;
  ASSERT_TRUE(LoadScenario(FixturePath("design_example.jsonc"),
                           {"fleets[0].instances=5", "fleets[0].instances=7", "duration=30s",
                            "faults[0].for=30s"}, &s,
                           &errors))
      << Join(errors);
  EXPECT_EQ(s.fleets[0].instances, 7);
  EXPECT_EQ(s.duration, 30s);

  errors.clear();
  EXPECT_FALSE(
      LoadScenario(FixturePath("design_example.jsonc"), {"fleets[1].name=x"}, &s, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "fleets[1].name");
}

// ---------------------------------------------------------------------------
// resolved.

TEST(Resolved, RoundTripsAndHoldsTheDefaults) {
  Scenario minimal = ParseOk(Minimal());
  const json& r = minimal.resolved;
  EXPECT_EQ(r.at("duration"), "1m");
  EXPECT_EQ(r.at("bucket"), "1s");
  EXPECT_EQ(r.at("seed"), 1);
  EXPECT_EQ(r.at("target").at("protocol"), "http");
  const json& f = r.at("fleets").at(0);
  EXPECT_EQ(f.at("name"), "clients");
  EXPECT_EQ(f.at("timeout"), "1s");
  EXPECT_EQ(f.at("deadline"), "0s");
  EXPECT_EQ(f.at("retry").at("strategy"), "none");
  EXPECT_EQ(f.at("retry").at("delay"), "2s");
  EXPECT_EQ(f.at("retry").at("on"), json({"shed", "server_error", "timeout", "refused", "reset"}));
  EXPECT_EQ(f.at("workload").at("keys").at("distribution"), "uniform");
  EXPECT_EQ(f.at("workload").at("mix").at("get"), 1.0);
  EXPECT_EQ(f.at("arrival").at("model"), "closed");
  EXPECT_TRUE(f.at("budget").is_null());
  EXPECT_EQ(f.at("connections"), "shared");
  EXPECT_EQ(f.at("pool_size"), 64);
  ExpectSameScenario(minimal, ParseOk(r));

  // Something in every section, both models and both budget kinds.
  json doc = Read(R"({
    "name": "full", "duration": "90s", "bucket": "250ms", "seed": 42,
    "target": {"launch": {"command": ["kvd", "--http", "127.0.0.1:{port}"], "replicas": 3,
                          "ready": "/healthz", "ready_timeout": "2.5s"},
               "protocol": "http"},
    "fleets": [
      {"name": "closed", "instances": 10, "start_spread": "1500ms", "deadline": "3s",
       "arrival": {"requests_per_instance": 4, "think": "10ms"},
       "workload": {"mix": {"get": 3, "put": 1}, "keys": {"count": 7, "distribution": "zipf:0.8",
                                                          "prefix": "user-"}},
       "retry": {"strategy": "decorrelated", "base": "100ms", "cap": "3s", "max_attempts": 5,
                 "on": ["throttled", "shed"], "honor_retry_after": true},
       "budget": {"kind": "token_bucket", "max_tokens": 4, "token_ratio": 0.5},
       "breaker": {"failures": 3, "open_for": "750ms", "half_open_probes": 2},
       "adaptive_throttle": {"k": 1.5, "window": "30s"},
       "connections": "per_instance", "pool_size": 8},
      {"name": "open", "arrival": {"model": "open", "rate": 10.5,
                                   "stages": [{"to": 100, "over": "20s"}], "spacing": "poisson"},
       "workload": {"requests": [{"method": "PUT", "path": "/kv/{key}", "body": "{value}",
                                  "headers": {"A": "b"}}]},
       "budget": {"kind": "ratio", "percent": 20, "min_per_s": 1, "ttl": "5s"}}
    ]
  })");
  Scenario full = ParseOk(doc);
  ExpectSameScenario(full, ParseOk(full.resolved));
  EXPECT_EQ(full.resolved["fleets"][0]["start_spread"], "1.5s");
  EXPECT_EQ(full.resolved["fleets"][0]["workload"]["keys"]["distribution"], "zipf:0.8");
  EXPECT_EQ(full.resolved["fleets"][1]["budget"]["ttl"], "5s");
  EXPECT_FALSE(full.resolved["fleets"][1]["workload"].contains("mix"));

  // The design example too, through the file and its comments.
  Scenario example;
  std::vector<ParseError> errors;
  ASSERT_TRUE(LoadScenario(FixturePath("design_example.jsonc"), {}, &example, &errors));
  ExpectSameScenario(example, ParseOk(example.resolved));
}

TEST(Resolved, EveryFieldOfTheResolvedFormIsInTheSchema) {
  // Walks the resolved JSON of a scenario that uses every section; each key
  // must be a property at the same place in the schema.
  const json schema = ScenarioSchema();
  json doc = Minimal({{"target", {{"url", nullptr}, {"launch", {{"command", {"kvd"}}}}}}});
  doc["fleets"] = {
      {{"budget", json::object()},
       {"breaker", json::object()},
       {"adaptive_throttle", json::object()},
       {"workload", {{"requests", {json::object()}}}}},
      {{"name", "o"},
       {"arrival", {{"model", "open"}, {"rate", 1}, {"stages", {{{"to", 1}, {"over", "1s"}}}}}},
       {"budget", {{"kind", "ratio"}}}}};
  const json resolved = ParseOk(doc).resolved;
  std::function<void(const json&, const json&, const std::string&)> walk =
      [&](const json& value, const json& node, const std::string& path) {
        if (value.is_object()) {
          if (!node.contains("properties")) {
            // A free-form map (headers): additionalProperties says what values are.
            EXPECT_TRUE(node.contains("additionalProperties")) << path;
            return;
          }
          for (const auto& [key, child] : value.items()) {
            ASSERT_TRUE(node["properties"].contains(key)) << path << "." << key;
            walk(child, node["properties"][key], path + "." + key);
          }
        } else if (value.is_array() && !value.empty() && node.contains("items")) {
          for (const json& item : value) walk(item, node["items"], path + "[]");
        }
      };
  walk(resolved, schema, "");
}

// ---------------------------------------------------------------------------
// Schema.

TEST(Schema, DescribesEveryTopLevelFieldWithTheParsersDefaults) {
  const json schema = ScenarioSchema();
  ASSERT_TRUE(schema.is_object());
  EXPECT_EQ(schema.at("$schema"), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema.at("type"), "object");
  EXPECT_EQ(schema.at("additionalProperties"), false);
  for (const char* key : {"name", "duration", "bucket", "seed", "target", "fleets", "faults",
                          "probes", "monitors", "durability", "gates"}) {
    ASSERT_TRUE(schema.at("properties").contains(key)) << key;
    EXPECT_TRUE(schema["properties"][key].contains("description")) << key;
  }
  EXPECT_EQ(schema.at("required"), json({"name", "target", "fleets"}));

  const json& props = schema["properties"];
  const json& fleet = props.at("fleets").at("items").at("properties");
  EXPECT_EQ(props.at("duration").at("default"), "1m");
  EXPECT_EQ(props.at("bucket").at("default"), "1s");
  EXPECT_EQ(props.at("seed").at("default"), 1);
  EXPECT_EQ(fleet.at("timeout").at("default"), "1s");
  EXPECT_EQ(fleet.at("instances").at("default"), 1);
  EXPECT_EQ(fleet.at("pool_size").at("default"), 64);
  EXPECT_EQ(fleet.at("connections").at("default"), "shared");
  EXPECT_EQ(fleet.at("retry").at("properties").at("delay").at("default"), "2s");
  EXPECT_EQ(fleet.at("retry").at("properties").at("strategy").at("default"), "none");
  EXPECT_EQ(fleet.at("breaker").at("properties").at("open_for").at("default"), "5s");
  EXPECT_EQ(fleet.at("adaptive_throttle").at("properties").at("window").at("default"), "2m");
  EXPECT_EQ(fleet.at("budget").at("properties").at("ttl").at("default"), "10s");
  EXPECT_EQ(fleet.at("arrival").at("properties").at("stages").at("default"), json::array());
  EXPECT_EQ(fleet.at("arrival").at("properties").at("rate").at("default"), 0);
  EXPECT_EQ(
      props.at("target").at("properties").at("launch").at("properties").at("ready").at("default"),
      "/readyz");

  // The schema's defaults are what the parser does with the field left out.
  const Fleet parsed = ParseOk(Minimal()).fleets[0];
  EXPECT_EQ(fleet.at("workload").at("properties").at("value_bytes").at("default"),
            parsed.workload.value_bytes);
  EXPECT_EQ(
      fleet.at("workload").at("properties").at("keys").at("properties").at("count").at("default"),
      parsed.workload.keys.count);

  // Every object in the schema is closed and every property is described.
  std::function<void(const json&, const std::string&)> check = [&](const json& node,
                                                                   const std::string& path) {
    if (!node.is_object()) return;
    if (node.contains("properties") && node.contains("type")) {
      EXPECT_EQ(node.value("additionalProperties", json(true)), false) << path;
      for (const auto& [key, child] : node["properties"].items()) {
        EXPECT_TRUE(child.contains("description")) << path << "." << key;
        check(child, path + "." + key);
      }
    }
    if (node.contains("items")) check(node["items"], path + "[]");
  };
  check(schema, "");
}

TEST(Schema, EnumValuesAreAcceptedByTheParser) {
  const json schema = ScenarioSchema();
  const json& fleet = schema["properties"]["fleets"]["items"]["properties"];
  for (const json& name : fleet["retry"]["properties"]["strategy"]["enum"]) {
    ParseOk(WithFleet({{"retry", {{"strategy", name}}}}));
  }
  for (const json& name : fleet["retry"]["properties"]["on"]["items"]["enum"]) {
    ParseOk(WithFleet({{"retry", {{"on", {name}}}}}));
  }
  for (const json& name : fleet["connections"]["enum"]) {
    ParseOk(WithFleet({{"connections", name}}));
  }
  for (const json& name : fleet["arrival"]["properties"]["spacing"]["enum"]) {
    ParseOk(WithFleet({{"arrival", {{"model", "open"}, {"rate", 1}, {"spacing", name}}}}));
  }
  for (const json& name : schema["properties"]["target"]["properties"]["protocol"]["enum"]) {
    ParseOk(Minimal({{"target", {{"protocol", name}}}}));
  }
  EXPECT_EQ(fleet["retry"]["properties"]["strategy"]["enum"].size(), 8u);
  EXPECT_EQ(fleet["retry"]["properties"]["on"]["items"]["enum"].size(), 9u);  // all but ok
}

}  // namespace
}  // namespace herd
