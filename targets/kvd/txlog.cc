#include "txlog.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

namespace kvd {

namespace {

// crc + length.
constexpr size_t kHeaderSize = 8;
// op + seq + key_len: the part of `length` that is not key or value.
constexpr size_t kFixedBodySize = 1 + 8 + 4;
// A length this large is never written (Append refuses it), so on replay it
// can only be damage; checking it first keeps a flipped bit in a length from
// asking us to trust gigabytes that are not there.
constexpr uint64_t kMaxRecordLength = 1ull << 30;
// The compaction writer streams the snapshot in chunks of about this size so
// a large store does not need a second copy of itself in memory.
constexpr size_t kCompactChunk = 1 << 20;

constexpr const char* kLogName = "kvd.log";
constexpr const char* kCompactName = "kvd.log.compact";

using Clock = std::chrono::steady_clock;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

uint32_t Crc32(const char* data, size_t n) {
  boost::crc_32_type crc;
  crc.process_bytes(data, n);
  return crc.checksum();
}

uint64_t EncodedSize(std::string_view key, std::string_view value) {
  return kHeaderSize + kFixedBodySize + key.size() + value.size();
}

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Owns one file descriptor; the log's fd changes hands at compaction, and
// every early return in Open must close what it opened.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    // close() errors are not actionable here: durability was already decided
    // by the fsync that preceded it (or deliberately not, in kNever).
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Returns 0 or an errno. Loops because pwrite may be short (signals, quotas)
// without that being an error.
int WriteAllAt(int fd, const char* data, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (w == 0) return EIO;
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return 0;
}

int SyncData(int fd) {
  // fdatasync also flushes the size when it grew, which is all replay needs.
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// A new or renamed file is only durable once its directory entry is.
int SyncDir(const std::filesystem::path& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid()) return errno;
  if (::fsync(d.get()) != 0) return errno;
  return 0;
}

int ReadWholeFile(int fd, std::string* out) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno;
  out->clear();
  if (!S_ISREG(st.st_mode)) return 0;  // e.g. a device: nothing to replay
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    ssize_t r = ::pread(fd, out->data() + done, out->size() - done, static_cast<off_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) break;  // shrank under us; replay what we have
    done += static_cast<size_t>(r);
  }
  out->resize(done);
  return 0;
}

// Outcome of checking the file's records (before anything is applied, so a
// corrupt log never half-fills the store).
struct ScanResult {
  uint64_t good_end = 0;  // bytes of valid records from the start
  uint64_t records = 0;
  bool corrupt = false;  // refuse to start
  bool torn = false;     // cut [good_end, size)
  std::string reason;
};

// Where the first record that passes its checksum starts at or after `from`,
// if any. The cheap field checks come first so that garbage (or zeros) costs
// almost nothing per byte.
std::optional<uint64_t> FindValidRecord(const std::string& data, uint64_t from) {
  const uint64_t size = data.size();
  for (uint64_t at = from; at + kHeaderSize + kFixedBodySize <= size; ++at) {
    const char* p = data.data() + at;
    const uint64_t length = GetU32(p + 4);
    if (length < kFixedBodySize || length > kMaxRecordLength || length > size - at - kHeaderSize) {
      continue;
    }
    const uint8_t op = static_cast<uint8_t>(p[8]);
    if (op != static_cast<uint8_t>(LogOp::kPut) && op != static_cast<uint8_t>(LogOp::kDelete)) {
      continue;
    }
    if (GetU32(p + 17) > length - kFixedBodySize) continue;
    if (Crc32(p + 4, 4 + length) == GetU32(p)) return at;
  }
  return std::nullopt;
}

