#include "transport/grpc.h"

#include <atomic>
#include <thread>

#include <boost/asio/post.hpp>
#include <grpcpp/grpcpp.h>

#include "keyvalue.grpc.pb.h"
#include "transport/replicas.h"

namespace herd {

namespace asio = boost::asio;

Outcome OutcomeForGrpc(int code, const std::string& message) {
  switch (static_cast<grpc::StatusCode>(code)) {
    case grpc::StatusCode::OK: return Outcome::kOk;
    case grpc::StatusCode::NOT_FOUND: return Outcome::kNotFound;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return Outcome::kThrottled;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return Outcome::kTimeout;
    case grpc::StatusCode::UNAVAILABLE:
      // gRPC reports a failed connection as UNAVAILABLE too; only its own
      // wording tells it from a server that sheds load.
      if (message.find("onnection refused") != std::string::npos ||
          message.find("failed to connect") != std::string::npos) {
        return Outcome::kRefused;
      }
      if (message.find("Socket closed") != std::string::npos ||
          message.find("onnection reset") != std::string::npos ||
          message.find("Broken pipe") != std::string::npos) {
        return Outcome::kReset;
      }
      return Outcome::kShed;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return Outcome::kClientError;
    case grpc::StatusCode::CANCELLED: return Outcome::kOtherError;
    default: return Outcome::kServerError;
  }
}

namespace {

// One call in flight: gRPC needs a fresh ClientContext per call, so this
// is the one allocation per attempt herd cannot avoid with gRPC.
struct Call {
  uint64_t cookie = 0;
  grpc::ClientContext context;
  grpc::Status status;
  keyvalue::GetResponse get_response;
  keyvalue::PutResponse put_response;
  keyvalue::DeleteResponse delete_response;
  std::unique_ptr<grpc::ClientAsyncResponseReader<keyvalue::GetResponse>> get;
  std::unique_ptr<grpc::ClientAsyncResponseReader<keyvalue::PutResponse>> put;
  std::unique_ptr<grpc::ClientAsyncResponseReader<keyvalue::DeleteResponse>> del;
};

}  // namespace

class GrpcTransport::Impl {
 public:
  Impl(asio::io_context& ioc, const std::vector<std::string>& addresses, int per_address)
      : ioc_(ioc), per_address_(static_cast<size_t>(std::max(1, per_address))), replicas_(addresses.size()) {
    for (const auto& address : addresses) {
      for (int i = 0; i < std::max(1, per_address); ++i) {
        grpc::ChannelArguments args;
        // Each channel its own connection, as separate clients would have.
        args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
        args.SetInt("grpc.channel_id", i);
        stubs_.push_back(keyvalue::KeyValue::NewStub(
            grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args)));
      }
    }
    poller_ = std::thread([this] { Poll(); });
  }

  ~Impl() {
    cq_.Shutdown();
    poller_.join();
  }

  void SetSink(AttemptSink* sink) { sink_ = sink; }
  int64_t in_flight() const { return in_flight_; }
  void SetReplicaReady(size_t replica, bool ready) { replicas_.SetReady(replica, ready); }

  void Send(const Attempt& a) {
    auto call = std::make_unique<Call>();
    call->cookie = a.cookie;
    call->context.set_deadline(std::chrono::system_clock::now() + a.timeout);
    call->context.AddMetadata("x-client-id", std::string(a.client_id));
    const size_t replica = replicas_.Next();
    keyvalue::KeyValue::Stub& stub = *stubs_[replica * per_address_ + next_++ % per_address_];
    Call* raw = call.release();  // owned by the completion queue until Poll takes it back
    ++in_flight_;
    switch (a.op) {
      case Op::kGet: {
        keyvalue::GetRequest req;
        req.set_key(std::string(a.key));
        raw->get = stub.AsyncGet(&raw->context, req, &cq_);
        raw->get->Finish(&raw->get_response, &raw->status, raw);
        break;
      }
      case Op::kPut: {
        keyvalue::PutRequest req;
        req.set_key(std::string(a.key));
        req.set_value(std::string(a.value));
        raw->put = stub.AsyncPut(&raw->context, req, &cq_);
        raw->put->Finish(&raw->put_response, &raw->status, raw);
        break;
      }
      case Op::kDelete: {
        keyvalue::DeleteRequest req;
        req.set_key(std::string(a.key));
        raw->del = stub.AsyncDelete(&raw->context, req, &cq_);
        raw->del->Finish(&raw->delete_response, &raw->status, raw);
        break;
      }
    }
  }

 private:
  void Poll() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      AttemptResult r;
      r.outcome = OutcomeForGrpc(call->status.error_code(), call->status.error_message());
      const auto& trailers = call->context.GetServerTrailingMetadata();
      if (auto it = trailers.find("grpc-retry-pushback-ms"); it != trailers.end()) {
        r.pushback = std::chrono::milliseconds(std::atoll(std::string(it->second.data(), it->second.size()).c_str()));
      }
      const uint64_t cookie = call->cookie;
      // Back to the engine's thread; the engine is single-threaded.
      asio::post(ioc_, [this, cookie, r] {
        --in_flight_;
        sink_->OnAttemptDone(cookie, r);
      });
    }
  }

  asio::io_context& ioc_;
  grpc::CompletionQueue cq_;
  std::vector<std::unique_ptr<keyvalue::KeyValue::Stub>> stubs_;
  std::thread poller_;
  AttemptSink* sink_ = nullptr;
  size_t next_ = 0;
  size_t per_address_;      // channels per replica: stubs_ holds replica r's at [r * per_address_, ...)
  ReplicaPicker replicas_;
  int64_t in_flight_ = 0;  // engine thread only
};

GrpcTransport::GrpcTransport(asio::io_context& ioc, const std::vector<std::string>& addresses,
                             int channels_per_address)
    : impl_(std::make_unique<Impl>(ioc, addresses, channels_per_address)) {}
GrpcTransport::~GrpcTransport() = default;
void GrpcTransport::SetSink(AttemptSink* sink) { impl_->SetSink(sink); }
void GrpcTransport::Send(const Attempt& a) { impl_->Send(a); }
int64_t GrpcTransport::in_flight() const { return impl_->in_flight(); }
void GrpcTransport::SetReplicaReady(size_t replica, bool ready) { impl_->SetReplicaReady(replica, ready); }

}  // namespace herd
