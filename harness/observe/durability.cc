#include "observe/durability.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include "common/rng.h"
#include "transport/http_call.h"

namespace herd {

namespace {

using Clock = std::chrono::steady_clock;


// The longest a loop sleeps in curl_multi_poll when nothing is due: it
// wakes earlier on socket activity, a due write or curl_multi_wakeup.
constexpr int kMaxPollMs = 100;
// Reads that fail (neither 200 nor 404) are retried this many times.
constexpr int kReadRetries = 3;

// What became of a write, from libcurl's result and the HTTP status (the
// header's table). Only a connection that was never made is a definite
// failure among transport errors: anything after the request may have left
// the client (a timeout, a reset, an empty reply) is indeterminate.
WriteFate FateOf(CURLcode code, long status) {
  if (code == CURLE_OK) {
    if (status >= 200 && status < 300) return WriteFate::kAcknowledged;
    if (status >= 400 && status < 500) return WriteFate::kFailed;  // 429 and every other 4xx
    if (status == 503) return WriteFate::kFailed;
    return WriteFate::kIndeterminate;  // other 5xx, and anything odd (1xx, 3xx)
  }
  switch (code) {
    case CURLE_COULDNT_CONNECT:        // refused (or unreachable) at connect: never sent
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return WriteFate::kFailed;
    default:  // CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING...
      return WriteFate::kIndeterminate;
  }
}

void AppendHex(uint64_t x, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kDigits[(x >> shift) & 0xF]);
}

// "<key>:<16 random hex>", then more hex from the same stream up to
// value_bytes when that is longer.
std::string MakeValue(const std::string& key, uint64_t seed, int64_t i, int64_t value_bytes) {
  Rng rng = Rng::For(seed, 0xD0, static_cast<uint64_t>(i));
  std::string value = key + ":";
  const size_t want = std::max(value.size() + 16, static_cast<size_t>(std::max<int64_t>(0, value_bytes)));
  value.reserve(want + 16);
  while (value.size() < want) AppendHex(rng.Next(), &value);
  value.resize(want);
  return value;
}

// Percent-encodes a key for the URL path (kvd decodes it back).
std::string EscapeKey(const std::string& key) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xF]);
    }
  }
  return out;
}

std::string BaseUrl(const std::string& address) {
  if (address.rfind("http://", 0) == 0 || address.rfind("https://", 0) == 0) return address;
  return "http://" + address;
}

int MillisCeil(Clock::duration d) {
  if (d <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::min<int64_t>(ms, kMaxPollMs));
}

// One easy handle of a loop, reused from request to request (its
// connection stays in the multi handle's cache: keep-alive).
struct Slot {
  CURL* easy = nullptr;
  int64_t index = -1;     // which write (or read) it carries
  std::string url;
  std::string request;    // PUT body; must outlive the transfer
  std::string response;   // GET body
};

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<Slot*>(user)->response.append(data, size * n);
  return size * n;
}

// The easy handles and the multi handle of one loop (writer or reader).
class Pool {
 public:
  Pool(CURLM* multi, const DurabilitySpec& spec) : multi_(multi), spec_(spec) {
    headers_ = curl_slist_append(headers_, "X-Client-Id: durability");
    headers_ = curl_slist_append(headers_, "Expect:");
    headers_ = curl_slist_append(headers_, "Content-Type: application/octet-stream");
  }
  ~Pool() {
    for (auto& slot : slots_) {
      if (slot->index >= 0) curl_multi_remove_handle(multi_, slot->easy);  // abandoned
      curl_easy_cleanup(slot->easy);
    }
    curl_slist_free_all(headers_);
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int in_flight() const { return static_cast<int>(slots_.size() - free_.size()); }
  int capacity() const { return std::max(1, spec_.max_in_flight); }
  bool has_room() const { return in_flight() < capacity(); }

  // A free slot, made ready for a new request.
  Slot* Take() {
    if (free_.empty()) {
      auto slot = std::make_unique<Slot>();
      slot->easy = curl_easy_init();
      if (slot->easy == nullptr) throw std::runtime_error("durability: curl_easy_init failed");
      CURL* e = slot->easy;
      const auto timeout_ms = std::max<int64_t>(
          1, std::chrono::duration_cast<std::chrono::milliseconds>(spec_.timeout).count());
      curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(e, CURLOPT_PROXY, "");  // never through a proxy from the environment
      curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
      curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
      curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
      // A fresh connection per write: on a kept-alive one that the target's
      // death cut after the PUT went out, libcurl would quietly retry on a
      // new connection, be refused, and call a write that may have applied
      // "could not connect" (failed, never sent). Read back, it counted as
      // unexpected. Now "could not connect" means what it says.
      curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
      curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
      curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Collect);
      curl_easy_setopt(e, CURLOPT_WRITEDATA, slot.get());
      curl_easy_setopt(e, CURLOPT_PRIVATE, slot.get());
      free_.push_back(slot.get());
      slots_.push_back(std::move(slot));
    }
    Slot* slot = free_.back();
    free_.pop_back();
    slot->response.clear();
    return slot;
  }

