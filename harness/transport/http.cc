#include "transport/http.h"

#include <curl/curl.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <fmt/format.h>

#include "transport/http_call.h"
#include "transport/replicas.h"

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

void AppendBase64(std::string_view in, std::string* out) {
  namespace b64 = boost::beast::detail::base64;
  const size_t at = out->size();
  out->resize(at + b64::encoded_size(in.size()));
  out->resize(at + b64::encode(out->data() + at, in.data(), in.size()));
}

void AppendNumber(uint64_t n, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, end);
}

// ExpandTemplate without the clear: appends to *out (no allocation once
// *out has grown to the size the template needs).
void AppendTemplate(std::string_view text, const Attempt& a, std::string* out) {
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '{') {
      size_t close = text.find('}', i);
      if (close != std::string_view::npos) {
        std::string_view name = text.substr(i + 1, close - i - 1);
        bool known = true;
        if (name == "key") out->append(a.key);
        else if (name == "value") out->append(a.value);
        else if (name == "key_b64") AppendBase64(a.key, out);
        else if (name == "value_b64") AppendBase64(a.value, out);
        else if (name == "instance") AppendNumber(a.instance, out);
        else if (name == "seq") AppendNumber(a.seq, out);
        else known = false;
        if (known) {
          i = close + 1;
          continue;
        }
      }
    }
    // Plain text up to the next brace in one go.
    size_t next = text.find('{', i + 1);
    if (next == std::string_view::npos) next = text.size();
    out->append(text.data() + i, next - i);
    i = next;
  }
}

constexpr std::string_view kClientIdPrefix = "X-Client-Id: ";
const std::string kPut = "PUT";
const std::string kDelete = "DELETE";

}  // namespace

void ExpandTemplate(std::string_view text, const Attempt& a, std::string* out) {
  out->clear();
  AppendTemplate(text, a, out);
}

