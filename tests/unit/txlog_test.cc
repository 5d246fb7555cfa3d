// Tests for kvd::TxLog: file format, replay (torn tails and corruption), the
// three sync modes' promises (including what a SIGKILL loses), group commit,
// compaction and concurrent appends.
#include "txlog.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/crc.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store.h"

namespace kvd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = fs::temp_directory_path() / ("txlog_test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + name);
    fs::remove_all(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path log() const { return path_ / "kvd.log"; }

 private:
  fs::path path_;
};

TxLog::Options MakeOptions(const fs::path& dir, SyncMode mode,
                           std::chrono::milliseconds interval = 10s) {
  TxLog::Options o;
  o.dir = dir;
  o.sync = mode;
  o.interval = interval;
  return o;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct Op {
  LogOp op;
  std::string key;
  std::string value;
};

// The bytes a log holding exactly `ops` (seq from 1) must contain.
std::string Encode(const std::vector<Op>& ops) {
  std::string out;
  uint64_t seq = 0;
  for (const Op& op : ops) EncodeRecord(op.op, ++seq, op.key, op.value, &out);
  return out;
}

uint64_t RecordStart(const std::vector<Op>& ops, size_t index) {
  return Encode(std::vector<Op>(ops.begin(), ops.begin() + static_cast<ptrdiff_t>(index))).size();
}

std::vector<Op> SampleOps(size_t n) {
  std::vector<Op> ops;
  for (size_t i = 0; i < n; ++i) {
    std::string key = "key-" + std::to_string(i % 7);
    if (i % 5 == 4) {
      ops.push_back({LogOp::kDelete, key, ""});
    } else {
      // Empty values and embedded NULs must survive the trip too.
      std::string value = (i % 11 == 0) ? std::string() : "value-" + std::to_string(i);
      if (i % 3 == 0) value += std::string("\0\x01\xff", 3);
      ops.push_back({LogOp::kPut, key, value});
    }
  }
  return ops;
}

std::map<std::string, std::string> ApplyOps(const std::vector<Op>& ops) {
  std::map<std::string, std::string> m;
  for (const Op& op : ops) {
    if (op.op == LogOp::kPut) {
      m[op.key] = op.value;
    } else {
      m.erase(op.key);
    }
  }
  return m;
}

struct Replayed {
  std::vector<LogRecord> records;
  ReplayStats stats;
  std::string error;
  bool opened = false;

  std::map<std::string, std::string> State() const {
    std::map<std::string, std::string> m;
    for (const LogRecord& r : records) {
      if (r.op == LogOp::kPut) {
        m[r.key] = r.value;
      } else {
        m.erase(r.key);
      }
    }
    return m;
  }
};

// Opens, replays and closes the log.
Replayed Replay(const fs::path& dir, SyncMode mode = SyncMode::kAlways) {
  Replayed r;
  auto log = TxLog::Open(
      MakeOptions(dir, mode), [&](const LogRecord& rec) { r.records.push_back(rec); }, &r.stats,
      &r.error);
  r.opened = log != nullptr;
  if (log) log->Close();
  return r;
}

// Counts Done callbacks; lets a test wait for all of them.
class DoneCounter {
 public:
  TxLog::Done Callback() {
    return [this](bool ok) {
      std::lock_guard lk(mu_);
      ++(ok ? ok_ : failed_);
      cv_.notify_all();
    };
  }
  // False on timeout.
  bool WaitFor(uint64_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return ok_ + failed_ >= n; });
  }
  uint64_t ok() {
    std::lock_guard lk(mu_);
    return ok_;
  }
  uint64_t failed() {
    std::lock_guard lk(mu_);
    return failed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
};

std::unique_ptr<TxLog> OpenEmpty(const TxLog::Options& options) {
  std::string error;
  auto log = TxLog::Open(options, nullptr, nullptr, &error);
  EXPECT_NE(log, nullptr) << error;
  return log;
}

void ExpectSameRecords(const std::vector<Op>& ops, const std::vector<LogRecord>& got,
                       uint64_t first_seq = 1) {
  ASSERT_EQ(got.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(got[i].op, ops[i].op) << i;
    EXPECT_EQ(got[i].seq, first_seq + i) << i;
    EXPECT_EQ(got[i].key, ops[i].key) << i;
    EXPECT_EQ(got[i].value, ops[i].value) << i;
  }
}

TEST(TxLogFormat, EncodeRecordLayout) {
  std::string out = "prefix";
  EncodeRecord(LogOp::kDelete, 0x0102030405060708ull, "key", std::string("v\0l", 3), &out);
  ASSERT_EQ(out.size(), 6u + 8 + 13 + 3 + 3);
  const std::string rec = out.substr(6);
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(rec[at + i])} << (8 * i);
    return v;
  };
  EXPECT_EQ(u32(4), 13u + 3 + 3);                                                   // length
  EXPECT_EQ(rec[8], 2);                                                             // op
  EXPECT_EQ(rec.substr(9, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));  // seq, LE
  EXPECT_EQ(u32(17), 3u);                                                           // key_len
  EXPECT_EQ(rec.substr(21), std::string("keyv\0l", 6));
  boost::crc_32_type crc;
  crc.process_bytes(rec.data() + 4, rec.size() - 4);
  EXPECT_EQ(u32(0), crc.checksum());
}

