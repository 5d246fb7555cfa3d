#include "measure/timeseries.h"

#include <algorithm>
#include <cassert>
#include <iterator>

#include <fmt/format.h>

namespace herd {

void BucketCounts::Add(const BucketCounts& other) {
  offered += other.offered;
  attempts += other.attempts;
  retries += other.retries;
  for (int i = 0; i < kOutcomes; ++i) outcomes[i] += other.outcomes[i];
  succeeded += other.succeeded;
  failed += other.failed;
  abandoned += other.abandoned;
  budget_denied += other.budget_denied;
  pushback_seen += other.pushback_seen;
  pushback_honoured += other.pushback_honoured;
  breaker_rejected += other.breaker_rejected;
  client_throttled += other.client_throttled;
  // A gauge, not a counter: over a range it is the value at the range's end.
  in_flight = other.in_flight;
}

namespace {

// Dense histograms kept for reuse beyond what is open. Enough for a few open
// buckets per fleet at once; beyond that, memory goes back to the system.
constexpr size_t kPoolPerFleet = 4;
constexpr size_t kPoolMin = 16;

// A vector's capacity when it must hold `n`: at least double, so a run
// growing one bucket at a time reallocates O(log n) times.
size_t GrownCapacity(size_t current, size_t n) {
  return std::max({n, 2 * current, size_t{64}});
}

}  // namespace

TimeSeries::TimeSeries(Duration width, std::vector<std::string> fleets)
    // A width of 0 would divide by zero; scenario validation rejects it, so
    // here it only has to be harmless.
    : width_(std::max(Duration(1), width)),
      fine_width_(std::min<Duration>(width_, std::chrono::milliseconds(100))),
      fleets_(std::move(fleets)),
      fine_attempts_(fleets_.size()),
      per_fleet_(fleets_.size()) {
  open_.reserve(64);
}

void TimeSeries::Grow(size_t n) {
  for (std::vector<Bucket>& buckets : per_fleet_) {
    if (buckets.size() >= n) continue;
    if (n > buckets.capacity()) buckets.reserve(GrownCapacity(buckets.capacity(), n));
    // New buckets carry in_flight forward until an InFlight call says otherwise.
    const int64_t carried = buckets.empty() ? 0 : buckets.back().counts.in_flight;
    const size_t old = buckets.size();
    buckets.resize(n);
    for (size_t i = old; i < n; ++i) buckets[i].counts.in_flight = carried;
  }
}

TimeSeries::Bucket& TimeSeries::At(size_t fleet, Duration t) {
  assert(fleet < per_fleet_.size());
  // Events before the run's start (a negative offset) belong to bucket 0.
  const size_t index = t.count() <= 0 ? 0 : static_cast<size_t>(t.count() / width_.count());
  std::vector<Bucket>& buckets = per_fleet_[fleet];
  if (index >= buckets.size()) Grow(index + 1);
  return buckets[index];
}

void TimeSeries::RecordLatency(size_t fleet, Duration t, Kind kind, Duration latency) {
  Bucket& b = At(fleet, t);
  std::unique_ptr<Histogram>& dense = b.dense[kind];
  if (!dense) {
    // The first latency of this kind in this bucket (cold path): take a
    // cleared histogram from the pool.
    const bool was_open = b.dense[kAttemptLatency] || b.dense[kE2eLatency];
    if (pool_.empty()) {
      dense = std::make_unique<Histogram>();
    } else {
      dense = std::move(pool_.back());
      pool_.pop_back();
    }
    // A late event for a sealed bucket: reopen it with what it had.
    Sparse& sparse = b.sparse[kind];
    if (sparse.count != 0) {
      Expand(sparse, dense.get());
      sparse = Sparse();
    }
    if (!was_open) {
      const size_t index = static_cast<size_t>(&b - per_fleet_[fleet].data());
      open_.emplace_back(fleet, index);
    }
  }
  dense->Record(latency.count());
}

void TimeSeries::Offered(size_t fleet, Duration t) { ++At(fleet, t).counts.offered; }

void TimeSeries::Attempt(size_t fleet, Duration t, bool retry) {
  BucketCounts& c = At(fleet, t).counts;
  ++c.attempts;
  if (retry) ++c.retries;
  const auto slot = static_cast<size_t>(std::max<int64_t>(0, t / fine_width_));
  std::vector<uint32_t>& fine = fine_attempts_[fleet];
  // Grows geometrically, like the buckets: no allocation per attempt.
  if (slot >= fine.size()) fine.resize(std::max(slot + 1, fine.size() * 2));
  ++fine[slot];
}

void TimeSeries::PushbackSeen(size_t fleet, Duration t) { ++At(fleet, t).counts.pushback_seen; }

void TimeSeries::PushbackHonoured(size_t fleet, Duration t) { ++At(fleet, t).counts.pushback_honoured; }

void TimeSeries::Outcome(size_t fleet, Duration t, herd::Outcome o, Duration latency) {
  ++At(fleet, t).counts.outcomes[static_cast<int>(o)];
  RecordLatency(fleet, t, kAttemptLatency, latency);
}

void TimeSeries::Succeeded(size_t fleet, Duration t, Duration e2e) {
  ++At(fleet, t).counts.succeeded;
  RecordLatency(fleet, t, kE2eLatency, e2e);
}

void TimeSeries::Failed(size_t fleet, Duration t, Duration e2e) {
  ++At(fleet, t).counts.failed;
  RecordLatency(fleet, t, kE2eLatency, e2e);
}

void TimeSeries::Abandoned(size_t fleet, Duration t, Duration e2e) {
  ++At(fleet, t).counts.abandoned;
  RecordLatency(fleet, t, kE2eLatency, e2e);
}

void TimeSeries::BudgetDenied(size_t fleet, Duration t) { ++At(fleet, t).counts.budget_denied; }

void TimeSeries::BreakerRejected(size_t fleet, Duration t) {
  ++At(fleet, t).counts.breaker_rejected;
}

void TimeSeries::ClientThrottled(size_t fleet, Duration t) {
  ++At(fleet, t).counts.client_throttled;
}

void TimeSeries::InFlight(size_t fleet, Duration t, int64_t in_flight) {
  Bucket& b = At(fleet, t);
  b.counts.in_flight = in_flight;
  b.in_flight_set = true;
  // Later buckets that exist without a value of their own (another fleet's
  // events grew them, or this one's ran ahead) carry this one forward. In
  // time order there are none, so this loop is normally empty.
  std::vector<Bucket>& buckets = per_fleet_[fleet];
  for (size_t i = static_cast<size_t>(&b - buckets.data()) + 1;
       i < buckets.size() && !buckets[i].in_flight_set; ++i) {
    buckets[i].counts.in_flight = in_flight;
  }
}

void TimeSeries::Compress(const Histogram& h, Sparse* out) {
  out->counts = h.NonEmpty();
  out->count = h.count_;
  out->min = h.min_;
  out->max = h.max_;
  out->sum = h.sum_;
}

void TimeSeries::Expand(const Sparse& s, Histogram* out) {
  if (s.count == 0) return;
  for (const auto& [index, n] : s.counts) out->counts_[index] += n;
  out->count_ += s.count;
  out->min_ = std::min(out->min_, s.min);
  out->max_ = std::max(out->max_, s.max);
  out->sum_ += s.sum;
}

int64_t TimeSeries::Quantile(const Sparse& s, double q) {
  if (s.count == 0) return 0;
  if (!(q > 0)) return s.min;
  if (q >= 1) return s.max;
  const uint64_t rank = Histogram::RankOf(q, s.count);
  uint64_t seen = 0;
  for (const auto& [index, n] : s.counts) {
    seen += n;
    if (seen >= rank) return Histogram::Reported(index, s.min, s.max);
  }
  return s.max;
}

void TimeSeries::SealBucket(Bucket& b) {
  const size_t pool_max = std::max(kPoolMin, kPoolPerFleet * fleets_.size());
  for (int kind = 0; kind < kKinds; ++kind) {
    std::unique_ptr<Histogram>& dense = b.dense[kind];
    if (!dense) continue;
    Compress(*dense, &b.sparse[kind]);
    if (pool_.size() < pool_max) {
      dense->Clear();
      pool_.push_back(std::move(dense));
    } else {
      dense.reset();
    }
  }
}

void TimeSeries::Seal(Duration t) {
  // Bucket i ends at (i + 1) * width, so those below t / width have ended.
  const size_t ended = t.count() <= 0 ? 0 : static_cast<size_t>(t.count() / width_.count());
  std::erase_if(open_, [&](const std::pair<size_t, size_t>& open) {
    if (open.second >= ended) return false;
    SealBucket(per_fleet_[open.first][open.second]);
    return true;
  });
}

size_t TimeSeries::buckets() const {
  return per_fleet_.empty() ? 0 : per_fleet_.front().size();
}

const BucketCounts& TimeSeries::counts(size_t fleet, size_t bucket) const {
  // Beyond the last bucket nothing happened: zero counters.
  static const BucketCounts kNone;
  const std::vector<Bucket>& buckets = per_fleet_[fleet];
  return bucket < buckets.size() ? buckets[bucket].counts : kNone;
}

Histogram TimeSeries::Latency(size_t fleet, size_t from, size_t to, Kind kind) const {
  Histogram total;
  const std::vector<Bucket>& buckets = per_fleet_[fleet];
  to = std::min(to, buckets.size());
  for (size_t i = from; i < to; ++i) {
    const Bucket& b = buckets[i];
    if (b.dense[kind]) {
      total.Merge(*b.dense[kind]);
    } else {
      Expand(b.sparse[kind], &total);
    }
  }
  return total;
}

Histogram TimeSeries::attempt_latency(size_t fleet, size_t bucket) const {
  return Latency(fleet, bucket, bucket + 1, kAttemptLatency);
}

Histogram TimeSeries::e2e_latency(size_t fleet, size_t bucket) const {
  return Latency(fleet, bucket, bucket + 1, kE2eLatency);
}

BucketCounts TimeSeries::Total(size_t fleet, size_t from, size_t to) const {
  BucketCounts total;
  const std::vector<Bucket>& buckets = per_fleet_[fleet];
  to = std::min(to, buckets.size());
  for (size_t i = from; i < to; ++i) total.Add(buckets[i].counts);
  return total;
}

Histogram TimeSeries::TotalAttemptLatency(size_t fleet, size_t from, size_t to) const {
  return Latency(fleet, from, to, kAttemptLatency);
}

Histogram TimeSeries::TotalE2eLatency(size_t fleet, size_t from, size_t to) const {
  return Latency(fleet, from, to, kE2eLatency);
}

size_t TimeSeries::DenseHistograms() const {
  size_t n = 0;
  for (const std::vector<Bucket>& buckets : per_fleet_) {
    for (const Bucket& b : buckets) n += (b.dense[0] != nullptr) + (b.dense[1] != nullptr);
  }
  return n;
}

namespace {

// RFC 4180: a fleet name with a comma, quote or newline is quoted.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// Bucket start in seconds, from integers so 10 ms buckets print 0.010, not
// 0.009999. Millisecond widths need 3 decimals; finer ones get more.
std::string Seconds(int64_t ns, int decimals) {
  const int64_t whole = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  for (int d = 9; d > decimals; --d) frac /= 10;
  return fmt::format("{}.{:0{}}", whole, frac, decimals);
}

std::string Millis(int64_t ns) { return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6); }

}  // namespace

