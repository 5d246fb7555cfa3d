#include "measure/histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

namespace herd {

// Bucket geometry. With S = kSubBucketBits, values below 2^(S+1) = 256 get
// one bucket each (exact). Above, the power of two [2^k, 2^(k+1)) is cut into
// 2^S equal sub-buckets of width 2^(k-S), so a bucket is never wider than
// 1/2^S of the values in it: the reported upper edge is within 1/128.
//
// Both ranges are one formula: shift = bit_width(v | 255) - 8 is 0 below 256
// and k - S above; index = (shift << S) + (v >> shift), where v >> shift lies
// in [128, 256) above 256. The top value 2^42 - 1 lands in index
// (34 << 7) + 255 = 4607 = kBuckets - 1, so the declared size is exact.
static_assert(Histogram::kBuckets == 4608);
static_assert(((Histogram::kMaxBits - Histogram::kSubBucketBits - 1) << Histogram::kSubBucketBits) +
                  (2 << Histogram::kSubBucketBits) - 1 ==
              Histogram::kBuckets - 1);

namespace {

constexpr int kLinearBits = Histogram::kSubBucketBits + 1;  // values < 256 are exact
constexpr uint64_t kLinearMask = (uint64_t{1} << kLinearBits) - 1;

int ShiftOfIndex(int index) {
  return std::max(0, (index >> Histogram::kSubBucketBits) - 1);
}

}  // namespace

int Histogram::IndexOf(int64_t value_ns) {
  // Clamping (negative to 0, huge to the top bucket) compiles to conditional
  // moves: no branch on the hot path.
  const uint64_t v = static_cast<uint64_t>(std::clamp<int64_t>(value_ns, 0, kMaxValue));
  const int shift = std::bit_width(v | kLinearMask) - kLinearBits;
  return (shift << kSubBucketBits) + static_cast<int>(v >> shift);
}

int64_t Histogram::LowerEdge(int index) {
  index = std::clamp(index, 0, kBuckets - 1);
  const int shift = ShiftOfIndex(index);
  const int64_t sub = index - (shift << kSubBucketBits);
  return sub << shift;
}

int64_t Histogram::UpperEdge(int index) {
  index = std::clamp(index, 0, kBuckets - 1);
  return LowerEdge(index) + (int64_t{1} << ShiftOfIndex(index)) - 1;
}

void Histogram::RecordN(int64_t value_ns, uint64_t n) {
  if (n == 0) return;
  // Negative latencies (a clock that stepped) count as 0; the sum and the
  // extremes keep the true value above 2^42 so mean() and max() stay honest.
  const int64_t v = std::max<int64_t>(value_ns, 0);
  counts_[IndexOf(v)] += n;
  count_ += n;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += static_cast<Sum>(v) * n;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void Histogram::Clear() {
  counts_.fill(0);
  count_ = 0;
  min_ = INT64_MAX;
  max_ = 0;
  sum_ = 0;
}

double Histogram::mean() const {
  return count_ ? static_cast<double>(static_cast<long double>(sum_) / count_) : 0.0;
}

uint64_t Histogram::RankOf(double q, uint64_t count) {
  // ceil(q * count), robust to the product landing a few ulps above an
  // integer (0.07 * 100 = 7.000000000000001 must give rank 7, not 8).
  const double exact = q * static_cast<double>(count);
  const double slack = exact * 4 * std::numeric_limits<double>::epsilon();
  const uint64_t rank = static_cast<uint64_t>(std::ceil(exact - slack));
  return std::clamp<uint64_t>(rank, 1, count);
}

int64_t Histogram::Reported(int index, int64_t min, int64_t max) {
  // The top bucket also holds the values clamped from above 2^42: its edge
  // is really the true maximum.
  if (index == kBuckets - 1) return max;
  return std::clamp(UpperEdge(index), min, max);
}

int64_t Histogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  // The extremes are known exactly: q = 0 is the minimum, q = 1 the maximum.
  if (!(q > 0)) return min_;
  if (q >= 1) return max_;
  const uint64_t rank = RankOf(q, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return Reported(i, min_, max_);
  }
  return max_;  // not reached: the counts add up to count_
}

std::vector<std::pair<int, uint64_t>> Histogram::NonEmpty() const {
  std::vector<std::pair<int, uint64_t>> out;
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] != 0) out.emplace_back(i, counts_[i]);
  }
  return out;
}

std::string Histogram::Serialize() const {
  // fmt has no 128-bit integers everywhere: spell the sum by hand.
  char digits[40];
  char* end = digits + sizeof digits;
  char* p = end;
  Sum sum = sum_;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(sum % 10));
    sum /= 10;
  } while (sum != 0);
  std::string out =
      fmt::format("{} {} {} {};", count_, min(), max_, std::string_view(p, end - p));
  bool first = true;
  for (int i = 0; i < kBuckets; ++i) {
    if (counts_[i] == 0) continue;
    if (!first) out += ',';
    first = false;
    fmt::format_to(std::back_inserter(out), "{}:{}", i, counts_[i]);
  }
  return out;
}