// Where the CPU goes (a closed loop against nginx on loopback): most of it
// is libcurl's own work per transfer and the kernel's loopback send. What
// this class adds is kept to a minimum:
//  - libcurl's sockets are watched with an epoll set of our own, level-
//    triggered, registered once per connection and changed only when what
//    libcurl wants changes (a kept-alive connection: never). Asio waits on
//    that one epoll descriptor. An Asio wait per socket cost an epoll_ctl
//    per request (Boost.Asio re-arms the descriptor on every async_wait);
//    now it is one epoll_ctl and one epoll_wait per batch of ready sockets.
//  - libcurl's "call me now" after each curl_multi_add_handle is served at
//    the end of the current batch (one curl_multi_socket_action for all the
//    attempts the batch started) or by a posted call, never a kernel timer.
//  - the timer for libcurl's real deadlines (the attempts' timeouts) is not
//    moved later when a deadline goes away: it fires early, sees that
//    libcurl's latest deadline is not due and waits again. It was re-armed
//    (a timerfd_settime) at nearly every completion.
//  - libcurl parses each transfer's URL anew (with curl_url_get, a fifth
//    of its instructions per request). A replica's base URL is parsed once
//    (CURLOPT_CURLU) and the path goes as CURLOPT_REQUEST_TARGET, when that
//    makes the same request (a path libcurl would send as it is).
//  - per attempt, only the easy options that differ from what the handle
//    already has are set; the header list is the handle's own nodes and
//    lines, rewritten in place; nothing is allocated once they have grown.
//  - CURLOPT_NOPROXY "*" spares libcurl two getenv calls per transfer.
class HttpTransport::Impl {
 public:
  Impl(asio::io_context& ioc, Scheduler& scheduler, const HttpTargetSpec& spec)
      : ioc_(ioc), scheduler_(scheduler), spec_(spec), timer_(ioc),
        epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), epoll_(ioc) {
    if (epoll_fd_ < 0) throw std::runtime_error(fmt::format("epoll_create1: {}", std::strerror(errno)));
    epoll_.assign(epoll_fd_);
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
    for (const std::string& base : spec_.base_urls) base_uh_.push_back(ParseBase(base));
  }

  ~Impl() {
    timer_.cancel();
    for (auto& t : transfers_) {
      if (t->active) curl_multi_remove_handle(multi_, t->easy);
    }
    // Closes the cached connections through CloseSocket, while the epoll
    // set lives.
    curl_multi_cleanup(multi_);
    for (auto& t : transfers_) curl_easy_cleanup(t->easy);
    for (CURLU* u : base_uh_) curl_url_cleanup(u);
    boost::system::error_code ignored;
    epoll_.close(ignored);  // the pending wait, if any, ends operation_aborted
  }

  void SetSink(AttemptSink* sink) { sink_ = sink; }
  int64_t in_flight() const { return active_; }

  void Send(const Attempt& a);

 private:
  using Clock = std::chrono::steady_clock;

  struct Transfer {
    CURL* easy = nullptr;
    uint64_t cookie = 0;
    std::optional<Duration> pushback;
    bool active = false;
    uint32_t index = 0;
    // What the handle is set to: libcurl keeps options across transfers, so
    // an attempt sets only what differs from its handle's previous one.
    std::string url;       // last CURLOPT_URL (libcurl keeps its own copy)
    std::string next_url;  // built here, swapped with url when it differs
    // Or: the replica's parsed base URL (CURLOPT_CURLU) and the request
    // target (CURLOPT_REQUEST_TARGET), when that gives the same request.
    int base_set = -1;       // replica whose CURLU is set, -1: none
    bool target_set = false;
    std::string target;
    std::string body;      // CURLOPT_POSTFIELDS points into it
    bool method_set = false;
    bool post = false;     // POSTFIELDS in effect (else HTTPGET)
    const char* post_data = nullptr;
    size_t post_size = 0;
    bool custom_set = false;  // CURLOPT_CUSTOMREQUEST is custom (else null)
    std::string custom;
    long timeout_ms = -1;
    // The header list: the template's headers, X-Client-Id, "Expect:".
    // Nodes and lines are the handle's own, rewritten in place; both only
    // grow (a mix of templates with different header counts allocates
    // nothing once each has been seen).
    std::vector<std::string> lines;
    std::vector<curl_slist> nodes;
    curl_slist* headers_set = nullptr;  // last CURLOPT_HTTPHEADER
    std::string retry_after;            // scratch for a long Retry-After
  };
  // One per fd libcurl has us watch (indexed by fd).
  struct SocketState {
    uint32_t gen = 0;        // of the registration; stale epoll events carry an older one
    uint8_t want = 0;        // CURL_POLL_IN / OUT / INOUT, 0 = not watched
    uint32_t armed = 0;      // EPOLLIN / EPOLLOUT in the epoll set
    bool registered = false;
  };

  static int SocketCallback(CURL*, curl_socket_t fd, int what, void* userp, void*);
  static int TimerCallback(CURLM*, long timeout_ms, void* userp);
  static int CloseSocket(void* userp, curl_socket_t fd);
  static size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }
  static size_t OnHeader(char* data, size_t size, size_t n, void* userp);
  static uint32_t EpollMask(int want) {
    return ((want & CURL_POLL_IN) ? EPOLLIN : 0u) | ((want & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  }

  static CURLU* ParseBase(const std::string& base);
  static bool PlainTarget(std::string_view path);
  Transfer& Acquire();
  void SetHeaders(Transfer& t, const Attempt& a);
  void SetMethod(Transfer& t, bool post, const std::string* custom);
  void Register(int fd, SocketState& s, uint32_t mask);
  void Narrow(int fd, SocketState& s);
  void WaitEpoll();
  void OnEpoll();
  void ArmTimer(Clock::time_point at);
  void OnTimer();
  void RunNow();
  void Action(int fd, int events);
  void Completed();

  asio::io_context& ioc_;
  Scheduler& scheduler_;
  HttpTargetSpec spec_;
  CURLM* multi_ = nullptr;
  AttemptSink* sink_ = nullptr;
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::vector<uint32_t> free_;
  // Per replica: its base URL parsed once (null when it has more than
  // scheme://host:port, and the whole URL is set per attempt).
  std::vector<CURLU*> base_uh_;
  int64_t active_ = 0;
  ReplicaPicker replicas_{spec_.base_urls.size()};

 public:
  void SetReplicaReady(size_t replica, bool ready) { replicas_.SetReady(replica, ready); }

  // libcurl's timer: its latest deadline, and the one the Asio timer is
  // armed for (which may be earlier).
  asio::steady_timer timer_;
  bool timer_armed_ = false;
  Clock::time_point armed_at_{};
  bool has_deadline_ = false;
  Clock::time_point deadline_{};
  uint64_t timer_calls_ = 0;
  bool now_pending_ = false;  // libcurl asked for a call "now"
  bool now_posted_ = false;

  // The epoll set of libcurl's sockets, watched by Asio as one descriptor.
  int epoll_fd_ = -1;
  asio::posix::stream_descriptor epoll_;
  bool epoll_waiting_ = false;
  bool in_dispatch_ = false;
  int64_t registered_ = 0;
  uint32_t next_gen_ = 0;
  std::vector<SocketState> sockets_;
};

// A base URL of only scheme://host[:port] is parsed once, with the flags
// libcurl itself parses CURLOPT_URL with; anything more (a path, a query,
// user info) keeps the whole URL per attempt.
CURLU* HttpTransport::Impl::ParseBase(const std::string& base) {
  const size_t scheme_end = base.find("://");
  if (scheme_end == std::string::npos) return nullptr;
  if (base.find_first_of("/?#@\\", scheme_end + 3) != std::string::npos) return nullptr;
  CURLU* u = curl_url();
  if (!u) return nullptr;
  if (curl_url_set(u, CURLUPART_URL, base.c_str(), CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    curl_url_cleanup(u);
    return nullptr;
  }
  return u;
}

// A path libcurl would send exactly as given (no dot segments to remove,
// nothing to percent-encode, no query or fragment to split off).
bool HttpTransport::Impl::PlainTarget(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  char prev = '\0';
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '~' || (c == '/' && prev != '/') || (c == '.' && prev != '/');
    if (!ok) return false;
    prev = c;
  }
  return true;
}

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
  // ... and no proxy for any host, which also spares libcurl reading
  // no_proxy and NO_PROXY from the environment at every transfer.
  curl_easy_setopt(t->easy, CURLOPT_NOPROXY, "*");
  // HTTP/1.1, said outright, and no PIPEWAIT: with PIPEWAIT, libcurl holds
  // a new transfer back while a connection it might multiplex on has not
  // answered yet, so behind a stalled or fresh connection attempts queued
  // and their timeouts fired late (seen through a blackhole fault).
  curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(t->easy, CURLOPT_CLOSESOCKETFUNCTION, &Impl::CloseSocket);
  curl_easy_setopt(t->easy, CURLOPT_CLOSESOCKETDATA, this);
  t->url.reserve(128);
  t->next_url.reserve(128);
  transfers_.push_back(std::move(t));
  return *transfers_.back();
}

