// The durability checker (DESIGN.md, Analyses; ANCHORS.md, Jepsen's set
// checker): during the run, a cohort of unique writes, each key written
// once with a value no other write has; at the end, once faults are healed
// and the target is ready, every key is read back and analyze/stats.h's
// CheckSet says what was lost.
//
// The cohort goes over kvd's REST API (PUT and GET /v1/<key>), through the
// same addresses as the fleets (so proxy faults hit it too), to the replica
// chosen round-robin; each key is read back from the replica it was written
// to (kvd replicas do not share data). Writes are spread evenly over the
// run: write i is sent at i * duration / writes, on a thread of its own with
// libcurl's multi interface (at most `max_in_flight` at once; a write due
// while that many are in flight waits). Fates:
//   2xx                     acknowledged
//   429, 503, other 4xx     failed: the server said no before applying it
//   timeout, reset, refused after send, other 5xx, other errors
//                           indeterminate: it may or may not have applied
//   refused (connect)       failed: it never reached the server
// Keys are "<prefix><run seed>-<i>", values "<key>:<16 random hex>" (a
// value is unique, and says which key it belongs to).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyze/stats.h"
#include "common/duration.h"

namespace herd {

struct DurabilitySpec {
  int64_t writes = 1000;
  Duration timeout = std::chrono::seconds(1);  // per write and per read
  int max_in_flight = 32;
  std::string prefix = "durability-";
  int64_t value_bytes = 64;                    // at least the key and the random part
};

class DurabilityChecker {
 public:
  // addresses: "host:port" per replica (HTTP).
  DurabilityChecker(DurabilitySpec spec, std::vector<std::string> addresses, uint64_t seed);
  ~DurabilityChecker();  // stops the writer if it still runs

  // Starts writing: the cohort is spread over `duration` from now.
  void Start(Duration duration);
  // Stops sending new writes, waits up to `wait` for those in flight (their
  // fate stays indeterminate if they do not finish), joins the thread.
  void StopWriting(Duration wait);

  // Reads every written key back (in parallel, at most max_in_flight) and
  // checks the set. A key whose read fails (not 200 or 404) is retried up to
  // 3 times, then its read counts as missing and *read_errors is bumped.
  SetCheck ReadBackAndCheck(int64_t* read_errors);

  // The writes so far (for tests and the report), in key order.
  std::vector<WriteRecord> writes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace herd
