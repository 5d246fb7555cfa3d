#include "observe/observers.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <tuple>

#include <fmt/format.h>

#include "observe/durability.h"
#include "observe/monitor.h"
#include "observe/probe.h"
#include "target/launcher.h"

namespace herd {

using Clock = std::chrono::steady_clock;

struct Observers::Impl {
  Context ctx;
  Clock::time_point zero{};
  std::unique_ptr<Prober> prober;
  std::unique_ptr<DurabilityChecker> cohort;

  // Monitor sampling: one thread, once a bucket.
  std::thread sampler;
  std::mutex mu;
  std::condition_variable cv;
  bool stop_sampling = false;
  std::vector<MonitorObservation> samples;
  std::vector<SeriesSelector> selectors;  // flattened over monitors, in order
  // Samples that could not be taken, by (monitor, replica, series, reason):
  // how often, first and last time. The run goes on; summary.json says.
  struct Miss {
    int64_t count = 0;
    double first_s = 0, last_s = 0;
  };
  std::map<std::tuple<std::string, int, std::string, std::string>, Miss> misses;

  void Missed(const std::string& monitor, int replica, const std::string& series, const std::string& reason,
              double t) {
    std::lock_guard lock(mu);
    auto [it, inserted] = misses.try_emplace({monitor, replica, series, reason});
    if (inserted) {
      it->second.first_s = t;
      Log(fmt::format("monitor {} on replica {}{}: {} (the run goes on)", monitor, replica,
                      series.empty() ? "" : " series " + series, reason));
    }
    ++it->second.count;
    it->second.last_s = t;
  }

  mutable std::mutex restarts_mu;
  nlohmann::json restarts = nlohmann::json::array();

  double Now() const { return std::chrono::duration<double>(Clock::now() - zero).count(); }

  void Log(const std::string& line) const {
    if (ctx.log) std::fprintf(stderr, "herd: %s\n", line.c_str());
  }

  int replicas() const { return static_cast<int>(ctx.direct_http.size()); }

  void SampleOnce() {
    const Scenario& s = *ctx.scenario;
    const double t = Now();
    std::vector<MonitorObservation> rows;
    size_t selector = 0;
    for (const MonitorSpec& m : s.monitors) {
      if (m.kind == MonitorSpec::Kind::kProcess) {
        const int n = m.pid > 0 ? 1 : replicas();
        for (int r = 0; r < n; ++r) {
          const pid_t pid = m.pid > 0 ? static_cast<pid_t>(m.pid) : (ctx.launcher ? ctx.launcher->CurrentPid(r) : -1);
          ProcessSample p;
          std::string error;
          if (pid <= 0) {
            Missed(m.name, r, "", "the replica is not running", t);  // a kill: no sample
            continue;
          }
          if (!ReadProcess(pid, &p, &error)) {
            Missed(m.name, r, "", error, t);
            continue;
          }
          for (const auto& [series, value] : ProcessSeries(p)) rows.push_back({t, m.name, r, series, value});
        }
      } else {
        const int timeout_ms = static_cast<int>(std::clamp<int64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(s.bucket).count(), 100, 1000));
        for (int r = 0; r < replicas(); ++r) {
          std::string body, error;
          if (ctx.direct_http[static_cast<size_t>(r)].empty()) {
            Missed(m.name, r, "", "the replica has no HTTP address to scrape", t);
            continue;
          }
          if (!Scrape(ctx.direct_http[static_cast<size_t>(r)], m.path, timeout_ms, &body, &error)) {
            Missed(m.name, r, "", error, t);
            continue;
          }
          for (size_t i = 0; i < m.series.size(); ++i) {
            double value = 0;
            if (SumSeries(body, selectors[selector + i], &value)) {
              rows.push_back({t, m.name, r, m.series[i], value});
            } else {
              Missed(m.name, r, m.series[i], "no sample of this series in the scrape (" + m.path + ")", t);
            }
          }
        }
        selector += m.series.size();
      }
    }
    std::lock_guard lock(mu);
    samples.insert(samples.end(), rows.begin(), rows.end());
  }

  void Sample(Clock::time_point until) {
    const Duration every = std::max<Duration>(ctx.scenario->bucket, std::chrono::milliseconds(100));
    Clock::time_point next = Clock::now();
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait_until(lock, next, [&] { return stop_sampling; });
        if (stop_sampling || Clock::now() >= until) return;
      }
      SampleOnce();
      next += every;
      if (next < Clock::now()) next = Clock::now();
    }
  }

  void OnProbeChange(int probe, int replica, bool healthy) {
    const ProbeSpec& spec = ctx.scenario->probes[static_cast<size_t>(probe)];
    Log(fmt::format("probe {} on replica {}: {} at {:.3f}s", spec.name, replica, healthy ? "healthy" : "unhealthy",
                    Now()));
    if (spec.action == ProbeSpec::Action::kUnready && ctx.set_ready) ctx.set_ready(replica, healthy);
    if (spec.action == ProbeSpec::Action::kRestart && !healthy && ctx.launcher) {
      // A kubelet's liveness restart: kill, start again, probe again after
      // initial_delay. On the replica's actor, in turn with process faults.
      ctx.actors.at(static_cast<size_t>(replica))->Post([this, replica, name = spec.name] {
        const double at = Now();
        std::string error;
        bool ok = true;
        if (ctx.launcher->Signal(replica, SIGKILL, &error)) {
          ctx.launcher->WaitExit(replica, std::chrono::seconds(5), /*kill_after=*/true);
        }
        error.clear();  // not running already (a kill fault) is fine: start it
        ok = ctx.launcher->Restart(replica, &error);
        const double ready = Now();
        Log(ok ? fmt::format("replica {} restarted by probe {} (pid {}), ready at {:.3f}s", replica, name,
                             ctx.launcher->CurrentPid(replica), ready)
               : fmt::format("replica {}: restart by probe {} failed: {}", replica, name, error));
        {
          std::lock_guard lock(restarts_mu);
          restarts.push_back({{"t_s", at}, {"replica", replica}, {"probe", name}, {"ready_s", ready},
                              {"ok", ok}, {"error", error}});
        }
        if (prober) prober->Resume(replica);
      });
    }
  }
};

