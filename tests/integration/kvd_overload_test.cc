// kvd under too much load: the per-client throttle (429), load shedding
// beyond --max-inflight (503), and the worker pool's fixed capacity.
// Timing assertions are lower bounds or wide bands: the machine is small and
// noisy, so nothing here asserts a speed.
#include <atomic>
#include <barrier>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kvd_test_util.h"

namespace herd::test {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST(KvdThrottle, BurstThen429WithRetryAfterPerClient) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "5", "--throttle-burst", "5"});
  HttpClient a;
  int ok = 0, throttled = 0, other = 0;
  for (int i = 0; i < 20; ++i) {
    HttpResult r = a.Get(kvd.Url("/v1/k"), {"X-Client-Id: client-a"});
    if (r.status == 404) {
      ++ok;  // served (the key does not exist)
    } else if (r.status == 429) {
      ++throttled;
      std::string ra = r.Header("Retry-After");
      ASSERT_FALSE(ra.empty()) << "429 without Retry-After";
      EXPECT_GE(std::atoi(ra.c_str()), 1) << "Retry-After: " << ra;
      EXPECT_TRUE(r.HasHeader("X-Request-Id"));
    } else {
      ++other;
      ADD_FAILURE() << r.Describe();
    }
  }
  // The burst of 5, plus whatever refilled at 5/s while the loop ran.
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 8);
  EXPECT_EQ(ok + throttled, 20);

  // Another client has its own bucket.
  HttpResult b = HttpGet(kvd.Url("/v1/k"), {"X-Client-Id: client-b"});
  EXPECT_EQ(b.status, 404) << b.Describe();

  // The 429s are counted.
  std::string text = kvd.MetricsText();
  EXPECT_EQ(MetricValue(text, "kvd_throttled_total").value_or(-1), throttled);
  EXPECT_EQ(MetricSum(text, "kvd_requests_total", {{"code", "429"}}), throttled);

  // Tokens come back at the configured rate.
  std::this_thread::sleep_for(Millis(1200));
  HttpResult again = a.Get(kvd.Url("/v1/k"), {"X-Client-Id: client-a"});
  EXPECT_EQ(again.status, 404) << again.Describe();
}

TEST(KvdThrottle, PeerAddressIsTheDefaultClient) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "1", "--throttle-burst", "3"});
  int ok = 0, throttled = 0;
  for (int i = 0; i < 6; ++i) {
    HttpResult r = HttpGet(kvd.Url("/v1/k"));  // a new connection each time, no client id
    ok += r.status == 404;
    throttled += r.status == 429;
  }
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 5);
  EXPECT_EQ(ok + throttled, 6);
}

// The client is named per request: a request without X-Client-Id is the
// peer address's, even on a connection that sent another id before.
TEST(KvdThrottle, ClientIdIsPerRequestNotPerConnection) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "0.1", "--throttle-burst", "1"});
  HttpClient c;  // one keep-alive connection
  ASSERT_EQ(c.Get(kvd.Url("/v1/k"), {"X-Client-Id: named"}).status, 404);
  ASSERT_EQ(c.Get(kvd.Url("/v1/k"), {"X-Client-Id: named"}).status, 429);
  // No header: the peer address's bucket, which is full.
  HttpResult r = c.Get(kvd.Url("/v1/k"));
  EXPECT_EQ(r.status, 404)
      << "kvd bug: a request without X-Client-Id on a keep-alive connection is throttled as the "
         "previous request's client (http_server.cc Dispatch() keeps last_client_): "
      << r.Describe();
  // And the same without keep-alive, for contrast.
  HttpResult fresh = HttpGet(kvd.Url("/v1/k"));
  EXPECT_NE(fresh.status, 0) << fresh.Describe();
}

TEST(KvdThrottle, HealthEndpointsAreNeverThrottled) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "1", "--throttle-burst", "1"});
  HttpClient c;
  // Use up the client's only token on data.
  ASSERT_EQ(c.Get(kvd.Url("/v1/k"), {"X-Client-Id: prober"}).status, 404);
  ASSERT_EQ(c.Get(kvd.Url("/v1/k"), {"X-Client-Id: prober"}).status, 429);
  for (int i = 0; i < 10; ++i) {
    for (const char* path : {"/healthz", "/healthz/shallow", "/healthz/deep", "/readyz", "/metrics"}) {
      HttpResult r = c.Get(kvd.Url(path), {"X-Client-Id: prober"});
      EXPECT_EQ(r.status, 200) << path << " round " << i << ": " << r.Describe();
    }
  }
  EXPECT_EQ(c.Get(kvd.Url("/v1/k"), {"X-Client-Id: prober"}).status, 429);
}

