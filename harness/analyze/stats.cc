#include "analyze/stats.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <numeric>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace herd {

namespace {

// Median of `v` (reordered in place): the middle value, or the mean of the
// two middle values for an even count. 0 when empty. Precondition for every
// function here: the values are finite (NaN has no order, and the sorts and
// selections below need one).
double MedianInPlace(std::vector<double>& v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  // After nth_element everything before `mid` is <= v[mid]: the lower middle
  // value is the largest of them.
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return lower + (upper - lower) / 2;
}

// Theil-Sen considers every pair up to this many points (about two million
// slopes, 16 MB, tens of milliseconds); beyond it, a subsample of points.
constexpr size_t kTheilSenExactPoints = 2000;

}  // namespace

Line TheilSen(const std::vector<double>& x, const std::vector<double>& y) {
  // Mismatched lengths: only the points that have both coordinates count.
  const size_t n = std::min(x.size(), y.size());

  // The points whose pairs give the slopes. Up to kTheilSenExactPoints, all
  // of them: the estimate is exact. Beyond, O(n^2) pairs is too much work
  // (a 10 000-point series would be 50 million slopes), so the slopes come
  // from a deterministic subsample: the points ordered by x (ties by
  // index), then kTheilSenExactPoints of them evenly spaced in that order,
  // rank k * (n - 1) / (m - 1) for k = 0..m-1. It keeps the first and the
  // last x, so "fewer than two distinct x" is decided as on all points, and
  // spreads over the whole range, so a trend and the robustness to outliers
  // are kept (the same result for the same input, every time). The intercept
  // is always the exact median over all n points.
  std::vector<size_t> chosen;
  if (n <= kTheilSenExactPoints) {
    chosen.resize(n);
    std::iota(chosen.begin(), chosen.end(), size_t{0});
  } else {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
    const size_t m = kTheilSenExactPoints;
    chosen.reserve(m);
    for (size_t k = 0; k < m; ++k) chosen.push_back(order[k * (n - 1) / (m - 1)]);
  }

  std::vector<double> slopes;
  slopes.reserve(chosen.size() > 1 ? chosen.size() * (chosen.size() - 1) / 2 : 0);
  for (size_t a = 0; a < chosen.size(); ++a) {
    const size_t i = chosen[a];
    for (size_t b = a + 1; b < chosen.size(); ++b) {
      const size_t j = chosen[b];
      if (x[i] == x[j]) continue;
      slopes.push_back((y[j] - y[i]) / (x[j] - x[i]));
    }
  }

  Line line;
  std::vector<double> rest(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(n));
  if (slopes.empty()) {  // fewer than two distinct x
    line.intercept = MedianInPlace(rest);
    return line;
  }
  line.slope = MedianInPlace(slopes);
  for (size_t i = 0; i < n; ++i) rest[i] = y[i] - line.slope * x[i];
  line.intercept = MedianInPlace(rest);
  return line;
}

MannKendall MannKendallTest(const std::vector<double>& y) {
  MannKendall result;
  const size_t n = y.size();
  if (n < 3) return result;

  // Ranks of the distinct values, and the tie groups they form.
  std::vector<double> sorted(y);
  std::sort(sorted.begin(), sorted.end());
  double ties = 0;  // sum over tie groups of t(t-1)(2t+5)
  std::vector<double> distinct;
  distinct.reserve(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && sorted[j] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i);
    ties += t * (t - 1) * (2 * t + 5);
    distinct.push_back(sorted[i]);
    i = j;
  }
  const double dn = static_cast<double>(n);
  const double var = (dn * (dn - 1) * (2 * dn + 5) - ties) / 18;
  if (var <= 0) return result;  // all equal: S is 0 anyway

  // S = sum over j of (#earlier smaller) - (#earlier larger), counted with a
  // Fenwick tree over the ranks: O(n log n), the same value as the O(n^2)
  // sum of signs (for finite doubles, y_j - y_i has the sign of comparing
  // them), so long series cost nothing.
  const size_t k = distinct.size();
  std::vector<int64_t> tree(k + 1, 0);
  auto add = [&](size_t pos) {
    for (++pos; pos <= k; pos += pos & (~pos + 1)) ++tree[pos];
  };
  auto count_below = [&](size_t pos) {  // values with rank < pos
    int64_t c = 0;
    for (; pos > 0; pos -= pos & (~pos + 1)) c += tree[pos];
    return c;
  };
  int64_t s = 0;
  for (size_t j = 0; j < n; ++j) {
    const size_t rank = static_cast<size_t>(
        std::lower_bound(distinct.begin(), distinct.end(), y[j]) - distinct.begin());
    const int64_t earlier = static_cast<int64_t>(j);
    const int64_t smaller = count_below(rank);
    const int64_t not_larger = count_below(rank + 1);
    s += smaller - (earlier - not_larger);
    add(rank);
  }

  result.s = s;
  result.var_s = var;
  const double sd = std::sqrt(var);
  if (s > 0) {
    result.z = static_cast<double>(s - 1) / sd;
  } else if (s < 0) {
    result.z = static_cast<double>(s + 1) / sd;
  }
  // 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt 2), without the cancellation of
  // 1 - Phi in the tail.
  result.p = std::erfc(std::fabs(result.z) / std::sqrt(2.0));
  result.tau = static_cast<double>(s) / (dn * (dn - 1) / 2);
  return result;
}

