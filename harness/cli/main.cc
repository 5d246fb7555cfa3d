// herd's command line: run, validate, report, compare, proxy, schema, version (DESIGN.md). Exit
// codes: 0 pass, 99 a gate failed, 2 invalid input, 1 the run could not be
// carried out, 130 interrupted.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/proxy.h"
#include "cli/report.h"
#include "cli/run.h"
#include "herd/version.h"
#include "scenario/parse.h"

int main(int argc, char** argv) {
  CLI::App app{"herd: fleets of retrying clients against a faulty service"};
  app.require_subcommand(1);
  int rc = 0;

  herd::RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "run a scenario and write its run directory");
  run_cmd->add_option("scenario", run.scenario_path, "scenario file (JSON with comments)")->required();
  run_cmd->add_option("--out", run.out, "run directory (default reports/<name>-<UTC time>)");
  run_cmd->add_option("--set", run.overrides, "override a field: --set fleets[0].instances=200")
      ->take_all();
  run_cmd->add_option("--seed", run.seed, "the run's seed (overrides the scenario's)");
  run_cmd->add_option("--duration", run.duration, "how long the fleets run (overrides the scenario's)");
  run_cmd->add_flag("--quiet,-q", run.quiet, "no progress or closing line");
  run_cmd->add_flag("--real-time", run.real_time, "run a model target on the wall clock, not virtual time");
  run_cmd->add_option("--baseline", run.baseline,
                      "an earlier run directory: compare with it afterwards (exit 99 on a regression)");
  run_cmd->add_option("--max-regression", run.max_regression,
                      "with --baseline: tolerance per metric, METRIC=PCT (default 20)")
      ->take_all();
  run_cmd->callback([&] { rc = herd::RunCommand(run); });

  std::string report_dir;
  bool report_quiet = false;
  auto* report = app.add_subcommand("report", "rebuild report.html and figures/ from a run directory's files");
  report->add_option("run_dir", report_dir, "run directory")->required();
  report->add_flag("--quiet,-q", report_quiet, "no closing line");
  report->callback([&] { rc = herd::ReportCommand(report_dir, report_quiet); });

  herd::CompareOptions compare;
  auto* compare_cmd = app.add_subcommand(
      "compare", "compare a candidate run with a baseline run: table, verdict, compare.html (exit 99 on a regression)");
  compare_cmd->add_option("base", compare.base, "baseline run directory")->required();
  compare_cmd->add_option("candidate", compare.candidate, "candidate run directory")->required();
  compare_cmd->add_option("--max-regression", compare.max_regression,
                          "tolerance per metric, METRIC=PCT (default 20); metrics: goodput_per_s, success_ratio, "
                          "amplification, p50_ms, p90_ms, p99_ms, e2e_p99_ms, recovery_s")
      ->take_all();
  compare_cmd->add_option("--out", compare.out, "where compare.html goes (default CANDIDATE/compare.html)");
  compare_cmd->add_flag("--quiet,-q", compare.quiet, "no closing line");
  compare_cmd->callback([&] { rc = herd::CompareCommand(compare); });

  std::string validate_path;
  std::vector<std::string> validate_overrides;
  auto* validate = app.add_subcommand("validate", "check a scenario without running it (exit 2 if invalid)");
  validate->add_option("scenario", validate_path, "scenario file")->required();
  validate->add_option("--set", validate_overrides, "override a field, as for run")->take_all();
  validate->callback([&] { rc = herd::ValidateCommand(validate_path, validate_overrides); });

  herd::ProxyOptions proxy;
  auto* proxy_cmd = app.add_subcommand("proxy", "run the fault proxy alone, with a JSON control API");
  proxy_cmd->add_option("--listen", proxy.listen, "address to listen on (port 0 picks one)")
      ->capture_default_str();
  proxy_cmd->add_option("--upstream", proxy.upstream, "host:port to forward to")->required();
  proxy_cmd->add_option("--control", proxy.control, "address of the control API (e.g. 127.0.0.1:0)");
  proxy_cmd->add_option("--fault", proxy.faults,
                        "a fault to apply from the start, as in a scenario: '{\"kind\":\"latency\",\"latency\":\"100ms\"}'");
  proxy_cmd->add_flag("--allow-remote", proxy.allow_remote, "allow an upstream that is not on loopback");
  proxy_cmd->add_flag("--quiet,-q", proxy.quiet, "no banner on stderr");
  proxy_cmd->callback([&] { rc = herd::ProxyCommand(proxy); });

  auto* schema = app.add_subcommand("schema", "print the scenario format's JSON Schema");
  schema->callback([] { fmt::print("{}\n", herd::ScenarioSchema().dump(2)); });

  auto* version = app.add_subcommand("version", "print herd's version, revision and build date");
  version->callback([] {
    fmt::print("herd {} (revision {}, built {})\n", herd::build::kVersion, herd::build::kRevision,
               herd::build::kDate);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (106, 109, ...) are not herd's: bad usage is input.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return rc;
}
