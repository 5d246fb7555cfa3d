// kvd's gRPC frontend end to end with a real keyvalue.KeyValue stub, the
// store it shares with REST, grpc.health.v1, and exact request accounting
// in /metrics across both protocols.
#include <string>

#include <gtest/gtest.h>

#include "kvd_test_util.h"

namespace herd::test {
namespace {

TEST(KvdGrpc, PutGetDeleteRoundTrip) {
  KvdProcess kvd;
  START_KVD(kvd);
  KvClient kv(kvd.grpc_address());

  auto g = kv.Get("alpha");
  EXPECT_EQ(g.code(), grpc::StatusCode::NOT_FOUND) << g.Describe();

  auto p = kv.Put("alpha", "one");
  ASSERT_TRUE(p.ok()) << p.Describe();
  g = kv.Get("alpha");
  ASSERT_TRUE(g.ok()) << g.Describe();
  EXPECT_EQ(g.value, "one");

  p = kv.Put("alpha", "two");
  ASSERT_TRUE(p.ok()) << p.Describe();
  EXPECT_EQ(kv.Get("alpha").value, "two");

  auto d = kv.Delete("alpha");
  EXPECT_TRUE(d.ok()) << d.Describe();
  g = kv.Get("alpha");
  EXPECT_EQ(g.code(), grpc::StatusCode::NOT_FOUND) << g.Describe();
}

TEST(KvdGrpc, BinaryValuesAndLimits) {
  KvdProcess kvd;
  START_KVD(kvd, {"--max-value-bytes", "1024"});
  KvClient kv(kvd.grpc_address());
  // keyvalue.proto's value is `bytes` (a proto3 string would have to be
  // UTF-8), so any value round-trips over gRPC and across to REST.
  const std::string value = std::string("h\xc3\xa9llo \xff\xfe\x00 \t\r\n\x01\x7f end", 20);
  ASSERT_TRUE(kv.Put("bin", value).ok());
  auto g = kv.Get("bin");
  ASSERT_TRUE(g.ok()) << g.Describe();
  EXPECT_EQ(g.value, value);
  EXPECT_EQ(HttpGet(kvd.Url("/v1/bin")).body, value);
  // REST -> gRPC with bytes that are not UTF-8.
  const std::string raw("\x80\x81\xc0\x00z", 5);
  ASSERT_EQ(Http("PUT", kvd.Url("/v1/raw"), raw).status, 201);
  g = kv.Get("raw");
  ASSERT_TRUE(g.ok()) << g.Describe();
  EXPECT_EQ(g.value, raw);

  EXPECT_EQ(kv.Get("").code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(kv.Put("", "v").code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(kv.Delete("").code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(kv.Get(std::string(1025, 'k')).code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(kv.Put(std::string(1024, 'k'), "v").ok());
  // Over --max-value-bytes but under gRPC's own message limit: kvd's 413.
  auto big = kv.Put("big", std::string(1025, 'v'));
  EXPECT_EQ(big.code(), grpc::StatusCode::INVALID_ARGUMENT) << big.Describe();
  EXPECT_NE(big.status.error_message().find("1024"), std::string::npos) << big.Describe();
  EXPECT_TRUE(kv.Put("big", std::string(1024, 'v')).ok());
}

TEST(KvdGrpc, SharesTheStoreWithRest) {
  KvdProcess kvd;
  START_KVD(kvd);
  KvClient kv(kvd.grpc_address());

  // gRPC -> REST
  ASSERT_TRUE(kv.Put("from-grpc", "hello rest").ok());
  HttpResult r = HttpGet(kvd.Url("/v1/from-grpc"));
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "hello rest");

  // REST -> gRPC, with a key that needs percent-encoding on the REST side.
  const std::string key = "dir/with space";
  ASSERT_EQ(Http("PUT", kvd.Url("/v1/" + UrlEncode(key)), "hello grpc").status, 201);
  auto g = kv.Get(key);
  ASSERT_TRUE(g.ok()) << g.Describe();
  EXPECT_EQ(g.value, "hello grpc");

  // A delete on one side is seen on the other.
  ASSERT_TRUE(kv.Delete(key).ok());
  EXPECT_EQ(HttpGet(kvd.Url("/v1/" + UrlEncode(key))).status, 404);
  ASSERT_EQ(Http("DELETE", kvd.Url("/v1/from-grpc")).status, 200);
  EXPECT_EQ(kv.Get("from-grpc").code(), grpc::StatusCode::NOT_FOUND);
}

TEST(KvdGrpc, HealthServiceServing) {
  KvdProcess kvd;
  START_KVD(kvd);
  KvClient kv(kvd.grpc_address());
  grpc::Status status;
  int serving = kv.HealthCheck(&status);
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_EQ(serving, 1) << "expected SERVING (1)";
}

TEST(KvdGrpc, GrpcOnlyAndHttpOnly) {
  {
    KvdProcess kvd;
    KvdProcess::Options o;
    o.http = false;
    o.wait_ready = false;
    ASSERT_TRUE(kvd.StartWith(o)) << kvd.Diagnostics();
    EXPECT_TRUE(kvd.http_address().empty());
    KvClient kv(kvd.grpc_address());
    // Ready once the (empty) log is replayed: poll.
    bool ok = Eventually([&] { return kv.Put("k", "v").ok(); }, Millis(10000));
    EXPECT_TRUE(ok);
    EXPECT_EQ(kv.Get("k").value, "v");
  }
  {
    KvdProcess kvd;
    KvdProcess::Options o;
    o.grpc = false;
    ASSERT_TRUE(kvd.StartWith(o)) << kvd.Diagnostics();
    EXPECT_TRUE(kvd.grpc_address().empty());
    EXPECT_EQ(Http("PUT", kvd.Url("/v1/k"), "v").status, 201);
  }
}

// Every answered request is counted once, under the right labels, for both
// protocols: herd checks its own books against these.
TEST(KvdMetrics, CountRequestsExactly) {
  KvdProcess kvd;
  START_KVD(kvd, {"--max-value-bytes", "64"});
  KvClient kv(kvd.grpc_address());
  HttpClient http;
  auto url = [&](const std::string& k) { return kvd.Url("/v1/" + k); };

  // REST: 4 PUT 201, 3 GET 200, 2 GET 404, 1 GET 400, 2 DELETE 200,
  // 1 POST 405, 2 /healthz, 1 /nope (404).
  for (int i = 0; i < 4; ++i) ASSERT_EQ(http.Put(url("r" + std::to_string(i)), "v").status, 201);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http.Get(url("r" + std::to_string(i))).status, 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(http.Get(url("missing")).status, 404);
  ASSERT_EQ(http.Get(kvd.Url("/v1/")).status, 400);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(http.Delete(url("r" + std::to_string(i))).status, 200);
  ASSERT_EQ(http.Request("POST", url("r0"), "x").status, 405);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(http.Get(kvd.Url("/healthz")).status, 200);
  ASSERT_EQ(http.Get(kvd.Url("/nope")).status, 404);

  // gRPC: 3 Put OK, 1 Put INVALID_ARGUMENT, 2 Get OK, 4 Get NOT_FOUND, 1 Delete OK.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(kv.Put("g" + std::to_string(i), "v").ok());
  ASSERT_EQ(kv.Put("", "v").code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(kv.Get("g0").ok());
  for (int i = 0; i < 4; ++i) ASSERT_EQ(kv.Get("nope").code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(kv.Delete("g2").ok());

  const std::string text = kvd.MetricsText();
  ASSERT_FALSE(text.empty());
  auto count = [&](const char* proto, const char* route, const char* method, const char* code) {
    return MetricValue(text, "kvd_requests_total",
                       {{"protocol", proto}, {"route", route}, {"method", method}, {"code", code}})
        .value_or(0);
  };
  EXPECT_EQ(count("http", "/v1/{key}", "PUT", "201"), 4);
  EXPECT_EQ(count("http", "/v1/{key}", "GET", "200"), 3);
  EXPECT_EQ(count("http", "/v1/{key}", "GET", "404"), 2);
  EXPECT_EQ(count("http", "/v1/{key}", "GET", "400"), 1);
  EXPECT_EQ(count("http", "/v1/{key}", "DELETE", "200"), 2);
  EXPECT_EQ(count("http", "/v1/{key}", "OTHER", "405"), 1);
  EXPECT_EQ(count("http", "/healthz", "GET", "200"), 2);
  EXPECT_EQ(count("http", "other", "GET", "404"), 1);
  EXPECT_EQ(count("grpc", "keyvalue.KeyValue/Put", "PUT", "OK"), 3);
  EXPECT_EQ(count("grpc", "keyvalue.KeyValue/Put", "PUT", "INVALID_ARGUMENT"), 1);
  EXPECT_EQ(count("grpc", "keyvalue.KeyValue/Get", "GET", "OK"), 2);
  EXPECT_EQ(count("grpc", "keyvalue.KeyValue/Get", "GET", "NOT_FOUND"), 4);
  EXPECT_EQ(count("grpc", "keyvalue.KeyValue/Delete", "DELETE", "OK"), 1);
  // Nothing else was counted on the data routes: the totals add up.
  EXPECT_EQ(MetricSum(text, "kvd_requests_total", {{"protocol", "http"}, {"route", "/v1/{key}"}}),
            4 + 3 + 2 + 1 + 2 + 1);
  EXPECT_EQ(MetricSum(text, "kvd_requests_total", {{"protocol", "grpc"}}), 3 + 1 + 2 + 4 + 1);
  // The latency histogram counts data requests per protocol.
  EXPECT_EQ(MetricValue(text, "kvd_request_duration_seconds_count", {{"protocol", "grpc"}}).value_or(-1),
            11);
  // The /metrics request that produced this text is counted after it is rendered.
  EXPECT_EQ(count("http", "/metrics", "GET", "200"), 0);
  EXPECT_EQ(MetricValue(kvd.MetricsText(), "kvd_requests_total",
                        {{"protocol", "http"}, {"route", "/metrics"}, {"method", "GET"}, {"code", "200"}})
                .value_or(0),
            1);
}

// A PUT whose body is over --max-value-bytes is still a PUT on /v1/{key}:
// its 413 belongs under that route and method, like every other answer.
TEST(KvdMetrics, OversizedBodyIsCountedUnderItsRoute) {
  KvdProcess kvd;
  START_KVD(kvd, {"--max-value-bytes", "64"});
  ASSERT_EQ(Http("PUT", kvd.Url("/v1/big"), std::string(65, 'x')).status, 413);
  const std::string text = kvd.MetricsText();
  EXPECT_EQ(MetricValue(text, "kvd_requests_total",
                        {{"protocol", "http"}, {"route", "/v1/{key}"}, {"method", "PUT"}, {"code", "413"}})
                .value_or(0),
            1)
      << "kvd bug: http_server.cc OnReadError() resets route_/method_ to other/OTHER even when "
         "the header was parsed, so the 413 is counted as route=\"other\" method=\"OTHER\". "
         "Series:\n"
      << [&] {
           std::string lines;
           for (const auto& m : ParseMetrics(text)) {
             if (m.name == "kvd_requests_total") {
               lines += m.labels.at("route") + " " + m.labels.at("method") + " " +
                        m.labels.at("code") + "\n";
             }
           }
           return lines;
         }();
}

}  // namespace
}  // namespace herd::test
