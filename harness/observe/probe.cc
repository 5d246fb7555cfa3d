#include "observe/probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "transport/http_call.h"

namespace herd {

namespace {

using Clock = std::chrono::steady_clock;

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

struct CheckResult {
  std::string status;
  bool pass = false;
};

// The kubelet opens a new connection for every check; so does this.
CheckResult CheckHttp(CURL* e, const std::string& url, Duration timeout) {
  const long ms = std::max<long>(1, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
  const CURLcode rc = curl_easy_perform(e);
  switch (rc) {
    case CURLE_OK: {
      long status = 0;
      curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
      return {std::to_string(status), status >= 200 && status < 400};
    }
    case CURLE_OPERATION_TIMEDOUT: return {"timeout", false};
    case CURLE_COULDNT_CONNECT: return {"refused", false};
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING: return {"reset", false};
    default: return {"error", false};
  }
}

// grpc.health.v1.Health/Check through the generic stub: HealthCheckRequest
// is {1: service string}, HealthCheckResponse {1: status varint}.
CheckResult CheckGrpc(grpc::GenericStub& stub, const std::string& service, Duration timeout) {
  std::string request;
  if (!service.empty() && service.size() < 128) {
    request.push_back(0x0A);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1), out;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  const grpc::Status s = done.get_future().get();
  if (!s.ok()) {
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) return {"timeout", false};
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE) return {"unavailable", false};
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return {"SERVICE_UNKNOWN", false};
    return {"error", false};
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (out.Dump(&slices).ok()) {
    for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  }
  const int status = bytes.size() >= 2 && bytes[0] == 0x08 ? static_cast<unsigned char>(bytes[1]) : 0;
  if (status == 1) return {"SERVING", true};
  if (status == 2) return {"NOT_SERVING", false};
  return {"UNKNOWN", false};
}

}  // namespace

struct Prober::Pair {
  int probe = 0, replica = 0;
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool suspended = false;  // restarting: no checks until Resume
  bool resumed = false;
};

std::string ProbesCsv(const std::vector<ProbeSpec>& probes, const std::vector<ProbeCheck>& checks) {
  std::string out = "t_s,probe,replica,status,latency_ms,state\n";
  for (const ProbeCheck& c : checks) {
    out += fmt::format("{:.3f},{},{},{},{:.3f},{}\n", c.t_s, probes.at(static_cast<size_t>(c.probe)).name, c.replica,
                       c.status, c.latency_ms, c.healthy ? "healthy" : "unhealthy");
  }
  return out;
}

Prober::Prober(std::vector<ProbeSpec> probes, std::vector<std::string> http_addresses,
               std::vector<std::string> grpc_addresses, Clock::time_point zero, OnChange on_change)
    : probes_(std::move(probes)),
      http_addresses_(std::move(http_addresses)),
      grpc_addresses_(std::move(grpc_addresses)),
      zero_(zero),
      on_change_(std::move(on_change)) {
  const size_t replicas = std::max(http_addresses_.size(), grpc_addresses_.size());
  http_addresses_.resize(replicas);
  grpc_addresses_.resize(replicas);
  for (size_t p = 0; p < probes_.size(); ++p) {
    for (size_t r = 0; r < replicas; ++r) {
      auto pair = std::make_unique<Pair>();
      pair->probe = static_cast<int>(p);
      pair->replica = static_cast<int>(r);
      pairs_.push_back(std::move(pair));
    }
  }
}

Prober::~Prober() { Stop(); }

void Prober::Start() {
  for (auto& pair : pairs_) {
    Pair* p = pair.get();
    p->thread = std::thread([this, p] { Run(*p); });
  }
}

void Prober::Stop() {
  for (auto& pair : pairs_) {
    {
      std::lock_guard lock(pair->mu);
      pair->stop = true;
    }
    pair->cv.notify_all();
  }
  for (auto& pair : pairs_) {
    if (pair->thread.joinable()) pair->thread.join();
  }
}

void Prober::Resume(int replica) {
  for (auto& pair : pairs_) {
    if (pair->replica != replica) continue;
    {
      std::lock_guard lock(pair->mu);
      if (!pair->suspended) continue;
      pair->suspended = false;
      pair->resumed = true;
    }
    pair->cv.notify_all();
  }
}

std::vector<ProbeCheck> Prober::checks() const {
  std::lock_guard lock(mu_);
  std::vector<ProbeCheck> out = checks_;
  std::stable_sort(out.begin(), out.end(), [](const ProbeCheck& a, const ProbeCheck& b) { return a.t_s < b.t_s; });
  return out;
}

void Prober::Run(Pair& pair) {
  const ProbeSpec& spec = probes_[static_cast<size_t>(pair.probe)];
  const std::string& address = (spec.kind == ProbeSpec::Kind::kGrpc ? grpc_addresses_ : http_addresses_)
      [static_cast<size_t>(pair.replica)];
  CURL* easy = nullptr;
  std::unique_ptr<grpc::GenericStub> stub;
  std::string url;
  if (spec.kind == ProbeSpec::Kind::kHttp) {
    EnsureCurl();
    easy = curl_easy_init();
    url = "http://" + address + spec.path;
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "herd-probe");
  } else {
    stub = std::make_unique<grpc::GenericStub>(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }

  bool healthy = true;
  int successes = 0, failures = 0;
  Clock::time_point next = zero_ + spec.initial_delay;
  for (;;) {
    {
      std::unique_lock lock(pair.mu);
      if (pair.suspended) {
        pair.cv.wait(lock, [&] { return pair.stop || !pair.suspended; });
      } else {
        pair.cv.wait_until(lock, next, [&] { return pair.stop; });
      }
      if (pair.stop) break;
      if (pair.resumed) {
        // A restarted replica: a fresh state, first check after initial_delay.
        pair.resumed = false;
        healthy = true;
        successes = failures = 0;
        next = Clock::now() + spec.initial_delay;
        continue;
      }
      if (Clock::now() < next) continue;
    }
    const Clock::time_point start = Clock::now();
    const CheckResult result = easy ? CheckHttp(easy, url, spec.timeout) : CheckGrpc(*stub, spec.service, spec.timeout);
    const Clock::time_point end = Clock::now();
    bool changed = false;
    if (result.pass) {
      failures = 0;
      if (!healthy && ++successes >= spec.success_threshold) {
        healthy = true;
        changed = true;
      }
    } else {
      successes = 0;
      if (healthy && ++failures >= spec.failure_threshold) {
        healthy = false;
        changed = true;
      }
    }
    {
      std::lock_guard lock(mu_);
      checks_.push_back(ProbeCheck{std::chrono::duration<double>(start - zero_).count(), pair.probe, pair.replica,
                                   result.status,
                                   std::chrono::duration<double, std::milli>(end - start).count(), healthy});
    }
    if (changed && !healthy && spec.action == ProbeSpec::Action::kRestart) {
      std::lock_guard lock(pair.mu);
      pair.suspended = true;
    }
    if (changed && on_change_) on_change_(pair.probe, pair.replica, healthy);
    next = std::max(start + spec.period, end);
  }
  if (easy) curl_easy_cleanup(easy);
}

}  // namespace herd
