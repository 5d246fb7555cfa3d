// The fault proxy: one io_context on one thread; per connection a client
// socket, an upstream socket and two pumps (up: client -> upstream, down:
// upstream -> client).
//
// A pump reads a chunk into a pooled 16 KiB buffer, turns it into a plan by
// passing it through the TCP faults of its direction in the order they were
// added (pieces to write, each after a gap, maybe ending in a reset or a
// close; a latency sets when the chunk may start: read time + latency), and
// queues it; a writer works through the queue in order. Reading runs up to
// 16 chunks ahead of writing, so a latency delays every chunk without
// capping throughput. With no fault the plan is the chunk itself; buffers
// and plans are reused, nothing is allocated per chunk.
//
// HTTP faults: while at least one is installed, the up pump copies what it
// reads into `pending_` and feeds a discarding Beast request parser, which
// finds where each request's header and message end. Consumed bytes are
// forwarded only once the request's fate is decided (at the end of its
// header), so nothing is reordered or lost: bytes of a forwarded request go
// out in order, bytes of an http_error request are dropped and answered by
// the proxy. In this mode the up pump is serial (read, forward, read). The
// proxy's answer and the down pump's writes share the client socket under
// a small two-party lock, so they never interleave.
//
// Parsing starts at a point known to be a request boundary: the first byte
// of the connection, or the first client bytes after the upstream has sent
// something (client and server take turns on an unpipelined connection).
// Anything the parser rejects (not HTTP/1.x, a parse error) is copied raw
// from there on, nothing dropped.
//
// Details the header leaves open: reset/limit_data `bytes` are counted per
// direction (with kBoth each direction has its own count); limit_data and
// down close with a plain close (FIN, though the kernel sends RST if unread
// data is left in the socket); a removed fault releases what it holds at
// once (Toxiproxy does the same); the answer of http_error does not pass
// through the down-direction TCP faults; when several HTTP faults fire for
// one request the first http_error wins and http_delay draws add up.
#include "fault/proxy.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <fmt/format.h>

#include "common/rng.h"

namespace herd {

namespace {

struct KindName {
  ProxyFault::Kind kind;
  const char* name;
};

constexpr KindName kKindNames[] = {
    {ProxyFault::Kind::kLatency, "latency"},       {ProxyFault::Kind::kBandwidth, "bandwidth"},
    {ProxyFault::Kind::kReset, "reset"},           {ProxyFault::Kind::kBlackhole, "blackhole"},
    {ProxyFault::Kind::kSlowClose, "slow_close"},  {ProxyFault::Kind::kSlicer, "slicer"},
    {ProxyFault::Kind::kLimitData, "limit_data"},  {ProxyFault::Kind::kHttpError, "http_error"},
    {ProxyFault::Kind::kHttpDelay, "http_delay"},
};

}  // namespace

bool ParseProxyFaultKind(const std::string& name, ProxyFault::Kind* kind) {
  for (const auto& k : kKindNames) {
    if (name == k.name) {
      *kind = k.kind;
      return true;
    }
  }
  return false;
}

const char* ProxyFaultKindName(ProxyFault::Kind kind) {
  for (const auto& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

// Not in an anonymous namespace: Proxy::Impl derives from Core.
namespace proxy_internal {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr size_t kBufferSize = 16 * 1024;
constexpr int kUp = 0;
constexpr int kDown = 1;

static std::string LowerFirst(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

static bool SplitHostPort(const std::string& text, std::string* host, unsigned short* port,
                          std::string* error) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    *error = fmt::format("{}: expected host:port", text);
    return false;
  }
  std::string h = text.substr(0, colon);
  std::string p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty() || h == "localhost") h = "127.0.0.1";
  char* end = nullptr;
  long n = std::strtol(p.c_str(), &end, 10);
  if (p.empty() || *end != '\0' || n < 0 || n > 65535) {
    *error = fmt::format("{}: \"{}\" is not a port number", text, p);
    return false;
  }
  *host = h;
  *port = static_cast<unsigned short>(n);
  return true;
}

static bool ParseListen(const std::string& text, tcp::endpoint* out, std::string* error) {
  std::string host;
  unsigned short port = 0;
  if (!SplitHostPort(text, &host, &port, error)) return false;
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    *error = fmt::format("{}: \"{}\" is not an IP address", text, host);
    return false;
  }
  *out = tcp::endpoint(addr, port);
  return true;
}

// An IP address, or a name resolved now (on the calling thread).
static bool ResolveUpstream(const std::string& text, std::vector<tcp::endpoint>* out, std::string* error) {
  out->clear();
  std::string host;
  unsigned short port = 0;
  if (!SplitHostPort(text, &host, &port, error)) return false;
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) {
    out->emplace_back(addr, port);
    return true;
  }
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) {
    *error = fmt::format("{}: cannot resolve \"{}\": {}", text, host,
                         ec ? LowerFirst(ec.message()) : std::string("no address"));
    return false;
  }
  for (const auto& r : results) out->push_back(r.endpoint());
  return true;
}

