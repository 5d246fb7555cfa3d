#include "engine/engine.h"

#include <algorithm>
#include <fmt/format.h>

namespace herd {

namespace {

// Timer tokens and attempt cookies pack (kind, fleet, instance, generation).
// The generation makes stale timers harmless: an instance bumps it whenever
// it schedules, and ignores any wake that does not carry the current one.
enum : uint64_t { kWakeInstance = 0, kArrival = 1 };

uint64_t Pack(uint64_t kind, uint32_t fleet, uint32_t instance, uint16_t gen) {
  return (kind << 62) | (uint64_t{fleet & 0x3fff} << 48) | (uint64_t{instance} << 16) | gen;
}
uint64_t KindOf(uint64_t t) { return t >> 62; }
uint32_t FleetOf(uint64_t t) { return static_cast<uint32_t>((t >> 48) & 0x3fff); }
uint32_t InstanceOf(uint64_t t) { return static_cast<uint32_t>(t >> 16); }
uint16_t GenOf(uint64_t t) { return static_cast<uint16_t>(t); }

// The server did not fail us: a 4xx is the client's own doing, so it neither
// trips breakers nor spends retry tokens.
bool CountsAsFailure(Outcome o) { return !IsSuccess(o) && o != Outcome::kClientError; }

// The backend took the request in (SRE adaptive throttling's "accepts"):
// anything but an overload rejection or no answer at all.
bool Accepted(Outcome o) {
  return IsSuccess(o) || o == Outcome::kServerError || o == Outcome::kClientError;
}

}  // namespace

struct Engine::Instance {
  enum class State : uint8_t { kIdle, kWaitStart, kInFlight, kBackoff, kDone };
  Rng rng;
  Duration intended{};    // the current request's intended start
  Duration sent{};        // the current attempt's send time
  Duration backoff{};     // the previous retry delay (decorrelated jitter)
  Duration next_start{};  // when a waiting instance starts its next request
  uint64_t requests = 0;
  uint64_t succeeded = 0;
  uint32_t attempts_total = 0;
  uint32_t key = 0;
  uint16_t attempts = 0;  // of the current request
  uint16_t gen = 0;
  uint16_t request_template = 0;  // index into workload.requests, when given
  State state = State::kIdle;
  Op op = Op::kGet;
  bool requests_from_queue = false;  // the next request was offered when it arrived
};

struct Engine::FleetState {
  FleetState(uint32_t i, const Fleet& s) : index(i), spec(s), picker(s.workload) {}
  uint32_t index;
  const Fleet& spec;
  WorkloadPicker picker;
  std::vector<Instance> instances;
  std::vector<TokenBucketBudget> token_budgets;  // one per instance, when configured
  std::vector<RatioBudget> ratio_budgets;
  std::vector<Breaker> breakers;
  std::vector<AdaptiveThrottle> throttles;
  // open model
  std::vector<uint32_t> idle;
  std::deque<Duration> waiting;  // intended starts of requests no instance could take yet
  Duration next_arrival{};
  Rng arrival_rng;
  int64_t in_flight = 0;
  EngineTotals totals;
};

Engine::Engine(const Scenario& scenario, Scheduler& scheduler, Transport& transport,
               TimeSeries& series)
    : scenario_(scenario), scheduler_(scheduler), transport_(transport), series_(series) {
  transport_.SetSink(this);
  for (uint32_t fi = 0; fi < scenario.fleets.size(); ++fi) {
    const Fleet& spec = scenario.fleets[fi];
    auto f = std::make_unique<FleetState>(fi, spec);
    const auto n = static_cast<size_t>(spec.instances);
    f->instances.resize(n);
    for (size_t i = 0; i < n; ++i) f->instances[i].rng = Rng::For(scenario.seed, fi, i);
    f->arrival_rng = Rng::For(scenario.seed, fi, UINT64_MAX);
    if (spec.budget) {
      const BudgetSpec& b = *spec.budget;
      if (b.kind == BudgetSpec::Kind::kTokenBucket) {
        f->token_budgets.assign(n, TokenBucketBudget(b.token_bucket.max_tokens, b.token_bucket.token_ratio));
      } else {
        f->ratio_budgets.assign(n, RatioBudget(b.ratio.percent, b.ratio.min_per_s, b.ratio.ttl));
      }
    }
    if (spec.breaker) {
      f->breakers.assign(n, Breaker(spec.breaker->failures, spec.breaker->open_for,
                                    spec.breaker->half_open_probes));
    }
    if (spec.adaptive_throttle) {
      f->throttles.assign(n, AdaptiveThrottle(spec.adaptive_throttle->k, spec.adaptive_throttle->window));
    }
    fleets_.push_back(std::move(f));
  }
}

Engine::~Engine() = default;

void Engine::Start() {
  started_at_ = scheduler_.now();
  for (auto& fp : fleets_) {
    FleetState& f = *fp;
    if (f.spec.arrival.model == Arrival::Model::kClosed) {
      for (uint32_t i = 0; i < f.instances.size(); ++i) {
        Instance& in = f.instances[i];
        in.state = Instance::State::kWaitStart;
        in.next_start = started_at_ + in.rng.Between(Duration::zero(), f.spec.start_spread);
        ScheduleWake(f, i, in.next_start);
      }
    } else {
      // Idle instances are taken from the back: put instance 0 there.
      f.idle.resize(f.instances.size());
      for (uint32_t i = 0; i < f.idle.size(); ++i) f.idle[i] = static_cast<uint32_t>(f.idle.size() - 1 - i);
      f.next_arrival = started_at_;
      scheduler_.At(f.next_arrival, this, Pack(kArrival, f.index, 0, 0));
    }
  }
}

void Engine::Stop() { stopped_ = true; }

void Engine::ScheduleWake(FleetState& f, uint32_t index, Duration when) {
  Instance& in = f.instances[index];
  ++in.gen;
  scheduler_.At(when, this, Pack(kWakeInstance, f.index, index, in.gen));
}

void Engine::OnTimer(uint64_t token) {
  FleetState& f = *fleets_[FleetOf(token)];
  if (KindOf(token) == kArrival) return Arrive(f);
  const uint32_t index = InstanceOf(token);
  if (GenOf(token) != f.instances[index].gen) return;  // superseded
  Wake(f, index);
}

void Engine::Wake(FleetState& f, uint32_t index) {
  Instance& in = f.instances[index];
  if (stopped_) {
    in.state = Instance::State::kDone;
    return;
  }
  switch (in.state) {
    case Instance::State::kWaitStart: {
      const bool offered = in.requests_from_queue;
      in.requests_from_queue = false;
      return StartRequest(f, index, in.next_start, offered);
    }
    case Instance::State::kBackoff:
      return SendAttempt(f, index);
    default:
      return;
  }
}

double Engine::RateAt(const FleetState& f, Duration t) const {
  const Arrival& a = f.spec.arrival;
  double rate = a.rate;
  Duration at = t - started_at_;
  for (const Stage& s : a.stages) {
    if (at < s.over) {
      double frac = s.over.count() > 0 ? static_cast<double>(at.count()) / static_cast<double>(s.over.count()) : 1;
      return rate + (s.to - rate) * frac;
    }
    at -= s.over;
    rate = s.to;
  }
  return rate;
}

void Engine::Arrive(FleetState& f) {
  if (stopped_) return;
  const Duration intended = f.next_arrival;
  const double rate = RateAt(f, intended);
  if (rate <= 0) {
    // Nothing to send yet (a ramp from zero): look again shortly.
    f.next_arrival = intended + std::chrono::milliseconds(10);
  } else {
    const Duration mean(static_cast<int64_t>(1e9 / rate));
    f.next_arrival = intended + (f.spec.arrival.spacing == Arrival::Spacing::kPoisson
                                     ? f.arrival_rng.Exponential(mean)
                                     : mean);
    if (!f.idle.empty()) {
      uint32_t index = f.idle.back();
      f.idle.pop_back();
      StartRequest(f, index, intended, /*offered=*/false);
    } else {
      series_.Offered(f.index, intended);
      ++f.totals.offered;
      f.waiting.push_back(intended);
    }
  }
  scheduler_.At(f.next_arrival, this, Pack(kArrival, f.index, 0, 0));
}

void Engine::StartRequest(FleetState& f, uint32_t index, Duration intended, bool offered) {
  Instance& in = f.instances[index];
  const Duration now = scheduler_.now();
  ++in.requests;
  in.attempts = 0;
  in.intended = intended;
  in.backoff = f.spec.retry.base;
  const auto& templates = f.spec.workload.requests;
  if (templates.empty()) {
    in.op = f.picker.PickOp(in.rng);
  } else {
    in.request_template = static_cast<uint16_t>(in.rng.Next() % templates.size());
    const std::string& m = templates[in.request_template].method;
    in.op = m == "PUT" ? Op::kPut : m == "DELETE" ? Op::kDelete : Op::kGet;
  }
  in.key = static_cast<uint32_t>(f.picker.PickKey(in.rng));
  if (!offered) {  // a request that waited in the open-model queue was counted on arrival
    series_.Offered(f.index, intended);
    ++f.totals.offered;
  }
  if (!f.ratio_budgets.empty()) f.ratio_budgets[index].OnRequest(now);
  if (!f.throttles.empty() && !f.throttles[index].Allow(now, in.rng)) {
    series_.ClientThrottled(f.index, now);
    return EndRequest(f, index, Result::kAbandoned);
  }
  SendAttempt(f, index);
}

void Engine::SendAttempt(FleetState& f, uint32_t index) {
  Instance& in = f.instances[index];
  const Duration now = scheduler_.Fresh();
  Duration timeout = f.spec.timeout;
  if (f.spec.deadline.count() > 0) {
    const Duration left = in.intended + f.spec.deadline - now;
    if (left.count() <= 0) return EndRequest(f, index, Result::kAbandoned);
    timeout = timeout.count() > 0 ? std::min(timeout, left) : left;
  }
  if (!f.breakers.empty() && !f.breakers[index].Allow(now)) {
    series_.BreakerRejected(f.index, now);
    return EndRequest(f, index, Result::kAbandoned);
  }
  ++in.attempts;
  ++in.attempts_total;
  ++f.totals.attempts;
  in.sent = now;
  in.state = Instance::State::kInFlight;
  ++in_flight_;
  ++f.in_flight;
  series_.Attempt(f.index, now, in.attempts > 1);
  series_.InFlight(f.index, now, f.in_flight);

  f.picker.FormatKey(in.key, &key_buffer_);
  client_buffer_.assign(f.spec.name);
  client_buffer_ += '-';
  fmt::format_to(std::back_inserter(client_buffer_), "{}", index);
  Attempt a;
  a.cookie = Pack(0, f.index, index, in.gen);
  a.fleet = f.index;
  a.instance = index;
  a.op = in.op;
  a.key = key_buffer_;
  a.value = f.picker.value();  // puts send it; templates may use it anywhere
  a.client_id = client_buffer_;
  a.timeout = timeout;
  if (!f.spec.workload.requests.empty()) a.request = &f.spec.workload.requests[in.request_template];
  a.seq = in.requests;
  transport_.Send(a);
}

void Engine::OnAttemptDone(uint64_t cookie, const AttemptResult& result) {
  FleetState& f = *fleets_[FleetOf(cookie)];
  const uint32_t index = InstanceOf(cookie);
  Instance& in = f.instances[index];
  if (GenOf(cookie) != in.gen || in.state != Instance::State::kInFlight) return;
  const Duration now = scheduler_.Fresh();
  const Outcome outcome = result.outcome;
  --in_flight_;
  --f.in_flight;
  series_.Outcome(f.index, now, outcome, now - in.sent);
  series_.InFlight(f.index, now, f.in_flight);

  const bool failure = CountsAsFailure(outcome);
  if (!f.breakers.empty()) {
    failure ? f.breakers[index].OnFailure(now) : f.breakers[index].OnSuccess(now);
  }
  if (!f.token_budgets.empty()) {
    failure ? f.token_budgets[index].OnFailure() : f.token_budgets[index].OnSuccess();
  }
  if (!f.throttles.empty() && Accepted(outcome)) f.throttles[index].OnAccepted(now);

  if (result.pushback) series_.PushbackSeen(f.index, now);
  if (IsSuccess(outcome)) return EndRequest(f, index, Result::kSucceeded);
  const RetryPolicy& retry = f.spec.retry;
  const bool retryable = retry.strategy != Strategy::kNone && retry.retry_on.Has(outcome);
  if (!retryable) return EndRequest(f, index, Result::kFailed);
  if (stopped_) {
    in.state = Instance::State::kDone;  // it would retry, but the run is over
    return;
  }
  if (!ShouldRetry(retry, outcome, in.attempts)) return EndRequest(f, index, Result::kAbandoned);
  std::optional<Duration> delay = RetryDelay(retry, in.attempts, in.backoff, result.pushback, in.rng);
  if (!delay) return EndRequest(f, index, Result::kAbandoned);  // the server said do not retry
  bool allowed = true;
  if (!f.token_budgets.empty()) allowed = f.token_budgets[index].AllowRetry();
  if (!f.ratio_budgets.empty()) allowed = f.ratio_budgets[index].TryRetry(now);
  if (!allowed) {
    series_.BudgetDenied(f.index, now);
    return EndRequest(f, index, Result::kAbandoned);
  }
  if (f.spec.deadline.count() > 0 && now + *delay >= in.intended + f.spec.deadline) {
    return EndRequest(f, index, Result::kAbandoned);
  }
  if (retry.honor_retry_after && result.pushback) series_.PushbackHonoured(f.index, now);
  in.backoff = *delay;
  in.state = Instance::State::kBackoff;
  ScheduleWake(f, index, now + *delay);
}

void Engine::EndRequest(FleetState& f, uint32_t index, Result result) {
  Instance& in = f.instances[index];
  const Duration now = scheduler_.now();
  const Duration e2e = now - in.intended;
  switch (result) {
    case Result::kSucceeded:
      series_.Succeeded(f.index, now, e2e);
      ++f.totals.succeeded;
      ++in.succeeded;
      break;
    case Result::kFailed:
      series_.Failed(f.index, now, e2e);
      ++f.totals.failed;
      break;
    case Result::kAbandoned:
      series_.Abandoned(f.index, now, e2e);
      ++f.totals.abandoned;
      break;
  }
  if (stopped_) {
    in.state = Instance::State::kDone;
    return;
  }
  if (f.spec.arrival.model == Arrival::Model::kClosed) {
    const int64_t limit = f.spec.arrival.requests_per_instance;
    if (limit > 0 && in.requests >= static_cast<uint64_t>(limit)) {
      in.state = Instance::State::kDone;
      return;
    }
    in.state = Instance::State::kWaitStart;
    in.next_start = now + f.spec.arrival.think;
    return ScheduleWake(f, index, in.next_start);
  }
  if (!f.waiting.empty()) {
    // Take the oldest waiting request, through a timer rather than a call,
    // so a run of local rejections cannot recurse.
    in.state = Instance::State::kWaitStart;
    in.next_start = f.waiting.front();
    f.waiting.pop_front();
    in.requests_from_queue = true;
    return ScheduleWake(f, index, now);
  }
  in.state = Instance::State::kIdle;
  f.idle.push_back(index);
}

EngineTotals Engine::Totals() const {
  EngineTotals t;
  for (const auto& f : fleets_) {
    t.offered += f->totals.offered;
    t.attempts += f->totals.attempts;
    t.succeeded += f->totals.succeeded;
    t.failed += f->totals.failed;
    t.abandoned += f->totals.abandoned;
  }
  t.unfinished = t.offered - t.succeeded - t.failed - t.abandoned;
  return t;
}

std::vector<uint64_t> Engine::SucceededPerInstance(size_t fleet) const {
  std::vector<uint64_t> out;
  for (const Instance& in : fleets_[fleet]->instances) out.push_back(in.succeeded);
  return out;
}

std::vector<uint32_t> Engine::AttemptsPerInstance(size_t fleet) const {
  std::vector<uint32_t> out;
  for (const Instance& in : fleets_[fleet]->instances) out.push_back(in.attempts_total);
  return out;
}

}  // namespace herd