TEST(TxLogFormat, SyncModeNames) {
  for (SyncMode m : {SyncMode::kAlways, SyncMode::kInterval, SyncMode::kNever}) {
    SyncMode parsed = SyncMode::kAlways;
    ASSERT_TRUE(ParseSyncMode(SyncModeName(m), &parsed)) << SyncModeName(m);
    EXPECT_EQ(parsed, m);
  }
  EXPECT_STREQ(SyncModeName(SyncMode::kInterval), "interval");
  SyncMode m = SyncMode::kNever;
  EXPECT_FALSE(ParseSyncMode("", &m));
  EXPECT_FALSE(ParseSyncMode("ALWAYS", &m));
  EXPECT_FALSE(ParseSyncMode("sometimes", &m));
  EXPECT_EQ(m, SyncMode::kNever);  // untouched on failure
}

class TxLogModeTest : public testing::TestWithParam<SyncMode> {};

INSTANTIATE_TEST_SUITE_P(AllModes, TxLogModeTest,
                         testing::Values(SyncMode::kAlways, SyncMode::kInterval, SyncMode::kNever),
                         [](const auto& info) { return std::string(SyncModeName(info.param)); });

TEST_P(TxLogModeTest, RoundTrip) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(200);
  DoneCounter done;
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), GetParam()));
    ASSERT_NE(log, nullptr);
    for (const Op& op : ops) log->Append(op.op, op.key, op.value, done.Callback());
    ASSERT_TRUE(done.WaitFor(ops.size()));
    EXPECT_EQ(log->records(), ops.size());
    EXPECT_EQ(log->bytes(), Encode(ops).size());
    log->Close();
  }
  EXPECT_EQ(done.ok(), ops.size());
  EXPECT_EQ(done.failed(), 0u);
  // Byte for byte the format in txlog.h, seq 1..N in append order.
  EXPECT_EQ(ReadFile(dir.log()), Encode(ops));

  Replayed r = Replay(dir.path(), GetParam());
  ASSERT_TRUE(r.opened) << r.error;
  ExpectSameRecords(ops, r.records);
  EXPECT_EQ(r.State(), ApplyOps(ops));
  EXPECT_EQ(r.stats.records, ops.size());
  EXPECT_EQ(r.stats.bytes, Encode(ops).size());
  EXPECT_EQ(r.stats.cut_bytes, 0u);
  EXPECT_EQ(r.stats.warning, "");
}

TEST_P(TxLogModeTest, SeqContinuesAfterReopen) {
  TempDir dir;
  const std::vector<Op> first = SampleOps(10);
  const std::vector<Op> second = {{LogOp::kPut, "a", "1"}, {LogOp::kDelete, "a", ""}};
  for (const auto* ops : {&first, &second}) {
    uint64_t replayed = 0;
    auto log = TxLog::Open(
        MakeOptions(dir.path(), GetParam()), [&](const LogRecord&) { ++replayed; }, nullptr,
        nullptr);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->records(), replayed);
    for (const Op& op : *ops) log->Append(op.op, op.key, op.value, nullptr);
    log->Close();
  }
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  std::vector<Op> all = first;
  all.insert(all.end(), second.begin(), second.end());
  ExpectSameRecords(all, r.records);
}

// kAlways and kInterval both write before they acknowledge (kAlways also
// fsyncs first, which a test cannot observe short of a power cut).
class TxLogWriteFirstTest : public testing::TestWithParam<SyncMode> {};

INSTANTIATE_TEST_SUITE_P(WritingModes, TxLogWriteFirstTest,
                         testing::Values(SyncMode::kAlways, SyncMode::kInterval),
                         [](const auto& info) { return std::string(SyncModeName(info.param)); });