TEST(KvdThrottle, GrpcResourceExhaustedWithPushback) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "2", "--throttle-burst", "2"});
  KvClient kv(kvd.grpc_address());
  int ok = 0;
  KvClient::Call limited;
  bool saw_limit = false;
  for (int i = 0; i < 10 && !saw_limit; ++i) {
    auto c = kv.Put("g", "v", "grpc-client");
    if (c.ok()) {
      ++ok;
    } else {
      limited = c;
      saw_limit = true;
    }
  }
  EXPECT_GE(ok, 2);
  ASSERT_TRUE(saw_limit) << "never throttled";
  EXPECT_EQ(limited.code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << limited.Describe();
  std::string pushback = limited.Trailer("grpc-retry-pushback-ms");
  ASSERT_FALSE(pushback.empty()) << "no grpc-retry-pushback-ms trailer";
  long ms = std::atol(pushback.c_str());
  EXPECT_GE(ms, 1);
  EXPECT_LE(ms, 1000) << "one token at 2/s is at most 500 ms away";
  // Another client id is not affected.
  EXPECT_TRUE(kv.Put("g", "v", "other-client").ok());
  // The throttle is shared by protocols: the REST side of the same client id
  // is empty too.
  EXPECT_EQ(HttpGet(kvd.Url("/v1/g"), {"X-Client-Id: grpc-client"}).status, 429);
}

TEST(KvdThrottle, HoldsTheConfiguredRate) {
  KvdProcess kvd;
  START_KVD(kvd, {"--throttle-rate", "10", "--throttle-burst", "1"});
  HttpClient c;
  int ok = 0, throttled = 0, other = 0;
  const auto start = Clock::now();
  const auto duration = std::chrono::seconds(3);
  // As fast as it can, but bounded in count; a short pause keeps the loop
  // from starving kvd on two cores.
  for (int i = 0; i < 20000 && Clock::now() - start < duration; ++i) {
    HttpResult r = c.Get(kvd.Url("/v1/k"), {"X-Client-Id: steady"});
    if (r.status == 404) ++ok;
    else if (r.status == 429) ++throttled;
    else ++other;
    std::this_thread::sleep_for(Millis(2));
  }
  const double elapsed = Seconds(Clock::now() - start);
  const double expected = 10 * elapsed + 1;
  EXPECT_EQ(other, 0);
  EXPECT_GT(throttled, 0) << "the client never ran out of tokens";
  EXPECT_GE(ok, expected * 0.6) << "elapsed " << elapsed << " s";
  EXPECT_LE(ok, expected * 1.4) << "elapsed " << elapsed << " s";
}

