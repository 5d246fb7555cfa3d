// ModelTransport is a simulated server on the engine's clock: each attempt
// waits for one of `servers` workers (FIFO; 0 = unlimited), is served for a
// latency drawn from its distribution, and ends in ok or, with error_rate,
// in `error`. A client whose timeout passes first sees kTimeout, but the
// server still does the work, as a real one would: that is what lets a
// retry storm keep a server saturated after the trigger is gone.
//
// On the virtual clock it makes herd's policies testable exactly and lets
// people run what-if experiments in seconds; the book's simulator (fig.
// 9-2..9-5) is this model with a latency of two uniform draws in [0, 100) ms
// and error_rate 1.
#pragma once

#include <deque>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/rng.h"
#include "engine/scheduler.h"
#include "transport/transport.h"

namespace herd {

struct ModelSpec {
  Duration latency_min{};          // each term is uniform in [min, max)
  Duration latency_max{};
  int latency_terms = 1;           // latency is the sum of this many terms
  int servers = 0;                 // 0 = unlimited concurrency
  double error_rate = 0;
  Outcome error = Outcome::kServerError;
  std::optional<Duration> pushback;  // sent with errors (Retry-After)
};

// Parses {"latency":"0ms-100ms","latency_terms":2,"servers":0,
// "error_rate":1,"error":"server_error","retry_after":"1s"}; the error
// message names the field.
bool ParseModelSpec(const nlohmann::json& j, ModelSpec* out, std::string* error);

class ModelTransport final : public Transport, public TimerTarget {
 public:
  ModelTransport(Scheduler& scheduler, const ModelSpec& spec, uint64_t seed);

  void SetSink(AttemptSink* sink) override { sink_ = sink; }
  void Send(const Attempt& attempt) override;
  int64_t in_flight() const override { return in_flight_; }
  void OnTimer(uint64_t token) override;

  int64_t busy_servers() const { return busy_; }
  int64_t queued() const { return static_cast<int64_t>(queue_.size()); }
  uint64_t served() const { return served_; }  // requests the server finished

 private:
  struct Slot {
    uint64_t cookie = 0;
    Outcome outcome = Outcome::kOk;
    bool answered = false;   // the client has its result
    uint8_t timers = 0;      // timers still pending on this slot
    bool in_use = false;
    bool queued = false;     // waiting for a worker
  };
  void StartService(uint32_t slot);
  void Answer(uint32_t slot, Outcome outcome);
  void MaybeFree(uint32_t slot);
  Duration DrawLatency();

  Scheduler& scheduler_;
  ModelSpec spec_;
  Rng rng_;
  AttemptSink* sink_ = nullptr;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::deque<uint32_t> queue_;
  int64_t busy_ = 0;
  int64_t in_flight_ = 0;
  uint64_t served_ = 0;
};

}  // namespace herd
