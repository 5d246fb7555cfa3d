#include "leaks.h"

#include <chrono>

namespace kvd {

namespace asio = boost::asio;

struct Leaks::Ticker {
  explicit Ticker(asio::io_context& ioc) : timer(ioc) {}
  asio::steady_timer timer;
  uint64_t ticks = 0;
};

Leaks::Leaks(asio::io_context& ioc, Metrics& metrics) : ioc_(ioc), metrics_(metrics) {}

Leaks::~Leaks() {
  std::lock_guard lock(mu_);
  metrics_.timers.fetch_sub(static_cast<int64_t>(tickers_.size()));
  metrics_.connections.fetch_sub(static_cast<int64_t>(sockets_.size()));
  metrics_.leaked_connections.fetch_sub(static_cast<int64_t>(sockets_.size()));
  for (auto& t : tickers_) t->timer.cancel();
}

void Leaks::SetSelf(asio::ip::tcp::endpoint self) {
  std::lock_guard lock(mu_);
  self_ = self;
  have_self_ = true;
}

void Leaks::Leak(LeakMode mode) {
  switch (mode) {
    case LeakMode::kNone:
      return;
    case LeakMode::kTask: {
      auto timer = std::make_unique<asio::steady_timer>(ioc_, asio::steady_timer::time_point::max());
      // The handler owns the task's token: it stays counted until the wait
      // ends, which is never (or kvd's exit).
      timer->async_wait([token = TaskToken(&metrics_)](const boost::system::error_code&) {});
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(timer));
      return;
    }
    case LeakMode::kTimer: {
      auto ticker = std::make_shared<Ticker>(ioc_);
      metrics_.timers.fetch_add(1, std::memory_order_relaxed);
      Tick(ticker);
      std::lock_guard lock(mu_);
      tickers_.push_back(std::move(ticker));
      return;
    }
    case LeakMode::kConnection: {
      auto socket = std::make_unique<asio::ip::tcp::socket>(ioc_);
      std::lock_guard lock(mu_);
      if (!have_self_) return;
      socket->async_connect(self_, [](const boost::system::error_code&) {});
      metrics_.connections.fetch_add(1, std::memory_order_relaxed);
      metrics_.leaked_connections.fetch_add(1, std::memory_order_relaxed);
      sockets_.push_back(std::move(socket));
      return;
    }
  }
}

void Leaks::Tick(const std::shared_ptr<Ticker>& ticker) {
  ticker->timer.expires_after(std::chrono::seconds(1));
  ticker->timer.async_wait([this, weak = std::weak_ptr<Ticker>(ticker)](
                               const boost::system::error_code& ec) {
    if (ec) return;
    if (auto t = weak.lock()) {
      ++t->ticks;  // the work a forgotten ticker keeps doing
      Tick(t);
    }
  });
}

}  // namespace kvd
