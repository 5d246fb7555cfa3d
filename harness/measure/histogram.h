// Histogram is a latency histogram in the manner of HdrHistogram: log-linear
// buckets, 128 sub-buckets per power of two, so any recorded value is
// reported within 1% (at most 1/128 relative error), in fixed memory, and two
// histograms merge exactly (counts add). Values are nanoseconds, 0 to ~73 min
// (2^42 ns); larger values are clamped into the top bucket and still counted.
//
// Record is O(1), allocation-free and branch-light: it is on herd's hot path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace herd {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;             // 128 per power of two
  static constexpr int kMaxBits = 42;                  // values < 2^42 ns
  static constexpr int kBuckets = (kMaxBits - kSubBucketBits + 1) << kSubBucketBits;

  void Record(int64_t value_ns) { RecordN(value_ns, 1); }
  void RecordN(int64_t value_ns, uint64_t n);
  void Merge(const Histogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const;

  // The value at quantile q in [0, 1]: the smallest bucket whose cumulative
  // count reaches ceil(q * count), reported as that bucket's upper edge
  // (clamped to max()). 0 when empty.
  int64_t Quantile(double q) const;

  // Bucket geometry, for tests and serialisation.
  static int IndexOf(int64_t value_ns);
  static int64_t LowerEdge(int index);
  static int64_t UpperEdge(int index);  // inclusive

  // Sparse text form "count min max sum;index:count,index:count,..." that
  // Parse reads back exactly (for histograms/ in the run directory).
  std::string Serialize() const;
  static bool Parse(const std::string& text, Histogram* out, std::string* error);

  // The non-empty buckets as (index, count), ascending.
  std::vector<std::pair<int, uint64_t>> NonEmpty() const;

 private:
  // TimeSeries keeps sealed buckets in sparse form and rebuilds them exactly
  // (min, max and sum included), which the public API cannot express.
  friend class TimeSeries;

  static constexpr int64_t kMaxValue = (int64_t{1} << kMaxBits) - 1;

  // The sum of the values, exact: 2^64 counts of 2^63 ns fit in 128 bits.
  // (An x87 long double costs a store-forwarding stall on every Record.)
  __extension__ typedef unsigned __int128 Sum;

  // The two halves of Quantile, shared with TimeSeries's sparse buckets so
  // both forms report the same value: the rank ceil(q * count) in
  // [1, count] for 0 < q < 1, and the value reported for the bucket reaching it.
  static uint64_t RankOf(double q, uint64_t count);
  static int64_t Reported(int index, int64_t min, int64_t max);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  Sum sum_ = 0;
};

}  // namespace herd