namespace {

// A cursor over the text that reads the pieces of the format and remembers
// what went wrong, so Parse can say where.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  template <typename Int>
  bool Integer(Int* out, const char* what) {
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    // from_chars accepts a leading '-' for signed types; every field here is
    // non-negative, so insist on a digit.
    if (begin == end || *begin < '0' || *begin > '9') return Fail(what);
    auto [ptr, ec] = std::from_chars(begin, end, *out);
    if (ec != std::errc()) return Fail(what);
    pos_ += ptr - begin;
    return true;
  }

  // A non-negative 128-bit integer (the sum): from_chars does not take one.
  template <typename Wide>
  bool WideInteger(Wide* out, const char* what) {
    const Wide limit = ~Wide{0};
    Wide value = 0;
    size_t end = pos_;
    for (; end < text_.size() && text_[end] >= '0' && text_[end] <= '9'; ++end) {
      const int digit = text_[end] - '0';
      if (value > (limit - digit) / 10) return Fail(what);  // overflow
      value = value * 10 + digit;
    }
    if (end == pos_) return Fail(what);
    *out = value;
    pos_ = end;
    return true;
  }

  bool Char(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return Fail(fmt::format("'{}'", c).c_str());
  }

  bool AtEnd() const { return pos_ == text_.size(); }
  size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }

  bool Fail(const char* what) {
    if (error_.empty()) {
      error_ = fmt::format("histogram: expected {} at offset {}", what, pos_);
    }
    return false;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

bool Histogram::Parse(const std::string& text, Histogram* out, std::string* error) {
  auto fail = [&](std::string message) {
    *error = std::move(message);
    return false;
  };
  // Read and check everything before touching *out, so a bad input leaves it
  // as it was (and no 37 KB temporary is needed).
  Reader r(text);
  uint64_t count = 0;
  int64_t min = 0, max = 0;
  Sum sum = 0;
  if (!r.Integer(&count, "the count") || !r.Char(' ') || !r.Integer(&min, "the minimum") ||
      !r.Char(' ') || !r.Integer(&max, "the maximum") || !r.Char(' ') ||
      !r.WideInteger(&sum, "the sum") || !r.Char(';')) {
    return fail(r.error());
  }
  std::vector<std::pair<int, uint64_t>> entries;
  uint64_t total = 0;
  while (!r.AtEnd()) {
    if (!entries.empty() && !r.Char(',')) return fail(r.error());
    int index = 0;
    uint64_t n = 0;
    const size_t at = r.pos();
    if (!r.Integer(&index, "a bucket index") || !r.Char(':') ||
        !r.Integer(&n, "a bucket count")) {
      return fail(r.error());
    }
    if (index >= kBuckets) {
      return fail(fmt::format("histogram: bucket index {} at offset {} is not below {}", index,
                              at, kBuckets));
    }
    if (!entries.empty() && index <= entries.back().first) {
      return fail(fmt::format("histogram: bucket index {} at offset {} is not ascending", index,
                              at));
    }
    if (n == 0) {
      return fail(fmt::format("histogram: bucket {} at offset {} has a zero count", index, at));
    }
    if (total + n < total) return fail("histogram: bucket counts overflow");
    total += n;
    entries.emplace_back(index, n);
  }
  if (total != count) {
    return fail(fmt::format("histogram: buckets add up to {}, the count says {}", total, count));
  }
  if (count == 0) {
    if (min != 0 || max != 0 || sum != 0) {
      return fail("histogram: an empty histogram must have min, max and sum 0");
    }
  } else {
    // min and max must sit in the first and last buckets (a max above 2^42
    // was clamped into the top one), and the sum between count*min and count*max.
    if (min > max) return fail(fmt::format("histogram: min {} above max {}", min, max));
    if (IndexOf(min) != entries.front().first) {
      return fail(fmt::format("histogram: min {} is not in the first bucket {}", min,
                              entries.front().first));
    }
    if (IndexOf(max) != entries.back().first) {
      return fail(fmt::format("histogram: max {} is not in the last bucket {}", max,
                              entries.back().first));
    }
    const Sum n = count;
    if (sum < n * static_cast<Sum>(min) || sum > n * static_cast<Sum>(max)) {
      return fail("histogram: the sum is outside count * [min, max]");
    }
  }
  out->Clear();
  for (const auto& [index, n] : entries) out->counts_[index] = n;
  out->count_ = count;
  out->min_ = count ? min : INT64_MAX;
  out->max_ = max;
  out->sum_ = sum;
  return true;
}

}  // namespace herd
