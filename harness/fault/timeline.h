// FaultTimeline carries out a scenario's faults on the engine's clock and
// writes down when each one really started and ended (faults.csv).
//
// A fault on "all" replicas is applied to each replica separately and
// gives one record per replica. Starts and ends are scheduler timers, so
// they happen on schedule to within the loop's wake-up (about a
// millisecond). Proxy faults are handed to that replica's Proxy (which
// applies them on its own thread within a millisecond). Process and admin
// faults run on an Actor per replica, since they block: kill sends SIGKILL
// and, restart_after after the replica is gone, restarts it and waits until
// it is ready; term sends SIGTERM, waits for kvd's drain to finish (SIGKILL
// after 60 s), then restarts the same way (the window starts at the signal
// and ends when the replica is ready again) (behind a proxy, the proxy is down
// meanwhile, so clients are refused as they would be without it); pause sends SIGSTOP, then SIGCONT;
// fd_limit lowers the soft RLIMIT_NOFILE, then restores it; admin PUTs its
// patch to /admin/faults, then a patch that clears the same fields.
//
// Overlaps compose: each proxy fault is its own toxic; downs and pauses are
// counted; two admin faults setting the same field do not (the first to end
// clears it).
//
// A fault that cannot be applied (the replica is not running, kvd refused
// the patch) is recorded with start = end = the moment it failed and the
// reason in its detail; the run goes on.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/scheduler.h"
#include "fault/actor.h"
#include "fault/proxy.h"
#include "scenario/scenario.h"

namespace herd {

class Launcher;

struct FaultRecord {
  double start_s = 0, end_s = 0;  // run time; end_s < 0 while it lasts
  FaultSpec::Kind kind = FaultSpec::Kind::kLatency;
  int fault = 0;                  // index in the scenario's faults
  int replica = 0;
  bool applied = false;           // false: it could not be applied (detail says why)
  std::string detail;             // parameters, then what happened
};

// faults.csv: start_s,end_s,kind,replica,detail (DESIGN.md, Run directory).
std::string FaultsCsv(const std::vector<FaultRecord>& records);

class FaultTimeline : public TimerTarget {
 public:
  struct Targets {
    Launcher* launcher = nullptr;  // launched replicas; null for url targets
    std::vector<Proxy*> proxies;   // one per replica when the scenario has proxy faults
    // One per launched replica: process and admin faults run there, in
    // turn with the replica's other blocking work (a probe's restart).
    std::vector<Actor*> actors;
    int replicas = 1;
    bool log = true;               // restarts and failures to stderr
  };

  // `zero`: the steady-clock instant of run time 0 (the scheduler's).
  FaultTimeline(const std::vector<FaultSpec>& faults, Scheduler& scheduler, Targets targets,
                std::chrono::steady_clock::time_point zero);
  ~FaultTimeline() override;

  // Sets a timer for every start and end.
  void Start();
  // At the end of the run: ends every fault still active (resumes paused
  // replicas, restores limits, clears admin faults, removes proxy faults;
  // a killed replica whose restart is still to come stays down), waits for
  // the actors, and ignores timers from then on.
  void Finish();

  // Sorted by start. Safe to call at any time.
  std::vector<FaultRecord> records() const;

  void OnTimer(uint64_t token) override;

 private:
  struct Application;  // one fault on one replica

  void Begin(size_t index);
  void End(size_t index, bool at_finish);
  // A replica that is down behind a proxy: the proxy stops listening too,
  // so clients see a refused connection, as they would without the proxy
  // (rather than a connection the proxy accepted and then dropped).
  void ProxyDown(int replica, bool down);
  double Now() const;
  void Log(const std::string& line) const;

  std::vector<FaultSpec> faults_;
  Scheduler& scheduler_;
  Targets targets_;
  std::chrono::steady_clock::time_point zero_;
  std::vector<std::unique_ptr<Application>> apps_;
  mutable std::mutex mu_;                       // records, written by actors
  std::vector<FaultRecord> records_;
  bool finished_ = false;
};

}  // namespace herd
