#include "transport/model.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace herd {

namespace {
enum : uint64_t { kServiceDone = 0, kClientTimeout = 1 };
uint64_t Token(uint32_t slot, uint64_t kind) { return (uint64_t{slot} << 2) | kind; }
}  // namespace

bool ParseModelSpec(const nlohmann::json& j, ModelSpec* out, std::string* error) {
  if (!j.is_object()) {
    *error = "expected an object like {\"latency\": \"10ms\", \"error_rate\": 0}";
    return false;
  }
  ModelSpec m;
  for (const auto& [name, v] : j.items()) {
    auto bad = [&](std::string_view expected) {
      *error = fmt::format("{}: expected {}, got {}", name, expected, v.dump());
      return false;
    };
    if (name == "latency") {
      std::string why;
      if (!v.is_string()) return bad("a duration or range like \"0ms-100ms\"");
      if (!ParseDurationRange(v.get<std::string>(), &m.latency_min, &m.latency_max, &why)) {
        *error = "latency: " + why;
        return false;
      }
    } else if (name == "latency_terms") {
      if (!v.is_number_integer() || v.get<int>() < 1 || v.get<int>() > 16) return bad("an integer from 1 to 16");
      m.latency_terms = v.get<int>();
    } else if (name == "servers") {
      if (!v.is_number_integer() || v.get<int>() < 0) return bad("a non-negative integer (0 = unlimited)");
      m.servers = v.get<int>();
    } else if (name == "error_rate") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) return bad("a number from 0 to 1");
      m.error_rate = v.get<double>();
    } else if (name == "error") {
      auto o = v.is_string() ? ParseOutcome(v.get<std::string>()) : std::nullopt;
      if (!o || IsSuccess(*o)) return bad("an error outcome such as \"server_error\", \"shed\" or \"throttled\"");
      m.error = *o;
    } else if (name == "retry_after") {
      Duration d{};
      std::string why;
      if (!v.is_string() || !ParseDuration(v.get<std::string>(), &d, &why)) return bad("a duration like \"1s\"");
      m.pushback = d;
    } else {
      *error = fmt::format("{}: unknown field (known: latency, latency_terms, servers, error_rate, error, retry_after)", name);
      return false;
    }
  }
  *out = m;
  return true;
}

ModelTransport::ModelTransport(Scheduler& scheduler, const ModelSpec& spec, uint64_t seed)
    : scheduler_(scheduler), spec_(spec), rng_(Rng::For(seed, 0xffff, 0)) {}

Duration ModelTransport::DrawLatency() {
  Duration total{};
  for (int i = 0; i < spec_.latency_terms; ++i) total += rng_.Between(spec_.latency_min, spec_.latency_max);
  return total;
}

void ModelTransport::Send(const Attempt& attempt) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s = Slot{};
  s.in_use = true;
  s.cookie = attempt.cookie;
  ++in_flight_;
  if (attempt.timeout.count() > 0) {
    ++s.timers;
    scheduler_.After(attempt.timeout, this, Token(slot, kClientTimeout));
  }
  if (spec_.servers == 0 || busy_ < spec_.servers) {
    StartService(slot);
  } else {
    s.queued = true;
    queue_.push_back(slot);
  }
}

void ModelTransport::StartService(uint32_t slot) {
  ++busy_;
  Slot& s = slots_[slot];
  s.queued = false;
  s.outcome = spec_.error_rate > 0 && rng_.Chance(spec_.error_rate) ? spec_.error : Outcome::kOk;
  ++s.timers;
  scheduler_.After(DrawLatency(), this, Token(slot, kServiceDone));
}

void ModelTransport::Answer(uint32_t slot, Outcome outcome) {
  Slot& s = slots_[slot];
  if (s.answered) return;
  s.answered = true;
  --in_flight_;
  AttemptResult r;
  r.outcome = outcome;
  if (outcome != Outcome::kOk && outcome != Outcome::kTimeout) r.pushback = spec_.pushback;
  sink_->OnAttemptDone(s.cookie, r);
}

void ModelTransport::MaybeFree(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.timers == 0 && s.answered && s.in_use && !s.queued) {
    s.in_use = false;
    free_.push_back(slot);
  }
}

void ModelTransport::OnTimer(uint64_t token) {
  const uint32_t slot = static_cast<uint32_t>(token >> 2);
  Slot& s = slots_[slot];
  --s.timers;
  if ((token & 3) == kServiceDone) {
    --busy_;
    ++served_;
    Answer(slot, s.outcome);
    // The worker moves on to the oldest waiting request, whether or not its
    // client is still waiting for it.
    if (!queue_.empty() && (spec_.servers == 0 || busy_ < spec_.servers)) {
      uint32_t next = queue_.front();
      queue_.pop_front();
      StartService(next);
    }
  } else {
    Answer(slot, Outcome::kTimeout);
  }
  MaybeFree(slot);
}

}  // namespace herd
