// kvd's lifecycle: graceful drain on SIGTERM, durability of acknowledged
// writes across SIGKILL (per --fsync mode), and replay of a torn or corrupt
// transaction log.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kvd_test_util.h"

namespace herd::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Starts kvd on an existing data directory.
bool StartOn(KvdProcess& kvd, const fs::path& dir, std::vector<std::string> args = {},
             bool wait_ready = true) {
  KvdProcess::Options o;
  o.data_dir = dir;
  o.args = std::move(args);
  o.wait_ready = wait_ready;
  return kvd.StartWith(o);
}

TEST(KvdDrain, SigtermFinishesInflightRequestsAndExitsZero) {
  TempDir data("kvd-drain");
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path(), {"--service-time", "500ms"})) << kvd.Diagnostics();
  const std::string host = kvd.http_host();
  const int port = kvd.http_port();

  constexpr int kInflight = 5;
  std::vector<HttpResult> results(kInflight);
  std::vector<std::thread> threads;
  for (int i = 0; i < kInflight; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<size_t>(i)] =
          Http("PUT", kvd.Url("/v1/drain" + std::to_string(i)), "v" + std::to_string(i), {},
               Millis(15000));
    });
  }
  // Wait until all of them are inside kvd (each holds 500 ms of service time).
  ASSERT_TRUE(Eventually([&] { return kvd.Metric("kvd_inflight") >= kInflight; }, Millis(5000)))
      << "requests never arrived";
  ASSERT_TRUE(kvd.Signal(SIGTERM));

  // kvd handles the signal on its own thread: a request racing the signal
  // may still be served. Once the drain shows (/readyz no longer 200: 503,
  // or the listener closed), new arrivals are refused or get a 503.
  ASSERT_TRUE(Eventually([&] { return HttpGet(kvd.Url("/readyz"), {}, Millis(2000)).status != 200; },
                         Millis(5000)))
      << "/readyz still 200 after SIGTERM";
  for (int i = 0; i < 5; ++i) {
    HttpResult r = Http("PUT", kvd.Url("/v1/late" + std::to_string(i)), "late", {}, Millis(3000));
    EXPECT_TRUE(r.status == 503 || r.status == 0) << "after SIGTERM: " << r.Describe();
    HttpResult ready = HttpGet(kvd.Url("/readyz"), {}, Millis(3000));
    EXPECT_NE(ready.status, 200) << "/readyz during drain: " << ready.Describe();
    std::this_thread::sleep_for(Millis(20));
  }

  for (auto& t : threads) t.join();
  for (int i = 0; i < kInflight; ++i) {
    EXPECT_EQ(results[static_cast<size_t>(i)].status, 201)
        << "in-flight request " << i << ": " << results[static_cast<size_t>(i)].Describe();
  }
  auto rc = kvd.WaitExit(Millis(15000));
  ASSERT_TRUE(rc.has_value()) << "kvd did not exit after SIGTERM";
  EXPECT_EQ(*rc, 0) << kvd.StderrTail();
  EXPECT_NE(kvd.StderrText().find("drained"), std::string::npos) << kvd.StderrTail();
  // Nothing can connect any more.
  RawResult raw = RawExchange(host, port, "GET /healthz HTTP/1.1\r\n\r\n", Millis(1000));
  EXPECT_FALSE(raw.connected && !raw.received.empty());

  // What was acknowledged during the drain is on disk.
  KvdProcess again;
  ASSERT_TRUE(StartOn(again, data.path())) << again.Diagnostics();
  for (int i = 0; i < kInflight; ++i) {
    HttpResult r = HttpGet(again.Url("/v1/drain" + std::to_string(i)));
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "v" + std::to_string(i));
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(HttpGet(again.Url("/v1/late" + std::to_string(i))).status, 404);
  }
}

