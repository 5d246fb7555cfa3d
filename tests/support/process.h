// Test support: launching real processes (kvd, and later herd itself) for
// integration tests, and cleaning up after them whatever the test did.
//
//   Process     a child started with fork+exec: stdin from /dev/null, stdout
//               piped back to the test (ReadLine), stderr into a file
//               (StderrText / StderrTail); SIGKILLed and reaped on destruction.
//   TempDir     a fresh directory under $TMPDIR (or /tmp), removed on
//               destruction unless Keep() was called or HERD_KEEP_TEST_DIRS
//               is set in the environment.
//   KvdProcess  kvd on 127.0.0.1 port 0 (HTTP and gRPC), with its own data
//               directory unless one is given: waits for the ready line and
//               /readyz, and exposes the addresses it reported.
//
// Nothing here talks to anything but loopback.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herd::test {

using Millis = std::chrono::milliseconds;

// A fresh, empty directory, removed (recursively) when this goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "herd-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0] is the program path
  std::map<std::string, std::string> env;  // added to (or overriding) the test's environment
  // Inherited variables whose names start with this are not passed on
  // (KvdProcess drops KVD_*, so a developer's shell cannot change a test).
  std::string drop_env_prefix;
  std::filesystem::path stderr_path;       // empty: stderr goes to /dev/null
  // Kill the child with SIGKILL if the thread that started it dies (prctl
  // PR_SET_DEATHSIG), so a test killed by a ctest timeout leaves no orphan.
  // Linux ties this to the *thread* that forked: start processes from a
  // thread that outlives them (the test's main thread), or turn this off.
  bool die_with_parent = true;
};

// One child process. Not thread-safe: use it from one thread (Signal and
// pid() are fine from any).
class Process {
 public:
  Process() = default;
  ~Process();  // SIGKILL if still running, then reap
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts the child. False with *error when fork/exec failed (an exec
  // failure is reported here too, through a CLOEXEC pipe).
  bool Start(const ProcessOptions& options, std::string* error);

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // Reads one line (without the '\n') from the child's stdout. False on
  // timeout or EOF (*error says which).
  bool ReadLine(std::string* line, Millis timeout, std::string* error);

  bool Signal(int sig) const;
  // Still running? (Reaps it if it has exited.)
  bool Running();
  // Waits for the child to exit. Returns its exit code, or 128 + signal
  // number when a signal ended it; nullopt on timeout (child still running).
  std::optional<int> WaitExit(Millis timeout);
  // SIGKILL and reap; returns what WaitExit would.
  std::optional<int> Kill();
  // The exit status once known (see WaitExit).
  std::optional<int> exit_code() const { return exit_code_; }

  std::string StderrText() const;
  // The last `lines` lines of stderr, for failure messages.
  std::string StderrTail(size_t lines = 30) const;
  const std::filesystem::path& stderr_path() const { return stderr_path_; }

 private:
  bool Reap(bool block);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_buffer_;
  std::optional<int> exit_code_;
  std::filesystem::path stderr_path_;
};

// Reads a file whole ("" if it cannot be read).
std::string ReadFileText(const std::filesystem::path& path);

// VmRSS of a live process in kilobytes, from /proc/PID/status; -1 if unknown.
long ProcessRssKb(pid_t pid);

// The binaries under test and the source tree: from KVD_BIN, HERD_BIN and
// HERD_SOURCE_DIR when set, else where the build put them.
std::string KvdBinary();
std::string HerdBinary();
std::filesystem::path SourceDir();

// kvd, started on loopback with any free ports.
class KvdProcess {
 public:
  struct Options {
    std::vector<std::string> args;  // extra flags, e.g. {"--workers", "2"}
    // Use this data directory instead of a fresh one (kept afterwards: it
    // belongs to the caller, e.g. for a restart on the same data).
    std::filesystem::path data_dir;
    bool http = true;   // --http <http_address>, else --http off
    // Where HTTP listens: a fixed "127.0.0.1:PORT" restarts kvd on the
    // address an earlier one reported (kvd sets SO_REUSEADDR).
    std::string http_address = "127.0.0.1:0";
    bool grpc = true;   // --grpc 127.0.0.1:0, else --grpc off
    bool wait_ready = true;  // wait for /readyz 200 (needs http)
    Millis ready_line_timeout{10000};
    Millis readyz_timeout{10000};
    std::map<std::string, std::string> env;
  };

  KvdProcess() = default;
  ~KvdProcess();
  KvdProcess(const KvdProcess&) = delete;
  KvdProcess& operator=(const KvdProcess&) = delete;

  // Starts kvd. False with error() (and StderrTail()) when it did not print
  // its ready line in time, exited, or /readyz did not turn 200 in time.
  bool StartWith(const Options& options);
  bool Start(std::vector<std::string> args = {}) {
    Options o;
    o.args = std::move(args);
    return StartWith(o);
  }

  const std::string& error() const { return error_; }
  // error() and the tail of kvd's stderr, for ASSERT messages.
  std::string Diagnostics(size_t lines = 30) const;

  pid_t pid() const { return process_.pid(); }
  const std::string& http_address() const { return http_; }  // "127.0.0.1:PORT" or ""
  const std::string& grpc_address() const { return grpc_; }  // "127.0.0.1:PORT" or ""
  std::string http_host() const;
  int http_port() const;
  // "http://127.0.0.1:PORT" + path
  std::string Url(const std::string& path) const { return "http://" + http_ + path; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::filesystem::path log_path() const { return data_dir_ / "kvd.log"; }

  // Polls /readyz until 200 or timeout.
  bool WaitReady(Millis timeout);

  bool Signal(int sig) const { return process_.Signal(sig); }
  bool Running() { return process_.Running(); }
  std::optional<int> WaitExit(Millis timeout) { return process_.WaitExit(timeout); }
  std::optional<int> Kill() { return process_.Kill(); }

  std::string StderrText() const { return process_.StderrText(); }
  std::string StderrTail(size_t lines = 30) const { return process_.StderrTail(lines); }

  // GET /metrics (empty string on failure).
  std::string MetricsText() const;
  // One sample from /metrics: the sum of every series of `name` whose labels
  // include `labels` (0 when none: kvd omits zero counters).
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;

  // Keep the working directory (data, stderr) after the test.
  void KeepFiles();
  const std::filesystem::path& work_dir() const { return work_->path(); }

 private:
  Process process_;
  std::unique_ptr<TempDir> work_;
  std::filesystem::path data_dir_;
  std::string http_;
  std::string grpc_;
  std::string error_;
};

}  // namespace herd::test
