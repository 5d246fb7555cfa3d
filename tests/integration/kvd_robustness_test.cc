// Bad and hostile input: kvd answers what it can, cuts what it must, and keeps
// serving everybody else. After each abuse a normal request must still work.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kvd_test_util.h"

namespace herd::test {
namespace {

using Clock = std::chrono::steady_clock;

// kvd still serves a normal request, on a new connection.
void ExpectStillServing(const KvdProcess& kvd) {
  HttpResult put = Http("PUT", kvd.Url("/v1/canary"), "alive", {}, Millis(5000));
  EXPECT_EQ(put.status, 201) << "after abuse: " << put.Describe();
  HttpResult get = HttpGet(kvd.Url("/v1/canary"), {}, Millis(5000));
  EXPECT_EQ(get.status, 200) << "after abuse: " << get.Describe();
  EXPECT_EQ(get.body, "alive");
}

std::string StatusLine(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

TEST(KvdRobustness, MalformedRequestLineIs400) {
  KvdProcess kvd;
  START_KVD(kvd);
  RawResult r = RawExchange(kvd.http_host(), kvd.http_port(), "GARBAGE\r\n\r\n", Millis(5000));
  ASSERT_TRUE(r.connected) << r.error;
  EXPECT_EQ(r.received.rfind("HTTP/1.1 400", 0), 0u) << "got: " << r.received;
  EXPECT_TRUE(r.peer_closed) << "kvd should close after a malformed request";
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, OtherMalformedRequestsAre400) {
  KvdProcess kvd;
  START_KVD(kvd);
  const std::vector<std::string> bad = {
      "GET /v1/k HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /v1/k HTTP/1.1\r\nNo colon here\r\n\r\n",
      "PUT /v1/k HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "PUT /v1/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "PUT /v1/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      "G\x01T /v1/k HTTP/1.1\r\n\r\n",
  };
  for (const auto& req : bad) {
    RawResult r = RawExchange(kvd.http_host(), kvd.http_port(), req, Millis(5000));
    ASSERT_TRUE(r.connected) << r.error;
    EXPECT_EQ(StatusLine(r.received), "HTTP/1.1 400 Bad Request") << "for " << req;
  }
  // Nothing was stored by any of them.
  EXPECT_EQ(HttpGet(kvd.Url("/v1/k")).status, 404);
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, RandomBytesDoNotHurt) {
  KvdProcess kvd;
  START_KVD(kvd);
  std::string junk;
  uint32_t x = 12345;
  for (int i = 0; i < 64 * 1024; ++i) {
    x = x * 1103515245 + 12345;
    junk.push_back(static_cast<char>(x >> 16));
  }
  for (int i = 0; i < 5; ++i) {
    RawResult r = RawExchange(kvd.http_host(), kvd.http_port(), junk.substr(i * 1000), Millis(3000));
    EXPECT_TRUE(r.connected);
    EXPECT_TRUE(r.peer_closed) << "kvd kept a garbage connection open";
  }
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, OversizedHeaderIs431) {
  KvdProcess kvd;
  START_KVD(kvd);  // --max-header-bytes defaults to 16 KiB
  HttpResult r = HttpGet(kvd.Url("/v1/k"), {"X-Big: " + std::string(20 * 1024, 'h')});
  EXPECT_EQ(r.status, 431) << r.Describe();
  // Just under the limit is fine.
  r = HttpGet(kvd.Url("/v1/k"), {"X-Big: " + std::string(15 * 1024, 'h')});
  EXPECT_EQ(r.status, 404) << r.Describe();
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, OversizedHeaderRawIs431) {
  KvdProcess kvd;
  START_KVD(kvd, {"--max-header-bytes", "4096"});
  std::string req = "GET /v1/k HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'h') + "\r\n\r\n";
  RawResult r = RawExchange(kvd.http_host(), kvd.http_port(), req, Millis(5000));
  ASSERT_TRUE(r.connected) << r.error;
  EXPECT_EQ(r.received.rfind("HTTP/1.1 431", 0), 0u) << "got: " << r.received << " " << r.error;
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, HalfARequestIsCutAfterIdleTimeout) {
  KvdProcess kvd;
  START_KVD(kvd, {"--idle-timeout", "1s"});
  TcpConnection slow;
  std::string error;
  ASSERT_TRUE(slow.Connect(kvd.http_host(), kvd.http_port(), Millis(5000), &error)) << error;
  ASSERT_TRUE(slow.Send("PUT /v1/slow HTTP/1.1\r\nHost: x\r\nContent-Le", &error)) << error;
  const auto start = Clock::now();

  // Others are served normally meanwhile.
  HttpResult r = Http("PUT", kvd.Url("/v1/fast"), "quick", {}, Millis(5000));
  EXPECT_EQ(r.status, 201) << r.Describe();
  EXPECT_EQ(HttpGet(kvd.Url("/v1/fast")).body, "quick");

  bool closed = false;
  std::string got = slow.ReadUntilClosed(Millis(8000), &closed);
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_TRUE(closed) << "the stalled connection was never closed";
  EXPECT_GE(waited, 0.8) << "closed before the idle timeout";
  EXPECT_LE(waited, 6.0) << "closed long after the 1 s idle timeout";
  EXPECT_EQ(HttpGet(kvd.Url("/v1/slow")).status, 404);

  // Same for a body that stops half-way.
  TcpConnection slow_body;
  ASSERT_TRUE(slow_body.Connect(kvd.http_host(), kvd.http_port(), Millis(5000), &error)) << error;
  ASSERT_TRUE(slow_body.Send("PUT /v1/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", &error));
  got = slow_body.ReadUntilClosed(Millis(8000), &closed);
  EXPECT_TRUE(closed) << "a half body kept the connection open";
  EXPECT_EQ(HttpGet(kvd.Url("/v1/slow")).status, 404);
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, IdleKeepAliveConnectionIsClosed) {
  KvdProcess kvd;
  START_KVD(kvd, {"--idle-timeout", "1s"});
  TcpConnection c;
  ASSERT_TRUE(c.Connect(kvd.http_host(), kvd.http_port(), Millis(5000)));
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  std::string got = c.ReadUntilClosed(Millis(8000), &closed);
  EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  EXPECT_TRUE(closed) << "idle keep-alive connection never closed";
}

TEST(KvdRobustness, PipelinedRequestsAreServedInOrder) {
  KvdProcess kvd;
  START_KVD(kvd);
  std::string reqs =
      "PUT /v1/p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
      "GET /v1/p HTTP/1.1\r\nHost: x\r\n\r\n"
      "DELETE /v1/p HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/p HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  RawResult r = RawExchange(kvd.http_host(), kvd.http_port(), reqs, Millis(5000));
  ASSERT_TRUE(r.connected);
  std::vector<std::string> statuses;
  for (size_t pos = r.received.find("HTTP/1.1 "); pos != std::string::npos;
       pos = r.received.find("HTTP/1.1 ", pos + 1)) {
    statuses.push_back(r.received.substr(pos + 9, 3));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"201", "200", "200", "404"})) << r.received;
  EXPECT_NE(r.received.find("\r\n\r\none"), std::string::npos) << r.received;
  EXPECT_TRUE(r.peer_closed);
}

TEST(KvdRobustness, ManyClientIdsKeepMemoryBounded) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "1000", "--throttle-clients", "1000", "--threads", "1"});
  const long rss_before = ProcessRssKb(kvd.pid());
  ASSERT_GT(rss_before, 0);
  HttpClient c;
  const int kClients = 100000;
  const auto start = Clock::now();
  const auto limit = std::chrono::seconds(60);
  int sent = 0, other = 0;
  std::string first_other;
  for (int i = 0; i < kClients && Clock::now() - start < limit; ++i) {
    HttpResult r = c.Get(kvd.Url("/v1/k"), {"X-Client-Id: client-" + std::to_string(i)});
    ++sent;
    if (r.status != 404) {
      if (other++ == 0) first_other = r.Describe();
    }
  }
  const long rss_after = ProcessRssKb(kvd.pid());
  RecordProperty("requests", sent);
  RecordProperty("rss_before_kb", static_cast<int>(rss_before));
  RecordProperty("rss_after_kb", static_cast<int>(rss_after));
  // Every id is new, so every one starts with a full bucket: none throttled.
  EXPECT_EQ(other, 0) << first_other;
  EXPECT_GE(sent, 20000) << "too few requests to say anything in 60 s";
  EXPECT_LT(rss_after, 200 * 1024) << "RSS " << rss_before << " kB -> " << rss_after << " kB";
  EXPECT_LT(rss_after - rss_before, 64 * 1024)
      << "RSS grew " << (rss_after - rss_before) << " kB over " << sent << " client ids";
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, GrpcMessageOverTheLimitIsRefused) {
  KvdProcess kvd;
  START_KVD(kvd, {"--max-value-bytes", "1024"});
  KvClient kv(kvd.grpc_address());
  ASSERT_TRUE(kv.Put("small", "v").ok());
  auto big = kv.Put("big", std::string(1024 + 10 * 1024, 'b'));
  EXPECT_FALSE(big.ok());
  EXPECT_EQ(big.code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << big.Describe();
  // The channel and the server are fine.
  auto next = kv.Put("after", "ok");
  EXPECT_TRUE(next.ok()) << next.Describe();
  auto g = kv.Get("big");
  EXPECT_EQ(g.code(), grpc::StatusCode::NOT_FOUND) << g.Describe();
  EXPECT_EQ(kv.Get("after").value, "ok");
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, GrpcGarbageOnTheGrpcPort) {
  KvdProcess kvd;
  START_KVD(kvd);
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort(kvd.grpc_address(), &host, &port));
  for (const std::string& junk : {std::string("GARBAGE\r\n\r\n"), std::string(10000, '\x7f'),
                                  std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string(100, '\0')}) {
    RawResult r = RawExchange(host, port, junk, Millis(3000));
    EXPECT_TRUE(r.connected);
  }
  KvClient kv(kvd.grpc_address());
  EXPECT_TRUE(kv.Put("k", "v").ok());
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, ManyAbandonedConnections) {
  KvdProcess kvd;
  START_KVD(kvd);
  const double baseline = kvd.Metric("kvd_open_connections");
  {
    std::vector<TcpConnection> conns(200);
    int connected = 0;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!conns[i].Connect(kvd.http_host(), kvd.http_port(), Millis(5000))) continue;
      ++connected;
      if (i % 3 == 1) conns[i].Send("GET /v1/k HTTP/1.1\r\nHo");  // half a request
      if (i % 3 == 2) conns[i].Send("PUT /v1/k HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc");
    }
    EXPECT_EQ(connected, 200);
    // While they are all open, others are served.
    ExpectStillServing(kvd);
    EXPECT_TRUE(Eventually([&] { return kvd.Metric("kvd_open_connections") >= baseline + 150; },
                           Millis(5000)))
        << "kvd_open_connections " << kvd.Metric("kvd_open_connections");
  }  // all abandoned (closed without a word)
  bool settled = Eventually(
      [&] { return kvd.Metric("kvd_open_connections") <= baseline + 2; }, Millis(10000));
  EXPECT_TRUE(settled) << "kvd_open_connections stuck at " << kvd.Metric("kvd_open_connections")
                       << " (baseline " << baseline << ")";
  ExpectStillServing(kvd);
}

TEST(KvdRobustness, BadFlagsExit2) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--no-such-flag"}, {"--fsync", "sometimes"},
        {"--drain-timeout", "soon"}, {"--faults", "{not json"}}) {
    KvdProcess kvd;
    KvdProcess::Options o;
    o.args = args;
    EXPECT_FALSE(kvd.StartWith(o)) << args[0];
    auto rc = kvd.WaitExit(Millis(10000));
    ASSERT_TRUE(rc.has_value()) << args[0];
    EXPECT_EQ(*rc, 2) << args[0] << ": " << kvd.StderrTail();
  }
}

}  // namespace
}  // namespace herd::test
