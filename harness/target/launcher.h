// Launcher starts the target processes a scenario asks for ("launch"), tells
// the fleets where they listen, and stops them at the end.
//
// Each replica runs the launch command with these placeholders replaced:
//   {port}      a free loopback port picked for it
//   {replica}   its index, 0, 1, ...
//   {data_dir}  a directory of its own inside the run directory
// Its stdout and stderr go to target-<i>.stdout / .stderr in the run
// directory. If its first stdout line is kvd's ready line
// ({"http":"127.0.0.1:40123","grpc":...}), the addresses come from there, so
// nothing races for ports; otherwise from {port}. Then `ready` is polled
// until it answers 200 or `ready_timeout` passes.
//
// Stop sends SIGTERM, waits `grace`, then SIGKILL.
//
// Process faults (fault/timeline.h) signal, restart and limit one replica
// at a time. A replica restarts on the addresses it had, so clients and
// proxies need not learn new ones: {port} keeps its number, and the values
// of --http and --grpc (kvd's flags) become the addresses of its ready line.
// Its stderr is appended to, not truncated, across restarts.
//
// Every replica gets KVD_ADMIN_TOKEN in its environment (a random token, or
// the command's own --admin-token, or herd's own KVD_ADMIN_TOKEN), so herd
// can drive kvd's /admin/faults; other programs ignore it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "scenario/scenario.h"

namespace herd {

struct Replica {
  pid_t pid = -1;
  int port = 0;      // what {port} became
  std::string http;  // host:port, or empty
  std::string grpc;  // host:port, or empty
  std::filesystem::path stderr_path;
  int exit_status = -1;  // after Stop: exit code, or 128 + signal
};

class Launcher {
 public:
  Launcher(const LaunchSpec& spec, Target::Protocol protocol, std::filesystem::path run_dir);
  ~Launcher();  // stops whatever still runs

  // Starts every replica and waits until each is ready. On failure, stops
  // what it started and sets *error (with the tail of the replica's stderr).
  bool Start(std::string* error);
  void Stop(Duration grace);

  const std::vector<Replica>& replicas() const { return replicas_; }
  // The address the fleets use for each replica, for the scenario's protocol.
  std::vector<std::string> Addresses() const;
  const std::string& admin_token() const { return admin_token_; }

  // Process control for faults. Calls for one replica must not overlap
  // (the caller serialises them); different replicas may run in parallel.
  // Each returns false with *error when the replica is not running.
  bool Signal(int index, int sig, std::string* error);
  // Waits up to `wait` for the replica to exit (true when it has; its
  // exit_status is then set). With SIGKILL after `wait` if `kill_after`.
  bool WaitExit(int index, Duration wait, bool kill_after);
  // Starts a stopped replica again on the same addresses; waits for ready.
  bool Restart(int index, std::string* error);
  // Sets the soft RLIMIT_NOFILE of the running replica (prlimit); the
  // previous soft limit goes to *previous.
  bool SetFdLimit(int index, int64_t soft, int64_t* previous, std::string* error);
  // Restarts the replica if it is not running (the end of a run, before the
  // durability check reads back). Same rule as above: one caller per replica.
  bool EnsureRunning(int index, std::string* error);

  // The replica's pid now, -1 when it is not running: safe from any thread
  // (monitors read it while an actor restarts the replica).
  pid_t CurrentPid(int index) const;

 private:
  void Publish(const Replica& r);  // r.pid -> live_pids_
  bool StartOne(int index, bool restart, std::string* error);
  bool WaitReady(Replica& r, int index, std::string* error);

  LaunchSpec spec_;
  Target::Protocol protocol_;
  std::filesystem::path run_dir_;
  std::vector<Replica> replicas_;
  std::unique_ptr<std::atomic<pid_t>[]> live_pids_;
  std::string admin_token_;
};

// Resolves the program of a launch command: as given when it contains a
// '/', else from PATH, else (for herd's own "kvd") next to the herd binary.
std::string ResolveProgram(const std::string& name);

// The last `lines` lines of a file (for error messages).
std::string TailOfFile(const std::filesystem::path& path, int lines);

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace herd