TEST_P(TxLogWriteFirstTest, AcknowledgesOnlyAfterTheRecordIsInTheFile) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(64);
  const std::string expected = Encode(ops);
  std::mutex mu;
  std::vector<std::string> problems;
  std::atomic<int> acked{0};
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), GetParam()));
    ASSERT_NE(log, nullptr);
    for (size_t i = 0; i < ops.size(); ++i) {
      const uint64_t end = RecordStart(ops, i + 1);
      log->Append(ops[i].op, ops[i].key, ops[i].value, [&, end, i](bool ok) {
        // A separate open file description: sees only what reached the file.
        const std::string now = ReadFile(dir.log());
        std::lock_guard lk(mu);
        if (!ok) problems.push_back("record " + std::to_string(i) + " failed");
        if (now.size() < end || now.compare(0, end, expected, 0, end) != 0) {
          problems.push_back("record " + std::to_string(i) + " acknowledged before written");
        }
        ++acked;
      });
    }
    log->Flush();
    EXPECT_EQ(acked.load(), static_cast<int>(ops.size()));
  }
  std::lock_guard lk(mu);
  EXPECT_TRUE(problems.empty()) << problems.front();
}

TEST(TxLog, NeverAcknowledgesAtOnceAndFlushWritesTheBuffer) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(5);
  auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kNever, 10s));
  ASSERT_NE(log, nullptr);
  int acked = 0;
  for (const Op& op : ops) {
    log->Append(op.op, op.key, op.value, [&](bool ok) { acked += ok ? 1 : 100; });
  }
  // Acknowledged inside Append, on this thread.
  EXPECT_EQ(acked, static_cast<int>(ops.size()));
  // Buffered, not written: the interval is 10 s.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fs::file_size(dir.log()), 0u);
  EXPECT_EQ(log->records(), ops.size());
  EXPECT_EQ(log->bytes(), Encode(ops).size());

  const auto start = std::chrono::steady_clock::now();
  log->Flush();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "Flush waited for the interval";
  EXPECT_EQ(ReadFile(dir.log()), Encode(ops));
  EXPECT_EQ(log->bytes(), fs::file_size(dir.log()));
}

TEST(TxLog, IntervalFlushWritesEverythingWithoutWaitingForTheInterval) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(20);
  auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kInterval, 10s));
  ASSERT_NE(log, nullptr);
  for (const Op& op : ops) log->Append(op.op, op.key, op.value, nullptr);
  const auto start = std::chrono::steady_clock::now();
  log->Flush();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "Flush waited for the interval";
  EXPECT_EQ(ReadFile(dir.log()), Encode(ops));
  EXPECT_EQ(log->records(), ops.size());
}

// Cuts `cut` bytes off the end of a log of 10 records; the last record is torn.
class TornTailTest : public testing::TestWithParam<int> {};

INSTANTIATE_TEST_SUITE_P(CutSizes, TornTailTest, testing::Values(1, 3, 8, 20, -5, -1),
                         [](const auto& info) {
                           // Negative: keep only that many bytes of the last record.
                           return info.param < 0 ? "keep" + std::to_string(-info.param)
                                                 : "cut" + std::to_string(info.param);
                         });

TEST_P(TornTailTest, IsCutWithAWarning) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(10);
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kAlways));
    ASSERT_NE(log, nullptr);
    for (const Op& op : ops) log->Append(op.op, op.key, op.value, nullptr);
  }  // destructor closes
  const uint64_t full = fs::file_size(dir.log());
  const uint64_t last_start = RecordStart(ops, 9);
  ASSERT_EQ(full, Encode(ops).size());
  const uint64_t new_size = GetParam() > 0 ? full - GetParam() : last_start - GetParam();
  ASSERT_GT(new_size, last_start);
  ASSERT_LT(new_size, full);
  fs::resize_file(dir.log(), new_size);

  const std::vector<Op> kept(ops.begin(), ops.end() - 1);
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  ExpectSameRecords(kept, r.records);
  EXPECT_EQ(r.stats.records, 9u);
  EXPECT_EQ(r.stats.cut_bytes, new_size - last_start);
  EXPECT_NE(r.stats.warning.find("kvd.log"), std::string::npos) << r.stats.warning;
  EXPECT_NE(r.stats.warning.find(std::to_string(last_start)), std::string::npos) << r.stats.warning;
  EXPECT_EQ(fs::file_size(dir.log()), last_start);

  Replayed again = Replay(dir.path());
  ASSERT_TRUE(again.opened) << again.error;
  ExpectSameRecords(kept, again.records);
  EXPECT_EQ(again.stats.cut_bytes, 0u);
  EXPECT_EQ(again.stats.warning, "");
}

