#include "report/html.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "report/xml.h"
#include "scenario/gates.h"

namespace herd {

namespace {

using nlohmann::json;

// Laptop-first: a 1100 px column; the charts fill it (a little over their
// natural 960 px, which only makes their text easier to read) and shrink
// with a narrower window. A table wider than the column scrolls on its own
// (display: block) instead of widening the page. No web fonts.
constexpr std::string_view kCss = R"(
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: #222;
       max-width: 1100px; margin: 1.5em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
h3 { font-size: 1em; margin: 1.2em 0 0.3em; }
.meta { color: #555; font-size: 0.9em; }
.lead { font-size: 1.05em; margin: 0.3em 0; }
.badge { display: inline-block; padding: 0.1em 0.6em; border-radius: 0.3em; color: #fff;
         font-weight: bold; font-size: 0.9em; vertical-align: middle; }
.badge.pass { background: #009E73; } .badge.fail, .badge.regression { background: #D55E00; }
.badge.interrupted, .badge.error, .badge.unknown { background: #666; }
table { display: block; max-width: 100%; width: max-content; overflow-x: auto;
        border-collapse: collapse; font-size: 0.88em; margin: 0.4em 0 1em; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.25em 0.7em; text-align: left; vertical-align: top; }
th { background: #f6f6f6; vertical-align: bottom; }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
td.label { min-width: 11em; }
span.nw { white-space: nowrap; }
tr.group td { border-top: 1px solid #bbb; }
tr.failed td { background: #fbe9e1; }
td.ok { color: #00704f; font-weight: bold; }
td.bad, span.bad { color: #a33f00; font-weight: bold; }
td.better { color: #00704f; }
td.worse { color: #a33f00; }
span.hint { border-bottom: 1px dotted #888; cursor: help; }
.problems { border-left: 4px solid #D55E00; background: #fdf3ee; padding: 0.4em 1em; }
figure { margin: 0.8em 0 1.4em; }
svg.chart { display: block; width: 100%; height: auto; }
pre { background: #f6f6f6; padding: 0.8em; overflow: auto; font-size: 0.82em; }
pre.scenario { max-height: 36em; }
footer { color: #777; font-size: 0.85em; margin-top: 3em; }
)";

std::string E(std::string_view s) { return XmlEscape(s); }

std::string Str(const json& j, std::string_view key, std::string_view fallback = "") {
  if (!j.is_object()) return std::string(fallback);
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string(fallback);
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// Digits in groups of three, joined by narrow no-break spaces: 13 701 120.
std::string Grouped(long long v) {
  const std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out = v < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u202F";
    out += digits[i];
  }
  return out;
}

// A number for a table: 3 significant digits, never a float's exponent
// for a value of 100 or more (332 k bytes/min reads "331776", not
// "3.32e+05"), digits grouped from 10 000 up; "-" when not finite.
std::string Num(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::fabs(v);
  if (a >= 1e15) return fmt::format("{:.3g}", v);
  if (v == std::floor(v) || a >= 99.95) {
    const long long r = std::llround(v);
    return a >= 10000 ? Grouped(r) : fmt::format("{}", r);
  }
  return fmt::format("{:.3g}", v);
}

std::string Num(const json& j) {
  if (j.is_boolean()) return j.get<bool>() ? "yes" : "no";
  if (!j.is_number()) return "-";
  return Num(j.get<double>());
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

bool True(const json& j) { return j.is_boolean() && j.get<bool>(); }

// The unit a metric's name ends in, as written after a value: "0.7 s",
// "41 ms", "170/s", "+40/min"; "" for ratios, counts and booleans.
std::string_view UnitOf(std::string_view metric) {
  if (metric.ends_with("_ms")) return " ms";
  if (metric.ends_with("_per_s")) return "/s";
  if (metric.ends_with("_per_min")) return "/min";
  if (metric.ends_with("_s")) return " s";
  return "";
}

// ---- Tables -------------------------------------------------------------

// A table cell: text (escaped here) or markup (already escaped).
struct Cell {
  Cell(std::string text) : html(E(text)) {}                  // NOLINT: text cells are the common case
  Cell(const char* text) : html(E(text)) {}                  // NOLINT
  std::string html;
  bool number = false;  // right-aligned, digits lined up
  std::string cls;      // extra classes
  int rowspan = 1;
};

Cell Markup(std::string html, std::string cls = "") {
  Cell c("");
  c.html = std::move(html);
  c.cls = std::move(cls);
  return c;
}

Cell Classed(std::string text, std::string cls) {
  Cell c(std::move(text));
  c.cls = std::move(cls);
  return c;
}

Cell NumCell(std::string text) {
  Cell c(std::move(text));
  c.number = true;
  return c;
}
Cell N(const json& j) { return NumCell(Num(j)); }
Cell N(double v) { return NumCell(Num(v)); }
// A numeric column's header, right-aligned over its numbers.
Cell H(std::string text) { return NumCell(std::move(text)); }

Cell Spanning(Cell c, int rows) {
  c.rowspan = rows;
  return c;
}

class Table {
 public:
  explicit Table(std::vector<Cell> header) : header_(std::move(header)) {}
  // `row_class`: "failed" (highlighted), "group" (a rule above: the first
  // row of a group sharing a spanning cell), or both.
  void Row(std::vector<Cell> cells, std::string row_class = "") {
    rows_.push_back({std::move(cells), std::move(row_class)});
  }
  bool empty() const { return rows_.empty(); }
  void AppendTo(std::string* out) const {
    auto it = std::back_inserter(*out);
    *out += "<table><thead><tr>";
    for (const Cell& h : header_) fmt::format_to(it, "<th{}>{}</th>", h.number ? " class=\"n\"" : "", h.html);
    *out += "</tr></thead><tbody>\n";
    for (const auto& [cells, row_class] : rows_) {
      *out += row_class.empty() ? "<tr>" : "<tr class=\"" + E(row_class) + "\">";
      for (const Cell& c : cells) {
        std::string cls = c.number ? "n" : "";
        if (!c.cls.empty()) cls += (cls.empty() ? "" : " ") + c.cls;
        fmt::format_to(it, "<td{}{}>{}</td>", cls.empty() ? "" : " class=\"" + E(cls) + "\"",
                       c.rowspan > 1 ? fmt::format(" rowspan=\"{}\"", c.rowspan) : "", c.html);
      }
      *out += "</tr>\n";
    }
    *out += "</tbody></table>\n";
  }

 private:
  std::vector<Cell> header_;
  std::vector<std::pair<std::vector<Cell>, std::string>> rows_;
};

// ---- report.html --------------------------------------------------------

struct GateCount {
  size_t total = 0, failed = 0;
};

GateCount CountGates(const json& summary) {
  GateCount n;
  const json& gates = At(summary, "gates");
  if (!gates.is_array()) return n;
  for (const json& g : gates) {
    ++n.total;
    if (!g.value("passed", false)) ++n.failed;
  }
  return n;
}

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

void Header(const RunData& run, std::string* out) {
  const json& s = run.summary;
  const std::string verdict = run.Verdict();
  fmt::format_to(std::back_inserter(*out), "<h1>{} <span class=\"badge {}\">{}</span></h1>\n", E(run.Name()),
                 E(verdict), E(verdict));
  // The verdict in words: what the badge rests on.
  const GateCount gates = CountGates(s);
  std::string lead;
  if (verdict == "interrupted") {
    lead = "The run was interrupted (SIGINT or SIGTERM): the figures cover only the part that ran.";
  } else if (gates.total == 0) {
    lead = s.is_object() ? "No gates: nothing was checked against a bound." : "";
  } else if (gates.failed == 0) {
    lead = gates.total == 1 ? "The gate passed." : fmt::format("All {} gates passed.", gates.total);
  } else {
    lead = fmt::format("{} of {} failed.", gates.failed, Plural(gates.total, "gate", "gates"));
  }
  if (!lead.empty()) fmt::format_to(std::back_inserter(*out), "<p class=\"lead\">{}</p>\n", E(lead));
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
  fmt::format_to(std::back_inserter(*out), "<div class=\"problems\"><h3>Could not read ({})</h3><ul>\n",
                 E(run.dir.string()));
  for (const std::string& p : run.problems) fmt::format_to(std::back_inserter(*out), "<li>{}</li>\n", E(p));
  *out += "</ul><p>The report shows what could be read.</p></div>\n";
}

// A gate's value with its metric's unit: "0.713 ms", "true", or why it
// could not be measured.
std::string GateValue(const json& v, std::string_view unit) {
  const json& value = At(v, "value");
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number()) return Num(value) + std::string(unit);
  return Str(v, "reason", "not measured");
}

std::string Bound(const json& bound, std::string_view unit) {
  std::vector<std::string> parts;
  if (bound.is_object()) {
    if (bound.contains("min")) parts.push_back("\u2265 " + Num(bound["min"]) + std::string(unit));
    if (bound.contains("max")) parts.push_back("\u2264 " + Num(bound["max"]) + std::string(unit));
    if (bound.contains("equals")) {
      const json& e = bound["equals"];
      parts.push_back("= " + (e.is_boolean() ? std::string(e.get<bool>() ? "true" : "false") : Num(e)));
    }
  }
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, " and "));
}

// One row per measured value (a gate on every fleet or window measures
// several), the gate's own cells spanning them; failed gates first.
void Gates(const RunData& run, std::string* out) {
  const json& gates = At(run.summary, "gates");
  *out += "<h2 id=\"gates\">Gates</h2>\n";
  if (!gates.is_array() || gates.empty()) {
    *out += "<p>This scenario has no gates.</p>\n";
    return;
  }
  Table t({"result", "gate", "metric", "scope", H("measured"), H("bound")});
  for (bool want_failed : {true, false}) {
    for (const json& g : gates) {
      const bool passed = g.value("passed", false);
      if (passed == want_failed) continue;
      const std::string metric = Str(g, "metric");
      const std::string_view unit = UnitOf(metric);
      std::vector<const json*> values;
      if (At(g, "values").is_array()) {
        for (const json& v : At(g, "values")) {
          if (v.is_object()) values.push_back(&v);
        }
      }
      const int rows = std::max<int>(1, static_cast<int>(values.size()));
      const GateMetric* known = FindGateMetric(metric);
      Cell metric_cell = known == nullptr ? Cell(metric)
                                          : Markup(fmt::format("<span class=\"hint\" title=\"{}\">{}</span>",
                                                               E(known->description), E(metric)));
      std::vector<Cell> first = {Spanning(Classed(passed ? "pass" : "FAIL", passed ? "ok" : "bad"), rows),
                                 Spanning(Str(g, "name"), rows), Spanning(std::move(metric_cell), rows)};
      const auto value_cells = [&](const json* v, std::vector<Cell>* cells) {
        if (v == nullptr) {  // nothing measured: the message says why
          cells->push_back("-");
          cells->push_back(Classed(Str(g, "message", "nothing to measure"), "bad"));
          return;
        }
        cells->push_back(Str(*v, "scope", "-"));
        Cell value = NumCell(GateValue(*v, unit));
        if (!v->value("passed", passed)) value.cls = "bad";
        cells->push_back(std::move(value));
      };
      value_cells(values.empty() ? nullptr : values[0], &first);
      first.push_back(Spanning(NumCell(Bound(At(g, "bound"), unit)), rows));
      const std::string failed = passed ? "" : "failed";
      t.Row(std::move(first), failed.empty() ? "group" : "group failed");
      for (size_t i = 1; i < values.size(); ++i) {
        std::vector<Cell> more;
        value_cells(values[i], &more);
        t.Row(std::move(more), failed);
      }
    }
  }
  t.AppendTo(out);
}

// A fleet's headline figures, as in Totals and Phases.
std::vector<Cell> FleetCells(const json& f) {
  const json& totals = At(f, "totals");
  const json& offered = At(totals, "offered");
  const json& succeeded = At(totals, "succeeded");
  const double success = offered.is_number() && succeeded.is_number() && offered.get<double>() > 0
                             ? succeeded.get<double>() / offered.get<double>()
                             : kNoValue;
  return {Str(f, "name"),
          N(Path(f, {"rates_per_s", "offered"})),
          N(Path(f, {"rates_per_s", "attempts"})),
          N(Path(f, {"rates_per_s", "goodput"})),
          N(success),
          N(At(f, "amplification")),
          N(Path(f, {"latency_ms", "attempt", "p50"})),
          N(Path(f, {"latency_ms", "attempt", "p90"})),
          N(Path(f, {"latency_ms", "attempt", "p99"})),
          N(Path(f, {"latency_ms", "e2e", "p99"}))};
}

std::vector<Cell> FleetHeader(std::string first) {
  std::vector<Cell> h = {"fleet",          H("offered/s"),     H("attempts/s"), H("goodput/s"), H("success ratio"),
                         H("amplification"), H("p50 ms"),      H("p90 ms"),     H("p99 ms"),    H("e2e p99 ms")};
  if (!first.empty()) h.insert(h.begin(), Cell(std::move(first)));
  return h;
}

constexpr std::string_view kFleetLegend =
    "Rates per second; success ratio: succeeded / offered; amplification: attempts / offered; "
    "latency percentiles per attempt, e2e from each request's intended start to its last attempt's end.";

void Totals(const RunData& run, std::string* out) {
  const json& fleets = At(run.summary, "fleets");
  if (!fleets.is_array() || fleets.empty()) return;
  *out += "<h2 id=\"totals\">Totals, whole run</h2>\n";
  fmt::format_to(std::back_inserter(*out), "<p class=\"meta\">{}</p>\n", E(kFleetLegend));
  Table t(FleetHeader(""));
  for (const json& f : fleets) t.Row(FleetCells(f));
  t.AppendTo(out);

  // Counts; outcomes and client-side refusals no fleet saw are left out,
  // as in the charts' legends.
  constexpr std::string_view kOutcomes[] = {"ok",           "not_found", "throttled", "shed",  "server_error",
                                            "client_error", "timeout",   "refused",   "reset", "other_error"};
  constexpr std::string_view kClientSide[] = {"abandoned", "budget_denied", "breaker_rejected", "client_throttled"};
  const auto seen = [&](std::initializer_list<std::string_view> path) {
    return std::any_of(fleets.begin(), fleets.end(), [&](const json& f) {
      const json& v = Path(f, path);
      return v.is_number() && v.get<double>() != 0;
    });
  };
  std::vector<std::string_view> outcomes, client_side;
  for (std::string_view o : kOutcomes) {
    if (o == "ok" || seen({"totals", "outcomes", o})) outcomes.push_back(o);
  }
  for (std::string_view c : kClientSide) {
    if (seen({"totals", c})) client_side.push_back(c);
  }
  std::vector<Cell> header = {"fleet", H("offered"), H("attempts"), H("retries"), H("succeeded"), H("failed")};
  for (std::string_view o : outcomes) header.push_back(H(std::string(o)));
  for (std::string_view c : client_side) header.push_back(H(std::string(c)));
  Table o(std::move(header));
  for (const json& f : fleets) {
    const json& tot = At(f, "totals");
    std::vector<Cell> row = {Str(f, "name"),         N(At(tot, "offered")),   N(At(tot, "attempts")),
                             N(At(tot, "retries")), N(At(tot, "succeeded")), N(At(tot, "failed"))};
    for (std::string_view oc : outcomes) row.push_back(N(Path(tot, {"outcomes", oc})));
    for (std::string_view c : client_side) row.push_back(N(At(tot, c)));
    o.Row(std::move(row));
  }
  *out += "<h3>Counts: requests, and attempts by outcome</h3>\n";
  o.AppendTo(out);
}

void Phases(const RunData& run, std::string* out) {
  const json& phases = At(run.summary, "phases");
  if (!phases.is_array() || phases.empty()) return;
  *out += "<h2 id=\"phases\">Phases</h2>\n";
  *out += "<p class=\"meta\">Before the first fault, each fault window, after the last fault; "
          "whole buckets, so a phase's span is rounded out to the buckets it covers.</p>\n";
  Table t(FleetHeader("phase"));
  for (const json& p : phases) {
    const json& fleets = At(p, "fleets");
    if (!fleets.is_array()) continue;
    // The span never broken across lines: "(3–" over "8 s)" misreads.
    const std::string label =
        fmt::format("{} <span class=\"nw\">({}\u2013{} s)</span>", E(Str(p, "label", Str(p, "phase"))),
                    E(Num(At(p, "start_s"))), E(Num(At(p, "end_s"))));
    bool first = true;
    for (const json& f : fleets) {
      std::vector<Cell> row = FleetCells(f);
      if (first) row.insert(row.begin(), Spanning(Markup(label, "label"), static_cast<int>(fleets.size())));
      t.Row(std::move(row), first ? "group" : "");
      first = false;
    }
  }
  t.AppendTo(out);
}

void Faults(const RunData& run, std::string* out) {
  *out += "<h2 id=\"faults\">Faults</h2>\n";
  if (run.faults.empty()) {
    *out += "<p>No faults were injected.</p>\n";
    return;
  }
  Table t({H("start s"), H("end s"), H("length s"), "kind", H("replica"), "detail"});
  for (const FaultRow& f : run.faults) {
    t.Row({NumCell(fmt::format("{:.3f}", f.start_s)), NumCell(fmt::format("{:.3f}", f.end_s)),
           NumCell(fmt::format("{:.3f}", f.end_s - f.start_s)), f.kind, N(static_cast<double>(f.replica)), f.detail},
          f.applied ? "" : "failed");
  }
  t.AppendTo(out);
}

void Analyses(const RunData& run, std::string* out) {
  const json& a = At(run.summary, "analyses");
  if (!a.is_object()) return;
  *out += "<h2 id=\"analyses\">Analyses</h2>\n";
  const json& fleets = At(a, "fleets");
  if (fleets.is_array() && !fleets.empty()) {
    Table w({"fleet", "window", H("attempts/s"), H("offered/s"), H("ratio"), "storm", H("peak/mean"), H("CoV"),
             H("recovery s"), "metastable"});
    Table thr({"fleet", H("completed"), H("throttled share"), H("shed share"), H("Retry-After seen"),
               H("honoured"), H("Jain over instances")});
    for (const json& f : fleets) {
      const std::string name = Str(f, "name");
      const json& storm = At(f, "storm");
      const json& spreading = At(f, "spreading");
      const json& recovery = At(f, "recovery");
      for (size_t i = 0; storm.is_array() && i < storm.size(); ++i) {
        const json& s = storm[i];
        const json& sp = spreading.is_array() && i < spreading.size() ? spreading[i] : json();
        const json& rc = recovery.is_array() && i < recovery.size() ? recovery[i] : json();
        const json& rs = At(rc, "recovery_s");
        const bool is_storm = True(At(s, "storm")), metastable = True(At(rc, "metastable"));
        w.Row({name, Str(s, "label"), N(At(s, "attempt_rate")), N(At(s, "offered_rate")), N(At(s, "ratio")),
               is_storm ? Classed("STORM", "bad") : Cell("no"), N(At(sp, "peak_to_mean")), N(At(sp, "cv")),
               rs.is_number() ? N(rs) : NumCell("not recovered"),
               metastable ? Classed("METASTABLE", "bad") : Cell(At(rc, "metastable").is_null() ? "-" : "no")},
              is_storm || metastable ? "failed" : "");
      }
      const json& th = At(f, "throttling");
      if (th.is_object()) {
        thr.Row({name, N(At(th, "completed")), N(At(th, "throttled_share")), N(At(th, "shed_share")),
                 N(At(th, "retry_after_seen")), N(At(th, "retry_after_honoured")),
                 N(Path(th, {"fairness", "jain"}))});
      }
    }
    if (!w.empty()) {
      const json& th = At(a, "thresholds");
      fmt::format_to(std::back_inserter(*out),
                     "<h3>Storms, spreading and recovery, per fault window</h3>\n<p class=\"meta\">ratio: "
                     "attempts / offered in the window, a storm above {}; peak/mean and CoV: how unevenly the "
                     "attempts spread over the window's 100 ms slots; recovery: from the window's end until "
                     "goodput holds {}% of its rate before the first fault for {} buckets (\u201cnot "
                     "recovered\u201d: not by the end of the load; metastable: not recovered although the "
                     "load came back).</p>\n",
                     E(Num(At(th, "storm_ratio"))), E(Num(At(th, "recovered_share").is_number()
                                                              ? json(At(th, "recovered_share").get<double>() * 100)
                                                              : json())),
                     E(Num(At(th, "recovery_hold_buckets"))));
      w.AppendTo(out);
    }
    if (!thr.empty()) {
      *out += "<h3>Throttling, shedding and fairness</h3>\n";
      thr.AppendTo(out);
    }
  }
  const json& probes = At(a, "probes");
  if (probes.is_array() && !probes.empty()) {
    Table t({"probe", H("replica"), H("checks"), H("false alarms"), H("misses"), H("flaps"), "window",
             H("detection s"), H("recovery s"), "missed"});
    for (const json& p : probes) {
      const json& windows = At(p, "windows");
      const int rows = windows.is_array() && !windows.empty() ? static_cast<int>(windows.size()) : 1;
      std::vector<Cell> row = {Spanning(Str(p, "probe"), rows),          Spanning(N(At(p, "replica")), rows),
                               Spanning(N(At(p, "checks")), rows),       Spanning(N(At(p, "false_alarms")), rows),
                               Spanning(N(At(p, "misses")), rows),       Spanning(N(At(p, "flaps")), rows)};
      if (!windows.is_array() || windows.empty()) {
        row.insert(row.end(), {"-", N(json()), N(json()), "-"});
        t.Row(std::move(row), "group");
        continue;
      }
      bool first = true;
      for (const json& w : windows) {
        if (!first) row.clear();
        const bool missed = True(At(w, "missed"));
        row.insert(row.end(), {Str(w, "label"), N(At(w, "detection_delay_s")), N(At(w, "recovery_delay_s")),
                               missed ? Classed("MISSED", "bad") : Cell("no")});
        t.Row(std::move(row), std::string(first ? "group" : "") + (missed ? " failed" : ""));
        first = false;
      }
    }
    *out += "<h3>Health probes</h3>\n"
            "<p class=\"meta\">detection: from the window's start until the probe marked the replica "
            "unhealthy; recovery: from the window's end until healthy again (\u201c-\u201d: never marked "
            "unhealthy); missed: goodput collapsed in the window and the probe never noticed; false alarms: "
            "marked unhealthy with no fault active.</p>\n";
    t.AppendTo(out);
  }
  const json& monitors = At(a, "monitors");
  if (monitors.is_array() && !monitors.empty()) {
    // The replicas of one series side by side.
    std::vector<const json*> sorted;
    for (const json& m : monitors) sorted.push_back(&m);
    std::stable_sort(sorted.begin(), sorted.end(), [](const json* x, const json* y) {
      return std::pair(Str(*x, "monitor"), Str(*x, "series")) < std::pair(Str(*y, "monitor"), Str(*y, "series"));
    });
    Table t({"monitor", "series", H("replica"), H("first"), H("last"), H("slope per min"), H("Mann-Kendall p"),
             "leak", "back to baseline when idle"});
    for (const json* m : sorted) {
      const bool leak = True(At(*m, "leak"));
      t.Row({Str(*m, "monitor"), Str(*m, "series"), N(At(*m, "replica")), N(At(*m, "first")), N(At(*m, "last")),
             N(At(*m, "slope_per_min")), N(Path(*m, {"mann_kendall", "p"})), leak ? Classed("LEAK", "bad") : "no",
             Num(At(*m, "returned_to_baseline"))},
            leak ? "failed" : "");
    }
    *out += "<h3>Monitors and leaks</h3>\n"
            "<p class=\"meta\">first and last sample; slope: Theil-Sen, in the series' unit per minute, over "
            "the samples taken under load; leak: a significant (Mann-Kendall) and sizeable upward trend; back "
            "to baseline: the last idle sample near the first (\u201c-\u201d: no idle sample).</p>\n";
    t.AppendTo(out);
  }
  const json& d = At(a, "durability");
  if (d.is_object()) {
    Table t({"figure", H("value")});
    for (const auto& [k, v] : d.items()) {
      if (v.is_number() || v.is_boolean()) t.Row({k, N(v)});
    }
    *out += "<h3>Durability</h3>\n";
    t.AppendTo(out);
  }
}

// One plot margin for all the charts, so that their time axes line up.
void Charts(const std::vector<Chart>& charts, std::string_view intro, std::string* out) {
  fmt::format_to(std::back_inserter(*out), "<h2 id=\"charts\">Charts</h2>\n<p class=\"meta\">{}</p>\n", E(intro));
  SvgOptions options;
  options.plot_left = FitPlotLeft(charts, options);
  for (const Chart& c : charts) {
    fmt::format_to(std::back_inserter(*out), "<figure id=\"figure-{}\">\n", E(c.id));
    *out += RenderSvg(c, options);
    *out += "\n</figure>\n";
  }
}

// What every chart of a report has in common, said once above them.
std::string ChartsIntro(const RunData& run, const std::vector<Chart>& charts) {
  double x_max = run.end_s;
  for (const Chart& c : charts) x_max = std::max(x_max, c.x_max);
  std::string intro = "Every chart shares one time axis, in seconds from the start of the load.";
  if (x_max > run.end_s + 1e-9 && run.end_s > 0) {
    intro += fmt::format(" The load ran until {} s; the axis runs on to {} s, the last sample taken idle after it.",
                         Num(run.end_s), Num(x_max));
  }
  if (!run.faults.empty()) {
    intro += " Shaded and labelled: the fault windows of the Faults table (kind and replica); hover one for its "
             "exact times.";
  }
  return intro;
}

// ---- compare.html -------------------------------------------------------

}  // namespace

std::string ComparisonHtml(const RunData& base, const RunData& candidate, const Comparison& comparison,
                           const std::vector<Chart>& charts) {
  std::string out = PageStart(fmt::format("herd compare: {} against {}", candidate.Name(), base.Name()));
  const std::string verdict = comparison.regressed ? "regression" : "pass";
  const std::string title = base.Name() == candidate.Name()
                                ? fmt::format("{}: candidate against base", candidate.Name())
                                : fmt::format("{} against base {}", candidate.Name(), base.Name());
  fmt::format_to(std::back_inserter(out), "<h1>{} <span class=\"badge {}\">{}</span></h1>\n", E(title), verdict,
                 verdict);
  const size_t regressed = std::count_if(comparison.changes.begin(), comparison.changes.end(),
                                         [](const HeadlineChange& c) { return c.regressed; });
  const std::string lead =
      regressed > 0 ? fmt::format("{} of {} regressed beyond tolerance.", regressed,
                                  Plural(comparison.changes.size(), "headline figure", "headline figures"))
                    : comparison.regressed ? std::string("The comparison found a regression.")
                                           : "No headline figure regressed beyond its tolerance.";
  fmt::format_to(std::back_inserter(out), "<p class=\"lead\">{}</p>\n", E(lead));
  Table runs({"", "run", "directory", "verdict", "started", "seed", "herd"});
  for (const auto& [role, run] : {std::pair<std::string, const RunData*>{"base", &base}, {"candidate", &candidate}}) {
    runs.Row({role, run->Name(), run->dir.string(), run->Verdict(), Str(run->summary, "started_at", "?"),
              Str(run->summary, "seed", "?"), Str(At(run->summary, "herd"), "version", "?")});
  }
  runs.AppendTo(&out);
  for (const RunData* run : {&base, &candidate}) Problems(*run, &out);
  out += "<h2 id=\"headline\">Headline figures</h2>\n";
  out += "<p class=\"meta\">change: (candidate \u2212 base) / base. A figure regresses when it is worse by more "
         "than the allowed change (signed the way it gets worse: goodput and success ratio may drop, the others "
         "may rise) and by more than an absolute floor: 1 ms for latencies, 1 s for recovery, 1/s for goodput, "
         "0.01 for ratios.</p>\n";
  Table t({"fleet", "metric", H("base"), H("candidate"), H("change"), H("allowed"), "result"});
  for (const HeadlineChange& c : comparison.changes) {
    const auto value = [](const std::optional<double>& v) { return v ? Num(*v) : std::string("-"); };
    const bool compared = c.base && c.candidate;
    const bool lower_is_worse = c.lower_is_worse;
    const bool worse = compared && (lower_is_worse ? c.change_pct < 0 : c.change_pct > 0);
    const bool better = compared && (lower_is_worse ? c.change_pct > 0 : c.change_pct < 0);
    std::string change = "-";
    if (compared) {
      change = std::isinf(c.change_pct) ? (c.change_pct > 0 ? "+inf%" : "-inf%")
                                        : fmt::format("{:+.1f}%", c.change_pct);
    }
    Cell change_cell = NumCell(change);
    change_cell.cls = c.regressed ? "bad" : worse ? "worse" : better ? "better" : "";
    std::string result = "not compared";
    if (c.regressed) {
      result = "REGRESSED";
    } else if (worse) {
      result = "worse, within tolerance";
    } else if (better) {
      result = "better";
    } else if (compared) {
      result = "unchanged";
    }
    t.Row({c.fleet, c.metric, NumCell(value(c.base)), NumCell(value(c.candidate)), std::move(change_cell),
           NumCell(fmt::format("max {}{:g}%", lower_is_worse ? '-' : '+', c.tolerance_pct)),
           c.regressed ? Classed(result, "bad") : Cell(result)},
          c.regressed ? "failed" : "");
  }
  t.AppendTo(&out);
  if (!comparison.notes.empty()) {
    out += "<h3>Notes</h3>\n<ul>\n";
    for (const std::string& n : comparison.notes) fmt::format_to(std::back_inserter(out), "<li>{}</li>\n", E(n));
    out += "</ul>\n";
  }
  Charts(charts,
         "Each fleet present in both runs: the base run dashed, the candidate solid, on one time axis in seconds "
         "from the start of the load. Shaded and labelled: the candidate's fault windows.",
         &out);
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
  std::string out = PageStart(fmt::format("herd: {} ({})", run.Name(), run.Verdict()));
  out.reserve(out.size() + 256 * 1024);
  Header(run, &out);
  Problems(run, &out);
  Gates(run, &out);
  Charts(charts, ChartsIntro(run, charts), &out);
  Totals(run, &out);
  Phases(run, &out);
  Faults(run, &out);
  Analyses(run, &out);
  const json& scenario = At(run.summary, "scenario");
  if (!scenario.is_null()) {
    out += "<h2 id=\"scenario\">Scenario, as resolved</h2>\n"
           "<p class=\"meta\">The scenario as this run used it, every default filled in.</p>\n"
           "<pre class=\"scenario\">";
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