size_t HttpTransport::Impl::OnHeader(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  std::string_view line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size() && (line[0] | 0x20) == 'r' &&
      strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string_view rest = line.substr(kName.size());
    char buf[64];
    const char* text = buf;
    if (rest.size() < sizeof buf) {
      std::memcpy(buf, rest.data(), rest.size());
      buf[rest.size()] = '\0';
    } else {
      t->retry_after.assign(rest);
      text = t->retry_after.c_str();
    }
    char* end = nullptr;
    double seconds = std::strtod(text, &end);
    if (end != text) t->pushback = Duration(static_cast<int64_t>(seconds * 1e9));
  }
  return size * n;
}

// post: CURLOPT_POSTFIELDS (t.body) and POSTFIELDSIZE, else CURLOPT_HTTPGET;
// then CURLOPT_CUSTOMREQUEST (null: none). Only what changed is set.
void HttpTransport::Impl::SetMethod(Transfer& t, bool post, const std::string* custom) {
  CURL* e = t.easy;
  const bool same_kind = t.method_set && t.post == post;
  if (post) {
    if (!same_kind || t.post_data != t.body.data()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.body.data());
      t.post_data = t.body.data();
    }
    if (!same_kind || t.post_size != t.body.size()) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.body.size()));
      t.post_size = t.body.size();
    }
  } else if (!same_kind) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  }
  t.method_set = true;
  t.post = post;
  if (custom) {
    if (!t.custom_set || t.custom != *custom) {
      t.custom.assign(*custom);
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t.custom.c_str());
      t.custom_set = true;
    }
  } else if (t.custom_set) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, nullptr);
    t.custom_set = false;
  }
}