static std::string FormatEndpoint(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// Finds request boundaries and keeps nothing.
class RequestScanner final : public http::basic_parser<true> {
 public:
  RequestScanner() {
    header_limit(64 * 1024);
    // Not boost::none: Boost 1.74 compares a Content-Length against an
    // empty optional as "larger" and fails every request with a body.
    body_limit(std::numeric_limits<std::uint64_t>::max());
  }
  int version() const { return version_; }

 private:
  using sv = boost::beast::string_view;
  void on_request_impl(http::verb, sv, sv, int version, error_code&) override { version_ = version; }
  void on_response_impl(int, sv, int, error_code&) override {}
  void on_field_impl(http::field, sv, sv, error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  size_t on_body_impl(sv body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, sv, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, sv body, error_code&) override { return body.size(); }
  void on_finish_impl(error_code&) override {}

  int version_ = 11;
};

struct Fault {
  uint64_t id;
  ProxyFault f;
};

struct AtomicStats {
  std::atomic<uint64_t> accepted{0}, refused_upstream{0}, open{0};
  std::atomic<uint64_t> bytes[2] = {0, 0};
  std::atomic<uint64_t> http_requests{0}, http_errors{0}, http_delayed{0};
};

class Connection;

class Core {
 public:
  Core(std::string listen, std::string upstream)
      : listen_text_(std::move(listen)), upstream_text_(std::move(upstream)) {}

  bool Start(std::string* error);
  void Shutdown();
  std::string address() const {
    std::lock_guard<std::mutex> lock(mu_);
    return address_;
  }

  uint64_t Add(const ProxyFault& fault);
  void Remove(uint64_t id);
  void Clear();
  void SetDown(bool down);
  void SetUpstream(std::string upstream);
  ProxyStats stats() const;

  // ---- io thread only (used by connections) ----
  const std::vector<Fault>& faults() const { return faults_; }
  int http_faults() const { return http_faults_; }
  bool HasFault(uint64_t id) const {
    for (const auto& f : faults_)
      if (f.id == id) return true;
    return false;
  }
  const std::vector<tcp::endpoint>& upstream() const { return upstream_eps_; }
  void OnClosed(uint64_t index) {
    if (conns_.erase(index) > 0) stats_.open.fetch_sub(1, std::memory_order_relaxed);
  }

  asio::io_context io_{1};  // first member: destroyed last
  AtomicStats stats_;

 private:
  bool OpenAcceptor(error_code& ec);
  void CloseAcceptor();
  void Accept();
  void OnAccepted(tcp::socket socket);
  void Reopen();
  void CloseAll(bool reset);
  void SyncAll();
  std::vector<std::shared_ptr<Connection>> Snapshot();

  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_{io_};
  asio::steady_timer accept_retry_{io_};
  asio::steady_timer rebind_timer_{io_};
  std::thread thread_;
  std::future<void> run_done_;
  bool started_ = false;

  const std::string listen_text_;
  const std::string upstream_text_;
  mutable std::mutex mu_;
  std::string address_;
  tcp::endpoint bound_;

  std::atomic<uint64_t> next_fault_id_{1};

  // io thread
  std::vector<tcp::endpoint> upstream_eps_;
  std::vector<Fault> faults_;
  int http_faults_ = 0;
  int down_ = 0;
  bool stopping_ = false;
  uint64_t accept_gen_ = 0;
  uint64_t next_conn_ = 0;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> conns_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Core* core, uint64_t index, tcp::socket client)
      : core_(core),
        index_(index),
        client_(std::move(client)),
        upstream_(core->io_),
        pumps_{Pump(core->io_), Pump(core->io_)},
        eps_(core->upstream()),
        http_timer_(core->io_) {
    pumps_[kUp].from = &client_;
    pumps_[kUp].to = &upstream_;
    pumps_[kDown].from = &upstream_;
    pumps_[kDown].to = &client_;
  }

  void Start() { ConnectNext(0); }

  // Rolls faults this connection has not seen, forgets removed ones. When a
  // fault went away, whatever a pump is holding (chunks waiting out a
  // latency, a slice gap, a held request, a delayed close) goes on now, as
  // in Toxiproxy, where an interrupted toxic passes its chunk on at once.
  void SyncFaults() {
    if (closed_ || !connected_) return;
    bool removed = false;
    for (auto it = states_.begin(); it != states_.end();) {
      if (!core_->HasFault(it->id)) {
        if (it->timer) it->timer->cancel();
        it = states_.erase(it);
        removed = true;
      } else {
        ++it;
      }
    }
    for (const Fault& f : core_->faults()) State(f);
    if (removed) {
      for (auto& p : pumps_) {
        for (size_t k = 0; k < p.count; ++k) {
          Batch& b = p.ring[(p.head + k) % kRing];
          b.due = Clock::time_point::min();
          b.close_waited = true;
          for (size_t i = b.step; i < b.plan.size(); ++i) b.plan[i].gap = Duration::zero();
        }
        p.timer.cancel();  // a waiting handler goes on (it checks only closed_)
      }
      http_timer_.cancel();
    }
  }

  void Close(bool reset) {
    if (closed_) return;
    closed_ = true;
    error_code ig;
    if (reset) {
      client_.set_option(tcp::socket::linger(true, 0), ig);
      upstream_.set_option(tcp::socket::linger(true, 0), ig);
    }
    for (auto& p : pumps_) p.timer.cancel();
    http_timer_.cancel();
    for (auto& s : states_)
      if (s.timer) s.timer->cancel();
    client_.close(ig);
    upstream_.close(ig);
    core_->OnClosed(index_);
  }

 private:
  using Clock = std::chrono::steady_clock;

  // Read-ahead: up to kReadAhead chunks of a direction may be read and
  // planned before the oldest has been written (a latency delays each chunk
  // from when it was read, it does not cap throughput). Two more slots for
  // what an EOF adds in HTTP mode (the rest of pending_, then the EOF).
  static constexpr size_t kReadAhead = 16;
  static constexpr size_t kRing = kReadAhead + 2;

  struct FaultState {
    uint64_t id = 0;
    Rng rng;
    bool affected = false;
    int64_t passed[2] = {0, 0};
    std::unique_ptr<asio::steady_timer> timer;  // reset `after`
  };
  enum class Act { kWrite, kReset, kClose };
  struct Piece {
    const char* data;
    size_t len;
    Duration gap;  // wait before this piece
    Act act;
  };
  // What the HTTP flow does once a batch it queued has been written.
  enum class Next { kNone, kHttp, kRawResume };
  // One chunk on its way: a plan, when it may start, its buffer.
  struct Batch {
    char* buf = nullptr;  // pooled buffer, back to the pool when done (null: data in pending_)
    std::vector<Piece> plan;
    size_t step = 0;
    Clock::time_point due = Clock::time_point::min();  // latency: not before
    Next next = Next::kNone;
    bool eof = false;           // not data: pass the peer's EOF on
    bool close_waited = false;  // eof: slow_close delay done
  };
  struct Pump {
    explicit Pump(asio::io_context& io) : timer(io) {}
    Pump(Pump&&) = default;
    tcp::socket* from = nullptr;
    tcp::socket* to = nullptr;
    asio::steady_timer timer;  // the writer's waits
    std::array<Batch, kRing> ring;
    size_t head = 0, count = 0;
    std::vector<std::unique_ptr<char[]>> buffers;  // every buffer this pump made
    std::vector<char*> free;
    std::vector<Piece> scratch;
    bool reading = false;      // a read is outstanding
    bool read_paused = false;  // a read was wanted while the ring was full
    bool stop = false;         // EOF read, or the plan ends the connection: read no more
    bool writing = false;      // the writer is working through the ring
    bool done = false;         // EOF passed on
  };

  static bool Applies(ProxyFault::Direction dir, int d) {
    return dir == ProxyFault::Direction::kBoth ||
           (dir == ProxyFault::Direction::kUp ? d == kUp : d == kDown);
  }

  FaultState& State(const Fault& fault) {
    for (auto& s : states_)
      if (s.id == fault.id) return s;
    FaultState s;
    s.id = fault.id;
    s.rng = Rng::For(fault.f.seed, 0, index_);
    s.affected = fault.f.is_http() || s.rng.Chance(fault.f.toxicity);
    if (s.affected && fault.f.kind == ProxyFault::Kind::kReset && fault.f.after > Duration::zero()) {
      s.timer = std::make_unique<asio::steady_timer>(core_->io_);
      s.timer->expires_after(fault.f.after);
      s.timer->async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->closed_) return;
        self->Close(true);
      });
    }
    states_.push_back(std::move(s));
    return states_.back();
  }

  // ---- connecting ----

  void ConnectNext(size_t i) {
    if (closed_) return;
    if (i >= eps_.size()) {
      core_->stats_.refused_upstream.fetch_add(1, std::memory_order_relaxed);
      Close(false);
      return;
    }
    upstream_.async_connect(eps_[i], [self = shared_from_this(), i](const error_code& ec) {
      if (self->closed_) return;
      if (ec) {
        error_code ig;
        self->upstream_.close(ig);
        self->ConnectNext(i + 1);
        return;
      }
      self->OnConnected();
    });
  }

  void OnConnected() {
    error_code ig;
    upstream_.set_option(tcp::no_delay(true), ig);
    connected_ = true;
    SyncFaults();
    if (closed_) return;
    Read(kUp);
    Read(kDown);
  }

  // ---- reading ----

  static char* TakeBuffer(Pump& p) {
    if (!p.free.empty()) {
      char* b = p.free.back();
      p.free.pop_back();
      return b;
    }
    p.buffers.emplace_back(new char[kBufferSize]);
    p.free.reserve(p.buffers.size());
    return p.buffers.back().get();
  }

  // Starts a read unless one is outstanding, reading is over, or the ring
  // is full (then the writer calls again when it frees a slot). In raw mode
  // each completed read starts the next; in HTTP mode HttpStep asks.
  void Read(int d) {
    Pump& p = pumps_[d];
    if (closed_ || p.reading || p.stop) return;
    if (p.count >= kReadAhead) {
      p.read_paused = true;
      return;
    }
    char* buf = TakeBuffer(p);
    p.reading = true;
    p.from->async_read_some(asio::buffer(buf, kBufferSize),
                            [self = shared_from_this(), d, buf](const error_code& ec, size_t n) {
                              self->OnRead(d, buf, ec, n);
                            });
  }

  void OnRead(int d, char* buf, const error_code& ec, size_t n) {
    Pump& p = pumps_[d];
    p.reading = false;
    if (closed_) return;
    if (ec) {
      p.free.push_back(buf);
      if (ec == asio::error::eof) {
        OnEof(d);
      } else {
        Close(true);  // a reset (or worse) on one side: pass it on
      }
      return;
    }
    if (d == kDown) {
      up_sync_ = true;  // the server spoke: the client's next bytes start a request
      Enqueue(kDown, buf, buf, n, Next::kNone);
      Read(kDown);
      return;
    }
    if (http_mode_ || (!http_off_ && up_sync_ && core_->http_faults() > 0)) {
      if (!http_mode_) EnterHttp();
      ++up_reads_;
      pending_.append(buf, n);
      p.free.push_back(buf);
      stalled_ = false;
      HttpStep();
      return;
    }
    ++up_reads_;
    up_sync_ = false;
    Enqueue(kUp, buf, buf, n, Next::kNone);
    Read(kUp);
  }

  void OnEof(int d) {
    Pump& p = pumps_[d];
    p.stop = true;
    if (d == kUp && http_mode_) {
      http_mode_ = false;
      parser_.reset();
      const bool discard = decided_ && http_error_;
      if (!discard && fwd_ < pending_.size()) {
        // pending_ is not touched again: HTTP is over on this connection.
        Enqueue(kUp, nullptr, pending_.data() + fwd_, pending_.size() - fwd_, Next::kNone);
      }
    }
    Batch& b = Push(p);
    b.buf = nullptr;
    b.plan.clear();
    b.due = Clock::time_point::min();
    b.next = Next::kNone;
    b.eof = true;
    b.close_waited = false;
    if (!p.writing) StartWriting(d);
  }

  // ---- planning ----

  Batch& Push(Pump& p) {
    Batch& b = p.ring[(p.head + p.count) % kRing];
    ++p.count;
    b.step = 0;
    return b;
  }

  // Queues [data, data + len) for direction d, planned through its TCP
  // faults; `data` must stay put until the batch is written (`buf` is the
  // pool buffer holding it, if any).
  void Enqueue(int d, char* buf, const char* data, size_t len, Next next) {
    Pump& p = pumps_[d];
    Batch& b = Push(p);
    b.buf = buf;
    b.next = next;
    b.eof = false;
    BuildPlan(d, data, len, b);
    if (EndsInAction(b.plan)) p.stop = true;  // the connection ends there: read no more
    if (!p.writing) StartWriting(d);
  }

  static size_t WriteBytes(const std::vector<Piece>& plan) {
    size_t n = 0;
    for (const auto& pc : plan)
      if (pc.act == Act::kWrite) n += pc.len;
    return n;
  }

  // Keeps the first n bytes of writes (and nothing after them).
  static void Truncate(std::vector<Piece>& plan, size_t n) {
    size_t i = 0;
    for (; i < plan.size(); ++i) {
      Piece& pc = plan[i];
      if (pc.act != Act::kWrite) {
        ++i;  // an earlier reset/close stays the end
        break;
      }
      if (n == 0) break;
      if (pc.len >= n) {
        pc.len = n;
        n = 0;
        ++i;
        break;
      }
      n -= pc.len;
    }
    plan.resize(i);
  }

  // Cuts every write of `plan` into pieces of next_size() bytes at most.
  // A piece waits gap_for(its size) after the one before it; the first
  // piece of a write keeps the write's own gap (plus gap_for when
  // gap_before_first).
  template <typename NextSize, typename GapFor>
  static void SplitWrites(std::vector<Piece>& plan, std::vector<Piece>& scratch, NextSize next_size,
                          GapFor gap_for, bool gap_before_first) {
    scratch.clear();
    for (const Piece& pc : plan) {
      if (pc.act != Act::kWrite) {
        scratch.push_back(pc);
        continue;
      }
      Duration gap = pc.gap;
      for (size_t off = 0; off < pc.len;) {
        const size_t n = std::min(next_size(off), pc.len - off);
        if (off > 0 || gap_before_first) gap += gap_for(n);
        scratch.push_back(Piece{pc.data + off, n, gap, Act::kWrite});
        gap = Duration::zero();
        off += n;
      }
    }
    plan.swap(scratch);
  }

  static bool EndsInAction(const std::vector<Piece>& plan) {
    return !plan.empty() && plan.back().act != Act::kWrite;
  }

  void BuildPlan(int d, const char* data, size_t len, Batch& b) {
    Pump& p = pumps_[d];
    auto& plan = b.plan;
    plan.clear();
    plan.push_back(Piece{data, len, Duration::zero(), Act::kWrite});
    Duration latency = Duration::zero();
    for (const Fault& fault : core_->faults()) {
      const ProxyFault& f = fault.f;
      if (f.is_http() || !Applies(f.direction, d)) continue;
      FaultState& s = State(fault);
      if (!s.affected) continue;
      switch (f.kind) {
        case ProxyFault::Kind::kLatency: {
          double j = 0;
          if (f.jitter > Duration::zero()) j = (2 * s.rng.Uniform() - 1) * static_cast<double>(f.jitter.count());
          latency += std::max(Duration::zero(), f.latency + Duration(static_cast<int64_t>(j)));
          break;
        }
        case ProxyFault::Kind::kBandwidth: {
          const double rate = f.kbps * 125.0;  // bytes per second
          if (rate <= 0) break;
          const size_t most = std::max<size_t>(1, static_cast<size_t>(rate / 100));  // 10 ms worth
          // Each piece waits for its own bytes to drain at the rate.
          SplitWrites(plan, p.scratch, [&](size_t) { return most; },
                      [&](size_t n) { return Duration(static_cast<int64_t>(static_cast<double>(n) * 1e9 / rate)); },
                      /*gap_before_first=*/true);
          break;
        }
        case ProxyFault::Kind::kSlicer: {
          if (f.average_size <= 0) break;
          auto size = [&](size_t) {
            int64_t n = f.average_size;
            if (f.size_variation > 0) {
              n += static_cast<int64_t>(s.rng.Next() % static_cast<uint64_t>(2 * f.size_variation + 1)) -
                   f.size_variation;
            }
            return static_cast<size_t>(std::max<int64_t>(1, n));
          };
          // `delay` between slices, none before the first.
          SplitWrites(plan, p.scratch, size, [&](size_t) { return f.delay; }, /*gap_before_first=*/false);
          break;
        }
        case ProxyFault::Kind::kBlackhole:
          plan.clear();
          break;
        case ProxyFault::Kind::kReset:
        case ProxyFault::Kind::kLimitData: {
          if (EndsInAction(plan)) break;
          const Act act = f.kind == ProxyFault::Kind::kReset ? Act::kReset : Act::kClose;
          const size_t total = WriteBytes(plan);
          if (f.kind == ProxyFault::Kind::kReset && f.bytes <= 0) {
            // Without bytes: on the first data unless `after` (a timer) is set.
            if (f.after == Duration::zero() && total > 0) {
              plan.clear();
              plan.push_back(Piece{nullptr, 0, Duration::zero(), act});
            }
            break;
          }
          // Counted per direction (with kBoth, each direction on its own).
          const int64_t limit = std::max<int64_t>(0, f.bytes);
          const size_t remain = static_cast<size_t>(std::max<int64_t>(0, limit - s.passed[d]));
          if (total > 0 && total >= remain) {
            Truncate(plan, remain);
            plan.push_back(Piece{nullptr, 0, Duration::zero(), act});
            s.passed[d] = limit;
          } else {
            s.passed[d] += static_cast<int64_t>(total);
          }
          break;
        }
        case ProxyFault::Kind::kSlowClose:
        case ProxyFault::Kind::kHttpError:
        case ProxyFault::Kind::kHttpDelay:
          break;
      }
    }
    b.due = latency > Duration::zero() ? Clock::now() + latency : Clock::time_point::min();
  }

  // ---- writing: one batch at a time, in order ----

  void StartWriting(int d) {
    pumps_[d].writing = true;
    if (d == kDown) {
      Acquire(kDown);  // the client socket: shared with http_error answers
    } else {
      Write(kUp);
    }
  }

  void Wait(int d, Clock::time_point until) {
    Pump& p = pumps_[d];
    p.timer.expires_at(until);
    p.timer.async_wait([self = shared_from_this(), d](const error_code&) {
      if (self->closed_) return;  // cancelled otherwise: a fault was removed, go on
      self->Write(d);
    });
  }

  void Write(int d) {
    if (closed_) return;
    Pump& p = pumps_[d];
    Batch& b = p.ring[p.head];
    if (b.due != Clock::time_point::min()) {
      const auto due = b.due;
      b.due = Clock::time_point::min();
      if (due > Clock::now()) {
        Wait(d, due);
        return;
      }
    }
    if (b.eof) {
      if (!b.close_waited) {
        b.close_waited = true;
        const Duration delay = SlowCloseDelay(d);
        if (delay > Duration::zero()) {
          Wait(d, Clock::now() + delay);
          return;
        }
      }
      error_code ig;
      p.to->shutdown(tcp::socket::shutdown_send, ig);
      p.done = true;
      p.head = (p.head + 1) % kRing;
      --p.count;
      p.writing = false;
      if (d == kDown) Release();
      if (pumps_[kUp].done && pumps_[kDown].done) Close(false);
      return;
    }
    if (b.step >= b.plan.size()) {
      BatchDone(d);
      return;
    }
    Piece& pc = b.plan[b.step];
    if (pc.gap > Duration::zero()) {
      const Duration gap = pc.gap;
      pc.gap = Duration::zero();
      Wait(d, Clock::now() + gap);
      return;
    }
    switch (pc.act) {
      case Act::kReset:
        Close(true);
        return;
      case Act::kClose:
        Close(false);
        return;
      case Act::kWrite:
        asio::async_write(*p.to, asio::buffer(pc.data, pc.len),
                          [self = shared_from_this(), d](const error_code& ec, size_t n) {
                            if (self->closed_) return;
                            if (ec) {
                              self->Close(true);
                              return;
                            }
                            self->core_->stats_.bytes[d].fetch_add(n, std::memory_order_relaxed);
                            Pump& p = self->pumps_[d];
                            ++p.ring[p.head].step;
                            self->Write(d);
                          });
        return;
    }
  }

  void BatchDone(int d) {
    Pump& p = pumps_[d];
    Batch& b = p.ring[p.head];
    if (b.buf) p.free.push_back(b.buf);
    b.buf = nullptr;
    const Next next = b.next;
    p.head = (p.head + 1) % kRing;
    --p.count;
    p.writing = false;
    if (d == kDown) Release();
    if (closed_) return;
    switch (next) {
      case Next::kNone:
        break;
      case Next::kHttp:
        HttpStep();
        break;
      case Next::kRawResume:
        pending_.clear();
        pos_ = fwd_ = 0;
        Read(kUp);
        break;
    }
    if (closed_) return;
    if (p.read_paused) {
      p.read_paused = false;
      Read(d);
    }
    if (!p.writing && p.count > 0) StartWriting(d);
  }

  Duration SlowCloseDelay(int d) {
    Duration delay = Duration::zero();
    for (const Fault& fault : core_->faults()) {
      const ProxyFault& f = fault.f;
      if (f.kind != ProxyFault::Kind::kSlowClose || !Applies(f.direction, d)) continue;
      if (State(fault).affected) delay = std::max(delay, f.delay);
    }
    return delay;
  }

  // ---- the client socket, shared by the down pump and http_error answers ----

  void Acquire(int party) {
    if (!client_busy_) {
      client_busy_ = true;
      Granted(party);
    } else {
      waiting_[party] = true;
    }
  }

  void Release() {
    client_busy_ = false;
    for (int party : {kUp, kDown}) {
      if (waiting_[party]) {
        waiting_[party] = false;
        client_busy_ = true;
        Granted(party);
        return;
      }
    }
  }

  void Granted(int party) {
    if (closed_) return;
    if (party == kUp) {
      WriteAnswer();
    } else {
      Write(kDown);
    }
  }

  // ---- HTTP ----

  void EnterHttp() {
    http_mode_ = true;
    http_from_start_ = up_reads_ == 0;
    parser_.emplace();
    decided_ = false;
    http_error_ = false;
    stalled_ = false;
    pending_.clear();
    pos_ = fwd_ = 0;
  }

  void NextMessage() {
    parser_.emplace();
    decided_ = false;
    http_error_ = false;
  }

  // pending_: [0, fwd_) done with; [fwd_, pos_) parsed, not yet forwarded
  // (held until the request is decided); [pos_, size) not parsed yet. While
  // a batch of pending_ bytes is queued, HttpStep waits for it (kHttp), so
  // pending_ never moves under a write.
  void HttpStep() {
    for (;;) {
      if (closed_) return;
      if (decided_ && parser_->is_done()) {
        if (fwd_ < pos_ && !http_error_) {
          EmitParsed();
          return;
        }
        fwd_ = pos_;
        if (http_error_) {
          StartAnswer();
          return;
        }
        NextMessage();
        continue;
      }
      if (pos_ == pending_.size() || stalled_) {
        if (decided_ && fwd_ < pos_) {
          if (!http_error_) {
            EmitParsed();
            return;
          }
          fwd_ = pos_;
        }
        pending_.erase(0, fwd_);
        pos_ -= fwd_;
        fwd_ = 0;
        Read(kUp);
        return;
      }
      if (!parser_->got_some()) {
        if (core_->http_faults() == 0) {
          LeaveHttp();
          return;
        }
        const char c = pending_[pos_];
        if (c < 'A' || c > 'Z') {  // no request method starts so: not HTTP
          GoRaw(NotHttpAtAll());
          return;
        }
      }
      error_code ec;
      const size_t n = parser_->put(asio::const_buffer(pending_.data() + pos_, pending_.size() - pos_), ec);
      pos_ += n;
      if (ec == http::error::need_more) {
        if (n == 0) stalled_ = true;
        continue;
      }
      if (ec) {
        GoRaw(NotHttpAtAll());
        return;
      }
      if (!decided_ && parser_->is_header_done()) {
        if (parser_->version() != 10 && parser_->version() != 11) {
          GoRaw(true);
          return;
        }
        if (!Decide()) return;
      }
    }
  }

  // The connection's very first bytes were not an HTTP/1.x request: it
  // speaks something else (HTTP/2, a binary protocol), never parse it again.
  // A failure later may just be a resync attempt that began mid-body.
  bool NotHttpAtAll() const { return http_from_start_ && requests_ == 0; }

  void EmitParsed() {
    const char* data = pending_.data() + fwd_;
    const size_t len = pos_ - fwd_;
    fwd_ = pos_;
    Enqueue(kUp, nullptr, data, len, Next::kHttp);
  }

  // Rolls each HTTP fault for the request whose header just ended. False
  // when the request is held (http_delay): HttpStep resumes later.
  bool Decide() {
    decided_ = true;
    ++requests_;
    parser_->eager(true);
    core_->stats_.http_requests.fetch_add(1, std::memory_order_relaxed);
    http_error_ = false;
    Duration delay = Duration::zero();
    for (const Fault& fault : core_->faults()) {
      const ProxyFault& f = fault.f;
      if (!f.is_http()) continue;
      FaultState& s = State(fault);
      if (!s.rng.Chance(f.probability)) continue;
      if (f.kind == ProxyFault::Kind::kHttpError) {
        if (!http_error_) {
          http_error_ = true;
          status_ = f.status;
          answer_latency_ = s.rng.Between(f.latency_lo, f.latency_hi);
        }
      } else {
        delay += DrawDelay(f, s.rng);
      }
    }
    if (http_error_) {
      core_->stats_.http_errors.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (delay > Duration::zero()) {
      core_->stats_.http_delayed.fetch_add(1, std::memory_order_relaxed);
      http_timer_.expires_after(delay);
      http_timer_.async_wait([self = shared_from_this()](const error_code&) {
        if (self->closed_) return;  // cancelled otherwise: the fault was removed
        self->HttpStep();
      });
      return false;
    }
    return true;
  }

  static Duration DrawDelay(const ProxyFault& f, Rng& rng) {
    if (!f.normal) return rng.Between(f.latency_lo, f.latency_hi);
    const double u1 = 1.0 - rng.Uniform();  // (0, 1]
    const double u2 = rng.Uniform();
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
    const double ns = static_cast<double>(f.mean.count()) + z * static_cast<double>(f.stddev.count());
    return Duration(static_cast<int64_t>(std::max(0.0, ns)));
  }

  // At a request boundary with no HTTP fault left: copy raw again.
  void LeaveHttp() {
    http_mode_ = false;
    parser_.reset();
    if (pos_ < pending_.size()) {
      up_sync_ = false;
      Enqueue(kUp, nullptr, pending_.data() + pos_, pending_.size() - pos_, Next::kRawResume);
      return;
    }
    up_sync_ = true;
    pending_.clear();
    pos_ = fwd_ = 0;
    Read(kUp);
  }

  // Not parseable as HTTP/1.x: forward everything not yet forwarded, raw
  // (the rest of an http_error request is dropped instead).
  void GoRaw(bool forever) {
    http_mode_ = false;
    up_sync_ = false;
    if (forever) http_off_ = true;
    parser_.reset();
    if (decided_ && http_error_) {
      http_error_ = false;
      pending_.clear();
      pos_ = fwd_ = 0;
      Read(kUp);
      return;
    }
    Enqueue(kUp, nullptr, pending_.data() + fwd_, pending_.size() - fwd_, Next::kRawResume);
  }

  void StartAnswer() {
    if (answer_latency_ > Duration::zero()) {
      http_timer_.expires_after(answer_latency_);
      http_timer_.async_wait([self = shared_from_this()](const error_code&) {
        if (self->closed_) return;
        self->Acquire(kUp);
      });
      return;
    }
    Acquire(kUp);
  }

  void WriteAnswer() {
    const auto status = http::int_to_status(static_cast<unsigned>(status_));
    std::string reason = "Error";
    if (status != http::status::unknown) {
      auto r = http::obsolete_reason(status);
      reason.assign(r.data(), r.size());
    }
    answer_ = fmt::format("HTTP/1.1 {} {}\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", status_, reason);
    asio::async_write(client_, asio::buffer(answer_), [self = shared_from_this()](const error_code& ec, size_t) {
      if (self->closed_) return;
      if (ec) {
        self->Close(true);
        return;
      }
      self->Release();
      if (self->closed_) return;
      self->NextMessage();
      self->HttpStep();
    });
  }

  Core* core_;
  const uint64_t index_;
  tcp::socket client_;
  tcp::socket upstream_;
  Pump pumps_[2];
  std::vector<tcp::endpoint> eps_;
  std::vector<FaultState> states_;
  bool connected_ = false;
  bool closed_ = false;

  bool client_busy_ = false;
  bool waiting_[2] = {false, false};

  // HTTP (up direction)
  asio::steady_timer http_timer_;  // a held request, an answer's latency
  bool up_sync_ = true;            // the next client byte starts a request
  bool http_mode_ = false;         // parsing
  bool http_off_ = false;          // not HTTP/1.x: never parse again
  bool http_from_start_ = false;   // parsing began at the connection's first byte
  uint64_t up_reads_ = 0;          // chunks read from the client
  uint64_t requests_ = 0;          // requests decided on this connection
  std::optional<RequestScanner> parser_;
  bool decided_ = false;
  bool http_error_ = false;
  bool stalled_ = false;  // the parser needs more bytes than pending_ has
  int status_ = 503;
  Duration answer_latency_{};
  std::string pending_;
  size_t pos_ = 0, fwd_ = 0;
  std::string answer_;
};

