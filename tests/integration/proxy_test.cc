// herd's fault proxy over real loopback sockets: kvd as the upstream for
// HTTP-level checks, and tiny in-test TCP servers (echo, source, recorder)
// for byte-level ones. Timing checks are lower bounds with margins (the
// machine is shared and noisy); nothing asserts that the proxy is fast.
#include "fault/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/http.h"
#include "support/process.h"

namespace herd {
namespace {

using test::HttpClient;
using test::HttpResult;
using test::KvdProcess;
using test::Millis;
using test::TcpConnection;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

#define START_KVD(kvd, ...) ASSERT_TRUE((kvd).Start(__VA_ARGS__)) << (kvd).Diagnostics()

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool Eventually(const std::function<bool()>& cond, Millis timeout = Millis(5000)) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(10));
  }
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// ---- a tiny TCP server: one thread per connection runs the handler -------

class TestServer {
 public:
  using Handler = std::function<void(int fd)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0) {
      ADD_FAILURE() << "test server: " << std::strerror(errno);
      return;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Loop(); });
  }

  ~TestServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
      workers = std::move(workers_);
    }
    for (auto& t : workers) t.join();
    for (int fd : fds_) ::close(fd);
    ::close(fd_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(c);
      workers_.emplace_back([this, c] { handler_(c); });
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
};

bool SendAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Echoes everything; passes EOF on.
void Echo(int fd) {
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!SendAll(fd, std::string(buf, static_cast<size_t>(n)))) break;
  }
  ::shutdown(fd, SHUT_WR);
}

// Sends `bytes`, then EOF, then reads until the peer goes.
TestServer::Handler Source(std::string bytes) {
  return [bytes](int fd) {
    SendAll(fd, bytes);
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
  };
}

// Records what it receives (all connections, appended), never answers.
struct Recorder {
  std::mutex mu;
  std::string data;
  std::string Get() {
    std::lock_guard<std::mutex> lock(mu);
    return data;
  }
  TestServer::Handler Handler(const std::string& greeting = "", bool echo = false) {
    return [this, greeting, echo](int fd) {
      if (!greeting.empty()) SendAll(fd, greeting);
      char buf[16384];
      while (true) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        {
          std::lock_guard<std::mutex> lock(mu);
          data.append(buf, static_cast<size_t>(n));
        }
        if (echo) SendAll(fd, std::string(buf, static_cast<size_t>(n)));
      }
    };
  }
};

// ---- client side ---------------------------------------------------------

struct ReadResult {
  std::string data;
  bool eof = false;    // orderly close
  bool reset = false;  // ECONNRESET
  int reads = 0;
  double seconds = 0;
  bool closed() const { return eof || reset; }
};

// Reads until `want` bytes, EOF, an error, or `timeout`.
ReadResult ReadFor(int fd, size_t want, Millis timeout) {
  ReadResult r;
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  while (r.data.size() < want) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      r.data.append(buf, static_cast<size_t>(n));
      ++r.reads;
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n == 0) r.eof = true;
    if (n < 0 && errno == ECONNRESET) r.reset = true;
    if (n < 0 && errno != ECONNRESET) r.eof = true;  // some other error: closed all the same
    break;
  }
  r.seconds = SecondsSince(start);
  return r;
}

ReadResult ReadUntilClosed(int fd, Millis timeout) { return ReadFor(fd, static_cast<size_t>(-1), timeout); }

bool ConnectTo(TcpConnection* c, const std::string& address, std::string* error = nullptr) {
  std::string host;
  int port = 0;
  if (!test::SplitHostPort(address, &host, &port)) return false;
  return c->Connect(host, port, Millis(3000), error);
}

// Reads HTTP/1.1 responses (Content-Length or no body) one at a time,
// keeping whatever arrived beyond the current one for the next call.
class ResponseReader {
 public:
  explicit ResponseReader(int fd) : fd_(fd) {}

  // The whole next response ("" on timeout, or a close before its end).
  std::string Next(Millis timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string lower = buf_.substr(0, end);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        size_t len = 0;
        size_t cl = lower.find("content-length:");
        if (cl != std::string::npos) len = std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
        const size_t need = end + 4 + len;
        if (buf_.size() >= need) {
          std::string out = buf_.substr(0, need);
          buf_.erase(0, need);
          return out;
        }
      }
      auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
      if (left <= 0) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char tmp[16384];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return "";
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
};

std::string ReadHttpResponse(int fd, Millis timeout) { return ResponseReader(fd).Next(timeout); }

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

std::unique_ptr<Proxy> StartProxy(const std::string& upstream) {
  auto p = std::make_unique<Proxy>("127.0.0.1:0", upstream);
  std::string error;
  EXPECT_TRUE(p->Start(&error)) << error;
  return p;
}

std::string Url(const Proxy& p, const std::string& path) { return "http://" + p.address() + path; }

ProxyFault Toxic(ProxyFault::Kind kind, ProxyFault::Direction dir = ProxyFault::Direction::kBoth) {
  ProxyFault f;
  f.kind = kind;
  f.direction = dir;
  return f;
}