TEST(KvdDrain, IdleKeepAliveConnectionsDoNotHoldTheDrain) {
  KvdProcess kvd;
  START_KVD(kvd, {"--drain-timeout", "8s", "--idle-timeout", "60s"});
  // Idle keep-alive connections, one of them half-way through a request.
  HttpClient idle1, idle2;
  ASSERT_EQ(idle1.Get(kvd.Url("/healthz")).status, 200);
  ASSERT_EQ(idle2.Put(kvd.Url("/v1/k"), "v").status, 201);
  TcpConnection half;
  ASSERT_TRUE(half.Connect(kvd.http_host(), kvd.http_port(), Millis(5000)));
  ASSERT_TRUE(half.Send("GET /v1/k HTTP/1.1\r\nHo"));
  ASSERT_TRUE(Eventually([&] { return kvd.Metric("kvd_open_connections") >= 4; }, Millis(5000)));
  const auto start = Clock::now();
  ASSERT_TRUE(kvd.Signal(SIGTERM));
  auto rc = kvd.WaitExit(Millis(15000));
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << kvd.StderrTail();
  // Closing idle connections is part of the drain, not waiting them out.
  EXPECT_LT(took, 6.0) << "drain waited for idle connections";
  bool closed = false;
  half.ReadUntilClosed(Millis(1000), &closed);
  EXPECT_TRUE(closed);
}

TEST(KvdDrain, GrpcInflightCallsFinishAndHealthGoesNotServing) {
  KvdProcess kvd;
  START_KVD(kvd, {"--service-time", "500ms"});
  KvClient kv(kvd.grpc_address());
  ASSERT_EQ(kv.HealthCheck(), 1);
  std::vector<KvClient::Call> calls(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      calls[static_cast<size_t>(i)] = kv.Put("g" + std::to_string(i), "v", "", Millis(15000));
    });
  }
  ASSERT_TRUE(Eventually([&] { return kvd.Metric("kvd_inflight") >= 3; }, Millis(5000)));
  ASSERT_TRUE(kvd.Signal(SIGTERM));
  for (auto& t : threads) t.join();
  for (const auto& c : calls) EXPECT_TRUE(c.ok()) << c.Describe();
  auto rc = kvd.WaitExit(Millis(15000));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << kvd.StderrTail();
}

TEST(KvdDrain, StalledRequestsAre503AndDrainCompletes) {
  KvdProcess kvd;
  START_KVD(kvd, {"--admin-token", "t", "--faults", R"({"stall":true})"});
  HttpResult stalled;
  std::thread t([&] { stalled = HttpGet(kvd.Url("/v1/k"), {}, Millis(15000)); });
  ASSERT_TRUE(Eventually([&] { return kvd.Metric("kvd_stalled_total") >= 1; }, Millis(5000)));
  ASSERT_TRUE(kvd.Signal(SIGTERM));
  t.join();
  EXPECT_EQ(stalled.status, 503) << stalled.Describe();
  auto rc = kvd.WaitExit(Millis(15000));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0) << kvd.StderrTail();
}

TEST(KvdDurability, FsyncAlwaysKeepsEveryAcknowledgedWriteThroughSigkill) {
  TempDir data("kvd-durable");
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path(), {"--fsync", "always"})) << kvd.Diagnostics();

  std::mutex mu;
  std::map<int, std::string> acked;
  std::atomic<int> acked_count{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    HttpClient c;
    for (int i = 0; i < 100000 && !stop; ++i) {
      std::string value = "value-" + std::to_string(i) + "-" + std::string(i % 50, 'x');
      HttpResult r = c.Put(kvd.Url("/v1/k" + std::to_string(i)), value, {}, Millis(5000));
      if (r.status == 201) {
        std::lock_guard lock(mu);
        acked[i] = value;
        ++acked_count;
      } else if (r.status != 0) {
        ADD_FAILURE() << "unexpected " << r.Describe();
        return;
      } else {
        return;  // kvd is gone
      }
    }
  });
  bool enough = Eventually([&] { return acked_count >= 300; }, Millis(60000));
  kvd.Kill();  // SIGKILL mid-stream: the writer has a request in flight
  stop = true;
  writer.join();
  ASSERT_TRUE(enough) << "only " << acked_count << " writes acknowledged in 60 s";

  KvdProcess again;
  ASSERT_TRUE(StartOn(again, data.path(), {"--fsync", "always"})) << again.Diagnostics();
  HttpClient c;
  int lost = 0;
  std::string first_lost;
  for (const auto& [i, value] : acked) {
    HttpResult r = c.Get(again.Url("/v1/k" + std::to_string(i)));
    if (r.status != 200 || r.body != value) {
      if (lost++ == 0) first_lost = "k" + std::to_string(i) + ": " + r.Describe();
    }
  }
  EXPECT_EQ(lost, 0) << lost << " of " << acked.size() << " acknowledged writes lost, first "
                     << first_lost;
  // Nothing past the last acknowledged key but, at most, the one in flight.
  int last = acked.rbegin()->first;
  EXPECT_EQ(c.Get(again.Url("/v1/k" + std::to_string(last + 2))).status, 404);
}

