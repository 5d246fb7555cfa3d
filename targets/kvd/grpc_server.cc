#include "grpc_server.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "keyvalue.grpc.pb.h"

namespace kvd {

using Clock = std::chrono::steady_clock;

int GrpcCodeForStatus(int status) {
  switch (status) {
    case 200: case 201: case 204: return grpc::StatusCode::OK;
    case 400: case 413: case 414: case 431: return grpc::StatusCode::INVALID_ARGUMENT;
    case 401: return grpc::StatusCode::UNAUTHENTICATED;
    case 403: return grpc::StatusCode::PERMISSION_DENIED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 405: case 501: return grpc::StatusCode::UNIMPLEMENTED;
    case 408: case 504: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case 409: return grpc::StatusCode::ABORTED;
    case 429: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    default:
      if (status >= 500) return grpc::StatusCode::INTERNAL;
      if (status >= 400) return grpc::StatusCode::FAILED_PRECONDITION;
      return grpc::StatusCode::UNKNOWN;
  }
}

namespace {

// "ipv4:127.0.0.1:5000" -> "127.0.0.1"; "ipv6:[::1]:5000" -> "::1".
std::string PeerAddress(const std::string& peer) {
  std::string s = peer;
  if (auto colon = s.find(':'); colon != std::string::npos) s = s.substr(colon + 1);
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    return close == std::string::npos ? s : s.substr(1, close - 1);
  }
  if (auto colon = s.rfind(':'); colon != std::string::npos) s = s.substr(0, colon);
  return s;
}

}  // namespace

class GrpcServer::Handler final : public keyvalue::KeyValue::CallbackService {
 public:
  Handler(Context& ctx, boost::asio::any_io_executor timers) : ctx_(ctx), timers_(std::move(timers)) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* call, const keyvalue::GetRequest* req,
                                keyvalue::GetResponse* resp) override {
    return Serve(call, Method::kGet, req->key(), {}, [resp](Response& r) {
      resp->set_value(std::move(r.body));
    });
  }

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* call, const keyvalue::PutRequest* req,
                                keyvalue::PutResponse*) override {
    return Serve(call, Method::kPut, req->key(), req->value(), [](Response&) {});
  }

  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* call,
                                   const keyvalue::DeleteRequest* req,
                                   keyvalue::DeleteResponse*) override {
    return Serve(call, Method::kDelete, req->key(), {}, [](Response&) {});
  }

 private:
  template <typename OnOk>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* call, Method method,
                                  const std::string& key, const std::string& value, OnOk on_ok) {
    grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
    Request r;
    r.protocol = Protocol::kGrpc;
    r.method = method;
    r.key = key;
    r.value = value;
    const auto& md = call->client_metadata();
    if (auto it = md.find("x-client-id"); it != md.end()) {
      r.client.assign(it->second.data(), it->second.size());
    } else {
      r.client = PeerAddress(call->peer());
    }
    r.id = ctx_.service().NextRequestId();
    Clock::time_point start = r.start;
    ctx_.service().Handle(std::move(r), timers_,
                          [this, call, reactor, method, start, on_ok](Response&& resp) mutable {
                            int code = GrpcCodeForStatus(resp.status);
                            if (code == grpc::StatusCode::OK) on_ok(resp);
                            if (resp.pushback_ms >= 0 &&
                                (resp.status == 429 || resp.status == 503)) {
                              call->AddTrailingMetadata("grpc-retry-pushback-ms",
                                                        std::to_string(resp.pushback_ms));
                            }
                            ctx_.metrics().Count(Protocol::kGrpc, Route::kKey, method, code,
                                                 Clock::now() - start);
                            std::string message;
                            if (code != grpc::StatusCode::OK) {
                              message = std::move(resp.body);
                              while (!message.empty() && message.back() == '\n') message.pop_back();
                            }
                            reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(code), message));
                          });
    return reactor;
  }

  Context& ctx_;
  boost::asio::any_io_executor timers_;
};

GrpcServer::GrpcServer(Context& ctx, boost::asio::any_io_executor timers)
    : ctx_(ctx), timers_(std::move(timers)) {}

GrpcServer::~GrpcServer() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now());
}

bool GrpcServer::Start(const std::string& address, std::string* error) {
  grpc::EnableDefaultHealthCheckService(true);
  handler_ = std::make_unique<Handler>(ctx_, timers_);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(handler_.get());
  const auto& c = ctx_.config();
  // Room for the largest legal key and value plus framing; a larger message
  // is refused by gRPC itself (RESOURCE_EXHAUSTED) without reaching kvd.
  builder.SetMaxReceiveMessageSize(static_cast<int>(c.max_key_bytes + c.max_value_bytes + 4096));
  server_ = builder.BuildAndStart();
  if (!server_ || port == 0) {
    *error = fmt::format("cannot listen for gRPC on {}", address);
    server_.reset();
    return false;
  }
  address_ = address.substr(0, address.rfind(':')) + ":" + std::to_string(port);
  return true;
}

void GrpcServer::SetServing(bool serving) {
  if (server_ && server_->GetHealthCheckService()) {
    server_->GetHealthCheckService()->SetServingStatus(serving);
  }
}

void GrpcServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  if (server_) {
    server_->Shutdown(deadline);
    server_->Wait();
    server_.reset();
  }
}

}  // namespace kvd