TEST(TxLog, GarbageAndZeroTailsAreCut) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(6);
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kAlways));
    ASSERT_NE(log, nullptr);
    for (const Op& op : ops) log->Append(op.op, op.key, op.value, nullptr);
  }
  const std::string good = ReadFile(dir.log());

  std::mt19937 rng(42);
  std::string garbage(37, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  // A zero-filled tail is what some filesystems leave after a crash that
  // extended the file without writing it.
  const std::string zeros(4096, '\0');
  // The last record complete in length but with a bad checksum.
  std::string bad_last = good;
  bad_last.back() ^= 0x40;

  for (const auto& [name, contents, cut, kept] :
       std::vector<std::tuple<std::string, std::string, uint64_t, size_t>>{
           {"garbage", good + garbage, garbage.size(), 6},
           {"zeros", good + zeros, zeros.size(), 6},
           {"bad last checksum", bad_last, good.size() - RecordStart(ops, 5), 5}}) {
    SCOPED_TRACE(name);
    WriteFile(dir.log(), contents);
    Replayed r = Replay(dir.path());
    ASSERT_TRUE(r.opened) << r.error;
    EXPECT_EQ(r.stats.cut_bytes, cut);
    EXPECT_FALSE(r.stats.warning.empty());
    EXPECT_EQ(fs::file_size(dir.log()), contents.size() - cut);
    EXPECT_EQ(r.records.size(), kept);
  }
}

TEST(TxLog, CorruptionBeforeTheTailRefusesToStart) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(10);
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kAlways));
    ASSERT_NE(log, nullptr);
    for (const Op& op : ops) log->Append(op.op, op.key, op.value, nullptr);
  }
  const std::string good = ReadFile(dir.log());
  const uint64_t bad_at = RecordStart(ops, 3);

  struct Case {
    std::string name;
    size_t byte;  // offset within record 3 to damage
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{{"key byte", 22, "checksum"},
                                         {"seq byte", 10, "checksum"},
                                         {"crc byte", 0, "checksum"}}) {
    SCOPED_TRACE(c.name);
    std::string damaged = good;
    damaged[bad_at + c.byte] ^= 0x01;
    WriteFile(dir.log(), damaged);
    bool applied = false;
    std::string error;
    auto log = TxLog::Open(
        MakeOptions(dir.path(), SyncMode::kAlways), [&](const LogRecord&) { applied = true; },
        nullptr, &error);
    EXPECT_EQ(log, nullptr);
    EXPECT_NE(error.find("offset " + std::to_string(bad_at)), std::string::npos) << error;
    EXPECT_NE(error.find("kvd.log"), std::string::npos) << error;
    EXPECT_NE(error.find(c.expect), std::string::npos) << error;
    // Nothing applied from a log that is refused, and the file is untouched.
    EXPECT_FALSE(applied);
    EXPECT_EQ(ReadFile(dir.log()), damaged);
  }

  // A flipped high bit in a length makes the record run past the end of the
  // file, like a torn tail; the good records after it show it is not one.
  std::string long_length = good;
  long_length[bad_at + 7] ^= 0x10;
  WriteFile(dir.log(), long_length);
  Replayed lr = Replay(dir.path());
  EXPECT_FALSE(lr.opened);
  EXPECT_NE(lr.error.find("offset " + std::to_string(bad_at)), std::string::npos) << lr.error;
  EXPECT_EQ(ReadFile(dir.log()), long_length);

  // A length too small to be a record, followed by more records.
  std::string bad_length = good;
  bad_length[bad_at + 4] = 2;
  bad_length[bad_at + 5] = bad_length[bad_at + 6] = bad_length[bad_at + 7] = 0;
  WriteFile(dir.log(), bad_length);
  Replayed r = Replay(dir.path());
  EXPECT_FALSE(r.opened);
  EXPECT_NE(r.error.find("offset " + std::to_string(bad_at)), std::string::npos) << r.error;
}

