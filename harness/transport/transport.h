// Transport is how an attempt reaches a target: HTTP (libcurl multi), gRPC,
// or the model (a simulated server on the engine's clock). The engine hands
// it an attempt and later hears back through an AttemptSink, once per
// attempt, with the outcome. A transport enforces the attempt's timeout
// itself and reports it as Outcome::kTimeout.
//
// Completion is an interface call with a cookie, not a std::function, so
// sending an attempt allocates nothing in the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/duration.h"
#include "common/outcome.h"
#include "scenario/scenario.h"

namespace herd {

enum class Op : uint8_t { kGet, kPut, kDelete };

struct Attempt {
  uint64_t cookie = 0;        // handed back with the result
  uint32_t fleet = 0;
  uint64_t instance = 0;      // index within the fleet
  Op op = Op::kGet;
  std::string_view key;       // valid until Send returns: copy what you keep
  std::string_view value;     // (put)
  std::string_view client_id; // X-Client-Id / x-client-id
  Duration timeout{};         // this attempt's deadline, from send
  // For targets other than kvd: the request template to fill in ({key},
  // {value}, {key_b64}, {value_b64}, {instance}, {seq}); null means kvd's
  // GET|PUT|DELETE /v1/{key}.
  const HttpTemplate* request = nullptr;
  uint64_t seq = 0;           // the instance's request number, from 1
};

struct AttemptResult {
  Outcome outcome = Outcome::kOk;
  // Retry-After or grpc-retry-pushback-ms when the server sent one
  // (negative: the server said do not retry).
  std::optional<Duration> pushback;
};

class AttemptSink {
 public:
  virtual ~AttemptSink() = default;
  virtual void OnAttemptDone(uint64_t cookie, const AttemptResult& result) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void SetSink(AttemptSink* sink) = 0;
  // Starts an attempt. The result arrives later through the sink, never
  // from inside Send (so the engine's state is consistent when it does).
  virtual void Send(const Attempt& attempt) = 0;
  // Attempts sent and not yet completed.
  virtual int64_t in_flight() const = 0;
  // A readiness probe's verdict on a replica: attempts go to ready replicas
  // only (to all when none is ready). Transports with one replica ignore it.
  virtual void SetReplicaReady(size_t /*replica*/, bool /*ready*/) {}
};

}  // namespace herd
