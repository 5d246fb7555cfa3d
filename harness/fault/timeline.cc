#include "fault/timeline.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "fault/admin.h"
#include "target/launcher.h"

namespace herd {

using Kind = FaultSpec::Kind;

struct FaultTimeline::Application {
  size_t fault = 0;
  int replica = 0;
  size_t record = 0;
  bool begun = false, ended = false;
  // Written and read on the replica's actor only.
  bool applied = false;
  int64_t previous_fd_limit = 0;
  std::chrono::steady_clock::time_point stopped_at{};  // kill, term: when the replica was gone
  // Main thread only.
  uint64_t proxy_id = 0;
};

namespace {

// "latency=100ms jitter=0s direction=down toxicity=1"
std::string Describe(const FaultSpec& f) {
  std::string out;
  const nlohmann::json parameters = FaultParameters(f);
  for (const auto& [key, value] : parameters.items()) {
    if (!out.empty()) out += ' ';
    out += key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

// "latency=100ms" + "was 1024" -> "latency=100ms; was 1024".
void AppendNote(std::string* detail, const std::string& note) {
  if (note.empty()) return;
  if (!detail->empty()) *detail += "; ";
  *detail += note;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace

std::string FaultsCsv(const std::vector<FaultRecord>& records) {
  std::string out = "start_s,end_s,kind,replica,detail\n";
  for (const FaultRecord& r : records) {
    out += fmt::format("{:.3f},{:.3f},{},{},{}\n", r.start_s, r.end_s, FaultKindName(r.kind), r.replica,
                       CsvField(r.detail));
  }
  return out;
}

FaultTimeline::FaultTimeline(const std::vector<FaultSpec>& faults, Scheduler& scheduler, Targets targets,
                             std::chrono::steady_clock::time_point zero)
    : faults_(faults), scheduler_(scheduler), targets_(std::move(targets)), zero_(zero) {
  for (size_t i = 0; i < faults_.size(); ++i) {
    const FaultSpec& f = faults_[i];
    for (int r = 0; r < targets_.replicas; ++r) {
      if (f.replica >= 0 && f.replica != r) continue;
      auto app = std::make_unique<Application>();
      app->fault = i;
      app->replica = r;
      apps_.push_back(std::move(app));
    }
  }
}

// The actors belong to the run and outlive this: their jobs hold `this`.
FaultTimeline::~FaultTimeline() {
  for (Actor* actor : targets_.actors) actor->Drain();
}

void FaultTimeline::ProxyDown(int replica, bool down) {
  if (!targets_.proxies.empty()) targets_.proxies.at(static_cast<size_t>(replica))->SetDown(down);
}

double FaultTimeline::Now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - zero_).count();
}

void FaultTimeline::Log(const std::string& line) const {
  if (targets_.log) std::fprintf(stderr, "herd: %s\n", line.c_str());
}

void FaultTimeline::Start() {
  for (size_t i = 0; i < apps_.size(); ++i) {
    const FaultSpec& f = faults_[apps_[i]->fault];
    scheduler_.At(f.at, this, i * 2);
    const bool stays_down = (f.kind == Kind::kKill || f.kind == Kind::kTerm) && !f.restart_after;
    if (!stays_down) scheduler_.At(f.end, this, i * 2 + 1);
  }
}

void FaultTimeline::OnTimer(uint64_t token) {
  if (finished_) return;
  const size_t index = token / 2;
  if (token % 2 == 0) {
    Begin(index);
  } else {
    End(index, /*at_finish=*/false);
  }
}

void FaultTimeline::Begin(size_t index) {
  Application& app = *apps_[index];
  const FaultSpec& f = faults_[app.fault];
  app.begun = true;
  {
    std::lock_guard lock(mu_);
    app.record = records_.size();
    records_.push_back(FaultRecord{Now(), -1, f.kind, static_cast<int>(app.fault), app.replica, false, Describe(f)});
  }
  if (f.is_proxy()) {
    Proxy* proxy = targets_.proxies.at(static_cast<size_t>(app.replica));
    if (f.kind == Kind::kDown) {
      proxy->SetDown(true);
    } else {
      app.proxy_id = proxy->Add(f.proxy);
    }
    std::lock_guard lock(mu_);
    records_[app.record].applied = true;
    return;
  }
  // Process and admin faults block: the replica's actor runs them.
  targets_.actors.at(static_cast<size_t>(app.replica))->Post([this, &app, &f] {
    Launcher* launcher = targets_.launcher;
    const int r = app.replica;
    std::string error, note;
    bool ok = false;
    double signalled = -1;  // kill, term: when the signal went (the window starts there)
    switch (f.kind) {
      case Kind::kKill:
        signalled = Now();
        ok = launcher->Signal(r, SIGKILL, &error);
        if (ok) launcher->WaitExit(r, std::chrono::seconds(5), /*kill_after=*/true);
        if (ok) ProxyDown(r, true);
        break;
      case Kind::kTerm: {
        ok = launcher->Signal(r, SIGTERM, &error);
        if (ok) {
          signalled = Now();
          const auto t0 = std::chrono::steady_clock::now();
          launcher->WaitExit(r, std::chrono::seconds(60), /*kill_after=*/true);
          ProxyDown(r, true);
          const auto drain = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
          note = fmt::format("drained in {}ms, exit status {}", drain.count(),
                             launcher->replicas()[static_cast<size_t>(r)].exit_status);
        }
        break;
      }
      case Kind::kPause:
        ok = launcher->Signal(r, SIGSTOP, &error);
        break;
      case Kind::kFdLimit:
        ok = launcher->SetFdLimit(r, f.fd_limit, &app.previous_fd_limit, &error);
        if (ok) note = fmt::format("was {}", app.previous_fd_limit);
        break;
      case Kind::kAdmin:
        ok = PutAdminFaults(launcher->replicas()[static_cast<size_t>(r)].http, launcher->admin_token(), f.admin,
                            &error);
        break;
      default:
        break;
    }
    app.applied = ok;
    app.stopped_at = std::chrono::steady_clock::now();
    const double now = Now();
    std::lock_guard lock(mu_);
    FaultRecord& rec = records_[app.record];
    rec.start_s = ok && signalled >= 0 ? signalled : now;
    rec.applied = ok;
    if (ok) {
      AppendNote(&rec.detail, note);
    } else {
      rec.end_s = now;
      AppendNote(&rec.detail, "not applied: " + error);
      Log(fmt::format("{} on replica {} at {:.3f}s not applied: {}", FaultKindName(f.kind), r, now, error));
    }
  });
}

void FaultTimeline::End(size_t index, bool at_finish) {
  Application& app = *apps_[index];
  if (!app.begun || app.ended) return;
  app.ended = true;
  const FaultSpec& f = faults_[app.fault];
  if (f.is_proxy()) {
    Proxy* proxy = targets_.proxies.at(static_cast<size_t>(app.replica));
    if (f.kind == Kind::kDown) {
      proxy->SetDown(false);
    } else {
      proxy->Remove(app.proxy_id);
    }
    std::lock_guard lock(mu_);
    records_[app.record].end_s = Now();
    return;
  }
  targets_.actors.at(static_cast<size_t>(app.replica))->Post([this, &app, &f, at_finish] {
    if (!app.applied) return;  // its record is closed already
    Launcher* launcher = targets_.launcher;
    const int r = app.replica;
    std::string error, note;
    switch (f.kind) {
      case Kind::kKill:
      case Kind::kTerm:
        if (at_finish) {
          note = f.restart_after ? "not restarted: the run ended first" : "not restarted (restart_after null)";
        } else {
          // restart_after counts from when the replica was gone: a drain
          // may outlast at + restart_after, when this job was posted.
          std::this_thread::sleep_until(app.stopped_at + *f.restart_after);
          if (launcher->CurrentPid(r) > 0) {
            // Already back: a restart probe restarted it meanwhile.
            ProxyDown(r, false);
            note = fmt::format("already restarted (by a probe), pid {}", launcher->CurrentPid(r));
          } else if (launcher->Restart(r, &error)) {
            ProxyDown(r, false);
            const pid_t pid = launcher->replicas()[static_cast<size_t>(r)].pid;
            note = fmt::format("restarted, pid {}", pid);
            Log(fmt::format("replica {} restarted after {} (pid {}), ready at {:.3f}s", r, FaultKindName(f.kind), pid,
                            Now()));
          } else {
            note = "restart failed: " + error;
            Log(fmt::format("replica {} did not restart: {}", r, error));
          }
        }
        break;
      case Kind::kPause:
        if (!launcher->Signal(r, SIGCONT, &error)) note = "resume failed: " + error;
        break;
      case Kind::kFdLimit: {
        int64_t ignored = 0;
        if (!launcher->SetFdLimit(r, app.previous_fd_limit, &ignored, &error)) note = "restore failed: " + error;
        break;
      }
      case Kind::kAdmin:
        if (!PutAdminFaults(launcher->replicas()[static_cast<size_t>(r)].http, launcher->admin_token(),
                            ClearingPatch(f.admin), &error)) {
          note = "clearing failed: " + error;
        }
        break;
      default:
        break;
    }
    const double now = Now();
    std::lock_guard lock(mu_);
    records_[app.record].end_s = now;
    AppendNote(&records_[app.record].detail, note);
  });
}

void FaultTimeline::Finish() {
  if (finished_) return;
  for (size_t i = 0; i < apps_.size(); ++i) End(i, /*at_finish=*/true);
  finished_ = true;
  for (Actor* actor : targets_.actors) actor->Drain();
  // Records still open: a kill that stays down, a fault that never began
  // has no record at all.
  const double now = Now();
  std::lock_guard lock(mu_);
  for (FaultRecord& r : records_) {
    if (r.end_s < 0) r.end_s = now;
  }
}

std::vector<FaultRecord> FaultTimeline::records() const {
  std::lock_guard lock(mu_);
  std::vector<FaultRecord> out = records_;
  std::stable_sort(out.begin(), out.end(),
                   [](const FaultRecord& a, const FaultRecord& b) { return a.start_s < b.start_s; });
  return out;
}

}  // namespace herd