ProxyFault HttpFault(ProxyFault::Kind kind, double probability) {
  ProxyFault f;
  f.kind = kind;
  f.probability = probability;
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

constexpr auto kUp = ProxyFault::Direction::kUp;
constexpr auto kDown = ProxyFault::Direction::kDown;

// ---- names and setup -----------------------------------------------------

TEST(ProxyTest, KindNamesRoundTrip) {
  const char* names[] = {"latency", "bandwidth",  "reset",      "blackhole", "slow_close",
                         "slicer",  "limit_data", "http_error", "http_delay"};
  for (const char* name : names) {
    ProxyFault::Kind kind{};
    ASSERT_TRUE(ParseProxyFaultKind(name, &kind)) << name;
    EXPECT_STREQ(ProxyFaultKindName(kind), name);
  }
  ProxyFault::Kind kind{};
  EXPECT_FALSE(ParseProxyFaultKind("down", &kind));
  EXPECT_FALSE(ParseProxyFaultKind("Latency", &kind));
  EXPECT_FALSE(ParseProxyFaultKind("", &kind));
}

TEST(ProxyTest, StartFailsOnAddressInUseOrNonsense) {
  TestServer echo(Echo);
  auto first = StartProxy(echo.address());
  ASSERT_FALSE(first->address().empty());
  EXPECT_EQ(first->address().rfind("127.0.0.1:", 0), 0u) << first->address();

  Proxy second(first->address(), echo.address());
  std::string error;
  EXPECT_FALSE(second.Start(&error));
  EXPECT_NE(error.find(first->address()), std::string::npos) << error;
  EXPECT_NE(error.find("address already in use"), std::string::npos) << error;

  Proxy bad("not-an-address", echo.address());
  error.clear();
  EXPECT_FALSE(bad.Start(&error));
  EXPECT_FALSE(error.empty());
  Proxy bad_port("127.0.0.1:99999", echo.address());
  error.clear();
  EXPECT_FALSE(bad_port.Start(&error));
  EXPECT_FALSE(error.empty());

  // The first one still works.
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, first->address()));
  ASSERT_TRUE(c.Send("ping"));
  EXPECT_EQ(ReadFor(c.fd(), 4, Millis(5000)).data, "ping");
}

// ---- plain forwarding ----------------------------------------------------

TEST(ProxyTest, ForwardsHttpLikeDirect) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());

  HttpResult r = test::HttpGet(Url(*proxy, "/v1/alpha"));
  EXPECT_EQ(r.status, 404) << r.Describe();
  r = test::Http("PUT", Url(*proxy, "/v1/alpha"), "one");
  EXPECT_EQ(r.status, 201) << r.Describe();
  r = test::HttpGet(Url(*proxy, "/v1/alpha"));
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_EQ(r.body, "one");
  EXPECT_EQ(test::HttpGet(kvd.Url("/v1/alpha")).body, "one");  // it really went to kvd

  // A large value, both ways.
  const std::string big(700 * 1024, 'b');
  r = test::Http("PUT", Url(*proxy, "/v1/big"), big);
  EXPECT_EQ(r.status, 201) << r.Describe();
  r = test::HttpGet(Url(*proxy, "/v1/big"));
  EXPECT_EQ(r.status, 200) << r.Describe();
  EXPECT_TRUE(r.body == big) << "got " << r.body.size() << " bytes";

  // Many keep-alive requests on one connection.
  const uint64_t accepted_before = proxy->stats().accepted;
  HttpClient client;
  for (int i = 0; i < 200; ++i) {
    const std::string url = Url(*proxy, "/v1/k" + std::to_string((i / 2) % 10));
    if (i % 2 == 0) {
      r = client.Put(url, "v" + std::to_string(i));
      ASSERT_EQ(r.status, 201) << i << ": " << r.Describe();
    } else {
      r = client.Get(url);
      ASSERT_EQ(r.status, 200) << i << ": " << r.Describe();
      ASSERT_EQ(r.body, "v" + std::to_string(i - 1));
    }
  }
  EXPECT_EQ(proxy->stats().accepted, accepted_before + 1);
}

TEST(ProxyTest, StatsCountConnectionsAndBytes) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  {
    TcpConnection a, b;
    ASSERT_TRUE(ConnectTo(&a, proxy->address()));
    ASSERT_TRUE(ConnectTo(&b, proxy->address()));
    ASSERT_TRUE(a.Send(std::string(1000, 'a')));
    ASSERT_TRUE(b.Send(std::string(500, 'b')));
    EXPECT_EQ(ReadFor(a.fd(), 1000, Millis(5000)).data.size(), 1000u);
    EXPECT_EQ(ReadFor(b.fd(), 500, Millis(5000)).data.size(), 500u);
    // The counters move when the proxy sees its writes complete, which can
    // be a moment after the peer has the bytes.
    EXPECT_TRUE(Eventually([&] {
      ProxyStats s = proxy->stats();
      return s.bytes_up == 1500 && s.bytes_down == 1500;
    })) << proxy->stats().bytes_up << " up, " << proxy->stats().bytes_down << " down";
    ProxyStats s = proxy->stats();
    EXPECT_EQ(s.accepted, 2u);
    EXPECT_EQ(s.open, 2u);
    EXPECT_EQ(s.refused_upstream, 0u);
    EXPECT_EQ(s.http_requests, 0u);
  }
  EXPECT_TRUE(Eventually([&] { return proxy->stats().open == 0; })) << proxy->stats().open;
}

