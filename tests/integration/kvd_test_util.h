// Shared helpers for kvd's integration tests: a gRPC client for
// keyvalue.KeyValue and grpc.health.v1, and small polling utilities.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "keyvalue.grpc.pb.h"
#include "support/http.h"
#include "support/process.h"

namespace herd::test {

// Starts kvd or fails the test (fatally) with its stderr.
#define START_KVD(kvd, ...) ASSERT_TRUE((kvd).Start(__VA_ARGS__)) << (kvd).Diagnostics()

// Polls cond every 20 ms until it holds or `timeout` passes.
inline bool Eventually(const std::function<bool()>& cond, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis(20));
  }
}

// A keyvalue.KeyValue client on an insecure channel to kvd's gRPC address.
class KvClient {
 public:
  explicit KvClient(const std::string& address)
      : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        stub_(keyvalue::KeyValue::NewStub(channel_)) {}

  struct Call {
    grpc::Status status;
    std::string value;                          // Get's value
    std::multimap<std::string, std::string> trailers;
    std::string Trailer(const std::string& name) const {
      auto it = trailers.find(name);
      return it == trailers.end() ? std::string() : it->second;
    }
    bool ok() const { return status.ok(); }
    grpc::StatusCode code() const { return status.error_code(); }
    std::string Describe() const {
      return std::to_string(static_cast<int>(status.error_code())) + " " + status.error_message();
    }
  };

  Call Get(const std::string& key, const std::string& client_id = "", Millis timeout = Millis(5000)) {
    keyvalue::GetRequest req;
    req.set_key(key);
    keyvalue::GetResponse resp;
    grpc::ClientContext ctx;
    Prepare(&ctx, client_id, timeout);
    Call c;
    c.status = stub_->Get(&ctx, req, &resp);
    c.value = resp.value();
    Collect(ctx, &c);
    return c;
  }

  Call Put(const std::string& key, const std::string& value, const std::string& client_id = "",
           Millis timeout = Millis(5000)) {
    keyvalue::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    keyvalue::PutResponse resp;
    grpc::ClientContext ctx;
    Prepare(&ctx, client_id, timeout);
    Call c;
    c.status = stub_->Put(&ctx, req, &resp);
    Collect(ctx, &c);
    return c;
  }

  Call Delete(const std::string& key, const std::string& client_id = "",
              Millis timeout = Millis(5000)) {
    keyvalue::DeleteRequest req;
    req.set_key(key);
    keyvalue::DeleteResponse resp;
    grpc::ClientContext ctx;
    Prepare(&ctx, client_id, timeout);
    Call c;
    c.status = stub_->Delete(&ctx, req, &resp);
    Collect(ctx, &c);
    return c;
  }

  // grpc.health.v1.Health/Check for the whole server (service ""), through
  // the generic stub: no health .proto is needed. The request is the empty
  // HealthCheckRequest; the answer's field 1 (varint) is the status
  // (1 SERVING, 2 NOT_SERVING). Returns -1 on an RPC error (*status set).
  int HealthCheck(grpc::Status* status = nullptr, Millis timeout = Millis(5000)) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    grpc::ByteBuffer request;  // empty message
    grpc::Slice empty("", 0);
    request = grpc::ByteBuffer(&empty, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                      &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status s = done.get_future().get();
    if (status) *status = s;
    if (!s.ok()) return -1;
    std::vector<grpc::Slice> slices;
    if (!response.Dump(&slices).ok()) return -1;
    std::string bytes;
    for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
    if (bytes.empty()) return 0;  // UNKNOWN (proto3 default omitted)
    if (bytes.size() >= 2 && bytes[0] == 0x08) return static_cast<unsigned char>(bytes[1]);
    return -2;
  }

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  static void Prepare(grpc::ClientContext* ctx, const std::string& client_id, Millis timeout) {
    ctx->set_deadline(std::chrono::system_clock::now() + timeout);
    if (!client_id.empty()) ctx->AddMetadata("x-client-id", client_id);
  }
  static void Collect(const grpc::ClientContext& ctx, Call* c) {
    for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
      c->trailers.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<keyvalue::KeyValue::Stub> stub_;
};

}  // namespace herd::test