ScanResult Scan(const std::string& data) {
  ScanResult r;
  const uint64_t size = data.size();
  uint64_t off = 0;
  while (off < size) {
    const uint64_t remaining = size - off;
    if (remaining < kHeaderSize) {
      r.torn = true;
      r.reason = fmt::format("incomplete header ({} bytes)", remaining);
      break;
    }
    const char* p = data.data() + off;
    const uint32_t crc = GetU32(p);
    const uint64_t length = GetU32(p + 4);
    if (length > remaining - kHeaderSize) {
      // Usually the writer died before the whole record reached the disk. But
      // a flipped bit in the length of an early record looks the same, and
      // cutting there would drop every acknowledged record after it: a valid
      // record further on tells the two apart.
      if (auto next = FindValidRecord(data, off + kHeaderSize)) {
        r.corrupt = true;
        r.reason = fmt::format("length {} runs past end of file, yet a valid record starts at {}",
                               length, *next);
      } else {
        r.torn = true;
        r.reason = fmt::format("length {} runs past end of file", length);
      }
      break;
    }
    const uint64_t end = off + kHeaderSize + length;
    std::string bad;
    if (length < kFixedBodySize || length > kMaxRecordLength) {
      bad = fmt::format("bad length {}", length);
    } else if (Crc32(p + 4, 4 + length) != crc) {
      bad = "checksum mismatch";
    }
    if (!bad.empty()) {
      // Only the last write can be torn. Some filesystems also leave the
      // unwritten end of an extended file as zeros after a crash; that too is
      // a tail that never held acknowledged data.
      const bool zero_tail = std::all_of(data.begin() + static_cast<ptrdiff_t>(off), data.end(),
                                         [](char c) { return c == 0; });
      if (end == size || zero_tail) {
        r.torn = true;
        r.reason = zero_tail ? "zero-filled tail" : bad;
      } else {
        r.corrupt = true;
        r.reason = std::move(bad);
      }
      break;
    }
    // The checksum matched, so these bytes are what a writer wrote: a record
    // that still does not parse is not a torn write and is never cut.
    const uint8_t op = static_cast<uint8_t>(p[8]);
    const uint64_t key_len = GetU32(p + 17);
    if (op != static_cast<uint8_t>(LogOp::kPut) && op != static_cast<uint8_t>(LogOp::kDelete)) {
      r.corrupt = true;
      r.reason = fmt::format("unknown op {}", op);
      break;
    }
    if (key_len > length - kFixedBodySize) {
      r.corrupt = true;
      r.reason = fmt::format("key length {} exceeds record length {}", key_len, length);
      break;
    }
    off = end;
    ++r.records;
  }
  r.good_end = off;
  return r;
}

// Queued by Append; the writer thread assigns the seq and encodes, so Append
// never computes a checksum while the caller holds a store shard lock.
struct Pending {
  LogOp op;
  std::string key;
  std::string value;
  TxLog::Done done;
};

}  // namespace

bool ParseSyncMode(std::string_view text, SyncMode* mode) {
  if (text == "always") {
    *mode = SyncMode::kAlways;
  } else if (text == "interval") {
    *mode = SyncMode::kInterval;
  } else if (text == "never") {
    *mode = SyncMode::kNever;
  } else {
    return false;
  }
  return true;
}

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kAlways:
      return "always";
    case SyncMode::kInterval:
      return "interval";
    case SyncMode::kNever:
      return "never";
  }
  return "unknown";
}

void EncodeRecord(LogOp op, uint64_t seq, std::string_view key, std::string_view value,
                  std::string* out) {
  const size_t start = out->size();
  const uint64_t length = kFixedBodySize + key.size() + value.size();
  out->resize(start + kHeaderSize + length);
  char* p = out->data() + start;
  PutU32(p + 4, static_cast<uint32_t>(length));
  p[8] = static_cast<char>(op);
  PutU64(p + 9, seq);
  PutU32(p + 17, static_cast<uint32_t>(key.size()));
  if (!key.empty()) std::memcpy(p + 21, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + 21 + key.size(), value.data(), value.size());
  PutU32(p, Crc32(p + 4, 4 + length));
}

struct TxLog::Impl {
  Options opts;
  std::filesystem::path path;
  std::filesystem::path compact_path;

  // Owned by the writer thread once it runs (Open sets them before).
  UniqueFd fd;
  uint64_t file_size = 0;
  uint64_t file_records = 0;
  uint64_t next_seq = 1;
  uint64_t last_snapshot = 0;
  // Raised after a failed compaction so a persistent error (say ENOSPC) is
  // not retried on every batch.
  uint64_t compact_backoff = 0;
  bool dirty = false;  // written since the last fdatasync
  Clock::time_point last_sync = Clock::now();
  std::string buf;  // reused across batches to keep its capacity

  std::mutex mu;
  std::condition_variable work_cv;   // wakes the writer
  std::condition_variable flush_cv;  // wakes Flush callers
  std::vector<Pending> queue;
  Clock::time_point queue_since;  // when queue last became non-empty
  // Flush takes a ticket; the writer serves every ticket it saw when it
  // took a batch once that batch is done. A count of records would not do:
  // in kInterval a record can be written (counted) yet not fsynced.
  uint64_t flush_requests = 0;
  uint64_t flush_served = 0;
  bool writer_waiting = false;  // lets Append skip notify while it is busy
  bool closed = false;          // Append fails from now on
  bool writer_exited = false;
  std::shared_ptr<const SnapshotSource> snapshot;