TEST(ProxyTest, UpstreamRefusedClosesClientAndCounts) {
  // A port with nothing listening.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string dead = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  ::close(fd);

  auto proxy = StartProxy(dead);
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ReadResult r = ReadUntilClosed(c.fd(), Millis(5000));
  EXPECT_TRUE(r.closed());
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(Eventually([&] { return proxy->stats().refused_upstream == 1; }));
  EXPECT_TRUE(Eventually([&] { return proxy->stats().open == 0; }));

  HttpResult h = test::HttpGet(Url(*proxy, "/v1/x"), {}, Millis(3000));
  EXPECT_EQ(h.status, 0) << h.Describe();
}

TEST(ProxyTest, SetUpstreamMovesNewConnectionsOnly) {
  KvdProcess a, b;
  START_KVD(a);
  START_KVD(b);
  ASSERT_EQ(test::Http("PUT", a.Url("/v1/who"), "a").status, 201);
  ASSERT_EQ(test::Http("PUT", b.Url("/v1/who"), "b").status, 201);

  auto proxy = StartProxy(a.http_address());
  HttpClient kept;
  HttpResult r = kept.Get(Url(*proxy, "/v1/who"));
  ASSERT_EQ(r.body, "a") << r.Describe();

  proxy->SetUpstream(b.http_address());
  EXPECT_TRUE(Eventually([&] { return test::HttpGet(Url(*proxy, "/v1/who")).body == "b"; }));
  r = kept.Get(Url(*proxy, "/v1/who"));  // the open connection keeps its upstream
  EXPECT_EQ(r.body, "a") << r.Describe();
}

// ---- TCP toxics ----------------------------------------------------------

TEST(ProxyTest, LatencyDelaysEachExchangeByAtLeastTheInjectedAmount) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  ProxyFault f = Toxic(ProxyFault::Kind::kLatency, kDown);
  f.latency = milliseconds(100);
  proxy->Add(f);

  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    HttpResult r = client.Get(Url(*proxy, "/v1/none"));
    EXPECT_EQ(r.status, 404) << r.Describe();
    EXPECT_GE(r.seconds, 0.095) << i;
  }
}

TEST(ProxyTest, LatencyDelaysChunksWithoutCappingThroughput) {
  const std::string payload = RandomBytes(1000 * 1000, 4);
  TestServer source(Source(payload));
  auto proxy = StartProxy(source.address());
  ProxyFault f = Toxic(ProxyFault::Kind::kLatency, kDown);
  f.latency = milliseconds(200);
  proxy->Add(f);

  TcpConnection c;
  auto start = Clock::now();
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ReadResult r = ReadUntilClosed(c.fd(), Millis(30000));
  const double seconds = SecondsSince(start);
  EXPECT_TRUE(r.eof);
  EXPECT_TRUE(r.data == payload) << "got " << r.data.size() << " bytes";
  EXPECT_GE(seconds, 0.195);
  // Each chunk is delayed from when it was read, the next ones are read
  // meanwhile: ~1 s here, where waiting 200 ms per 16 KiB chunk would take
  // 12 s. The bound is only there to catch the latter.
  EXPECT_LT(seconds, 8.0);
}

TEST(ProxyTest, LatencyJitterStaysAroundTheBounds) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  ProxyFault f = Toxic(ProxyFault::Kind::kLatency, kUp);
  f.latency = milliseconds(60);
  f.jitter = milliseconds(30);  // 60 +- U[0, 30)
  f.seed = 7;
  proxy->Add(f);

  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  std::vector<double> times;
  for (int i = 0; i < 20; ++i) {
    auto start = Clock::now();
    ASSERT_TRUE(c.Send("x"));
    ReadResult r = ReadFor(c.fd(), 1, Millis(5000));
    ASSERT_EQ(r.data, "x");
    times.push_back(SecondsSince(start));
  }
  const double lo = *std::min_element(times.begin(), times.end());
  const double hi = *std::max_element(times.begin(), times.end());
  EXPECT_GE(lo, 0.028) << "below latency - jitter";
  EXPECT_GT(hi - lo, 0.005) << "no jitter at all?";
  EXPECT_GE(Median(times), 0.040);
  EXPECT_LT(Median(times), 2.0);  // generous
}

TEST(ProxyTest, DirectionUpOrDownOnly) {
  // Latency up only: the echo round trip pays it once.
  {
    TestServer echo(Echo);
    auto proxy = StartProxy(echo.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kLatency, kUp);
    f.latency = milliseconds(150);
    proxy->Add(f);
    TcpConnection c;
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    auto start = Clock::now();
    ASSERT_TRUE(c.Send("ping"));
    EXPECT_EQ(ReadFor(c.fd(), 4, Millis(5000)).data, "ping");
    EXPECT_GE(SecondsSince(start), 0.145);
  }
  // Blackhole up: the server's greeting comes through, our bytes never
  // reach it.
  {
    Recorder rec;
    TestServer server(rec.Handler("hello\n", true));
    auto proxy = StartProxy(server.address());
    proxy->Add(Toxic(ProxyFault::Kind::kBlackhole, kUp));
    TcpConnection c;
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    EXPECT_EQ(ReadFor(c.fd(), 6, Millis(5000)).data, "hello\n");
    ASSERT_TRUE(c.Send("ping"));
    ReadResult r = ReadFor(c.fd(), 1, Millis(400));
    EXPECT_TRUE(r.data.empty());
    EXPECT_FALSE(r.closed());
    EXPECT_EQ(rec.Get(), "");
  }
  // Blackhole down: our bytes reach the server, nothing comes back.
  {
    Recorder rec;
    TestServer server(rec.Handler("hello\n", true));
    auto proxy = StartProxy(server.address());
    proxy->Add(Toxic(ProxyFault::Kind::kBlackhole, kDown));
    TcpConnection c;
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    ASSERT_TRUE(c.Send("ping"));
    EXPECT_TRUE(Eventually([&] { return rec.Get() == "ping"; }));
    ReadResult r = ReadFor(c.fd(), 1, Millis(300));
    EXPECT_TRUE(r.data.empty());
    EXPECT_FALSE(r.closed());
  }
}