TEST(KvdDurability, FsyncNeverLosesRecentWritesOnSigkill) {
  TempDir data("kvd-never");
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path(), {"--fsync", "never", "--sync-interval", "5s"}))
      << kvd.Diagnostics();
  HttpClient c;
  const int n = 50;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(c.Put(kvd.Url("/v1/n" + std::to_string(i)), "v").status, 201);
  }
  kvd.Kill();
  KvdProcess again;
  ASSERT_TRUE(StartOn(again, data.path())) << again.Diagnostics();
  int missing = 0;
  for (int i = 0; i < n; ++i) missing += c.Get(again.Url("/v1/n" + std::to_string(i))).status == 404;
  // The buffer had not been written yet: acknowledged writes are gone.
  EXPECT_GT(missing, 0) << "all " << n << " writes survived SIGKILL with --fsync never";
}

TEST(KvdDurability, FsyncNeverStillFlushesOnCleanShutdown) {
  TempDir data("kvd-never-clean");
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path(), {"--fsync", "never", "--sync-interval", "5s"}))
      << kvd.Diagnostics();
  HttpClient c;
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.Put(kvd.Url("/v1/n" + std::to_string(i)), "v").status, 201);
  ASSERT_TRUE(kvd.Signal(SIGTERM));
  auto rc = kvd.WaitExit(Millis(15000));
  ASSERT_TRUE(rc.has_value());
  EXPECT_EQ(*rc, 0);
  KvdProcess again;
  ASSERT_TRUE(StartOn(again, data.path())) << again.Diagnostics();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.Get(again.Url("/v1/n" + std::to_string(i))).status, 200) << i;
}

// Writes keys k0..k{n-1} and stops kvd cleanly.
void WriteAndStop(const fs::path& dir, int n) {
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, dir)) << kvd.Diagnostics();
  HttpClient c;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(c.Put(kvd.Url("/v1/key-" + std::to_string(i)), "value-" + std::to_string(i)).status, 201);
  }
  ASSERT_TRUE(kvd.Signal(SIGTERM));
  auto rc = kvd.WaitExit(Millis(15000));
  ASSERT_TRUE(rc.has_value());
  ASSERT_EQ(*rc, 0) << kvd.StderrTail();
}

void ExpectKeys(const KvdProcess& kvd, int from, int to, int status) {
  HttpClient c;
  for (int i = from; i < to; ++i) {
    HttpResult r = c.Get(kvd.Url("/v1/key-" + std::to_string(i)));
    EXPECT_EQ(r.status, status) << "key-" << i;
    if (status == 200) {
      EXPECT_EQ(r.body, "value-" + std::to_string(i));
    }
  }
}

