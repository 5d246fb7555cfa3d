// The statistics herd's analyses are built from (DESIGN.md, Analyses).
// Pure functions on plain vectors, so each is tested against hand-computed
// values; analyze/ turns run data into these inputs and their verdicts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herd {

// --- trends (leaks) -----------------------------------------------------

// Theil-Sen estimator: the median of the slopes (y_j - y_i) / (x_j - x_i)
// over all pairs i < j with x_i != x_j. The intercept is the median of
// y_i - slope * x_i. Robust to outliers (up to ~29% of the points), which
// is why leak detection uses it rather than least squares. Fewer than two
// distinct x: slope 0, intercept the median of y (0 when empty).
struct Line {
  double slope = 0;
  double intercept = 0;
};
Line TheilSen(const std::vector<double>& x, const std::vector<double>& y);

// Mann-Kendall trend test on a series in time order.
//   S = sum over i < j of sign(y_j - y_i)
//   Var(S) = [n(n-1)(2n+5) - sum over tie groups t(t-1)(2t+5)] / 18
//   Z = (S - 1)/sqrt(Var) if S > 0, (S + 1)/sqrt(Var) if S < 0, else 0
//   p = two-sided p-value of Z under the standard normal: 2 * (1 - Phi(|Z|))
// Fewer than 3 points, or Var(S) == 0 (all equal): S = 0, Z = 0, p = 1.
struct MannKendall {
  int64_t s = 0;
  double var_s = 0;
  double z = 0;
  double p = 1;
  // tau = S / (n(n-1)/2), in [-1, 1].
  double tau = 0;
};
MannKendall MannKendallTest(const std::vector<double>& y);

// --- spreading and fairness ---------------------------------------------

// max / mean of the values (0 when empty or the mean is 0). 1 means flat.
double PeakToMean(const std::vector<double>& values);

// Population standard deviation / mean (0 when empty or the mean is 0).
double CoefficientOfVariation(const std::vector<double>& values);

// Jain's fairness index: (sum x)^2 / (n * sum x^2), in [1/n, 1]; 1 when all
// are equal. 1 for an empty vector or all zeros (nobody was treated worse).
double JainIndex(const std::vector<double>& values);

// --- recovery -------------------------------------------------------------

// Recovery time after a fault window ends. `values` is a per-bucket series
// (goodput per bucket), bucket i covering [i * width_s, (i+1) * width_s).
// It has recovered at the start of the first bucket b with start >= end_s
// such that values[b..b+hold-1] are all >= target (hold buckets in a row,
// or up to the end of the series if fewer remain but at least one). The
// result is that bucket's start minus end_s, never negative; nullopt when
// it never recovers within the series (the metastable case).
std::optional<double> RecoveryTime(const std::vector<double>& values, double width_s, double end_s,
                                   double target, int hold);

// --- durability (Jepsen's set checker) -----------------------------------

// Each write is unique (its value identifies it). What became of a write's
// request: acknowledged (ok), failed (definitely not applied), or
// indeterminate (timed out or cut after it was sent).
enum class WriteFate { kAcknowledged, kFailed, kIndeterminate };

struct SetCheck {
  int64_t attempted = 0;      // writes tried
  int64_t acknowledged = 0;
  int64_t failed = 0;
  int64_t indeterminate = 0;
  int64_t lost = 0;           // acknowledged, not read back: invalid
  int64_t recovered = 0;      // indeterminate and read back: fine
  int64_t unexpected = 0;     // read back, never attempted (or failed and read back): invalid
  bool valid() const { return lost == 0 && unexpected == 0; }
  std::vector<std::string> lost_keys;        // at most 20, for the report
  std::vector<std::string> unexpected_keys;  // at most 20
};

struct WriteRecord {
  std::string key;
  std::string value;
  WriteFate fate = WriteFate::kIndeterminate;
};

// `read_back`: key -> value found at the end (absent keys are not there).
// A key read back with another value than its write counts as lost (and,
// if the value was never written, unexpected). A failed write read back is
// unexpected (it was said not to apply).
SetCheck CheckSet(const std::vector<WriteRecord>& writes,
                  const std::vector<std::pair<std::string, std::string>>& read_back);

}  // namespace herd
