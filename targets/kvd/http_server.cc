#include "http_server.h"

#include <array>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

namespace kvd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

bool ParseEndpoint(const std::string& text, tcp::endpoint* out, std::string* error) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    *error = fmt::format("expected host:port, got \"{}\"", text);
    return false;
  }
  std::string host = text.substr(0, colon);
  std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    *error = fmt::format("\"{}\" is not an IP address (in \"{}\")", host, text);
    return false;
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    *error = fmt::format("\"{}\" is not a port number (in \"{}\")", port, text);
    return false;
  }
  *out = tcp::endpoint(addr, static_cast<unsigned short>(p));
  return true;
}

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

Method ToMethod(http::verb v) {
  switch (v) {
    case http::verb::get: return Method::kGet;
    case http::verb::put: return Method::kPut;
    case http::verb::delete_: return Method::kDelete;
    default: return Method::kOther;
  }
}

// The route a request path names (before method checks).
Route RouteOf(std::string_view path, bool admin_enabled) {
  if (path.starts_with("/v1/")) return Route::kKey;
  if (path == "/healthz") return Route::kHealthz;
  if (path == "/healthz/shallow") return Route::kHealthzShallow;
  if (path == "/healthz/deep") return Route::kHealthzDeep;
  if (path == "/readyz") return Route::kReadyz;
  if (path == "/metrics") return Route::kMetrics;
  if (path == "/info") return Route::kInfo;
  if (path == "/connections") return Route::kConnections;
  if (path == "/admin/faults" && admin_enabled) return Route::kAdmin;
  return Route::kUnknown;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

constexpr auto kWriteTimeout = std::chrono::seconds(30);

// Sessions never leave their io_context, so they use its concrete executor:
// the type-erased default costs a copy and an indirection on every
// operation, which a profile under wrk showed as the largest single cost.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Stream = beast::basic_stream<tcp, Executor, beast::unlimited_rate_policy>;

class HttpSession : public Conn, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Socket&& socket, Context& ctx)
      : stream_(std::move(socket)), ctx_(ctx), opened_(Clock::now()),
        opened_wall_(std::chrono::system_clock::now()) {
    boost::system::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      peer_ip_ = remote.address().to_string();
      peer_ = fmt::format("{}:{}", peer_ip_, remote.port());
      loopback_ = remote.address().is_loopback();
    }
    stream_.socket().set_option(tcp::no_delay(true), ec);
    ctx_.metrics().connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~HttpSession() override {
    ctx_.connections().Remove(id_);
    ctx_.metrics().connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    id_ = ctx_.connections().Add(weak_from_this());
    Read();
  }

  nlohmann::json Describe() const override {
    std::string client;
    {
      std::lock_guard lock(client_mu_);
      client = client_id_;
    }
    return {{"peer", peer_},
            {"client_id", client},
            {"age_s", std::chrono::duration<double>(Clock::now() - opened_).count()},
            {"opened", fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                                   std::chrono::floor<std::chrono::seconds>(opened_wall_))},
            {"requests", requests_.load(std::memory_order_relaxed)}};
  }

  void Shutdown() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->Close();
    });
  }

 private:
  void Read() {
    if (closing_) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(ctx_.config().max_header_bytes));
    parser_->body_limit(ctx_.config().max_value_bytes);
    stream_.expires_after(ctx_.config().idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    if (parser_->is_done()) return Dispatch();
    // curl and others wait for "100 Continue" before sending a large body.
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(kWriteTimeout);
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(ctx_.config().idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Dispatch();
                     });
  }

  void OnReadError(beast::error_code ec) {
    busy_ = true;
    start_ = Clock::now();
    route_ = Route::kUnknown;
    method_ = Method::kOther;
    if (parser_ && !parser_->get().target().empty()) {
      // Count a refused body (413) under the route and method it was for. A
      // Content-Length over the limit fails while the head is still being
      // parsed, but by then the request line is known.
      route_ = RouteOf(PathOf(parser_->get().target()), !ctx_.config().admin_token.empty());
      method_ = ToMethod(parser_->get().method());
    }
    if (ec == http::error::body_limit) {
      return Answer(413, fmt::format("value larger than {} bytes\n", ctx_.config().max_value_bytes),
                    /*close=*/true);
    }
    if (ec == http::error::header_limit) {
      return Answer(431, "request headers too large\n", true);
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return Answer(400, fmt::format("malformed request: {}\n", ec.message()), true);
    }
    Close();  // end of stream, timeout, reset: nothing to answer
  }

  void Dispatch() {
    start_ = Clock::now();
    requests_.fetch_add(1, std::memory_order_relaxed);
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    method_ = ToMethod(req.method());
    std::string_view path = PathOf(req.target());

    // The client is named per request: a keep-alive connection may carry
    // several (a proxy's, say), and one without the header is its peer.
    std::string_view client = req[kClientIdHeader];
    if (client != last_client_) {
      last_client_.assign(client);
      std::lock_guard lock(client_mu_);
      client_id_.assign(client);
    }

    route_ = RouteOf(path, !ctx_.config().admin_token.empty());
    switch (route_) {
      case Route::kKey:
        return Data(path.substr(4));
      case Route::kHealthz:
        return Simple([&] { Answer(200, "ok\n"); });
      case Route::kHealthzShallow:
        return Simple([&] {
          std::string why = ctx_.service().ShallowCheck();
          if (why.empty()) return Answer(200, "ok\n");
          Answer(503, why + "\n");
        });
      case Route::kHealthzDeep:
        return Simple([&] {
          ctx_.service().DeepCheck(stream_.get_executor(),
                                   [self = shared_from_this()](bool ok, std::string why) {
                                     asio::dispatch(self->stream_.get_executor(), [self, ok, why] {
                                       self->Answer(ok ? 200 : 503, ok ? "ok\n" : why + "\n");
                                     });
                                   });
        });
      case Route::kReadyz:
        return Simple([&] {
          if (ctx_.service().draining()) return Answer(503, "draining\n");
          if (!ctx_.service().ready()) return Answer(503, "replaying the transaction log\n");
          Answer(200, "ready\n");
        });
      case Route::kMetrics:
        return Simple([&] {
          Answer(200, ctx_.MetricsText(), false, "text/plain; version=0.0.4; charset=utf-8");
        });
      case Route::kInfo:
        return Simple([&] { Answer(200, ctx_.Info().dump(2) + "\n", false, "application/json"); });
      case Route::kConnections:
        return Simple([&] {
          Answer(200, ctx_.connections().Describe().dump(2) + "\n", false, "application/json");
        });
      case Route::kAdmin:
        return Admin();
      case Route::kUnknown:
        return Answer(404, "not found\n");
    }
  }

  // A GET-only route.
  template <typename F>
  void Simple(F&& serve) {
    if (method_ != Method::kGet) {
      allow_ = "GET";
      return Answer(405, "method not allowed\n");
    }
    serve();
  }

  void Data(std::string_view raw_key) {
    if (method_ == Method::kOther) {
      allow_ = "GET, PUT, DELETE";
      return Answer(405, "method not allowed\n");
    }
    auto& req = parser_->get();
    Request r;
    r.protocol = Protocol::kHttp;
    r.method = method_;
    r.key = PercentDecode(raw_key);
    if (method_ == Method::kPut) r.value = std::move(req.body());
    r.client = last_client_.empty() ? peer_ip_ : last_client_;  // this request's
    r.start = start_;
    r.id = ctx_.service().NextRequestId();
    request_id_ = r.id;
    ctx_.service().Handle(std::move(r), stream_.get_executor(),
                          [self = shared_from_this()](Response&& resp) {
                            asio::dispatch(self->stream_.get_executor(),
                                           [self, resp = std::move(resp)]() mutable {
                                             self->AnswerData(std::move(resp));
                                           });
                          });
  }

  void AnswerData(Response&& resp) {
    if (resp.retry_after_s > 0) fmt::format_to(std::back_inserter(extra_), "Retry-After: {}\r\n", resp.retry_after_s);
    fmt::format_to(std::back_inserter(extra_), "X-Request-Id: {}\r\n", request_id_);
    Answer(resp.status, std::move(resp.body));
  }

  void Admin() {
    if (!loopback_) return Answer(403, "admin is served to loopback peers only\n");
    const auto& req = parser_->get();
    std::string_view auth = req[http::field::authorization];
    const std::string want = "Bearer " + ctx_.config().admin_token;
    if (auth != want) {
      extra_ += "WWW-Authenticate: Bearer\r\n";
      return Answer(401, "missing or wrong bearer token\n");
    }
    switch (method_) {
      case Method::kGet:
        break;
      case Method::kPut: {
        auto patch = nlohmann::json::parse(req.body(), nullptr, false);
        std::string error;
        if (patch.is_discarded()) return Answer(400, "body is not valid JSON\n");
        if (!ctx_.service().PatchFaults(patch, &error)) return Answer(400, error + "\n");
        ctx_.logger().Info("faults changed", {{"faults", ctx_.faults().Current().ToJson()}});
        break;
      }
      case Method::kDelete:
        ctx_.service().ClearFaults();
        ctx_.logger().Info("faults cleared");
        break;
      case Method::kOther:
        allow_ = "GET, PUT, DELETE";
        return Answer(405, "method not allowed\n");
    }
    Answer(200, ctx_.faults().Current().ToJson().dump() + "\n", false, "application/json");
  }

  // Writes the answer. The head is formatted here rather than by Beast's
  // serializer: for kvd's small responses that serializer was ~40% of the
  // instructions per request, and a status line plus four fields is simple.
  void Answer(int status, std::string body, bool close = false,
              std::string_view content_type = "text/plain; charset=utf-8") {
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    if (close || closing_) keep_alive_ = false;
    body_ = std::move(body);
    head_.clear();
    auto out = std::back_inserter(head_);
    fmt::format_to(out, "HTTP/1.{} {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                   version == 10 ? 0 : 1, status,
                   std::string_view(http::obsolete_reason(static_cast<http::status>(status))),
                   content_type, body_.size());
    if (!keep_alive_) {
      head_ += "Connection: close\r\n";
    } else if (version == 10) {
      head_ += "Connection: keep-alive\r\n";
    }
    if (!allow_.empty()) {
      fmt::format_to(out, "Allow: {}\r\n", allow_);
      allow_.clear();
    }
    head_ += extra_;
    extra_.clear();
    head_ += "\r\n";
    ctx_.metrics().Count(Protocol::kHttp, route_, method_, status, Clock::now() - start_);
    stream_.expires_after(kWriteTimeout);
    std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_), asio::buffer(body_)};
    asio::async_write(stream_, buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->busy_ = false;
      if (ec || !self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  static constexpr std::string_view kClientIdHeader = "X-Client-Id";

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string head_;   // the answer's status line and fields
  std::string body_;
  std::string extra_;  // more fields for the next answer, each ending in CRLF
  Context& ctx_;
  uint64_t id_ = 0;
  std::string peer_;
  std::string peer_ip_;
  bool loopback_ = false;
  const Clock::time_point opened_;
  const std::chrono::system_clock::time_point opened_wall_;
  std::atomic<uint64_t> requests_{0};
  mutable std::mutex client_mu_;
  std::string client_id_;    // for Describe (other threads), under client_mu_
  std::string last_client_;  // this thread's copy

  // The request being served (one at a time per connection).
  Clock::time_point start_;
  kvd::Route route_ = Route::kUnknown;
  Method method_ = Method::kOther;
  uint64_t request_id_ = 0;
  std::string allow_;
  bool keep_alive_ = true;
  bool busy_ = false;
  bool closing_ = false;
};

}  // namespace