TEST(KvdLogReplay, GarbageTailIsCutWithAWarning) {
  TempDir data("kvd-torn");
  ASSERT_NO_FATAL_FAILURE(WriteAndStop(data.path(), 20));
  const fs::path log = data.path() / "kvd.log";
  const auto size = fs::file_size(log);
  {
    std::ofstream out(log, std::ios::binary | std::ios::app);
    out.write("\xde\xad\xbe\xef\x01\x02\x03", 7);
  }
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path())) << kvd.Diagnostics();
  ExpectKeys(kvd, 0, 20, 200);
  EXPECT_NE(kvd.StderrText().find("torn"), std::string::npos) << kvd.StderrTail();
  EXPECT_NE(kvd.StderrText().find("\"level\":\"warn"), std::string::npos) << kvd.StderrTail();
  // The tail was cut off the file, and new writes follow the good records.
  EXPECT_EQ(fs::file_size(log), size);
  ASSERT_EQ(Http("PUT", kvd.Url("/v1/after"), "cut").status, 201);
  ASSERT_TRUE(kvd.Signal(SIGTERM));
  ASSERT_TRUE(kvd.WaitExit(Millis(15000)).has_value());
  KvdProcess again;
  ASSERT_TRUE(StartOn(again, data.path())) << again.Diagnostics();
  EXPECT_EQ(HttpGet(again.Url("/v1/after")).body, "cut");
  ExpectKeys(again, 0, 20, 200);
  EXPECT_EQ(again.StderrText().find("torn"), std::string::npos) << "second start cut again";
}

TEST(KvdLogReplay, TruncatedLastRecordIsCut) {
  TempDir data("kvd-trunc");
  ASSERT_NO_FATAL_FAILURE(WriteAndStop(data.path(), 20));
  const fs::path log = data.path() / "kvd.log";
  fs::resize_file(log, fs::file_size(log) - 3);  // mid-way through key-19's record
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path())) << kvd.Diagnostics();
  ExpectKeys(kvd, 0, 19, 200);
  ExpectKeys(kvd, 19, 20, 404);
  EXPECT_NE(kvd.StderrText().find("torn"), std::string::npos) << kvd.StderrTail();
}

TEST(KvdLogReplay, CorruptRecordInTheMiddleRefusesToStart) {
  TempDir data("kvd-corrupt");
  ASSERT_NO_FATAL_FAILURE(WriteAndStop(data.path(), 20));
  const fs::path log = data.path() / "kvd.log";
  const auto size_before = fs::file_size(log);
  {
    // Byte 23 lies in the first record's key ("key-0" starts at byte 21):
    // its checksum no longer matches, and 19 good records follow.
    std::fstream f(log, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(23);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(23);
    f.write(&c, 1);
  }
  KvdProcess kvd;
  EXPECT_FALSE(StartOn(kvd, data.path())) << "kvd served a corrupt log";
  auto rc = kvd.WaitExit(Millis(10000));
  ASSERT_TRUE(rc.has_value()) << "kvd is still running on a corrupt log";
  EXPECT_NE(*rc, 0);
  const std::string err = kvd.StderrText();
  EXPECT_NE(err.find("corrupt"), std::string::npos) << kvd.StderrTail();
  EXPECT_NE(err.find("offset 0"), std::string::npos) << "should name the offset: " << kvd.StderrTail();
  // And it did not "repair" the file by cutting it.
  EXPECT_EQ(fs::file_size(log), size_before);
}

TEST(KvdLogReplay, RestartReplaysPutsAndDeletes) {
  TempDir data("kvd-replay");
  {
    KvdProcess kvd;
    ASSERT_TRUE(StartOn(kvd, data.path())) << kvd.Diagnostics();
    HttpClient c;
    ASSERT_EQ(c.Put(kvd.Url("/v1/a"), "1").status, 201);
    ASSERT_EQ(c.Put(kvd.Url("/v1/b"), "2").status, 201);
    ASSERT_EQ(c.Put(kvd.Url("/v1/a"), "3").status, 201);
    ASSERT_EQ(c.Delete(kvd.Url("/v1/b")).status, 200);
    kvd.Kill();  // --fsync always (the default): nothing is lost
  }
  KvdProcess kvd;
  ASSERT_TRUE(StartOn(kvd, data.path())) << kvd.Diagnostics();
  EXPECT_EQ(HttpGet(kvd.Url("/v1/a")).body, "3");
  EXPECT_EQ(HttpGet(kvd.Url("/v1/b")).status, 404);
  EXPECT_EQ(kvd.Metric("kvd_keys"), 1);
}

}  // namespace
}  // namespace herd::test
