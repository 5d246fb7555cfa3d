// The durability checker (observe/durability.h) against real kvd processes
// on loopback: each fate of the header's table (acknowledged, failed on a
// 503 or a refused connection, indeterminate on a client timeout), lost
// writes found after SIGKILL with --fsync never, an early stop, and two
// replicas each read back from its own.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "observe/durability.h"
#include "support/http.h"
#include "support/process.h"

namespace herd::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kSeed = 42;
const char kToken[] = "durability-test-token";

std::string KeyOf(const DurabilitySpec& spec, int64_t i) {
  return spec.prefix + std::to_string(kSeed) + "-" + std::to_string(i);
}

int64_t Count(const std::vector<WriteRecord>& writes, WriteFate fate) {
  int64_t n = 0;
  for (const auto& w : writes) n += w.fate == fate;
  return n;
}

std::string Describe(const SetCheck& c) {
  std::string s = "attempted " + std::to_string(c.attempted) + ", acknowledged " +
                  std::to_string(c.acknowledged) + ", failed " + std::to_string(c.failed) +
                  ", indeterminate " + std::to_string(c.indeterminate) + ", lost " +
                  std::to_string(c.lost) + ", recovered " + std::to_string(c.recovered) +
                  ", unexpected " + std::to_string(c.unexpected);
  if (!c.lost_keys.empty()) s += ", first lost " + c.lost_keys.front();
  if (!c.unexpected_keys.empty()) s += ", first unexpected " + c.unexpected_keys.front();
  return s;
}