TEST(TxLog, StaleCompactionFileIsIgnored) {
  TempDir dir;
  const std::vector<Op> ops = SampleOps(3);
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kAlways));
    ASSERT_NE(log, nullptr);
    for (const Op& op : ops) log->Append(op.op, op.key, op.value, nullptr);
  }
  // A crash mid-compaction leaves a partial file next to the intact log.
  WriteFile(dir.path() / "kvd.log.compact", "partial");
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  ExpectSameRecords(ops, r.records);
  EXPECT_FALSE(fs::exists(dir.path() / "kvd.log.compact"));
}

TEST(TxLog, OpenCreatesMissingDirectoriesAndReportsErrors) {
  TempDir dir;
  const fs::path nested = dir.path() / "a" / "b";
  auto log = OpenEmpty(MakeOptions(nested, SyncMode::kAlways));
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(fs::exists(nested / "kvd.log"));
  log->Close();

  // The directory is a regular file: an error, not an exception.
  const fs::path file = dir.path() / "not-a-dir";
  WriteFile(file, "x");
  std::string error;
  auto bad = TxLog::Open(MakeOptions(file, SyncMode::kAlways), nullptr, nullptr, &error);
  EXPECT_EQ(bad, nullptr);
  EXPECT_NE(error.find("not-a-dir"), std::string::npos) << error;
}

TEST_P(TxLogModeTest, AppendAfterCloseFailsAndCloseIsIdempotent) {
  TempDir dir;
  auto log = OpenEmpty(MakeOptions(dir.path(), GetParam()));
  ASSERT_NE(log, nullptr);
  log->Append(LogOp::kPut, "k", "v", nullptr);
  log->Close();
  log->Close();
  int result = -1;
  log->Append(LogOp::kPut, "late", "v", [&](bool ok) { result = ok; });
  EXPECT_EQ(result, 0);  // called at once, with false
  log->Flush();          // returns rather than waiting for a stopped writer
  EXPECT_EQ(log->records(), 1u);
  log.reset();  // the destructor's Close is a no-op now
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_EQ(r.records.size(), 1u);
}

TEST_P(TxLogModeTest, WriteErrorsFailTheRecordsAndTheLogKeepsGoing) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  TempDir dir;
  fs::create_directories(dir.path());
  // Every write to /dev/full fails with ENOSPC: a disk that is full.
  fs::create_symlink("/dev/full", dir.log());
  auto log = OpenEmpty(MakeOptions(dir.path(), GetParam(), 10ms));
  ASSERT_NE(log, nullptr);
  DoneCounter done;
  for (int i = 0; i < 3; ++i) log->Append(LogOp::kPut, "k", "v", done.Callback());
  log->Flush();
  ASSERT_TRUE(done.WaitFor(3));
  if (GetParam() == SyncMode::kNever) {
    EXPECT_EQ(done.ok(), 3u);  // acknowledged before the write, by design
  } else {
    EXPECT_EQ(done.failed(), 3u);
  }
  // Failed records are not counted as in the file.
  EXPECT_EQ(log->records(), 0u);
  EXPECT_EQ(log->bytes(), 0u);
  log->Append(LogOp::kPut, "k2", "v", done.Callback());
  log->Close();
  ASSERT_TRUE(done.WaitFor(4));
}

