#include "engine/workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace herd {

WorkloadPicker::WorkloadPicker(const Workload& w) : workload_(w) {
  double total = w.get + w.put + w.del;
  if (total <= 0) total = 1;
  get_cut_ = w.get / total;
  put_cut_ = (w.get + w.put) / total;
  if (w.keys.distribution == KeySpace::Distribution::kZipf) {
    // A table of the CDF: 8 bytes a key, built once per fleet, then each
    // pick is a binary search. Simple and exact for the key counts herd uses.
    zipf_cdf_.resize(static_cast<size_t>(std::max<int64_t>(1, w.keys.count)));
    double sum = 0;
    for (size_t i = 0; i < zipf_cdf_.size(); ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), w.keys.zipf_s);
      zipf_cdf_[i] = sum;
    }
    for (double& c : zipf_cdf_) c /= sum;
  }
  value_.resize(static_cast<size_t>(std::max<int64_t>(0, w.value_bytes)));
  Rng rng(0x76616c7565);  // "value": the same bytes in every run
  for (char& c : value_) c = static_cast<char>('a' + rng.Next() % 26);
}

Op WorkloadPicker::PickOp(Rng& rng) const {
  if (put_cut_ <= 0 && get_cut_ >= 1) return Op::kGet;  // no draw for the common case
  double u = rng.Uniform();
  if (u < get_cut_) return Op::kGet;
  if (u < put_cut_) return Op::kPut;
  return Op::kDelete;
}

int64_t WorkloadPicker::PickKey(Rng& rng) {
  const int64_t n = std::max<int64_t>(1, workload_.keys.count);
  switch (workload_.keys.distribution) {
    case KeySpace::Distribution::kUniform:
      return static_cast<int64_t>(rng.Uniform() * static_cast<double>(n));
    case KeySpace::Distribution::kZipf: {
      double u = rng.Uniform();
      auto it = std::lower_bound(zipf_cdf_.begin(), zipf_cdf_.end(), u);
      return std::min<int64_t>(n - 1, it - zipf_cdf_.begin());
    }
    case KeySpace::Distribution::kSequential: {
      int64_t k = next_sequential_;
      next_sequential_ = (next_sequential_ + 1) % n;
      return k;
    }
  }
  return 0;
}

void WorkloadPicker::FormatKey(int64_t index, std::string* out) const {
  out->assign(workload_.keys.prefix);
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, index);
  out->append(digits, end);
}

}  // namespace herd