double PeakToMean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  const double mean =
      std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  if (mean == 0) return 0;
  return *std::max_element(values.begin(), values.end()) / mean;
}

double CoefficientOfVariation(const std::vector<double>& values) {
  if (values.empty()) return 0;
  const double count = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / count;
  if (mean == 0) return 0;
  double squares = 0;  // two passes: no cancellation of E[x^2] - mean^2
  for (double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / count) / mean;
}

double JainIndex(const std::vector<double>& values) {
  double sum = 0, squares = 0;
  for (double v : values) {
    sum += v;
    squares += v * v;
  }
  if (squares == 0) return 1;  // empty, or all zeros
  return sum * sum / (static_cast<double>(values.size()) * squares);
}

std::optional<double> RecoveryTime(const std::vector<double>& values, double width_s, double end_s,
                                   double target, int hold) {
  if (!(width_s > 0) || !std::isfinite(width_s) || !std::isfinite(end_s)) return std::nullopt;
  const size_t n = values.size();
  const size_t need = static_cast<size_t>(std::max(hold, 1));  // hold < 1 means 1

  // The first bucket whose start (i * width_s, as computed) is >= end_s.
  // The quotient can be off by one after rounding either way, so settle it
  // on the starts themselves.
  size_t first = 0;
  if (end_s > 0) {
    const double q = std::ceil(end_s / width_s);
    first = q >= static_cast<double>(n) ? n : static_cast<size_t>(q);
    while (first > 0 && static_cast<double>(first - 1) * width_s >= end_s) --first;
    while (first < n && static_cast<double>(first) * width_s < end_s) ++first;
  }

  // run[i] = how many buckets in a row from i on meet the target (filled
  // from the end backwards), so each candidate is checked in O(1).
  std::vector<size_t> run(n + 1, 0);
  for (size_t i = n; i-- > 0;) run[i] = values[i] >= target ? run[i + 1] + 1 : 0;
  for (size_t b = first; b < n; ++b) {
    if (run[b] >= std::min(need, n - b)) {
      return std::max(0.0, static_cast<double>(b) * width_s - end_s);
    }
  }
  return std::nullopt;
}

namespace {

struct PairHash {
  size_t operator()(const std::pair<std::string_view, std::string_view>& p) const {
    const size_t a = std::hash<std::string_view>{}(p.first);
    const size_t b = std::hash<std::string_view>{}(p.second);
    return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
};

constexpr size_t kMaxKeysListed = 20;

}  // namespace

SetCheck CheckSet(const std::vector<WriteRecord>& writes,
                  const std::vector<std::pair<std::string, std::string>>& read_back) {
  using Entry = std::pair<std::string_view, std::string_view>;
  SetCheck check;

  // A write is read back when its key holds its value at the end. Writes are
  // identified by (key, value): a value found under another key than the one
  // it was written to was never attempted there.
  std::unordered_set<Entry, PairHash> found;
  found.reserve(read_back.size());
  for (const auto& [key, value] : read_back) found.emplace(key, value);

  // For each (key, value) written, whether some write of it may have applied
  // (not failed). Writes are unique, so normally one write per entry.
  std::unordered_map<Entry, bool, PairHash> written;
  written.reserve(writes.size());

  for (const WriteRecord& w : writes) {
    ++check.attempted;
    const Entry entry{w.key, w.value};
    const bool is_back = found.count(entry) > 0;
    bool& may_apply = written[entry];
    switch (w.fate) {
      case WriteFate::kAcknowledged:
        ++check.acknowledged;
        may_apply = true;
        if (!is_back) {
          ++check.lost;
          if (check.lost_keys.size() < kMaxKeysListed) check.lost_keys.push_back(w.key);
        }
        break;
      case WriteFate::kFailed:
        ++check.failed;
        break;
      case WriteFate::kIndeterminate:
        ++check.indeterminate;
        may_apply = true;
        if (is_back) ++check.recovered;
        break;
    }
  }

  // Each distinct (key, value) read back that no write could have put there:
  // never attempted, or only by writes that failed.
  std::unordered_set<Entry, PairHash> seen;
  seen.reserve(read_back.size());
  for (const auto& [key, value] : read_back) {
    const Entry entry{key, value};
    if (!seen.insert(entry).second) continue;  // listed twice: once is enough
    auto it = written.find(entry);
    if (it != written.end() && it->second) continue;
    ++check.unexpected;
    if (check.unexpected_keys.size() < kMaxKeysListed) check.unexpected_keys.push_back(key);
  }
  return check;
}

}  // namespace herd