TEST(ProxyTest, BandwidthSlowsATransferToTheRate) {
  const std::string payload = RandomBytes(200 * 1000, 3);
  TestServer source(Source(payload));
  auto proxy = StartProxy(source.address());
  ProxyFault f = Toxic(ProxyFault::Kind::kBandwidth, kDown);
  f.kbps = 800;  // 100 KB/s: 2 s for 200 KB
  proxy->Add(f);

  TcpConnection c;
  auto start = Clock::now();
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ReadResult r = ReadUntilClosed(c.fd(), Millis(30000));
  const double seconds = SecondsSince(start);
  EXPECT_TRUE(r.eof);
  EXPECT_TRUE(r.data == payload) << "got " << r.data.size() << " bytes";
  EXPECT_GE(seconds, 1.6) << "faster than 800 kbps";
}

TEST(ProxyTest, ResetGivesTheClientAConnectionReset) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  const uint64_t id = proxy->Add(Toxic(ProxyFault::Kind::kReset, kUp));  // on the first data

  HttpResult r = test::HttpGet(Url(*proxy, "/v1/x"), {}, Millis(5000));
  EXPECT_EQ(r.curl_code, 56) << r.Describe();  // CURLE_RECV_ERROR: connection reset by peer

  std::string host;
  int port = 0;
  ASSERT_TRUE(test::SplitHostPort(proxy->address(), &host, &port));
  test::RawResult raw = test::RawExchange(host, port, "GET /v1/x HTTP/1.1\r\nHost: x\r\n\r\n", Millis(5000));
  EXPECT_TRUE(raw.reset) << raw.error;
  EXPECT_TRUE(raw.received.empty());

  proxy->Remove(id);
  EXPECT_TRUE(Eventually([&] { return test::HttpGet(Url(*proxy, "/v1/x")).status == 404; }));
}

TEST(ProxyTest, ResetAfterTimeOrBytes) {
  // after: the idle connection is reset once the time has passed.
  {
    TestServer echo(Echo);
    auto proxy = StartProxy(echo.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kReset);
    f.after = milliseconds(500);
    proxy->Add(f);
    TcpConnection c;
    auto start = Clock::now();
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    ASSERT_TRUE(c.Send("a"));
    EXPECT_EQ(ReadFor(c.fd(), 1, Millis(5000)).data, "a");  // data flows until then
    ReadResult r = ReadUntilClosed(c.fd(), Millis(5000));
    EXPECT_TRUE(r.reset);
    EXPECT_GE(SecondsSince(start), 0.49);
  }
  // bytes: the connection is reset once 100 bytes went up; the server saw
  // exactly those.
  {
    Recorder rec;
    TestServer server(rec.Handler());
    auto proxy = StartProxy(server.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kReset, kUp);
    f.bytes = 100;
    proxy->Add(f);
    TcpConnection c;
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    ASSERT_TRUE(c.Send(std::string(60, 'x')));
    ASSERT_TRUE(Eventually([&] { return rec.Get().size() == 60; }));
    c.Send(std::string(1000, 'y'));
    ReadResult r = ReadUntilClosed(c.fd(), Millis(5000));
    EXPECT_TRUE(r.reset);
    EXPECT_TRUE(Eventually([&] { return rec.Get().size() == 100; }));
    std::this_thread::sleep_for(Millis(50));
    EXPECT_EQ(rec.Get(), std::string(60, 'x') + std::string(40, 'y'));
  }
}

TEST(ProxyTest, BlackholeGivesAClientTimeoutUntilRemoved) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  const uint64_t id = proxy->Add(Toxic(ProxyFault::Kind::kBlackhole, kUp));
  HttpResult r = test::HttpGet(Url(*proxy, "/v1/x"), {}, Millis(500));
  EXPECT_TRUE(r.timed_out()) << r.Describe();
  proxy->Remove(id);
  EXPECT_TRUE(Eventually([&] { return test::HttpGet(Url(*proxy, "/v1/x")).status == 404; }));
}