void HttpTransport::Impl::SetHeaders(Transfer& t, const Attempt& a) {
  const size_t extra = a.request ? a.request->headers.size() : 0;
  const size_t count = extra + 2;
  if (t.lines.size() < count) t.lines.resize(count);
  if (t.nodes.size() < count) t.nodes.resize(count);
  size_t i = 0;
  if (a.request) {
    for (const auto& [name, value] : a.request->headers) {
      std::string& line = t.lines[i++];
      line.assign(name);
      line.append(": ");
      AppendTemplate(value, a, &line);
    }
  }
  std::string& client = t.lines[i++];
  client.assign(kClientIdPrefix);
  client.append(a.client_id);
  t.lines[i++].assign("Expect:");
  for (size_t k = 0; k < count; ++k) {
    t.nodes[k].data = t.lines[k].data();
    t.nodes[k].next = k + 1 < count ? &t.nodes[k + 1] : nullptr;
  }
  if (t.headers_set != t.nodes.data()) {
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, t.nodes.data());
    t.headers_set = t.nodes.data();
  }
}

void HttpTransport::Impl::Send(const Attempt& a) {
  Transfer& t = Acquire();
  t.cookie = a.cookie;
  t.pushback.reset();
  const size_t replica = replicas_.Next();
  const std::string& base = spec_.base_urls[replica];
  CURL* e = t.easy;
  t.next_url.assign(base);
  const size_t path_at = t.next_url.size();
  if (a.request) {
    // A target other than kvd: the scenario's own request, filled in.
    AppendTemplate(a.request->path, a, &t.next_url);
    ExpandTemplate(a.request->body, a, &t.body);
    if (a.request->method == "GET" && t.body.empty()) {
      SetMethod(t, false, nullptr);
    } else {
      SetMethod(t, true, &a.request->method);
    }
  } else {
    t.next_url += "/v1/";
    t.next_url += a.key;
    switch (a.op) {
      case Op::kGet: SetMethod(t, false, nullptr); break;
      case Op::kPut:
        t.body.assign(a.value);
        SetMethod(t, true, &kPut);
        break;
      case Op::kDelete: SetMethod(t, false, &kDelete); break;
    }
  }
  const std::string_view path = std::string_view(t.next_url).substr(path_at);
  if (base_uh_[replica] && PlainTarget(path)) {
    // The same request line and Host header as from the whole URL, without
    // libcurl parsing it.
    if (t.base_set != static_cast<int>(replica)) {
      t.url.assign(base);
      curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());  // what libcurl reports as the URL
      curl_easy_setopt(e, CURLOPT_CURLU, base_uh_[replica]);
      t.base_set = static_cast<int>(replica);
    }
    if (!t.target_set || t.target != path) {
      t.target.assign(path);
      curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, t.target.c_str());
      t.target_set = true;
    }
  } else {
    if (t.base_set >= 0) {
      curl_easy_setopt(e, CURLOPT_CURLU, nullptr);
      t.base_set = -1;
      t.url.clear();
    }
    if (t.target_set) {
      curl_easy_setopt(e, CURLOPT_REQUEST_TARGET, nullptr);
      t.target_set = false;
    }
    if (t.next_url != t.url) {
      t.url.swap(t.next_url);
      curl_easy_setopt(e, CURLOPT_URL, t.url.c_str());
    }
  }
  SetHeaders(t, a);
  long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(a.timeout).count());
  ms = a.timeout.count() > 0 ? std::max(1L, ms) : 0L;
  if (ms != t.timeout_ms) {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
    t.timeout_ms = ms;
  }
  t.active = true;
  ++active_;
  curl_multi_add_handle(multi_, e);
}