  std::mutex close_mu;  // a second Close waits for the first to finish
  std::thread writer;

  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> records{0};
  std::atomic<uint64_t> compactions{0};

  void Run();
  void WriteBatch(std::vector<Pending>& batch, bool flush_wanted, bool stopping);
  void FailBatch(std::vector<Pending>& batch, uint64_t batch_bytes, int err, const char* what);
  bool CompactionDue() const;
  void Compact(const SnapshotSource& source);
};

void TxLog::Impl::Run() {
  std::vector<Pending> batch;
  std::unique_lock lk(mu);
  for (;;) {
    for (;;) {
      if (closed || flush_requests > flush_served) break;
      if (!queue.empty() && opts.sync != SyncMode::kNever) break;
      std::optional<Clock::time_point> deadline;
      if (opts.sync == SyncMode::kNever && !queue.empty()) deadline = queue_since + opts.interval;
      if (opts.sync == SyncMode::kInterval && dirty) deadline = last_sync + opts.interval;
      if (deadline && Clock::now() >= *deadline) break;
      writer_waiting = true;
      if (deadline) {
        work_cv.wait_until(lk, *deadline);
      } else {
        work_cv.wait(lk);
      }
      writer_waiting = false;
    }
    batch.swap(queue);
    const uint64_t ticket = flush_requests;
    const bool flush_wanted = flush_requests > flush_served;
    const bool stopping = closed;
    std::shared_ptr<const SnapshotSource> source = snapshot;
    lk.unlock();

    WriteBatch(batch, flush_wanted, stopping);
    batch.clear();
    // Compacting before serving Flush makes a drain wait for it, but then no
    // compaction is in flight when Flush returns: the file on disk is the one
    // a restart would read, within its size bound.
    if (source && *source && !stopping && CompactionDue()) Compact(*source);

    lk.lock();
    flush_served = ticket;
    flush_cv.notify_all();
    // Close sets `closed` under mu, so no Append can have queued since.
    if (stopping) break;
  }
  writer_exited = true;
  flush_cv.notify_all();
}

void TxLog::Impl::FailBatch(std::vector<Pending>& batch, uint64_t batch_bytes, int err,
                            const char* what) {
  fmt::print(stderr, "kvd: {}: {} failed: {}; {} record(s) not logged\n", path.string(), what,
             ErrnoText(err), batch.size());
  // Cut whatever part of the batch reached the file: left there, a partial
  // record followed by later good ones would read as corruption at restart.
  if (::ftruncate(fd.get(), static_cast<off_t>(file_size)) != 0) {
    fmt::print(stderr, "kvd: {}: ftruncate to {} failed: {}\n", path.string(), file_size,
               ErrnoText(errno));
  }
  bytes.fetch_sub(batch_bytes);
  records.fetch_sub(batch.size());
  if (opts.sync == SyncMode::kNever) return;  // already acknowledged
  for (Pending& p : batch) {
    if (p.done) p.done(false);
  }
}

void TxLog::Impl::WriteBatch(std::vector<Pending>& batch, bool flush_wanted, bool stopping) {
  if (!batch.empty()) {
    buf.clear();
    for (const Pending& p : batch) EncodeRecord(p.op, next_seq++, p.key, p.value, &buf);
    const uint64_t batch_bytes = buf.size();
    if (int err = WriteAllAt(fd.get(), buf.data(), buf.size(), file_size); err != 0) {
      FailBatch(batch, batch_bytes, err, "write");
      return;
    }
    if (opts.sync == SyncMode::kAlways) {
      // Group commit: one fdatasync for every writer in the batch.
      if (int err = SyncData(fd.get()); err != 0) {
        FailBatch(batch, batch_bytes, err, "fdatasync");
        return;
      }
      last_sync = Clock::now();
    } else {
      dirty = true;
    }
    file_size += batch_bytes;
    file_records += batch.size();
    if (opts.sync != SyncMode::kNever) {
      for (Pending& p : batch) {
        if (p.done) p.done(true);
      }
    }
  }
  if (opts.sync == SyncMode::kInterval && dirty &&
      (flush_wanted || stopping || Clock::now() - last_sync >= opts.interval)) {
    // The records were acknowledged when written; a failure here can only be
    // reported, which is the durability kInterval promises.
    if (int err = SyncData(fd.get()); err != 0) {
      fmt::print(stderr, "kvd: {}: fdatasync failed: {}\n", path.string(), ErrnoText(err));
    }
    dirty = false;
    last_sync = Clock::now();
  }
}