TEST(ProxyTest, DownRefusesNewConnectionsCutsOpenOnesAndComesBack) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  const std::string address = proxy->address();

  TcpConnection open;
  ASSERT_TRUE(ConnectTo(&open, address));
  ASSERT_TRUE(open.Send("GET /v1/x HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(StatusOf(ReadHttpResponse(open.fd(), Millis(5000))), 404);

  proxy->SetDown(true);
  ReadResult cut = ReadUntilClosed(open.fd(), Millis(5000));
  EXPECT_TRUE(cut.closed());
  std::string error;
  EXPECT_TRUE(Eventually([&] {
    TcpConnection c;
    return !ConnectTo(&c, address, &error) && error.find("refused") != std::string::npos;
  })) << error;
  HttpResult r = test::HttpGet("http://" + address + "/v1/x", {}, Millis(2000));
  EXPECT_TRUE(r.connect_failed()) << r.Describe();

  proxy->SetDown(false);
  EXPECT_EQ(proxy->address(), address);
  EXPECT_TRUE(Eventually([&] { return test::HttpGet("http://" + address + "/v1/x").status == 404; }));
  EXPECT_TRUE(Eventually([&] { return proxy->stats().open == 0; }));
}

TEST(ProxyTest, DownIsCountedAndClearBringsItUp) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  const std::string address = proxy->address();
  auto refused = [&] {
    TcpConnection c;
    std::string error;
    return !ConnectTo(&c, address, &error) && error.find("refused") != std::string::npos;
  };
  auto works = [&] {
    TcpConnection c;
    if (!ConnectTo(&c, address) || !c.Send("x")) return false;
    return ReadFor(c.fd(), 1, Millis(2000)).data == "x";
  };

  proxy->SetDown(true);
  proxy->SetDown(true);
  ASSERT_TRUE(Eventually(refused));
  proxy->SetDown(false);
  std::this_thread::sleep_for(Millis(100));
  EXPECT_TRUE(refused()) << "one of two downs is still on";
  proxy->SetDown(false);
  EXPECT_TRUE(Eventually(works));
  proxy->SetDown(false);  // extra: ignored
  proxy->SetDown(true);
  ASSERT_TRUE(Eventually(refused));
  proxy->Clear();
  EXPECT_TRUE(Eventually(works));
}

TEST(ProxyTest, SlowCloseDelaysTheEofTheClientSees) {
  TestServer source(Source("hello"));
  auto proxy = StartProxy(source.address());
  ProxyFault f = Toxic(ProxyFault::Kind::kSlowClose, kDown);
  f.delay = milliseconds(300);
  proxy->Add(f);

  TcpConnection c;
  auto start = Clock::now();
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ReadResult r = ReadUntilClosed(c.fd(), Millis(5000));
  EXPECT_EQ(r.data, "hello");
  EXPECT_TRUE(r.eof);
  EXPECT_GE(SecondsSince(start), 0.29);
}

TEST(ProxyTest, SlicerDeliversEveryByteInManyPieces) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  ProxyFault f = Toxic(ProxyFault::Kind::kSlicer, kDown);
  f.average_size = 64;
  f.size_variation = 32;
  f.delay = milliseconds(1);
  proxy->Add(f);
  ProxyFault up = Toxic(ProxyFault::Kind::kSlicer, kUp);
  up.average_size = 7;
  up.size_variation = 6;
  proxy->Add(up);

  const std::string payload = RandomBytes(16 * 1024, 11);
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ASSERT_TRUE(c.Send(payload));
  ReadResult r = ReadFor(c.fd(), payload.size(), Millis(20000));
  ASSERT_EQ(r.data.size(), payload.size());
  EXPECT_TRUE(r.data == payload) << "bytes changed";
  EXPECT_GE(r.reads, 20) << "not sliced?";
}

TEST(ProxyTest, LimitDataClosesAfterExactlyNBytes) {
  // down: the client gets exactly 1234 bytes, then an orderly EOF.
  {
    const std::string payload = RandomBytes(10000, 5);
    TestServer source(Source(payload));
    auto proxy = StartProxy(source.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kLimitData, kDown);
    f.bytes = 1234;
    proxy->Add(f);
    TcpConnection c;
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    ReadResult r = ReadUntilClosed(c.fd(), Millis(5000));
    EXPECT_TRUE(r.eof);
    EXPECT_FALSE(r.reset);
    EXPECT_EQ(r.data.size(), 1234u);
    EXPECT_TRUE(r.data == payload.substr(0, 1234));
  }
  // up: the server gets exactly 1000 bytes.
  {
    Recorder rec;
    TestServer server(rec.Handler());
    auto proxy = StartProxy(server.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kLimitData, kUp);
    f.bytes = 1000;
    proxy->Add(f);
    TcpConnection c;
    ASSERT_TRUE(ConnectTo(&c, proxy->address()));
    c.Send(std::string(600, 'a'));
    ASSERT_TRUE(Eventually([&] { return rec.Get().size() == 600; }));
    c.Send(std::string(5000, 'b'));
    EXPECT_TRUE(ReadUntilClosed(c.fd(), Millis(5000)).closed());
    EXPECT_TRUE(Eventually([&] { return rec.Get().size() == 1000; }));
    std::this_thread::sleep_for(Millis(50));
    EXPECT_EQ(rec.Get().size(), 1000u);
  }
}