// ---- Core ----

bool Core::Start(std::string* error) {
  std::string err;
  if (started_) {
    if (error) *error = listen_text_ + ": already started";
    return false;
  }
  tcp::endpoint listen;
  if (!ParseListen(listen_text_, &listen, &err)) {
    if (error) *error = err;
    return false;
  }
  std::vector<tcp::endpoint> eps;
  if (!ResolveUpstream(upstream_text_, &eps, &err)) {
    if (error) *error = "upstream " + err;
    return false;
  }
  error_code ec;
  acceptor_.open(listen.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(listen, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) bound_ = acceptor_.local_endpoint(ec);
  if (ec) {
    error_code ig;
    acceptor_.close(ig);
    if (error) *error = fmt::format("{}: {}", listen_text_, LowerFirst(ec.message()));
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    address_ = FormatEndpoint(bound_);
  }
  upstream_eps_ = std::move(eps);
  started_ = true;
  work_.emplace(io_.get_executor());
  asio::post(io_, [this] { Accept(); });
  std::promise<void> done;
  run_done_ = done.get_future();
  thread_ = std::thread([this, done = std::move(done)]() mutable {
    io_.run();
    done.set_value();
  });
  return true;
}

void Core::Shutdown() {
  if (!started_) return;
  asio::post(io_, [this] {
    stopping_ = true;
    CloseAcceptor();
    rebind_timer_.cancel();
    CloseAll(false);
  });
  work_.reset();
  // Everything is closed, so run() returns as soon as the aborted handlers
  // have run; the stop is a backstop only.
  if (run_done_.wait_for(std::chrono::seconds(10)) != std::future_status::ready) io_.stop();
  thread_.join();
  started_ = false;
}

uint64_t Core::Add(const ProxyFault& fault) {
  const uint64_t id = next_fault_id_.fetch_add(1);
  asio::post(io_, [this, id, fault] {
    faults_.push_back(Fault{id, fault});
    if (fault.is_http()) ++http_faults_;
    SyncAll();
  });
  return id;
}

void Core::Remove(uint64_t id) {
  asio::post(io_, [this, id] {
    auto it = std::find_if(faults_.begin(), faults_.end(), [id](const Fault& f) { return f.id == id; });
    if (it == faults_.end()) return;
    if (it->f.is_http()) --http_faults_;
    faults_.erase(it);
    SyncAll();
  });
}

void Core::Clear() {
  asio::post(io_, [this] {
    faults_.clear();
    http_faults_ = 0;
    SyncAll();
    if (down_ > 0) {
      down_ = 0;
      Reopen();
    }
  });
}

void Core::SetDown(bool down) {
  asio::post(io_, [this, down] {
    if (down) {
      if (++down_ == 1) {
        CloseAcceptor();
        CloseAll(false);
      }
    } else if (down_ > 0 && --down_ == 0) {
      Reopen();
    }
  });
}

void Core::SetUpstream(std::string upstream) {
  std::vector<tcp::endpoint> eps;
  std::string err;
  ResolveUpstream(upstream, &eps, &err);  // on failure: empty, connections are refused
  asio::post(io_, [this, eps = std::move(eps)]() mutable { upstream_eps_ = std::move(eps); });
}

ProxyStats Core::stats() const {
  ProxyStats s;
  s.accepted = stats_.accepted.load(std::memory_order_relaxed);
  s.refused_upstream = stats_.refused_upstream.load(std::memory_order_relaxed);
  s.open = stats_.open.load(std::memory_order_relaxed);
  s.bytes_up = stats_.bytes[kUp].load(std::memory_order_relaxed);
  s.bytes_down = stats_.bytes[kDown].load(std::memory_order_relaxed);
  s.http_requests = stats_.http_requests.load(std::memory_order_relaxed);
  s.http_errors = stats_.http_errors.load(std::memory_order_relaxed);
  s.http_delayed = stats_.http_delayed.load(std::memory_order_relaxed);
  return s;
}

bool Core::OpenAcceptor(error_code& ec) {
  acceptor_.open(bound_.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(bound_, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ig;
    acceptor_.close(ig);
    return false;
  }
  return true;
}

void Core::CloseAcceptor() {
  error_code ig;
  acceptor_.close(ig);
  ++accept_gen_;
  accept_retry_.cancel();
}

void Core::Accept() {
  if (stopping_ || down_ > 0 || !acceptor_.is_open()) return;
  acceptor_.async_accept([this, gen = accept_gen_](const error_code& ec, tcp::socket socket) {
    if (stopping_ || gen != accept_gen_) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE and friends: try again shortly rather than spin.
      accept_retry_.expires_after(std::chrono::milliseconds(10));
      accept_retry_.async_wait([this, gen](const error_code& e) {
        if (!e && gen == accept_gen_) Accept();
      });
      return;
    }
    OnAccepted(std::move(socket));
    Accept();
  });
}

void Core::OnAccepted(tcp::socket socket) {
  error_code ig;
  socket.set_option(tcp::no_delay(true), ig);
  const uint64_t index = next_conn_++;
  auto conn = std::make_shared<Connection>(this, index, std::move(socket));
  conns_[index] = conn;
  stats_.accepted.fetch_add(1, std::memory_order_relaxed);
  stats_.open.fetch_add(1, std::memory_order_relaxed);
  conn->Start();
}

void Core::Reopen() {
  if (stopping_ || down_ > 0 || acceptor_.is_open()) return;
  error_code ec;
  if (!OpenAcceptor(ec)) {
    // Someone else holds the port for now: keep trying while up.
    rebind_timer_.expires_after(std::chrono::milliseconds(100));
    rebind_timer_.async_wait([this](const error_code& e) {
      if (!e) Reopen();
    });
    return;
  }
  Accept();
}

std::vector<std::shared_ptr<Connection>> Core::Snapshot() {
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(conns_.size());
  for (auto& [index, weak] : conns_)
    if (auto c = weak.lock()) out.push_back(std::move(c));
  return out;
}

void Core::CloseAll(bool reset) {
  for (auto& c : Snapshot()) c->Close(reset);
  conns_.clear();
}

void Core::SyncAll() {
  for (auto& c : Snapshot()) c->SyncFaults();
}

}  // namespace proxy_internal

struct Proxy::Impl : proxy_internal::Core {
  using Core::Core;
};

Proxy::Proxy(std::string listen, std::string upstream)
    : impl_(std::make_unique<Impl>(std::move(listen), std::move(upstream))) {}

Proxy::~Proxy() { impl_->Shutdown(); }

bool Proxy::Start(std::string* error) { return impl_->Start(error); }
std::string Proxy::address() const { return impl_->address(); }
uint64_t Proxy::Add(const ProxyFault& fault) { return impl_->Add(fault); }
void Proxy::Remove(uint64_t id) { impl_->Remove(id); }
void Proxy::Clear() { impl_->Clear(); }
void Proxy::SetDown(bool down) { impl_->SetDown(down); }
void Proxy::SetUpstream(std::string upstream) { impl_->SetUpstream(std::move(upstream)); }
ProxyStats Proxy::stats() const { return impl_->stats(); }

}  // namespace herd
