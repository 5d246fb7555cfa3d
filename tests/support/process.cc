#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/http.h"

extern char** environ;

namespace herd::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- TempDir ----------------------------------------------------------------

TempDir::TempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  std::string pattern = base + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error(fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  }
  path_ = buf.data();
  if (const char* keep = std::getenv("HERD_KEEP_TEST_DIRS"); keep && *keep) keep_ = true;
}

TempDir::~TempDir() {
  if (keep_ || path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// ---- Process ----------------------------------------------------------------

namespace {

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Process::~Process() {
  if (pid_ > 0 && !exit_code_) Kill();
  CloseFd(stdout_fd_);
}

bool Process::Start(const ProcessOptions& options, std::string* error) {
  if (pid_ > 0) {
    *error = "process already started";
    return false;
  }
  if (options.argv.empty()) {
    *error = "empty argv";
    return false;
  }
  stderr_path_ = options.stderr_path;

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (options.env.count(name)) continue;
    if (!options.drop_env_prefix.empty() && name.rfind(options.drop_env_prefix, 0) == 0) continue;
    env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out_pipe[2];
  int exec_pipe[2];  // the child writes errno here if exec fails
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    *error = fmt::format("pipe: {}", std::strerror(errno));
    return false;
  }
  int err_fd = -1;
  if (!options.stderr_path.empty()) {
    err_fd = ::open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  } else {
    err_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (err_fd < 0 || null_fd < 0) {
    *error = fmt::format("open stderr file {}: {}", options.stderr_path.string(), std::strerror(errno));
    for (int fd : {out_pipe[0], out_pipe[1], exec_pipe[0], exec_pipe[1], err_fd, null_fd}) {
      if (fd >= 0) ::close(fd);
    }
    return false;
  }
  const pid_t parent = ::getpid();
  const bool die_with_parent = options.die_with_parent;

  pid_t pid = ::fork();
  if (pid < 0) {
    *error = fmt::format("fork: {}", std::strerror(errno));
    for (int fd : {out_pipe[0], out_pipe[1], exec_pipe[0], exec_pipe[1], err_fd, null_fd}) ::close(fd);
    return false;
  }
  if (pid == 0) {
    // Child.
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    ::setpgid(0, 0);  // its own group: a terminal's ^C goes to the test only
    // Default signal handling and mask for the new program.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (::dup2(null_fd, 0) < 0 || ::dup2(out_pipe[1], 1) < 0 || ::dup2(err_fd, 2) < 0) {
      int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    // Close every other descriptor the test holds (sockets of other tests'
    // clients, curl's caches...): the exec-error pipe moves to fd 3 first.
    if (::dup2(exec_pipe[1], 3) < 0) ::_exit(127);
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    const int report_fd = 3;
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, 4, ~0U, 0) != 0)
#endif
    {
      for (int fd = 4; fd < 65536; ++fd) ::close(fd);
    }
    ::execve(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!::write(report_fd, &e, sizeof e);
    ::_exit(127);
  }

  // Parent.
  ::close(out_pipe[1]);
  ::close(exec_pipe[1]);
  ::close(err_fd);
  ::close(null_fd);
  stdout_fd_ = out_pipe[0];
  pid_ = pid;
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    *error = fmt::format("cannot start {}: {}", options.argv[0], std::strerror(child_errno));
    Reap(true);
    return false;
  }
  return true;
}

bool Process::ReadLine(std::string* line, Millis timeout, std::string* error) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto nl = stdout_buffer_.find('\n'); nl != std::string::npos) {
      *line = stdout_buffer_.substr(0, nl);
      stdout_buffer_.erase(0, nl + 1);
      return true;
    }
    if (stdout_fd_ < 0) {
      *error = "stdout closed";
      return false;
    }
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) {
      *error = fmt::format("no line on stdout within {} ms", timeout.count());
      return false;
    }
    pollfd p{stdout_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // re-check the deadline
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      CloseFd(stdout_fd_);
      *error = "stdout closed before a full line (did the process exit?)";
      if (!stdout_buffer_.empty()) *error += ": partial output \"" + stdout_buffer_ + "\"";
      return false;
    }
    stdout_buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool Process::Signal(int sig) const {
  if (pid_ <= 0 || exit_code_) return false;
  return ::kill(pid_, sig) == 0;
}

bool Process::Reap(bool block) {
  if (pid_ <= 0) return true;
  if (exit_code_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_code_ = DecodeStatus(status);
    return true;
  }
  if (r < 0) {  // not our child any more (ECHILD): treat as gone
    exit_code_ = -1;
    return true;
  }
  return false;
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  return !Reap(false);
}

std::optional<int> Process::WaitExit(Millis timeout) {
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (!Reap(false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Millis(5));
  }
  return exit_code_;
}

std::optional<int> Process::Kill() {
  if (pid_ <= 0) return std::nullopt;
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    Reap(true);
  }
  return exit_code_;
}

std::string ReadFileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Process::StderrText() const {
  if (stderr_path_.empty()) return {};
  return ReadFileText(stderr_path_);
}