// Runs the whole cohort as a run does: starts it, waits until every write
// has been sent (the last one is due just before `duration` ends; generous
// margin), then stops, waiting up to 20 s for those in flight.
void RunCohort(DurabilityChecker& checker, int64_t writes, Duration duration) {
  checker.Start(duration);
  const auto deadline = Clock::now() + duration + std::chrono::seconds(30);
  while (static_cast<int64_t>(checker.writes().size()) < writes && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  checker.StopWriting(std::chrono::seconds(20));
}

// Starts kvd with `args` on `data_dir` (a fresh one when empty) and, when
// given, a fixed HTTP address.
bool StartKvd(KvdProcess& kvd, std::vector<std::string> args, const fs::path& data_dir = {},
              const std::string& http_address = "") {
  KvdProcess::Options o;
  o.args = std::move(args);
  o.data_dir = data_dir;
  o.grpc = false;
  if (!http_address.empty()) o.http_address = http_address;
  return kvd.StartWith(o);
}

TEST(Durability, HealthyKvdAcknowledgesEveryWriteAndLosesNone) {
  KvdProcess kvd;
  ASSERT_TRUE(StartKvd(kvd, {})) << kvd.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 300;
  spec.timeout = std::chrono::seconds(5);
  DurabilityChecker checker(spec, {kvd.http_address()}, kSeed);
  RunCohort(checker, spec.writes, milliseconds(1500));

  const std::vector<WriteRecord> writes = checker.writes();
  ASSERT_EQ(writes.size(), 300u);
  std::set<std::string> values;
  for (size_t i = 0; i < writes.size(); ++i) {
    const WriteRecord& w = writes[i];
    EXPECT_EQ(w.key, KeyOf(spec, static_cast<int64_t>(i)));
    EXPECT_EQ(w.value.rfind(w.key + ":", 0), 0u) << w.value;
    EXPECT_EQ(w.value.size(), 64u) << w.value;  // key + ':' + hex, padded to value_bytes
    EXPECT_EQ(w.value.find_first_not_of("0123456789abcdef", w.key.size() + 1), std::string::npos)
        << w.value;
    EXPECT_EQ(w.fate, WriteFate::kAcknowledged) << w.key;
    values.insert(w.value);
  }
  EXPECT_EQ(values.size(), writes.size()) << "values are not unique";
  // What the checker wrote is what kvd holds.
  HttpClient c;
  for (size_t i = 0; i < writes.size(); i += 37) {
    HttpResult r = c.Get(kvd.Url("/v1/" + writes[i].key));
    EXPECT_EQ(r.status, 200) << r.Describe();
    EXPECT_EQ(r.body, writes[i].value);
  }

  int64_t read_errors = 0;
  SetCheck check = checker.ReadBackAndCheck(&read_errors);
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(check.attempted, 300) << Describe(check);
  EXPECT_EQ(check.acknowledged, 300) << Describe(check);
  EXPECT_EQ(check.lost, 0) << Describe(check);
  EXPECT_EQ(check.unexpected, 0) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
}

TEST(Durability, LongerValuesArePaddedWithHexAndReproducibleFromTheSeed) {
  KvdProcess kvd;
  ASSERT_TRUE(StartKvd(kvd, {})) << kvd.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 5;
  spec.value_bytes = 200;
  spec.timeout = std::chrono::seconds(5);
  std::vector<WriteRecord> first;
  for (int run = 0; run < 2; ++run) {
    DurabilityChecker checker(spec, {kvd.http_address()}, kSeed);
    RunCohort(checker, spec.writes, milliseconds(0));
    std::vector<WriteRecord> writes = checker.writes();
    ASSERT_EQ(writes.size(), 5u);
    for (const auto& w : writes) {
      EXPECT_EQ(w.fate, WriteFate::kAcknowledged);
      EXPECT_EQ(w.value.size(), 200u);
      EXPECT_EQ(w.value.find_first_not_of("0123456789abcdef", w.key.size() + 1), std::string::npos);
    }
    if (run == 0) {
      first = writes;
    } else {
      for (size_t i = 0; i < writes.size(); ++i) EXPECT_EQ(writes[i].value, first[i].value);
    }
  }
  // Another seed: other keys and values.
  DurabilityChecker other(spec, {kvd.http_address()}, kSeed + 1);
  RunCohort(other, spec.writes, milliseconds(0));
  ASSERT_EQ(other.writes().size(), 5u);
  EXPECT_NE(other.writes()[0].key, first[0].key);
  EXPECT_NE(other.writes()[0].value.substr(other.writes()[0].key.size()),
            first[0].value.substr(first[0].key.size()));
}

// kvd's latency fault is a timer *before* the request is executed
// (service.cc: Continue -> AfterLatency -> Execute), and nothing cancels it
// when the client goes away: a PUT whose client timed out at 100 ms is
// still applied at ~400 ms. So every write is indeterminate, and once kvd
// has caught up they are all read back: recovered, the Jepsen "info" case.
TEST(Durability, ClientTimeoutIsIndeterminateAndKvdAppliesTheWriteAnyway) {
  KvdProcess kvd;
  ASSERT_TRUE(StartKvd(kvd, {"--admin-token", kToken, "--faults", R"({"latency":"400ms"})"}))
      << kvd.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 20;
  spec.timeout = milliseconds(100);
  DurabilityChecker checker(spec, {kvd.http_address()}, kSeed);
  RunCohort(checker, spec.writes, milliseconds(300));
  const std::vector<WriteRecord> writes = checker.writes();
  ASSERT_EQ(writes.size(), 20u);
  EXPECT_EQ(Count(writes, WriteFate::kIndeterminate), 20);

  // Heal (reads go through the same latency fault), then let the delayed
  // PUTs, which kept the fault set they arrived with, finish.
  HttpResult healed = Http("DELETE", kvd.Url("/admin/faults"), "",
                           {std::string("Authorization: Bearer ") + kToken});
  ASSERT_EQ(healed.status, 200) << healed.Describe();
  std::this_thread::sleep_for(milliseconds(1500));

  int64_t read_errors = 0;
  SetCheck check = checker.ReadBackAndCheck(&read_errors);
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(check.attempted, 20) << Describe(check);
  EXPECT_EQ(check.indeterminate, 20) << Describe(check);
  EXPECT_EQ(check.acknowledged, 0) << Describe(check);
  EXPECT_EQ(check.recovered, 20) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
}

TEST(Durability, ServiceUnavailableIsAFailedWriteNeverReadBack) {
  KvdProcess kvd;
  ASSERT_TRUE(StartKvd(kvd, {"--admin-token", kToken, "--faults",
                             R"({"error_rate":1,"error_status":503})"}))
      << kvd.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 30;
  spec.timeout = std::chrono::seconds(5);
  DurabilityChecker checker(spec, {kvd.http_address()}, kSeed);
  RunCohort(checker, spec.writes, milliseconds(300));
  EXPECT_EQ(Count(checker.writes(), WriteFate::kFailed), 30);

  HttpResult healed = Http("DELETE", kvd.Url("/admin/faults"), "",
                           {std::string("Authorization: Bearer ") + kToken});
  ASSERT_EQ(healed.status, 200) << healed.Describe();
  int64_t read_errors = 0;
  SetCheck check = checker.ReadBackAndCheck(&read_errors);
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(check.attempted, 30) << Describe(check);
  EXPECT_EQ(check.failed, 30) << Describe(check);
  EXPECT_EQ(check.acknowledged, 0) << Describe(check);
  EXPECT_EQ(check.recovered, 0) << Describe(check);
  EXPECT_EQ(check.unexpected, 0) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
}

// Writes a cohort to kvd started with `fsync_args`, SIGKILLs it, restarts it
// on the same data directory and the same HTTP address, and reads back.
SetCheck WriteKillRestartRead(const std::vector<std::string>& fsync_args, int64_t* acknowledged,
                              int64_t* read_errors) {
  TempDir data("durability-kill");
  KvdProcess kvd;
  EXPECT_TRUE(StartKvd(kvd, fsync_args, data.path())) << kvd.Diagnostics();
  if (!kvd.Running()) return {};
  const std::string address = kvd.http_address();
  DurabilitySpec spec;
  spec.writes = 200;
  spec.timeout = std::chrono::seconds(5);
  DurabilityChecker checker(spec, {address}, kSeed);
  RunCohort(checker, spec.writes, milliseconds(500));
  *acknowledged = Count(checker.writes(), WriteFate::kAcknowledged);
  kvd.Kill();

  KvdProcess again;
  // The port is free again at once (SO_REUSEADDR); retry in case another
  // test's port-0 listener took it meanwhile (then this test fails).
  bool started = false;
  for (int i = 0; i < 5 && !started; ++i) {
    started = StartKvd(again, fsync_args, data.path(), address);
    if (!started) std::this_thread::sleep_for(milliseconds(200));
  }
  EXPECT_TRUE(started) << again.Diagnostics();
  if (!started) return {};
  EXPECT_EQ(again.http_address(), address);
  return checker.ReadBackAndCheck(read_errors);
}

TEST(Durability, FsyncNeverLosesAcknowledgedWritesOnSigkill) {
  int64_t acknowledged = 0;
  int64_t read_errors = 0;
  // A 5 s write interval: nothing of the cohort reaches the file before the kill.
  SetCheck check =
      WriteKillRestartRead({"--fsync", "never", "--sync-interval", "5s"}, &acknowledged, &read_errors);
  EXPECT_EQ(acknowledged, 200);
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(check.acknowledged, 200) << Describe(check);
  EXPECT_GT(check.lost, 0) << Describe(check);
  EXPECT_LE(check.lost, check.acknowledged) << Describe(check);
  EXPECT_FALSE(check.lost_keys.empty()) << Describe(check);
  EXPECT_LE(check.lost_keys.size(), 20u);
  EXPECT_EQ(check.unexpected, 0) << Describe(check);
  EXPECT_FALSE(check.valid()) << Describe(check);
}

TEST(Durability, FsyncAlwaysLosesNothingOnSigkill) {
  int64_t acknowledged = 0;
  int64_t read_errors = 0;
  SetCheck check = WriteKillRestartRead({"--fsync", "always"}, &acknowledged, &read_errors);
  EXPECT_EQ(acknowledged, 200);
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(check.acknowledged, 200) << Describe(check);
  EXPECT_EQ(check.lost, 0) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
}

// A loopback port nobody listens on, held (bound, not listening) so that no
// other test can take it: a connect gets RST, ECONNREFUSED.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      socklen_t len = sizeof a;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
      port_ = ntohs(a.sin_port);
    }
  }
  ~RefusingPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Durability, RefusedConnectionIsAFailedWrite) {
  RefusingPort refusing;
  ASSERT_GT(refusing.port(), 0);
  DurabilitySpec spec;
  spec.writes = 10;
  spec.timeout = std::chrono::seconds(5);
  DurabilityChecker checker(spec, {"127.0.0.1:" + std::to_string(refusing.port())}, kSeed);
  RunCohort(checker, spec.writes, milliseconds(100));
  EXPECT_EQ(Count(checker.writes(), WriteFate::kFailed), 10);
  // The reads are refused too: each retried, then counted as an error.
  int64_t read_errors = 0;
  SetCheck check = checker.ReadBackAndCheck(&read_errors);
  EXPECT_EQ(read_errors, 10);
  EXPECT_EQ(check.attempted, 10) << Describe(check);
  EXPECT_EQ(check.failed, 10) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
}

