// The monitors against a real kvd: its /metrics scraped and summed by
// selector, and its /proc figures read by pid.
#include "observe/monitor.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/http.h"
#include "support/process.h"

namespace herd {
namespace {

using test::HttpGet;
using test::KvdProcess;
using test::Millis;

#define START_KVD(kvd) ASSERT_TRUE((kvd).Start()) << (kvd).Diagnostics()

constexpr int kScrapeTimeoutMs = 10000;

bool Eventually(const std::function<bool()>& cond, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(20));
  }
}

std::string MustScrape(const KvdProcess& kvd) {
  std::string body, error;
  EXPECT_TRUE(Scrape(kvd.http_address(), "/metrics", kScrapeTimeoutMs, &body, &error)) << error;
  return body;
}

SeriesSelector Select(const std::string& text) {
  SeriesSelector s;
  std::string error;
  EXPECT_TRUE(ParseSelector(text, &s, &error)) << error;
  return s;
}

// The sum, or 0 when nothing matches (kvd omits counters still at zero).
double SumOrZero(const std::string& exposition, const std::string& selector) {
  double v = 0;
  return SumSeries(exposition, Select(selector), &v) ? v : 0;
}

std::string Requests(const std::string& route, const std::string& method, const std::string& code) {
  return "kvd_requests_total{route=\"" + route + "\",method=\"" + method + "\",code=\"" + code +
         "\"}";
}

TEST(MonitorKvd, ScrapeAndSumGauges) {
  KvdProcess kvd;
  START_KVD(kvd);
  const std::string body = MustScrape(kvd);
  ASSERT_NE(body.find("# TYPE kvd_tasks gauge"), std::string::npos) << body;

  double tasks = -1, connections = -1, threads = -1, ready = -1;
  EXPECT_TRUE(SumSeries(body, Select("kvd_tasks"), &tasks));
  EXPECT_GE(tasks, 0);
  EXPECT_TRUE(SumSeries(body, Select("kvd_open_connections"), &connections));
  EXPECT_GE(connections, 1);  // the scrape's own connection, at least
  EXPECT_TRUE(SumSeries(body, Select("kvd_threads"), &threads));
  EXPECT_GE(threads, 1);
  EXPECT_TRUE(SumSeries(body, Select("kvd_ready"), &ready));
  EXPECT_EQ(ready, 1);
  double nothing = -1;
  EXPECT_FALSE(SumSeries(body, Select("kvd_no_such_metric"), &nothing));
  // "kvd_request_duration_seconds" is a histogram: only its _bucket, _sum
  // and _count series have samples.
  EXPECT_FALSE(SumSeries(body, Select("kvd_request_duration_seconds"), &nothing));
  double count = -1;
  EXPECT_TRUE(SumSeries(body, Select("kvd_request_duration_seconds_count"), &count));

  // Every metric kvd exports sums the same as the test suite's own reader.
  std::set<std::string> names;
  for (const auto& s : test::ParseMetrics(body)) names.insert(s.name);
  ASSERT_GT(names.size(), 10u);
  for (const std::string& name : names) {
    double v = 0;
    EXPECT_TRUE(SumSeries(body, Select(name), &v)) << name;
    EXPECT_DOUBLE_EQ(v, test::MetricSum(body, name)) << name;
  }
}

TEST(MonitorKvd, RequestCountersRiseExactly) {
  KvdProcess kvd;
  START_KVD(kvd);
  const std::string key_route = "/v1/{key}";
  const std::string before = MustScrape(kvd);

  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(test::Http("PUT", kvd.Url("/v1/k" + std::to_string(i)), "v").status, 201);
  }
  ASSERT_EQ(HttpGet(kvd.Url("/v1/k0")).status, 200);
  ASSERT_EQ(HttpGet(kvd.Url("/v1/k1")).status, 200);
  ASSERT_EQ(HttpGet(kvd.Url("/v1/missing")).status, 404);
  ASSERT_EQ(test::Http("DELETE", kvd.Url("/v1/k2")).status, 200);

  // kvd counts a request before it answers it: no waiting needed.
  const std::string after = MustScrape(kvd);
  auto delta = [&](const std::string& selector) {
    return SumOrZero(after, selector) - SumOrZero(before, selector);
  };
  EXPECT_EQ(delta(Requests(key_route, "PUT", "201")), 3);
  EXPECT_EQ(delta(Requests(key_route, "GET", "200")), 2);
  EXPECT_EQ(delta(Requests(key_route, "GET", "404")), 1);
  EXPECT_EQ(delta(Requests(key_route, "DELETE", "200")), 1);
  EXPECT_EQ(delta("kvd_requests_total{route=\"/v1/{key}\"}"), 7);
  EXPECT_EQ(delta("kvd_requests_total{protocol=\"http\",route=\"/v1/{key}\",method=\"GET\"}"), 3);
  // Labels in another order than kvd writes them.
  EXPECT_EQ(delta("kvd_requests_total{code=\"201\",method=\"PUT\",route=\"/v1/{key}\","
                  "protocol=\"http\"}"),
            3);
  EXPECT_EQ(delta("kvd_requests_total{protocol=\"grpc\"}"), 0);
  EXPECT_EQ(delta("kvd_request_duration_seconds_count{protocol=\"http\"}"), 7);
  EXPECT_EQ(delta("kvd_request_duration_seconds_bucket{protocol=\"http\",le=\"+Inf\"}"), 7);
  // The first scrape is counted once it has answered, so it shows in the
  // second; the second does not show in itself.
  EXPECT_EQ(delta("kvd_requests_total{route=\"/metrics\"}"), 1);
  double v = 0;
  ASSERT_TRUE(SumSeries(after, Select("kvd_requests_total{route=\"/v1/{key}\",code=\"201\"}"), &v));
  EXPECT_EQ(v, 3);  // a fresh kvd
}

