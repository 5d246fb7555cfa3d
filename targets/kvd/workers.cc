#include "workers.h"

#include <boost/asio/post.hpp>

namespace kvd {

void WorkerPool::Acquire(const boost::asio::any_io_executor& ex, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (free_ == 0) {
      waiting_.push_back(Waiter{ex, std::move(job)});
      metrics_.queued.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    --free_;
  }
  job();
}

void WorkerPool::Release() {
  Waiter next;
  {
    std::lock_guard lock(mu_);
    if (waiting_.empty()) {
      ++free_;
      return;
    }
    next = std::move(waiting_.front());
    waiting_.pop_front();
  }
  metrics_.queued.fetch_sub(1, std::memory_order_relaxed);
  // The worker passes straight to the next request; posting (rather than
  // calling) keeps a long queue from growing the stack.
  boost::asio::post(next.ex, std::move(next.job));
}

void WorkerPool::Clear() {
  std::deque<Waiter> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(waiting_);
  }
  metrics_.queued.fetch_sub(static_cast<int64_t>(dropped.size()), std::memory_order_relaxed);
}

size_t WorkerPool::waiting() const {
  std::lock_guard lock(mu_);
  return waiting_.size();
}

}  // namespace kvd