std::string Process::StderrTail(size_t lines) const {
  std::string text = StderrText();
  if (text.empty()) return "(no stderr)";
  size_t pos = text.size();
  if (text.back() == '\n') --pos;
  size_t count = 0;
  while (pos > 0) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    if (++count >= lines) {
      pos = nl + 1;
      break;
    }
    pos = nl;
  }
  return text.substr(pos);
}

long ProcessRssKb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

std::string KvdBinary() {
  const char* bin = std::getenv("KVD_BIN");
  return bin && *bin ? bin : HERD_TEST_KVD_BIN;
}

std::string HerdBinary() {
  const char* bin = std::getenv("HERD_BIN");
  return bin && *bin ? bin : HERD_TEST_HERD_BIN;
}

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("HERD_SOURCE_DIR");
  return dir && *dir ? dir : HERD_TEST_SOURCE_DIR;
}

// ---- KvdProcess -------------------------------------------------------------

KvdProcess::~KvdProcess() {
  process_.Kill();
}

void KvdProcess::KeepFiles() {
  if (work_) work_->Keep();
}

std::string KvdProcess::Diagnostics(size_t lines) const {
  return fmt::format("{}\n--- kvd stderr (last {} lines, {}) ---\n{}", error_, lines,
                     process_.stderr_path().string(), process_.StderrTail(lines));
}

std::string KvdProcess::http_host() const {
  std::string host;
  int port = 0;
  SplitHostPort(http_, &host, &port);
  return host;
}

int KvdProcess::http_port() const {
  std::string host;
  int port = 0;
  SplitHostPort(http_, &host, &port);
  return port;
}

bool KvdProcess::StartWith(const Options& options) {
  error_.clear();
  if (process_.started()) {
    error_ = "already started";
    return false;
  }
  std::string bin = KvdBinary();
  if (bin.empty()) {
    error_ = "no kvd binary: build the kvd target, or set KVD_BIN";
    return false;
  }
  work_ = std::make_unique<TempDir>("kvd-it");
  if (options.data_dir.empty()) {
    data_dir_ = work_->path() / "data";
    fs::create_directories(data_dir_);
  } else {
    data_dir_ = options.data_dir;
  }

  ProcessOptions po;
  po.argv = {bin,
             "--http", options.http ? options.http_address : "off",
             "--grpc", options.grpc ? "127.0.0.1:0" : "off",
             "--data-dir", data_dir_.string()};
  po.argv.insert(po.argv.end(), options.args.begin(), options.args.end());
  po.stderr_path = work_->path() / "stderr.log";
  po.env = options.env;
  po.drop_env_prefix = "KVD_";  // every kvd flag has a KVD_* twin: only what the test says
  if (!process_.Start(po, &error_)) return false;

  std::string line;
  if (!process_.ReadLine(&line, options.ready_line_timeout, &error_)) {
    error_ = "kvd printed no ready line: " + error_;
    if (auto rc = process_.WaitExit(Millis(200))) error_ += fmt::format(" (exit code {})", *rc);
    return false;
  }
  auto ready = nlohmann::json::parse(line, nullptr, false);
  if (ready.is_discarded() || !ready.is_object()) {
    error_ = "kvd's ready line is not a JSON object: " + line;
    return false;
  }
  if (ready.contains("http") && ready["http"].is_string()) http_ = ready["http"].get<std::string>();
  if (ready.contains("grpc") && ready["grpc"].is_string()) grpc_ = ready["grpc"].get<std::string>();
  if (!ready.contains("pid") || ready["pid"] != process_.pid()) {
    error_ = fmt::format("kvd's ready line has pid {} but the child is {}: {}",
                         ready.value("pid", nlohmann::json()).dump(), process_.pid(), line);
    return false;
  }
  if (options.http && http_.empty()) {
    error_ = "kvd's ready line has no http address: " + line;
    return false;
  }
  if (options.grpc && grpc_.empty()) {
    error_ = "kvd's ready line has no grpc address: " + line;
    return false;
  }
  if (options.wait_ready && options.http && !WaitReady(options.readyz_timeout)) return false;
  return true;
}

bool KvdProcess::WaitReady(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  HttpResult last;
  while (Clock::now() < deadline) {
    if (!process_.Running()) {
      error_ = fmt::format("kvd exited (code {}) before /readyz answered 200",
                           process_.exit_code().value_or(-1));
      return false;
    }
    last = Http("GET", Url("/readyz"), "", {}, Millis(1000));
    if (last.status == 200) return true;
    std::this_thread::sleep_for(Millis(20));
  }
  error_ = fmt::format("/readyz not 200 within {} ms (last: {})", timeout.count(), last.Describe());
  return false;
}

std::string KvdProcess::MetricsText() const {
  HttpResult r = Http("GET", Url("/metrics"), "", {}, Millis(5000));
  return r.status == 200 ? r.body : std::string();
}

double KvdProcess::Metric(const std::string& name,
                          const std::map<std::string, std::string>& labels) const {
  return MetricSum(MetricsText(), name, labels);
}

}  // namespace herd::test
