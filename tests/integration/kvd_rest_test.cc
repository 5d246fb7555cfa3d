// kvd's REST frontend end to end: /v1/{key} semantics, limits, errors,
// health endpoints, /info and /connections.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kvd_test_util.h"

namespace herd::test {
namespace {

using nlohmann::json;

TEST(KvdRest, PutGetDeleteRoundTrip) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  const std::string url = kvd.Url("/v1/alpha");

  HttpResult r = HttpGet(url);
  EXPECT_EQ(r.status, 404) << r.Describe();

  r = Http("PUT", url, "one");
  EXPECT_EQ(r.status, 201) << r.Describe();

  r = HttpGet(url);
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "one");

  r = Http("DELETE", url);
  EXPECT_EQ(r.status, 200) << r.Describe();

  r = HttpGet(url);
  EXPECT_EQ(r.status, 404) << r.Describe();
}

TEST(KvdRest, OverwriteReplacesValue) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  const std::string url = kvd.Url("/v1/counter");
  ASSERT_EQ(Http("PUT", url, "first").status, 201);
  ASSERT_EQ(Http("PUT", url, "second, and longer").status, 201);
  HttpResult r = HttpGet(url);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "second, and longer");
  ASSERT_EQ(Http("PUT", url, "").status, 201);  // an empty value is a value
  r = HttpGet(url);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
}

TEST(KvdRest, DeleteOfMissingKeyIsOk) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  HttpResult r = Http("DELETE", kvd.Url("/v1/never-written"));
  EXPECT_EQ(r.status, 200) << r.Describe();
}

TEST(KvdRest, BinaryValueRoundTrip) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  std::string value;
  for (int i = 0; i < 256; ++i) value.push_back(static_cast<char>(i));
  value += std::string("\0\r\n\r\n\0", 6);
  const std::string url = kvd.Url("/v1/bin");
  ASSERT_EQ(Http("PUT", url, value).status, 201);
  HttpResult r = HttpGet(url);
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.body.size(), value.size());
  EXPECT_TRUE(r.body == value) << "binary value changed on the way";
}

TEST(KvdRest, PercentEncodedKey) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  const std::string key = "a/b c?d%e#f\xc3\xa9";
  const std::string url = kvd.Url("/v1/" + UrlEncode(key));
  ASSERT_EQ(Http("PUT", url, "encoded").status, 201);
  HttpResult r = HttpGet(url);
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "encoded");
  // The same key spelled with lower-case hex digits is the same key.
  std::string lower = url;
  for (size_t i = 0; i + 2 < lower.size(); ++i) {
    if (lower[i] == '%') {
      lower[i + 1] = static_cast<char>(std::tolower(lower[i + 1]));
      lower[i + 2] = static_cast<char>(std::tolower(lower[i + 2]));
    }
  }
  r = HttpGet(lower);
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "encoded");
  // "a%2Fb" and "a/b" decode to the same key.
  ASSERT_EQ(Http("PUT", kvd.Url("/v1/x%2Fy"), "slash").status, 201);
  r = HttpGet(kvd.Url("/v1/x/y"));
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "slash");
}

TEST(KvdRest, OtherMethodsAre405WithAllow) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  for (const char* method : {"POST", "PATCH", "OPTIONS"}) {
    HttpResult r = Http(method, kvd.Url("/v1/k"), "x");
    EXPECT_EQ(r.status, 405) << method << ": " << r.Describe();
    EXPECT_EQ(r.Header("Allow"), "GET, PUT, DELETE") << method;
  }
  HttpResult r = Http("PUT", kvd.Url("/healthz"), "x");
  EXPECT_EQ(r.status, 405) << r.Describe();
  EXPECT_EQ(r.Header("allow"), "GET");
  // Still serving.
  EXPECT_EQ(HttpGet(kvd.Url("/v1/k")).status, 404);
}