std::string TimeSeries::Csv() const {
  std::string out =
      "t_s,fleet,offered,attempts,retries,ok,not_found,throttled,shed,server_error,"
      "client_error,timeout,refused,reset,other_error,succeeded,abandoned,budget_denied,"
      "breaker_rejected,client_throttled,in_flight,lat_p50_ms,lat_p90_ms,lat_p99_ms,"
      "lat_max_ms,e2e_p99_ms\n";
  const int64_t width = width_.count();
  const int decimals = width % 1'000'000 == 0 ? 3 : width % 1'000 == 0 ? 6 : 9;
  std::vector<std::string> names;
  for (const std::string& name : fleets_) names.push_back(CsvField(name));
  auto quantile = [](const Bucket& b, Kind kind, double q) {
    return b.dense[kind] ? b.dense[kind]->Quantile(q) : Quantile(b.sparse[kind], q);
  };
  auto out_it = std::back_inserter(out);
  for (size_t i = 0; i < buckets(); ++i) {
    const std::string t_s = Seconds(static_cast<int64_t>(i) * width, decimals);
    for (size_t f = 0; f < fleets_.size(); ++f) {
      const Bucket& b = per_fleet_[f][i];
      const BucketCounts& c = b.counts;
      fmt::format_to(out_it, "{},{},{},{},{}", t_s, names[f], c.offered, c.attempts, c.retries);
      for (uint64_t n : c.outcomes) fmt::format_to(out_it, ",{}", n);
      fmt::format_to(out_it, ",{},{},{},{},{},{}", c.succeeded, c.abandoned, c.budget_denied,
                     c.breaker_rejected, c.client_throttled, c.in_flight);
      fmt::format_to(out_it, ",{},{},{},{},{}\n", Millis(quantile(b, kAttemptLatency, 0.50)),
                     Millis(quantile(b, kAttemptLatency, 0.90)),
                     Millis(quantile(b, kAttemptLatency, 0.99)),
                     Millis(quantile(b, kAttemptLatency, 1.0)),
                     Millis(quantile(b, kE2eLatency, 0.99)));
    }
  }
  return out;
}

}  // namespace herd