  void StartPut(Slot* slot) {
    CURL* e = slot->easy;
    curl_easy_setopt(e, CURLOPT_URL, slot->url.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, slot->request.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(slot->request.size()));
    Add(slot);
  }

  void StartGet(Slot* slot) {
    CURL* e = slot->easy;
    curl_easy_setopt(e, CURLOPT_URL, slot->url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    Add(slot);
  }

  // Runs transfers, then hands every finished one to done(slot, code,
  // status) and frees its slot.
  template <typename Done>
  void Perform(Done&& done) {
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* e = msg->easy_handle;
      const CURLcode code = msg->data.result;  // read before remove_handle frees msg
      Slot* slot = nullptr;
      curl_easy_getinfo(e, CURLINFO_PRIVATE, &slot);
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      curl_multi_remove_handle(multi_, e);
      done(slot, code, status);
      slot->index = -1;
      free_.push_back(slot);
    }
  }

  void Poll(int timeout_ms) { curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr); }

 private:
  void Add(Slot* slot) {
    if (curl_multi_add_handle(multi_, slot->easy) != CURLM_OK) {
      throw std::runtime_error("durability: curl_multi_add_handle failed");
    }
  }

  CURLM* multi_;
  const DurabilitySpec& spec_;
  curl_slist* headers_ = nullptr;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;
};

}  // namespace

struct DurabilityChecker::Impl {
  DurabilitySpec spec;
  std::vector<std::string> addresses;
  uint64_t seed = 0;

  mutable std::mutex mu;
  // Every write sent so far; writes go out in order, so records[i] is write i.
  std::vector<WriteRecord> records;
  bool started = false;  // Start runs once: records[i] is write i
  std::thread writer;
  CURLM* multi = nullptr;  // the writer's; created before and freed after the thread
  std::atomic<bool> stop{false};
  std::atomic<int64_t> stop_deadline_ns{0};  // Clock time after which in-flight writes are abandoned

  std::string Key(int64_t i) const {
    return spec.prefix + std::to_string(seed) + "-" + std::to_string(i);
  }

  void Write(Clock::time_point start, Duration duration);
};

void DurabilityChecker::Impl::Write(Clock::time_point start, Duration duration) {
  const int64_t n = std::max<int64_t>(0, spec.writes);
  // Write i is due at start + i * duration / n (exact in integers).
  const int64_t d = std::max<int64_t>(0, duration.count());
  auto due = [&](int64_t i) {
    return start + std::chrono::duration_cast<Clock::duration>(
                       Duration((d / n) * i + (d % n) * i / n));
  };
  Pool pool(multi, spec);
  int64_t next = 0;
  while (true) {
    const bool stopping = stop.load(std::memory_order_acquire);
    auto now = Clock::now();
    if (stopping) {
      const Clock::time_point deadline{Clock::duration(stop_deadline_ns.load())};
      if (pool.in_flight() == 0 || now >= deadline) break;  // the rest stay indeterminate
    } else {
      while (next < n && pool.has_room() && due(next) <= now) {
        const size_t replica = static_cast<size_t>(next) % addresses.size();
        Slot* slot = pool.Take();
        slot->index = next;
        std::string key = Key(next);
        slot->request = MakeValue(key, seed, next, spec.value_bytes);
        slot->url = BaseUrl(addresses[replica]) + "/v1/" + EscapeKey(key);
        {
          std::lock_guard lock(mu);
          records.push_back(WriteRecord{std::move(key), slot->request, WriteFate::kIndeterminate});
        }
        pool.StartPut(slot);
        ++next;
      }
      if (next >= n && pool.in_flight() == 0) break;  // the whole cohort is done
    }
    pool.Perform([&](Slot* slot, CURLcode code, long status) {
      std::lock_guard lock(mu);
      records[static_cast<size_t>(slot->index)].fate = FateOf(code, status);
    });
    now = Clock::now();
    int wait_ms = kMaxPollMs;
    if (stopping) {
      const Clock::time_point deadline{Clock::duration(stop_deadline_ns.load())};
      wait_ms = MillisCeil(deadline - now);
    } else if (next < n && pool.has_room()) {
      wait_ms = MillisCeil(due(next) - now);
    }
    if (wait_ms > 0 || pool.in_flight() > 0) pool.Poll(wait_ms);
  }
  // ~Pool removes the writes still in flight: abandoned, indeterminate.
}

