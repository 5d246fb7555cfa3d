// GrpcServer is kvd's gRPC frontend: keyvalue.KeyValue (targets/proto) on
// the callback API, over the same Service as REST, so limits, throttling,
// shedding and faults behave the same. Statuses map as herd classifies them:
//   429 -> RESOURCE_EXHAUSTED with trailer grpc-retry-pushback-ms
//   503 -> UNAVAILABLE (with pushback when shed), 404 -> NOT_FOUND,
//   400/413 -> INVALID_ARGUMENT, 500 -> INTERNAL, 504 -> DEADLINE_EXCEEDED.
// The standard grpc.health.v1 service is on too, NOT_SERVING while draining.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "context.h"

namespace grpc {
class Server;
class Status;
}  // namespace grpc

namespace kvd {

// The gRPC status code kvd sends for an HTTP-style status.
int GrpcCodeForStatus(int status);

class GrpcServer {
 public:
  GrpcServer(Context& ctx, boost::asio::any_io_executor timers);
  ~GrpcServer();

  // Builds and starts the server on `address` (port 0 picks one). False
  // with *error when it cannot listen.
  bool Start(const std::string& address, std::string* error);
  std::string address() const { return address_; }

  void SetServing(bool serving);
  // Stops taking calls and waits for those in flight until `deadline`.
  void Shutdown(std::chrono::system_clock::time_point deadline);

 private:
  class Handler;
  Context& ctx_;
  boost::asio::any_io_executor timers_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace kvd
