#include "faults.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/duration.h"

namespace kvd {

using nlohmann::json;

const char* LeakModeName(LeakMode mode) {
  switch (mode) {
    case LeakMode::kNone: return "none";
    case LeakMode::kTask: return "task";
    case LeakMode::kConnection: return "connection";
    case LeakMode::kTimer: return "timer";
  }
  return "none";
}

bool FaultSet::AffectsRequests() const {
  return latency_max.count() > 0 || service_time.count() > 0 || error_rate > 0 || stall ||
         leak != LeakMode::kNone;
}

json FaultSet::ToJson() const {
  json j = json::object();
  if (latency_max.count() > 0) {
    j["latency"] = latency_min == latency_max
                       ? herd::FormatDuration(latency_min)
                       : herd::FormatDuration(latency_min) + "-" + herd::FormatDuration(latency_max);
  }
  if (service_time.count() > 0) j["service_time"] = herd::FormatDuration(service_time);
  if (error_rate > 0) {
    j["error_rate"] = error_rate;
    j["error_status"] = error_status;
  }
  if (stall) j["stall"] = true;
  if (deep_dependency_down) j["deep_dependency_down"] = true;
  if (leak != LeakMode::kNone) j["leak"] = LeakModeName(leak);
  return j;
}

bool ApplyFaultPatch(const json& patch, FaultSet* faults, std::string* error) {
  if (!patch.is_object()) {
    *error = "expected a JSON object of faults";
    return false;
  }
  FaultSet f = *faults;
  for (const auto& [name, value] : patch.items()) {
    auto bad = [&](std::string_view expected) {
      *error = fmt::format("{}: expected {}, got {}", name, expected, value.dump());
      return false;
    };
    const bool off = value.is_null();
    if (name == "latency") {
      if (off) {
        f.latency_min = f.latency_max = {};
      } else if (!value.is_string()) {
        return bad("a duration or range like \"10ms\" or \"0ms-198ms\"");
      } else if (std::string why; !herd::ParseDurationRange(value.get<std::string>(), &f.latency_min,
                                                           &f.latency_max, &why)) {
        *error = "latency: " + why;
        return false;
      }
    } else if (name == "service_time") {
      if (off) {
        f.service_time = {};
      } else if (!value.is_string()) {
        return bad("a duration like \"20ms\"");
      } else if (std::string why;
                 !herd::ParseDuration(value.get<std::string>(), &f.service_time, &why)) {
        *error = "service_time: " + why;
        return false;
      }
    } else if (name == "error_rate") {
      if (off) {
        f.error_rate = 0;
      } else if (!value.is_number() || value.get<double>() < 0 || value.get<double>() > 1) {
        return bad("a number from 0 to 1");
      } else {
        f.error_rate = value.get<double>();
      }
    } else if (name == "error_status") {
      if (off) {
        f.error_status = 500;
      } else if (!value.is_number_integer() || value.get<int>() < 400 || value.get<int>() > 599) {
        return bad("an HTTP status from 400 to 599");
      } else {
        f.error_status = value.get<int>();
      }
    } else if (name == "stall" || name == "deep_dependency_down") {
      bool on = false;
      if (!off) {
        if (!value.is_boolean()) return bad("true or false");
        on = value.get<bool>();
      }
      (name == "stall" ? f.stall : f.deep_dependency_down) = on;
    } else if (name == "leak") {
      std::string mode = off ? "none" : (value.is_string() ? value.get<std::string>() : "?");
      if (mode == "none") f.leak = LeakMode::kNone;
      else if (mode == "task") f.leak = LeakMode::kTask;
      else if (mode == "connection") f.leak = LeakMode::kConnection;
      else if (mode == "timer") f.leak = LeakMode::kTimer;
      else return bad("one of \"task\", \"connection\", \"timer\", \"none\"");
    } else {
      *error = fmt::format(
          "{}: unknown fault (known: latency, service_time, error_rate, error_status, stall, "
          "deep_dependency_down, leak)",
          name);
      return false;
    }
  }
  *faults = f;
  return true;
}

Faults::Faults(const FaultSet& initial) { Set(initial); }

std::shared_ptr<const FaultSet> Faults::ForRequest() const {
  if (!affects_requests_.load(std::memory_order_relaxed)) return nullptr;
  std::lock_guard lock(mu_);
  return current_;
}

FaultSet Faults::Current() const {
  std::lock_guard lock(mu_);
  return *current_;
}

bool Faults::Patch(const json& patch, std::string* error) {
  std::lock_guard lock(mu_);
  FaultSet next = *current_;
  if (!ApplyFaultPatch(patch, &next, error)) return false;
  current_ = std::make_shared<const FaultSet>(next);
  affects_requests_.store(next.AffectsRequests(), std::memory_order_relaxed);
  return true;
}

void Faults::Set(const FaultSet& faults) {
  std::lock_guard lock(mu_);
  current_ = std::make_shared<const FaultSet>(faults);
  affects_requests_.store(faults.AffectsRequests(), std::memory_order_relaxed);
}

}  // namespace kvd
