#include "cli/run.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "engine/engine.h"
#include "engine/scheduler.h"
#include "analyze/analyses.h"
#include "analyze/gates.h"
#include "fault/actor.h"
#include "fault/proxy.h"
#include "fault/timeline.h"
#include "observe/observers.h"
#include "measure/timeseries.h"
#include "cli/report.h"
#include "report/report.h"
#include "report/run_dir.h"
#include "report/summary.h"
#include "scenario/parse.h"
#include "target/launcher.h"
#include "transport/grpc.h"
#include "transport/http.h"
#include "transport/model.h"

namespace herd {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kExitPass = 0, kExitCannotRun = 1, kExitInvalid = 2, kExitGateFailed = 99, kExitInterrupted = 130;

void PrintErrors(const std::string& path, const std::vector<ParseError>& errors) {
  for (const ParseError& e : errors) std::fprintf(stderr, "herd: %s: %s\n", path.c_str(), e.ToString().c_str());
}

bool Load(const std::string& path, const std::vector<std::string>& overrides, Scenario* s) {
  std::vector<ParseError> errors;
  if (!LoadScenario(path, overrides, s, &errors)) {
    PrintErrors(path, errors);
    return false;
  }
  return true;
}

// "http://127.0.0.1:8080/..." or "127.0.0.1:8080" -> host, "host:port".
bool SplitUrl(const std::string& url, std::string* host, std::string* hostport) {
  std::string rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = rest.substr(0, colon);
  *hostport = rest;
  return true;
}

std::string UtcNow() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

// One line a second on a terminal: what the last second looked like.
class Progress {
 public:
  Progress(const TimeSeries& series, bool enabled) : series_(series), enabled_(enabled) {}
  void Maybe(Duration now, int64_t in_flight) {
    if (!enabled_ || now < next_) return;
    next_ = now + std::chrono::seconds(1);
    const auto per_bucket = std::max<int64_t>(1, std::chrono::seconds(1) / series_.width());
    const int64_t last = now / series_.width();  // the bucket being filled
    const size_t from = static_cast<size_t>(std::max<int64_t>(0, last - per_bucket));
    const size_t to = static_cast<size_t>(std::max<int64_t>(0, last));
    BucketCounts c;
    Histogram lat;
    for (size_t f = 0; f < series_.fleets(); ++f) {
      c.Add(series_.Total(f, from, to));
      lat.Merge(series_.TotalAttemptLatency(f, from, to));
    }
    uint64_t errors = 0;
    for (int i = 0; i < kOutcomes; ++i) {
      if (!IsSuccess(static_cast<Outcome>(i))) errors += c.outcomes[i];
    }
    std::fprintf(stderr, "%6.0fs  offered %7llu/s  attempts %7llu/s  ok %7llu/s  errors %7llu/s  p99 %8.2f ms  in flight %lld\n",
                 ToSeconds(now), static_cast<unsigned long long>(c.offered),
                 static_cast<unsigned long long>(c.attempts),
                 static_cast<unsigned long long>(c.outcomes[0] + c.outcomes[1]),
                 static_cast<unsigned long long>(errors), static_cast<double>(lat.Quantile(0.99)) / 1e6,
                 static_cast<long long>(in_flight));
  }

 private:
  const TimeSeries& series_;
  bool enabled_;
  Duration next_ = std::chrono::seconds(1);
};

Duration LongestTimeout(const Scenario& s) {
  Duration longest = std::chrono::seconds(1);
  for (const Fleet& f : s.fleets) longest = std::max(longest, f.timeout);
  return std::min<Duration>(longest, std::chrono::seconds(30));
}

}  // namespace

int ValidateCommand(const std::string& path, const std::vector<std::string>& overrides) {
  Scenario s;
  if (!Load(path, overrides, &s)) return kExitInvalid;
  std::printf("%s: valid (%zu fleet%s, %s)\n", path.c_str(), s.fleets.size(),
              s.fleets.size() == 1 ? "" : "s", FormatDuration(s.duration).c_str());
  return kExitPass;
}

