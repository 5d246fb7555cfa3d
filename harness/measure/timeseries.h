// TimeSeries keeps, per fleet and per bucket of `width` (default 1 s, down to
// 10 ms), the counters and latencies of DESIGN.md's timeseries.csv:
//
//   t_s,fleet,offered,attempts,retries,ok,not_found,throttled,shed,
//   server_error,client_error,timeout,refused,reset,other_error,succeeded,
//   abandoned,budget_denied,breaker_rejected,client_throttled,in_flight,
//   lat_p50_ms,lat_p90_ms,lat_p99_ms,lat_max_ms,e2e_p99_ms
//
// (failed requests are in the summary, not in the CSV; see DESIGN.md.)
// Events are filed under the bucket of the time they happened: offered at a
// request's intended start, attempts at send, outcomes and attempt latency at
// completion, results and e2e latency at the request's end. in_flight is the
// number of attempts outstanding when the bucket closed.
//
// Only the open buckets are dense; a bucket closed with Seal() keeps its
// latency histograms in sparse form, so an hour at 1 s costs little memory.
// Single-threaded: the engine owns it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/duration.h"
#include "common/outcome.h"
#include "measure/histogram.h"

namespace herd {

struct BucketCounts {
  uint64_t offered = 0;
  uint64_t attempts = 0;
  uint64_t retries = 0;  // attempts after the first of their request
  std::array<uint64_t, kOutcomes> outcomes{};
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t abandoned = 0;
  uint64_t budget_denied = 0;
  uint64_t breaker_rejected = 0;
  uint64_t client_throttled = 0;
  // Answers that carried Retry-After / grpc-retry-pushback-ms, and retries
  // that waited what they said (honor_retry_after). Summary only.
  uint64_t pushback_seen = 0;
  uint64_t pushback_honoured = 0;
  int64_t in_flight = 0;  // at the bucket's end

  void Add(const BucketCounts& other);  // in_flight: other's (the later)
};

class TimeSeries {
 public:
  TimeSeries(Duration width, std::vector<std::string> fleets);

  Duration width() const { return width_; }
  size_t fleets() const { return fleets_.size(); }
  const std::string& fleet_name(size_t f) const { return fleets_[f]; }

  // Hot path (no allocation once the bucket exists).
  void Offered(size_t fleet, Duration t);
  void Attempt(size_t fleet, Duration t, bool retry);
  void Outcome(size_t fleet, Duration t, herd::Outcome o, Duration latency);
  void Succeeded(size_t fleet, Duration t, Duration e2e);
  void Failed(size_t fleet, Duration t, Duration e2e);
  void Abandoned(size_t fleet, Duration t, Duration e2e);
  void BudgetDenied(size_t fleet, Duration t);
  void BreakerRejected(size_t fleet, Duration t);
  void ClientThrottled(size_t fleet, Duration t);
  void PushbackSeen(size_t fleet, Duration t);
  void PushbackHonoured(size_t fleet, Duration t);
  void InFlight(size_t fleet, Duration t, int64_t in_flight);  // latest value wins

  // Attempts per fine slot (100 ms, or the bucket width when that is
  // shorter), for the spreading analysis: synchronised retries show as
  // spikes a 1 s bucket would smooth away. 4 bytes a slot.
  Duration fine_width() const { return fine_width_; }
  const std::vector<uint32_t>& fine_attempts(size_t fleet) const { return fine_attempts_[fleet]; }

  // Buckets that end at or before `t` will get no more events: compress them.
  void Seal(Duration t);

  size_t buckets() const;  // number of buckets so far (index of last + 1)
  const BucketCounts& counts(size_t fleet, size_t bucket) const;
  // Latency of attempts completed, and of requests ended, in that bucket.
  Histogram attempt_latency(size_t fleet, size_t bucket) const;
  Histogram e2e_latency(size_t fleet, size_t bucket) const;
  // Totals over [from, to) buckets for one fleet (all buckets by default).
  BucketCounts Total(size_t fleet, size_t from = 0, size_t to = SIZE_MAX) const;
  Histogram TotalAttemptLatency(size_t fleet, size_t from = 0, size_t to = SIZE_MAX) const;
  Histogram TotalE2eLatency(size_t fleet, size_t from = 0, size_t to = SIZE_MAX) const;

  // The CSV of DESIGN.md, header line included, one row per bucket and fleet.
  std::string Csv() const;

 private:
  friend class TimeSeriesPeer;  // tests count the dense histograms

  // A sealed bucket's histogram: its non-empty buckets plus the exact
  // count, min, max and sum, so reading it back loses nothing.
  struct Sparse {
    std::vector<std::pair<int, uint64_t>> counts;
    uint64_t count = 0;
    int64_t min = INT64_MAX;
    int64_t max = 0;
    Histogram::Sum sum = 0;
  };

  // Which latency: of an attempt (from its send) or of a request (e2e).
  enum Kind { kAttemptLatency = 0, kE2eLatency = 1, kKinds = 2 };

  // One bucket of one fleet. Latencies are dense (O(1) Record) while the
  // bucket is open, sparse once sealed; a bucket with no latency has neither.
  struct Bucket {
    BucketCounts counts;
    bool in_flight_set = false;  // else in_flight carries the previous bucket's
    std::array<std::unique_ptr<Histogram>, kKinds> dense;
    std::array<Sparse, kKinds> sparse;
  };

  Bucket& At(size_t fleet, Duration t);
  void Grow(size_t buckets);
  void RecordLatency(size_t fleet, Duration t, Kind kind, Duration latency);
  void SealBucket(Bucket& b);
  static void Compress(const Histogram& h, Sparse* out);
  static void Expand(const Sparse& s, Histogram* out);  // adds into *out
  static int64_t Quantile(const Sparse& s, double q);   // as Histogram::Quantile
  Histogram Latency(size_t fleet, size_t from, size_t to, Kind kind) const;
  size_t DenseHistograms() const;

  Duration width_;
  Duration fine_width_;
  std::vector<std::string> fleets_;
  std::vector<std::vector<uint32_t>> fine_attempts_;
  // Every fleet has the same number of buckets, so counts(f, b) can always
  // return a stored bucket (with in_flight carried forward).
  std::vector<std::vector<Bucket>> per_fleet_;
  // Buckets holding a dense histogram, as (fleet, bucket): what Seal visits.
  std::vector<std::pair<size_t, size_t>> open_;
  // Cleared dense histograms for reuse, so the steady state allocates nothing.
  std::vector<std::unique_ptr<Histogram>> pool_;
};

}  // namespace herd
