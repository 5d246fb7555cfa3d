// The vocabulary of DESIGN.md, as types: what an attempt can end in, and what
// a request can end in. Used in code, CSV columns, reports and docs alike.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace herd {

// The outcome of one attempt: a closed set.
enum class Outcome : uint8_t {
  kOk,           // 2xx / OK
  kNotFound,     // 404 / NOT_FOUND: the server answered properly
  kThrottled,    // 429 / RESOURCE_EXHAUSTED
  kShed,         // 503 / UNAVAILABLE from the server
  kServerError,  // other 5xx / INTERNAL, UNKNOWN, ...
  kClientError,  // other 4xx
  kTimeout,      // the client's per-attempt deadline passed
  kRefused,      // connection refused
  kReset,        // connection reset or broken
  kOtherError,   // anything else (DNS, TLS, protocol, ...)
};
inline constexpr int kOutcomes = 10;

inline constexpr std::array<std::string_view, kOutcomes> kOutcomeNames = {
    "ok", "not_found", "throttled", "shed", "server_error",
    "client_error", "timeout", "refused", "reset", "other_error"};

inline std::string_view OutcomeName(Outcome o) { return kOutcomeNames[static_cast<int>(o)]; }

inline std::optional<Outcome> ParseOutcome(std::string_view name) {
  for (int i = 0; i < kOutcomes; ++i) {
    if (kOutcomeNames[i] == name) return static_cast<Outcome>(i);
  }
  return std::nullopt;
}

// A set of outcomes (e.g. which ones a fleet retries on), as a bit mask.
class OutcomeSet {
 public:
  constexpr OutcomeSet() = default;
  constexpr OutcomeSet(std::initializer_list<Outcome> outcomes) {
    for (Outcome o : outcomes) Add(o);
  }
  constexpr void Add(Outcome o) { bits_ |= uint16_t(1u << static_cast<int>(o)); }
  constexpr bool Has(Outcome o) const { return bits_ & (1u << static_cast<int>(o)); }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr bool operator==(const OutcomeSet&) const = default;

 private:
  uint16_t bits_ = 0;
};

// The server did its job: neither an error nor overload. Breakers, budgets
// and adaptive throttling count these as successes.
constexpr bool IsSuccess(Outcome o) { return o == Outcome::kOk || o == Outcome::kNotFound; }

// The result of a request (its last attempt decides).
enum class Result : uint8_t {
  kSucceeded,  // an attempt succeeded
  kFailed,     // an outcome that is not retried ended it
  kAbandoned,  // gave up: attempts, budget, breaker or deadline
};

}  // namespace herd