TEST(KvdRest, EmptyKeyIs400) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  EXPECT_EQ(HttpGet(kvd.Url("/v1/")).status, 400);
  EXPECT_EQ(Http("PUT", kvd.Url("/v1/"), "v").status, 400);
  EXPECT_EQ(Http("DELETE", kvd.Url("/v1/")).status, 400);
}

TEST(KvdRest, KeyLengthLimit) {
  KvdProcess kvd;
  START_KVD(kvd, {});  // --max-key-bytes defaults to 1024
  const std::string ok_key(1024, 'k');
  const std::string long_key(1025, 'k');
  HttpResult r = Http("PUT", kvd.Url("/v1/" + ok_key), "fits");
  EXPECT_EQ(r.status, 201) << r.Describe();
  r = Http("PUT", kvd.Url("/v1/" + long_key), "too long");
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_NE(r.body.find("1024"), std::string::npos) << "message should name the limit: " << r.body;
  r = HttpGet(kvd.Url("/v1/" + long_key));
  EXPECT_EQ(r.status, 400) << r.Describe();
  EXPECT_EQ(HttpGet(kvd.Url("/v1/" + ok_key)).body, "fits");
}

TEST(KvdRest, ValueSizeLimitIs413) {
  KvdProcess kvd;
  START_KVD(kvd, {"--max-value-bytes", "1024"});
  HttpResult r = Http("PUT", kvd.Url("/v1/big"), std::string(1024, 'v'));
  EXPECT_EQ(r.status, 201) << r.Describe();
  r = Http("PUT", kvd.Url("/v1/big"), std::string(1025, 'w'));
  EXPECT_EQ(r.status, 413) << r.Describe();
  // The old value is untouched and kvd still serves.
  r = HttpGet(kvd.Url("/v1/big"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string(1024, 'v'));
}

TEST(KvdRest, LargeValueWithExpectContinue) {
  KvdProcess kvd;
  START_KVD(kvd);  // --max-value-bytes defaults to 1 MiB
  std::string value(1 << 20, 'a');
  for (size_t i = 0; i < value.size(); i += 4096) value[i] = static_cast<char>('a' + (i / 4096) % 26);
  HttpOptions o;
  o.expect_continue = true;  // curl waits for "100 Continue" before the body
  o.timeout = Millis(20000);
  HttpResult r = HttpWith("PUT", kvd.Url("/v1/large"), value, {"Expect: 100-continue"}, o);
  EXPECT_EQ(r.status, 201) << r.Describe();
  EXPECT_LT(r.seconds, 0.9) << "no 100 Continue: curl waited for its 1 s fallback";
  r = HttpGet(kvd.Url("/v1/large"), {}, Millis(20000));
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == value) << "1 MiB value changed on the way (size " << r.body.size() << ")";
  // One byte more is refused, before the body is sent.
  r = HttpWith("PUT", kvd.Url("/v1/large"), value + "!", {"Expect: 100-continue"}, o);
  EXPECT_EQ(r.status, 413) << r.Describe();
  EXPECT_EQ(HttpGet(kvd.Url("/v1/large"), {}, Millis(20000)).body.size(), value.size());
}

TEST(KvdRest, FlagsComeFromTheEnvironmentTooAndTheCommandLineWins) {
  {
    KvdProcess kvd;
    KvdProcess::Options o;
    o.env = {{"KVD_MAX_VALUE_BYTES", "16"}};
    ASSERT_TRUE(kvd.StartWith(o)) << kvd.Diagnostics();
    EXPECT_EQ(Http("PUT", kvd.Url("/v1/k"), std::string(16, 'v')).status, 201);
    EXPECT_EQ(Http("PUT", kvd.Url("/v1/k"), std::string(17, 'v')).status, 413);
  }
  {
    KvdProcess kvd;
    KvdProcess::Options o;
    o.env = {{"KVD_MAX_VALUE_BYTES", "16"}};
    o.args = {"--max-value-bytes", "32"};
    ASSERT_TRUE(kvd.StartWith(o)) << kvd.Diagnostics();
    EXPECT_EQ(Http("PUT", kvd.Url("/v1/k"), std::string(32, 'v')).status, 201);
    EXPECT_EQ(Http("PUT", kvd.Url("/v1/k"), std::string(33, 'v')).status, 413);
  }
}

TEST(KvdRest, ResponsesCarryRequestIds) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  std::set<std::string> ids;
  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    HttpResult r = client.Put(kvd.Url("/v1/id" + std::to_string(i)), "v");
    ASSERT_EQ(r.status, 201);
    ASSERT_TRUE(r.HasHeader("X-Request-Id"));
    EXPECT_FALSE(r.Header("x-request-id").empty());
    ids.insert(r.Header("X-Request-Id"));
    r = client.Get(kvd.Url("/v1/missing"));
    ASSERT_EQ(r.status, 404);
    ASSERT_TRUE(r.HasHeader("X-Request-Id"));
    ids.insert(r.Header("X-Request-Id"));
  }
  EXPECT_EQ(ids.size(), 10u) << "request ids must be distinct";
}

TEST(KvdRest, UnknownPathIs404) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  EXPECT_EQ(HttpGet(kvd.Url("/nope")).status, 404);
  EXPECT_EQ(HttpGet(kvd.Url("/v1")).status, 404);
  EXPECT_EQ(HttpGet(kvd.Url("/admin/faults")).status, 404);  // no --admin-token
}

TEST(KvdRest, HealthEndpoints) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  for (const char* path : {"/healthz", "/healthz/shallow", "/healthz/deep", "/readyz"}) {
    HttpResult r = HttpGet(kvd.Url(path));
    EXPECT_EQ(r.status, 200) << path << ": " << r.Describe();
  }
  // The shallow check leaves nothing behind in the data directory.
  for (const auto& entry : std::filesystem::directory_iterator(kvd.data_dir())) {
    EXPECT_EQ(entry.path().filename().string().rfind(".healthz", 0), std::string::npos)
        << "left over: " << entry.path();
  }
  HttpResult m = HttpGet(kvd.Url("/metrics"));
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.Header("Content-Type").find("text/plain"), std::string::npos);
  for (const char* name : {"kvd_inflight", "kvd_queue_depth", "kvd_throttled_total", "kvd_shed_total",
                           "kvd_tasks", "kvd_timers", "kvd_open_connections",
                           "kvd_leaked_connections", "kvd_threads", "kvd_open_fds", "kvd_log_bytes",
                           "kvd_log_records", "kvd_keys"}) {
    EXPECT_TRUE(MetricValue(m.body, name).has_value()) << "missing metric " << name;
  }
}

// The deep check writes and reads back a key. With --fsync never the log
// acknowledges inside the store's write, and kvd once read the key back
// there, under the same shard lock, and died (std::system_error EDEADLK).
TEST(KvdRest, DeepHealthWorksInEveryFsyncMode) {
  for (const char* mode : {"always", "interval", "never"}) {
    KvdProcess kvd;
    START_KVD(kvd, {"--fsync", mode});
    for (int i = 0; i < 3; ++i) {
      HttpResult r = HttpGet(kvd.Url("/healthz/deep"));
      EXPECT_EQ(r.status, 200) << mode << ": " << r.Describe();
    }
    EXPECT_EQ(HttpGet(kvd.Url("/healthz")).status, 200) << mode << ": kvd must still be up";
  }
}

TEST(KvdRest, MetricsTrackStoreAndLog) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  HttpClient c;
  for (int i = 0; i < 7; ++i) ASSERT_EQ(c.Put(kvd.Url("/v1/m" + std::to_string(i)), "value").status, 201);
  ASSERT_EQ(c.Delete(kvd.Url("/v1/m0")).status, 200);
  std::string text = kvd.MetricsText();
  EXPECT_EQ(MetricValue(text, "kvd_keys").value_or(-1), 6);
  EXPECT_EQ(MetricValue(text, "kvd_log_records").value_or(-1), 8);
  EXPECT_GT(MetricValue(text, "kvd_log_bytes").value_or(-1), 8 * 21);
  EXPECT_EQ(MetricValue(text, "kvd_log_bytes").value_or(-1),
            static_cast<double>(std::filesystem::file_size(kvd.log_path())));
  // Latency histogram: one observation per data request.
  EXPECT_EQ(MetricValue(text, "kvd_request_duration_seconds_count", {{"protocol", "http"}}).value_or(-1), 8);
  EXPECT_EQ(MetricValue(text, "kvd_request_duration_seconds_bucket", {{"protocol", "http"}, {"le", "+Inf"}})
                .value_or(-1),
            8);
}

TEST(KvdRest, InfoHasVersionAndUptime) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  HttpResult r = HttpGet(kvd.Url("/info"));
  ASSERT_EQ(r.status, 200);
  json info = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(info.is_object()) << r.body;
  ASSERT_TRUE(info.contains("version") && info["version"].is_string()) << r.body;
  EXPECT_FALSE(info["version"].get<std::string>().empty());
  EXPECT_TRUE(info.contains("revision")) << r.body;
  EXPECT_TRUE(info.contains("start_time") && info["start_time"].is_string()) << r.body;
  ASSERT_TRUE(info.contains("uptime_s") && info["uptime_s"].is_number()) << r.body;
  double first = info["uptime_s"].get<double>();
  EXPECT_GE(first, 0);
  std::this_thread::sleep_for(Millis(300));
  json again = json::parse(HttpGet(kvd.Url("/info")).body, nullptr, false);
  ASSERT_TRUE(again.is_object());
  EXPECT_GE(again["uptime_s"].get<double>(), first + 0.25);
  EXPECT_EQ(again.value("pid", -1), kvd.pid());
}

TEST(KvdRest, ConnectionsListsKeepAliveClient) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  HttpClient keepalive;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(keepalive.Put(kvd.Url("/v1/c"), "v", {"X-Client-Id: tester-42"}).status, 201);
  }
  // Asked on another connection; the keep-alive one is still open.
  HttpResult r = HttpGet(kvd.Url("/connections"));
  ASSERT_EQ(r.status, 200);
  json conns = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(conns.is_array()) << r.body;
  bool found = false;
  for (const auto& c : conns) {
    if (c.value("client_id", "") != "tester-42") continue;
    found = true;
    EXPECT_GE(c.value("requests", 0), 3) << c.dump();
    EXPECT_TRUE(c.contains("peer") && c["peer"].get<std::string>().rfind("127.0.0.1:", 0) == 0)
        << c.dump();
    EXPECT_TRUE(c.contains("age_s") && c["age_s"].is_number()) << c.dump();
  }
  EXPECT_TRUE(found) << "no connection with client_id tester-42 in " << r.body;
}

TEST(KvdRest, Http10AndKeepAlive) {
  KvdProcess kvd;
  START_KVD(kvd, {});
  HttpOptions o;
  o.http10 = true;
  HttpResult r = HttpWith("PUT", kvd.Url("/v1/old"), "fashioned", {}, o);
  EXPECT_EQ(r.status, 201) << r.Describe();
  r = HttpWith("GET", kvd.Url("/v1/old"), "", {}, o);
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "fashioned");

  // Many requests over one keep-alive connection are one connection.
  HttpClient c;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.Get(kvd.Url("/v1/old"), {"X-Client-Id: ka"}).status, 200);
  json conns = json::parse(HttpGet(kvd.Url("/connections")).body, nullptr, false);
  int with_id = 0;
  for (const auto& conn : conns) with_id += conn.value("client_id", "") == "ka";
  EXPECT_EQ(with_id, 1) << conns.dump();
}

}  // namespace
}  // namespace herd::test