int RunCommand(const RunOptions& o) {
  std::vector<std::string> overrides = o.overrides;
  if (o.seed) overrides.push_back(fmt::format("seed={}", *o.seed));
  if (!o.duration.empty()) overrides.push_back("duration=" + o.duration);
  Scenario scenario;
  if (!Load(o.scenario_path, overrides, &scenario)) return kExitInvalid;
  const Target& target = scenario.target;

  // Refuse what cannot run before anything starts.
  std::optional<ModelSpec> model;
  if (!target.model.is_null()) {
    ModelSpec m;
    std::string why;
    if (!ParseModelSpec(target.model, &m, &why)) {
      std::fprintf(stderr, "herd: %s: target.model.%s\n", o.scenario_path.c_str(), why.c_str());
      return kExitInvalid;
    }
    model = m;
  }
  if (!model && !target.launch) {
    std::string host, hostport;
    if (!SplitUrl(target.url, &host, &hostport)) {
      std::fprintf(stderr, "herd: %s: target.url: expected http://host:port, got \"%s\"\n",
                   o.scenario_path.c_str(), target.url.c_str());
      return kExitInvalid;
    }
    if (!IsLoopbackHost(host) && !target.allow_remote) {
      std::fprintf(stderr,
                   "herd: %s: target.url: %s is not a loopback address; herd only hammers other "
                   "machines when the scenario says \"allow_remote\": true\n",
                   o.scenario_path.c_str(), host.c_str());
      return kExitInvalid;
    }
  }

  // A baseline that cannot be compared is known now, not after the run.
  std::map<std::string, double> tolerances;
  if (!o.baseline.empty()) {
    std::string why;
    if (!CheckCompareInput(o.baseline, o.max_regression, &tolerances, &why)) {
      std::fprintf(stderr, "herd: --baseline: %s\n", why.c_str());
      return kExitInvalid;
    }
  } else if (!o.max_regression.empty()) {
    std::fprintf(stderr, "herd: --max-regression needs --baseline\n");
    return kExitInvalid;
  }

  RunDir dir;
  std::string error;
  const fs::path out = o.out.empty() ? RunDir::DefaultPath("reports", scenario.name) : fs::path(o.out);
  if (!RunDir::Create(out, &dir, &error)) {
    std::fprintf(stderr, "herd: %s\n", error.c_str());
    return kExitCannotRun;
  }

  RunFacts facts;
  facts.started_at = UtcNow();
  std::vector<std::string> names;
  for (const Fleet& f : scenario.fleets) names.push_back(f.name);
  TimeSeries series(scenario.bucket, names);
  const bool show_progress = !o.quiet && ::isatty(2);

  // The target.
  std::unique_ptr<Launcher> launcher;
  std::vector<std::string> addresses;
  if (model) {
    facts.target = {{"kind", "model"}, {"model", target.model}};
  } else if (target.launch) {
    launcher = std::make_unique<Launcher>(*target.launch, target.protocol, dir.path());
    if (!o.quiet) std::fprintf(stderr, "herd: starting %d replica(s) of %s\n", target.launch->replicas,
                               target.launch->command[0].c_str());
    if (!launcher->Start(&error)) {
      std::fprintf(stderr, "herd: %s\n", error.c_str());
      json summary = {{"name", scenario.name}, {"verdict", "error"}, {"error", error},
                      {"scenario", scenario.resolved}};
      dir.Write("summary.json", summary.dump(2) + "\n", &error);
      return kExitCannotRun;
    }
    addresses = launcher->Addresses();
    facts.target = {{"kind", "launch"}, {"addresses", addresses}};
  } else {
    std::string host, hostport;
    SplitUrl(target.url, &host, &hostport);
    addresses = {hostport};
    facts.target = {{"kind", "url"}, {"addresses", addresses}};
  }

  // Where each replica listens, for the probes and monitors (they go
  // direct, as a kubelet does) and for process faults.
  std::vector<std::string> direct_http, direct_grpc;
  if (launcher) {
    for (const Replica& r : launcher->replicas()) {
      direct_http.push_back(r.http);
      direct_grpc.push_back(r.grpc);
    }
  } else if (!model) {
    const bool grpc = target.protocol == Target::Protocol::kGrpc;
    direct_http.push_back(grpc ? "" : addresses.front());
    direct_grpc.push_back(grpc ? addresses.front() : "");
  }
  // Blocking work on a replica (process and admin faults, probe restarts)
  // runs on that replica's actor, one job at a time.
  std::vector<std::unique_ptr<Actor>> actors;
  std::vector<Actor*> actor_ptrs;
  if (launcher) {
    for (size_t i = 0; i < launcher->replicas().size(); ++i) {
      actors.push_back(std::make_unique<Actor>());
      actor_ptrs.push_back(actors.back().get());
    }
  }

  // Proxy faults: one proxy in front of each replica; the fleets talk to it.
  std::vector<std::unique_ptr<Proxy>> proxies;
  if (std::any_of(scenario.faults.begin(), scenario.faults.end(), [](const FaultSpec& f) { return f.is_proxy(); })) {
    std::vector<std::string> proxied;
    for (const std::string& upstream : addresses) {
      auto proxy = std::make_unique<Proxy>("127.0.0.1:0", upstream);
      if (!proxy->Start(&error)) {
        std::fprintf(stderr, "herd: fault proxy for %s: %s\n", upstream.c_str(), error.c_str());
        return kExitCannotRun;
      }
      proxied.push_back(proxy->address());
      proxies.push_back(std::move(proxy));
    }
    facts.target["proxies"] = proxied;
    addresses = proxied;
  }

  asio::io_context ioc(1);
  Scheduler scheduler;
  std::unique_ptr<Transport> transport;
  if (model) {
    transport = std::make_unique<ModelTransport>(scheduler, *model, scenario.seed);
  } else if (target.protocol == Target::Protocol::kGrpc) {
    const Fleet& f0 = scenario.fleets[0];
    const int channels = f0.connections == Fleet::Connections::kShared
                             ? 1
                             : static_cast<int>(std::min<int64_t>(f0.instances, f0.pool_size));
    transport = std::make_unique<GrpcTransport>(ioc, addresses, channels);
  } else {
    HttpTargetSpec spec;
    for (const auto& a : addresses) spec.base_urls.push_back("http://" + a);
    spec.shared_pool = scenario.fleets[0].connections == Fleet::Connections::kShared;
    spec.pool_size = scenario.fleets[0].pool_size;
    transport = std::make_unique<HttpTransport>(ioc, scheduler, spec);
  }
  Engine engine(scenario, scheduler, *transport, series);

  // Probes, monitors and the durability cohort.
  std::vector<int> unready(addresses.size(), 0);  // unready probes per replica
  std::unique_ptr<Observers> observers;
  if (!model && (!scenario.probes.empty() || !scenario.monitors.empty() || scenario.durability)) {
    Observers::Context c;
    c.scenario = &scenario;
    c.launcher = launcher.get();
    c.direct_http = direct_http;
    c.direct_grpc = direct_grpc;
    c.cohort_http = target.protocol == Target::Protocol::kHttp ? addresses : direct_http;
    c.actors = actor_ptrs;
    c.log = !o.quiet;
    c.set_ready = [&ioc, &transport, &unready](int replica, bool ready) {
      asio::post(ioc, [&transport, &unready, replica, ready] {
        int& n = unready.at(static_cast<size_t>(replica));
        n = std::max(0, n + (ready ? -1 : 1));
        transport->SetReplicaReady(static_cast<size_t>(replica), n == 0);
      });
    };
    observers = std::make_unique<Observers>(std::move(c));
  }
  const Duration grace = LongestTimeout(scenario);
  bool interrupted = false;
  std::unique_ptr<FaultTimeline> timeline;

  if (model && !o.real_time) {
    // A what-if run: virtual time, as fast as the CPU goes.
    facts.virtual_time = true;
    engine.Start();
    scheduler.RunUntil(scenario.duration);
    engine.Stop();
    scheduler.RunUntil(scenario.duration + grace);
    facts.elapsed = scenario.duration;
  } else {
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) interrupted = true;
    });
    Progress progress(series, show_progress);
    const auto zero = std::chrono::steady_clock::now();
    scheduler.UseRealClock(zero);
    if (!scenario.faults.empty()) {
      FaultTimeline::Targets targets;
      targets.launcher = launcher.get();
      targets.actors = actor_ptrs;
      for (auto& p : proxies) targets.proxies.push_back(p.get());
      targets.replicas = static_cast<int>(addresses.size());
      targets.log = !o.quiet;
      timeline = std::make_unique<FaultTimeline>(scenario.faults, scheduler, std::move(targets), zero);
      timeline->Start();
    }
    if (observers) observers->Start(zero, scenario.duration);
    engine.Start();
    Duration stop_at{};
    for (;;) {
      const Duration now = scheduler.Fresh();
      if (!engine.stopped() && (now >= scenario.duration || interrupted)) {
        // What was due before the end still happens (arrivals the loop had
        // not reached yet); nothing scheduled at or after it does.
        if (!interrupted) scheduler.RunUntil(scenario.duration);
        engine.Stop();
        if (timeline) timeline->Finish();  // heal, so what is in flight can finish
        if (observers) observers->StopLoad();
        stop_at = std::min(now, scenario.duration);
      }
      if (engine.stopped() && (engine.in_flight() == 0 || now >= stop_at + grace || interrupted)) break;
      scheduler.RunDue();
      progress.Maybe(now, engine.in_flight());
      series.Seal(now - std::chrono::seconds(2));
      Duration wait = std::chrono::milliseconds(20);
      if (!scheduler.empty()) wait = std::min(wait, scheduler.next() - scheduler.Fresh());
      if (wait.count() > 0) ioc.run_one_for(wait);
      ioc.poll();
    }
    facts.elapsed = stop_at;
  }
  facts.interrupted = interrupted;
  // The time series covers the whole run, quiet seconds at its end included
  // (the book's exponential backoff is silent for its last minute).
  for (size_t f = 0; f < series.fleets(); ++f) {
    if (facts.elapsed.count() > 0) series.InFlight(f, facts.elapsed - Duration(1), engine.in_flight());
  }

  std::vector<FaultRecord> fault_records;
  if (timeline) {
    timeline->Finish();
    fault_records = timeline->records();
    timeline.reset();  // its actors are done with the launcher
  }
  for (const FaultRecord& r : fault_records) {
    facts.faults.push_back({{"start_s", r.start_s}, {"end_s", r.end_s}, {"kind", FaultKindName(r.kind)},
                            {"replica", r.replica}, {"applied", r.applied}, {"detail", r.detail}});
    if (r.applied) {
      facts.windows.push_back(
          {r.start_s, r.end_s, fmt::format("{} on replica {}", FaultKindName(r.kind), r.replica), r.replica});
    }
  }
  // Healed: monitors sample their idle time, replicas come back, the
  // durability cohort is read back (through the proxies, fault-free now).
  if (observers) observers->Finish();
  proxies.clear();

  if (launcher) {
    launcher->Stop(std::chrono::seconds(5));
    json replicas = json::array();
    for (const Replica& r : launcher->replicas()) {
      replicas.push_back({{"http", r.http}, {"grpc", r.grpc}, {"exit_status", r.exit_status},
                          {"stderr", r.stderr_path.filename().string()}});
    }
    facts.target["replicas"] = replicas;
  }

  bool ok = dir.Write("timeseries.csv", series.Csv(), &error) &&
            dir.Write("faults.csv", FaultsCsv(fault_records), &error) &&
            dir.Write("probes.csv", observers ? observers->ProbesCsv() : "t_s,probe,replica,status,latency_ms,state\n",
                      &error) &&
            dir.Write("monitors.csv", observers ? observers->MonitorsCsv() : "t_s,monitor,replica,series,value\n",
                      &error);
  for (size_t f = 0; ok && f < series.fleets(); ++f) {
    ok = dir.Write("histograms/" + series.fleet_name(f) + ".txt", HistogramsText(series, f), &error);
  }
  {
    AnalysisInput in;
    in.series = &series;
    in.load_end_s = ToSeconds(facts.elapsed);
    for (const auto& w : facts.windows) in.windows.push_back({w.start_s, w.end_s, w.label, w.replica});
    for (size_t f = 0; f < series.fleets(); ++f) in.succeeded_per_instance.push_back(engine.SucceededPerInstance(f));
    if (observers) {
      in.probe_checks = observers->probe_observations();
      in.monitor_samples = observers->monitor_samples();
      in.durability = observers->durability();
      in.durability_read_errors = observers->durability_read_errors();
      facts.restarts = observers->restarts();
      facts.monitor_misses = observers->monitor_misses();
    }
    facts.analyses = BuildAnalyses(in);
  }
  json summary = BuildSummary(scenario, series, facts);
  const std::vector<GateResult> gates = EvaluateGates(scenario.gates, summary);
  SetGates(&summary, GatesJson(gates));
  ok = ok && dir.Write("summary.json", summary.dump(2) + "\n", &error) &&
       dir.Write("junit.xml", JunitXml(summary), &error);
  if (!ok) {
    std::fprintf(stderr, "herd: writing the run directory: %s\n", error.c_str());
    return kExitCannotRun;
  }
  // The report is drawn from the files just written, as `herd report`
  // would: one path, so a rebuilt report is the same report.
  const ReportOutcome report = WriteReport(dir.path());
  if (!report.written) std::fprintf(stderr, "herd: writing the report: %s\n", report.error.c_str());
  for (const std::string& p : report.problems) std::fprintf(stderr, "herd: report: %s\n", p.c_str());
  if (!o.quiet) {
    const json& t = summary["totals"];
    std::fprintf(stderr, "herd: %s: offered %s, attempts %s (amplification %.2f), succeeded %s; report in %s\n",
                 scenario.name.c_str(), t["offered"].dump().c_str(), t["attempts"].dump().c_str(),
                 t["amplification"].get<double>(), t["succeeded"].dump().c_str(),
                 (dir.path() / "report.html").c_str());
  }
  const size_t failed = std::count_if(gates.begin(), gates.end(), [](const GateResult& g) { return !g.passed; });
  if (!o.quiet) {
    for (const GateResult& g : gates) {
      if (!g.passed) std::fprintf(stderr, "herd: gate failed: %s: %s\n", g.name.c_str(), g.message.c_str());
    }
    if (!gates.empty()) {
      std::fprintf(stderr, "herd: gates: %zu passed, %zu failed\n", gates.size() - failed, failed);
    }
  }
  int compared = kExitPass;
  if (!o.baseline.empty()) {
    CompareOptions c;
    c.base = o.baseline;
    c.candidate = dir.path().string();
    c.max_regression = o.max_regression;
    c.quiet = o.quiet;
    compared = CompareCommand(c);
  }
  if (interrupted) return kExitInterrupted;
  if (failed > 0 || compared == kExitGateFailed) return kExitGateFailed;
  return compared == kExitPass ? kExitPass : kExitCannotRun;
}

}  // namespace herd