bool TxLog::Impl::CompactionDue() const {
  const uint64_t threshold = std::max({opts.compact_min_bytes, 2 * last_snapshot, compact_backoff});
  return file_size > threshold;
}

void TxLog::Impl::Compact(const SnapshotSource& source) {
  auto fail = [&](const char* what, int err) {
    fmt::print(stderr, "kvd: {}: compaction {} failed: {}; keeping the old log\n",
               compact_path.string(), what, ErrnoText(err));
    std::error_code ec;
    std::filesystem::remove(compact_path, ec);
    compact_backoff = 2 * file_size;
  };
  UniqueFd out(::open(compact_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return fail("open", errno);

  std::string chunk;
  uint64_t written = 0;
  uint64_t count = 0;
  int err = 0;
  // Store::ForEach holds one shard's lock while calling the sink; writing in
  // chunks from inside it keeps memory bounded. Writers blocked on that shard
  // only wait for the chunk, not for the fsync below.
  source([&](std::string_view key, std::string_view value) {
    if (err != 0) return;
    EncodeRecord(LogOp::kPut, ++count, key, value, &chunk);
    if (chunk.size() >= kCompactChunk) {
      err = WriteAllAt(out.get(), chunk.data(), chunk.size(), written);
      written += chunk.size();
      chunk.clear();
    }
  });
  if (err == 0 && !chunk.empty()) {
    err = WriteAllAt(out.get(), chunk.data(), chunk.size(), written);
    written += chunk.size();
  }
  if (err != 0) return fail("write", err);
  // Even in kNever the snapshot is synced before the rename: otherwise a
  // crash could leave the rename durable and the data not, losing every key
  // rather than only the buffered tail kNever gives up.
  if (int e = SyncData(out.get()); e != 0) return fail("fdatasync", e);
  if (::rename(compact_path.c_str(), path.c_str()) != 0) return fail("rename", errno);
  if (int e = SyncDir(opts.dir); e != 0) {
    // The rename happened; only its durability is in doubt. Carry on with
    // the new file, which is the one the directory now names.
    fmt::print(stderr, "kvd: {}: fsync of directory failed: {}\n", opts.dir.string(), ErrnoText(e));
  }
  fd = std::move(out);
  // Unsigned wrap-around makes these adds work for shrinking as well.
  bytes.fetch_add(written - file_size);
  records.fetch_add(count - file_records);
  file_size = written;
  file_records = count;
  next_seq = count + 1;
  last_snapshot = written;
  compact_backoff = 0;
  dirty = false;
  last_sync = Clock::now();
  compactions.fetch_add(1);
}

std::unique_ptr<TxLog> TxLog::Open(const Options& options,
                                   const std::function<void(const LogRecord&)>& apply,
                                   ReplayStats* stats, std::string* error) {
  ReplayStats local_stats;
  if (stats == nullptr) stats = &local_stats;
  *stats = ReplayStats{};
  std::string local_error;
  if (error == nullptr) error = &local_error;
  error->clear();

  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    *error = fmt::format("{}: cannot create log directory: {}", options.dir.string(), ec.message());
    return nullptr;
  }
  const std::filesystem::path path = options.dir / kLogName;
  const std::filesystem::path compact_path = options.dir / kCompactName;
  // A compaction file is only complete once renamed over the log; one still
  // here is from a crash mid-compaction and the log itself is intact.
  std::filesystem::remove(compact_path, ec);

  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    *error = fmt::format("{}: cannot open: {}", path.string(), ErrnoText(errno));
    return nullptr;
  }
  std::string data;
  if (int err = ReadWholeFile(fd.get(), &data); err != 0) {
    *error = fmt::format("{}: cannot read: {}", path.string(), ErrnoText(err));
    return nullptr;
  }

  const ScanResult scan = Scan(data);
  if (scan.corrupt) {
    *error = fmt::format(
        "{}: corrupt record at offset {} ({}) followed by {} more bytes; refusing to start",
        path.string(), scan.good_end, scan.reason, data.size() - scan.good_end);
    return nullptr;
  }
  if (scan.torn) {
    const uint64_t cut = data.size() - scan.good_end;
    if (::ftruncate(fd.get(), static_cast<off_t>(scan.good_end)) != 0) {
      *error = fmt::format("{}: cannot cut torn tail at offset {}: {}", path.string(),
                           scan.good_end, ErrnoText(errno));
      return nullptr;
    }
    if (int err = SyncData(fd.get()); err != 0) {
      *error =
          fmt::format("{}: cannot sync after cutting torn tail: {}", path.string(), ErrnoText(err));
      return nullptr;
    }
    stats->cut_bytes = cut;
    stats->warning = fmt::format("{}: torn tail at offset {} ({}); cut {} bytes, kept {} records",
                                 path.string(), scan.good_end, scan.reason, cut, scan.records);
  }
  // The file may have just been created; its name must survive a crash
  // before the first acknowledged record does.
  if (int err = SyncDir(options.dir); err != 0) {
    *error = fmt::format("{}: cannot sync directory: {}", options.dir.string(), ErrnoText(err));
    return nullptr;
  }

  uint64_t last_seq = 0;
  LogRecord rec;
  for (uint64_t off = 0; off < scan.good_end;) {
    const char* p = data.data() + off;
    const uint64_t length = GetU32(p + 4);
    const uint64_t key_len = GetU32(p + 17);
    rec.op = static_cast<LogOp>(p[8]);
    rec.seq = GetU64(p + 9);
    rec.key.assign(p + 21, key_len);
    rec.value.assign(p + 21 + key_len, length - kFixedBodySize - key_len);
    if (apply) apply(rec);
    last_seq = rec.seq;
    off += kHeaderSize + length;
  }
  stats->records = scan.records;
  stats->bytes = scan.good_end;

  // The constructor is private, so make_unique cannot reach it.
  std::unique_ptr<TxLog> log(new TxLog());
  log->impl_ = std::make_unique<Impl>();
  Impl& impl = *log->impl_;
  impl.opts = options;
  impl.path = path;
  impl.compact_path = compact_path;
  impl.fd = std::move(fd);
  impl.file_size = scan.good_end;
  impl.file_records = scan.records;
  impl.next_seq = last_seq + 1;
  impl.bytes = scan.good_end;
  impl.records = scan.records;
  impl.writer = std::thread([&impl] { impl.Run(); });
  return log;
}