// ---- libcurl's timer ---------------------------------------------------

int HttpTransport::Impl::TimerCallback(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<Impl*>(userp);
  ++self->timer_calls_;
  if (timeout_ms < 0) {
    self->has_deadline_ = false;
    if (self->timer_armed_) {
      self->timer_.cancel();
      self->timer_armed_ = false;
    }
    return 0;
  }
  self->has_deadline_ = true;
  if (timeout_ms == 0) {
    // libcurl asks for "now" after every curl_multi_add_handle: served at
    // the end of the batch being dispatched, or by a posted call (a kernel
    // timer for it cost a timerfd_settime pair per request).
    self->deadline_ = Clock::time_point::min();
    self->RunNow();
    return 0;
  }
  self->deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // An armed timer that fires no later is kept: when it fires early it
  // waits again for the deadline libcurl gave last. Moving it later at
  // every completion (whose attempt had the earliest timeout) cost a
  // timerfd_settime per request.
  if (self->timer_armed_ && self->armed_at_ <= self->deadline_) return 0;
  self->ArmTimer(self->deadline_);
  return 0;
}

void HttpTransport::Impl::RunNow() {
  now_pending_ = true;
  if (in_dispatch_ || now_posted_) return;  // OnEpoll runs it before returning
  now_posted_ = true;
  asio::post(ioc_, [this] {
    now_posted_ = false;
    if (!now_pending_) return;
    now_pending_ = false;
    Action(CURL_SOCKET_TIMEOUT, 0);
  });
}

void HttpTransport::Impl::ArmTimer(Clock::time_point at) {
  timer_armed_ = true;
  armed_at_ = at;
  timer_.expires_at(at);  // cancels a pending wait: it completes operation_aborted
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed or cancelled (also when this is gone)
    timer_armed_ = false;
    OnTimer();
  });
}

void HttpTransport::Impl::OnTimer() {
  if (!has_deadline_) return;
  const Clock::time_point now = Clock::now();
  if (now < deadline_) {
    ArmTimer(deadline_);  // fired early: libcurl's deadline moved later meanwhile
    return;
  }
  const uint64_t calls = timer_calls_;
  Action(CURL_SOCKET_TIMEOUT, 0);
  // libcurl reports its next deadline after a timeout action (even an
  // unchanged one); should it not have, ask rather than lose the timer.
  if (timer_calls_ == calls && !timer_armed_) {
    long ms = -1;
    curl_multi_timeout(multi_, &ms);
    if (ms >= 0) {
      has_deadline_ = true;
      deadline_ = Clock::now() + std::chrono::milliseconds(std::max(1L, ms));
      ArmTimer(deadline_);
    }
  }
}

// ---- libcurl's sockets -------------------------------------------------

int HttpTransport::Impl::SocketCallback(CURL*, curl_socket_t fd, int what, void* userp, void*) {
  auto* self = static_cast<Impl*>(userp);
  if (fd < 0) return 0;
  if (static_cast<size_t>(fd) >= self->sockets_.size()) self->sockets_.resize(static_cast<size_t>(fd) + 64);
  SocketState& s = self->sockets_[static_cast<size_t>(fd)];
  if (what == CURL_POLL_REMOVE) {
    // libcurl stops watching a kept-alive connection after every transfer
    // and watches it again for the next. It stays in the epoll set; should
    // it become ready while unwatched, Narrow takes it out then.
    s.want = 0;
    return 0;
  }
  s.want = static_cast<uint8_t>(what & CURL_POLL_INOUT);
  const uint32_t mask = EpollMask(what);
  if (!s.registered || (mask & ~s.armed) != 0) self->Register(fd, s, mask);
  if (!self->in_dispatch_) self->WaitEpoll();
  return 0;
}