TEST(MonitorKvd, OpenConnectionsFollowHeldConnections) {
  KvdProcess kvd;
  START_KVD(kvd);
  // At rest, the one connection open is the scrape's own (a connection
  // that just answered, /readyz or an earlier scrape, may take a moment to
  // close on kvd's side).
  const double base = 1;
  double now = 0;
  ASSERT_TRUE(Eventually(
      [&] { return SumSeries(MustScrape(kvd), Select("kvd_open_connections"), &now) &&
                   now == base; },
      Millis(20000)))
      << "now " << now;

  std::vector<test::TcpConnection> held(3);
  for (auto& c : held) {
    std::string error;
    ASSERT_TRUE(c.Connect(kvd.http_host(), kvd.http_port(), Millis(5000), &error)) << error;
  }
  EXPECT_TRUE(Eventually(
      [&] { return SumSeries(MustScrape(kvd), Select("kvd_open_connections"), &now) &&
                   now >= base + 3; },
      Millis(20000)))
      << "base " << base << " now " << now;
  for (auto& c : held) c.Close();
  EXPECT_TRUE(Eventually(
      [&] { return SumSeries(MustScrape(kvd), Select("kvd_open_connections"), &now) &&
                   now == base; },
      Millis(20000)))
      << "base " << base << " now " << now;
}

TEST(MonitorKvd, ReadProcessOfKvd) {
  KvdProcess kvd;
  START_KVD(kvd);
  ProcessSample s;
  std::string error;
  ASSERT_TRUE(ReadProcess(kvd.pid(), &s, &error)) << error;
  EXPECT_GE(s.threads, 1);
  EXPECT_GE(s.fds, 3);
  EXPECT_GT(s.rss_bytes, 0);
  EXPECT_GE(s.cpu_seconds, 0);

  // kvd's own view of the same figures, from its /metrics.
  const std::string body = MustScrape(kvd);
  double threads = 0;
  ASSERT_TRUE(SumSeries(body, Select("kvd_threads"), &threads));
  ASSERT_TRUE(ReadProcess(kvd.pid(), &s, &error)) << error;
  // Thread pools are fixed once kvd is ready; allow a little movement.
  EXPECT_NEAR(static_cast<double>(s.threads), threads, 2);
  const long rss_kb = test::ProcessRssKb(kvd.pid());
  ASSERT_GT(rss_kb, 0);
  EXPECT_GT(s.rss_bytes, rss_kb * 1024 / 2);
  EXPECT_LT(s.rss_bytes, rss_kb * 1024 * 2);

  // Connections held open to kvd are descriptors in kvd. The baseline is
  // taken once kvd has closed its side of the scrape above: when the count
  // holds still for a while.
  int64_t fds_before = -1;
  int steady = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        if (!ReadProcess(kvd.pid(), &s, &error)) return false;
        steady = s.fds == fds_before ? steady + 1 : 0;
        fds_before = s.fds;
        return steady >= 10;
      },
      Millis(20000)))
      << error;
  std::vector<test::TcpConnection> held(4);
  for (auto& c : held) {
    ASSERT_TRUE(c.Connect(kvd.http_host(), kvd.http_port(), Millis(5000), &error)) << error;
  }
  EXPECT_TRUE(Eventually(
      [&] { return ReadProcess(kvd.pid(), &s, &error) && s.fds >= fds_before + 4; },
      Millis(20000)))
      << "before " << fds_before << " now " << s.fds << " " << error;
  for (auto& c : held) c.Close();
  EXPECT_TRUE(Eventually(
      [&] { return ReadProcess(kvd.pid(), &s, &error) && s.fds <= fds_before; }, Millis(20000)))
      << "before " << fds_before << " now " << s.fds << " " << error;

  // Gone: killed and reaped.
  const pid_t pid = kvd.pid();
  kvd.Kill();
  error.clear();
  EXPECT_FALSE(ReadProcess(pid, &s, &error));
  EXPECT_NE(error.find("pid " + std::to_string(pid)), std::string::npos) << error;
}

TEST(MonitorKvd, ScrapeErrors) {
  KvdProcess kvd;
  START_KVD(kvd);
  std::string body = "untouched", error;

  // A path kvd does not serve: the status, and no body.
  EXPECT_FALSE(Scrape(kvd.http_address(), "/no/such/metrics", kScrapeTimeoutMs, &body, &error));
  EXPECT_NE(error.find("404"), std::string::npos) << error;
  EXPECT_NE(error.find("/no/such/metrics"), std::string::npos) << error;
  EXPECT_EQ(body, "untouched");

  // A path without its leading slash still names the path.
  error.clear();
  EXPECT_TRUE(Scrape(kvd.http_address(), "metrics", kScrapeTimeoutMs, &body, &error)) << error;
  EXPECT_NE(body.find("kvd_tasks"), std::string::npos);

  // Nothing listening any more.
  const std::string address = kvd.http_address();
  kvd.Kill();
  body = "untouched";
  error.clear();
  EXPECT_FALSE(Scrape(address, "/metrics", kScrapeTimeoutMs, &body, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_NE(error.find(address), std::string::npos) << error;
  EXPECT_EQ(body, "untouched");
}

TEST(MonitorKvd, ScrapeOfAPortNobodyListensOn) {
  // Take a free port from the kernel, then let it go.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(fd);

  std::string body, error;
  EXPECT_FALSE(Scrape("127.0.0.1:" + std::to_string(port), "/metrics", 3000, &body, &error));
  EXPECT_NE(error.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << error;
  EXPECT_TRUE(body.empty());
}

}  // namespace
}  // namespace herd
