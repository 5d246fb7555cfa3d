// Engine runs the fleets of a scenario: every instance is a small state
// machine (idle -> attempt in flight -> backing off -> ... -> next request)
// driven by the Scheduler's timers and the Transport's completions, on one
// thread. An instance costs bytes (its Rng, a few times and counters), not a
// thread, so 100,000 of them fit in a few megabytes.
//
// Arrival models (DESIGN.md):
//   closed  each instance: request, retries, result, think, next request,
//           until requests_per_instance (0 = no end). With unbounded
//           attempts this is the book's retry loop.
//   open    the fleet issues requests at `rate` (then linear `stages`),
//           uniformly spaced or Poisson; each goes to an idle instance, or
//           waits in the fleet's queue when every instance is busy. Either
//           way its intended start is kept, so end-to-end latency includes
//           the wait (no coordinated omission).
//
// An attempt is sent unless the adaptive throttle (first attempts) or the
// breaker rejects it locally; a retry also needs the budget. A local
// rejection abandons the request and is counted, never sent.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/rng.h"
#include "engine/scheduler.h"
#include "engine/workload.h"
#include "measure/timeseries.h"
#include "policy/adaptive_throttle.h"
#include "policy/breaker.h"
#include "policy/budget.h"
#include "scenario/scenario.h"
#include "transport/transport.h"

namespace herd {

struct EngineTotals {
  uint64_t offered = 0, attempts = 0, succeeded = 0, failed = 0, abandoned = 0;
  uint64_t unfinished = 0;  // requests still going when the run stopped
};

class Engine final : public TimerTarget, public AttemptSink {
 public:
  Engine(const Scenario& scenario, Scheduler& scheduler, Transport& transport,
         TimeSeries& series);
  ~Engine() override;

  // Schedules every fleet's first requests, relative to now.
  void Start();
  // No new requests and no more retries from now on; attempts in flight
  // still complete and are recorded.
  void Stop();
  bool stopped() const { return stopped_; }
  int64_t in_flight() const { return in_flight_; }

  EngineTotals Totals() const;
  // Requests succeeded per instance of a fleet (for fairness analyses).
  std::vector<uint64_t> SucceededPerInstance(size_t fleet) const;
  // Attempts per instance of a fleet.
  std::vector<uint32_t> AttemptsPerInstance(size_t fleet) const;

  void OnTimer(uint64_t token) override;
  void OnAttemptDone(uint64_t cookie, const AttemptResult& result) override;

 private:
  struct Instance;
  struct FleetState;

  void Wake(FleetState& f, uint32_t index);
  void Arrive(FleetState& f);
  void StartRequest(FleetState& f, uint32_t index, Duration intended, bool offered);
  void SendAttempt(FleetState& f, uint32_t index);
  void EndRequest(FleetState& f, uint32_t index, Result result);
  void ScheduleWake(FleetState& f, uint32_t index, Duration when);
  double RateAt(const FleetState& f, Duration t) const;

  const Scenario& scenario_;
  Scheduler& scheduler_;
  Transport& transport_;
  TimeSeries& series_;
  std::vector<std::unique_ptr<FleetState>> fleets_;
  std::string key_buffer_;
  std::string client_buffer_;
  int64_t in_flight_ = 0;
  bool stopped_ = false;
  Duration started_at_{};
};

}  // namespace herd
