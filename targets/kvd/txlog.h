// TxLog is kvd's transaction log (the book's FileTransactionLogger, chapter
// 5), made crash-safe: every PUT and DELETE is appended as a checksummed
// record and the log is replayed at start.
//
// File format (dir/kvd.log), a sequence of records, integers little-endian:
//
//   u32 crc      CRC-32 of every byte after this field, to the record's end
//   u32 length   bytes after this field (op + seq + key_len + key + value)
//   u8  op       1 = put, 2 = delete
//   u64 seq      1, 2, 3, ... in append order (a snapshot restarts from 1)
//   u32 key_len
//   key bytes, then value bytes (length - 13 - key_len of them)
//
// Replay: a record that runs past the end of the file, or a bad last record,
// is a torn tail from a crash mid-write: it is cut off with a warning. A bad
// record followed by more data is corruption: Open fails and names the byte
// offset, because silently dropping acknowledged writes is worse than not
// starting.
//
// Durability (SyncMode):
//   kAlways    the writer thread writes and fsyncs a batch, then acknowledges
//              each record in it (group commit: one fsync serves many writers).
//   kInterval  written before acknowledging; fsynced every `interval`.
//   kNever     acknowledged at once; a background writer writes the buffer
//              every `interval` and never fsyncs, as the book's channel-fed
//              logger does. A crash (SIGKILL) loses whatever was buffered.
//
// Compaction: when the file grows past max(compact_min_bytes, 2 x the last
// snapshot), the writer rewrites it as a snapshot of the store (one put per
// live key, from the snapshot source) followed by later records, so restart
// time stays bounded. Records appended while the snapshot is taken may be in
// both the snapshot and the tail; replaying put/delete twice in order is
// harmless.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kvd {

enum class LogOp : uint8_t { kPut = 1, kDelete = 2 };
enum class SyncMode { kAlways, kInterval, kNever };

// Parses "always" | "interval" | "never"; false on anything else.
bool ParseSyncMode(std::string_view text, SyncMode* mode);
const char* SyncModeName(SyncMode mode);

struct LogRecord {
  LogOp op = LogOp::kPut;
  uint64_t seq = 0;
  std::string key;
  std::string value;
};

// Encodes one record in the file format above (appended to *out).
void EncodeRecord(LogOp op, uint64_t seq, std::string_view key, std::string_view value,
                  std::string* out);

struct ReplayStats {
  uint64_t records = 0;        // records applied
  uint64_t bytes = 0;          // valid bytes kept
  uint64_t cut_bytes = 0;      // torn or corrupt tail cut off (0 if none)
  std::string warning;         // set when a tail was cut
};

class TxLog {
 public:
  struct Options {
    std::filesystem::path dir;
    SyncMode sync = SyncMode::kAlways;
    std::chrono::milliseconds interval{10};
    uint64_t compact_min_bytes = 64ull << 20;
  };

  // Called once the record is as durable as the sync mode promises; ok is
  // false when the write failed (disk full, I/O error). May run on the writer
  // thread: keep it short and hand work back to the caller's executor.
  using Done = std::function<void(bool ok)>;
  // Writes every live entry through `sink` (Store::ForEach fits).
  using SnapshotSource =
      std::function<void(const std::function<void(std::string_view, std::string_view)>& sink)>;

  // Opens or creates dir/kvd.log, replays it through apply() in order, cuts a
  // torn tail, and starts the writer thread. Returns null and sets *error
  // (naming the file and the offset) when the log cannot be used.
  static std::unique_ptr<TxLog> Open(const Options& options,
                                     const std::function<void(const LogRecord&)>& apply,
                                     ReplayStats* stats, std::string* error);

  ~TxLog();  // Close()
  TxLog(const TxLog&) = delete;
  TxLog& operator=(const TxLog&) = delete;

  // Queues a record. Call it while the key's store shard is locked, so the
  // log's order is the store's order. Cheap: the writer thread does the I/O.
  void Append(LogOp op, std::string_view key, std::string_view value, Done done);

  void SetSnapshotSource(SnapshotSource source);

  // Blocks until every record appended so far is written (and fsynced, unless
  // the mode is kNever, where it is only written). Used by drain.
  void Flush();

  // Flushes, stops the writer thread and closes the file. Idempotent.
  void Close();

  uint64_t bytes() const;      // current file size, including queued records
  uint64_t records() const;    // records in the file, including queued ones
  uint64_t compactions() const;

 private:
  TxLog() = default;
  // Defined in txlog.cc; the members are the implementation's.
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kvd
