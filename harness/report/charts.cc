#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "analyze/stats.h"

namespace herd {

namespace {

using nlohmann::json;

constexpr std::string_view kBlue = kPalette[0], kOrange = kPalette[1], kGreen = kPalette[2],
                           kVermillion = kPalette[3], kPurple = kPalette[4], kSky = kPalette[5],
                           kYellow = kPalette[6], kBlack = kPalette[7];

// Outcomes in stacking order: successes at the bottom, where the eye
// compares them with the throughput chart, then the server's refusals,
// then the network's failures. Ten outcomes, eight palette colours: the
// two rarest share greys.
struct OutcomeStyle {
  std::string_view column, colour;
};
constexpr OutcomeStyle kOutcomes[] = {
    {"ok", kGreen},           {"not_found", kSky},   {"throttled", kYellow}, {"shed", kOrange},
    {"server_error", kVermillion}, {"client_error", kPurple}, {"timeout", kBlue}, {"refused", kBlack},
    {"reset", "#888888"},     {"other_error", "#BBBBBB"},
};

bool AnyFinite(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// Counts per bucket to counts per second.
std::vector<double> PerSecond(const std::vector<double>& counts, double bucket_s) {
  std::vector<double> out(counts);
  if (bucket_s <= 0) return out;
  for (double& v : out) v /= bucket_s;
  return out;
}

Chart Base(const RunData& run, std::string id, std::string title, std::string y_label) {
  Chart c;
  c.id = std::move(id);
  c.title = std::move(title);
  c.y_label = std::move(y_label);
  c.x_min = 0;
  c.x_max = run.end_s > 0 ? run.end_s : 1;
  c.windows = FaultWindows(run);
  return c;
}

ChartLine MakeLine(std::string label, const std::vector<double>& x, std::vector<double> y, std::string_view colour,
                   bool dashed = false, double width = 1.5) {
  ChartLine l;
  l.label = std::move(label);
  l.x = x;
  l.y = std::move(y);
  l.colour = std::string(colour);
  l.dashed = dashed;
  l.width = width;
  l.step = true;  // a bucket's figure holds for the whole bucket
  return l;
}

// Attempts, goodput and offered are often the same figure: drawn in that
// order, attempts wide underneath, goodput on it and offered dashed on
// top, so that all three stay visible where they coincide (an orange edge
// around the blue line: every attempt succeeded; black dashes on it:
// nothing was lost) instead of the last one drawn hiding the others.
constexpr double kUnderWidth = 3.5, kOverWidth = 1.5, kDashedWidth = 1.25;

Chart Throughput(const RunData& run, const FleetSeries& f) {
  Chart c = Base(run, "throughput-" + Slug(f.name),
                 fmt::format("Throughput of fleet {}: attempts, goodput and offered", f.name), "requests/s");
  // Each figure lands in the bucket of a different moment (measure/
  // timeseries.h): without saying so, goodput above offered after a stall
  // looks like a bug.
  c.note = "offered: by intended start; attempts (with retries): when sent; goodput: succeeded requests, when ended";
  c.lines.push_back(MakeLine("attempts", f.t_s, PerSecond(f.Column("attempts"), run.bucket_s), kOrange, false,
                             kUnderWidth));
  c.lines.push_back(MakeLine("goodput", f.t_s, PerSecond(f.Column("succeeded"), run.bucket_s), kBlue,
                             false, kOverWidth));
  c.lines.push_back(MakeLine("offered", f.t_s, PerSecond(f.Column("offered"), run.bucket_s), kBlack, true,
                             kDashedWidth));
  return c;
}

Chart Outcomes(const RunData& run, const FleetSeries& f) {
  Chart c = Base(run, "outcomes-" + Slug(f.name),
                 fmt::format("Attempts by outcome, fleet {} (stacked)", f.name), "attempts/s");
  c.note = "each attempt counted when it completed: a stall shows as a dip, then a burst as the attempts that "
           "waited end";
  c.kind = Chart::Kind::kStacked;
  for (const OutcomeStyle& o : kOutcomes) {
    const std::vector<double>& counts = f.Column(o.column);
    const bool seen = std::any_of(counts.begin(), counts.end(), [](double v) { return v > 0; });
    if (!seen) continue;  // ten outcomes in the legend would bury the two that matter
    c.lines.push_back(MakeLine(std::string(o.column), f.t_s, PerSecond(counts, run.bucket_s), o.colour));
  }
  return c;
}

// Log scale when the figures span more than two decades: a p50 of 0.2 ms
// under a p99 of 500 ms is a flat line on a linear axis.
bool SpansDecades(const std::vector<ChartLine>& lines) {
  double lo = HUGE_VAL, hi = 0;
  for (const ChartLine& l : lines) {
    for (double v : l.y) {
      if (std::isfinite(v) && v > 0) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  return hi > 0 && hi / lo > 100;
}

// Adds p50, p90, p99 per attempt (dashed when `dashed`), then, unless
// `attempts_only`, end to end (always dashed). A bucket without attempts
// has no latency: the CSV's 0 there would draw a drop that never happened.
void AddLatencyLines(const FleetSeries& f, std::string_view suffix, bool dashed, bool attempts_only, Chart* c) {
  struct Pick {
    std::string_view label;
    const std::vector<double>* attempt;
    const std::vector<double>* e2e;
    std::string_view colour;
  };
  const Pick picks[] = {
      {"p50", &f.Column("lat_p50_ms"), &f.e2e_p50_ms, kBlue},
      {"p90", &f.Column("lat_p90_ms"), &f.e2e_p90_ms, kOrange},
      {"p99", &f.Column("lat_p99_ms"), &f.Column("e2e_p99_ms"), kVermillion},
  };
  const std::vector<double>& attempts = f.Column("attempts");
  const auto add = [&](ChartLine line) {
    for (size_t i = 0; i < line.y.size() && i < attempts.size(); ++i) {
      if (attempts[i] == 0) line.y[i] = kNoValue;
    }
    c->lines.push_back(std::move(line));
  };
  for (const Pick& p : picks) add(MakeLine(fmt::format("{}{}", p.label, suffix), f.t_s, *p.attempt, p.colour, dashed));
  if (attempts_only) return;
  for (const Pick& p : picks) {
    if (p.e2e->size() != f.t_s.size() || !AnyFinite(*p.e2e)) continue;
    add(MakeLine(fmt::format("e2e {}{}", p.label, suffix), f.t_s, *p.e2e, p.colour, true));
  }
}

// The y axis' title says when the scale is logarithmic: its ticks (0.1,
// 1, 10) alone are easy to misread as linear.
void SetLatencyScale(Chart* c) {
  c->log_y = SpansDecades(c->lines);
  c->y_label = c->log_y ? "latency (ms, log scale)" : "latency (ms)";
}

Chart Latency(const RunData& run, const FleetSeries& f) {
  Chart c = Base(run, "latency-" + Slug(f.name),
                 fmt::format("Latency of fleet {}: per attempt (solid), end to end (dashed)", f.name), "ms");
  AddLatencyLines(f, "", false, false, &c);
  SetLatencyScale(&c);
  c.note = "per attempt: by completion; end to end: by request end, from its intended start (queueing, retries, "
           "backoff)";
  return c;
}

Chart InFlight(const RunData& run) {
  Chart c = Base(run, "in-flight", "In flight: attempts outstanding at each bucket's end, per fleet",
                 "attempts in flight");
  for (size_t i = 0; i < run.fleets.size(); ++i) {
    const FleetSeries& f = run.fleets[i];
    c.lines.push_back(MakeLine(f.name, f.t_s, f.Column("in_flight"), kPalette[i % kPaletteSize]));
  }
  return c;
}

Chart Probes(const RunData& run) {
  Chart c = Base(run, "probes", "Health probes: state per probe and replica", "");
  c.kind = Chart::Kind::kStates;
  std::map<std::pair<std::string, int>, std::vector<const ProbeRow*>> rows;
  for (const ProbeRow& p : run.probes) rows[{p.probe, p.replica}].push_back(&p);
  for (auto& [key, checks] : rows) {
    std::stable_sort(checks.begin(), checks.end(), [](const ProbeRow* a, const ProbeRow* b) { return a->t_s < b->t_s; });
    StateRow row;
    row.label = fmt::format("{} r{}", key.first, key.second);
    for (size_t i = 0; i < checks.size(); ++i) {
      const double end = i + 1 < checks.size() ? checks[i + 1]->t_s : std::max(c.x_max, checks[i]->t_s);
      // Consecutive checks in one state make one span: fewer elements, and
      // a tooltip per state change rather than per check.
      if (!row.spans.empty() && row.spans.back().state == checks[i]->state) {
        row.spans.back().end_s = end;
      } else {
        row.spans.push_back({checks[i]->t_s, end, checks[i]->state});
      }
    }
    c.rows.push_back(std::move(row));
  }
  return c;
}

// The analyses' verdict on one monitored series of one replica, if any.
const json* MonitorAnalysis(const RunData& run, const std::string& monitor, const std::string& series, int replica) {
  if (!run.summary.is_object()) return nullptr;
  auto a = run.summary.find("analyses");
  if (a == run.summary.end() || !a->is_object()) return nullptr;
  auto m = a->find("monitors");
  if (m == a->end() || !m->is_array()) return nullptr;
  for (const json& e : *m) {
    if (e.is_object() && e.value("monitor", "") == monitor && e.value("series", "") == series &&
        e.value("replica", -1) == replica) {
      return &e;
    }
  }
  return nullptr;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  double m = v[mid];
  if (v.size() % 2 == 0) m = (m + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
  return m;
}

// The trend line over the load, as analyses drew it: Theil-Sen on the
// samples taken while the load ran. The slope comes from summary.json when
// it has one (Theil-Sen is quadratic: an hour of samples takes seconds);
// the intercept, the median of y - slope x, is linear. A series that never
// goes below 0 (a count, a size) gets a trend line that does not either:
// it starts where it crosses 0, rather than stretch the axis below 0 for a
// value no sample could take.
ChartLine Trend(const std::vector<double>& x, const std::vector<double>& y, double load_end, const json* analysis,
                std::string_view colour) {
  std::vector<double> lx, ly;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] <= load_end && std::isfinite(y[i])) {
      lx.push_back(x[i]);
      ly.push_back(y[i]);
    }
  }
  ChartLine t;
  t.colour = std::string(colour);
  t.dashed = true;
  t.width = 1.25;
  if (lx.size() < 2) return t;
  double slope_per_s;
  if (analysis != nullptr && analysis->contains("slope_per_min") && (*analysis)["slope_per_min"].is_number()) {
    slope_per_s = (*analysis)["slope_per_min"].get<double>() / 60.0;
  } else {
    std::vector<double> tx, ty;  // thinned to 400 points: the estimate barely moves, the cost does
    const size_t step = std::max<size_t>(1, lx.size() / 400);
    for (size_t i = 0; i < lx.size(); i += step) {
      tx.push_back(lx[i]);
      ty.push_back(ly[i]);
    }
    slope_per_s = TheilSen(tx, ty).slope;
  }
  std::vector<double> residual(lx.size());
  for (size_t i = 0; i < lx.size(); ++i) residual[i] = ly[i] - slope_per_s * lx[i];
  const double intercept = Median(std::move(residual));
  const auto at = [&](double t) { return intercept + slope_per_s * t; };
  double x0 = lx.front(), x1 = lx.back();
  const bool never_negative = *std::min_element(ly.begin(), ly.end()) >= 0;
  if (never_negative && slope_per_s != 0) {
    const double zero = -intercept / slope_per_s;  // where the line crosses 0
    if (at(x0) < 0) x0 = std::clamp(zero, x0, x1);
    if (at(x1) < 0) x1 = std::clamp(zero, x0, x1);
  }
  t.x = {x0, x1};
  t.y = {at(x0), at(x1)};
  if (never_negative) {
    for (double& v : t.y) v = std::max(v, 0.0);  // rounding at the crossing
  }
  return t;
}

// A monitored series' unit, from the Prometheus naming convention its name
// follows (process_resident_memory_bytes, cpu_seconds): for the axis and
// for the slope ("+2.95M bytes/min").
std::string UnitOf(std::string_view series) {
  if (series.ends_with("_total")) series.remove_suffix(6);  // a counter: process_cpu_seconds_total
  if (series.ends_with("bytes")) return "bytes";
  if (series.ends_with("seconds")) return "s";
  return "";
}

std::string PerMinute(double slope, std::string_view unit) {
  return fmt::format("{}{}{}/min", slope >= 0 ? "+" : "", CompactNumber(slope),
                     unit.empty() ? "" : " " + std::string(unit));
}

struct Samples {
  std::vector<double> x, y;  // in time order
};

std::vector<Chart> Monitors(const RunData& run) {
  // (monitor, series) -> replica -> samples
  std::map<std::pair<std::string, std::string>, std::map<int, Samples>> groups;
  for (const MonitorRow& m : run.monitors) {
    Samples& s = groups[{m.monitor, m.series}][m.replica];
    s.x.push_back(m.t_s);
    s.y.push_back(m.value);
  }
  const double load_end =
      run.summary.is_object() && run.summary.contains("elapsed_s") && run.summary["elapsed_s"].is_number()
          ? run.summary["elapsed_s"].get<double>()
          : run.end_s;
  std::vector<Chart> charts;
  for (auto& [key, replicas] : groups) {
    const auto& [monitor, series] = key;
    for (auto& [replica, s] : replicas) {
      std::vector<size_t> order(s.x.size());
      for (size_t k = 0; k < order.size(); ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
      Samples sorted;
      for (size_t k : order) {
        sorted.x.push_back(s.x[k]);
        sorted.y.push_back(s.y[k]);
      }
      s = std::move(sorted);
    }
    // The axis starts at 0, as every other: a change too small to see
    // there is also too small for the analyses to call a leak (a rise of
    // at least 10 % of the first sample).
    const std::string unit = UnitOf(series);
    Chart c = Base(run, "monitor-" + Slug(monitor) + "-" + Slug(series),
                   fmt::format("Monitor {}: {} per replica", monitor, series),
                   unit.empty() ? "count" : unit);
    // Samples taken while idle, after the load, widen the axis past the run
    // (BuildCharts widens every other chart to match).
    for (auto& [replica, s] : replicas) c.x_max = std::max(c.x_max, s.x.empty() ? 0.0 : s.x.back());
    std::vector<std::string> slopes;
    bool any_trend = false;
    for (auto& [replica, s] : replicas) {
      const std::string_view colour = kPalette[static_cast<size_t>(std::max(replica, 0)) % kPaletteSize];
      ChartLine l;
      l.label = fmt::format("r{}", replica);
      l.colour = std::string(colour);
      l.x = s.x;
      l.y = s.y;
      const json* a = MonitorAnalysis(run, monitor, series, replica);
      ChartLine trend = Trend(s.x, s.y, load_end, a, colour);
      c.lines.push_back(std::move(l));
      if (!trend.x.empty()) {
        c.lines.push_back(std::move(trend));
        any_trend = true;
      }
      if (a != nullptr && a->contains("slope_per_min") && (*a)["slope_per_min"].is_number()) {
        const json* mk = a->contains("mann_kendall") ? &(*a)["mann_kendall"] : nullptr;
        const std::string p = mk != nullptr && mk->is_object() && mk->contains("p") && (*mk)["p"].is_number()
                                  ? fmt::format("{:.2g}", (*mk)["p"].get<double>())
                                  : "?";
        const bool leak = a->contains("leak") && (*a)["leak"].is_boolean() && (*a)["leak"].get<bool>();
        slopes.push_back(fmt::format("r{} {} (p = {}){}", replica,
                                     PerMinute((*a)["slope_per_min"].get<double>(), unit), p, leak ? " LEAK" : ""));
      }
    }
    // One key for every replica's trend line (each dashed, in its replica's
    // colour), rather than an entry per line or words in the title.
    if (any_trend) c.legend_extra.push_back({"trend (Theil-Sen)", "#888888", true, 1.25});
    if (!slopes.empty()) c.note = fmt::format("slope under load (Mann-Kendall p): {}", fmt::join(slopes, ", "));
    charts.push_back(std::move(c));
  }
  return charts;
}

}  // namespace

std::string Slug(std::string_view name) {
  std::string out;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "x" : out;
}

std::vector<ChartWindow> FaultWindows(const RunData& run) {
  std::vector<ChartWindow> out;
  for (const FaultRow& f : run.faults) {
    if (!f.applied) continue;
    out.push_back({f.start_s, f.end_s, fmt::format("{} r{}", f.kind, f.replica)});
  }
  return out;
}

std::vector<Chart> BuildCharts(const RunData& run) {
  std::vector<Chart> charts;
  if (run.fleets.empty()) {
    // Still one of each, saying "no data": a reader sees what is missing.
    FleetSeries none;
    none.name = run.summary.is_object() && run.summary.contains("fleets") && run.summary["fleets"].is_array() &&
                        !run.summary["fleets"].empty()
                    ? run.summary["fleets"][0].value("name", "fleet")
                    : "fleet";
    charts.push_back(Throughput(run, none));
    charts.push_back(Outcomes(run, none));
    charts.push_back(Latency(run, none));
  }
  for (const FleetSeries& f : run.fleets) {
    charts.push_back(Throughput(run, f));
    charts.push_back(Outcomes(run, f));
    charts.push_back(Latency(run, f));
  }
  charts.push_back(InFlight(run));
  if (!run.probes.empty()) charts.push_back(Probes(run));
  for (Chart& c : Monitors(run)) charts.push_back(std::move(c));
  // One time axis for all: monitors sampling on, idle, after the load
  // would otherwise put 6 s at the right edge of one chart and two thirds
  // across the next.
  double x_max = 0;
  for (const Chart& c : charts) x_max = std::max(x_max, c.x_max);
  for (Chart& c : charts) c.x_max = x_max;
  return charts;
}

std::vector<Chart> BuildCompareCharts(const RunData& base, const RunData& candidate) {
  std::vector<Chart> charts;
  const double x_max = std::max({base.end_s, candidate.end_s, 1.0});
  for (const FleetSeries& cand : candidate.fleets) {
    auto b = std::find_if(base.fleets.begin(), base.fleets.end(),
                          [&](const FleetSeries& f) { return f.name == cand.name; });
    if (b == base.fleets.end()) continue;
    Chart t = Base(candidate, "compare-throughput-" + Slug(cand.name),
                   fmt::format("Throughput of fleet {}: base (dashed) against candidate (solid)", cand.name),
                   "requests/s");
    t.x_max = x_max;
    const auto rate = [](const RunData& run, const FleetSeries& f, std::string_view col) {
      return PerSecond(f.Column(col), run.bucket_s);
    };
    // Attempts wide underneath, goodput on top, as in Throughput.
    t.lines.push_back(MakeLine("attempts (base)", b->t_s, rate(base, *b, "attempts"), kOrange, true, kUnderWidth));
    t.lines.push_back(MakeLine("attempts", cand.t_s, rate(candidate, cand, "attempts"), kOrange, false, kUnderWidth));
    t.lines.push_back(MakeLine("goodput (base)", b->t_s, rate(base, *b, "succeeded"), kBlue, true, kOverWidth));
    t.lines.push_back(MakeLine("goodput", cand.t_s, rate(candidate, cand, "succeeded"), kBlue, false, kOverWidth));
    charts.push_back(std::move(t));

    Chart l = Base(candidate, "compare-latency-" + Slug(cand.name),
                   fmt::format("Attempt latency of fleet {}: base (dashed) against candidate (solid)", cand.name),
                   "ms");
    l.x_max = x_max;
    AddLatencyLines(*b, " (base)", true, true, &l);
    AddLatencyLines(cand, "", false, true, &l);
    SetLatencyScale(&l);
    charts.push_back(std::move(l));
  }
  return charts;
}

}  // namespace herd