TxLog::~TxLog() { Close(); }

void TxLog::Append(LogOp op, std::string_view key, std::string_view value, Done done) {
  Impl& impl = *impl_;
  const uint64_t size = EncodedSize(key, value);
  // Replay treats a longer record as damage, so it must never be written.
  if (size - kHeaderSize > kMaxRecordLength) {
    if (done) done(false);
    return;
  }
  const bool never = impl.opts.sync == SyncMode::kNever;
  // kNever acknowledges here, before the write, as the mode promises.
  Done ack = never ? std::move(done) : Done();
  // Copy outside the lock: callers hold a shard lock, other writers queue here.
  Pending p{op, std::string(key), std::string(value), never ? Done() : std::move(done)};
  bool queued = false;
  bool notify = false;
  {
    std::lock_guard lk(impl.mu);
    if (!impl.closed) {
      if (impl.queue.empty()) impl.queue_since = Clock::now();
      impl.queue.push_back(std::move(p));
      impl.bytes.fetch_add(size);
      impl.records.fetch_add(1);
      queued = true;
      // In kNever the writer keeps its own interval; waking it per record
      // would turn the buffer back into one write per record.
      notify = impl.writer_waiting && !never;
    }
  }
  if (!queued) {
    Done& d = never ? ack : p.done;
    if (d) d(false);
    return;
  }
  if (notify) impl.work_cv.notify_one();
  if (ack) ack(true);
}

void TxLog::SetSnapshotSource(SnapshotSource source) {
  auto shared = std::make_shared<const SnapshotSource>(std::move(source));
  std::lock_guard lk(impl_->mu);
  impl_->snapshot = std::move(shared);
}

void TxLog::Flush() {
  Impl& impl = *impl_;
  std::unique_lock lk(impl.mu);
  if (impl.writer_exited) return;  // Close already wrote everything
  const uint64_t ticket = ++impl.flush_requests;
  if (impl.writer_waiting) impl.work_cv.notify_one();
  impl.flush_cv.wait(lk, [&] { return impl.flush_served >= ticket || impl.writer_exited; });
}

void TxLog::Close() {
  if (!impl_) return;
  Impl& impl = *impl_;
  std::lock_guard close_lk(impl.close_mu);
  {
    std::lock_guard lk(impl.mu);
    if (impl.closed && !impl.writer.joinable()) return;
    impl.closed = true;
  }
  impl.work_cv.notify_one();
  // The writer drains the queue (and syncs, per mode) before it exits.
  if (impl.writer.joinable()) impl.writer.join();
  impl.fd.reset();
}

uint64_t TxLog::bytes() const { return impl_->bytes.load(); }
uint64_t TxLog::records() const { return impl_->records.load(); }
uint64_t TxLog::compactions() const { return impl_->compactions.load(); }

}  // namespace kvd