void HttpTransport::Impl::Register(int fd, SocketState& s, uint32_t mask) {
  epoll_event ev{};
  ev.events = mask;
  if (!s.registered) {
    s.gen = ++next_gen_;
    ev.data.u64 = (static_cast<uint64_t>(s.gen) << 32) | static_cast<uint32_t>(fd);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
    }
    s.registered = true;
    ++registered_;
  } else {
    ev.data.u64 = (static_cast<uint64_t>(s.gen) << 32) | static_cast<uint32_t>(fd);
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  s.armed = mask;
}

// The epoll set is level-triggered: readiness nobody wants would be
// reported again and again. Keep only what libcurl wants (nothing: out).
void HttpTransport::Impl::Narrow(int fd, SocketState& s) {
  const uint32_t mask = EpollMask(s.want);
  if (mask == 0) {
    epoll_event ev{};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
    s.registered = false;
    s.armed = 0;
    --registered_;
  } else {
    Register(fd, s, mask);
  }
}

int HttpTransport::Impl::CloseSocket(void* userp, curl_socket_t fd) {
  auto* self = static_cast<Impl*>(userp);
  if (fd >= 0 && static_cast<size_t>(fd) < self->sockets_.size()) {
    SocketState& s = self->sockets_[static_cast<size_t>(fd)];
    if (s.registered) {
      epoll_event ev{};
      ::epoll_ctl(self->epoll_fd_, EPOLL_CTL_DEL, fd, &ev);
      s.registered = false;
      --self->registered_;
    }
    s.want = 0;
    s.armed = 0;
  }
  return ::close(fd);
}

void HttpTransport::Impl::WaitEpoll() {
  if (epoll_waiting_ || registered_ == 0) return;
  epoll_waiting_ = true;
  epoll_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (ec) return;  // closed (also when this is gone)
    epoll_waiting_ = false;
    OnEpoll();
  });
}

void HttpTransport::Impl::OnEpoll() {
  constexpr int kMaxEvents = 256;  // more stay ready for the next round
  epoll_event events[kMaxEvents];
  const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, 0);
  in_dispatch_ = true;
  for (int i = 0; i < n; ++i) {
    const int fd = static_cast<int>(static_cast<uint32_t>(events[i].data.u64));
    const auto gen = static_cast<uint32_t>(events[i].data.u64 >> 32);
    if (static_cast<size_t>(fd) >= sockets_.size()) continue;
    SocketState& s = sockets_[static_cast<size_t>(fd)];
    // Closed (and perhaps reopened) by an earlier action of this batch.
    if (!s.registered || s.gen != gen) continue;
    const uint32_t ev = events[i].events;
    // As an Asio wait would: an error or hang-up completes both waits.
    int ready = 0;
    if (ev & (EPOLLERR | EPOLLHUP)) ready = CURL_CSELECT_IN | CURL_CSELECT_OUT;
    if (ev & EPOLLIN) ready |= CURL_CSELECT_IN;
    if (ev & EPOLLOUT) ready |= CURL_CSELECT_OUT;
    const int act = ready & s.want;
    const bool unwanted = ((ev & EPOLLIN) && !(s.want & CURL_POLL_IN)) ||
                          ((ev & EPOLLOUT) && !(s.want & CURL_POLL_OUT)) ||
                          ((ev & (EPOLLERR | EPOLLHUP)) && s.want == 0);
    if (unwanted) Narrow(fd, s);
    if (act) Action(fd, act);
  }
  // The attempts this batch started (Completed -> the engine -> Send), in
  // one go.
  if (now_pending_) {
    now_pending_ = false;
    Action(CURL_SOCKET_TIMEOUT, 0);
  }
  in_dispatch_ = false;
  if (now_pending_) RunNow();
  WaitEpoll();
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
    long status = 0, os_errno = 0;  // asked for only where OutcomeForCurl looks at them
    if (msg->data.result == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (msg->data.result == CURLE_COULDNT_CONNECT) curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
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
void HttpTransport::SetReplicaReady(size_t replica, bool ready) { impl_->SetReplicaReady(replica, ready); }

}  // namespace herd