// Runs `n` requests at once (released together by a barrier), each on its
// own connection; returns the results in launch order.
std::vector<HttpResult> Concurrent(int n, const std::function<HttpResult(int)>& request) {
  std::vector<HttpResult> results(static_cast<size_t>(n));
  std::barrier sync(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      sync.arrive_and_wait();
      results[static_cast<size_t>(i)] = request(i);
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

TEST(KvdShed, BeyondMaxInflightIs503WithRetryAfter) {
  KvdProcess kvd;
  START_KVD(kvd, {"--workers", "1", "--service-time", "500ms", "--max-inflight", "2"});
  std::atomic<bool> done{false};
  std::atomic<int> max_inflight{0};
  std::atomic<int> health_failures{0};
  std::atomic<int> probes{0};
  std::string health_failure;
  std::mutex mu;
  // While the burst is being served, probes must keep answering 200.
  std::thread prober([&] {
    std::this_thread::sleep_for(Millis(100));
    while (!done) {
      for (const char* path : {"/healthz", "/readyz"}) {
        HttpResult r = HttpGet(kvd.Url(path), {}, Millis(3000));
        ++probes;
        if (r.status != 200) {
          ++health_failures;
          std::lock_guard lock(mu);
          health_failure = std::string(path) + ": " + r.Describe();
        }
      }
      std::string text = kvd.MetricsText();
      int inflight = static_cast<int>(MetricValue(text, "kvd_inflight").value_or(0));
      int seen = max_inflight.load();
      while (inflight > seen && !max_inflight.compare_exchange_weak(seen, inflight)) {
      }
      std::this_thread::sleep_for(Millis(50));
    }
  });

  const auto start = Clock::now();
  auto results = Concurrent(10, [&](int i) {
    return Http("PUT", kvd.Url("/v1/shed" + std::to_string(i)), "v", {}, Millis(20000));
  });
  const double elapsed = Seconds(Clock::now() - start);
  done = true;
  prober.join();

  int ok = 0, shed = 0;
  for (const auto& r : results) {
    if (r.status == 201) {
      ++ok;
    } else if (r.status == 503) {
      ++shed;
      EXPECT_GE(std::atoi(r.Header("Retry-After").c_str()), 1) << "503 without Retry-After";
    } else {
      ADD_FAILURE() << r.Describe();
    }
  }
  EXPECT_EQ(ok + shed, 10);
  EXPECT_GE(ok, 2) << "two fit in --max-inflight";
  // Ten arrive within a few ms; only two fit, the first holds the only worker
  // 500 ms: anything arriving in that time is shed.
  EXPECT_GE(shed, 5);
  EXPECT_LE(max_inflight.load(), 2) << "kvd_inflight went above --max-inflight";
  EXPECT_GT(probes.load(), 0);
  EXPECT_EQ(health_failures.load(), 0) << health_failure;
  EXPECT_GE(elapsed, 0.9) << "two admitted requests on one worker take 2 x 500 ms";

  std::string text = kvd.MetricsText();
  EXPECT_EQ(MetricValue(text, "kvd_shed_total").value_or(-1), shed);
  EXPECT_EQ(MetricValue(text, "kvd_requests_total",
                        {{"protocol", "http"}, {"route", "/v1/{key}"}, {"method", "PUT"}, {"code", "503"}})
                .value_or(0),
            shed);
  EXPECT_EQ(MetricValue(text, "kvd_inflight").value_or(-1), 0);
  // What was acknowledged is stored; what was shed is not.
  for (int i = 0; i < 10; ++i) {
    int want = results[static_cast<size_t>(i)].status == 201 ? 200 : 404;
    EXPECT_EQ(HttpGet(kvd.Url("/v1/shed" + std::to_string(i))).status, want) << i;
  }
}

TEST(KvdShed, GrpcShedIsUnavailable) {
  KvdProcess kvd;
  START_KVD(kvd, {"--workers", "1", "--service-time", "600ms", "--max-inflight", "1"});
  KvClient kv(kvd.grpc_address());
  // Hold the only slot with a REST request, then call over gRPC.
  std::thread holder([&] { Http("PUT", kvd.Url("/v1/hold"), "v", {}, Millis(10000)); });
  ASSERT_TRUE(Eventually([&] { return kvd.Metric("kvd_inflight") >= 1; }, Millis(5000)));
  auto c = kv.Get("hold");
  holder.join();
  EXPECT_EQ(c.code(), grpc::StatusCode::UNAVAILABLE) << c.Describe();
  EXPECT_FALSE(c.Trailer("grpc-retry-pushback-ms").empty());
  // Once the slot is free, gRPC is served.
  auto g = kv.Get("hold");
  EXPECT_TRUE(g.ok()) << g.Describe();
}

TEST(KvdWorkers, CapacityIsWorkersOverServiceTime) {
  KvdProcess kvd;
  START_KVD(kvd, {"--workers", "2", "--service-time", "100ms"});
  std::atomic<bool> done{false};
  std::atomic<int> max_queue{0};
  std::thread watcher([&] {
    while (!done) {
      int q = static_cast<int>(kvd.Metric("kvd_queue_depth"));
      int seen = max_queue.load();
      while (q > seen && !max_queue.compare_exchange_weak(seen, q)) {
      }
      std::this_thread::sleep_for(Millis(20));
    }
  });
  const auto start = Clock::now();
  auto results = Concurrent(10, [&](int i) {
    return HttpGet(kvd.Url("/v1/w" + std::to_string(i)), {}, Millis(20000));
  });
  const double elapsed = Seconds(Clock::now() - start);
  done = true;
  watcher.join();
  for (const auto& r : results) EXPECT_EQ(r.status, 404) << r.Describe();
  // 10 requests, 2 at a time, 100 ms each: at least 5 rounds.
  EXPECT_GE(elapsed, 0.45);
  EXPECT_GT(max_queue.load(), 0) << "no queue ever seen in kvd_queue_depth";
  EXPECT_EQ(kvd.Metric("kvd_queue_depth"), 0);
  EXPECT_EQ(kvd.Metric("kvd_inflight"), 0);
}

TEST(KvdWorkers, ServiceTimeAppliesPerRequest) {
  KvdProcess kvd;
  START_KVD(kvd, {"--workers", "1", "--service-time", "200ms"});
  // One at a time: every request takes at least the service time.
  for (int i = 0; i < 3; ++i) {
    HttpResult r = HttpGet(kvd.Url("/v1/x"));
    EXPECT_EQ(r.status, 404);
    EXPECT_GE(r.seconds, 0.18) << "request " << i;
  }
  // Health checks hold no worker.
  HttpResult h = HttpGet(kvd.Url("/healthz"));
  EXPECT_EQ(h.status, 200);
}

}  // namespace
}  // namespace herd::test
