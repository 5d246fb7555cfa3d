// GrpcTransport sends attempts as keyvalue.KeyValue calls (targets/proto)
// with gRPC's async client API. A completion-queue thread waits for results
// and hands each back to the engine's event loop, so the engine stays on one
// thread. Every call carries metadata x-client-id and a deadline of the
// attempt's timeout.
//
// Outcomes: OK ok, NOT_FOUND not_found, RESOURCE_EXHAUSTED throttled,
// DEADLINE_EXCEEDED timeout, UNAVAILABLE shed when the server said it and
// refused or reset when the connection failed, INVALID_ARGUMENT and the
// other caller errors client_error, the rest server_error. A trailer
// grpc-retry-pushback-ms comes back as the pushback (negative: do not retry).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "engine/scheduler.h"
#include "transport/transport.h"

namespace herd {

// Classifies a gRPC status code and message (for UNAVAILABLE, the message
// tells a server's refusal from a failed connection).
Outcome OutcomeForGrpc(int code, const std::string& message);

class GrpcTransport final : public Transport {
 public:
  // One channel per address and per `channels_per_address` (connections are
  // not shared between channels).
  GrpcTransport(boost::asio::io_context& ioc, const std::vector<std::string>& addresses,
                int channels_per_address);
  ~GrpcTransport() override;

  void SetSink(AttemptSink* sink) override;
  void Send(const Attempt& attempt) override;
  int64_t in_flight() const override;
  void SetReplicaReady(size_t replica, bool ready) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd
