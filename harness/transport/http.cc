#include "transport/http.h"

#include <curl/curl.h>

#include <unistd.h>

#include <cstring>
#include <unordered_map>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <fmt/format.h>

namespace herd {

namespace asio = boost::asio;

Outcome OutcomeForStatus(long status) {
  if (status >= 200 && status < 300) return Outcome::kOk;
  if (status == 404) return Outcome::kNotFound;
  if (status == 429) return Outcome::kThrottled;
  if (status == 503) return Outcome::kShed;
  if (status >= 500 && status < 600) return Outcome::kServerError;
  if (status >= 400 && status < 500) return Outcome::kClientError;
  return Outcome::kOtherError;
}

namespace {

// libcurl wants curl_global_init once per process before any thread uses
// it: the one global state herd has, because the C library demands it.
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};
void EnsureCurl() { static CurlGlobal global; }

Outcome OutcomeForCurl(CURLcode code, long status, long os_errno) {
  switch (code) {
    case CURLE_OK: return OutcomeForStatus(status);
    case CURLE_OPERATION_TIMEDOUT: return Outcome::kTimeout;
    case CURLE_COULDNT_CONNECT:
      return os_errno == ECONNREFUSED || os_errno == 0 ? Outcome::kRefused : Outcome::kOtherError;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return Outcome::kReset;
    default: return Outcome::kOtherError;
  }
}

std::string Base64(std::string_view in) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(in.size()), '\0');
  out.resize(b64::encode(out.data(), in.data(), in.size()));
  return out;
}

}  // namespace

void ExpandTemplate(std::string_view text, const Attempt& a, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      size_t close = text.find('}', i);
      if (close != std::string_view::npos) {
        std::string_view name = text.substr(i + 1, close - i - 1);
        bool known = true;
        if (name == "key") out->append(a.key);
        else if (name == "value") out->append(a.value);
        else if (name == "key_b64") out->append(Base64(a.key));
        else if (name == "value_b64") out->append(Base64(a.value));
        else if (name == "instance") out->append(std::to_string(a.instance));
        else if (name == "seq") out->append(std::to_string(a.seq));
        else known = false;
        if (known) {
          i = close + 1;
          continue;
        }
      }
    }
    out->push_back(text[i++]);
  }
}

class HttpTransport::Impl {
 public:
  Impl(asio::io_context& ioc, Scheduler& scheduler, const HttpTargetSpec& spec)
      : ioc_(ioc), scheduler_(scheduler), spec_(spec), timer_(ioc) {
    EnsureCurl();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::SocketCallback);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::TimerCallback);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    if (spec_.shared_pool) {
      curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(spec_.pool_size));
    }
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 100000L);
  }

  ~Impl() {
    timer_.cancel();
    for (auto& t : transfers_) {
      if (t->active) curl_multi_remove_handle(multi_, t->easy);
    }
    // Closes the cached connections through CloseSocket, while sockets_ lives.
    curl_multi_cleanup(multi_);
    for (auto& t : transfers_) {
      curl_slist_free_all(t->headers);
      curl_easy_cleanup(t->easy);
    }
    for (auto& [fd, s] : sockets_) s->descriptor.release();
  }

  void SetSink(AttemptSink* sink) { sink_ = sink; }
  int64_t in_flight() const { return active_; }

  void Send(const Attempt& a);

 private:
  struct Transfer {
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    uint64_t cookie = 0;
    std::string url;
    std::string body;
    std::string scratch;
    std::string client_header;
    std::optional<Duration> pushback;
    bool active = false;
    uint32_t index = 0;
  };
  struct Socket {
    explicit Socket(asio::io_context& ioc, int fd) : descriptor(ioc, fd) {}
    asio::posix::stream_descriptor descriptor;
    int want = 0;     // CURL_POLL_IN / OUT / INOUT
    uint64_t id = 0;  // fds are reused: a wait checks it still has its socket
    bool reading = false, writing = false;
  };

  static int SocketCallback(CURL*, curl_socket_t fd, int what, void* userp, void*);
  static int TimerCallback(CURLM*, long timeout_ms, void* userp);
  static int CloseSocket(void* userp, curl_socket_t fd);
  static size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }
  static size_t OnHeader(char* data, size_t size, size_t n, void* userp);

  Transfer& Acquire();
  void Watch(int fd, Socket& s);
  void Action(int fd, int events);
  void Completed();

  asio::io_context& ioc_;
  Scheduler& scheduler_;
  HttpTargetSpec spec_;
  CURLM* multi_ = nullptr;
  AttemptSink* sink_ = nullptr;
  asio::steady_timer timer_;
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::vector<uint32_t> free_;
  std::unordered_map<int, std::unique_ptr<Socket>> sockets_;
  int64_t active_ = 0;
  size_t next_replica_ = 0;
  uint64_t next_socket_id_ = 0;
  bool timer_armed_ = false;
  bool zero_timeout_posted_ = false;
};