Observers::Observers(Context context) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = std::move(context);
  for (const MonitorSpec& m : impl_->ctx.scenario->monitors) {
    for (const std::string& text : m.series) {
      SeriesSelector selector;
      std::string error;
      if (!ParseSelector(text, &selector, &error)) selector.metric = text;  // matches nothing; validated at load
      impl_->selectors.push_back(std::move(selector));
    }
  }
}

Observers::~Observers() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop_sampling = true;
  }
  impl_->cv.notify_all();
  if (impl_->sampler.joinable()) impl_->sampler.join();
  if (impl_->prober) impl_->prober->Stop();
  for (Actor* actor : impl_->ctx.actors) actor->Drain();  // restart jobs hold impl_
}

void Observers::Start(Clock::time_point zero, Duration duration) {
  Impl& m = *impl_;
  m.zero = zero;
  const Scenario& s = *m.ctx.scenario;
  if (!s.probes.empty()) {
    m.prober = std::make_unique<Prober>(s.probes, m.ctx.direct_http, m.ctx.direct_grpc, zero,
                                        [&m](int probe, int replica, bool healthy) {
                                          m.OnProbeChange(probe, replica, healthy);
                                        });
    m.prober->Start();
  }
  if (!s.monitors.empty()) {
    // Samples run until Finish stops them (the idle period included).
    m.sampler = std::thread([&m] { m.Sample(Clock::time_point::max()); });
  }
  if (s.durability) {
    DurabilitySpec spec;
    spec.writes = s.durability->writes;
    spec.timeout = s.durability->timeout;
    m.cohort = std::make_unique<DurabilityChecker>(spec, m.ctx.cohort_http, s.seed);
    m.cohort->Start(duration);
  }
}

void Observers::StopLoad() {
  if (impl_->cohort) impl_->cohort->StopWriting(impl_->ctx.scenario->durability->timeout + std::chrono::seconds(1));
}

void Observers::Finish() {
  Impl& m = *impl_;
  const Scenario& s = *m.ctx.scenario;
  Duration idle{};
  for (const MonitorSpec& mon : s.monitors) idle = std::max(idle, mon.idle);
  if (idle.count() > 0 && m.sampler.joinable()) {
    if (m.ctx.log) std::fprintf(stderr, "herd: sampling monitors %s more, with no load\n", FormatDuration(idle).c_str());
    std::this_thread::sleep_for(idle);
  }
  {
    std::lock_guard lock(m.mu);
    m.stop_sampling = true;
  }
  m.cv.notify_all();
  if (m.sampler.joinable()) m.sampler.join();
  if (m.prober) m.prober->Stop();
  for (Actor* actor : m.ctx.actors) actor->Drain();
  if (m.cohort) {
    // Faults are healed; a replica still down (a kill without restart, a
    // restart that failed) is started again so its writes can be read.
    if (m.ctx.launcher) {
      for (int r = 0; r < m.replicas(); ++r) {
        std::string error;
        if (!m.ctx.launcher->EnsureRunning(r, &error)) m.Log(fmt::format("durability: replica {}: {}", r, error));
      }
    }
    durability_ = m.cohort->ReadBackAndCheck(&read_errors_);
    const SetCheck& c = *durability_;
    m.Log(fmt::format("durability: {} writes, {} acknowledged, {} lost, {} recovered, {} unexpected{}", c.attempted,
                      c.acknowledged, c.lost, c.recovered, c.unexpected, c.valid() ? "" : "  INVALID"));
  }
}

std::string Observers::ProbesCsv() const {
  return herd::ProbesCsv(impl_->ctx.scenario->probes, impl_->prober ? impl_->prober->checks() : std::vector<ProbeCheck>{});
}

std::string Observers::MonitorsCsv() const {
  std::string out = "t_s,monitor,replica,series,value\n";
  for (const MonitorObservation& o : monitor_samples()) {
    out += fmt::format("{:.3f},{},{},{},{}\n", o.t_s, o.monitor, o.replica, o.series, o.value);
  }
  return out;
}

std::vector<ProbeObservation> Observers::probe_observations() const {
  std::vector<ProbeObservation> out;
  if (!impl_->prober) return out;
  for (const ProbeCheck& c : impl_->prober->checks()) {
    out.push_back({c.t_s, impl_->ctx.scenario->probes[static_cast<size_t>(c.probe)].name, c.replica, c.healthy});
  }
  return out;
}

std::vector<MonitorObservation> Observers::monitor_samples() const {
  std::lock_guard lock(impl_->mu);
  return impl_->samples;
}

nlohmann::json Observers::monitor_misses() const {
  nlohmann::json out = nlohmann::json::array();
  std::lock_guard lock(impl_->mu);
  for (const auto& [key, miss] : impl_->misses) {
    const auto& [monitor, replica, series, reason] = key;
    out.push_back({{"monitor", monitor}, {"replica", replica}, {"series", series}, {"reason", reason},
                   {"count", miss.count}, {"first_s", miss.first_s}, {"last_s", miss.last_s}});
  }
  return out;
}

nlohmann::json Observers::restarts() const {
  std::lock_guard lock(impl_->restarts_mu);
  return impl_->restarts;
}

}  // namespace herd