TEST(ProxyTest, ToxicityDecidesPerConnection) {
  TestServer echo(Echo);
  auto affected = [&](double toxicity) {
    auto proxy = StartProxy(echo.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kReset, kUp);
    f.toxicity = toxicity;
    f.seed = 42;
    proxy->Add(f);
    int n = 0;
    for (int i = 0; i < 20; ++i) {
      TcpConnection c;
      EXPECT_TRUE(ConnectTo(&c, proxy->address()));
      c.Send("x");
      ReadResult r = ReadFor(c.fd(), 1, Millis(5000));
      if (r.data == "x") {
        // unaffected: the whole connection stays unaffected
        c.Send("y");
        EXPECT_EQ(ReadFor(c.fd(), 1, Millis(5000)).data, "y");
      } else {
        EXPECT_TRUE(r.reset);
        ++n;
      }
    }
    return n;
  };
  EXPECT_EQ(affected(0.0), 0);
  EXPECT_EQ(affected(1.0), 20);
  const int half = affected(0.5);
  EXPECT_GT(half, 0);
  EXPECT_LT(half, 20);
  EXPECT_EQ(affected(0.5), half) << "same seed, same connections: same draws";
}

TEST(ProxyTest, FaultsAddedLaterApplyToOpenConnectionsAndRemovalRestores) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ASSERT_TRUE(c.Send("a"));
  ASSERT_EQ(ReadFor(c.fd(), 1, Millis(5000)).data, "a");

  const uint64_t hole = proxy->Add(Toxic(ProxyFault::Kind::kBlackhole, kUp));
  ASSERT_TRUE(c.Send("b"));
  ReadResult r = ReadFor(c.fd(), 1, Millis(300));
  EXPECT_TRUE(r.data.empty());
  EXPECT_FALSE(r.closed());

  proxy->Remove(hole);
  std::this_thread::sleep_for(Millis(20));
  ASSERT_TRUE(c.Send("c"));
  EXPECT_EQ(ReadFor(c.fd(), 1, Millis(5000)).data, "c");

  ProxyFault lat = Toxic(ProxyFault::Kind::kLatency, kDown);
  lat.latency = milliseconds(150);
  const uint64_t id = proxy->Add(lat);
  auto start = Clock::now();
  ASSERT_TRUE(c.Send("d"));
  EXPECT_EQ(ReadFor(c.fd(), 1, Millis(5000)).data, "d");
  EXPECT_GE(SecondsSince(start), 0.145);
  proxy->Remove(id);
  proxy->Remove(id);      // twice: nothing
  proxy->Remove(123456);  // unknown: nothing
  std::this_thread::sleep_for(Millis(20));
  ASSERT_TRUE(c.Send("e"));
  EXPECT_EQ(ReadFor(c.fd(), 1, Millis(5000)).data, "e");
  EXPECT_EQ(proxy->stats().accepted, 1u);
}

TEST(ProxyTest, RemovingALatencyReleasesTheChunkItHolds) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  ProxyFault f = Toxic(ProxyFault::Kind::kLatency, kDown);
  f.latency = std::chrono::seconds(20);
  const uint64_t id = proxy->Add(f);
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  auto start = Clock::now();
  ASSERT_TRUE(c.Send("held"));
  std::this_thread::sleep_for(Millis(200));
  proxy->Remove(id);
  ReadResult r = ReadFor(c.fd(), 4, Millis(10000));
  EXPECT_EQ(r.data, "held");
  EXPECT_LT(SecondsSince(start), 10.0) << "the chunk waited out the removed latency";
}

// ---- HTTP faults ---------------------------------------------------------

TEST(ProxyTest, HttpErrorShareOnOneKeepAliveConnection) {
  KvdProcess kvd;
  START_KVD(kvd);
  ASSERT_EQ(test::Http("PUT", kvd.Url("/v1/k"), "value").status, 201);
  auto proxy = StartProxy(kvd.http_address());
  ProxyFault f = HttpFault(ProxyFault::Kind::kHttpError, 0.3);
  f.status = 503;
  f.seed = 2024;
  proxy->Add(f);

  const int n = 400;
  int errors = 0;
  HttpClient client;
  for (int i = 0; i < n; ++i) {
    HttpResult r = client.Get(Url(*proxy, "/v1/k"));
    if (r.status == 503) {
      ++errors;
      EXPECT_EQ(r.body, "");
    } else {
      ASSERT_EQ(r.status, 200) << i << ": " << r.Describe();
      ASSERT_EQ(r.body, "value");
    }
  }
  const double mean = n * 0.3, sigma = std::sqrt(n * 0.3 * 0.7);
  EXPECT_NEAR(errors, mean, 5 * sigma);
  ProxyStats s = proxy->stats();
  EXPECT_EQ(s.accepted, 1u) << "the answers kept the connection alive";
  EXPECT_EQ(s.http_requests, static_cast<uint64_t>(n));
  EXPECT_EQ(s.http_errors, static_cast<uint64_t>(errors));
  std::printf("[ proxy    ] http_error p=0.3: %d of %d requests answered 503\n", errors, n);
}

