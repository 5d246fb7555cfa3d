// HttpTransport sends attempts with libcurl's multi interface, driven by the
// engine's Asio event loop: libcurl tells us which sockets to watch and when
// its next timeout is (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION), Asio waits
// (on one epoll set holding those sockets), and we hand readiness back with
// curl_multi_socket_action. No polling loop, one thread, keep-alive
// connections reused across attempts. The per-attempt work besides
// libcurl's own is kept near nothing (see http.cc); nothing is allocated per
// attempt once a handle's buffers have grown.
//
// Connections: "shared" keeps at most `pool_size` connections to the target
// (requests beyond wait for one); "per_instance" lets every concurrently
// busy instance have its own, as a fleet of separate clients would.
//
// Outcomes: 2xx ok, 404 not_found, 429 throttled, 503 shed, other 5xx
// server_error, other 4xx client_error; libcurl's timeout is timeout,
// "couldn't connect" refused, a broken or empty answer reset. Retry-After
// (seconds) comes back as the pushback.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "engine/scheduler.h"
#include "scenario/scenario.h"
#include "transport/transport.h"

namespace herd {

struct HttpTargetSpec {
  std::vector<std::string> base_urls;  // "http://127.0.0.1:8080", one per replica
  std::vector<HttpTemplate> templates; // empty: kvd's /v1/{key}
  bool shared_pool = true;
  int pool_size = 64;
};

// Classifies an HTTP status into an outcome (DESIGN.md's closed set).
Outcome OutcomeForStatus(long status);

// Fills a request template's placeholders ({key}, {value}, {key_b64},
// {value_b64}, {instance}, {seq}) from the attempt into *out. Unknown
// {names} are left as they are.
void ExpandTemplate(std::string_view text, const Attempt& attempt, std::string* out);

class HttpTransport final : public Transport {
 public:
  HttpTransport(boost::asio::io_context& ioc, Scheduler& scheduler, const HttpTargetSpec& spec);
  ~HttpTransport() override;

  void SetSink(AttemptSink* sink) override;
  void Send(const Attempt& attempt) override;
  int64_t in_flight() const override;
  void SetReplicaReady(size_t replica, bool ready) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd
