// What each request asks for: the operation (by the fleet's mix) and the key
// (uniform, zipf or sequential over the key space). Keys are written into a
// caller's buffer, so choosing one allocates nothing.
#pragma once

#include <string>
#include <vector>

#include "common/rng.h"
#include "scenario/scenario.h"
#include "transport/transport.h"

namespace herd {

class WorkloadPicker {
 public:
  explicit WorkloadPicker(const Workload& workload);

  Op PickOp(Rng& rng) const;
  // Index in [0, keys.count).
  int64_t PickKey(Rng& rng);
  // prefix + index into *out (reusing its capacity).
  void FormatKey(int64_t index, std::string* out) const;

  const std::string& value() const { return value_; }

 private:
  const Workload& workload_;
  double get_cut_, put_cut_;         // cumulative shares
  std::vector<double> zipf_cdf_;     // for zipf: P(index <= i)
  int64_t next_sequential_ = 0;
  std::string value_;                // value_bytes of printable bytes
};

}  // namespace herd