// The child opens the log, appends `n` records, waits until each is
// acknowledged and dies by SIGKILL without closing the log.
void AppendAndCrash(const fs::path& dir, SyncMode mode, int n) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto log = TxLog::Open(MakeOptions(dir, mode, 10s), nullptr, nullptr, nullptr);
    if (!log) ::_exit(2);
    DoneCounter done;
    for (int i = 0; i < n; ++i) {
      log->Append(LogOp::kPut, "key" + std::to_string(i), "value", done.Callback());
    }
    if (!done.WaitFor(n) || done.ok() != static_cast<uint64_t>(n)) ::_exit(3);
    // Give a writer that ignored the interval time to write: the kNever
    // check must not pass just because the kill came first.
    std::this_thread::sleep_for(200ms);
    ::raise(SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(TxLogCrash, NeverLosesBufferedRecordsOnSigkill) {
  TempDir dir;
  AppendAndCrash(dir.path(), SyncMode::kNever, 50);
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  // Acknowledged, but still in the process's buffer when it died.
  EXPECT_EQ(r.records.size(), 0u);
}

TEST(TxLogCrash, AlwaysKeepsEveryAcknowledgedRecordOnSigkill) {
  TempDir dir;
  AppendAndCrash(dir.path(), SyncMode::kAlways, 50);
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_EQ(r.records.size(), 50u);
  EXPECT_EQ(r.stats.warning, "");
}

TEST(TxLogCrash, IntervalKeepsEveryAcknowledgedRecordOnSigkill) {
  // Written before acknowledged: a process crash (unlike a power cut) loses
  // nothing, because the kernel has the data.
  TempDir dir;
  AppendAndCrash(dir.path(), SyncMode::kInterval, 50);
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_EQ(r.records.size(), 50u);
}

TEST(TxLogCompaction, KeepsTheFileSmallAndReplaysToTheStoreState) {
  TempDir dir;
  Store store;
  TxLog::Options options = MakeOptions(dir.path(), SyncMode::kInterval, 10ms);
  options.compact_min_bytes = 4096;
  auto log = OpenEmpty(options);
  ASSERT_NE(log, nullptr);
  log->SetSnapshotSource([&](const auto& sink) { store.ForEach(sink); });

  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 1500;
  DoneCounter done;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kOpsPerThread; ++i) {
        const std::string key = "key-" + std::to_string(rng() % 8);
        if (rng() % 10 == 0) {
          store.Delete(key, [&] { log->Append(LogOp::kDelete, key, "", done.Callback()); });
        } else {
          const std::string value = std::to_string(t) + ":" + std::to_string(i) +
                                    std::string(80, static_cast<char>('a' + t));
          store.Put(key, value, [&] { log->Append(LogOp::kPut, key, value, done.Callback()); });
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(done.WaitFor(kThreads * kOpsPerThread));
  EXPECT_EQ(done.ok(), static_cast<uint64_t>(kThreads * kOpsPerThread));
  log->Flush();

  EXPECT_GT(log->compactions(), 0u);
  // One more record after the last compaction, to check the tail's seq.
  store.Put("tail", "t", [&] { log->Append(LogOp::kPut, "tail", "t", nullptr); });
  log->Flush();
  // Without compaction this would be ~500 KB. After Flush no compaction is
  // pending: the file is within max(compact_min_bytes, 2 x snapshot).
  const uint64_t size = fs::file_size(dir.log());
  EXPECT_LE(size, 4096u);
  EXPECT_EQ(log->bytes(), size);
  log->Close();

  std::map<std::string, std::string> want;
  store.ForEach([&](std::string_view k, std::string_view v) { want[std::string(k)] = v; });
  ASSERT_FALSE(want.empty());
  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  EXPECT_EQ(r.State(), want);
  EXPECT_LT(r.records.size(), 4096u / 26);  // 26: the smallest record here
  // A snapshot restarts seq at 1 and the tail continues from it.
  ASSERT_FALSE(r.records.empty());
  EXPECT_EQ(r.records.front().seq, 1u);
  for (size_t i = 1; i < r.records.size(); ++i) EXPECT_EQ(r.records[i].seq, i + 1);
}

TEST(TxLogCompaction, NeedsASnapshotSource) {
  TempDir dir;
  TxLog::Options options = MakeOptions(dir.path(), SyncMode::kNever);
  options.compact_min_bytes = 1024;
  auto log = OpenEmpty(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 100; ++i) log->Append(LogOp::kPut, "k", std::string(50, 'x'), nullptr);
  log->Flush();
  EXPECT_EQ(log->compactions(), 0u);
  EXPECT_GT(fs::file_size(dir.log()), 1024u);
}

TEST(TxLog, ConcurrentAppendsAreAllLoggedInEachThreadsOrder) {
  TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  DoneCounter done;
  {
    auto log = OpenEmpty(MakeOptions(dir.path(), SyncMode::kAlways));
    ASSERT_NE(log, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          log->Append(LogOp::kPut, "t" + std::to_string(t), std::to_string(i), done.Callback());
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(done.WaitFor(kThreads * kPerThread));
    EXPECT_EQ(log->records(), static_cast<uint64_t>(kThreads * kPerThread));
  }
  EXPECT_EQ(done.ok(), static_cast<uint64_t>(kThreads * kPerThread));

  Replayed r = Replay(dir.path());
  ASSERT_TRUE(r.opened) << r.error;
  ASSERT_EQ(r.records.size(), static_cast<size_t>(kThreads * kPerThread));
  std::map<std::string, int> next;
  for (size_t i = 0; i < r.records.size(); ++i) {
    const LogRecord& rec = r.records[i];
    EXPECT_EQ(rec.seq, i + 1);
    EXPECT_EQ(rec.value, std::to_string(next[rec.key]++)) << rec.key;
  }
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(next["t" + std::to_string(t)], kPerThread);
}

}  // namespace
}  // namespace kvd
