#include "report/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analyze/analyses.h"
#include "analyze/gates.h"
#include "herd/version.h"

namespace herd {

using nlohmann::json;

namespace {

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

json CountsJson(const BucketCounts& c) {
  json outcomes = json::object();
  for (int i = 0; i < kOutcomes; ++i) outcomes[std::string(kOutcomeNames[i])] = c.outcomes[i];
  return {{"offered", c.offered},       {"attempts", c.attempts},
          {"retries", c.retries},       {"outcomes", outcomes},
          {"succeeded", c.succeeded},   {"failed", c.failed},
          {"abandoned", c.abandoned},   {"budget_denied", c.budget_denied},
          {"breaker_rejected", c.breaker_rejected}, {"client_throttled", c.client_throttled},
          {"retry_after_seen", c.pushback_seen}, {"retry_after_honoured", c.pushback_honoured}};
}

json FleetFigures(const Scenario& scenario, const TimeSeries& series, size_t f, size_t from, size_t to,
                  double seconds) {
  const BucketCounts c = series.Total(f, from, to);
  return {{"name", series.fleet_name(f)},
          {"instances", scenario.fleets[f].instances},
          {"totals", CountsJson(c)},
          {"unfinished", c.offered - c.succeeded - c.failed - c.abandoned},
          {"amplification", c.offered ? static_cast<double>(c.attempts) / static_cast<double>(c.offered) : 0.0},
          {"rates_per_s", {{"offered", c.offered / seconds},
                           {"attempts", c.attempts / seconds},
                           {"goodput", c.succeeded / seconds}}},
          {"latency_ms", {{"attempt", LatencyJson(series.TotalAttemptLatency(f, from, to))},
                          {"e2e", LatencyJson(series.TotalE2eLatency(f, from, to))}}}};
}

json Phase(const Scenario& scenario, const TimeSeries& series, std::string name, std::string label,
           double start_s, double end_s, bool whole_buckets_out) {
  const double width = ToSeconds(series.width());
  const BucketSpan span = PhaseBuckets(width, series.buckets(), start_s, end_s, /*window=*/!whole_buckets_out);
  const double seconds = std::max(1e-9, static_cast<double>(span.size()) * width);
  json fleets = json::array();
  for (size_t f = 0; f < series.fleets(); ++f) {
    fleets.push_back(FleetFigures(scenario, series, f, span.from, span.to, seconds));
  }
  return {{"phase", std::move(name)}, {"label", std::move(label)}, {"start_s", start_s}, {"end_s", end_s},
          {"buckets", {span.from, span.to}}, {"fleets", std::move(fleets)}};
}

json Phases(const Scenario& scenario, const TimeSeries& series, const RunFacts& facts) {
  json phases = json::array();
  if (facts.windows.empty()) return phases;
  double first = facts.windows.front().start_s, last = 0;
  for (const auto& w : facts.windows) {
    first = std::min(first, w.start_s);
    last = std::max(last, w.end_s);
  }
  // To the end of the series: attempts that finish after the fleets stop
  // still belong to a phase.
  const double end = std::max(ToSeconds(facts.elapsed), ToSeconds(series.width()) * static_cast<double>(series.buckets()));
  phases.push_back(Phase(scenario, series, "before", "before the first fault", 0, first, true));
  for (const auto& w : facts.windows) {
    phases.push_back(Phase(scenario, series, "window", w.label, w.start_s, w.end_s, false));
  }
  phases.push_back(Phase(scenario, series, "after", "after the last fault", last, std::max(last, end), true));
  return phases;
}

}  // namespace

json LatencyJson(const Histogram& h) {
  return {{"count", h.count()},
          {"mean", h.mean() / 1e6},
          {"p50", Ms(h.Quantile(0.5))},
          {"p90", Ms(h.Quantile(0.9))},
          {"p99", Ms(h.Quantile(0.99))},
          {"p999", Ms(h.Quantile(0.999))},
          {"max", Ms(h.max())}};
}

json BuildSummary(const Scenario& scenario, const TimeSeries& series, const RunFacts& facts) {
  const double seconds = std::max(1e-9, ToSeconds(facts.elapsed));
  json fleets = json::array();
  BucketCounts all;
  for (size_t f = 0; f < series.fleets(); ++f) {
    all.Add(series.Total(f));
    fleets.push_back(FleetFigures(scenario, series, f, 0, SIZE_MAX, seconds));
  }
  json totals = CountsJson(all);
  totals["amplification"] =
      all.offered ? static_cast<double>(all.attempts) / static_cast<double>(all.offered) : 0.0;
  return {{"herd", {{"version", build::kVersion}, {"revision", build::kRevision}, {"build_date", build::kDate}}},
          {"name", scenario.name},
          {"seed", scenario.seed},
          {"started_at", facts.started_at},
          {"elapsed_s", ToSeconds(facts.elapsed)},
          {"virtual_time", facts.virtual_time},
          {"interrupted", facts.interrupted},
          {"bucket_s", ToSeconds(series.width())},
          {"buckets", series.buckets()},
          {"target", facts.target},
          {"totals", totals},
          {"fleets", fleets},
          {"faults", facts.faults},
          {"phases", Phases(scenario, series, facts)},
          {"restarts", facts.restarts},
          {"monitor_misses", facts.monitor_misses},
          {"analyses", facts.analyses},
          {"gates", json::array()},
          {"verdict", facts.interrupted ? "interrupted" : "pass"},
          {"scenario", scenario.resolved}};
}

void SetGates(json* summary, const json& gates) {
  (*summary)["gates"] = gates;
  bool failed = false;
  for (const json& g : gates) failed |= !g.value("passed", false);
  const bool interrupted = summary->value("interrupted", false);
  (*summary)["verdict"] = interrupted ? "interrupted" : failed ? "fail" : "pass";
}

std::string JunitXml(const json& summary) {
  const std::string name = summary.value("name", std::string("run"));
  const json gates = summary.contains("gates") && summary["gates"].is_array() ? summary["gates"] : json::array();
  size_t failures = 0;
  for (const json& g : gates) failures += !g.value("passed", false);
  const double elapsed = summary.contains("elapsed_s") && summary["elapsed_s"].is_number()
                             ? summary["elapsed_s"].get<double>()
                             : 0.0;
  const std::string suite = XmlEscape("herd." + name);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  fmt::format_to(std::back_inserter(out),
                 "<testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3f}\">\n",
                 suite, gates.size(), failures, elapsed);
  out += "  <properties>\n";
  auto property = [&](std::string_view key, const json& value) {
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    fmt::format_to(std::back_inserter(out), "    <property name=\"{}\" value=\"{}\"/>\n", key, XmlEscape(text));
  };
  property("seed", summary.value("seed", json(nullptr)));
  property("verdict", summary.value("verdict", json("")));
  property("started_at", summary.value("started_at", json("")));
  out += "  </properties>\n";
  for (const json& g : gates) {
    const std::string gate_name = g.value("name", std::string());
    fmt::format_to(std::back_inserter(out), "  <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
                   suite, XmlEscape(gate_name));
    if (g.value("passed", false)) {
      out += "/>\n";
      continue;
    }
    const std::string message = g.value("message", std::string());
    // The body: every value the gate measured, one a line.
    const std::string metric = g.value("metric", std::string());
    std::string body = message + "\n";
    if (g.contains("values") && g["values"].is_array()) {
      for (const json& v : g["values"]) {
        const json value = v.value("value", json(nullptr));
        const std::string text = value.is_number()  ? FormatGateNumber(value.get<double>())
                                 : value.is_null() ? v.value("reason", std::string("not measured"))
                                                   : value.dump();
        body += fmt::format("{} {}: {} {}\n", v.value("passed", false) ? "pass" : "FAIL",
                            v.value("scope", std::string()), metric, text);
      }
    }
    fmt::format_to(std::back_inserter(out), ">\n    <failure message=\"{}\" type=\"gate\">{}</failure>\n  </testcase>\n",
                   XmlEscape(message), XmlEscape(body, /*attribute=*/false));
  }
  out += "</testsuite>\n";
  return out;
}

std::string HistogramsText(const TimeSeries& series, size_t fleet) {
  std::string out = "# t_s<TAB>attempt latency<TAB>e2e latency, each Histogram::Serialize in nanoseconds\n";
  for (size_t b = 0; b < series.buckets(); ++b) {
    fmt::format_to(std::back_inserter(out), "{:.3f}\t{}\t{}\n", ToSeconds(series.width()) * static_cast<double>(b),
                   series.attempt_latency(fleet, b).Serialize(), series.e2e_latency(fleet, b).Serialize());
  }
  return out;
}

}  // namespace herd