HttpTransport::Impl::Transfer& HttpTransport::Impl::Acquire() {
  if (!free_.empty()) {
    Transfer& t = *transfers_[free_.back()];
    free_.pop_back();
    return t;
  }
  auto t = std::make_unique<Transfer>();
  t->index = static_cast<uint32_t>(transfers_.size());
  t->easy = curl_easy_init();
  // Options that never change: set once per handle, which is reused.
  curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(t->easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, &Impl::Discard);
  curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(t->easy, CURLOPT_PROXY, "");  // never through a proxy from the environment
  curl_easy_setopt(t->easy, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(t->easy, CURLOPT_CLOSESOCKETFUNCTION, &Impl::CloseSocket);
  curl_easy_setopt(t->easy, CURLOPT_CLOSESOCKETDATA, this);
  transfers_.push_back(std::move(t));
  return *transfers_.back();
}

size_t HttpTransport::Impl::OnHeader(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string value(line.substr(kName.size()));
    char* end = nullptr;
    double seconds = std::strtod(value.c_str(), &end);
    if (end != value.c_str()) t->pushback = Duration(static_cast<int64_t>(seconds * 1e9));
  }
  return size * n;
}

void HttpTransport::Impl::Send(const Attempt& a) {
  Transfer& t = Acquire();
  t.cookie = a.cookie;
  t.pushback.reset();
  const std::string& base = spec_.base_urls[next_replica_++ % spec_.base_urls.size()];
  CURL* e = t.easy;
  curl_slist_free_all(t.headers);
  t.headers = nullptr;
  if (a.request) {
    // A target other than kvd: the scenario's own request, filled in.
    ExpandTemplate(a.request->path, a, &t.scratch);
    t.url.assign(base);
    t.url += t.scratch;
    curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
    ExpandTemplate(a.request->body, a, &t.body);
    if (a.request->method == "GET" && t.body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, nullptr);
    } else {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.body.size()));
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, a.request->method.c_str());
    }
    for (const auto& [name, value] : a.request->headers) {
      ExpandTemplate(value, a, &t.scratch);
      t.headers = curl_slist_append(t.headers, (name + ": " + t.scratch).c_str());
    }
  } else {
    t.url.assign(base);
    t.url += "/v1/";
    t.url += a.key;
    curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
  }
  switch (a.request ? Op::kGet : a.op) {
    case Op::kGet:
      if (a.request) break;  // set above
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, nullptr);
      break;
    case Op::kPut:
      t.body.assign(a.value);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.body.size()));
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
      break;
    case Op::kDelete:
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
  }
  t.client_header.assign("X-Client-Id: ");
  t.client_header += a.client_id;
  t.headers = curl_slist_append(t.headers, t.client_header.c_str());
  t.headers = curl_slist_append(t.headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(a.timeout).count());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, a.timeout.count() > 0 ? std::max(1L, ms) : 0L);
  t.active = true;
  ++active_;
  curl_multi_add_handle(multi_, e);
}

int HttpTransport::Impl::TimerCallback(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<Impl*>(userp);
  if (self->timer_armed_) {
    self->timer_.cancel();
    self->timer_armed_ = false;
  }
  if (timeout_ms < 0) return 0;
  if (timeout_ms == 0) {
    // libcurl asks for "now" after every curl_multi_add_handle. Arming a
    // kernel timer for that cost a timerfd_settime pair per request (18% of
    // herd's CPU under load); a posted call does the same for nothing.
    if (!self->zero_timeout_posted_) {
      self->zero_timeout_posted_ = true;
      asio::post(self->ioc_, [self] {
        self->zero_timeout_posted_ = false;
        self->Action(CURL_SOCKET_TIMEOUT, 0);
      });
    }
    return 0;
  }
  self->timer_armed_ = true;
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([self](const boost::system::error_code& ec) {
    if (ec) return;
    self->timer_armed_ = false;
    self->Action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

int HttpTransport::Impl::SocketCallback(CURL*, curl_socket_t fd, int what, void* userp, void*) {
  auto* self = static_cast<Impl*>(userp);
  auto it = self->sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    // libcurl stops watching a kept-alive connection after every transfer
    // and watches it again for the next. Keeping the descriptor registered
    // (only the waits are cancelled) saves an epoll add/mod/del per request;
    // it is dropped when libcurl really closes the socket (CloseSocket).
    if (it != self->sockets_.end()) {
      it->second->want = 0;
      it->second->descriptor.cancel();
    }
    return 0;
  }
  if (it == self->sockets_.end()) {
    it = self->sockets_.emplace(fd, std::make_unique<Socket>(self->ioc_, fd)).first;
    it->second->id = ++self->next_socket_id_;
  }
  Socket& s = *it->second;
  s.want = what;
  self->Watch(fd, s);
  return 0;
}

int HttpTransport::Impl::CloseSocket(void* userp, curl_socket_t fd) {
  auto* self = static_cast<Impl*>(userp);
  auto it = self->sockets_.find(fd);
  if (it != self->sockets_.end()) {
    it->second->descriptor.cancel();
    it->second->descriptor.release();  // deregisters; the close is ours below
    self->sockets_.erase(it);
  }
  return ::close(fd);
}

void HttpTransport::Impl::Watch(int fd, Socket& s) {
  auto wait = [this, fd, id = s.id](asio::posix::stream_descriptor::wait_type type, int event) {
    return [this, fd, id, type, event](const boost::system::error_code& ec) {
      auto it = sockets_.find(fd);
      if (it == sockets_.end() || it->second->id != id) return;  // closed meanwhile
      (type == asio::posix::stream_descriptor::wait_read ? it->second->reading
                                                         : it->second->writing) = false;
      if (ec && ec != asio::error::operation_aborted) return;
      // A wait cancelled by CURL_POLL_REMOVE may run after libcurl already
      // wants the socket again (the next transfer on the same connection):
      // then it must wait anew, or nothing would.
      if (!ec) Action(fd, event);
      auto again = sockets_.find(fd);
      if (again != sockets_.end() && again->second->id == id) Watch(fd, *again->second);
    };
  };
  if ((s.want & CURL_POLL_IN) && !s.reading) {
    s.reading = true;
    s.descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                            wait(asio::posix::stream_descriptor::wait_read, CURL_CSELECT_IN));
  }
  if ((s.want & CURL_POLL_OUT) && !s.writing) {
    s.writing = true;
    s.descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                            wait(asio::posix::stream_descriptor::wait_write, CURL_CSELECT_OUT));
  }
}

void HttpTransport::Impl::Action(int fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  Completed();
}

void HttpTransport::Impl::Completed() {
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &pending)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* e = msg->easy_handle;
    Transfer* t = nullptr;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &t);
    long status = 0, os_errno = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
    AttemptResult r;
    r.outcome = OutcomeForCurl(msg->data.result, status, os_errno);
    if (r.outcome == Outcome::kThrottled || r.outcome == Outcome::kShed) r.pushback = t->pushback;
    curl_multi_remove_handle(multi_, e);
    t->active = false;
    --active_;
    free_.push_back(t->index);
    sink_->OnAttemptDone(t->cookie, r);
  }
}

HttpTransport::HttpTransport(asio::io_context& ioc, Scheduler& scheduler, const HttpTargetSpec& spec)
    : impl_(std::make_unique<Impl>(ioc, scheduler, spec)) {}
HttpTransport::~HttpTransport() = default;
void HttpTransport::SetSink(AttemptSink* sink) { impl_->SetSink(sink); }
void HttpTransport::Send(const Attempt& a) { impl_->Send(a); }
int64_t HttpTransport::in_flight() const { return impl_->in_flight(); }

}  // namespace herd
