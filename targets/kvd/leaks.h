// Leaks carries out the leak faults, one leaked resource per data request,
// so herd's monitors have something real to find:
//   task        a task that never ends (an async wait on a timer that never
//               fires), like the readLoop/writeLoop goroutines a per-request
//               http.Transport leaks in Dynatrace's foxy example: kvd_tasks
//               and memory grow.
//   connection  a TCP connection to kvd itself, never closed: open fds and
//               kvd_open_connections grow.
//   timer       a periodic timer never stopped (Go's forgotten time.Ticker):
//               kvd_timers and idle CPU grow.
// Leaked resources live until kvd exits; clearing the fault stops new leaks
// but, as with a real leak, does not give back the old ones.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "faults.h"
#include "metrics.h"

namespace kvd {

class Leaks {
 public:
  Leaks(boost::asio::io_context& ioc, Metrics& metrics);
  ~Leaks();

  // Where connection leaks connect (kvd's own listener).
  void SetSelf(boost::asio::ip::tcp::endpoint self);

  void Leak(LeakMode mode);

 private:
  struct Ticker;
  void Tick(const std::shared_ptr<Ticker>& ticker);

  boost::asio::io_context& ioc_;
  Metrics& metrics_;
  std::mutex mu_;
  boost::asio::ip::tcp::endpoint self_;
  bool have_self_ = false;
  std::vector<std::unique_ptr<boost::asio::steady_timer>> tasks_;
  std::vector<std::shared_ptr<Ticker>> tickers_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> sockets_;
};

}  // namespace kvd
