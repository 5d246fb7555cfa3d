#include "report/html.h"

#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "report/xml.h"

namespace herd {

namespace {

using nlohmann::json;

// Laptop-first: a 1100 px column, charts scale with it; no web fonts.
constexpr std::string_view kCss = R"(
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1em; margin-bottom: 0.3em; }
.meta { color: #555; font-size: 0.9em; }
.badge { display: inline-block; padding: 0.1em 0.6em; border-radius: 0.3em; color: #fff;
         font-weight: bold; font-size: 0.9em; vertical-align: middle; }
.pass { background: #009E73; } .fail, .regression { background: #D55E00; }
.interrupted, .error, .unknown { background: #666; }
table { border-collapse: collapse; font-size: 0.88em; margin: 0.4em 0 1em; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
th { background: #f6f6f6; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fbe9e1; }
.problems { border-left: 4px solid #D55E00; background: #fdf3ee; padding: 0.4em 1em; }
figure { margin: 1.2em 0; }
svg.chart { width: 100%; height: auto; display: block; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.82em; }
footer { color: #777; font-size: 0.85em; margin-top: 3em; }
)";

std::string E(std::string_view s) { return XmlEscape(s); }

std::string Str(const json& j, std::string_view key, std::string_view fallback = "") {
  if (!j.is_object()) return std::string(fallback);
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string(fallback);
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// A number for a table: 3 significant digits, "-" when absent.
std::string Num(const json& j) {
  if (!j.is_number()) return j.is_boolean() ? (j.get<bool>() ? "yes" : "no") : "-";
  const double v = j.get<double>();
  if (!std::isfinite(v)) return "-";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{:.3g}", v);
}

const json& At(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const json& Path(const json& j, std::initializer_list<std::string_view> keys) {
  const json* cur = &j;
  for (std::string_view k : keys) cur = &At(*cur, k);
  return *cur;
}

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  // Cells are escaped here; a cell starting with '\x01' is a number (right-aligned).
  void Row(std::vector<std::string> cells, bool failed = false) { rows_.push_back({std::move(cells), failed}); }
  bool empty() const { return rows_.empty(); }
  void AppendTo(std::string* out) const {
    auto it = std::back_inserter(*out);
    fmt::format_to(it, "<table><thead><tr>");
    for (const std::string& h : header_) fmt::format_to(it, "<th>{}</th>", E(h));
    fmt::format_to(it, "</tr></thead><tbody>\n");
    for (const auto& [cells, failed] : rows_) {
      fmt::format_to(it, "<tr{}>", failed ? " class=\"failed\"" : "");
      for (const std::string& c : cells) {
        if (!c.empty() && c[0] == '\x01') {
          fmt::format_to(it, "<td class=\"n\">{}</td>", E(std::string_view(c).substr(1)));
        } else {
          fmt::format_to(it, "<td>{}</td>", E(c));
        }
      }
      fmt::format_to(it, "</tr>\n");
    }
    fmt::format_to(it, "</tbody></table>\n");
  }

 private:
  std::vector<std::string> header_;
  std::vector<std::pair<std::vector<std::string>, bool>> rows_;
};

std::string N(const json& j) { return "\x01" + Num(j); }

void Header(const RunData& run, std::string* out) {
  const json& s = run.summary;
  const std::string verdict = run.Verdict();
  fmt::format_to(std::back_inserter(*out), "<h1>{} <span class=\"badge {}\">{}</span></h1>\n", E(run.Name()),
                 E(verdict), E(verdict));
  const json& herd = At(s, "herd");
  fmt::format_to(std::back_inserter(*out),
                 "<p class=\"meta\">started {} &#183; ran {} s &#183; buckets of {} s &#183; seed {} &#183; herd {} "
                 "(revision {}) &#183; {}</p>\n",
                 E(Str(s, "started_at", "?")), E(Num(At(s, "elapsed_s"))), E(Num(At(s, "bucket_s"))),
                 E(Str(s, "seed", "?")), E(Str(herd, "version", "?")), E(Str(herd, "revision", "?")),
                 E(run.dir.string()));
  if (s.is_object() && s.contains("error")) {
    fmt::format_to(std::back_inserter(*out), "<p class=\"problems\">The run could not be carried out: {}</p>\n",
                   E(Str(s, "error")));
  }
}

void Problems(const RunData& run, std::string* out) {
  if (run.problems.empty()) return;
  *out += "<div class=\"problems\"><h3>Could not read</h3><ul>\n";
  for (const std::string& p : run.problems) fmt::format_to(std::back_inserter(*out), "<li>{}</li>\n", E(p));
  *out += "</ul><p>The report shows what could be read.</p></div>\n";
}

std::string Bound(const json& bound) {
  std::vector<std::string> parts;
  if (bound.is_object()) {
    if (bound.contains("min")) parts.push_back("\u2265 " + Num(bound["min"]));
    if (bound.contains("max")) parts.push_back("\u2264 " + Num(bound["max"]));
  }
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " and "));
}

void Gates(const RunData& run, std::string* out) {
  const json& gates = At(run.summary, "gates");
  *out += "<h2 id=\"gates\">Gates</h2>\n";
  if (!gates.is_array() || gates.empty()) {
    *out += "<p>This scenario has no gates.</p>\n";
    return;
  }
  Table t({"result", "gate", "metric", "measured", "bound"});
  // Failed first: the reader came for them.
  for (bool want_failed : {true, false}) {
    for (const json& g : gates) {
      const bool passed = g.value("passed", false);
      if (passed == want_failed) continue;
      std::vector<std::string> measured;
      for (const json& v : At(g, "values")) {
        measured.push_back(fmt::format("{} ({})", Num(At(v, "value")), Str(v, "scope")));
      }
      t.Row({passed ? "pass" : "FAIL", Str(g, "name"), Str(g, "metric"),
             measured.empty() ? Str(g, "message", "-") : fmt::format("{}", fmt::join(measured, "; ")),
             Bound(At(g, "bound"))},
            !passed);
    }
  }
  t.AppendTo(out);
}

void FleetRows(const json& fleets, const std::string& first, Table* t) {
  for (const json& f : fleets) {
    t->Row({first, Str(f, "name"), N(Path(f, {"rates_per_s", "offered"})), N(Path(f, {"rates_per_s", "attempts"})),
            N(Path(f, {"rates_per_s", "goodput"})), N(At(f, "amplification")),
            N(Path(f, {"latency_ms", "attempt", "p50"})), N(Path(f, {"latency_ms", "attempt", "p99"})),
            N(Path(f, {"latency_ms", "e2e", "p99"}))});
  }
}

const std::vector<std::string> kFleetHeader = {"",           "fleet",       "offered/s",   "attempts/s",  "goodput/s",
                                               "amplification", "p50 ms", "p99 ms", "e2e p99 ms"};

void Totals(const RunData& run, std::string* out) {
  const json& fleets = At(run.summary, "fleets");
  if (!fleets.is_array() || fleets.empty()) return;
  *out += "<h2 id=\"totals\">Totals</h2>\n";
  Table t(kFleetHeader);
  FleetRows(fleets, "whole run", &t);
  t.AppendTo(out);
  Table o({"fleet", "offered", "attempts", "retries", "succeeded", "failed", "ok", "not_found", "throttled", "shed",
           "server_error", "timeout", "refused", "reset", "other"});
  for (const json& f : fleets) {
    const json& tot = At(f, "totals");
    const json& oc = At(tot, "outcomes");
    o.Row({Str(f, "name"), N(At(tot, "offered")), N(At(tot, "attempts")), N(At(tot, "retries")),
           N(At(tot, "succeeded")), N(At(tot, "failed")), N(At(oc, "ok")), N(At(oc, "not_found")),
           N(At(oc, "throttled")), N(At(oc, "shed")), N(At(oc, "server_error")), N(At(oc, "timeout")),
           N(At(oc, "refused")), N(At(oc, "reset")), N(At(oc, "other_error"))});
  }
  o.AppendTo(out);
}

void Phases(const RunData& run, std::string* out) {
  const json& phases = At(run.summary, "phases");
  if (!phases.is_array() || phases.empty()) return;
  *out += "<h2 id=\"phases\">Phases</h2>\n";
  std::vector<std::string> header = kFleetHeader;
  header[0] = "phase";
  Table t(header);
  for (const json& p : phases) {
    FleetRows(At(p, "fleets"),
              fmt::format("{} ({}\u2013{} s)", Str(p, "label", Str(p, "phase")), Num(At(p, "start_s")),
                          Num(At(p, "end_s"))),
              &t);
  }
  t.AppendTo(out);
}

void Faults(const RunData& run, std::string* out) {
  *out += "<h2 id=\"faults\">Faults</h2>\n";
  if (run.faults.empty()) {
    *out += "<p>No faults were injected.</p>\n";
    return;
  }
  Table t({"start s", "end s", "kind", "replica", "detail"});
  for (const FaultRow& f : run.faults) {
    t.Row({"\x01" + fmt::format("{:.3f}", f.start_s), "\x01" + fmt::format("{:.3f}", f.end_s), f.kind,
           "\x01" + std::to_string(f.replica), f.detail},
          !f.applied);
  }
  t.AppendTo(out);
}

void Analyses(const RunData& run, std::string* out) {
  const json& a = At(run.summary, "analyses");
  if (!a.is_object()) return;
  *out += "<h2 id=\"analyses\">Analyses</h2>\n";
  const json& fleets = At(a, "fleets");
  if (fleets.is_array() && !fleets.empty()) {
    Table w({"fleet", "window", "attempts/s", "offered/s", "ratio", "storm", "peak/mean", "CoV", "recovery s",
             "metastable"});
    Table thr({"fleet", "completed", "throttled share", "shed share", "Retry-After seen", "honoured",
               "Jain over instances"});
    for (const json& f : fleets) {
      const std::string name = Str(f, "name");
      const json& storm = At(f, "storm");
      for (size_t i = 0; storm.is_array() && i < storm.size(); ++i) {
        const json& s = storm[i];
        const json& sp = At(f, "spreading").is_array() && i < At(f, "spreading").size() ? At(f, "spreading")[i] : json();
        const json& rc = At(f, "recovery").is_array() && i < At(f, "recovery").size() ? At(f, "recovery")[i] : json();
        const json& rs = At(rc, "recovery_s");
        w.Row({name, Str(s, "label"), N(At(s, "attempt_rate")), N(At(s, "offered_rate")), N(At(s, "ratio")),
               At(s, "storm").is_boolean() && At(s, "storm").get<bool>() ? "STORM" : "no", N(At(sp, "peak_to_mean")),
               N(At(sp, "cv")), rs.is_number() ? N(rs) : "not recovered",
               At(rc, "metastable").is_boolean() && At(rc, "metastable").get<bool>() ? "METASTABLE" : "no"});
      }
      const json& th = At(f, "throttling");
      if (th.is_object()) {
        thr.Row({name, N(At(th, "completed")), N(At(th, "throttled_share")), N(At(th, "shed_share")),
                 N(At(th, "retry_after_seen")), N(At(th, "retry_after_honoured")),
                 N(Path(th, {"fairness", "jain"}))});
      }
    }
    if (!w.empty()) {
      *out += "<h3>Storms, spreading and recovery, per fault window</h3>\n";
      w.AppendTo(out);
    }
    if (!thr.empty()) {
      *out += "<h3>Throttling, shedding and fairness</h3>\n";
      thr.AppendTo(out);
    }
  }
  const json& probes = At(a, "probes");
  if (probes.is_array() && !probes.empty()) {
    Table t({"probe", "replica", "checks", "false alarms", "misses", "flaps", "window", "detection s", "recovery s"});
    for (const json& p : probes) {
      const json& windows = At(p, "windows");
      if (!windows.is_array() || windows.empty()) {
        t.Row({Str(p, "probe"), N(At(p, "replica")), N(At(p, "checks")), N(At(p, "false_alarms")), N(At(p, "misses")),
               N(At(p, "flaps")), "-", "-", "-"});
      }
      for (const json& w : windows) {
        t.Row({Str(p, "probe"), N(At(p, "replica")), N(At(p, "checks")), N(At(p, "false_alarms")), N(At(p, "misses")),
               N(At(p, "flaps")), Str(w, "label"), N(At(w, "detection_delay_s")), N(At(w, "recovery_delay_s"))});
      }
    }
    *out += "<h3>Health probes</h3>\n";
    t.AppendTo(out);
  }
  const json& monitors = At(a, "monitors");
  if (monitors.is_array() && !monitors.empty()) {
    Table t({"monitor", "replica", "series", "first", "last", "slope /min", "Mann-Kendall p", "leak",
             "back to baseline when idle"});
    for (const json& m : monitors) {
      const bool leak = At(m, "leak").is_boolean() && At(m, "leak").get<bool>();
      t.Row({Str(m, "monitor"), N(At(m, "replica")), Str(m, "series"), N(At(m, "first")), N(At(m, "last")),
             N(At(m, "slope_per_min")), N(Path(m, {"mann_kendall", "p"})), leak ? "LEAK" : "no",
             Num(At(m, "returned_to_baseline"))},
            leak);
    }
    *out += "<h3>Monitors and leaks</h3>\n";
    t.AppendTo(out);
  }
  const json& d = At(a, "durability");
  if (d.is_object()) {
    Table t({"figure", "value"});
    for (const auto& [k, v] : d.items()) {
      if (v.is_number() || v.is_boolean()) t.Row({k, N(v)});
    }
    *out += "<h3>Durability</h3>\n";
    t.AppendTo(out);
  }
}

void Charts(const std::vector<Chart>& charts, std::string* out) {
  *out += "<h2 id=\"charts\">Charts</h2>\n<p class=\"meta\">Shaded: fault windows, as in faults.csv. "
          "Hover a line or window for its name.</p>\n";
  for (const Chart& c : charts) {
    fmt::format_to(std::back_inserter(*out), "<figure id=\"figure-{}\">\n", E(c.id));
    *out += RenderSvg(c);
    *out += "\n</figure>\n";
  }
}

}  // namespace

std::string ComparisonHtml(const RunData& base, const RunData& candidate, const Comparison& comparison,
                           const std::vector<Chart>& charts) {
  std::string out = PageStart(fmt::format("herd compare: {} vs {}", base.Name(), candidate.Name()));
  const std::string verdict = comparison.regressed ? "regression" : "pass";
  fmt::format_to(std::back_inserter(out), "<h1>{} vs {} <span class=\"badge {}\">{}</span></h1>\n",
                 E(base.Name()), E(candidate.Name()), verdict, verdict);
  Table runs({"", "run", "directory", "verdict", "started", "seed"});
  for (const auto& [role, run] : {std::pair<std::string, const RunData*>{"base", &base}, {"candidate", &candidate}}) {
    runs.Row({role, run->Name(), run->dir.string(), run->Verdict(), Str(run->summary, "started_at", "?"),
              Str(run->summary, "seed", "?")});
  }
  runs.AppendTo(&out);
  for (const RunData* run : {&base, &candidate}) Problems(*run, &out);
  out += "<h2 id=\"headline\">Headline figures</h2>\n";
  Table t({"fleet", "metric", "base", "candidate", "change", "tolerance", "result"});
  for (const HeadlineChange& c : comparison.changes) {
    const auto value = [](const std::optional<double>& v) { return v ? Num(json(*v)) : std::string("-"); };
    const bool compared = c.base && c.candidate;
    t.Row({c.fleet, c.metric, "\x01" + value(c.base), "\x01" + value(c.candidate),
           "\x01" + (compared ? fmt::format("{:+.1f}%", c.change_pct) : std::string("-")),
           "\x01" + fmt::format("{:.0f}%", c.tolerance_pct), c.regressed ? "REGRESSED" : (compared ? "ok" : "-")},
          c.regressed);
  }
  t.AppendTo(&out);
  if (!comparison.notes.empty()) {
    out += "<ul>\n";
    for (const std::string& n : comparison.notes) fmt::format_to(std::back_inserter(out), "<li>{}</li>\n", E(n));
    out += "</ul>\n";
  }
  Charts(charts, &out);
  out += PageEnd();
  return out;
}

std::string PageStart(std::string_view title) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n"
      "<style>{}</style>\n</head>\n<body>\n",
      E(title), kCss);
}

std::string PageEnd() { return "</body>\n</html>\n"; }

std::string ReportHtml(const RunData& run, const std::vector<Chart>& charts) {
  std::string out = PageStart(fmt::format("herd: {}", run.Name()));
  out.reserve(out.size() + 256 * 1024);
  Header(run, &out);
  Problems(run, &out);
  Gates(run, &out);
  Charts(charts, &out);
  Totals(run, &out);
  Phases(run, &out);
  Faults(run, &out);
  Analyses(run, &out);
  const json& scenario = At(run.summary, "scenario");
  if (!scenario.is_null()) {
    out += "<h2 id=\"scenario\">Scenario, as resolved</h2>\n<pre>";
    out += XmlEscape(scenario.dump(2), /*attribute=*/false);
    out += "</pre>\n";
  }
  const json& herd = At(run.summary, "herd");
  fmt::format_to(std::back_inserter(out), "<footer>herd {} (revision {}, built {}) &#183; seed {}</footer>\n",
                 E(Str(herd, "version", "?")), E(Str(herd, "revision", "?")), E(Str(herd, "build_date", "?")),
                 E(Str(run.summary, "seed", "?")));
  out += PageEnd();
  return out;
}

}  // namespace herd