HttpServer::HttpServer(Context& ctx) : ctx_(ctx) {}
HttpServer::~HttpServer() = default;

bool HttpServer::Listen(asio::io_context& ioc, const std::string& address, std::string* error) {
  tcp::endpoint ep;
  if (!ParseEndpoint(address, &ep, error)) return false;
  acceptor_ = std::make_unique<tcp::acceptor>(ioc);
  retry_timer_ = std::make_unique<asio::steady_timer>(ioc);
  boost::system::error_code ec;
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = fmt::format("cannot listen on {}: {}", address, ec.message());
    return false;
  }
  endpoint_ = acceptor_->local_endpoint();
  return true;
}

void HttpServer::Start(std::vector<asio::io_context*> contexts) {
  contexts_ = std::move(contexts);
  Accept();
}

void HttpServer::Accept() {
  if (stopped_) return;
  asio::io_context& target = *contexts_[next_++ % contexts_.size()];
  auto socket = std::make_shared<Socket>(target.get_executor());
  acceptor_->async_accept(*socket, [this, socket](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted || stopped_) return;
    if (ec) {
      // Out of fds (an fd_limit fault) or similar: say so, back off, go on.
      // Spinning on accept would burn the CPU the other connections need.
      ctx_.logger().Warn("accept failed", {{"error", ec.message()}});
      retry_timer_->expires_after(std::chrono::milliseconds(50));
      retry_timer_->async_wait([this](boost::system::error_code e) {
        if (!e) Accept();
      });
      return;
    }
    std::make_shared<HttpSession>(std::move(*socket), ctx_)->Start();
    Accept();
  });
}

void HttpServer::StopAccepting() {
  stopped_ = true;
  asio::post(acceptor_->get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_->close(ec);
    retry_timer_->cancel();
  });
}

}  // namespace kvd
