// WorkerPool is kvd's --workers: N workers serving one FIFO queue. A worker
// is a slot, not a thread: a request holds one from the moment it leaves the
// queue until it is answered, including its service_time. So capacity is
// exactly N / service_time, and a queue builds up (and shedding sees it)
// the moment offered load passes that, on any machine.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <deque>
#include <functional>
#include <mutex>

#include "metrics.h"

namespace kvd {

class WorkerPool {
 public:
  WorkerPool(int workers, Metrics& metrics) : free_(workers), metrics_(metrics) {}

  // Runs job once a worker is free, in arrival order: now on this thread if
  // one is free, else later, posted to `ex`. The job owns the worker until it
  // calls Release().
  void Acquire(const boost::asio::any_io_executor& ex, std::function<void()> job);
  void Release();

  size_t waiting() const;
  void Clear();  // drops every waiting job (shutdown)

 private:
  struct Waiter {
    boost::asio::any_io_executor ex;
    std::function<void()> job;
  };
  mutable std::mutex mu_;
  int free_;
  std::deque<Waiter> waiting_;
  Metrics& metrics_;
};

}  // namespace kvd
