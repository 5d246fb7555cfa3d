// ReplicaPicker spreads a transport's attempts over the target's replicas,
// round-robin, skipping the replicas a readiness probe took out ("unready").
// When none is ready it fails open to all of them, as load balancers do
// (AWS ALB/NLB; Envoy's panic threshold). No allocation, no lock: it lives
// on the engine's loop.
#pragma once

#include <cstddef>
#include <vector>

namespace herd {

class ReplicaPicker {
 public:
  explicit ReplicaPicker(size_t replicas) : ready_(replicas == 0 ? 1 : replicas, true), ready_count_(ready_.size()) {}

  size_t Next() {
    const size_t n = ready_.size();
    for (size_t tried = 0; tried < n; ++tried) {
      const size_t r = next_++ % n;
      if (ready_count_ == 0 || ready_[r]) return r;
    }
    return next_++ % n;  // none ready: every replica, in turn
  }

  void SetReady(size_t replica, bool ready) {
    if (replica >= ready_.size() || ready_[replica] == ready) return;
    ready_[replica] = ready;
    ready ? ++ready_count_ : --ready_count_;
  }

  size_t size() const { return ready_.size(); }
  size_t ready_count() const { return ready_count_; }

 private:
  std::vector<bool> ready_;
  size_t ready_count_;
  size_t next_ = 0;
};

}  // namespace herd