DurabilityChecker::DurabilityChecker(DurabilitySpec spec, std::vector<std::string> addresses,
                                     uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  if (addresses.empty()) throw std::invalid_argument("durability checker: no replica address");
  EnsureCurl();
  impl_->spec = std::move(spec);
  impl_->addresses = std::move(addresses);
  impl_->seed = seed;
}

DurabilityChecker::~DurabilityChecker() { StopWriting(Duration::zero()); }

void DurabilityChecker::Start(Duration duration) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  if (m.started) return;
  m.started = true;
  m.multi = curl_multi_init();
  if (m.multi == nullptr) throw std::runtime_error("durability: curl_multi_init failed");
  m.stop.store(false);
  const auto start = Clock::now();
  m.writer = std::thread([&m, start, duration] {
    try {
      m.Write(start, duration);
    } catch (const std::exception&) {
      // libcurl could not make a handle: the writes not sent are not attempted.
    }
  });
}

void DurabilityChecker::StopWriting(Duration wait) {
  Impl& m = *impl_;
  std::thread writer;
  CURLM* multi = nullptr;
  {
    std::lock_guard lock(m.mu);
    if (!m.writer.joinable()) return;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::max(wait, Duration::zero()));
    m.stop_deadline_ns.store(deadline.time_since_epoch().count());
    m.stop.store(true, std::memory_order_release);
    curl_multi_wakeup(m.multi);
    writer = std::move(m.writer);
    multi = m.multi;
  }
  writer.join();
  {
    std::lock_guard lock(m.mu);
    m.multi = nullptr;
  }
  curl_multi_cleanup(multi);
}

SetCheck DurabilityChecker::ReadBackAndCheck(int64_t* read_errors) {
  Impl& m = *impl_;
  // Reading while writes still go out would race them: stop first.
  StopWriting(m.spec.timeout);
  const std::vector<WriteRecord> written = writes();
  const size_t n = written.size();

  std::vector<std::optional<std::string>> found(n);
  std::vector<int> failures(n, 0);
  int64_t errors = 0;
  std::deque<int64_t> fresh;
  for (size_t i = 0; i < n; ++i) fresh.push_back(static_cast<int64_t>(i));
  std::vector<std::pair<Clock::time_point, int64_t>> retries;  // (not before, index)

  CURLM* multi = curl_multi_init();
  if (multi == nullptr) throw std::runtime_error("durability: curl_multi_init failed");
  {
    Pool pool(multi, m.spec);
    while (!fresh.empty() || !retries.empty() || pool.in_flight() > 0) {
      auto now = Clock::now();
      while (pool.has_room()) {
        int64_t i = -1;
        auto ready = std::find_if(retries.begin(), retries.end(),
                                  [&](const auto& r) { return r.first <= now; });
        if (ready != retries.end()) {
          i = ready->second;
          retries.erase(ready);
        } else if (!fresh.empty()) {
          i = fresh.front();
          fresh.pop_front();
        } else {
          break;
        }
        Slot* slot = pool.Take();
        slot->index = i;
        const size_t replica = static_cast<size_t>(i) % m.addresses.size();  // where it was written
        slot->url = BaseUrl(m.addresses[replica]) + "/v1/" + EscapeKey(written[static_cast<size_t>(i)].key);
        pool.StartGet(slot);
      }
      pool.Perform([&](Slot* slot, CURLcode code, long status) {
        const size_t i = static_cast<size_t>(slot->index);
        if (code == CURLE_OK && status == 200) {
          found[i] = std::move(slot->response);
        } else if (code == CURLE_OK && status == 404) {
          // absent
        } else if (++failures[i] <= kReadRetries) {
          retries.emplace_back(Clock::now() + std::chrono::milliseconds(100 << (failures[i] - 1)),
                               slot->index);
        } else {
          ++errors;  // counted as missing
        }
      });
      now = Clock::now();
      int wait_ms = kMaxPollMs;
      if (pool.has_room()) {
        if (!fresh.empty()) wait_ms = 0;
        for (const auto& r : retries) wait_ms = std::min(wait_ms, MillisCeil(r.first - now));
      }
      if (wait_ms > 0 || pool.in_flight() > 0) pool.Poll(wait_ms);
    }
  }
  curl_multi_cleanup(multi);

  std::vector<std::pair<std::string, std::string>> read_back;
  for (size_t i = 0; i < n; ++i) {
    if (found[i]) read_back.emplace_back(written[i].key, std::move(*found[i]));
  }
  if (read_errors != nullptr) *read_errors += errors;
  return CheckSet(written, read_back);
}

std::vector<WriteRecord> DurabilityChecker::writes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->records;
}

}  // namespace herd