TEST(Durability, StopWritingEarlySendsNothingThatWasNotDue) {
  KvdProcess kvd;
  ASSERT_TRUE(StartKvd(kvd, {})) << kvd.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 100;
  spec.timeout = std::chrono::seconds(5);
  DurabilityChecker checker(spec, {kvd.http_address()}, kSeed);
  const auto duration = std::chrono::seconds(10);  // one write every 100 ms
  const auto start = Clock::now();
  checker.Start(duration);
  std::this_thread::sleep_for(milliseconds(700));
  checker.StopWriting(std::chrono::seconds(10));
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  const size_t sent = checker.writes().size();
  EXPECT_GE(sent, 1u);  // write 0 is due at once
  // At most those due by the time StopWriting returned (+1 for rounding).
  EXPECT_LE(static_cast<double>(sent), elapsed / 10.0 * 100 + 1) << "elapsed " << elapsed << " s";
  EXPECT_LT(sent, 100u);
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(checker.writes().size(), sent) << "writes went on after StopWriting";

  int64_t read_errors = 0;
  SetCheck check = checker.ReadBackAndCheck(&read_errors);
  EXPECT_EQ(check.attempted, static_cast<int64_t>(sent)) << Describe(check);
  EXPECT_EQ(check.acknowledged, static_cast<int64_t>(sent)) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
  // The keys never sent are not in kvd.
  HttpClient c;
  EXPECT_EQ(c.Get(kvd.Url("/v1/" + KeyOf(spec, 99))).status, 404);
}

