// Client-side adaptive throttling (Google SRE book, "Handling Overload"):
// each client tracks, over the last `window`, the requests it attempted
// (including those it rejected itself) and the ones the backend accepted,
// and rejects locally with probability
//     max(0, (requests - k * accepts) / (requests + 1)).
// Rejected attempts are not sent and are counted (client_throttled).
#pragma once

#include <array>
#include <cstdint>

#include "common/duration.h"
#include "common/rng.h"
#include "policy/window.h"

namespace herd {

class AdaptiveThrottle {
 public:
  AdaptiveThrottle(double k, Duration window);

  // Counts a request at `now` and decides whether to send it.
  bool Allow(Duration now, Rng& rng);
  // The backend accepted a request (it was not throttled or shed or failed by
  // overload: any answer that is not a rejection counts).
  void OnAccepted(Duration now);

  double RejectProbability(Duration now);

 private:
  double k_;
  WindowCounts<20> counts_;  // requests, accepts
};

}  // namespace herd