TEST(ProxyTest, HttpErrorStatusAndLatencyRange) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  ProxyFault f = HttpFault(ProxyFault::Kind::kHttpError, 1.0);
  f.status = 429;
  f.latency_lo = milliseconds(100);
  f.latency_hi = milliseconds(150);
  proxy->Add(f);

  HttpClient client;
  std::vector<double> times;
  for (int i = 0; i < 8; ++i) {
    HttpResult r = client.Put(Url(*proxy, "/v1/k"), "never stored");
    EXPECT_EQ(r.status, 429) << r.Describe();
    EXPECT_EQ(r.Header("Content-Length"), "0");
    EXPECT_EQ(r.Header("Connection"), "keep-alive");
    EXPECT_GE(r.seconds, 0.095) << i;
    times.push_back(r.seconds);
  }
  EXPECT_LT(Median(times), 1.5);  // generous
  EXPECT_EQ(proxy->stats().accepted, 1u);
  EXPECT_EQ(test::HttpGet(kvd.Url("/v1/k")).status, 404) << "an errored request reached kvd";

  // The raw answer, byte for byte.
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  ASSERT_TRUE(c.Send("GET /v1/k HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(ReadHttpResponse(c.fd(), Millis(5000)),
            "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST(ProxyTest, HttpDelayHoldsRequestsThenForwardsThem) {
  KvdProcess kvd;
  START_KVD(kvd);
  ASSERT_EQ(test::Http("PUT", kvd.Url("/v1/k"), "value").status, 201);
  auto proxy = StartProxy(kvd.http_address());
  ProxyFault f = HttpFault(ProxyFault::Kind::kHttpDelay, 1.0);
  f.latency_lo = f.latency_hi = milliseconds(120);
  const uint64_t id = proxy->Add(f);

  HttpClient client;
  for (int i = 0; i < 5; ++i) {
    HttpResult r = client.Get(Url(*proxy, "/v1/k"));
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.body, "value");
    EXPECT_GE(r.seconds, 0.115) << i;
  }
  EXPECT_EQ(proxy->stats().http_delayed, 5u);
  proxy->Remove(id);

  // normal(mean 80ms, stddev 10ms): on average well above 40 ms.
  ProxyFault normal = HttpFault(ProxyFault::Kind::kHttpDelay, 1.0);
  normal.normal = true;
  normal.mean = milliseconds(80);
  normal.stddev = milliseconds(10);
  proxy->Add(normal);
  std::vector<double> times;
  for (int i = 0; i < 10; ++i) {
    HttpResult r = client.Get(Url(*proxy, "/v1/k"));
    EXPECT_EQ(r.status, 200) << r.Describe();
    times.push_back(r.seconds);
  }
  EXPECT_GE(Median(times), 0.040);
  EXPECT_EQ(proxy->stats().accepted, 1u);
}

TEST(ProxyTest, HttpParsingKeepsBodiesFragmentsAndPipelinedRequestsIntact) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  // Installed but never firing: the proxy parses every request.
  proxy->Add(HttpFault(ProxyFault::Kind::kHttpError, 0.0));

  // A large body.
  const std::string big(600 * 1024, 'z');
  HttpClient client;
  HttpResult r = client.Put(Url(*proxy, "/v1/big"), big);
  EXPECT_EQ(r.status, 201) << r.Describe();
  r = client.Get(Url(*proxy, "/v1/big"));
  EXPECT_TRUE(r.body == big) << r.body.size();

  // A request written in small pieces, header split anywhere.
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  const std::string put = "PUT /v1/frag HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
  for (size_t i = 0; i < put.size(); i += 7) {
    ASSERT_TRUE(c.Send(put.substr(i, 7)));
    std::this_thread::sleep_for(Millis(3));
  }
  EXPECT_EQ(StatusOf(ReadHttpResponse(c.fd(), Millis(5000))), 201);
  EXPECT_EQ(test::HttpGet(kvd.Url("/v1/frag")).body, "hello world");

  // Chunked.
  ASSERT_TRUE(c.Send("PUT /v1/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n"));
  std::this_thread::sleep_for(Millis(20));
  ASSERT_TRUE(c.Send("6\r\n world\r\n0\r\n\r\n"));
  EXPECT_EQ(StatusOf(ReadHttpResponse(c.fd(), Millis(5000))), 201);
  EXPECT_EQ(test::HttpGet(kvd.Url("/v1/chunked")).body, "hello world");

  // Two requests in one write (pipelined): both answered, in order.
  ASSERT_TRUE(c.Send("GET /v1/frag HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n"));
  ResponseReader reader(c.fd());
  std::string first = reader.Next(Millis(5000));
  EXPECT_EQ(StatusOf(first), 200);
  EXPECT_NE(first.find("hello world"), std::string::npos);
  EXPECT_EQ(StatusOf(reader.Next(Millis(5000))), 404);
  EXPECT_EQ(proxy->stats().http_requests, 2u + 2u + 2u);
  EXPECT_EQ(proxy->stats().http_errors, 0u);
}

TEST(ProxyTest, HttpErrorAnswersFragmentedAndPipelinedRequests) {
  KvdProcess kvd;
  START_KVD(kvd);
  auto proxy = StartProxy(kvd.http_address());
  proxy->Add(HttpFault(ProxyFault::Kind::kHttpError, 1.0));

  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  const std::string put = "PUT /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t i = 0; i < put.size(); i += 9) {
    ASSERT_TRUE(c.Send(put.substr(i, 9)));
    std::this_thread::sleep_for(Millis(3));
  }
  EXPECT_EQ(StatusOf(ReadHttpResponse(c.fd(), Millis(5000))), 503);
  ASSERT_TRUE(c.Send("GET /v1/a HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/b HTTP/1.1\r\nHost: x\r\n\r\n"));
  ResponseReader reader(c.fd());
  EXPECT_EQ(StatusOf(reader.Next(Millis(5000))), 503);
  EXPECT_EQ(StatusOf(reader.Next(Millis(5000))), 503);
  EXPECT_EQ(proxy->stats().bytes_up, 0u) << "nothing reached kvd";
  EXPECT_EQ(test::HttpGet(kvd.Url("/v1/x")).status, 404);
}