TEST(Durability, StopWritingAbandonsWritesThatDoNotFinish) {
  KvdProcess kvd;
  ASSERT_TRUE(StartKvd(kvd, {"--faults", R"({"stall":true})"})) << kvd.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 5;
  spec.timeout = std::chrono::seconds(30);
  DurabilityChecker checker(spec, {kvd.http_address()}, kSeed);
  checker.Start(milliseconds(0));
  std::this_thread::sleep_for(milliseconds(300));
  const auto before = Clock::now();
  checker.StopWriting(milliseconds(200));
  // Bounded by the wait, not by the 30 s timeout (a loose bound: never a speed test).
  EXPECT_LT(Clock::now() - before, std::chrono::seconds(10));
  const auto writes = checker.writes();
  ASSERT_EQ(writes.size(), 5u);
  EXPECT_EQ(Count(writes, WriteFate::kIndeterminate), 5);
}

TEST(Durability, TwoReplicasRoundRobinEachReadFromItsOwn) {
  KvdProcess a;
  KvdProcess b;
  ASSERT_TRUE(StartKvd(a, {})) << a.Diagnostics();
  ASSERT_TRUE(StartKvd(b, {})) << b.Diagnostics();
  DurabilitySpec spec;
  spec.writes = 40;
  spec.timeout = std::chrono::seconds(5);
  DurabilityChecker checker(spec, {a.http_address(), b.http_address()}, kSeed);
  RunCohort(checker, spec.writes, milliseconds(400));
  const auto writes = checker.writes();
  ASSERT_EQ(writes.size(), 40u);

  HttpClient c;
  for (size_t i = 0; i < writes.size(); ++i) {
    KvdProcess& own = i % 2 == 0 ? a : b;
    KvdProcess& other = i % 2 == 0 ? b : a;
    HttpResult r = c.Get(own.Url("/v1/" + writes[i].key));
    EXPECT_EQ(r.status, 200) << writes[i].key << ": " << r.Describe();
    EXPECT_EQ(r.body, writes[i].value);
    EXPECT_EQ(c.Get(other.Url("/v1/" + writes[i].key)).status, 404) << writes[i].key;
  }
  // Were a key read from the other replica, it would be lost (404 there).
  int64_t read_errors = 0;
  SetCheck check = checker.ReadBackAndCheck(&read_errors);
  EXPECT_EQ(read_errors, 0);
  EXPECT_EQ(check.acknowledged, 40) << Describe(check);
  EXPECT_EQ(check.lost, 0) << Describe(check);
  EXPECT_TRUE(check.valid()) << Describe(check);
}

}  // namespace
}  // namespace herd::test
