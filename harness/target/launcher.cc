#include "target/launcher.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transport/http_call.h"

extern char** environ;

namespace herd {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

void ReplaceAll(std::string* s, std::string_view from, const std::string& to) {
  for (size_t at = s->find(from); at != std::string::npos; at = s->find(from, at + to.size())) {
    s->replace(at, from.size(), to);
  }
}

std::string FirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line) || in.eof()) return {};  // no complete line yet
  return line;
}

// One HTTP GET with a short timeout; the status, or 0 when nothing answered.
long Probe(const std::string& url) {
  const HttpCallResult r = HttpCall("GET", url, {}, "", std::chrono::seconds(1));
  return r.done ? r.status : 0;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The command's own --admin-token, herd's KVD_ADMIN_TOKEN, or a fresh one.
std::string AdminToken(const std::vector<std::string>& command) {
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == "--admin-token" && i + 1 < command.size()) return command[i + 1];
    if (command[i].starts_with("--admin-token=")) return command[i].substr(14);
  }
  if (const char* env = std::getenv("KVD_ADMIN_TOKEN"); env && *env) return env;
  std::random_device device;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", device(), device(), device(), device());
}

// On a restart, kvd's address flags get the addresses it reported, so a
// port-0 launch comes back where it was.
void PinAddress(std::vector<std::string>* args, std::string_view flag, const std::string& address) {
  if (address.empty()) return;
  const std::string with_value = std::string(flag) + "=";
  for (size_t i = 0; i < args->size(); ++i) {
    std::string& a = (*args)[i];
    if (a == flag && i + 1 < args->size()) (*args)[i + 1] = address;
    if (a.starts_with(with_value)) a = with_value + address;
  }
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      size_t colon = rest.find(':');
      fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  if (name == "kvd") {
    // A build tree: build/harness/herd and build/targets/kvd/kvd.
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      fs::path sibling = self.parent_path().parent_path() / "targets" / "kvd" / "kvd";
      if (::access(sibling.c_str(), X_OK) == 0) return sibling.string();
    }
  }
  return name;
}

std::string TailOfFile(const fs::path& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  | " + l + "\n";
  return out;
}

Launcher::Launcher(const LaunchSpec& spec, Target::Protocol protocol, fs::path run_dir)
    : spec_(spec), protocol_(protocol), run_dir_(std::move(run_dir)), admin_token_(AdminToken(spec.command)) {}

Launcher::~Launcher() { Stop(std::chrono::seconds(2)); }

bool Launcher::Start(std::string* error) {
  replicas_.resize(static_cast<size_t>(spec_.replicas));
  live_pids_ = std::make_unique<std::atomic<pid_t>[]>(replicas_.size());
  for (size_t i = 0; i < replicas_.size(); ++i) live_pids_[i] = -1;
  for (int i = 0; i < spec_.replicas; ++i) {
    if (!StartOne(i, /*restart=*/false, error) || !WaitReady(replicas_[i], i, error)) {
      Stop(std::chrono::seconds(2));
      return false;
    }
  }
  return true;
}

bool Launcher::StartOne(int index, bool restart, std::string* error) {
  Replica& r = replicas_[index];
  const int port = restart ? r.port : FreePort();
  r.port = port;
  const fs::path data_dir = run_dir_ / fmt::format("target-{}-data", index);
  fs::create_directories(data_dir);
  std::vector<std::string> args;
  for (std::string a : spec_.command) {
    ReplaceAll(&a, "{port}", std::to_string(port));
    ReplaceAll(&a, "{replica}", std::to_string(index));
    ReplaceAll(&a, "{data_dir}", data_dir.string());
    args.push_back(std::move(a));
  }
  args[0] = ResolveProgram(args[0]);
  if (restart) {
    PinAddress(&args, "--http", r.http);
    PinAddress(&args, "--grpc", r.grpc);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const fs::path out = run_dir_ / fmt::format("target-{}.stdout", index);
  r.stderr_path = run_dir_ / fmt::format("target-{}.stderr", index);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, r.stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | (restart ? O_APPEND : O_TRUNC), 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a Ctrl-C meant for herd does not hit it first:
  // herd stops it in order.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (!std::string_view(*e).starts_with("KVD_ADMIN_TOKEN=")) env_strings.emplace_back(*e);
  }
  env_strings.push_back("KVD_ADMIN_TOKEN=" + admin_token_);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    *error = fmt::format("target replica {}: cannot start {}: {}", index, args[0], strerror(rc));
    return false;
  }
  r.pid = pid;
  Publish(r);
  if (port > 0 && !restart) r.http = r.grpc = fmt::format("127.0.0.1:{}", port);

  // Wait briefly for a ready line: kvd prints its addresses there.
  const bool has_port = std::any_of(spec_.command.begin(), spec_.command.end(),
                                    [](const std::string& a) { return a.find("{port}") != std::string::npos; });
  const auto deadline = Clock::now() + (has_port ? std::chrono::milliseconds(0) : spec_.ready_timeout);
  do {
    std::string line = FirstLine(out);
    if (!line.empty()) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object()) {
        // The ready line is the truth: null means that frontend is off.
        if (j.contains("http")) r.http = j["http"].is_string() ? j["http"].get<std::string>() : "";
        if (j.contains("grpc")) r.grpc = j["grpc"].is_string() ? j["grpc"].get<std::string>() : "";
      }
      break;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      r.pid = -1;
      Publish(r);
      r.exit_status = DecodeStatus(status);
      *error = fmt::format("target replica {} exited with status {} before it was ready; its stderr:\n{}",
                           index, r.exit_status, TailOfFile(r.stderr_path, 20));
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (Clock::now() < deadline);
  return true;
}

