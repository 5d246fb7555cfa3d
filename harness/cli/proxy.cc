#include "cli/proxy.h"

#include <cstdio>
#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fault/control.h"
#include "fault/proxy.h"
#include "scenario/parse.h"
#include "target/launcher.h"

namespace herd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;

namespace {

constexpr int kExitOk = 0, kExitCannotRun = 1, kExitInvalid = 2;

bool SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  return true;
}

// One control connection: requests in, ProxyControl's answers out.
class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(tcp::socket socket, ProxyControl& control)
      : stream_(std::move(socket)), control_(control) {}
  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    parser_.emplace();
    parser_->body_limit(1 << 20);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      self->request_ = self->parser_->release();
      self->Answer();
    });
  }

  void Answer() {
    ProxyControl::Response r = control_.Handle(std::string(request_.method_string()),
                                               std::string(request_.target()), request_.body());
    if (r.remove_after.count() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), r.remove_after);
      timer->async_wait([timer, &control = control_, id = r.id](beast::error_code ec) {
        if (!ec) control.Remove(id);
      });
    }
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.keep_alive(request_.keep_alive());
    if (!r.body.empty()) response_.set(http::field::content_type, "application/json");
    response_.body() = std::move(r.body);
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || !self->response_.keep_alive()) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
      }
      self->Read();
    });
  }

  beast::tcp_stream stream_;
  ProxyControl& control_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
};

void Accept(tcp::acceptor& acceptor, ProxyControl& control) {
  acceptor.async_accept([&acceptor, &control](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<ControlSession>(std::move(socket), control)->Start();
    Accept(acceptor, control);
  });
}

}  // namespace

int ProxyCommand(const ProxyOptions& o) {
  std::string host, port;
  if (!SplitHostPort(o.upstream, &host, &port)) {
    std::fprintf(stderr, "herd proxy: --upstream: expected host:port, got \"%s\"\n", o.upstream.c_str());
    return kExitInvalid;
  }
  if (!IsLoopbackHost(host) && !o.allow_remote) {
    std::fprintf(stderr,
                 "herd proxy: --upstream: %s is not a loopback address; pass --allow-remote to proxy "
                 "to another machine\n",
                 host.c_str());
    return kExitInvalid;
  }
  std::vector<FaultSpec> initial;
  for (const std::string& text : o.faults) {
    json doc = json::parse(text, nullptr, false);
    FaultSpec fault;
    std::vector<ParseError> errors;
    if (doc.is_discarded()) errors.push_back({"", "not JSON"});
    if (errors.empty() && ParseFault(doc, &fault, &errors)) {
      initial.push_back(fault);
      continue;
    }
    for (const ParseError& e : errors) std::fprintf(stderr, "herd proxy: --fault %s: %s\n", text.c_str(), e.ToString().c_str());
    return kExitInvalid;
  }

  Proxy proxy(o.listen, o.upstream);
  std::string error;
  if (!proxy.Start(&error)) {
    std::fprintf(stderr, "herd proxy: --listen %s: %s\n", o.listen.c_str(), error.c_str());
    return kExitCannotRun;
  }
  ProxyControl control(proxy);
  asio::io_context ioc(1);
  for (const FaultSpec& fault : initial) {
    const uint64_t id = control.Add(fault);
    if (fault.end != Duration::max()) {
      auto timer = std::make_shared<asio::steady_timer>(ioc, fault.end - fault.at);
      timer->async_wait([timer, &control, id](beast::error_code ec) {
        if (!ec) control.Remove(id);
      });
    }
  }

  std::optional<tcp::acceptor> acceptor;
  json ready = {{"proxy", proxy.address()}, {"upstream", o.upstream}, {"control", nullptr}};
  if (!o.control.empty()) {
    std::string chost, cport;
    beast::error_code ec;
    tcp::endpoint endpoint;
    if (SplitHostPort(o.control, &chost, &cport)) {
      auto address = asio::ip::make_address(chost, ec);
      if (!ec) endpoint = tcp::endpoint(address, static_cast<unsigned short>(std::atoi(cport.c_str())));
    } else {
      ec = asio::error::invalid_argument;
    }
    if (!ec) {
      acceptor.emplace(ioc);
      acceptor->open(endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor->bind(endpoint, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      std::fprintf(stderr, "herd proxy: --control %s: %s\n", o.control.c_str(), ec.message().c_str());
      return kExitCannotRun;
    }
    const tcp::endpoint bound = acceptor->local_endpoint();
    ready["control"] = fmt::format("{}:{}", bound.address().to_string(), bound.port());
    Accept(*acceptor, control);
  }

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const beast::error_code&, int) {
    if (acceptor) acceptor->close();
    ioc.stop();
  });
  // The ready line, as kvd's: scripts read the ports from it.
  std::printf("%s\n", ready.dump().c_str());
  std::fflush(stdout);
  if (!o.quiet) {
    std::fprintf(stderr, "herd proxy: %s -> %s%s\n", proxy.address().c_str(), o.upstream.c_str(),
                 ready["control"].is_null() ? "" : fmt::format(", control API on http://{}", ready["control"].get<std::string>()).c_str());
  }
  ioc.run();
  return kExitOk;
}

}  // namespace herd
