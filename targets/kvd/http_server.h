// HttpServer is kvd's REST frontend (Boost.Beast): /v1/{key} for data, plus
// /healthz, /healthz/shallow, /healthz/deep, /readyz, /metrics, /info,
// /connections and, with --admin-token, /admin/faults.
//
// Each connection lives on one I/O thread (one io_context per thread, like
// nginx's workers), so a session needs no locks. Keep-alive and HTTP/1.0 are
// supported; pipelined requests are served one after another.
//
// Bad input never takes kvd down: a malformed request gets 400, headers over
// --max-header-bytes get 431, a body over --max-value-bytes gets 413, and
// each closes only its own connection. A client that stops mid-request is
// cut after --idle-timeout.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "context.h"

namespace kvd {

// Parses "host:port" (port 0 = any free port). False with *error otherwise.
bool ParseEndpoint(const std::string& text, boost::asio::ip::tcp::endpoint* out,
                   std::string* error);

class HttpServer {
 public:
  explicit HttpServer(Context& ctx);
  ~HttpServer();

  // Binds and listens on `address` using the first context; false with
  // *error when the address is bad or taken.
  bool Listen(boost::asio::io_context& acceptor_context, const std::string& address,
              std::string* error);
  boost::asio::ip::tcp::endpoint endpoint() const { return endpoint_; }

  // Starts accepting; connections are spread round-robin over `contexts`.
  void Start(std::vector<boost::asio::io_context*> contexts);

  // Stops accepting (drain). Open connections are closed through
  // Connections::ShutdownAll.
  void StopAccepting();

 private:
  void Accept();

  Context& ctx_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::steady_timer> retry_timer_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::vector<boost::asio::io_context*> contexts_;
  size_t next_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace kvd