bool Launcher::WaitReady(Replica& r, int index, std::string* error) {
  const auto deadline = Clock::now() + spec_.ready_timeout;
  const std::string url = "http://" + r.http + spec_.ready;
  long last = 0;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(r.pid, &status, WNOHANG) == r.pid) {
      r.exit_status = DecodeStatus(status);
      r.pid = -1;
      Publish(r);
      *error = fmt::format("target replica {} exited with status {} before it was ready; its stderr:\n{}",
                           index, r.exit_status, TailOfFile(r.stderr_path, 20));
      return false;
    }
    if (r.http.empty()) return true;  // nothing to poll (gRPC only): running is ready
    last = Probe(url);
    if (last == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *error = fmt::format(
      "target replica {} was not ready within {}: GET {} answered {}; its stderr:\n{}", index,
      FormatDuration(spec_.ready_timeout), url, last == 0 ? std::string("nothing") : std::to_string(last),
      TailOfFile(r.stderr_path, 20));
  return false;
}

void Launcher::Stop(Duration grace) {
  for (Replica& r : replicas_) {
    if (r.pid > 0) {
      ::kill(r.pid, SIGTERM);
      ::kill(r.pid, SIGCONT);  // a paused replica must run to drain
    }
  }
  const auto deadline = Clock::now() + grace;
  for (Replica& r : replicas_) {
    while (r.pid > 0) {
      int status = 0;
      pid_t done = ::waitpid(r.pid, &status, WNOHANG);
      if (done == r.pid) {
        r.exit_status = DecodeStatus(status);
        r.pid = -1;
        Publish(r);
        break;
      }
      if (Clock::now() >= deadline) {
        ::kill(r.pid, SIGKILL);
        ::waitpid(r.pid, &status, 0);
        r.exit_status = DecodeStatus(status);
        r.pid = -1;
        Publish(r);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

void Launcher::Publish(const Replica& r) {
  if (live_pids_) live_pids_[static_cast<size_t>(&r - replicas_.data())].store(r.pid);
}

pid_t Launcher::CurrentPid(int index) const {
  if (!live_pids_ || index < 0 || static_cast<size_t>(index) >= replicas_.size()) return -1;
  return live_pids_[static_cast<size_t>(index)].load();
}

bool Launcher::EnsureRunning(int index, std::string* error) {
  Replica& r = replicas_[index];
  if (r.pid > 0) {
    int status = 0;
    if (::waitpid(r.pid, &status, WNOHANG) != r.pid) return true;
    r.exit_status = DecodeStatus(status);
    r.pid = -1;
    Publish(r);
  }
  return Restart(index, error);
}

bool Launcher::Signal(int index, int sig, std::string* error) {
  Replica& r = replicas_[index];
  if (r.pid > 0) {
    int status = 0;
    if (::waitpid(r.pid, &status, WNOHANG) == r.pid) {
      r.exit_status = DecodeStatus(status);
      r.pid = -1;
      Publish(r);
    }
  }
  if (r.pid <= 0) {
    *error = fmt::format("replica {} is not running (exit status {})", index, r.exit_status);
    return false;
  }
  if (::kill(r.pid, sig) != 0) {
    *error = fmt::format("replica {}: kill: {}", index, strerror(errno));
    return false;
  }
  return true;
}

bool Launcher::WaitExit(int index, Duration wait, bool kill_after) {
  Replica& r = replicas_[index];
  const auto deadline = Clock::now() + wait;
  while (r.pid > 0) {
    int status = 0;
    if (::waitpid(r.pid, &status, WNOHANG) == r.pid) {
      r.exit_status = DecodeStatus(status);
      r.pid = -1;
      Publish(r);
      return true;
    }
    if (Clock::now() >= deadline) {
      if (!kill_after) return false;
      ::kill(r.pid, SIGKILL);
      ::kill(r.pid, SIGCONT);
      ::waitpid(r.pid, &status, 0);
      r.exit_status = DecodeStatus(status);
      r.pid = -1;
      Publish(r);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool Launcher::Restart(int index, std::string* error) {
  Replica& r = replicas_[index];
  if (r.pid > 0) {
    *error = fmt::format("replica {} is still running (pid {})", index, r.pid);
    return false;
  }
  return StartOne(index, /*restart=*/true, error) && WaitReady(r, index, error);
}

bool Launcher::SetFdLimit(int index, int64_t soft, int64_t* previous, std::string* error) {
  Replica& r = replicas_[index];
  std::string why;
  if (!Signal(index, 0, &why)) {
    *error = why;
    return false;
  }
  rlimit old{};
  if (::prlimit(r.pid, RLIMIT_NOFILE, nullptr, &old) != 0) {
    *error = fmt::format("replica {}: prlimit: {}", index, strerror(errno));
    return false;
  }
  rlimit now = old;
  now.rlim_cur = std::min<rlim_t>(static_cast<rlim_t>(soft), old.rlim_max);
  if (::prlimit(r.pid, RLIMIT_NOFILE, &now, nullptr) != 0) {
    *error = fmt::format("replica {}: prlimit: {}", index, strerror(errno));
    return false;
  }
  *previous = static_cast<int64_t>(old.rlim_cur);
  return true;
}

std::vector<std::string> Launcher::Addresses() const {
  std::vector<std::string> out;
  for (const Replica& r : replicas_) out.push_back(protocol_ == Target::Protocol::kGrpc ? r.grpc : r.http);
  return out;
}

}  // namespace herd