TEST(ProxyTest, HttpFaultsLeaveNonHttpTrafficAlone) {
  TestServer echo(Echo);
  auto proxy = StartProxy(echo.address());
  proxy->Add(HttpFault(ProxyFault::Kind::kHttpError, 1.0));
  TcpConnection c;
  ASSERT_TRUE(ConnectTo(&c, proxy->address()));
  const std::string binary = RandomBytes(5000, 9);
  ASSERT_TRUE(c.Send(binary));
  EXPECT_TRUE(ReadFor(c.fd(), binary.size(), Millis(5000)).data == binary);
  ASSERT_TRUE(c.Send("HELLO there\r\n\r\n"));  // upper case, yet not HTTP
  EXPECT_EQ(ReadFor(c.fd(), 15, Millis(5000)).data, "HELLO there\r\n\r\n");
  ASSERT_TRUE(c.Send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));  // HTTP/2's preface
  EXPECT_EQ(ReadFor(c.fd(), 24, Millis(5000)).data, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  EXPECT_EQ(proxy->stats().http_errors, 0u);
}

TEST(ProxyTest, RemovingHttpFaultsRestoresNormalAnswers) {
  KvdProcess kvd;
  START_KVD(kvd);
  ASSERT_EQ(test::Http("PUT", kvd.Url("/v1/k"), "value").status, 201);
  auto proxy = StartProxy(kvd.http_address());
  HttpClient client;
  EXPECT_EQ(client.Get(Url(*proxy, "/v1/k")).status, 200);

  const uint64_t id = proxy->Add(HttpFault(ProxyFault::Kind::kHttpError, 1.0));
  std::this_thread::sleep_for(Millis(20));
  EXPECT_EQ(client.Get(Url(*proxy, "/v1/k")).status, 503);  // the open connection too
  EXPECT_EQ(client.Get(Url(*proxy, "/v1/k")).status, 503);
  proxy->Remove(id);
  std::this_thread::sleep_for(Millis(20));
  for (int i = 0; i < 5; ++i) {
    HttpResult r = client.Get(Url(*proxy, "/v1/k"));
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.body, "value");
  }
  proxy->Add(HttpFault(ProxyFault::Kind::kHttpError, 1.0));
  std::this_thread::sleep_for(Millis(20));
  EXPECT_EQ(client.Get(Url(*proxy, "/v1/k")).status, 503);
  proxy->Clear();
  std::this_thread::sleep_for(Millis(20));
  EXPECT_EQ(client.Get(Url(*proxy, "/v1/k")).status, 200);
  EXPECT_EQ(proxy->stats().accepted, 1u);
}

// ---- lifetime ------------------------------------------------------------

TEST(ProxyTest, DestructionWithBusyConnectionsIsPrompt) {
  TestServer echo(Echo);
  std::vector<TcpConnection> conns(5);
  auto start = Clock::now();
  {
    auto proxy = StartProxy(echo.address());
    ProxyFault f = Toxic(ProxyFault::Kind::kLatency);
    f.latency = std::chrono::seconds(30);
    proxy->Add(f);
    ProxyFault r = Toxic(ProxyFault::Kind::kReset);
    r.after = std::chrono::seconds(30);
    proxy->Add(r);
    proxy->Add(HttpFault(ProxyFault::Kind::kHttpDelay, 1.0));
    for (auto& c : conns) {
      ASSERT_TRUE(ConnectTo(&c, proxy->address()));
      c.Send("GET / HTTP/1.1\r\n\r\n");
    }
    std::this_thread::sleep_for(Millis(100));
  }
  EXPECT_LT(SecondsSince(start), 5.0) << "the destructor waited for something";
  for (auto& c : conns) EXPECT_TRUE(ReadUntilClosed(c.fd(), Millis(3000)).closed());
}

// Prints the latency the proxy adds with no fault (no assertion on speed).
TEST(ProxyTest, ReportsNoFaultAddedLatency) {
  KvdProcess kvd;
  START_KVD(kvd);
  ASSERT_EQ(test::Http("PUT", kvd.Url("/v1/k"), "value").status, 201);
  auto proxy = StartProxy(kvd.http_address());
  auto measure = [](const std::string& url) {
    HttpClient client;
    std::vector<double> t;
    for (int i = 0; i < 2000; ++i) {
      HttpResult r = client.Get(url);
      EXPECT_EQ(r.status, 200);
      t.push_back(r.seconds);
    }
    return Median(t);
  };
  measure(kvd.Url("/v1/k"));  // warm up
  const double direct = measure(kvd.Url("/v1/k"));
  const double proxied = measure(Url(*proxy, "/v1/k"));
  std::printf("[ proxy    ] p50 direct %.1f us, through the proxy %.1f us: +%.1f us\n", direct * 1e6,
              proxied * 1e6, (proxied - direct) * 1e6);
}

}  // namespace
}  // namespace herd
